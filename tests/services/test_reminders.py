"""The reminder job against real servers: the outbox sends each reminder once (two runs at once,
a run that crashed half-way), the channels against real local HTTP and SMTP servers, the file
sink, and the rm.reminders read model."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from events.catalog import ReminderFailed, ReminderScheduled, ReminderSent, registry
from events.personal import MasterKeys
from events.store import NO_STREAM, Context, EventStore
from projections.runner import ProjectionRunner
from services.bootstrap import migrate_database, projection_runner
from services.channels import DeliveryFailed, FileSink, HttpGateway, SmtpChannel
from services.commands import (
    ChangeFunder,
    LeaveCohort,
    OpenCohort,
    PayContributions,
    RegisterWorker,
)
from services.config import Settings, SettingsError
from services.contributions import Cashier
from services.domain.calendar import Month
from services.domain.policy import DEFAULT_POLICY
from services.domain.reminders import Kind, reminder_id, sponsor_recipient
from services.personal_data import erase_subject
from services.registration import Registrar
from services.reminders import reminder_stream, send_due_reminders
from tests.services.conftest import cohort_command, make_registrar
from tests.services.test_registration import registrar_on
from tests.services.workers import worker

TODAY = date(2026, 1, 20)  # January is past its due date (Thursday the 15th) and unpaid
SPONSOR_EMAIL = "keuangan@kepahiangkab.go.id"
ADMIN = Context(actor="admin:dinsos")


# -- channels ----------------------------------------------------------------------------------


@dataclass
class Gateway:
    """A local SMS gateway answering with the scripted statuses, then 200."""

    statuses: list[int]
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append((dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            answer = json.dumps({"id": f"gw-{len(state.requests)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def test_the_gateway_retries_server_errors_with_backoff(gateway: Gateway) -> None:
    gateway.statuses = [500, 503]
    channel = HttpGateway(gateway.url, tries=4, backoff_seconds=0.01)
    try:
        reference = await channel.send("085200000001", "Iuran Rp16.800", "r-1")
    finally:
        await channel.aclose()
    assert reference == "gw-3"  # the third request got through
    assert len(gateway.requests) == 3
    for headers, body in gateway.requests:
        assert headers["Idempotency-Key"] == "r-1"
        assert body == {"to": "085200000001", "message": "Iuran Rp16.800", "reference": "r-1"}


async def test_the_gateway_gives_up_after_its_last_try_and_at_once_on_a_refusal(
    gateway: Gateway,
) -> None:
    channel = HttpGateway(gateway.url, tries=3, backoff_seconds=0.01)
    try:
        gateway.statuses = [500, 500, 500]
        with pytest.raises(DeliveryFailed, match="failed 3 times, the last with HTTP 500"):
            await channel.send("085200000001", "pesan", "r-2")
        assert len(gateway.requests) == 3
        gateway.statuses = [400]
        with pytest.raises(DeliveryFailed, match="refused the message: HTTP 400"):
            await channel.send("085200000001", "pesan", "r-3")
        assert len(gateway.requests) == 4  # a refusal is not tried again
    finally:
        await channel.aclose()
    nobody = HttpGateway("http://127.0.0.1:9/send", tries=2, backoff_seconds=0.01)
    try:
        with pytest.raises(DeliveryFailed, match="ConnectError"):
            await nobody.send("085200000001", "pesan", "r-4")
    finally:
        await nobody.aclose()


class Inbox:
    """aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: the controller checks it can connect to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_smtp_sends_the_reminder_as_an_email(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    channel = SmtpChannel("127.0.0.1", port, "jaga@kepahiangkab.go.id")
    text = "Yth. APBD Kabupaten Kepahiang: iuran sebesar Rp99.993.600 jatuh tempo 15 Januari 2026."
    reference = await channel.send(SPONSOR_EMAIL, text, "r-5")
    assert reference == "<r-5@kepahiangkab.go.id>"
    [(sender, recipients, email)] = inbox.messages
    assert (sender, recipients) == ("jaga@kepahiangkab.go.id", [SPONSOR_EMAIL])
    assert email["Message-ID"] == reference
    assert email["Subject"] == "Pengingat iuran BPJS Ketenagakerjaan"
    assert email.get_payload(decode=True).decode().strip() == text
    down = SmtpChannel("127.0.0.1", 9, "jaga@kepahiangkab.go.id", timeout=2)
    with pytest.raises(DeliveryFailed, match="did not take the message"):
        await down.send(SPONSOR_EMAIL, text, "r-6")


async def test_the_file_sink_writes_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox" / "reminders.jsonl"
    sink, other = FileSink(path), FileSink(path)  # two processes sharing the file
    text = "Iuran bulan Desember 2026 sebesar Rp16.800 jatuh tempo 15 Desember 2026."
    first = await sink.send("085200000001", text, "r-7")
    assert await other.send("085200000001", text, "r-7") == first
    results = await asyncio.gather(*(s.send("085200000002", text, "r-8") for s in (sink, other)))
    assert results[0] == results[1] != first
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(e["key"], e["to"], e["message"]) for e in lines] == [
        ("r-7", "085200000001", text),
        ("r-8", "085200000002", text),
    ]
    assert "Rp16.800" in path.read_text(encoding="utf-8")


def test_reminder_settings_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.reminder_channel, defaults.sponsor_reminder_channel) == ("file", "file")
    assert defaults.sponsor_email is None
    live = Settings.from_env({
        "JAGA_REMINDER_CHANNEL": "http", "JAGA_SMS_GATEWAY_URL": "https://sms.example/kirim",
        "JAGA_SPONSOR_REMINDER_CHANNEL": "smtp", "JAGA_SMTP_HOST": "mail.example",
        "JAGA_SMTP_PORT": "587", "JAGA_SMTP_FROM": "jaga@example.org",
        "JAGA_SPONSOR_EMAIL": SPONSOR_EMAIL,
    })  # fmt: skip
    assert (live.sms_gateway_url, live.smtp_host, live.smtp_port, live.sponsor_email) == (
        "https://sms.example/kirim", "mail.example", 587, SPONSOR_EMAIL
    )  # fmt: skip
    for env, match in [
        ({"JAGA_REMINDER_CHANNEL": "sms"}, "must be file or http"),
        ({"JAGA_REMINDER_CHANNEL": "http"}, "needs JAGA_SMS_GATEWAY_URL"),
        ({"JAGA_SPONSOR_REMINDER_CHANNEL": "smtp"}, "needs JAGA_SMTP_HOST and JAGA_SMTP_FROM"),
        ({"JAGA_SMTP_PORT": "25x"}, "JAGA_SMTP_PORT must be a port number"),
    ]:
        with pytest.raises(SettingsError, match=match):
            Settings.from_env(env)


# -- the job, on a real cohort -----------------------------------------------------------------


@dataclass
class World:
    """A cohort of three, its first block (Oct..Dec 2025) paid by the sponsor, the first
    worker paying for themself from January 2026; nobody has paid January."""

    store: EventStore
    other: EventStore  # the same database through another pool: a second worker process
    runner: ProjectionRunner
    settings: Settings
    registrar: Registrar
    cohort_id: str
    self_paying: str
    workers: list[RegisterWorker]

    @property
    def phone(self) -> str:
        return self.workers[0].phone

    async def project(self) -> None:
        """Bring the read models up to every event appended so far. Readers stay below the
        oldest open transaction of the whole server (gap safety): this may wait for one."""
        written = await self.store.pool.fetchval("SELECT max(position) FROM events")
        for _ in range(600):
            await self.runner.run_all()
            status = await self.runner.status()
            assert not [s for s in status if s.state == "stopped"], status
            if all(s.position >= written for s in status):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"read models did not reach position {written}: {status}")

    async def events(self, reminder_id: str) -> list[str]:
        return [r.type for r in await self.store.read_stream(reminder_stream(reminder_id))]

    async def rows(self) -> dict[str, dict[str, Any]]:
        await self.project()
        rows = await self.store.pool.fetch("SELECT * FROM rm.reminders")
        return {r["reminder_id"]: dict(r) for r in rows}


@pytest.fixture
async def world(scratch_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    await migrate_database(scratch_database_url)
    master = MasterKeys.parse(MasterKeys.generate("t1"))
    store = await EventStore.connect(scratch_database_url, registry, master, max_size=10)
    other = await EventStore.connect(scratch_database_url, registry, master, max_size=10)
    registrar = make_registrar(store)
    command = msgspec.structs.replace(cohort_command(quota=3), coverage_end=date(2026, 9, 30))
    await registrar.administer(command, ADMIN)
    await registrar.administer(OpenCohort(command.cohort_id), ADMIN)
    workers = [worker(command.cohort_id, n) for n in range(3)]
    registered = [await registrar.register(w, ADMIN) for w in workers]
    await Cashier(store, registrar, DEFAULT_POLICY).pay(
        PayContributions(
            reference="SP2D-0001/2025", payer="APBD Kabupaten Kepahiang", payer_kind="sponsor",
            channel="bank_transfer", amount=3 * 3 * 16_800,
            paid_at=datetime(2025, 10, 10, 2, 0, tzinfo=UTC),
            months=["2025-10", "2025-11", "2025-12"], cohort_id=command.cohort_id,
        ),
        ADMIN,
    )  # fmt: skip
    self_paying = registered[0].participant_id
    await registrar.change_funder(ChangeFunder(self_paying, "mandiri", "2026-01"), ADMIN)
    runner = projection_runner(store)
    await runner.prepare()
    found = World(
        store=store, other=other, runner=runner,
        settings=Settings(data_dir=tmp_path, sponsor_email=SPONSOR_EMAIL),
        registrar=registrar, cohort_id=command.cohort_id, self_paying=self_paying,
        workers=workers,
    )  # fmt: skip
    await found.project()
    yield found
    await other.close()
    await store.close()


class Recording:
    """A channel that keeps what it sends; it may crash on one recipient's first message."""

    name = "test"

    def __init__(self, crash_for: str | None = None, hang: bool = False) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (idempotency key, recipient, message)
        self.crash_for = crash_for
        self.hang = hang
        self.started = asyncio.Event()

    async def send(self, recipient: str, message: str, idempotency_key: str) -> str:
        await asyncio.sleep(0.02)  # a provider's round trip: room for a concurrent run
        if recipient == self.crash_for:
            self.crash_for = None
            self.started.set()
            if self.hang:
                await asyncio.Event().wait()  # until the run is cancelled
            raise RuntimeError("the worker process died")
        self.sent.append((idempotency_key, recipient, message))
        return f"test-{len(self.sent)}"


async def test_two_runs_at_once_send_each_reminder_once(world: World) -> None:
    channel = Recording()
    runs = await asyncio.gather(
        send_due_reminders(world.store, world.settings, TODAY, channel),
        send_due_reminders(world.other, world.settings, TODAY, channel),
    )
    keys = [key for key, _, _ in channel.sent]
    assert len(keys) == len(set(keys)) == 2, channel.sent
    assert sum(r.scheduled for r in runs) == 2 and sum(r.sent for r in runs) == 2
    assert all(r.due == 2 and r.failed == 0 and r.unreachable == 0 for r in runs)
    sent = {recipient: message for _, recipient, message in channel.sent}
    assert set(sent) == {world.phone, SPONSOR_EMAIL}
    assert sent[world.phone].startswith(
        "Iuran BPJS Ketenagakerjaan Anda tertunggak 1 bulan (Januari 2026), sebesar Rp16.800. "
        "Bayar paling lambat 15 April 2026"
    )
    assert "iuran 2 peserta" in sent[SPONSOR_EMAIL] and "Rp33.600" in sent[SPONSOR_EMAIL]
    for message in sent.values():  # no personal data: no name, NIK or phone
        for person in world.workers:
            assert all(value not in message for value in (person.name, person.nik, person.phone))
    for key in keys:
        assert await world.events(key) == ["ReminderScheduled", "ReminderSent"]
    [scheduled] = [r.data for r in await world.store.read_stream(reminder_stream(keys[0]))][:1]
    assert isinstance(scheduled, ReminderScheduled)
    raw = await world.store.pool.fetchval(
        "SELECT payload::text FROM events WHERE stream_id = $1", reminder_stream(keys[0])
    )
    assert scheduled.recipient not in raw  # the address is sealed in the log

    rows = await world.rows()
    assert {k: (r["state"], r["attempts"]) for k, r in rows.items()} == {
        k: ("sent", 1) for k in keys
    }
    audit = await world.store.pool.fetch(
        """SELECT event_type FROM rm.timeline WHERE subject_kind = 'participant'
           AND subject_id = $1 AND event_type LIKE 'Reminder%' ORDER BY position""",
        world.self_paying,
    )
    assert [r[0] for r in audit] == ["ReminderScheduled", "ReminderSent"]  # audit shows it
    again = await send_due_reminders(world.store, world.settings, TODAY, channel)
    assert (again.scheduled, again.sent, again.skipped) == (0, 0, 2)
    assert len(channel.sent) == 2


@pytest.mark.parametrize("how", ["raises", "is cancelled"])
async def test_a_run_that_dies_half_way_is_finished_by_the_next_once(
    world: World, how: str
) -> None:
    crashing = Recording(crash_for=world.phone, hang=how == "is cancelled")
    if how == "raises":
        with pytest.raises(RuntimeError, match="died"):
            await send_due_reminders(world.store, world.settings, TODAY, crashing)
    else:
        run = asyncio.create_task(send_due_reminders(world.store, world.settings, TODAY, crashing))
        await crashing.started.wait()
        sent = "SELECT count(*) FROM events WHERE event_type = 'ReminderSent'"
        for _ in range(500):  # until the sponsor's is recorded
            if await world.store.pool.fetchval(sent):
                break
            await asyncio.sleep(0.01)
        run.cancel()  # while the worker's is with the provider
        with pytest.raises(asyncio.CancelledError):
            await run
    [(sponsors, _, _)] = crashing.sent  # the other reminder still went out
    rows = await world.rows()
    [(lost, row)] = [(k, r) for k, r in rows.items() if r["participant_id"] == world.self_paying]
    assert (row["state"], row["kind"], row["period"]) == ("scheduled", "arrears_1", "2026-01")
    assert await world.events(lost) == ["ReminderScheduled"]

    channel = Recording()
    run = await send_due_reminders(world.other, world.settings, TODAY, channel)
    assert [key for key, _, _ in channel.sent] == [lost]
    assert (run.scheduled, run.sent, run.skipped) == (0, 1, 1)
    assert await world.events(lost) == ["ReminderScheduled", "ReminderSent"]
    assert await world.events(sponsors) == ["ReminderScheduled", "ReminderSent"]


async def test_a_reminder_no_longer_due_is_given_up_not_sent(world: World) -> None:
    crashing = Recording(crash_for=world.phone)
    with pytest.raises(RuntimeError):
        await send_due_reminders(world.store, world.settings, TODAY, crashing)
    await Cashier(world.store, world.registrar, DEFAULT_POLICY).pay(
        PayContributions(
            reference="TELLER-77", payer="peserta", payer_kind="participant", channel="teller",
            amount=16_800, paid_at=datetime(2026, 1, 19, 3, 0, tzinfo=UTC), months=["2026-01"],
            participant_ids=[world.self_paying],
        ),
        ADMIN,
    )  # fmt: skip
    await world.project()
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, TODAY, channel)
    assert channel.sent == [] and (run.due, run.failed) == (1, 1)
    [row] = [r for r in (await world.rows()).values() if r["participant_id"]]
    assert (row["state"], row["last_error"]) == ("failed", f"not sent: no longer due on {TODAY}")


async def leave(world: World, participant_id: str, reason: str) -> None:
    """The participant left on 10 January 2026 (recorded that day), before today's run."""
    command = LeaveCohort(participant_id=participant_id, reason=reason, left_on=date(2026, 1, 10))
    await registrar_on(world.store, date(2026, 1, 10)).leave(command, ADMIN)


async def test_who_has_left_is_not_reminded_nor_counted_in_the_sponsors_arrears(
    world: World,
) -> None:
    # Given the self-paying worker withdrew and one of the sponsored two moved away,
    sponsored = await world.store.pool.fetch(
        "SELECT participant_id FROM rm.participants WHERE cohort_id = $1 AND participant_id <> $2"
        " ORDER BY participant_id",
        world.cohort_id,
        world.self_paying,
    )
    await leave(world, world.self_paying, "withdrawal")
    await leave(world, sponsored[0]["participant_id"], "moved_away")
    await world.project()
    # when today's reminders run,
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, TODAY, channel)
    # then only the sponsor hears, of the January arrears of the one member still in the cohort.
    assert (run.due, run.scheduled, run.sent) == (1, 1, 1)
    [(_, recipient, message)] = channel.sent
    assert recipient == SPONSOR_EMAIL
    assert "iuran 1 peserta" in message and "sebesar Rp16.800" in message
    rows = await world.rows()
    assert [r for r in rows.values() if r["participant_id"] is not None] == []


async def test_a_later_change_of_funder_leaves_earlier_months_to_whoever_funded_them(
    world: World,
) -> None:
    # Given the self-paying worker (mandiri from January) is funded by the regency again from
    # February: a second change of funder, January still theirs and unpaid,
    await world.registrar.change_funder(
        ChangeFunder(world.self_paying, "apbd_kabupaten", "2026-02"), ADMIN
    )
    await world.project()
    # when today's reminders run,
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, TODAY, channel)
    # then the worker hears of their January, and the sponsor of its two members' only.
    assert (run.due, run.sent) == (2, 2)
    sent = {recipient: message for _, recipient, message in channel.sent}
    assert set(sent) == {world.phone, SPONSOR_EMAIL}
    assert sent[world.phone].startswith("Iuran BPJS Ketenagakerjaan Anda tertunggak 1 bulan")
    assert "iuran 2 peserta" in sent[SPONSOR_EMAIL] and "Rp33.600" in sent[SPONSOR_EMAIL]


MARCH_25 = date(2026, 3, 25)
"""January, February and March are past their due dates (15 January, 16 February, 16 March)
and nobody has paid since December; the memberships lapse on 16 April if nothing is paid."""


async def funded_by_the_regency_again_from_march(world: World) -> None:
    """The self-paying worker (mandiri from January) is funded by the regency again from March:
    January and February are theirs, March the sponsor's."""
    await world.registrar.change_funder(
        ChangeFunder(world.self_paying, "apbd_kabupaten", "2026-03"), ADMIN
    )
    await world.project()


async def test_arrears_with_two_payers_go_to_each_payer_once_with_its_own_months(
    world: World,
) -> None:
    await funded_by_the_regency_again_from_march(world)
    # When the reminders run on 25 March,
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, MARCH_25, channel)
    # then the worker hears of January and February only, at the second level,
    assert (run.due, run.scheduled, run.sent, run.failed) == (3, 3, 3, 0)
    [to_worker] = [message for _, to, message in channel.sent if to == world.phone]
    assert to_worker.startswith(
        "Iuran BPJS Ketenagakerjaan Anda tertunggak 2 bulan (Januari sampai Februari 2026), "
        "sebesar Rp33.600. Bayar paling lambat 15 April 2026"
    )
    # and the sponsor of its months only: the worker's March at the first level, apart from
    # the third level of its two members who owe January..March.
    to_sponsor = sorted(message for _, to, message in channel.sent if to == SPONSOR_EMAIL)
    assert len(to_sponsor) == 2
    assert (
        "iuran 1 peserta" in to_sponsor[0]
        and "tertunggak 1 bulan, sebesar Rp16.800" in (to_sponsor[0])
    )
    assert (
        "iuran 2 peserta" in to_sponsor[1]
        and "tertunggak 3 bulan, sebesar Rp100.800" in (to_sponsor[1])
    )
    rows = await world.rows()
    assert sorted((r["kind"], r["period"], r["participant_id"] or "") for r in rows.values()) == [
        ("arrears_1", "2026-03", ""),
        ("arrears_2", "2026-02", world.self_paying),
        ("arrears_3", "2026-03", ""),
    ]
    # Running again, the same day or the next, sends nothing more: each went out once.
    for day in (MARCH_25, date(2026, 3, 26)):
        again = await send_due_reminders(world.store, world.settings, day, channel)
        assert (again.due, again.scheduled, again.sent, again.skipped) == (3, 0, 0, 3)
    assert len(channel.sent) == 3
    assert {r["state"] for r in (await world.rows()).values()} == {"sent"}


async def test_a_notice_sent_before_notices_were_per_payer_is_not_sent_again(
    world: World,
) -> None:
    """Given the sponsor's third-level notice for March was sent by a run before notices were
    per payer (the rule then told the sponsor of all three members' three months in it): its
    id is (the sponsor, March, arrears_3), the same as the per-payer notice for the two
    members the sponsor funds throughout, so the outbox finds it and does not send it again.
    The worker's own months and the sponsor's March for the worker were never told apart
    before: those two notices are new, and go out once."""
    await funded_by_the_regency_again_from_march(world)
    old_id = reminder_id(sponsor_recipient(world.cohort_id), Month(2026, 3), Kind.ARREARS_3)
    context = Context(actor="system:reminders")
    before = ReminderScheduled(
        reminder_id=old_id, kind="arrears_3", period="2026-03", participant_id=None,
        cohort_id=world.cohort_id, recipient_id=sponsor_recipient(world.cohort_id),
        channel="test", recipient=SPONSOR_EMAIL,
        message="Yth. APBD Kabupaten Kepahiang: iuran 3 peserta ... tertunggak 3 bulan, sebesar "
        "Rp134.400. ...", amount=134_400, due_on=date(2026, 4, 15),
        policy_version=DEFAULT_POLICY.version,
    )  # fmt: skip
    sent = ReminderSent(
        reminder_id=old_id, participant_id=None, cohort_id=world.cohort_id, channel="test",
        provider_reference="test-0", attempt=1,
    )  # fmt: skip
    await world.store.append(reminder_stream(old_id), [before, sent], NO_STREAM, context=context)
    await world.project()

    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, MARCH_25, channel)
    assert (run.due, run.scheduled, run.sent, run.skipped) == (3, 2, 2, 1)
    assert old_id not in [key for key, _, _ in channel.sent]
    assert await world.events(old_id) == ["ReminderScheduled", "ReminderSent"]
    assert sorted(to for _, to, _ in channel.sent) == sorted([SPONSOR_EMAIL, world.phone])


async def test_a_reminder_scheduled_before_the_worker_left_is_given_up(world: World) -> None:
    # Given the self-paying worker's arrears notice was scheduled but not yet sent,
    with pytest.raises(RuntimeError):
        await send_due_reminders(world.store, world.settings, TODAY, Recording(world.phone))
    # when they withdraw before the next run,
    await leave(world, world.self_paying, "withdrawal")
    await world.project()
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, TODAY, channel)
    # then it is given up, not sent: nothing is owed for a membership that has ended.
    assert channel.sent == [] and (run.due, run.failed) == (1, 1)  # the sponsor's: sent before
    [row] = [r for r in (await world.rows()).values() if r["participant_id"]]
    assert (row["state"], row["last_error"]) == ("failed", f"not sent: no longer due on {TODAY}")


async def test_a_reminder_to_someone_erased_meanwhile_is_given_up(world: World) -> None:
    with pytest.raises(RuntimeError):
        await send_due_reminders(world.store, world.settings, TODAY, Recording(world.phone))
    await erase_subject(world.store, world.self_paying, "permintaan peserta", ADMIN)
    await world.project()
    channel = Recording()
    run = await send_due_reminders(world.store, world.settings, TODAY, channel)
    assert channel.sent == [] and (run.unreachable, run.failed) == (1, 1)
    [row] = [r for r in (await world.rows()).values() if r["participant_id"]]
    assert (row["state"], row["last_error"]) == (
        "failed", "not sent: the recipient's personal data was erased"
    )  # fmt: skip


async def test_gateway_failures_are_recorded_and_tried_again_by_later_runs(
    world: World, gateway: Gateway
) -> None:
    gateway.statuses = [500] * 6
    failing = HttpGateway(gateway.url, tries=3, backoff_seconds=0.01)
    try:
        run = await send_due_reminders(world.store, world.settings, TODAY, failing)
    finally:
        await failing.aclose()
    assert (run.sent, run.failed) == (0, 2)
    assert len(gateway.requests) == 6  # three tries each
    for key in await world.rows():
        [*_, failed] = [r.data for r in await world.store.read_stream(reminder_stream(key))]
        assert isinstance(failed, ReminderFailed)
        assert (failed.attempt, failed.will_retry) == (1, True)
        assert failed.error == "the SMS gateway failed 3 times, the last with HTTP 500"
    rows = await world.rows()
    assert {(r["state"], r["attempts"]) for r in rows.values()} == {("scheduled", 1)}

    # The next run, through the configured channels: the gateway for the worker (now up),
    # the file sink for the sponsor.
    configured = msgspec.structs.replace(
        world.settings, reminder_channel="http", sms_gateway_url=gateway.url
    )
    run = await send_due_reminders(world.store, configured, TODAY)
    assert (run.scheduled, run.sent, run.failed) == (0, 2, 0)
    headers, body = gateway.requests[-1]
    assert body["to"] == world.phone and "Rp16.800" in body["message"]
    outbox = world.settings.data_dir / "outbox" / "reminders.jsonl"
    [line] = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == SPONSOR_EMAIL and "sebesar Rp33.600" in line["message"]
    assert "tertunggak 1 bulan" in line["message"]
    rows = await world.rows()
    sent = {r["participant_id"] is None: r for r in rows.values()}
    assert (sent[False]["state"], sent[False]["channel"], sent[False]["attempts"]) == (
        "sent", "http", 2
    )  # fmt: skip
    assert (sent[True]["state"], sent[True]["channel"]) == ("sent", "file")
    stream = reminder_stream(headers["Idempotency-Key"])
    [*_, last] = [r.data for r in await world.store.read_stream(stream)]
    assert isinstance(last, ReminderSent) and last.provider_reference.startswith("gw-")

    await world.runner.rebuild("reminders")  # the read model is what the events say
    assert await world.rows() == rows
