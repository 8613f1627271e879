"""Kafka security settings (``kafka_properties``) checked, and passed through to librdkafka.

The last test is end to end: a real `tidings serve` whose producer must complete a mutual
TLS handshake with a TLS server on 127.0.0.1 that stands in for a broker, which it can
only do with the CA, certificate and key the configuration gave librdkafka.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import trustme

from tidings import config
from tidings.dispatch.kafka import settings
from tidings.server import Server
from tidings_process import REPO, TidingsProcess

SCRAM = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "tidings",
    "sasl.password": "s3cret-pass",
}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"security.protocol": "tls"}, "security.protocol: expected one of"),
        ({"security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM"}, "sasl.mechanism: expected"),
        ({"sasl.mechanism": "PLAIN"}, "sasl.mechanism needs security.protocol sasl_ssl"),
        (
            {
                "security.protocol": "sasl_ssl",
                "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.username": "u",
            },
            "SCRAM-SHA-256 needs sasl.password",
        ),
        ({"ssl.ca.location": "/x.pem"}, "ssl.ca.location needs security.protocol ssl"),
        ({"security.protocol": "ssl", "ssl.ca.location": "/no/such.pem"}, "no file /no/such.pem"),
        ({"acks": "1"}, "acks is set by tidings"),
        ({"bootstrap.servers": "a:1"}, "bootstrap.servers is set by tidings"),
        ({"Security.Protocol": "ssl"}, "is not a librdkafka property name"),
        ({"linger.ms": [5]}, "linger.ms: expected a string, number or boolean"),
    ],
)
def test_bad_security_settings_are_refused(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings.check(props)


def test_settings_become_librdkafka_strings_and_secrets_are_redacted() -> None:
    props = settings.check({**SCRAM, "linger.ms": 10, "enable.ssl.certificate.verification": True})
    assert props["linger.ms"] == "10" and props["enable.ssl.certificate.verification"] == "true"
    shown = settings.redacted(props)
    assert shown["sasl.password"] == "<redacted>" and shown["sasl.username"] == "tidings"


def test_file_table_and_environment_json_merge(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'kafka_bootstrap = "127.0.0.1:1"\n[kafka_properties]\n'
        'security.protocol = "sasl_ssl"\nsasl.mechanism = "SCRAM-SHA-512"\n'
        'sasl.username = "tidings"\n"message.max.bytes" = 2000000\n'
    )
    # As TOML reads it, a dotted key is a nested table: quoted or not, both must work.
    env = {"TIDINGS_KAFKA_PROPERTIES": json.dumps({"sasl.password": "s3cret-pass"})}
    cfg = config.load(path, env=env)
    assert dict(cfg.kafka_properties) == {**SCRAM, "security.protocol": "sasl_ssl",
                                          "message.max.bytes": "2000000"}  # fmt: skip
    with pytest.raises(config.ConfigError, match=r"kafka_properties: .*needs sasl\.password"):
        config.load(path, env={})
    with pytest.raises(config.ConfigError, match="kafka_properties: expected a JSON object"):
        config.load(env={"TIDINGS_KAFKA_PROPERTIES": "security.protocol=ssl"})


def test_the_properties_reach_the_servers_producer(tmp_path: Path) -> None:
    env = {"TIDINGS_KAFKA_PROPERTIES": json.dumps(SCRAM)}
    cfg = config.load(
        env=env, overrides={"kafka_bootstrap": "127.0.0.1:1", "data_dir": tmp_path / "data"}
    )

    async def build() -> dict[str, object]:
        # librdkafka checks the settings as it makes the producer (SCRAM must be built in).
        server = Server(cfg)
        sink = server.dispatcher.kafka
        assert sink is not None
        sink.close(timeout=0)
        return sink.settings

    made = asyncio.run(build())
    assert {k: made[k] for k in SCRAM} == {**SCRAM, "sasl.password": "<redacted>"}
    assert made["enable.idempotence"] is True and made["acks"] == "all"


class TlsBrokerStandIn:
    """A TLS server on 127.0.0.1 that requires a client certificate and records it."""

    def __init__(self, cert: trustme.LeafCert, client_ca: trustme.CA) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)
        client_ca.configure_trust(self.context)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peer: dict[str, Any] | None = None
        self.first_bytes = b""
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(30)
                    self.peer = tls.getpeercert()
                    self.first_bytes = tls.recv(4096)  # the client's first Kafka request
                    self.done.set()
            except (OSError, ssl.SSLError):
                continue  # a handshake that failed: wait for the next attempt

    def close(self) -> None:
        self.done.set()
        self.sock.close()


def test_a_real_server_talks_mutual_tls_to_its_broker(tmp_path: Path) -> None:
    broker_ca, client_ca = trustme.CA(), trustme.CA()
    stand_in = TlsBrokerStandIn(broker_ca.issue_cert("127.0.0.1"), client_ca)
    client = client_ca.issue_cert("tidings-producer")
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    broker_ca.cert_pem.write_to_path(str(files["ca"]))
    client.cert_chain_pems[0].write_to_path(str(files["cert"]))
    client.private_key_pem.write_to_path(str(files["key"]))
    props = {
        "security.protocol": "ssl",
        "ssl.ca.location": str(files["ca"]),
        "ssl.certificate.location": str(files["cert"]),
        "ssl.key.location": str(files["key"]),
    }
    env = {
        "TIDINGS_KAFKA_BOOTSTRAP": f"127.0.0.1:{stand_in.port}",
        "TIDINGS_KAFKA_PROPERTIES": json.dumps(props),
    }
    try:
        with TidingsProcess(tmp_path / "data", env=env):
            assert stand_in.done.wait(60), "the producer never completed a TLS handshake"
    finally:
        stand_in.close()
    assert stand_in.peer is not None
    # The certificate the configuration named (trustme puts the identity in its SAN).
    assert ("DNS", "tidings-producer") in stand_in.peer["subjectAltName"]
    # A Kafka request: a 4-byte size, then ApiKey 18 (ApiVersions), the client's first.
    assert int.from_bytes(stand_in.first_bytes[4:6], "big") == 18


def test_a_property_librdkafka_does_not_know_stops_the_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "python"),
        "TIDINGS_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "TIDINGS_KAFKA_PROPERTIES": json.dumps({"no.such.property": "1"}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tidings", "serve", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "kafka_properties: cannot create a Kafka producer" in done.stderr
    assert "no.such.property" in done.stderr
