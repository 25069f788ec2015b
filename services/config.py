"""Runtime settings, read once from the environment.

Twelve-factor style: everything that differs between a laptop, CI and a
deployment comes from environment variables, so the same `jaga` binary runs
everywhere without config files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(ValueError):
    """An environment variable holds a value Jaga cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Effective configuration of one Jaga process.

    Frozen so that it can be shared between the CLI, the app factory and
    background workers without anyone mutating it behind the others' backs.
    """

    database_url: str | None = None
    """PostgreSQL DSN. Unset means: start the embedded PostgreSQL in data_dir."""

    redis_url: str | None = None
    """Redis DSN (`redis://...`). Unset means: start the embedded Valkey in data_dir."""

    data_dir: Path = Path(".jaga")
    """Where the embedded servers keep their data, so it survives restarts."""

    host: str = "127.0.0.1"
    """HTTP bind address; loopback by default so a laptop never exposes the API."""

    port: int = 8000
    """HTTP port."""

    log_level: str = "INFO"
    """Python logging level name for Jaga's own loggers."""

    master_keys: str | None = None
    """`id=base64key,...` (first active) wrapping personal-data keys. Unset: a development
    key kept in data_dir/secrets.json. Never stored in the database."""

    lookup_key: str | None = None
    """Base64 key of the NIK lookup hash (HMAC). Unset: kept in data_dir/secrets.json."""

    reminder_channel: str = "file"
    """How premium reminders to workers (by phone) go: "file" appends them to
    data_dir/outbox/reminders.jsonl (development), "http" posts them to the SMS/WhatsApp
    gateway at sms_gateway_url."""

    sponsor_reminder_channel: str = "file"
    """How reminders to sponsors (by e-mail to sponsor_email) go: "file" as above, "smtp"
    through smtp_host."""

    sms_gateway_url: str | None = None
    """URL the SMS/WhatsApp gateway takes reminders at (JSON POST, see services/channels.py)."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    """Sender address of reminder e-mails."""

    sponsor_email: str | None = None
    """Where sponsor reminders go (e.g. the regency's finance office). Unset: none are sent."""

    redis_namespace: str = "jaga"
    """Prefix of every Redis key of the workers (queues, wake-up marks), so that several Jaga
    installations or test runs can share one Redis."""

    wake_interval: float = 5.0
    """Seconds between the scheduler's periodic wake-ups of the projection workers: the most
    a lost notification (Redis or the listener down) can delay a read model."""

    token_lifetime_hours: float = 12.0
    """How long an API token lasts after login: a working day. Logout, a change of the
    user's roles or disabling them revokes it sooner."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: `os.environ`).

        Empty variables count as unset, so `DATABASE_URL= jaga up` falls back
        to the embedded default instead of failing on an empty DSN.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = get("JAGA_PORT") or "8000"
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"JAGA_PORT must be an integer, got {port_text!r}") from None
        if not 0 <= port <= 65535:
            raise SettingsError(f"JAGA_PORT must be between 0 and 65535, got {port}")

        log_level = (get("JAGA_LOG_LEVEL") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise SettingsError(f"JAGA_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")

        smtp_port_text = get("JAGA_SMTP_PORT") or "25"
        if not smtp_port_text.isdigit() or not 0 < int(smtp_port_text) <= 65535:
            raise SettingsError(f"JAGA_SMTP_PORT must be a port number, got {smtp_port_text!r}")
        reminder_channel = get("JAGA_REMINDER_CHANNEL") or "file"
        if reminder_channel not in ("file", "http"):
            raise SettingsError("JAGA_REMINDER_CHANNEL must be file or http")
        if reminder_channel == "http" and not get("JAGA_SMS_GATEWAY_URL"):
            raise SettingsError("JAGA_REMINDER_CHANNEL=http needs JAGA_SMS_GATEWAY_URL")
        sponsor_channel = get("JAGA_SPONSOR_REMINDER_CHANNEL") or "file"
        if sponsor_channel not in ("file", "smtp"):
            raise SettingsError("JAGA_SPONSOR_REMINDER_CHANNEL must be file or smtp")
        if sponsor_channel == "smtp" and not (get("JAGA_SMTP_HOST") and get("JAGA_SMTP_FROM")):
            raise SettingsError(
                "JAGA_SPONSOR_REMINDER_CHANNEL=smtp needs JAGA_SMTP_HOST and JAGA_SMTP_FROM"
            )

        wake_text = get("JAGA_WAKE_INTERVAL") or "5"
        try:
            wake_interval = float(wake_text)
        except ValueError:
            raise SettingsError(f"JAGA_WAKE_INTERVAL must be seconds, got {wake_text!r}") from None
        if not 0.05 <= wake_interval <= 3600:
            raise SettingsError(f"JAGA_WAKE_INTERVAL must be 0.05 to 3600 s, got {wake_text}")

        lifetime_text = get("JAGA_TOKEN_LIFETIME_HOURS") or "12"
        try:
            token_lifetime_hours = float(lifetime_text)
        except ValueError:
            raise SettingsError(
                f"JAGA_TOKEN_LIFETIME_HOURS must be hours, got {lifetime_text!r}"
            ) from None
        if not 0 < token_lifetime_hours <= 720:
            raise SettingsError(
                f"JAGA_TOKEN_LIFETIME_HOURS must be over 0 and at most 720, got {lifetime_text}"
            )

        return cls(
            database_url=get("DATABASE_URL"),
            redis_url=get("REDIS_URL"),
            data_dir=Path(get("JAGA_DATA_DIR") or ".jaga"),
            host=get("JAGA_HOST") or "127.0.0.1",
            port=port,
            log_level=log_level,
            master_keys=get("JAGA_MASTER_KEYS"),
            lookup_key=get("JAGA_LOOKUP_KEY"),
            token_lifetime_hours=token_lifetime_hours,
            reminder_channel=reminder_channel,
            sponsor_reminder_channel=sponsor_channel,
            sms_gateway_url=get("JAGA_SMS_GATEWAY_URL"),
            smtp_host=get("JAGA_SMTP_HOST"),
            smtp_port=int(smtp_port_text),
            smtp_from=get("JAGA_SMTP_FROM"),
            sponsor_email=get("JAGA_SPONSOR_EMAIL"),
            redis_namespace=get("JAGA_REDIS_NAMESPACE") or "jaga",
            wake_interval=wake_interval,
        )
