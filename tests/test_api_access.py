"""The scope table, API tokens and `tidings token`: checked from the protos, no server."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterator

import pytest
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor

import tidings.v1
from tidings import cli, config
from tidings.api import access, api_tokens
from tidings.api.access import Scope
from tidings.server import SERVED, say_how_open


def proto_services() -> Iterator[ServiceDescriptor]:
    """Every service declared in protos/tidings/v1 (through the generated modules)."""
    for info in pkgutil.iter_modules(tidings.v1.__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"tidings.v1.{info.name}")
            yield from module.DESCRIPTOR.services_by_name.values()


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def test_every_rpc_in_the_protos_and_served_has_a_scope_or_is_health() -> None:
    services = {s.full_name: s for s in (*proto_services(), *SERVED)}
    assert {s.full_name for s in proto_services()} <= {s.full_name for s in SERVED}
    unmapped = [
        path(m)
        for s in services.values()
        for m in s.methods
        if path(m) not in access.REQUIRED and not access.is_open(path(m))
    ]
    assert unmapped == []
    served = {path(m) for s in services.values() for m in s.methods}
    assert set(access.REQUIRED) <= served, "the table names RPCs no service has"
    assert {p for p in served if access.is_open(p)} == {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/List",
        "/grpc.health.v1.Health/Watch",
    }


def secret_fields(message: Descriptor, seen: frozenset[str] = frozenset()) -> list[str]:
    """Paths of the fields named like a secret anywhere inside ``message``."""
    found = []
    for field in message.fields:
        if "secret" in field.name:
            found.append(field.name)
        sub = field.message_type
        if sub is not None and sub.full_name not in seen:
            found += [f"{field.name}.{p}" for p in secret_fields(sub, seen | {message.full_name})]
    return found


def test_listener_secrets_travel_only_to_write_and_admin() -> None:
    carrying = {path(m): secret_fields(m.output_type) for s in SERVED for m in s.methods}
    carrying = {p: f for p, f in carrying.items() if f}
    # The RPCs that make listeners return their secrets; nothing a read token may call does.
    assert set(carrying) == {
        "/tidings.v1.WorkflowService/CreateWorkflow",
        "/tidings.v1.WorkflowService/UpdateWorkflow",
        "/tidings.v1.ExecutionService/StartExecution",
        "/tidings.v1.ListenerService/CreateListener",
        "/tidings.v1.ListenerService/RotateSecret",
    }
    assert all(access.REQUIRED[p] >= Scope.WRITE for p in carrying)


def test_scopes_nest_and_parse() -> None:
    assert Scope.READ < Scope.WRITE < Scope.ADMIN
    assert Scope.parse(" Write ") is Scope.WRITE
    with pytest.raises(ValueError, match="scope must be read, write or admin"):
        Scope.parse("root")


def test_a_token_is_found_by_its_hash_only() -> None:
    token = api_tokens.new_token()
    assert token.startswith("tdg_") and len(token) >= 40
    entry = api_tokens.make("ci", Scope.WRITE, token).entry()
    assert token not in entry
    name, scope, algorithm, digest = entry.split(":")
    assert (name, scope, algorithm, len(digest)) == ("ci", "write", "sha256", 64)
    other = api_tokens.parse(api_tokens.make("ops", Scope.ADMIN, api_tokens.new_token()).entry())
    configured = (other, api_tokens.parse(entry))
    found = api_tokens.find(configured, token)
    assert found is not None and (found.name, found.scope) == ("ci", Scope.WRITE)
    assert api_tokens.find(configured, token + "x") is None
    assert api_tokens.find(configured, "") is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["ci:write:" + "a" * 64], "expected NAME:SCOPE:sha256:HEX"),
        (["ci:write:md5:" + "a" * 64], "expected NAME:SCOPE:sha256:HEX"),
        (["ci:root:sha256:" + "a" * 64], "scope must be read, write or admin"),
        (["ci:read:sha256:abc"], "64 hexadecimal digits"),
        (["bad name:read:sha256:" + "a" * 64], "token name 'bad name'"),
        (["ci:read:sha256:" + "a" * 64, "ci:write:sha256:" + "b" * 64], "'ci' is used twice"),
    ],
)
def test_bad_entries_are_refused(entries: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        api_tokens.parse_all(entries)


def test_a_pasted_token_is_not_echoed_back() -> None:
    token = api_tokens.new_token()
    with pytest.raises(ValueError) as caught:
        api_tokens.parse(token)
    assert token not in str(caught.value)


def test_cli_makes_a_token_and_its_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["token", "new", "--name", "ci", "--scope", "read"]) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[1]
    toml = next(line for line in lines if line.startswith("configuration (TOML):"))
    entry = toml.split('tokens = ["')[1].rstrip('"]')
    found = api_tokens.find(api_tokens.parse_all([entry]), token)
    assert found is not None and found.scope is Scope.READ


def test_cli_hashes_a_given_token_and_refuses_a_short_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    token = api_tokens.new_token()
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert cli.main(["token", "hash", "--name", "ops", "--scope", "admin"]) == 0
    out = capsys.readouterr().out
    assert token not in out
    assert api_tokens.make("ops", Scope.ADMIN, token).entry() in out
    monkeypatch.setattr("sys.stdin", io.StringIO("hunter2\n"))
    assert cli.main(["token", "hash", "--name", "ops", "--scope", "admin"]) == 2
    assert "at least 32 characters" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "listen", "said"),
    [
        ({}, "127.0.0.1:1", "no API tokens configured: the API is open to every process"),
        ({"TIDINGS_INSECURE": "true"}, "0.0.0.0:1", "--insecure: no API tokens and listening"),
        (
            {"TIDINGS_TOKENS": "ci:read:sha256:" + "a" * 64},
            "0.0.0.0:1",
            "tokens travel in plaintext to 0.0.0.0:1",
        ),
    ],
)
def test_the_server_says_how_open_it_is(
    caplog: pytest.LogCaptureFixture, env: dict[str, str], listen: str, said: str
) -> None:
    with caplog.at_level(logging.INFO, logger="tidings.server"):
        say_how_open(config.load(env=env, overrides={"listen": listen}))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and said in warnings[0]
