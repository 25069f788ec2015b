"""Where reminders go: one interface (`Channel`), three ways out.

- `FileSink` (the development default): one JSON line per message in
  `<JAGA_DATA_DIR>/outbox/reminders.jsonl`, so a developer sees exactly what would be sent.
- `HttpGateway`: an SMS/WhatsApp gateway over HTTP. It takes a JSON POST
  `{"to": ..., "message": ..., "reference": ...}` with the header `Idempotency-Key`; any 2xx
  answer is accepted (its JSON `id`, when there is one, is the provider reference). Timeouts,
  connection errors, 408, 429 and 5xx answers are tried again with exponential backoff; other
  answers mean the request itself is wrong and are not.
- `SmtpChannel`: e-mail through an SMTP server (smtplib, in a thread).

Every send carries an idempotency key (the reminder id), so a provider that honours it never
delivers one reminder twice even when Jaga crashes between sending and recording the send; the
file sink honours it itself, and an e-mail carries it as its Message-ID. A failure is raised as
`DeliveryFailed`, whose text never includes the recipient or the provider's answer (which may
echo personal data): it is recorded in the log as it is.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx

from services.config import Settings, SettingsError

SUBJECT = "Pengingat iuran BPJS Ketenagakerjaan"
"""Subject line of reminder e-mails."""


class DeliveryFailed(Exception):
    """A channel could not deliver a message (after any retries of its own)."""


class Channel(Protocol):
    name: str

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        """Deliver `message` to `recipient` (a phone number or an e-mail address) and return
        the provider's reference; raise DeliveryFailed when it cannot."""
        ...


class FileSink:
    """Appends each message as a JSON line; a key already in the file is not written again.

    The file is locked (flock) while it is checked and appended to, so processes sharing it
    never write one key twice; each sink reads what others appended since it last looked.
    """

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._references: dict[str, str] = {}  # idempotency key -> reference, as read
        self._offset = 0
        self._lines = 0

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        return await asyncio.to_thread(self._write, recipient, message, idempotency_key)

    def _write(self, recipient: str, message: str, key: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file is closed
            file.seek(self._offset)
            for line in file:  # what was appended since this sink last looked
                self._lines += 1
                written = json.loads(line)
                self._references.setdefault(written["key"], written["reference"])
            if key in self._references:
                return self._references[key]
            self._lines += 1
            reference = self._references[key] = self._reference()
            entry = {
                "key": key,
                "reference": reference,
                "to": recipient,
                "message": message,
                "written_at": datetime.now(UTC).isoformat(),
            }
            file.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
            file.flush()
            self._offset = file.tell()
        return reference

    def _reference(self) -> str:
        return f"{self.path.name}:{self._lines}"


class HttpGateway:
    """An SMS/WhatsApp gateway over HTTP (see the module docstring for what it is sent)."""

    name = "http"

    def __init__(
        self, url: str, *, tries: int = 4, backoff_seconds: float = 0.5, timeout: float = 10.0
    ) -> None:
        if tries < 1:
            raise ValueError("a gateway needs at least one try")
        self.url = url
        self.tries = tries
        self.backoff_seconds = backoff_seconds
        self._client = httpx.AsyncClient(timeout=timeout)

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        body = {"to": recipient, "message": message, "reference": idempotency_key}
        headers = {"Idempotency-Key": idempotency_key}
        error = ""
        for attempt in range(1, self.tries + 1):
            try:
                response = await self._client.post(self.url, json=body, headers=headers)
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                error = type(exc).__name__
            else:
                if response.is_success:
                    return _provider_id(response) or idempotency_key
                error = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code not in (408, 429):
                    raise DeliveryFailed(f"the SMS gateway refused the message: {error}")
            if attempt < self.tries:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise DeliveryFailed(f"the SMS gateway failed {self.tries} times, the last with {error}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _provider_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return str(found) if isinstance(found, str | int) and found != "" else None


class SmtpChannel:
    """E-mail through an SMTP server; the reminder id becomes the Message-ID."""

    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        return await asyncio.to_thread(self._send, recipient, message, idempotency_key)

    def _send(self, recipient: str, message: str, key: str) -> str:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = recipient
        email["Subject"] = SUBJECT
        email["Message-ID"] = f"<{key}@{self.sender.rpartition('@')[2] or 'jaga'}>"
        email.set_content(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"SMTP {self.host}:{self.port} did not take the message: {type(exc).__name__}"
            ) from exc
        return email["Message-ID"]


@dataclass(frozen=True)
class Routes:
    """Which channel reminders to workers (by phone) and to sponsors (by e-mail) take."""

    worker: Channel
    sponsor: Channel

    @classmethod
    def only(cls, channel: Channel) -> Routes:
        return cls(worker=channel, sponsor=channel)


@asynccontextmanager
async def configured_routes(settings: Settings) -> AsyncIterator[Routes]:
    """The channels the settings name, closed again afterwards."""
    sink = FileSink(settings.data_dir / "outbox" / "reminders.jsonl")
    worker: Channel = sink
    gateway: HttpGateway | None = None
    if settings.reminder_channel == "http":
        if not settings.sms_gateway_url:
            raise SettingsError("JAGA_REMINDER_CHANNEL=http needs JAGA_SMS_GATEWAY_URL")
        worker = gateway = HttpGateway(settings.sms_gateway_url)
    sponsor: Channel = sink
    if settings.sponsor_reminder_channel == "smtp":
        if not (settings.smtp_host and settings.smtp_from):
            raise SettingsError(
                "JAGA_SPONSOR_REMINDER_CHANNEL=smtp needs JAGA_SMTP_HOST and JAGA_SMTP_FROM"
            )
        sponsor = SmtpChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from)
    try:
        yield Routes(worker=worker, sponsor=sponsor)
    finally:
        if gateway is not None:
            await gateway.aclose()
