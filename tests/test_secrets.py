"""Personal-data keys come from configuration, or from a development file made once."""

from __future__ import annotations

from pathlib import Path

from events.personal import MasterKeys
from services.config import Settings
from services.secrets import resolve_secrets


def test_configured_keys_win(tmp_path: Path) -> None:
    master = MasterKeys.generate("prod1")
    settings = Settings.from_env(
        {"JAGA_DATA_DIR": str(tmp_path), "JAGA_MASTER_KEYS": master, "JAGA_LOOKUP_KEY": "a" * 44}
    )
    secrets = resolve_secrets(settings)
    assert secrets.master_keys == master
    assert secrets.master().active_id == "prod1"
    assert not (tmp_path / "secrets.json").exists()


def test_development_keys_are_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings.from_env({"JAGA_DATA_DIR": str(tmp_path)})

    first = resolve_secrets(settings)
    second = resolve_secrets(settings)

    assert first == second
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert first.lookup().nik("1708035508900001") == second.lookup().nik("1708035508900001")
