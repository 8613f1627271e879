"""The README's walkthrough, run as written: from the server to a delivered webhook.

The commands are read from the README between ``<!-- walkthrough -->`` and
``<!-- /walkthrough -->``. ``make run`` is played by a real ``tidings serve`` with a real
Kafka broker (what ``make run`` starts, on free ports here, with the environment the
README's line sets); ``tidings listener receive`` runs in the background as the second
terminal does; the other commands run one after another, each expected to exit 0.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import command, env, subprocess_tidings, wait_for
from kafka_broker import free_port
from tidings_process import REPO, TidingsProcess

README = REPO / "README.md"


def walkthrough() -> list[str]:
    """The README walkthrough's command lines, without comments and the venv activation."""
    text = README.read_text()
    part = text[text.index("<!-- walkthrough -->") : text.index("<!-- /walkthrough -->")]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", part, re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith(". .venv/bin/activate"):
                lines.append(line)
    return lines


@pytest.fixture(scope="module")
def steps() -> list[str]:
    return walkthrough()


@pytest.fixture(scope="module")
def server(
    steps: list[str], kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TidingsProcess]:
    first = shlex.split(steps[0])
    assert first[-2:] == ["make", "run"], "the walkthrough starts with make run"
    settings = dict(word.split("=", 1) for word in first[:-2])
    data = tmp_path_factory.mktemp("walkthrough") / "data"
    with TidingsProcess(data, "--kafka-bootstrap", kafka_bootstrap, env=settings) as proc:
        yield proc


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.kafka
def test_the_readme_walkthrough_delivers_a_webhook(
    steps: list[str], server: TidingsProcess, tmp_path: Path
) -> None:
    port = str(free_port())
    rest = [line.replace("8787", port) for line in steps[1:]]
    receive, *commands = [shlex.split(line) for line in rest]
    assert receive[:3] == ["tidings", "listener", "receive"]
    receiver = subprocess.Popen(
        command(*receive[1:]), env=env(server.address), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C (SIGINT) stops it, as in a terminal, even when these tests were started
        # where SIGINT is ignored (`cmd &` in a script), which a child would inherit.
        preexec_fn=_interruptible,
    )  # fmt: skip
    try:
        listener_id = ""
        outputs = []
        for words in commands:
            assert words[0] == "tidings"
            args = [listener_id if w == "LISTENER_ID" else w for w in words[1:]]
            if args[:2] == ["listener", "deliveries"]:
                # The deliveries are made soon after the run ends: wait for all six.
                def six(args: list[str] = args) -> bool | None:
                    found = subprocess_tidings(server.address, *args, "--json").json()
                    states = [d["state"] for d in found["deliveries"]]
                    return states.count("DELIVERY_STATE_DELIVERED") == 6 or None

                wait_for(six, "six delivered webhooks")
            ran = subprocess_tidings(server.address, *args)
            outputs.append(ran.stdout)
            added = re.match(r"added listener (\S+):", ran.stdout)
            if added:
                listener_id = added.group(1)
        assert listener_id, "listener add printed its id"
        followed = outputs[commands.index(next(c for c in commands if c[1] == "run"))]
        assert '{"greeting":"hello tidings"}' in followed and "SUCCESS" in followed
        assert outputs[-1].count("DELIVERED") == 6
    finally:
        receiver.send_signal(signal.SIGINT)
        out, err = receiver.communicate(timeout=20)
    payloads = [json.loads(line.split(" ", 3)[3]) for line in out.splitlines()]
    assert [p["eType"] for p in payloads] == [
        "execution_start", "task_start", "task_end", "task_start", "task_end", "execution_end",
    ]  # fmt: skip
    assert all(line.startswith("POST /hooks ") for line in out.splitlines())
    assert receiver.returncode == 130 and "receiving webhooks at" in err
