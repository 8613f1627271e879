"""Tokens, TLS, mutual TLS, message limits and deadlines, over a real `tidings serve`.

Certificates come from throwaway `trustme` authorities made per test module: no key is
ever committed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from google.protobuf import message_factory
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine_client import WPB, chain, rpc_failure, unique, workflow_yaml
from kafka_broker import free_port
from tidings.api import access, api_tokens
from tidings.api.access import Scope
from tidings.server import SERVED
from tidings.v1 import listener_pb2, listener_pb2_grpc, workflow_pb2_grpc
from tidings.vocab import profile_enum
from tidings_process import REPO, TidingsProcess

T = 15.0
DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
ALLOW_LOCAL = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}
TOKENS = {scope: api_tokens.new_token() for scope in Scope}


def bearer(scope: Scope) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {TOKENS[scope]}"),)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    """A server on 127.0.0.1 with one token of each scope."""
    entries = ",".join(api_tokens.make(f"t-{s.label}", s, TOKENS[s]).entry() for s in Scope)
    env = {"TIDINGS_TOKENS": entries, **ALLOW_LOCAL}
    with TidingsProcess(tmp_path_factory.mktemp("guarded") / "data", env=env) as proc:
        yield proc


@pytest.fixture(scope="module")
def channel(guarded: TidingsProcess) -> Iterator[grpc.Channel]:
    with guarded.channel() as ch:
        yield ch


def status_of(channel: grpc.Channel, rpc: str, metadata: Any = (), timeout: float = T) -> Any:
    """Call ``rpc`` (a method path) with an empty request: its status code, or OK."""
    service, name = rpc.strip("/").split("/")
    (method,) = [m for s in SERVED if s.full_name == service for m in s.methods if m.name == name]
    # The request's own (empty) message: the session's learning channel reads requests.
    request = message_factory.GetMessageClass(method.input_type)()
    kinds = (_serialise, bytes)
    try:
        if method.client_streaming:
            replies = channel.stream_stream(rpc, *kinds)(iter([request]), timeout=timeout,
                                                         metadata=metadata)  # fmt: skip
            list(replies)
        elif method.server_streaming:
            stream = channel.unary_stream(rpc, *kinds)(request, timeout=timeout,
                                                       metadata=metadata)  # fmt: skip
            next(iter(stream), None)
            stream.cancel()  # type: ignore[no-untyped-call]  # untyped in grpc-stubs
        else:
            channel.unary_unary(rpc, *kinds)(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def _serialise(message: Message) -> bytes:
    return message.SerializeToString()


ALL_RPCS = sorted(f"/{s.full_name}/{m.name}" for s in SERVED for m in s.methods)


def test_without_a_token_only_health_answers(channel: grpc.Channel) -> None:
    codes = {rpc: status_of(channel, rpc) for rpc in ALL_RPCS}
    assert {r for r, c in codes.items() if c != grpc.StatusCode.UNAUTHENTICATED} == {
        r for r in ALL_RPCS if access.is_open(r)
    }
    # Health answers (its List is UNIMPLEMENTED by grpcio's servicer: not refused either).
    assert (
        codes["/grpc.health.v1.Health/Check"]
        == codes["/grpc.health.v1.Health/Watch"]
        == (grpc.StatusCode.OK)
    )


def test_a_wrong_or_malformed_token_is_unauthenticated(channel: grpc.Channel) -> None:
    rpc = "/tidings.v1.WorkflowService/ListWorkflows"
    for value in (f"Bearer {api_tokens.new_token()}", TOKENS[Scope.ADMIN], "Basic abc"):
        assert status_of(channel, rpc, (("authorization", value),)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
    assert status_of(channel, rpc, (("authorization", f"bearer {TOKENS[Scope.READ]}"),)) == (
        grpc.StatusCode.OK
    )


def test_refusals_carry_error_info(channel: grpc.Channel) -> None:
    """UNAUTHENTICATED and PERMISSION_DENIED come with ErrorInfo reasons, as every error."""
    stub = workflow_pb2_grpc.WorkflowServiceStub(channel)
    request = WPB.DeleteWorkflowRequest(workflow="nobody")
    anonymous = rpc_failure(lambda: stub.DeleteWorkflow(request, timeout=T))
    reader = rpc_failure(
        lambda: stub.DeleteWorkflow(request, timeout=T, metadata=bearer(Scope.READ))
    )
    writer = rpc_failure(
        lambda: stub.DeleteWorkflow(request, timeout=T, metadata=bearer(Scope.WRITE))
    )
    assert [(f.code, f.reason, f.domain) for f in (anonymous, reader, writer)] == [
        (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", "tidings.dev"),
        (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", "tidings.dev"),
        (grpc.StatusCode.NOT_FOUND, "WORKFLOW_NOT_FOUND", "tidings.dev"),
    ]


@pytest.mark.parametrize("scope", list(Scope))
def test_each_scope_may_call_exactly_its_rpcs(channel: grpc.Channel, scope: Scope) -> None:
    guarded_rpcs = [r for r in ALL_RPCS if not access.is_open(r)]
    # Streams that would run on (WatchEvents) end at their deadline: passing the check
    # is all this asks of them.
    codes = {r: status_of(channel, r, bearer(scope), timeout=5) for r in guarded_rpcs}
    refused = {r for r, c in codes.items() if c == grpc.StatusCode.PERMISSION_DENIED}
    assert refused == {r for r in guarded_rpcs if access.REQUIRED[r] > scope}
    assert grpc.StatusCode.UNAUTHENTICATED not in codes.values()


def test_read_token_sees_no_listener_secret(channel: grpc.Channel) -> None:
    workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
    listeners = listener_pb2_grpc.ListenerServiceStub(channel)
    name = unique("secrets")
    made = workflows.CreateWorkflow(
        WPB.CreateWorkflowRequest(
            definition=workflow_yaml(name, chain("a")), callback_url="http://127.0.0.1:9/flow"
        ),
        metadata=bearer(Scope.WRITE),
        timeout=T,
    )
    created = listeners.CreateListener(
        listener_pb2.CreateListenerRequest(
            listener=listener_pb2.Listener(
                name="quiet", profile=profile_enum("mistral"), enabled=False,
                webhook=listener_pb2.WebhookTransport(url="http://127.0.0.1:9/all"),
            )
        ),
        metadata=bearer(Scope.ADMIN), timeout=T,
    )  # fmt: skip
    secrets = [s.signing_secret for s in made.listener_secrets] + [created.signing_secret]
    assert len(secrets) == 2 and all(s.startswith("whsec_") for s in secrets)
    read = bearer(Scope.READ)
    seen: list[Message] = [
        workflows.GetWorkflow(WPB.GetWorkflowRequest(workflow=name), metadata=read, timeout=T),
        workflows.ListWorkflows(WPB.ListWorkflowsRequest(), metadata=read, timeout=T),
        listeners.ListListeners(listener_pb2.ListListenersRequest(), metadata=read, timeout=T),
        listeners.ListDeliveries(listener_pb2.ListDeliveriesRequest(), metadata=read, timeout=T),
    ]
    ids = [made.listener_secrets[0].listener_id, created.listener.id]
    seen += [
        listeners.GetListener(listener_pb2.GetListenerRequest(id=i), metadata=read, timeout=T)
        for i in ids
    ]
    assert len(seen[2].listeners) >= 2  # type: ignore[attr-defined]
    for reply in seen:
        wire = reply.SerializeToString()
        assert not any(s.removeprefix("whsec_").encode() in wire for s in secrets)
    with pytest.raises(grpc.RpcError) as refused:
        listeners.RotateSecret(
            listener_pb2.RotateSecretRequest(id=ids[1]), metadata=read, timeout=T
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_request_over_the_size_limit_is_refused_and_the_server_goes_on(
    guarded: TidingsProcess, channel: grpc.Channel
) -> None:
    workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
    huge = "# " + "x" * 5_000_000 + "\n" + workflow_yaml(unique("huge"), chain("a"))
    with pytest.raises(grpc.RpcError) as refused:
        workflows.CreateWorkflow(
            WPB.CreateWorkflowRequest(definition=huge), metadata=bearer(Scope.WRITE), timeout=T
        )
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert guarded.proc is not None and guarded.proc.poll() is None
    name = unique("after_huge")
    reply = workflows.CreateWorkflow(
        WPB.CreateWorkflowRequest(definition=workflow_yaml(name, chain("a"))),
        metadata=bearer(Scope.WRITE),
        timeout=T,
    )
    assert reply.workflow.name == name


class SilentReceiver:
    """A TCP server on 127.0.0.1 that reads a request, never answers, and notes the hang-up."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.got_request = threading.Event()
        self.hung_up = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            while conn.recv(65536):
                self.got_request.set()
            self.hung_up.set()  # recv returned b"": the caller closed the connection

    def close(self) -> None:
        self.sock.close()


def test_a_client_deadline_cancels_the_handlers_wait(channel: grpc.Channel) -> None:
    receiver = SilentReceiver()
    try:
        listeners = listener_pb2_grpc.ListenerServiceStub(channel)
        admin = bearer(Scope.ADMIN)
        # The listener waits up to 300 s for an answer: only the deadline can end it sooner.
        made = listeners.CreateListener(
            listener_pb2.CreateListenerRequest(
                listener=listener_pb2.Listener(
                    name="silent", profile=profile_enum("mistral"), enabled=False,
                    webhook=listener_pb2.WebhookTransport(
                        url=receiver.url, timeout=Duration(seconds=300)
                    ),
                )
            ),
            metadata=admin, timeout=T,
        )  # fmt: skip
        with pytest.raises(grpc.RpcError) as late:
            listeners.TestListener(
                listener_pb2.TestListenerRequest(id=made.listener.id), metadata=admin, timeout=2
            )
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert receiver.got_request.wait(T)
        # The handler was cancelled with the call: tidings hung up on the receiver.
        assert receiver.hung_up.wait(60)
        got = listeners.GetListener(
            listener_pb2.GetListenerRequest(id=made.listener.id), metadata=admin, timeout=T
        )
        assert got.listener.id == made.listener.id
    finally:
        receiver.close()


# ----------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A server CA and certificate for 127.0.0.1, a client CA, a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, stranger_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    client = client_ca.issue_cert("client@tidings.test")
    stranger = stranger_ca.issue_cert("stranger@tidings.test")
    files = {
        "server_cert": folder / "server.pem",
        "server_key": folder / "server.key",
        "client_ca": folder / "client-ca.pem",
    }
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(files["server_cert"]), append=True)
    server.private_key_pem.write_to_path(str(files["server_key"]))
    client_ca.cert_pem.write_to_path(str(files["client_ca"]))

    def creds(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=ca.cert_pem.bytes(),
            private_key=cert.private_key_pem.bytes() if cert else None,
            certificate_chain=b"".join(b.bytes() for b in cert.cert_chain_pems) if cert else None,
        )

    return {
        **files,
        "right": creds(server_ca),
        "wrong": creds(stranger_ca),
        "client": creds(server_ca, client),
        "stranger": creds(server_ca, stranger),
    }


def tls_env(pki: dict[str, Any], mutual: bool) -> dict[str, str]:
    env = {"TIDINGS_TLS_CERT_FILE": str(pki["server_cert"]),
           "TIDINGS_TLS_KEY_FILE": str(pki["server_key"])}  # fmt: skip
    if mutual:
        env["TIDINGS_TLS_CLIENT_CA_FILE"] = str(pki["client_ca"])
    return env


def health(address: str, credentials: grpc.ChannelCredentials | None) -> Any:
    """The health status, or the code of the failure."""
    channel = (
        grpc.secure_channel(address, credentials) if credentials else grpc.insecure_channel(address)
    )
    with channel:
        try:
            stub = health_pb2_grpc.HealthStub(channel)
            return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        except grpc.RpcError as exc:
            return exc.code()


SERVING = health_pb2.HealthCheckResponse.SERVING


def test_tls_server_is_reachable_only_with_the_right_ca(
    tmp_path: Path, pki: dict[str, Any]
) -> None:
    with TidingsProcess(
        tmp_path / "data", env=tls_env(pki, mutual=False), credentials=pki["right"]
    ) as proc:
        assert health(proc.address, pki["right"]) == SERVING
        assert health(proc.address, pki["wrong"]) == grpc.StatusCode.UNAVAILABLE
        assert health(proc.address, None) == grpc.StatusCode.UNAVAILABLE
        with proc.channel() as ch:
            listed = workflow_pb2_grpc.WorkflowServiceStub(ch).ListWorkflows(
                WPB.ListWorkflowsRequest(), timeout=T
            )
        assert list(listed.workflows) == []
        log = proc.log()
    assert "serving gRPC with TLS" in log
    assert "no API tokens configured: the API is open to every process on this machine" in log


def test_mutual_tls_refuses_a_client_without_a_certificate(
    tmp_path: Path, pki: dict[str, Any]
) -> None:
    entry = api_tokens.make("ci", Scope.READ, TOKENS[Scope.READ]).entry()
    env = {**tls_env(pki, mutual=True), "TIDINGS_TOKENS": entry}
    with TidingsProcess(tmp_path / "data", env=env, credentials=pki["client"]) as proc:
        assert health(proc.address, pki["client"]) == SERVING
        assert health(proc.address, pki["right"]) == grpc.StatusCode.UNAVAILABLE
        assert health(proc.address, pki["stranger"]) == grpc.StatusCode.UNAVAILABLE
        with proc.channel() as ch:
            rpc = "/tidings.v1.WorkflowService/ListWorkflows"
            assert status_of(ch, rpc) == grpc.StatusCode.UNAUTHENTICATED
            assert status_of(ch, rpc, bearer(Scope.READ)) == grpc.StatusCode.OK
        assert "serving gRPC with mutual TLS" in proc.log()


# ----------------------------------------------------------------------------- binding


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `tidings serve` that is expected to refuse to start."""
    environ = {**os.environ, "PYTHONPATH": str(REPO / "python"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tidings", "serve", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, env=environ, cwd=REPO, timeout=60,
    )  # fmt: skip


def test_serving_beyond_loopback_without_tokens_is_refused(tmp_path: Path) -> None:
    done = serve(tmp_path, "--listen", f"0.0.0.0:{free_port()}")
    assert done.returncode == 2
    assert "is not a loopback address and no API tokens are configured" in done.stderr
    assert "--insecure" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before it touched anything
    environ = {"TIDINGS_LISTEN": f"[::]:{free_port()}"}
    assert serve(tmp_path, env=environ).returncode == 2
