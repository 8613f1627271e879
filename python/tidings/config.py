"""Configuration: defaults, then an optional TOML file, then TIDINGS_* variables, then flags.

The embedded default needs no configuration at all: gRPC on 127.0.0.1:50051 and a
SQLite store under ``./.data``. Kafka is used only when a bootstrap address is set.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings import __version__, codec
from tidings.engine.dsl import DefinitionLimits
from tidings.net import AllowList

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
    #: Seconds between two passes of retention over the outbox.
    retention_interval_s: float = 60.0
    #: Events retention looks at per step (one short transaction of the writer).
    retention_batch: int = 500

    def definition_limits(self) -> DefinitionLimits:
        """The ``max_definition_*`` settings; ValueError names a bad one."""
        return DefinitionLimits(
            bytes=self.max_definition_bytes,
            tasks=self.max_definition_tasks,
            depth=self.max_definition_depth,
            values=self.max_definition_values,
            list_items=self.max_definition_list_items,
        )

    @property
    def database_path(self) -> Path:
        """The SQLite file of the embedded store."""
        return self.data_dir / "tidings.sqlite3"


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, value: Any) -> Any:
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
    for name in (
        "shutdown_grace_s", "http_transport_retries", "http_retry_delay_s", "retention_s",
    ):  # fmt: skip
        if getattr(config, name) < 0:
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
    return config


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
            values[name] = _coerce(name, raw)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value)
    return _validate(Config(**values))
