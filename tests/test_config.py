"""Settings.from_env: defaults, overrides, and refusing nonsense early."""

from pathlib import Path

import pytest

from services.config import Settings, SettingsError


def test_defaults_start_the_embedded_servers_on_loopback() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.data_dir == Path(".jaga")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.log_level == "INFO"


def test_environment_overrides_every_field() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@db:5432/jaga",
            "REDIS_URL": "redis://cache:6379/0",
            "JAGA_DATA_DIR": "/var/lib/jaga",
            "JAGA_HOST": "0.0.0.0",
            "JAGA_PORT": "9000",
            "JAGA_LOG_LEVEL": "debug",
        }
    )
    assert settings.database_url == "postgresql://u@db:5432/jaga"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.data_dir == Path("/var/lib/jaga")
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "DEBUG")


def test_empty_variables_count_as_unset() -> None:
    settings = Settings.from_env({"DATABASE_URL": "", "REDIS_URL": "  ", "JAGA_PORT": ""})
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.port == 8000


@pytest.mark.parametrize(
    "env",
    [{"JAGA_PORT": "eighty"}, {"JAGA_PORT": "70000"}, {"JAGA_LOG_LEVEL": "LOUD"}],
)
def test_invalid_values_are_rejected(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_settings_are_immutable() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
