"""Configuration: defaults, then an optional TOML file, then TIDINGS_* variables, then flags.

The embedded default needs no configuration at all: gRPC on 127.0.0.1:50051 and a
SQLite store under ``./.data``. Kafka is used only when a bootstrap address is set.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidings import __version__, codec
from tidings.api import api_tokens
from tidings.api.api_tokens import ApiToken
from tidings.dispatch.kafka import settings as kafka_settings
from tidings.engine.dsl import DefinitionLimits
from tidings.net import AllowList
from tidings.observe import logs, otlp

ENV_PREFIX = "TIDINGS_"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the setting and why."""


@dataclass(frozen=True)
class Config:
    """Settings of one tidings process."""

    #: host:port the gRPC server listens on.
    listen: str = "127.0.0.1:50051"
    #: Folder of the embedded store (SQLite file) and other local state.
    data_dir: Path = Path(".data")
    #: Kafka bootstrap servers; empty means no Kafka.
    kafka_bootstrap: str = ""
    #: librdkafka properties for the producer, e.g. TLS and SASL/SCRAM
    #: (``security.protocol``, ``sasl.mechanism``...): a TOML table; in the environment a
    #: JSON object, merged key by key over the file's (so the password may come from
    #: there alone). The security keys are checked at start (`dispatch.kafka.settings`).
    kafka_properties: Mapping[str, str] = field(default_factory=dict)
    #: Seed 000's topics: engine up/down, and every execution and task event.
    kafka_service_topic: str = "service"
    kafka_mistral_topic: str = "mistral"
    #: The `mistral` topic also carries the eTypes seed 000 does not define
    #: (``execution_pause``, ``execution_resume``); off: only seed 000's eleven.
    kafka_mistral_extensions: bool = False
    #: Engine name and version, as the mistral `service` topic reports them.
    engine_name: str = "workflow_engine"
    engine_version: str = __version__
    #: Zone of local-time payload fields (mistral ``timeStamp``, tencent times): ``local``
    #: (seed 000: "工作流引擎所在系统的本地时间", the host's zone: ``TZ``, else
    #: ``/etc/localtime``), an IANA name, ``UTC``, or ``+HH:MM``.
    timezone: str = "local"
    #: API tokens, each ``NAME:SCOPE:sha256:HEX`` (``tidings token new`` makes one); in
    #: the environment, comma-separated. With none, every RPC is open: allowed only on a
    #: loopback address unless ``insecure``.
    tokens: tuple[str, ...] = ()
    #: Serve without tokens on an address other than loopback (a warning says so).
    insecure: bool = False
    #: TLS: PEM files of the server's certificate (chain) and private key; both or none.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    #: Mutual TLS: PEM file of the CAs that sign client certificates; when set, a client
    #: without a certificate they signed cannot connect. Needs the two above.
    tls_client_ca_file: str = ""
    #: Largest request message the server reads, in bytes; a larger one is refused with
    #: RESOURCE_EXHAUSTED before it is parsed. More than ``max_definition_bytes``, so that a
    #: definition over that limit is refused naming it.
    max_message_bytes: int = 4_194_304
    #: Seconds to let in-flight RPCs finish on shutdown.
    shutdown_grace_s: float = 5.0
    #: std.http: re-sends after a transport failure before status 598, and the first wait.
    http_transport_retries: int = 3
    http_retry_delay_s: float = 1.0
    #: Webhook destinations allowed although not public (SSRF safety): CIDR networks,
    #: addresses or host names; in the environment, comma-separated.
    webhook_allow_private: tuple[str, ...] = ()
    #: Limits of a workflow definition (Create/UpdateWorkflow); exceeding one is
    #: INVALID_ARGUMENT naming it. Bytes of the text (UTF-8), checked before it is read.
    max_definition_bytes: int = 1_048_576
    #: Tasks of one workflow.
    max_definition_tasks: int = 1_000
    #: Nesting of mappings and lists, from the document down (at most 200).
    max_definition_depth: int = 100
    #: Values (mappings, lists, scalars) of one definition, each use of a YAML alias counted.
    max_definition_values: int = 200_000
    #: Items of any one list in a definition.
    max_definition_list_items: int = 10_000
    #: Seconds one evaluation of an expression may run; beyond it the expression fails
    #: (its task fails with seed 000's 599 naming this limit).
    expression_time_limit_s: float = 1.0
    #: Seconds one std.js / std.javascript script may run; beyond it its task fails.
    javascript_time_limit_s: float = 10.0
    #: Seconds a delivered event, its delivery records and their attempts are kept (7
    #: days); a listener's ``delivery_retention`` overrides it for its own records. An
    #: event not yet delivered to every target is kept however old. 0 keeps everything.
    retention_s: float = 604_800.0
    #: Seconds an ended execution is kept, with its tasks and sub-workflows (30 days);
    #: then GetExecution answers NOT_FOUND. A running or paused one is kept however old.
    #: 0 keeps every execution.
    execution_retention_s: float = 2_592_000.0
    #: Seconds between two passes of retention over the outbox.
    retention_interval_s: float = 60.0
    #: Events retention looks at per step (one short transaction of the writer).
    retention_batch: int = 500
    #: host:port of the Prometheus metrics endpoint (HTTP, its own port, any path);
    #: empty: no metrics are served or recorded. Bind a loopback address unless the
    #: scraper is elsewhere: the endpoint has no authentication.
    metrics_listen: str = ""
    #: Seconds between two health checks (store, Kafka, readiness; the backlog gauges).
    health_interval_s: float = 1.0
    #: Health is NOT_SERVING once Kafka has been unreachable this many seconds (no
    #: broker connected); 0: Kafka never makes the server unhealthy.
    health_kafka_unreachable_after_s: float = 0.0
    #: Log lines: ``text`` (human), ``json`` (JSON lines with ``execution_id``,
    #: ``task_id``, ``listener_id``, ``event_id`` where they apply), or ``auto``: text
    #: on a terminal, JSON lines otherwise (a service manager, a container, a file).
    log_format: str = "auto"
    #: OpenTelemetry traces: the OTLP/gRPC collector spans are sent to, e.g.
    #: ``http://127.0.0.1:4317`` (plaintext; ``https://`` or a bare ``host:port``: TLS
    #: with the system's roots, as OpenTelemetry's exporters read it); empty (the
    #: default) turns tracing off, at no cost.
    tracing_otlp_endpoint: str = ""
    #: The share of new traces recorded (0 to 1); a trace begun by a caller's
    #: ``traceparent`` keeps the caller's decision.
    tracing_sample_ratio: float = 1.0

    def definition_limits(self) -> DefinitionLimits:
        """The ``max_definition_*`` settings; ValueError names a bad one."""
        return DefinitionLimits(
            bytes=self.max_definition_bytes,
            tasks=self.max_definition_tasks,
            depth=self.max_definition_depth,
            values=self.max_definition_values,
            list_items=self.max_definition_list_items,
        )

    def api_tokens(self) -> tuple[ApiToken, ...]:
        """The ``tokens`` settings parsed; ValueError names a bad one."""
        return api_tokens.parse_all(self.tokens)

    @property
    def loopback(self) -> bool:
        """Whether ``listen`` is a loopback address (``127.0.0.0/8``, ``::1``, localhost)."""
        host = self.listen.rpartition(":")[0].strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:  # a host name: it may resolve anywhere
            return False

    @property
    def database_path(self) -> Path:
        """The SQLite file of the embedded store."""
        return self.data_dir / "tidings.sqlite3"


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, value: Any) -> Any:
    if name == "kafka_properties":
        return _properties(value)
    default = getattr(Config, name)
    try:
        if isinstance(default, Path):
            return Path(str(value))
        if isinstance(default, bool):
            return _boolean(value)
        if isinstance(default, int) and not isinstance(default, bool):
            if isinstance(value, float) or (isinstance(value, str) and not value.strip().isdigit()):
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise TypeError(f"expected a string, got {type(value).__name__}")
            return value
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise TypeError("expected a list of strings (or one comma-separated string)")
            return tuple(i.strip() for i in items if i.strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    return value


def _properties(value: Any) -> dict[str, Any]:
    """A TOML table, or a JSON object in the environment."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigError(f"kafka_properties: expected a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError("kafka_properties: expected a table of librdkafka properties")
    return _flat(value)


def _flat(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    # TOML reads an unquoted dotted key (security.protocol = "ssl") as nested tables.
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _boolean(value: Any) -> bool:
    """A TOML boolean, or its spelling in the environment (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


def _validate(config: Config) -> Config:
    host, sep, port = config.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"listen: expected host:port, got {config.listen!r}")
    if config.metrics_listen:
        host, sep, port = config.metrics_listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"metrics_listen: expected host:port, got {config.metrics_listen!r}")
    if not (0 < config.health_interval_s <= 3600):
        raise ConfigError("health_interval_s: must be more than 0 and at most 3600")
    for name in (
        "shutdown_grace_s", "http_transport_retries", "http_retry_delay_s", "retention_s",
        "execution_retention_s",
        "health_kafka_unreachable_after_s",
    ):  # fmt: skip
        if not getattr(config, name) >= 0:  # also refuses NaN
            raise ConfigError(f"{name}: must not be negative")
    limit = config.expression_time_limit_s
    if not (0 < limit <= 3600):  # also refuses NaN
        raise ConfigError(
            f"expression_time_limit_s: must be more than 0 and at most 3600, got {limit}"
        )
    js_limit = config.javascript_time_limit_s
    if not (0 < js_limit <= 3600):  # also refuses NaN
        raise ConfigError(
            f"javascript_time_limit_s: must be more than 0 and at most 3600, got {js_limit}"
        )
    if not (0 < config.retention_interval_s <= 86_400):
        raise ConfigError("retention_interval_s: must be more than 0 and at most 86400")
    if not (1 <= config.retention_batch <= 100_000):
        raise ConfigError("retention_batch: must be between 1 and 100000")
    if config.log_format not in logs.FORMATS:
        raise ConfigError(f"log_format: must be one of {', '.join(logs.FORMATS)}")
    if not (0 <= config.tracing_sample_ratio <= 1):  # also refuses NaN
        raise ConfigError("tracing_sample_ratio: must be between 0 and 1")
    if config.tracing_otlp_endpoint:
        try:
            otlp.target_of(config.tracing_otlp_endpoint)
        except ValueError as error:
            raise ConfigError(f"tracing_otlp_endpoint: {error}") from None
    try:
        codec.Renderer("mistral", timezone=config.timezone)
    except codec.CodecError as exc:
        raise ConfigError(f"timezone: {exc}") from exc
    try:
        config.definition_limits()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        AllowList(config.webhook_allow_private)
    except ValueError as exc:
        raise ConfigError(f"webhook_allow_private: {exc}") from exc
    try:
        props = kafka_settings.check(config.kafka_properties)
    except ValueError as exc:
        raise ConfigError(f"kafka_properties: {exc}") from exc
    config = dataclasses.replace(config, kafka_properties=props)
    _validate_security(config)
    return config


def _validate_security(config: Config) -> None:
    try:
        tokens = config.api_tokens()
    except ValueError as exc:
        raise ConfigError(f"tokens: {exc}") from exc
    if not tokens and not config.loopback and not config.insecure:
        raise ConfigError(
            f"listen: {config.listen} is not a loopback address and no API tokens are "
            "configured, so anyone who reaches it could read and change everything. "
            "Configure tokens (`tidings token new --name NAME --scope read|write|admin`), "
            "or pass --insecure (TIDINGS_INSECURE=true) to serve it open anyway"
        )
    if bool(config.tls_cert_file) != bool(config.tls_key_file):
        raise ConfigError("tls_cert_file and tls_key_file: set both or neither")
    if config.tls_client_ca_file and not config.tls_cert_file:
        raise ConfigError("tls_client_ca_file: mutual TLS needs tls_cert_file and tls_key_file")
    for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
        path = getattr(config, name)
        if path and not os.access(path, os.R_OK):
            raise ConfigError(f"{name}: cannot read {path}")
    # Read them as gRPC will at start, so that a wrong file is an error naming it, not a
    # failure to bind. (ssl reads the same PEM formats.)
    try:
        if config.tls_cert_file:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
                config.tls_cert_file, config.tls_key_file
            )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"tls_cert_file and tls_key_file: not a PEM certificate and its key: {exc}"
        ) from exc
    try:
        if config.tls_client_ca_file:
            ssl.create_default_context(cafile=config.tls_client_ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"tls_client_ca_file: not PEM certificates: {exc}") from exc
    if not config.max_definition_bytes < config.max_message_bytes <= 2**31 - 1:
        raise ConfigError(
            "max_message_bytes: must be more than max_definition_bytes "
            f"({config.max_definition_bytes:,}) and less than 2 GiB, "
            f"got {config.max_message_bytes:,}"
        )


def load(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration from a TOML file, the environment and explicit overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        for key, value in data.items():
            if key not in _FIELDS:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _coerce(key, value)
    environ = os.environ if env is None else env
    for name in _FIELDS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            value = _coerce(name, raw)
            if name == "kafka_properties":  # merged, so that secrets may come from here alone
                value = {**values.get(name, {}), **value}
            values[name] = value
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value)
    return _validate(Config(**values))
