"""``tidings listener`` and ``tidings events tail`` over a real server and a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atom_server import AtomServer, Reply
from cli_helpers import subprocess_tidings, tidings, wait_for
from engine_client import unique
from tidings.cli.receiver import Received
from tidings.listeners.secrets import decode_secret
from tidings_process import TidingsProcess

ALLOW_LOCAL = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("cli") / "data", env=ALLOW_LOCAL) as proc:
        yield proc


def two_tasks(name: str) -> str:
    return f"""version: '2.0'
{name}:
  tasks:
    first:
      action: std.noop
      on-success: [second]
    second:
      action: std.noop
"""


def workflow(server: TidingsProcess, tmp_path: Path) -> str:
    name = unique("cli_listen")
    file = tmp_path / f"{name}.yaml"
    file.write_text(two_tasks(name))
    tidings(server.address, "workflow", "create", str(file))
    return name


def delivered(server: TidingsProcess, listener_id: str, count: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        found = tidings(server.address, "listener", "deliveries", listener_id, "--json").json()
        done = [d for d in found["deliveries"] if d["state"] == "DELIVERY_STATE_DELIVERED"]
        return done if len(done) >= count else None

    return wait_for(probe, f"{count} deliveries")


def test_listener_add_in_seed_001_shape_delivers_and_is_managed(
    server: TidingsProcess, atoms: AtomServer, tmp_path: Path
) -> None:
    name = workflow(server, tmp_path)
    atoms.script("/cli/hook", Reply(200, {"ok": True}))
    added = tidings(
        server.address, "listener", "add", "--workflow", name, "--events", "EXECUTION,TASK",
        "--url", atoms.url("/cli/hook"), "--method", "PUT", "--header", "X-Team=ops",
        "--name", "seed 001", "--json",
    ).json()  # fmt: skip
    listener, secret = added["listener"], added["signing_secret"]
    assert listener["filter"]["workflows"] == [name]
    assert listener["filter"]["categories"] == ["EVENT_CATEGORY_EXECUTION", "EVENT_CATEGORY_TASK"]
    assert listener["webhook"]["method"] == "HTTP_METHOD_PUT"
    assert listener["webhook"]["headers"] == {"X-Team": "ops"}
    assert listener["profile"] == "PROFILE_MISTRAL" and secret.startswith("whsec_")

    tidings(server.address, "run", name, "--follow")
    deliveries = delivered(server, listener["id"], 6)  # the execution's 2, each task's 2
    requests = atoms.requests_to("/cli/hook")
    assert len(requests) == 6
    key = decode_secret(secret)
    for request in requests:
        assert request.method == "PUT" and request.headers["X-Team"] == "ops"
        headers = {k.lower(): v for k, v in request.raw_headers}
        assert Received("PUT", request.path, headers, request.body).verified(key)
    e_types = {json.loads(r.body)["eType"] for r in requests}
    assert e_types == {"execution_start", "execution_end", "task_start", "task_end"}
    table = tidings(server.address, "listener", "deliveries", listener["id"]).stdout
    assert "DELIVERED" in table and "HTTP 200" in table

    one = deliveries[0]["event_id"]
    queued = tidings(server.address, "listener", "redeliver", listener["id"], "--event", one,
                     "--json").json()  # fmt: skip
    assert queued["queued"] == 1
    wait_for(lambda: len(atoms.requests_to("/cli/hook")) == 7 or None, "the redelivery")

    tested = tidings(server.address, "listener", "test", listener["id"], "--json").json()
    assert tested["attempt"]["http_status"] == 200
    got = tidings(server.address, "listener", "get", listener["id"], "--json").json()
    assert got["id"] == listener["id"] and got["name"] == "seed 001"
    listed = tidings(server.address, "listener", "list", "--limit", "1000", "--json").json()
    assert listener["id"] in [item["id"] for item in listed["listeners"]]
    assert listener["id"] in tidings(server.address, "listener", "list").stdout

    updated = tidings(server.address, "listener", "update", listener["id"], "--disable",
                      "--events", "TASK_FAILED", "--header", "X-Team=dev",
                      "--json").json()  # fmt: skip
    assert updated["enabled"] is False
    assert updated["filter"]["types"] == ["EVENT_TYPE_TASK_FAILED"]
    assert updated["filter"]["categories"] == [] and updated["filter"]["workflows"] == [name]
    assert updated["webhook"] == {**listener["webhook"], "headers": {"X-Team": "dev"}}
    people = tidings(server.address, "listener", "get", listener["id"]).stdout
    assert "TASK_FAILED" in people and "enabled" in people

    rotated = tidings(server.address, "listener", "rotate-secret", listener["id"], "--grace",
                      "0", "--json").json()  # fmt: skip
    assert rotated["signing_secret"].startswith("whsec_") and rotated["signing_secret"] != secret
    assert tidings(server.address, "listener", "rm", listener["id"], "--json").json() == {
        "deleted": listener["id"]
    }
    gone = tidings(server.address, "listener", "get", listener["id"], code=2)
    assert gone.stderr.startswith("tidings: error: ") and gone.stderr.count("\n") == 1


def test_listener_add_errors_name_the_option(server: TidingsProcess) -> None:
    url = "http://127.0.0.1:9/x"
    cases = {
        ("--events", "EXECUTION"): "--url or --kafka-topic: one is required",
        ("--url", url, "--kafka-topic", "t"): "--url and --kafka-topic: give one",
        ("--url", url, "--header", "novalue"): "--header: 'novalue' is not K=V",
        ("--url", url, "--events", "EXECUTION,FOO"): "--events: 'FOO' is neither a category",
        ("--url", url, "--method", "GET"): "--method: must be one of POST, PUT",
        ("--url", url, "--profile", "nope"): "--profile: must be one of mistral, thain",
        ("--url", "ftp://x"): "--url (listener.webhook.url): ",
    }
    for args, message in cases.items():
        ran = tidings(server.address, "listener", "add", *args, code=2)
        assert ran.stderr.startswith(f"tidings: error: {message}"), (args, ran.stderr)
    as_json = tidings(server.address, "listener", "add", "--url", url, "--method", "GET",
                      "--json", code=2)  # fmt: skip
    error = json.loads(as_json.stderr)
    assert error["exit_code"] == 2
    assert error["violations"][0]["field"] == "--method"


def test_listener_add_kafka_topic(server: TidingsProcess) -> None:
    topic = unique("cli_topic")
    added = tidings(server.address, "listener", "add", "--kafka-topic", topic, "--profile",
                    "cloudevents", "--cloudevents-mode", "binary", "--json").json()  # fmt: skip
    kafka = added["listener"]["kafka"]
    assert kafka == {"topic": topic, "cloudevents_mode": "CLOUD_EVENTS_MODE_BINARY"}
    assert (
        "kafka " + topic
        in tidings(server.address, "listener", "get", added["listener"]["id"]).stdout
    )
    tidings(server.address, "listener", "rm", added["listener"]["id"])


def test_events_tail_renders_profiles_and_resumes_from_a_cursor(
    server: TidingsProcess, tmp_path: Path
) -> None:
    name = workflow(server, tmp_path)
    first = tidings(server.address, "run", name, "--follow", "--json").lines()[-1]["execution"]
    lines = subprocess_tidings(server.address, "events", "tail", "--from-beginning",
                               "--workflow", name, "--count", "6", "--json").lines()  # fmt: skip
    assert [line["event"]["execution_id"] for line in lines] == [first["id"]] * 6
    assert lines[-1]["event"]["type"] == "EVENT_TYPE_EXECUTION_SUCCEEDED"
    payloads = tidings(server.address, "events", "tail", "--from-beginning", "--workflow", name,
                       "--profile", "mistral", "--count", "6").stdout.splitlines()  # fmt: skip
    assert [json.loads(p)["eType"] for p in payloads][::5] == ["execution_start", "execution_end"]
    people = tidings(server.address, "events", "tail", "--from-beginning", "--workflow", name,
                     "--events", "TASK", "--count", "1").stdout  # fmt: skip
    assert "TASK_STARTED" in people and "task first" in people

    second = tidings(server.address, "run", name, "--follow", "--json").lines()[-1]["execution"]
    resumed = tidings(server.address, "events", "tail", "--from-cursor", lines[-1]["cursor"],
                      "--workflow", name, "--count", "1", "--json").lines()  # fmt: skip
    assert resumed[0]["event"]["execution_id"] == second["id"]
    assert resumed[0]["event"]["type"] == "EVENT_TYPE_EXECUTION_STARTED"

    bad = tidings(server.address, "events", "tail", "--profile", "nope", code=2)
    assert bad.stderr.startswith("tidings: error: --profile: not a profile")
    cursor = tidings(server.address, "events", "tail", "--from-cursor", "zzz", code=2)
    assert cursor.stderr == "tidings: error: cursor: not a cursor of this server\n"
