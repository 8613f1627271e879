from __future__ import annotations

from pathlib import Path

import pytest

from tidings import config


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


def test_bad_number_in_environment() -> None:
    with pytest.raises(config.ConfigError, match="shutdown_grace_s"):
        config.load(env={"TIDINGS_SHUTDOWN_GRACE_S": "soon"})
