"""Which reminders are due: worked examples on the real calendar and rate table, and properties
over random contribution histories (members built from the coverage rules, as in production)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.contributions import payer_of
from services.domain.calendar import Month, due_date
from services.domain.coverage import (
    Cessation,
    CessationKind,
    ContributionFacts,
    Payment,
    contribution_history,
)
from services.domain.funders import FunderChange, self_paying
from services.domain.indonesian import bulan, bulan_range, tanggal
from services.domain.policy import DEFAULT_POLICY
from services.domain.rates import contribution_due
from services.domain.reminders import (
    Cohort,
    DueReminder,
    Kind,
    Member,
    due_reminders,
    reminder_id,
    sponsor_recipient,
)

OCT = Month(2025, 10)
INCOME = 1_000_000  # the minimum declared income: JKK Rp10.000 + JKM Rp6.800
KEPAHIANG = Cohort(
    cohort_id="kph2025",
    name="Pekerja Rentan Kepahiang 2025",
    sponsor="APBD Kabupaten Kepahiang",
    budget_year=2025,
    coverage_start=date(2025, 10, 1),
    coverage_end=date(2026, 9, 30),
)


def paid_at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 10:00 WIB


def member(
    today: date,
    paid: dict[Month, date] | None = None,
    *,
    participant_id: str = "p1",
    funders: tuple[FunderChange, ...] | None = None,
    start: Month = OCT,
    leavings: tuple[Cessation, ...] = (),
    rejoins: tuple[Month, ...] = (),
    left: bool = False,
) -> Member:
    """A member as the reminder job builds them: from their contribution history as of today
    (the coverage rules of services/domain/coverage.py) and the status standing gives (`left`:
    their row says they have left). Self-paying from the start unless `funders` says
    otherwise (SPONSORED: the sponsor pays throughout)."""
    payments = tuple(
        Payment(reference=f"{participant_id}-{month}", payer="x", months=(month,),
                paid_at=paid_at(day), amount=16_800)
        for month, day in (paid or {}).items()
    )  # fmt: skip
    facts = ContributionFacts(start=start, payments=payments, leavings=leavings, rejoins=rejoins)
    history = contribution_history(facts, today=today, amount_due=16_800)
    if left:
        status = "left"
    elif history.current_period is None:
        status = "membership_ended"
    else:
        status = "in_arrears" if history.arrears_months else "active"
    if funders is None:
        funders = (FunderChange(start, "mandiri"),)
    return Member.of(
        participant_id, KEPAHIANG.cohort_id, status, history, funders=funders,
        declared_income=INCOME, programmes=("JKK", "JKM"),
    )  # fmt: skip


SPONSORED: tuple[FunderChange, ...] = ()
"""No change of funder: the cohort's sponsor pays every month."""


def mandiri_from(month: Month) -> tuple[FunderChange, ...]:
    return (FunderChange(month, "mandiri"),)


def kinds(reminders: list[DueReminder]) -> set[tuple[Kind, str, str]]:
    return {(r.kind, str(r.period), r.recipient_id) for r in reminders}


def due(today: date, *members: Member, cohort: Cohort = KEPAHIANG) -> list[DueReminder]:
    return due_reminders(today, members, [cohort])


# -- Indonesian formats ------------------------------------------------------------------------


def test_dates_and_months_the_indonesian_way() -> None:
    assert tanggal(date(2026, 12, 15)) == "15 Desember 2026"
    assert tanggal(date(2026, 1, 5)) == "5 Januari 2026"
    assert bulan(Month(2026, 5)) == "Mei 2026"
    assert bulan_range(Month(2026, 1), Month(2026, 3)) == "Januari sampai Maret 2026"
    assert bulan_range(Month(2025, 12), Month(2026, 2)) == "Desember 2025 sampai Februari 2026"


def test_the_reminder_id_is_one_per_recipient_period_and_kind() -> None:
    first = reminder_id("p1", OCT, Kind.ARREARS_1)
    assert first == reminder_id("p1", OCT, Kind.ARREARS_1)
    assert len({first, reminder_id("p2", OCT, Kind.ARREARS_1),
                reminder_id("p1", OCT + 1, Kind.ARREARS_1),
                reminder_id("p1", OCT, Kind.ARREARS_2)}) == 4  # fmt: skip


# -- a self-paying worker ----------------------------------------------------------------------


def test_a_self_paying_worker_hears_five_days_before_the_15th() -> None:
    dec = Month(2026, 12)  # due Tuesday 15 December 2026
    paid = {OCT + i: due_date(OCT + i) for i in range(14)}  # Oct 2025 .. Nov 2026 on time
    assert due(date(2026, 12, 9), member(date(2026, 12, 9), paid)) == []
    [reminder] = due(date(2026, 12, 10), member(date(2026, 12, 10), paid))
    assert (reminder.kind, reminder.period, reminder.participant_id) == (
        Kind.SELF_PAY_DUE, dec, "p1"
    )  # fmt: skip
    assert (reminder.amount, reminder.due_on) == (16_800, date(2026, 12, 15))
    assert reminder.message == (
        "Pengingat iuran BPJS Ketenagakerjaan: iuran bulan Desember 2026 sebesar Rp16.800 "
        "jatuh tempo 15 Desember 2026. Mohon dibayar paling lambat tanggal tersebut agar Anda "
        "tetap terlindungi."
    )
    assert "denda" not in reminder.message  # BPU has no late fine: none is mentioned
    # Still due on the days up to the 15th (a missed run catches up), not on the 15th itself.
    assert kinds(due(date(2026, 12, 14), member(date(2026, 12, 14), paid)))
    assert due(date(2026, 12, 15), member(date(2026, 12, 15), paid)) == []


def test_no_reminder_for_a_month_paid_ahead_or_paid_by_the_sponsor() -> None:
    today = date(2026, 12, 10)
    paid = {OCT + i: due_date(OCT + i) for i in range(14)} | {Month(2026, 12): date(2026, 12, 1)}
    assert due(today, member(today, paid)) == []
    june = date(2026, 6, 10)  # June 2026 is due Monday the 15th, within the budget period
    sponsored = {OCT + i: due_date(OCT + i) for i in range(8)}  # Oct 2025 .. May 2026
    assert due(june, member(june, sponsored, funders=SPONSORED)) == []
    # Self-paying only from July: June is still the sponsor's to pay.
    assert due(june, member(june, sponsored, funders=mandiri_from(Month(2026, 7)))) == []
    assert [r.kind for r in due(june, member(june, sponsored))] == [Kind.SELF_PAY_DUE]


def test_who_pays_themself_only_from_march_to_may_hears_of_those_months_only() -> None:
    """Given a worker funded by the regency, mandiri from March 2026, and funded by the
    regency again from June (two changes of funder, in that order): each reminder goes to
    whoever funds its month, by the change in force for it, not by the latest change."""
    changes = (
        FunderChange(Month(2026, 3), "mandiri"),
        FunderChange(Month(2026, 6), "apbd_kabupaten"),
    )
    sponsor = sponsor_recipient(KEPAHIANG.cohort_id)

    def paid_until(last: Month) -> dict[Month, date]:
        return {m: due_date(m) for m in (OCT + i for i in range(OCT.months_until(last) + 1))}

    def due_on(today: date, last_paid: Month) -> list[DueReminder]:
        return due(today, member(today, paid_until(last_paid), funders=changes))

    # January unpaid: the sponsor's month, so the sponsor hears of it.
    assert kinds(due_on(date(2026, 1, 20), Month(2025, 12))) == {
        (Kind.ARREARS_1, "2026-01", sponsor)
    }
    # March is the worker's: they hear before its due date (16 March).
    assert kinds(due_on(date(2026, 3, 12), Month(2026, 2))) == {
        (Kind.SELF_PAY_DUE, "2026-03", "p1")
    }
    # The block April..June: the sponsor is asked for June only (April and May are mandiri).
    [block] = due_on(date(2026, 4, 1), Month(2026, 3))
    assert (block.kind, block.recipient_id, block.period, block.amount) == (
        Kind.SPONSOR_BLOCK_DUE, sponsor, Month(2026, 4), 16_800
    )  # fmt: skip
    # April unpaid: the worker's arrears, told to the worker.
    assert kinds(due_on(date(2026, 4, 20), Month(2026, 3))) == {(Kind.ARREARS_1, "2026-04", "p1")}
    # June is the sponsor's again: no reminder to the worker before its due date.
    assert due_on(date(2026, 6, 10), Month(2026, 5)) == []
    only_march = member(date(2026, 6, 10), paid_until(Month(2026, 5)), funders=changes[:1])
    assert kinds(due(date(2026, 6, 10), only_march)) == {(Kind.SELF_PAY_DUE, "2026-06", "p1")}


# -- arrears and the last notice ---------------------------------------------------------------


def test_arrears_notices_at_one_two_and_three_months_then_the_last_notice() -> None:
    paid = {OCT: date(2025, 10, 10)}  # November 2025 onwards unpaid

    def worker_kinds(today: date) -> list[tuple[Kind, str, int | None, date]]:
        return sorted(
            (r.kind, str(r.period), r.amount, r.due_on)
            for r in due(today, member(today, paid))
            if r.kind is not Kind.SELF_PAY_DUE
        )

    lapse_day = date(2026, 2, 16)  # Nov..Feb unpaid at the end of due(Feb): ends on the 17th
    assert worker_kinds(date(2025, 11, 17)) == []  # due today, not late yet
    assert worker_kinds(date(2025, 11, 18)) == [(Kind.ARREARS_1, "2025-11", 16_800, lapse_day)]
    assert worker_kinds(date(2025, 12, 16)) == [(Kind.ARREARS_2, "2025-12", 33_600, lapse_day)]
    assert worker_kinds(date(2026, 1, 16)) == [(Kind.ARREARS_3, "2026-01", 50_400, lapse_day)]
    assert worker_kinds(date(2026, 2, 9)) == [(Kind.ARREARS_3, "2026-01", 50_400, lapse_day)]
    assert worker_kinds(date(2026, 2, 10)) == [
        (Kind.ARREARS_3, "2026-01", 50_400, lapse_day),
        (Kind.MEMBERSHIP_ENDING, "2026-02", 50_400, lapse_day),
    ]
    assert worker_kinds(date(2026, 2, 17)) == []  # membership ended: nothing more to remind

    [last] = [r for r in due(date(2026, 2, 10), member(date(2026, 2, 10), paid))
              if r.kind is Kind.MEMBERSHIP_ENDING]  # fmt: skip
    assert last.message == (
        "Pemberitahuan terakhir BPJS Ketenagakerjaan: iuran Anda tertunggak 3 bulan (November "
        "2025 sampai Januari 2026), sebesar Rp50.400. Bayar paling lambat 16 Februari 2026; jika "
        "tidak, kepesertaan Anda berakhir mulai 17 Februari 2026 dan pendaftaran ulang dimulai "
        "dari awal."
    )


def test_paying_the_arrears_stops_the_notices() -> None:
    today = date(2025, 12, 20)
    late = {OCT: date(2025, 10, 10), OCT + 1: date(2025, 12, 1), OCT + 2: date(2025, 12, 19)}
    assert [r.kind for r in due(today, member(today, late))] == []


def test_who_left_owes_nothing_and_hears_nothing() -> None:
    # Given only October paid, and the worker withdrew on 5 December (November in arrears),
    withdrew = (Cessation(kind=CessationKind.WITHDRAWAL, on=date(2025, 12, 5)),)
    paid = {OCT: date(2025, 10, 10)}
    for today in (date(2025, 12, 6), date(2026, 1, 16), date(2026, 2, 10)):
        gone = member(today, paid, leavings=withdrew, left=True)
        # then their history owes nothing and no lapse is coming,
        assert (gone.arrears_months, gone.arrears_amount, gone.lapses_on) == (0, 0, None)
        # and neither they nor the sponsor hear of their months.
        assert due(today, gone) == []
        sponsored = msgspec.structs.replace(gone, funders=SPONSORED)
        assert due(today, sponsored) == []


def test_who_came_back_after_leaving_hears_of_the_new_membership_only() -> None:
    # Given only October paid, the worker withdrew on 20 October and re-joined in January,
    today = date(2026, 1, 20)
    withdrew = (Cessation(kind=CessationKind.WITHDRAWAL, on=date(2025, 10, 20)),)
    back = member(today, {OCT: date(2025, 10, 10)}, leavings=withdrew, rejoins=(OCT + 3,))
    # then only January is owed (not November and December, while they were gone),
    assert (back.status, back.member_since, back.arrears_months) == ("in_arrears", OCT + 3, 1)
    assert back.lapses_on == date(2026, 4, 16)  # Jan..Apr unpaid, from the new membership
    # and the notice is the first arrears notice, for January's Rp16.800.
    assert [(r.kind, str(r.period), r.amount) for r in due(today, back)] == [
        (Kind.ARREARS_1, "2026-01", 16_800)
    ]


def test_the_sponsor_hears_once_for_all_its_members_in_arrears() -> None:
    today = date(2026, 1, 20)
    paid = {OCT + i: date(2025, 10, 1) for i in range(3)}  # the first block, Oct..Dec
    members = [member(today, paid, participant_id=f"p{i}", funders=SPONSORED) for i in range(2)]
    [notice] = [r for r in due(today, *members) if r.kind is Kind.ARREARS_1]
    assert notice.recipient_id == sponsor_recipient("kph2025")
    assert (notice.participant_id, notice.period, notice.amount) == (None, Month(2026, 1), 33_600)
    assert notice.message.startswith(
        "Yth. APBD Kabupaten Kepahiang: iuran 2 peserta Pekerja Rentan Kepahiang 2025 "
        "tertunggak 1 bulan, sebesar Rp33.600."
    )


def test_after_the_budget_period_the_sponsor_pays_until_a_change_to_mandiri() -> None:
    """Given the sponsor paid Oct..Dec 2025 and its budget period ended with December, and
    nobody changed the funder: January is still the sponsor's (for its next budget year, or
    nobody), as dues and the cohort budget say (payer_of), so the sponsor hears of it and the
    worker does not. Once the worker changes to mandiri from January, January is theirs."""
    cohort = msgspec.structs.replace(KEPAHIANG, coverage_end=date(2025, 12, 31))
    paid = {OCT + i: date(2025, 10, 1) for i in range(3)}
    sponsor = sponsor_recipient(cohort.cohort_id)
    jan = Month(2026, 1)
    today = date(2026, 1, 20)
    assert payer_of({"funders": []}, jan) == "sponsor"
    assert kinds(due(today, member(today, paid, funders=SPONSORED), cohort=cohort)) == {
        (Kind.ARREARS_1, "2026-01", sponsor)
    }
    # No reminder to the worker before February's due date either: not theirs to pay.
    feb = date(2026, 2, 11)
    assert not [
        r
        for r in due(feb, member(feb, paid, funders=SPONSORED), cohort=cohort)
        if r.participant_id is not None
    ]
    # Given a change to mandiri from January, the same months are the worker's, on both sides.
    changed = mandiri_from(jan)
    assert payer_of({"funders": [str(c) for c in changed]}, jan) == "participant"
    assert kinds(due(today, member(today, paid, funders=changed), cohort=cohort)) == {
        (Kind.ARREARS_1, "2026-01", "p1")
    }
    by_kind = {r.kind: r for r in due(feb, member(feb, paid, funders=changed), cohort=cohort)}
    assert (by_kind[Kind.SELF_PAY_DUE].participant_id, by_kind[Kind.SELF_PAY_DUE].due_on) == (
        "p1", date(2026, 2, 16)
    )  # fmt: skip


# -- arrears with two payers -------------------------------------------------------------------

SPONSOR = sponsor_recipient(KEPAHIANG.cohort_id)
APRIL, MAY, JUNE, JULY = (Month(2026, m) for m in (4, 5, 6, 7))
MANDIRI_APRIL_TO_MAY = (FunderChange(APRIL, "mandiri"), FunderChange(JUNE, "apbd_kabupaten"))
"""The worker pays April and May themself; the regency's budget pays again from June."""
PAID_TO_MARCH = {OCT + i: due_date(OCT + i) for i in range(OCT.months_until(Month(2026, 3)) + 1)}


def arrears_notices(today: date, *members: Member) -> dict[tuple[Kind, str], DueReminder]:
    """The arrears notices and last notices due today, by kind and recipient."""
    return {
        (r.kind, r.recipient_id): r
        for r in due(today, *members)
        if r.kind in (*_ARREARS_KINDS, Kind.MEMBERSHIP_ENDING)
    }


def test_each_payer_is_told_only_the_months_it_owes() -> None:
    """Given a worker who pays April and May themself, funded by the regency again from June,
    and who has paid nothing since March: on 20 June April, May and June are in arrears."""
    today = date(2026, 6, 20)
    mixed = member(today, PAID_TO_MARCH, funders=MANDIRI_APRIL_TO_MAY)
    assert mixed.arrears_months == 3
    notices = arrears_notices(today, mixed)
    # Then the worker hears of April and May (two months, Rp33.600), not of June,
    worker = notices.pop((Kind.ARREARS_2, "p1"))
    assert (worker.period, worker.amount, worker.due_on) == (MAY, 33_600, date(2026, 7, 15))
    assert worker.message == (
        "Iuran BPJS Ketenagakerjaan Anda tertunggak 2 bulan (April sampai Mei 2026), sebesar "
        "Rp33.600. Bayar paling lambat 15 Juli 2026 agar kepesertaan Anda tidak berakhir. "
        "Kecelakaan kerja pada bulan yang belum dibayar tidak ditanggung."
    )
    # and the sponsor of June only (one month, Rp16.800), not of the worker's months.
    sponsor = notices.pop((Kind.ARREARS_1, SPONSOR))
    assert (sponsor.participant_id, sponsor.period, sponsor.amount) == (None, JUNE, 16_800)
    assert sponsor.message.startswith(
        "Yth. APBD Kabupaten Kepahiang: iuran 1 peserta Pekerja Rentan Kepahiang 2025 "
        "tertunggak 1 bulan, sebesar Rp16.800."
    )
    assert notices == {}


def test_the_level_follows_the_months_that_payer_owes() -> None:
    """The same worker, month by month: the worker's level counts April and May only, the
    sponsor's June only; and the last notice before the lapse goes to both, each with its own
    months (either paying its months keeps the membership)."""

    def levels(today: date) -> dict[tuple[Kind, str], tuple[str, int | None]]:
        mixed = member(today, PAID_TO_MARCH, funders=MANDIRI_APRIL_TO_MAY)
        return {k: (str(r.period), r.amount) for k, r in arrears_notices(today, mixed).items()}

    assert levels(date(2026, 4, 20)) == {(Kind.ARREARS_1, "p1"): ("2026-04", 16_800)}
    may = levels(date(2026, 5, 20))
    assert may == {(Kind.ARREARS_2, "p1"): ("2026-05", 33_600)}
    # In June the worker's notice is the one they had in May (same id: not sent twice), and
    # the sponsor starts at the first level for its first month, not at the third.
    assert levels(date(2026, 6, 20)) == may | {(Kind.ARREARS_1, SPONSOR): ("2026-06", 16_800)}
    # Before the lapse (April..July unpaid at the end of 15 July: ends on the 16th),
    assert levels(date(2026, 7, 10)) == may | {
        (Kind.ARREARS_1, SPONSOR): ("2026-06", 16_800),
        (Kind.MEMBERSHIP_ENDING, "p1"): ("2026-07", 33_600),
        (Kind.MEMBERSHIP_ENDING, SPONSOR): ("2026-07", 16_800),
    }
    [last] = [
        r
        for r in due(date(2026, 7, 10), member(date(2026, 7, 10), PAID_TO_MARCH,
                                                funders=MANDIRI_APRIL_TO_MAY))
        if r.kind is Kind.MEMBERSHIP_ENDING and r.participant_id == "p1"
    ]  # fmt: skip
    assert last.message.startswith(
        "Pemberitahuan terakhir BPJS Ketenagakerjaan: iuran Anda tertunggak 2 bulan (April "
        "sampai Mei 2026), sebesar Rp33.600. Bayar paling lambat 15 Juli 2026;"
    )
    assert levels(date(2026, 7, 16)) == {}  # membership ended: nothing more to remind


def test_the_other_way_round_the_sponsor_owes_the_earlier_months() -> None:
    """Given the regency funds April and May and the worker pays themself from June: the
    sponsor hears of April and May (second level), the worker of June only (first level)."""
    today = date(2026, 6, 20)
    mixed = member(today, PAID_TO_MARCH, funders=mandiri_from(JUNE))
    notices = arrears_notices(today, mixed)
    assert {k: (str(r.period), r.amount) for k, r in notices.items()} == {
        (Kind.ARREARS_2, SPONSOR): ("2026-05", 33_600),
        (Kind.ARREARS_1, "p1"): ("2026-06", 16_800),
    }
    assert (
        "tertunggak 1 bulan (Juni 2026), sebesar Rp16.800"
        in notices[(Kind.ARREARS_1, "p1")].message
    )


def test_the_sponsor_sums_its_months_over_its_members_per_level() -> None:
    """Given the mixed worker (the sponsor owes June), a member the sponsor funds throughout
    who paid through May (the sponsor owes June), and one who paid nothing since March (the
    sponsor owes April..June): the sponsor gets one first-level notice for the two Junes and
    one third-level notice for the three months; the worker hears of their own two."""
    today = date(2026, 6, 20)
    through_may = PAID_TO_MARCH | {APRIL: due_date(APRIL), MAY: due_date(MAY)}
    members = (
        member(today, PAID_TO_MARCH, participant_id="p1", funders=MANDIRI_APRIL_TO_MAY),
        member(today, through_may, participant_id="p2", funders=SPONSORED),
        member(today, PAID_TO_MARCH, participant_id="p3", funders=SPONSORED),
    )
    notices = arrears_notices(today, *members)
    assert {k: (str(r.period), r.amount) for k, r in notices.items()} == {
        (Kind.ARREARS_2, "p1"): ("2026-05", 33_600),
        (Kind.ARREARS_1, SPONSOR): ("2026-06", 33_600),
        (Kind.ARREARS_3, SPONSOR): ("2026-06", 50_400),
    }
    assert "iuran 2 peserta" in notices[(Kind.ARREARS_1, SPONSOR)].message
    assert "iuran 1 peserta" in notices[(Kind.ARREARS_3, SPONSOR)].message


def test_the_months_named_for_the_worker() -> None:
    """Months in arrears need not be consecutive: April is the worker's, May the sponsor's
    (paid), June the worker's again."""
    changes = (
        FunderChange(APRIL, "mandiri"),
        FunderChange(MAY, "apbd_kabupaten"),
        FunderChange(JUNE, "mandiri"),
    )
    today = date(2026, 6, 20)
    worker = member(today, PAID_TO_MARCH | {MAY: due_date(MAY)}, funders=changes)
    [notice] = arrears_notices(today, worker).values()
    assert (notice.kind, notice.period, notice.amount) == (Kind.ARREARS_2, JUNE, 33_600)
    assert "tertunggak 2 bulan (April 2026 dan Juni 2026), sebesar Rp33.600" in notice.message


# -- the sponsor's blocks and budget period ---------------------------------------------------


def test_the_sponsor_hears_two_weeks_before_a_block_falls_due() -> None:
    """Kepahiang: 1,984 workers at Rp16,800, the first block (Oct..Dec 2025) paid."""
    today = date(2026, 1, 1)  # the block Jan..Mar 2026 is due Thursday 15 January
    paid = {OCT + i: date(2025, 10, 1) for i in range(3)}
    one = member(today, paid, funders=SPONSORED)
    members = [msgspec.structs.replace(one, participant_id=f"p{i}") for i in range(1984)]
    [block] = [r for r in due(today, *members) if r.kind is Kind.SPONSOR_BLOCK_DUE]
    assert (block.period, block.amount, block.due_on) == (
        Month(2026, 1), 1984 * 16_800 * 3, date(2026, 1, 15)
    )  # fmt: skip
    assert block.message == (
        "Yth. APBD Kabupaten Kepahiang: iuran BPJS Ketenagakerjaan 1.984 peserta Pekerja Rentan "
        "Kepahiang 2025 untuk Januari sampai Maret 2026 sebesar Rp99.993.600 jatuh tempo "
        "15 Januari 2026."
    )
    assert not [r for r in due(date(2025, 12, 31), one) if r.kind is Kind.SPONSOR_BLOCK_DUE]


def test_a_paid_block_and_self_paying_members_are_not_asked_of_the_sponsor() -> None:
    today = date(2026, 1, 1)
    paid = {OCT + i: date(2025, 10, 1) for i in range(6)}  # through March 2026
    assert not due(today, member(today, paid, funders=SPONSORED))
    self_paying = member(today, {OCT + i: date(2025, 10, 1) for i in range(3)})
    assert not [r for r in due(today, self_paying) if r.kind is Kind.SPONSOR_BLOCK_DUE]


def test_the_sponsor_hears_thirty_days_before_the_budget_period_ends() -> None:
    cohort = msgspec.structs.replace(KEPAHIANG, coverage_end=date(2025, 12, 31))
    paid = {OCT + i: date(2025, 10, 1) for i in range(3)}
    on = date(2025, 12, 1)
    [end] = due(on, member(on, paid, funders=SPONSORED), cohort=cohort)
    assert (end.kind, end.period, end.amount, end.due_on) == (
        Kind.SPONSOR_BUDGET_PERIOD_END, Month(2025, 12), None, date(2025, 12, 31)
    )  # fmt: skip
    assert "berakhir 31 Desember 2025" in end.message and "1 peserta" in end.message
    before = date(2025, 11, 30)
    assert not due(before, member(before, paid, funders=SPONSORED), cohort=cohort)


# -- properties --------------------------------------------------------------------------------

_ARREARS_KINDS = (Kind.ARREARS_1, Kind.ARREARS_2, Kind.ARREARS_3)
_PERSONAL = re.compile(r"[0-9]{8,}")  # a phone number or NIK would be a long run of digits
_RUPIAH = re.compile(r"Rp[0-9]{1,3}(\.[0-9]{3})*\b")


@st.composite
def histories(draw: st.DrawFn) -> tuple[date, list[Member]]:
    today = date(2025, 10, 1) + timedelta(days=draw(st.integers(0, 500)))
    members = []
    for n in range(draw(st.integers(1, 4))):
        start = OCT + draw(st.integers(0, 3))
        months = [start + i for i in range(max(0, start.months_until(Month.of(today))) + 2)]
        paid = {
            month: due_date(month) + timedelta(days=draw(st.integers(-20, 60)))
            for month in months
            if draw(st.booleans())
        }
        changes = draw(st.lists(st.builds(
            FunderChange, st.builds(lambda k: OCT + k, st.integers(0, 14)),
            st.sampled_from(["mandiri", "apbd_kabupaten", "apbd_provinsi"]),
        ), max_size=3))  # fmt: skip
        members.append(
            member(today, paid, participant_id=f"p{n}", funders=tuple(changes), start=start)
        )
    return today, members


@settings(max_examples=150, deadline=None)
@given(histories())
def test_properties_of_the_reminders_due(case: tuple[date, list[Member]]) -> None:
    today, members = case
    reminders = due(today, *members)
    keys = [(r.recipient_id, r.period, r.kind) for r in reminders]
    assert len(keys) == len(set(keys)), "one reminder per recipient, period and kind"
    by_id = {m.participant_id: m for m in members}
    for r in reminders:
        assert r.reminder_id == reminder_id(r.recipient_id, r.period, r.kind)
        assert "p0" not in r.message and not _PERSONAL.search(r.message)
        for amount in re.findall(r"Rp\S+", r.message):
            assert _RUPIAH.match(amount), amount
        worker = by_id.get(r.participant_id or "")
        if worker is not None:
            assert worker.status in ("active", "in_arrears")
            if r.kind is not Kind.MEMBERSHIP_ENDING:
                assert worker.self_paying(r.period)
        elif r.kind in _ARREARS_KINDS:  # to the sponsor: the unpaid month is one it funds
            assert any(not m.self_paying(r.period) for m in members)
        if r.kind in _ARREARS_KINDS:
            assert due_date(r.period) < today, "arrears only for a month past its due date"
            if worker is not None:
                assert r.period not in worker.paid_months, "no arrears notice for a paid month"
                theirs = [o for o in worker.arrears if worker.self_paying(o.month)]
                assert r.amount == sum(o.amount for o in theirs) > 0
                assert r.kind is _ARREARS_KINDS[len(theirs) - 1]
        if r.kind is Kind.SELF_PAY_DUE:
            assert worker is not None and r.period not in worker.paid_months
            assert today < r.due_on <= today + timedelta(days=DEFAULT_POLICY.self_pay_reminder_days)
            assert r.amount == contribution_due(INCOME, ("JKK", "JKM"), r.period).total
    # Every month in arrears is told once, to its payer: the notices add up to the arrears.
    owing = [m for m in members if m.status in ("active", "in_arrears") and m.lapses_on]
    told = sum(r.amount or 0 for r in reminders if r.kind in _ARREARS_KINDS)
    assert told == sum(m.arrears_amount for m in owing)
    # Whoever paid every month that is due owes nothing and hears nothing about arrears.
    for m in members:
        if m.arrears_months == 0:
            assert not [r for r in reminders if r.participant_id == m.participant_id
                        and r.kind not in (Kind.SELF_PAY_DUE,)]  # fmt: skip


def notice_before_per_payer(today: date, m: Member) -> tuple[str, Month, Kind] | None:
    """The arrears notice as the rule gave it before notices were per payer (commit
    cef8333): its level from all the member's months in arrears, its period the latest
    unpaid month past its due date, to whoever pays that month. As (recipient, period, kind):
    what its reminder id is made of."""
    if m.status not in ("active", "in_arrears") or m.arrears_months < 1 or m.lapses_on is None:
        return None
    month = Month.of(today)
    overdue = month if due_date(month) < today else month - 1
    back = (Month.from_index(i) for i in range(overdue.index, m.member_since.index - 1, -1))
    unpaid = next((x for x in back if x not in m.paid_months), None)
    if unpaid is None:
        return None
    recipient = m.participant_id if m.self_paying(unpaid) else SPONSOR
    return recipient, unpaid, _ARREARS_KINDS[min(m.arrears_months, 3) - 1]


@settings(max_examples=150, deadline=None)
@given(histories())
def test_a_member_with_one_payer_keeps_the_reminder_id_it_had(
    case: tuple[date, list[Member]],
) -> None:
    """Notices already sent are not sent again after the change to per-payer notices: for a
    member whose months in arrears all have one payer (every member but those with two payers
    in arrears at once), the notice has the recipient, period and kind, so the id, that the
    earlier rule gave it (the outbox finds its stream and schedules nothing)."""
    today, members = case
    ids = {r.reminder_id for r in due(today, *members)}
    for m in members:
        before = notice_before_per_payer(today, m)
        if before is None or len({m.self_paying(o.month) for o in m.arrears}) != 1:
            continue
        assert reminder_id(*before) in ids, (m, before)


def test_payer_of_and_the_reminders_name_the_same_payer_for_every_month() -> None:
    """One rule (services/domain/funders.py) on both sides, for months before, during and
    after the budget period, under any of these histories of funder."""
    histories_of_funder = [
        (),
        mandiri_from(Month(2026, 10)),  # after the budget period (ends September 2026)
        MANDIRI_APRIL_TO_MAY,
        (FunderChange(Month(2026, 11), "mandiri"), FunderChange(Month(2026, 2), "apbd_provinsi")),
    ]
    for changes in histories_of_funder:
        row = {"funders": [str(c) for c in changes]}
        for month in (OCT + i for i in range(24)):
            worker_pays = member(date(2025, 10, 1), funders=changes).self_paying(month)
            assert worker_pays == self_paying(changes, month)
            assert payer_of(row, month) == ("participant" if worker_pays else "sponsor")
