"""Mistral's other standard actions, run directly: std.async_noop, std.mistral_http,
std.js / std.javascript, std.email (against a real local SMTP server) and std.ssh."""

from __future__ import annotations

import asyncio
import email
import email.message
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from atom_server import AtomServer, Reply, unused_port
from tidings.engine import dsl
from tidings.engine.actions import ActionContext, action_specs, default_registry
from tidings.engine.actions.email import EmailAction
from tidings.engine.actions.mistral_std import (
    AsyncNoopAction,
    JavaScriptAction,
    MistralHttpAction,
)

CTX = ActionContext(
    execution_id="ex-1", task_id="t-1", task_name="call", atom_id="", workflow_name="wf"
)


def run(action: Any, params: dict[str, Any]) -> Any:
    return asyncio.run(action.run(params, CTX))


# ---------------------------------------------------------------- std.async_noop


def test_async_noop_leaves_its_task_running() -> None:
    outcome = run(AsyncNoopAction(), {})
    assert (outcome.state, outcome.result) == ("running", None)


# ---------------------------------------------------------------- std.mistral_http


@pytest.fixture
def atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        yield server


def test_mistral_http_calls_with_mistrals_headers_and_stays_running(atoms: AtomServer) -> None:
    atoms.script("/m", Reply(200, {"accepted": True}))

    async def call() -> Any:
        action = MistralHttpAction()
        try:
            return await action.run(
                {"url": atoms.url("/m"), "method": "POST", "body": {"a": 1},
                 "headers": {"X-Mine": "yes"}},
                CTX,
            )  # fmt: skip
        finally:
            await action.aclose()

    outcome = asyncio.run(call())
    assert outcome.state == "running"  # though the task did not say `async: true`
    assert outcome.result["result"]["content"] == {"accepted": True}
    (request,) = atoms.requests_to("/m")
    assert request.json() == {"a": 1}
    headers = request.headers
    assert headers["X-Mine"] == "yes"
    assert headers["Mistral-Workflow-Name"] == "wf"
    assert headers["Mistral-Workflow-Execution-Id"] == "ex-1"
    assert headers["Mistral-Task-Id"] == "t-1"
    assert headers["Mistral-Action-Execution-Id"] == "t-1"
    assert outcome.request["headers"]["Mistral-Task-Id"] == "t-1"


def test_mistral_http_fails_like_std_http(atoms: AtomServer) -> None:
    atoms.script("/bad", Reply(500, {"no": 1}))
    outcome: Any = asyncio.run(MistralHttpAction().run({"url": atoms.url("/bad")}, CTX))
    assert outcome.state == "error"
    assert outcome.result["result"]["status"] == 500


# ---------------------------------------------------------------- std.js


@pytest.mark.parametrize(
    ("script", "context", "expected"),
    [
        ("return 1 + 2", None, 3),
        ("return $.items.map(function (x) { return x * 2 })", {"items": [1, 2]}, [2, 4]),
        ("return {name: $.name, n: $.name.length}", {"name": "中文"}, {"name": "中文", "n": 2}),
        ("var x = 1", None, None),  # returns nothing
    ],
)
def test_js_returns_the_functions_value(script: str, context: Any, expected: Any) -> None:
    params = {"script": script} if context is None else {"script": script, "context": context}
    outcome = run(JavaScriptAction(), params)
    assert (outcome.state, outcome.result) == ("success", expected)


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ("throw new Error('nope')", "nope"),
        ("return require('fs')", "require is not defined"),
        ("return process.env", "process is not defined"),
        ("return fetch('http://127.0.0.1/')", "fetch is not defined"),
        ("return x +", "SyntaxError"),
    ],
)
def test_js_failures_and_the_sandbox(script: str, fragment: str) -> None:
    outcome = run(JavaScriptAction("std.javascript"), {"script": script})
    assert outcome.state == "error"
    assert outcome.error.startswith("std.javascript failed: ")
    assert fragment in outcome.error


def test_js_is_stopped_at_its_time_limit() -> None:
    outcome = run(JavaScriptAction(time_limit_s=0.2), {"script": "while (true) {}"})
    assert outcome.state == "error"
    assert "timeout" in outcome.error


def test_js_is_stopped_at_its_memory_limit() -> None:
    script = "var a = []; while (true) { a.push('xxxxxxxxxxxxxxxxxxxxxxxx' + a.length) }"
    outcome = run(JavaScriptAction(time_limit_s=30), {"script": script})
    assert outcome.state == "error"
    assert "memory limit" in outcome.error


def test_js_needs_a_script() -> None:
    outcome = run(JavaScriptAction(), {"script": 5})
    assert outcome.state == "error"
    assert "'script' must be a string" in outcome.error


# ---------------------------------------------------------------- std.email


@dataclass
class Mailbox:
    """What a local SMTP server received: (envelope sender, recipients, message)."""

    received: list[tuple[str, list[str], email.message.Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=unused_port())
    controller.start()
    try:
        yield f"127.0.0.1:{controller.port}", mailbox
    finally:
        controller.stop()


def test_email_sends_one_message_as_mistral(smtp: tuple[str, Mailbox]) -> None:
    server, mailbox = smtp
    outcome = run(
        EmailAction(),
        {"from_addr": "wf@example.org", "to_addrs": ["a@example.org", "b@example.org"],
         "cc_addrs": ["c@example.org"], "bcc_addrs": ["d@example.org"],
         "reply_to": ["r@example.org"], "subject": "Réunion", "body": "Bonjour\nà tous",
         "smtp_server": server},
    )  # fmt: skip
    assert (outcome.state, outcome.result) == ("success", None)
    ((sender, recipients, message),) = mailbox.received
    assert sender == "wf@example.org"
    assert sorted(recipients) == ["a@example.org", "b@example.org", "c@example.org",
                                  "d@example.org"]  # fmt: skip
    assert message["To"] == "a@example.org, b@example.org"
    assert message["Cc"] == "c@example.org"
    assert message["Bcc"] is None
    assert message["Reply-To"] == "r@example.org"
    assert str(make_header(decode_header(message["Subject"]))) == "Réunion"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode(message.get_content_charset() or "ascii") == "Bonjour\nà tous"


def test_email_with_html_is_multipart_and_has_defaults(smtp: tuple[str, Mailbox]) -> None:
    server, mailbox = smtp
    params = {"from_addr": "wf@example.org", "to_addrs": "a@example.org",
              "html_body": "<p>hi</p>", "smtp_server": server}  # fmt: skip
    assert run(EmailAction(), params).state == "success"
    ((_, _, message),) = mailbox.received
    assert message.get_content_type() == "multipart/alternative"
    parts = [
        (p.get_content_type(), p.get_payload(decode=True))
        for p in message.get_payload()
        if isinstance(p, email.message.Message)
    ]
    assert parts == [("text/plain", b"<No body>"), ("text/html", b"<p>hi</p>")]
    assert str(make_header(decode_header(message["Subject"]))) == "<No subject>"


def test_email_to_a_server_that_is_not_there_fails_naming_it() -> None:
    params: dict[str, Any] = {
        "from_addr": "wf@example.org", "to_addrs": ["a@example.org"],
        "smtp_server": f"127.0.0.1:{unused_port()}", "smtp_password": "secret",
    }  # fmt: skip
    outcome = run(EmailAction(), params)
    assert outcome.state == "error"
    assert outcome.error.startswith("std.email: failed to send the message:")
    assert outcome.request["smtp_password"] == "***"  # never in events
    view: Any = EmailAction().request_view(params, CTX)
    assert view["smtp_password"] == "***"


def test_email_checks_its_addresses() -> None:
    params = {"from_addr": "wf@example.org", "to_addrs": [1], "smtp_server": "127.0.0.1"}
    outcome = run(EmailAction(), params)
    assert outcome.state == "error"
    assert "'to_addrs' must be a list of addresses" in outcome.error


# ---------------------------------------------------------------- catalogue, std.ssh


def test_the_registry_has_mistrals_standard_actions() -> None:
    names = default_registry().names()
    for name in ("std.async_noop", "std.mistral_http", "std.email", "std.js",
                 "std.javascript", "std.ssh"):  # fmt: skip
        assert name in names


def test_a_definition_using_std_ssh_is_refused_with_the_reason() -> None:
    text = "version: '2.0'\nwf:\n  tasks:\n    remote:\n      action: std.ssh\n"
    with pytest.raises(dsl.DefinitionError) as caught:
        dsl.parse_workflow(text, action_specs(default_registry()))
    ((violation,),) = [caught.value.violations]
    assert violation.field == "tasks.remote.action"
    assert "'std.ssh' is not supported by this engine" in violation.description


def _doc_examples(*sections: str) -> list[str]:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    text = doc.read_text(encoding="utf-8")
    found: list[str] = []
    for section in sections:
        body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
        found += [block.split("```", 1)[0] for block in body.split("```yaml\n")[1:]]
    return found


@pytest.mark.parametrize("example", _doc_examples("Expressions", "Actions", "Environments"))
def test_the_documented_examples_are_valid(example: str) -> None:
    # A whole definition, or a task (or a `tasks:` mapping): it must parse, as written.
    if example.startswith("version:"):
        assert dsl.parse_workflow(example, action_specs(default_registry())).tasks
        return
    body = example if example.startswith("tasks:") else "tasks:\n" + textwrap.indent(example, "  ")
    text = "version: '2.0'\nwf:\n" + textwrap.indent(body, "  ")
    wf = dsl.parse_workflow(text, action_specs(default_registry()))
    assert wf.tasks
