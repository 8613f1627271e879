from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tidings import config
from tidings.observe import otlp


def test_defaults_need_no_configuration() -> None:
    cfg = config.load(env={})
    assert cfg.listen == "127.0.0.1:50051"
    assert cfg.kafka_bootstrap == ""
    assert cfg.database_path == Path(".data/tidings.sqlite3")


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'listen = "127.0.0.1:1"\nengine_name = "from-file"\ntimezone = "Asia/Shanghai"\n'
    )
    env = {"TIDINGS_LISTEN": "127.0.0.1:2", "TIDINGS_SHUTDOWN_GRACE_S": "1.5"}
    cfg = config.load(path, env=env, overrides={"listen": "127.0.0.1:3", "data_dir": None})
    assert (cfg.listen, cfg.engine_name, cfg.timezone) == (
        "127.0.0.1:3",
        "from-file",
        "Asia/Shanghai",
    )
    assert cfg.shutdown_grace_s == 1.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense = 1\n", "unknown setting 'nonsense'"),
        ("listen = 5\n", "listen: expected a string"),
        ("listen = 'nohost'\n", "listen: expected host:port"),
        ("listen = [\n", "t.toml: Invalid value"),
    ],
)
def test_bad_file_names_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError, match=message):
        config.load(path, env={})


def test_payload_zone_is_the_hosts_and_seed_topic_extensions_are_off_by_default(
    tmp_path: Path,
) -> None:
    cfg = config.load(env={})
    assert (cfg.timezone, cfg.kafka_mistral_extensions) == ("local", False)
    for spelling, want in [("true", True), ("1", True), ("Yes", True), ("off", False)]:
        cfg = config.load(env={"TIDINGS_KAFKA_MISTRAL_EXTENSIONS": spelling})
        assert cfg.kafka_mistral_extensions is want, spelling
    path = tmp_path / "t.toml"
    path.write_text("kafka_mistral_extensions = true\n")
    assert config.load(path, env={}).kafka_mistral_extensions is True
    with pytest.raises(config.ConfigError, match="kafka_mistral_extensions: expected true or"):
        config.load(env={"TIDINGS_KAFKA_MISTRAL_EXTENSIONS": "sometimes"})
    path.write_text("kafka_mistral_extensions = 1\n")
    with pytest.raises(config.ConfigError, match="kafka_mistral_extensions"):
        config.load(path, env={})
    with pytest.raises(config.ConfigError, match='timezone: invalid timezone "Mars/Base"'):
        config.load(env={"TIDINGS_TIMEZONE": "Mars/Base"})


def test_bad_number_in_environment() -> None:
    with pytest.raises(config.ConfigError, match="shutdown_grace_s"):
        config.load(env={"TIDINGS_SHUTDOWN_GRACE_S": "soon"})


def test_definition_limits_default_and_come_from_the_environment() -> None:
    limits = config.load(env={}).definition_limits()
    assert (limits.bytes, limits.tasks, limits.depth, limits.values, limits.list_items) == (
        1_048_576,
        1_000,
        100,
        200_000,
        10_000,
    )
    env = {
        "TIDINGS_MAX_DEFINITION_BYTES": "4000000",
        "TIDINGS_MAX_DEFINITION_TASKS": "50000",
        "TIDINGS_MAX_DEFINITION_DEPTH": "200",
        "TIDINGS_MAX_DEFINITION_VALUES": "1000000",
        "TIDINGS_MAX_DEFINITION_LIST_ITEMS": "20",
    }
    limits = config.load(env=env).definition_limits()
    assert (limits.bytes, limits.tasks, limits.depth, limits.values, limits.list_items) == (
        4_000_000,
        50_000,
        200,
        1_000_000,
        20,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIDINGS_MAX_DEFINITION_TASKS", "0", "max_definition_tasks: must be at least 1"),
        ("TIDINGS_MAX_DEFINITION_BYTES", "-5", "max_definition_bytes: expected a whole number"),
        ("TIDINGS_MAX_DEFINITION_DEPTH", "201", "max_definition_depth: must be at most 200"),
        ("TIDINGS_MAX_DEFINITION_LIST_ITEMS", "1.5", "max_definition_list_items: expected"),
    ],
)
def test_bad_definition_limits_name_the_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.load(env={name: value})


def test_the_expression_time_limit_defaults_to_1_s_and_comes_from_the_environment() -> None:
    assert config.load(env={}).expression_time_limit_s == 1.0
    env = {"TIDINGS_EXPRESSION_TIME_LIMIT_S": "0.25"}
    assert config.load(env=env).expression_time_limit_s == 0.25


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "3601"])
def test_a_bad_expression_time_limit_names_the_setting(value: str) -> None:
    with pytest.raises(config.ConfigError, match="expression_time_limit_s: must be more than 0"):
        config.load(env={"TIDINGS_EXPRESSION_TIME_LIMIT_S": value})


def test_the_javascript_time_limit_defaults_to_10_s_and_comes_from_the_environment() -> None:
    assert config.load(env={}).javascript_time_limit_s == 10.0
    env = {"TIDINGS_JAVASCRIPT_TIME_LIMIT_S": "2.5"}
    assert config.load(env=env).javascript_time_limit_s == 2.5


@pytest.mark.parametrize("value", ["0", "-1", "nan", "3601"])
def test_a_bad_javascript_time_limit_names_the_setting(value: str) -> None:
    with pytest.raises(config.ConfigError, match="javascript_time_limit_s: must be more than 0"):
        config.load(env={"TIDINGS_JAVASCRIPT_TIME_LIMIT_S": value})


# ----------------------------------------------------------------------------- security

TOKEN_ENTRY = "ci:write:sha256:" + "ab" * 32


def test_security_defaults_are_open_on_loopback_with_grpcs_message_limit() -> None:
    cfg = config.load(env={})
    assert (cfg.tokens, cfg.api_tokens(), cfg.insecure, cfg.loopback) == ((), (), False, True)
    assert (cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_client_ca_file) == ("", "", "")
    assert cfg.max_message_bytes == 4 * 1024 * 1024
    assert dict(cfg.kafka_properties) == {}


def test_tokens_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f'tokens = ["{TOKEN_ENTRY}"]\n')
    (token,) = config.load(path, env={}).api_tokens()
    assert (token.name, token.scope.label) == ("ci", "write")
    other = "ops:admin:sha256:" + "cd" * 32
    cfg = config.load(env={"TIDINGS_TOKENS": f"{TOKEN_ENTRY}, {other}"})
    assert [t.name for t in cfg.api_tokens()] == ["ci", "ops"]
    with pytest.raises(config.ConfigError, match="tokens: token 'ci': the sha256 must be 64"):
        config.load(env={"TIDINGS_TOKENS": "ci:read:sha256:12"})


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1:1", True),
        ("127.8.9.10:1", True),
        ("[::1]:1", True),
        ("localhost:1", True),
        ("0.0.0.0:1", False),
        ("[::]:1", False),
        ("10.1.2.3:1", False),
        ("tidings.internal:1", False),
    ],
)
def test_beyond_loopback_tokens_or_insecure_are_needed(listen: str, loopback: bool) -> None:
    if loopback:
        assert config.load(env={}, overrides={"listen": listen}).loopback
        return
    with pytest.raises(config.ConfigError, match="not a loopback address and no API tokens"):
        config.load(env={}, overrides={"listen": listen})
    assert config.load(env={"TIDINGS_TOKENS": TOKEN_ENTRY}, overrides={"listen": listen})
    assert config.load(env={"TIDINGS_INSECURE": "true"}, overrides={"listen": listen}).insecure


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_pem, junk = (tmp_path / f"{n}.pem" for n in ("cert", "key", "ca", "junk"))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_pem))
    junk.write_text("not a certificate\n")
    with pytest.raises(config.ConfigError, match="set both or neither"):
        config.load(env={"TIDINGS_TLS_CERT_FILE": str(cert)})
    with pytest.raises(config.ConfigError, match="mutual TLS needs tls_cert_file"):
        config.load(env={"TIDINGS_TLS_CLIENT_CA_FILE": str(ca_pem)})
    with pytest.raises(config.ConfigError, match="tls_key_file: cannot read"):
        config.load(env={"TIDINGS_TLS_CERT_FILE": str(cert), "TIDINGS_TLS_KEY_FILE": "/no/key"})
    with pytest.raises(config.ConfigError, match="not a PEM certificate and its key"):
        config.load(env={"TIDINGS_TLS_CERT_FILE": str(junk), "TIDINGS_TLS_KEY_FILE": str(key)})
    both = {"TIDINGS_TLS_CERT_FILE": str(cert), "TIDINGS_TLS_KEY_FILE": str(key)}
    with pytest.raises(config.ConfigError, match="tls_client_ca_file: not PEM certificates"):
        config.load(env={**both, "TIDINGS_TLS_CLIENT_CA_FILE": str(junk)})
    assert config.load(env={**both, "TIDINGS_TLS_CLIENT_CA_FILE": str(ca_pem)}).tls_client_ca_file


def test_message_limit_stays_above_the_definition_limit() -> None:
    assert config.load(env={"TIDINGS_MAX_MESSAGE_BYTES": "8000000"}).max_message_bytes == 8_000_000
    with pytest.raises(config.ConfigError, match="max_message_bytes: must be more than"):
        config.load(env={"TIDINGS_MAX_MESSAGE_BYTES": "1048576"})
    with pytest.raises(config.ConfigError, match="max_message_bytes: must be more than"):
        config.load(env={"TIDINGS_MAX_MESSAGE_BYTES": str(2**31)})


def test_metrics_are_off_by_default_and_health_checks_every_second() -> None:
    loaded = config.load(env={})
    assert loaded.metrics_listen == ""
    assert loaded.health_interval_s == 1.0
    assert loaded.health_kafka_unreachable_after_s == 0.0
    on = config.load(env={"TIDINGS_METRICS_LISTEN": "127.0.0.1:9464"})
    assert on.metrics_listen == "127.0.0.1:9464"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIDINGS_METRICS_LISTEN", "9464", "metrics_listen: expected host:port"),
        ("TIDINGS_HEALTH_INTERVAL_S", "0", "health_interval_s: must be more than 0"),
        ("TIDINGS_HEALTH_KAFKA_UNREACHABLE_AFTER_S", "-1", "health_kafka_unreachable_after_s"),
    ],
)
def test_bad_metrics_and_health_settings_name_the_setting(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.load(env={name: value})


@pytest.mark.parametrize(
    ("endpoint", "target", "plaintext"),
    [
        ("http://127.0.0.1:4317", "127.0.0.1:4317", True),
        ("https://collector:4317/", "collector:4317", False),
        ("collector:4317", "collector:4317", False),  # as OpenTelemetry's exporters: TLS
    ],
)
def test_the_otlp_endpoint_is_read_as_opentelemetrys_exporters_read_it(
    endpoint: str, target: str, plaintext: bool
) -> None:
    loaded = config.load(env={"TIDINGS_TRACING_OTLP_ENDPOINT": endpoint})
    assert otlp.target_of(loaded.tracing_otlp_endpoint) == (target, plaintext)


@pytest.mark.parametrize(
    "endpoint", ["grpc://collector:4317", "http://", "http://c:4318/v1/traces"]
)
def test_an_otlp_endpoint_that_is_no_grpc_target_is_refused(endpoint: str) -> None:
    with pytest.raises(config.ConfigError, match=r"tracing_otlp_endpoint: .*expected http://"):
        config.load(env={"TIDINGS_TRACING_OTLP_ENDPOINT": endpoint})
