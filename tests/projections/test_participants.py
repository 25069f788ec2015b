"""rm.participants driven by the real write side: rows as events state them, `standing` as of
dates (arrears, membership ended, waiting list positions), the same history as the write
side's services.membership.history_of, the waiting list in the order the cohort promotes,
personal data erased in the live model and in a rebuild, and a rebuild equal to the live
model whatever the page size."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import (
    KpjRecorded,
    ParticipantWaitlisted,
    PersonalDataErased,
    PromotedFromWaitlist,
    WaitlistJoined,
)
from events.personal import ERASED
from events.store import Context, EventStore, StreamAppend
from events.types import Event, RecordedEvent
from projections.cohorts import CohortDashboard
from projections.contributions import dues, payer_of, slot_periods
from projections.participants import (
    NAME,
    ParticipantStatus,
    contributions_of,
    fold,
    funder_changes,
    participant_rows,
    standing,
    waitlist,
)
from projections.payments import Payments
from projections.runner import ProjectionRunner
from services.cohorts import next_in_line
from services.commands import (
    ChangeFunder,
    LeaveCohort,
    PayContributions,
    RecordKpj,
    Rejoin,
    ReversePayment,
    RollOverCohort,
)
from services.contributions import Cashier
from services.domain.calendar import Month
from services.domain.coverage import EndReason, MonthStatus, enrolment_periods, is_covered
from services.domain.errors import DomainError
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.regions import default_regions
from services.membership import facts_of, history_of
from services.participants import FUNDERS, ParticipantState, evolve
from services.personal_data import erase_subject
from services.registration import Registrar
from services.streams import cohort_stream, participant_stream
from tests.projections.conftest import catch_up, drop_store, new_store
from tests.services.conftest import LOOKUP, TODAY, open_cohort
from tests.services.workers import worker

_numbers = itertools.count(910_000)
OCT_10 = datetime(2025, 10, 10, 2, 0, tzinfo=UTC)  # 09:00 WIB


def projections() -> list[Any]:
    return [ParticipantStatus(), CohortDashboard(), Payments()]


async def project(store: EventStore) -> None:
    await catch_up(ProjectionRunner(store, projections()))


async def row_of(store: EventStore, participant_id: str) -> dict[str, Any]:
    (row,) = await participant_rows(store.pool, [participant_id])
    return row


async def rows_by_id(store: EventStore, participant_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {r["participant_id"]: r for r in await participant_rows(store.pool, participant_ids)}


async def events_of(store: EventStore, participant_id: str) -> list[Any]:
    return [r.data for r in await store.read_stream(participant_stream(participant_id))]


def registrar_on(store: EventStore, day: date) -> Registrar:
    """A registrar whose clock says 10:00 WIB on `day`."""
    now = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)
    return Registrar(store, LOOKUP, default_regions(), DEFAULT_POLICY, clock=lambda: now)


def sponsor_pays(cohort_id: str, months: list[str], amount: int, paid_at: datetime) -> Any:
    return PayContributions(
        reference=f"SP2D-{uuid4().hex[:10]}", payer="APBD Kabupaten Kepahiang",
        payer_kind="sponsor", channel="bank_transfer", amount=amount, paid_at=paid_at,
        months=months, cohort_id=cohort_id,
    )  # fmt: skip


def self_pays(participant_id: str, months: list[str], amount: int, paid_at: datetime) -> Any:
    return PayContributions(
        reference=f"TLR-{uuid4().hex[:10]}", payer="mandiri", payer_kind="participant",
        channel="teller", amount=amount, paid_at=paid_at, months=months,
        participant_ids=[participant_id],
    )  # fmt: skip


async def test_a_member_row_holds_what_the_events_say(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=5)
    person = worker(cohort_id, next(_numbers), priority=True)
    member = (await registrar.register(person, admin)).participant_id
    await registrar.record_kpj(RecordKpj(member, "25012345678"), admin)
    await registrar.change_funder(ChangeFunder(member, "mandiri", "2026-01"), admin)
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    await cashier.pay(sponsor_pays(cohort_id, ["2025-10", "2025-11"], 2 * 16_800, OCT_10), admin)

    await project(domain_store)

    row = await row_of(domain_store, member)
    assert (row["nik"], row["name"], row["phone"]) == (person.nik, person.name, person.phone)
    assert (row["birth_date"], row["sex"]) == (person.birth_date.isoformat(), person.sex)
    assert (row["kecamatan"], row["desa"]) == (person.kecamatan, person.desa)
    assert (row["occupation"], row["declared_income"], row["priority"]) == (
        person.occupation, 1_000_000, True,
    )  # fmt: skip
    assert row["nik_hash"] == LOOKUP.nik(person.nik)
    assert (row["cohort_id"], row["status"], row["waitlist_seq"]) == (cohort_id, "enrolled", None)
    assert row["enrolled_on"] == date(2025, 10, 6) and row["enrolments"] == [date(2025, 10, 6)]
    assert row["programmes"] == ["JKK", "JKM"]
    assert (row["kpj"], row["funder"], row["funder_from"]) == ("25012345678", "mandiri", "2026-01")
    assert row["paid_months"] == ["2025-10", "2025-11"]
    (share,) = contributions_of(row)
    assert (share.payer, share.months, share.amount, share.reversed) == (
        "APBD Kabupaten Kepahiang", ["2025-10", "2025-11"], 2 * 16_800, False,
    )  # fmt: skip
    assert share.paid_at == OCT_10
    assert (
        row["last_position"]
        == (await domain_store.read_stream(participant_stream(member)))[-1].position
    )
    assert row["registered_at"] is not None and row["updated_at"] is not None


async def test_standing_in_arrears_then_membership_ended(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """October paid on time, nothing after: one month in arrears once November's due date
    (Monday 17 November, the 15th is a Saturday) has passed, two in December, and after the
    fourth unpaid month in a row (February) the membership has ended."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, ["2025-10"], 16_800, OCT_10), admin
    )
    await project(domain_store)
    row = await row_of(domain_store, member)
    events = await events_of(domain_store, member)

    expected = {
        date(2025, 10, 20): ("active", 0, 0),
        date(2025, 11, 17): ("active", 0, 0),  # the due date itself: not late yet
        date(2025, 11, 18): ("in_arrears", 1, 16_800),
        date(2025, 12, 20): ("in_arrears", 2, 33_600),
        date(2026, 2, 16): ("in_arrears", 3, 50_400),  # February due on Monday 16th
        date(2026, 2, 17): ("membership_ended", 0, 0),
    }
    for today, (status, months, amount) in expected.items():
        found = standing(row, today)
        assert (found.status_as_of, found.arrears_months, found.arrears_amount) == (
            status, months, amount,
        ), today  # fmt: skip
        assert found.history == history_of(events, today)
    assert standing(row, date(2025, 12, 20)).lapses_on == date(2026, 2, 17)
    ended = standing(row, date(2026, 3, 1))
    assert ended.lapses_on is None and ended.periods[0].ended_on == date(2026, 2, 17)
    assert is_covered(ended.history, date(2025, 10, 25)).covered  # type: ignore[arg-type]
    assert not is_covered(ended.history, date(2025, 11, 25)).covered  # type: ignore[arg-type]


async def test_rejoining_after_the_membership_ended_starts_a_new_period(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    march = registrar_on(domain_store, date(2026, 3, 2))
    await march.rejoin(Rejoin(member), admin)
    await Cashier(domain_store, march, DEFAULT_POLICY).pay(
        self_pays(member, ["2026-03"], 16_800, datetime(2026, 3, 2, 3, tzinfo=UTC)), admin
    )
    await project(domain_store)

    row = await row_of(domain_store, member)
    assert row["enrolments"] == [date(2025, 10, 6), date(2026, 3, 2)]
    assert row["enrolled_on"] == date(2026, 3, 2) and row["status"] == "enrolled"
    found = standing(row, date(2026, 3, 20))
    assert found.status_as_of == "active"
    assert [p.number for p in found.periods] == [1, 2]
    assert found.history == history_of(await events_of(domain_store, member), date(2026, 3, 20))


async def test_the_waiting_list_moves_up_and_leavers_and_the_dead_are_shown(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """Quota 1: A enrolled; B, C (priority) and D wait: C goes first by policy. A leaves, C
    takes the slot; B and D move up. C dies: B takes it. A rejoins a full cohort and waits."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    ids = {}
    for name, priority in (("A", False), ("B", False), ("C", True), ("D", False)):
        registered = await registrar.register(
            worker(cohort_id, next(_numbers), priority=priority), admin
        )
        ids[name] = registered.participant_id
    await project(domain_store)
    assert await waitlist(domain_store.pool, cohort_id) == [
        (1, ids["C"]), (2, ids["B"]), (3, ids["D"])
    ]  # fmt: skip
    row = await row_of(domain_store, ids["D"])
    assert (row["status"], row["waitlist_position"]) == ("waitlisted", 3)
    found = standing(row, date(2025, 10, 20))
    assert (found.status_as_of, found.waitlist_position, found.history) == ("waitlisted", 3, None)

    await registrar_on(domain_store, date(2025, 10, 20)).leave(
        LeaveCohort(participant_id=ids["A"], reason="withdrawal", left_on=date(2025, 10, 20)),
        admin,
    )
    await project(domain_store)
    rows = {
        r["participant_id"]: r for r in await participant_rows(domain_store.pool, [*ids.values()])
    }
    assert [rows[ids[n]]["waitlist_position"] for n in "ABCD"] == [None, 1, None, 2]
    assert rows[ids["C"]]["status"] == "enrolled" and rows[ids["C"]]["waitlist_seq"] is None
    left = rows[ids["A"]]
    assert (left["status"], left["left_reason"], left["left_on"]) == (
        "left", "withdrawal", date(2025, 10, 20),
    )  # fmt: skip
    assert standing(left, date(2025, 12, 20)).status_as_of == "left"
    assert standing(left, date(2025, 12, 20)).arrears_months == 0  # who left owes nothing
    gone = standing(left, date(2025, 12, 20)).history
    assert gone == history_of(await events_of(domain_store, ids["A"]), date(2025, 12, 20))
    assert gone is not None and gone.arrears_months == 0  # nor does the write side say so
    assert gone.periods[0].end_reason is EndReason.WITHDRAWAL

    await registrar_on(domain_store, date(2025, 11, 3)).leave(
        LeaveCohort(participant_id=ids["C"], reason="death", left_on=date(2025, 11, 3)), admin
    )
    await registrar_on(domain_store, date(2025, 11, 10)).rejoin(Rejoin(ids["A"]), admin)
    await project(domain_store)
    rows = {
        r["participant_id"]: r for r in await participant_rows(domain_store.pool, [*ids.values()])
    }
    dead = standing(rows[ids["C"]], date(2025, 12, 20))
    assert (dead.status_as_of, rows[ids["C"]]["left_on"]) == ("deceased", date(2025, 11, 3))
    assert dead.history is not None and dead.history.cessation is not None
    assert dead.history == history_of(await events_of(domain_store, ids["C"]), date(2025, 12, 20))
    assert rows[ids["B"]]["status"] == "enrolled"
    assert await waitlist(domain_store.pool, cohort_id) == [(1, ids["D"]), (2, ids["A"])]
    assert (rows[ids["A"]]["status"], rows[ids["A"]]["left_reason"]) == ("waitlisted", "withdrawal")


async def test_who_left_and_came_back_has_both_memberships_on_both_sides(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """The regency paid October to March; the worker withdrew on 20 November and re-joined on
    2 February. Both memberships, and the refund of the months between, read the same from
    the row as from the stream."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    months = [str(Month(2025, 10) + n) for n in range(6)]
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, months, 6 * 16_800, OCT_10), admin
    )
    await registrar_on(domain_store, date(2025, 11, 20)).leave(
        LeaveCohort(participant_id=member, reason="withdrawal", left_on=date(2025, 11, 20)), admin
    )
    back = await registrar_on(domain_store, date(2026, 2, 2)).rejoin(Rejoin(member), admin)
    assert back.status == "enrolled"  # the slot was free again
    await project(domain_store)

    row = await row_of(domain_store, member)
    assert (row["status"], row["left_on"], row["leavings"]) == (
        "enrolled", None, ["2025-11-20 withdrawal 2025-10-06"],  # and the membership it left
    )  # fmt: skip
    found = standing(row, date(2026, 2, 20))
    assert found.history == history_of(await events_of(domain_store, member), date(2026, 2, 20))
    assert found.status_as_of == "active" and found.arrears_months == 0
    first, second = found.periods
    assert (first.ended_on, first.end_reason) == (date(2025, 11, 21), EndReason.WITHDRAWAL)
    assert (second.start_month, second.ended_on) == (Month(2026, 2), None)
    assert found.history is not None
    assert [(str(r.month), r.amount) for r in found.history.refunds] == [
        ("2025-12", 16_800), ("2026-01", 16_800),
    ]  # fmt: skip
    assert not is_covered(found.history, date(2026, 1, 10)).covered
    assert is_covered(found.history, date(2026, 2, 10)).covered  # February was paid ahead


async def test_who_left_before_a_re_join_started_has_one_membership_on_both_sides(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """The regency paid October to March; the worker withdrew on 20 November (another took
    the slot), re-joined on 1 December and waited, was promoted on 10 December into budget
    year 2026 (from 1 January) and moved away on 15 December, before it started. The row
    says which membership that leaving left, so it reads as the stream does: one membership,
    none from January, no slot month counted, Dec-Mar refunded."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member, other = [
        (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
        for _ in range(2)
    ]
    months = [str(Month(2025, 10) + n) for n in range(6)]
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, months, 6 * 16_800, OCT_10), admin
    )
    await registrar_on(domain_store, date(2025, 11, 20)).leave(
        LeaveCohort(participant_id=member, reason="withdrawal", left_on=date(2025, 11, 20)), admin
    )
    back = await registrar_on(domain_store, date(2025, 12, 1)).rejoin(Rejoin(member), admin)
    assert back.status == "waitlisted"  # the other worker took the slot
    await new_year(registrar_on(domain_store, date(2025, 12, 10)), cohort_id, admin)
    assert (await registrar.participant(member)).enrolled_on == date(2026, 1, 1)
    await registrar_on(domain_store, date(2025, 12, 15)).leave(
        LeaveCohort(participant_id=member, reason="moved_away", left_on=date(2025, 12, 15)), admin
    )
    await project(domain_store)

    row = await row_of(domain_store, member)
    assert row["leavings"] == [
        "2025-11-20 withdrawal 2025-10-06",
        "2025-12-15 moved_away 2026-01-01",
    ]
    today = date(2026, 2, 20)
    found = standing(row, today)
    assert found.history == history_of(await events_of(domain_store, member), today)
    assert found.status_as_of == "left" and found.history is not None
    (period,) = found.periods
    assert (period.end_month, period.end_reason) == (Month(2025, 11), EndReason.WITHDRAWAL)
    assert [c.enrolled_on for c in found.history.cancelled] == [date(2026, 1, 1)]
    assert [str(r.month) for r in found.history.refunds] == [
        "2025-12", "2026-01", "2026-02", "2026-03",
    ]  # fmt: skip
    assert not is_covered(found.history, date(2026, 1, 10)).covered
    assert [(p.start_month, p.end_month) for p in slot_periods(row)] == [
        (Month(2025, 10), Month(2025, 11))
    ]
    assert (await row_of(domain_store, other))["status"] == "enrolled"


async def test_a_reversed_payment_is_as_if_never_paid(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    kept = self_pays(member, ["2025-10"], 16_800, OCT_10)
    bounced = self_pays(member, ["2025-11", "2025-12"], 2 * 16_800, OCT_10)
    await cashier.pay(kept, admin)
    await cashier.pay(bounced, admin)
    await project(domain_store)
    assert (await row_of(domain_store, member))["paid_months"] == ["2025-10", "2025-11", "2025-12"]

    await cashier.reverse(ReversePayment(bounced.reference, "transfer ditolak bank"), admin)
    await project(domain_store)

    row = await row_of(domain_store, member)
    assert row["paid_months"] == ["2025-10"]
    found = standing(row, date(2025, 12, 1))
    assert [r.reference for r in found.history.months[0].allocations] == [kept.reference]  # type: ignore[union-attr]
    assert found.history.month(Month(2025, 11)).status is MonthStatus.IN_ARREARS  # type: ignore[union-attr]
    assert found.history == history_of(await events_of(domain_store, member), date(2025, 12, 1))


async def test_a_self_paying_participant_owes_their_own_months(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    """Funded by the sponsor until December, then mandiri: the January arrears are theirs."""
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    await registrar.change_funder(ChangeFunder(member, "mandiri", "2026-01"), admin)
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, ["2025-10", "2025-11", "2025-12"], 3 * 16_800, OCT_10), admin
    )
    await project(domain_store)
    row = await row_of(domain_store, member)

    (mine,) = dues([row], date(2026, 1, 20))
    assert (mine.payer_kind, mine.payer) == ("participant", member)
    assert (mine.arrears_months, mine.arrears_amount, mine.participants_in_arrears) == (
        1, 16_800, 1,
    )  # fmt: skip
    assert (mine.next_month, mine.next_due_on, mine.next_amount) == (
        "2026-02", date(2026, 2, 16), 16_800,
    )  # fmt: skip
    assert mine.first_lapse_on == date(2026, 4, 16)  # due(April) + 1: Jan-Apr unpaid
    (sponsor,) = dues([row], date(2025, 11, 20))
    assert (sponsor.payer_kind, sponsor.payer, sponsor.arrears_months) == ("sponsor", cohort_id, 0)
    assert (sponsor.next_month, sponsor.next_amount) == ("2025-12", 0)  # paid ahead


async def test_erased_personal_data_reads_dihapus_live_and_after_a_rebuild(
    registrar: Registrar, admin: Context, domain_store: EventStore
) -> None:
    cohort_id = await open_cohort(registrar, admin, quota=1)
    person = worker(cohort_id, next(_numbers))
    member = (await registrar.register(person, admin)).participant_id
    await Cashier(domain_store, registrar, DEFAULT_POLICY).pay(
        sponsor_pays(cohort_id, ["2025-10"], 16_800, OCT_10), admin
    )
    runner = ProjectionRunner(domain_store, projections())
    await catch_up(runner)
    assert (await row_of(domain_store, member))["name"] == person.name

    await erase_subject(domain_store, member, "masa retensi habis", admin)
    await catch_up(runner)
    live = await row_of(domain_store, member)
    personal = ("nik", "name", "birth_date", "phone", "kecamatan", "desa")
    assert [live[c] for c in personal] == [ERASED] * len(personal)
    assert live["nik_hash"] == LOOKUP.nik(person.nik) and live["paid_months"] == ["2025-10"]
    await clear_values_absent(domain_store, [person.nik, person.name, person.phone])

    await runner.rebuild("participant_status")
    assert await row_of(domain_store, member) == live
    await clear_values_absent(domain_store, [person.nik, person.name, person.phone])


def test_an_erasure_changes_only_a_participant_with_a_row() -> None:
    """A witness's or an heir's erasure makes no row; a participant's overwrites theirs,
    also when their row is made earlier in the same page."""

    def recorded(position: int, data: Event) -> RecordedEvent:
        at = datetime(2025, 10, 6, 3, tzinfo=UTC)
        return RecordedEvent(position, "x-1", 1, uuid4(), type(data).__name__, 1, data, at, at,
                             "admin", uuid4(), None, None, b"", None)  # fmt: skip

    witness = recorded(1, PersonalDataErased(subject_id="witness-1", reason="permintaan"))
    changes, _ = fold([witness], existing=set())
    assert changes == {}
    kpj = recorded(2, KpjRecorded(participant_id="p-1", kpj="25012345678"))
    erased = recorded(3, PersonalDataErased(subject_id="p-1", reason="retensi"))
    changes, _ = fold([kpj, erased], existing=set())
    assert changes["p-1"].columns[NAME] == ERASED
    changes, _ = fold([erased], existing={"p-1"})
    assert not changes["p-1"].creates and changes["p-1"].columns[NAME] == ERASED


async def clear_values_absent(store: EventStore, values: list[str]) -> None:
    """No row of any rm view holds any of `values` in the clear."""
    views = await store.pool.fetch(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'rm'"
    )
    assert {"participants", "cohorts", "cohort_months", "payments"} <= {v[0] for v in views}
    for (view,) in views:
        found = await store.pool.fetchval(
            f"SELECT count(*) FROM rm.{view} t WHERE t::text LIKE ANY ($1::text[])",
            [f"%{v}%" for v in values],
        )
        assert found == 0, f"rm.{view} holds personal data in the clear"


# -- the row's standing is the write side's history ---------------------------------------------

_MONTHS = [str(m) for m in (Month(2025, 10) + n for n in range(8))]
_PAY = st.tuples(
    st.just("pay"),
    st.lists(st.sampled_from(_MONTHS), min_size=1, max_size=3, unique=True),
    st.sampled_from([-10_000, 0, 0, 5_000]),  # short, exact, over
    st.integers(0, 240),  # days after 1 October
)
_REVERSE = st.tuples(st.just("reverse"), st.integers(0, 5))
_LEAVE = st.tuples(
    st.just("leave"),
    st.sampled_from(["withdrawal", "withdrawal", "moved_away", "formal_employee", "death"]),
    st.integers(0, 240),  # left on, days after 1 October
    st.booleans(),  # or, if the membership starts after its enrolment was made, before it starts
)
_REJOIN = st.tuples(st.just("rejoin"), st.integers(0, 150))  # the day of the re-join
_NEW_YEAR = st.tuples(st.just("new_year"), st.integers(40, 100))  # the day of the roll-over
_FUNDER = st.tuples(
    st.just("funder"),
    st.sampled_from(FUNDERS),
    st.integers(0, 9),  # from, months after October
)
_STEPS = st.lists(
    st.one_of(_PAY, _PAY, _REVERSE, _LEAVE, _LEAVE, _LEAVE, _REJOIN, _REJOIN, _NEW_YEAR,
              _FUNDER),
    min_size=1, max_size=9,
)  # fmt: skip


def day_to_leave(state: ParticipantState, day: int, early: bool) -> date:
    """1 October + `day`; or, `early` and the membership starting after the day its
    enrolment was made, a day from that one up to the day before it starts."""
    made, starts = state.decided_on, state.enrolled_on
    if early and made is not None and starts is not None and made < starts:
        return made + timedelta(days=day % (starts - made).days)
    return date(2025, 10, 1) + timedelta(days=day)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=_STEPS,
    days=st.lists(st.integers(0, 300), min_size=3, max_size=3),
    registered=st.integers(-30, 0),
    funders=st.lists(_FUNDER, max_size=3),
)
async def test_standing_from_the_row_is_the_write_sides_history(
    domain_store: EventStore,
    steps: list[Any],
    days: list[int],
    registered: int,
    funders: list[Any],
) -> None:
    """Whatever payments, reversals, leavings, re-joins, changes of funder and a new budget
    year: a member registered up to a month before the cohort's cover starts on 1 October
    (their membership starts then), who may leave before it starts, and, the cohort being
    full (quota 1: another worker waits for the slot), may re-join and wait, be promoted into
    budget year 2026 (from 1 January; a re-join that waits brings the new year on that day
    if it has not come) and leave before that starts too. Who pays each month (`payer_of`,
    and the arrears `dues` puts on each payer) is who the write side's state says funds it."""
    admin = Context(actor="admin:dinsos")
    october = date(2025, 10, 1)
    registrar = registrar_on(domain_store, october + timedelta(days=registered))
    cohort_id = await open_cohort(registrar, admin, quota=1)
    member = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id
    await registrar.register(worker(cohort_id, next(_numbers)), admin)  # waits for the slot
    cashier = Cashier(domain_store, registrar, DEFAULT_POLICY)
    paid: list[str] = []
    for step in [*funders, *steps]:  # changes of funder first, and more among the steps
        try:
            if step[0] == "pay":
                _, months, off, day = step
                at = datetime(2025, 10, 1, 3, tzinfo=UTC) + timedelta(days=day)
                command = self_pays(member, months, len(months) * 16_800 + off, at)
                await cashier.pay(command, admin)  # refused while not a member
                paid.append(command.reference)
            elif step[0] == "leave":
                _, reason, day, early = step
                person = await registrar.participant(member)
                left_on = day_to_leave(person, day, early)  # recorded that day
                await registrar_on(domain_store, left_on).leave(
                    LeaveCohort(participant_id=member, reason=reason, left_on=left_on), admin
                )
            elif step[0] == "rejoin":
                day = october + timedelta(days=step[1])
                back = await registrar_on(domain_store, day).rejoin(Rejoin(member), admin)
                if back.status == "waitlisted":
                    await new_year(registrar_on(domain_store, day), cohort_id, admin)
            elif step[0] == "funder":
                _, funder, months = step
                from_month = str(Month(2025, 10) + months)
                await registrar.change_funder(ChangeFunder(member, funder, from_month), admin)
            elif step[0] == "new_year":
                await new_year(registrar_on(domain_store, october + timedelta(days=step[1])),
                               cohort_id, admin)  # fmt: skip
            elif paid:
                reference = paid.pop(step[1] % len(paid))
                await cashier.reverse(ReversePayment(reference, "bounced"), admin)
        except DomainError:
            continue  # e.g. paying for, or leaving as, someone who has left: refused
    await project(domain_store)
    row = await row_of(domain_store, member)
    events = await events_of(domain_store, member)
    facts = facts_of(events)  # the slot months the cohort's budget counts, on both sides
    assert slot_periods(row) == (enrolment_periods(facts[0]) if facts else ())
    state = ParticipantState()
    for event in events:  # the write side's own view of the member, funders and all
        state = evolve(state, event)
    assert funder_changes(row) == state.funders
    for month in (Month(2025, 9) + n for n in range(14)):
        paid_by_themself = state.funder_of(month) == "mandiri"
        assert payer_of(row, month) == ("participant" if paid_by_themself else "sponsor")
    for day in days:
        today = date(2025, 10, 1) + timedelta(days=day)
        found = standing(row, today)
        assert found.history == history_of(events, today)
        if found.status_as_of == "left":
            assert (found.arrears_months, found.arrears_amount, found.lapses_on) == (0, 0, None)
        owed = found.history.months if found.history else ()
        arrears = {"sponsor": 0, "participant": 0}
        if found.status_as_of in ("active", "in_arrears"):
            for record in owed:
                if record.status is MonthStatus.IN_ARREARS:
                    mandiri = state.funder_of(record.month) == "mandiri"
                    arrears["participant" if mandiri else "sponsor"] += 1
        by_payer = {d.payer_kind: d.arrears_months for d in dues([row], today)}
        assert {k: by_payer.get(k, 0) for k in arrears} == arrears


async def new_year(registrar: Registrar, cohort_id: str, admin: Context) -> None:
    """Budget year 2026, quota 2, from 1 January: whoever waits is promoted (their membership
    starts on 1 January, or on the registrar's day if that is later). Once only: a second
    roll-over into the same year is refused."""
    await registrar.administer(RollOverCohort(
        cohort_id=cohort_id, budget_year=2026, quota=2, coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31), budget_allocation=2 * 12 * 16_800,
    ), admin)  # fmt: skip


# -- the waiting list shown is the order the cohort promotes in ---------------------------------


def registrar_with(store: EventStore, policy: Policy, day: date | None = None) -> Registrar:
    """A registrar under `policy` whose clock says TODAY, or 10:00 WIB on `day`."""
    now = TODAY if day is None else datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)
    return Registrar(store, LOOKUP, default_regions(), policy, clock=lambda: now)


async def register_all(registrar: Registrar, cohort_id: str, priorities: list[bool]) -> list[str]:
    """New workers, flagged priority or not, in this order of arrival."""
    commands = [worker(cohort_id, next(_numbers), priority=p) for p in priorities]
    made = await registrar.register_many(commands, Context(actor="admin:dinsos"))
    return [r.participant_id for r in made]  # type: ignore[union-attr]


def leaving(participant_id: str, reason: str, on: date | None = None) -> LeaveCohort:
    """Leaving on `on`, by default the day of TODAY."""
    return LeaveCohort(participant_id=participant_id, reason=reason,
                       left_on=on or TODAY.date())  # fmt: skip


async def ranking(
    store: EventStore, cohort_id: str, policy: Policy, flagged: dict[str, bool] | None = None
) -> list[str]:
    """The read model's waiting list once it has caught up: `waitlist`, and each row's
    `waitlist_position` (what GET /participants/{id} shows) saying the same; with `flagged`
    (who registered with priority), each waits with the priority they registered with."""
    await project(store)
    listed = await waitlist(store.pool, cohort_id, policy)
    assert [n for n, _ in listed] == list(range(1, len(listed) + 1))
    ids = [i for _, i in listed]
    rows = await participant_rows(store.pool, ids, policy)
    assert sorted((r["waitlist_position"], r["participant_id"]) for r in rows) == listed
    if flagged is not None:
        assert {r["participant_id"]: r["priority"] for r in rows} == {i: flagged[i] for i in ids}
    return ids


async def promotions(store: EventStore, cohort_id: str, since: int) -> list[str]:
    """Who the cohort promoted after its first `since` events, in order."""
    events = (await store.read_stream(cohort_stream(cohort_id)))[since:]
    return [r.data.participant_id for r in events if isinstance(r.data, PromotedFromWaitlist)]


async def test_a_rejoin_that_waits_with_priority_is_shown_where_it_is_promoted(
    admin: Context, domain_store: EventStore
) -> None:
    """Given quota 1: P (priority) enrolled, C and D waiting; P leaves (C takes the slot) and
    re-joins the full cohort. The waiting list shows P first, D second; when C leaves, P takes
    the slot. Without the priority policy: D, then P, and D takes it."""
    for priority_first in (True, False):
        policy = Policy(version="2025.1", waiting_list_priority_first=priority_first)
        registrar = registrar_with(domain_store, policy)
        cohort_id = await open_cohort(registrar, admin, quota=1)
        p, c, d = await register_all(registrar, cohort_id, [True, False, False])
        await registrar.leave(leaving(p, "withdrawal"), admin)
        assert (await registrar.rejoin(Rejoin(p), admin)).status == "waitlisted"

        shown = await ranking(domain_store, cohort_id, policy)
        since = len(await domain_store.read_stream(cohort_stream(cohort_id)))
        await registrar.leave(leaving(c, "moved_away"), admin)

        assert shown == ([p, d] if priority_first else [d, p])
        assert (await row_of(domain_store, p))["priority"] is True
        assert await promotions(domain_store, cohort_id, since) == shown[:1]
        assert await ranking(domain_store, cohort_id, policy) == shown[1:]


async def test_a_rejoin_recorded_without_its_priority_is_shown_as_the_cohort_ranks_it(
    admin: Context, domain_store: EventStore
) -> None:
    """Before re-joins kept their priority, a re-join that waited was recorded with
    WaitlistJoined(priority=False). Such events stay as they are: the cohort ranks that entry
    without priority, and so does the waiting list shown (and the row's `priority`)."""
    registrar = registrar_with(domain_store, DEFAULT_POLICY)
    cohort_id = await open_cohort(registrar, admin, quota=1)
    p, d = await register_all(registrar, cohort_id, [True, False])
    await registrar.leave(leaving(p, "withdrawal"), admin)
    person = len(await domain_store.read_stream(participant_stream(p)))
    cohort = len(await domain_store.read_stream(cohort_stream(cohort_id)))
    await domain_store.append_many(  # as the registrar appended a re-join that waited then
        [
            StreamAppend(participant_stream(p),
                         [ParticipantWaitlisted(participant_id=p, cohort_id=cohort_id)], person),
            StreamAppend(cohort_stream(cohort_id),
                         [WaitlistJoined(cohort_id=cohort_id, participant_id=p, priority=False,
                                         declared_income=1_000_000)], cohort),
        ],
        context=admin,
    )  # fmt: skip
    late = (await registrar.register(worker(cohort_id, next(_numbers)), admin)).participant_id

    state = await registrar.cohort(cohort_id)
    line = [w.participant_id for w in next_in_line(state, DEFAULT_POLICY, len(state.waitlist))]

    assert line == [p, late] and await ranking(domain_store, cohort_id, DEFAULT_POLICY) == line
    assert (await row_of(domain_store, p))["priority"] is False
    assert d not in line  # D took P's slot when P left


_REGISTER = st.tuples(st.just("register"), st.booleans())  # flagged priority or not
_LEAVE_ONE = st.tuples(
    st.just("leave"), st.integers(0, 50),  # which member
    st.sampled_from(["withdrawal", "moved_away", "formal_employee", "death"]),
)  # fmt: skip
_REJOIN_ONE = st.tuples(st.just("rejoin"), st.integers(0, 50))  # which of those who left alive
_NEW_YEAR = st.tuples(st.just("new_year"), st.integers(1, 4))  # its quota, smaller or larger
_LINE_STEPS = st.lists(
    st.one_of(_REGISTER, _REGISTER, _LEAVE_ONE, _LEAVE_ONE, _REJOIN_ONE, _REJOIN_ONE, _NEW_YEAR),
    min_size=1, max_size=16,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    crowd=st.lists(st.booleans(), min_size=1, max_size=6),
    steps=_LINE_STEPS,
    priority_first=st.booleans(),
)
async def test_the_cohort_promotes_in_the_order_the_waiting_list_shows(
    domain_store: EventStore, crowd: list[bool], steps: list[Any], priority_first: bool
) -> None:
    """Whatever registrations (with priority or not), re-joins, leavings and new budget years
    came after a first crowd registered (quota 1: the others wait), under either policy
    setting: each promotion takes the head of the waiting list the
    read model showed just before, never past the quota, and at the end the cohort's whole
    line of promotion is the list shown; everyone waits with the priority they registered
    with, re-joins too. (A leaving picks one of the members, a re-join one
    of those who left alive: the steps the registrar refuses are tested elsewhere.)"""
    admin = Context(actor="admin:dinsos")
    policy = Policy(version="2025.1", waiting_list_priority_first=priority_first)
    registrar = registrar_with(domain_store, policy)
    cohort_id = await open_cohort(registrar, admin, quota=1)
    gone: list[str] = []  # left, alive, not back
    flagged: dict[str, bool] = {}  # who registered with priority
    year = 2025
    for step in [("register", priority) for priority in crowd] + steps:
        if step[0] == "register":
            command = worker(cohort_id, next(_numbers), priority=step[1])
            flagged[(await registrar.register(command, admin)).participant_id] = step[1]
            continue
        if step[0] == "rejoin":
            if gone:
                await registrar.rejoin(Rejoin(gone.pop(step[1] % len(gone))), admin)
            continue  # a re-join promotes nobody: it takes a free slot or waits
        members = list((await registrar.cohort(cohort_id)).members)
        if step[0] == "leave" and not members:
            continue
        shown = await ranking(domain_store, cohort_id, policy, flagged)
        since = len(await domain_store.read_stream(cohort_stream(cohort_id)))
        if step[0] == "leave":
            who, reason = members[step[1] % len(members)], step[2]
            # on the day the membership starts at the earliest (a promotion into a new budget
            # year starts it then), recorded that day: a leaving is never dated before it
            on = max(TODAY.date(), (await registrar.participant(who)).enrolled_on or TODAY.date())
            await registrar_with(domain_store, policy, on).leave(leaving(who, reason, on), admin)
            gone += [who] if reason != "death" else []
        else:
            year += 1
            await registrar.administer(RollOverCohort(
                cohort_id=cohort_id, budget_year=year, quota=step[1],
                coverage_start=date(year, 1, 1), coverage_end=date(year, 12, 31),
                budget_allocation=step[1] * 12 * 16_800,
            ), admin)  # fmt: skip
        promoted = await promotions(domain_store, cohort_id, since)
        assert promoted == shown[: len(promoted)]
        if promoted:
            cohort = await registrar.cohort(cohort_id)
            assert cohort.enrolled <= cohort.quota
    state = await registrar.cohort(cohort_id)
    line = [w.participant_id for w in next_in_line(state, policy, len(state.waitlist))]
    assert line == await ranking(domain_store, cohort_id, policy, flagged)


# -- a rebuild, whatever its page size, equals the live model ------------------------------------


@pytest.fixture(scope="module")
async def scenario_store(database_url: str) -> AsyncIterator[EventStore]:
    """A database of its own (a small log: rebuilds one event per page stay quick) where a
    bit of everything happened, projected live after each command."""
    name = f"jaga_rm_rebuild_{uuid4().hex[:12]}"
    store = await new_store(database_url, name)
    yield store
    await drop_store(store, database_url, name)


TABLES = {"participants": "participant_id", "cohorts": "cohort_id",
          "cohort_months": "cohort_id, month", "payments": "payment_id"}  # fmt: skip


async def tables(store: EventStore) -> dict[str, list[Any]]:
    return {
        table: [
            tuple(r) for r in await store.pool.fetch(f"SELECT * FROM rm.{table} ORDER BY {key}")
        ]
        for table, key in TABLES.items()
    }


async def live_scenario(store: EventStore) -> dict[str, list[Any]]:
    admin = Context(actor="admin:dinsos")
    runner = ProjectionRunner(store, projections())
    registrar = registrar_on(store, TODAY.date())
    cashier = Cashier(store, registrar, DEFAULT_POLICY)
    cohort_id = await open_cohort(registrar, admin, quota=3)
    people = await registrar.register_many(
        [worker(cohort_id, n, priority=n == 5) for n in range(6)], admin
    )
    ids = [p.participant_id for p in people]  # type: ignore[union-attr]
    await catch_up(runner)
    block = sponsor_pays(cohort_id, ["2025-10", "2025-11", "2025-12"], 3 * 3 * 16_800 - 1, OCT_10)
    commands = [
        lambda: cashier.pay(block, admin),
        lambda: registrar.record_kpj(RecordKpj(ids[0], "25012345678"), admin),
        lambda: registrar.change_funder(ChangeFunder(ids[1], "mandiri", "2026-01"), admin),
        lambda: cashier.pay(self_pays(ids[1], ["2026-01"], 16_800, OCT_10), admin),
        lambda: registrar_on(store, date(2025, 10, 20)).leave(
            LeaveCohort(participant_id=ids[0], reason="withdrawal", left_on=date(2025, 10, 20)),
            admin,
        ),
        lambda: cashier.reverse(ReversePayment(block.reference, "dana dikembalikan"), admin),
        lambda: registrar_on(store, date(2025, 11, 3)).leave(
            LeaveCohort(participant_id=ids[2], reason="death", left_on=date(2025, 11, 3)), admin
        ),
        lambda: erase_subject(store, ids[2], "ahli waris meminta", admin),
        lambda: cashier.pay(sponsor_pays(cohort_id, ["2025-10"], 3 * 16_800, OCT_10), admin),
        lambda: registrar_on(store, date(2025, 11, 10)).rejoin(Rejoin(ids[0]), admin),
    ]
    for command in commands:
        await command()
        await catch_up(runner)
    return await tables(store)


@pytest.fixture(scope="module")
async def live(scenario_store: EventStore) -> dict[str, list[Any]]:
    return await live_scenario(scenario_store)


@settings(max_examples=6, deadline=None)
@given(batch_size=st.one_of(st.sampled_from([1, 2000]), st.integers(2, 40)))
async def test_a_rebuild_equals_the_live_model_whatever_its_pages(
    scenario_store: EventStore, live: dict[str, list[Any]], batch_size: int
) -> None:
    assert all(live[t] for t in ("participants", "cohorts", "cohort_months", "payments"))
    runner = ProjectionRunner(scenario_store, projections(), batch_size=batch_size)
    for p in projections():
        await runner.rebuild(p.name)
    assert await tables(scenario_store) == live
