"""Which premium reminders are due today: pure decisions over participants' and cohorts' facts.

domain.md "Reminders": the sponsor hears before a block of months falls due and before the
budget period ends; a self-paying worker before the month's due date (the 15th, or the next
working day); whoever pays a month hears of the months *it* owes when they are 1, 2 and 3
months in arrears, and gets a last notice before the membership ends. A member whose months in
arrears have two payers (mandiri April and May, the regency's budget June) makes two notices,
each with that payer's months, amount and level; the sponsor's are summed over its members as
its other reminders are. Arrears and the lapse date come from the participant's standing
(services/domain/coverage.py through the read model), never from rules of our own.

Each reminder is due for a *window* of days (from N days before its date, policy), so a job that
missed a day still sends it; it is identified by (recipient, period, kind), so sending it once
per window is the outbox's job (services/reminders.py), not this module's. Messages are in
Bahasa Indonesia and hold no personal data: no name, NIK or phone, only amounts, months, dates
and the names of cohorts and sponsors (institutions). There is no late fine for BPU, so none is
ever mentioned. Who pays a month is the funder in force for it (services/domain/funders.py),
the rule dues and the cohort budget use too: a month after the cohort's budget period is still
its sponsor's unless the worker changed funder to mandiri, and the sponsor is told before the
period ends that such months go unpaid otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from enum import StrEnum

import msgspec

from services.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar, Month
from services.domain.coverage import ContributionHistory, MonthStatus
from services.domain.funders import FunderChange, self_paying
from services.domain.indonesian import bulan, bulan_range, tanggal
from services.domain.money import number, rupiah
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.rates import contribution_due

_REMINDER_NAMESPACE = uuid.UUID("5b0c6d3e-8f0b-4a51-9a8e-2f9e6b1c7d40")
_ACTIVE = ("active", "in_arrears")


class Kind(StrEnum):
    SELF_PAY_DUE = "self_pay_due"
    ARREARS_1 = "arrears_1"
    ARREARS_2 = "arrears_2"
    ARREARS_3 = "arrears_3"
    MEMBERSHIP_ENDING = "membership_ending"
    SPONSOR_BLOCK_DUE = "sponsor_block_due"
    SPONSOR_BUDGET_PERIOD_END = "sponsor_budget_period_end"


_ARREARS = (Kind.ARREARS_1, Kind.ARREARS_2, Kind.ARREARS_3)


# -- facts in, reminders out -------------------------------------------------------------------


class OwedMonth(msgspec.Struct, frozen=True):
    """A month in arrears (past its due date, not fully paid, still payable) and what is still
    to pay for it."""

    month: Month
    amount: int


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """A participant as the reminders see them today: facts from their read-model row and
    their standing as of today. Holds no personal data, so no message can leak any."""

    participant_id: str
    cohort_id: str
    status: str  # the standing's status_as_of: only "active" and "in_arrears" get reminders
    member_since: Month  # first month of the current membership
    funders: tuple[FunderChange, ...]  # every change of funder, in the order recorded
    declared_income: int
    programmes: tuple[str, ...]
    paid_months: frozenset[Month]  # months whose contribution is complete
    arrears: tuple[OwedMonth, ...]  # the months in arrears, in month order
    lapses_on: date | None  # if nothing more is paid, the first day no longer a member

    @classmethod
    def of(
        cls,
        participant_id: str,
        cohort_id: str,
        status: str,
        history: ContributionHistory,
        *,
        funders: tuple[FunderChange, ...],
        declared_income: int,
        programmes: tuple[str, ...],
    ) -> Member:
        """A member from their standing: its status and contribution history as of today."""
        return cls(
            participant_id=participant_id,
            cohort_id=cohort_id,
            status=status,
            member_since=history.periods[-1].start_month,
            funders=funders,
            declared_income=declared_income,
            programmes=programmes,
            paid_months=frozenset(r.month for r in history.months if r.paid_on is not None),
            arrears=tuple(
                OwedMonth(r.month, r.shortfall)
                for r in history.months
                if r.status is MonthStatus.IN_ARREARS
            ),
            lapses_on=history.lapses_on,
        )

    @property
    def arrears_months(self) -> int:
        return len(self.arrears)

    @property
    def arrears_amount(self) -> int:
        return sum(owed.amount for owed in self.arrears)

    def self_paying(self, month: Month) -> bool:
        """Whether the worker pays `month` themself by the funder in force for it (else the
        cohort's sponsor does, as before any change of funder, and after its budget period
        too: services/domain/funders.py, as projections/contributions.py `payer_of`)."""
        return self_paying(self.funders, month)

    def owes(self, month: Month, calendar: BusinessCalendar) -> bool:
        """Whether `month` is still to pay: a month of this membership, unpaid, and the
        membership does not end before it falls due."""
        return (
            month >= self.member_since
            and month not in self.paid_months
            and (self.lapses_on is None or self.lapses_on > calendar.due_date(month))
        )

    def amount_due(self, month: Month) -> int:
        return contribution_due(self.declared_income, self.programmes, month).total


class Cohort(msgspec.Struct, frozen=True, kw_only=True):
    cohort_id: str
    name: str
    sponsor: str  # an institution, e.g. "APBD Kabupaten Kepahiang"
    budget_year: int
    coverage_start: date
    coverage_end: date


class DueReminder(msgspec.Struct, frozen=True, kw_only=True):
    """A reminder due today. `recipient_id` is the participant, or `sponsor-<cohort_id>`."""

    reminder_id: str
    kind: Kind
    period: Month
    recipient_id: str
    participant_id: str | None  # None: to the cohort's sponsor
    cohort_id: str
    message: str
    amount: int | None
    due_on: date  # pay by this day


def sponsor_recipient(cohort_id: str) -> str:
    """The recipient (and data subject of the contact address) of a cohort's sponsor."""
    return f"sponsor-{cohort_id}"


def reminder_id(recipient_id: str, period: Month, kind: Kind) -> str:
    """Deterministic, so the same reminder decided twice is recognised as one."""
    return str(uuid.uuid5(_REMINDER_NAMESPACE, f"{recipient_id}|{period}|{kind.value}"))


def due_reminders(
    today: date,
    members: Iterable[Member],
    cohorts: Iterable[Cohort],
    policy: Policy = DEFAULT_POLICY,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> list[DueReminder]:
    """Every reminder due today, at most one per (recipient, period, kind)."""
    by_cohort: dict[str, list[Member]] = {}
    for member in members:
        if member.status in _ACTIVE:
            by_cohort.setdefault(member.cohort_id, []).append(member)
    found: dict[str, DueReminder] = {}
    for cohort in cohorts:
        cohort_members = by_cohort.get(cohort.cohort_id, [])
        for reminder in _for_cohort(today, cohort, cohort_members, policy, calendar):
            found.setdefault(reminder.reminder_id, reminder)
    return list(found.values())


def _for_cohort(
    today: date,
    cohort: Cohort,
    members: list[Member],
    policy: Policy,
    calendar: BusinessCalendar,
) -> Iterator[DueReminder]:
    sponsor_arrears: dict[tuple[Kind, Month], list[_Arrears]] = {}
    for member in members:
        yield from _self_pay_due(today, member, policy, calendar)
        for notice in _arrears(today, member, policy):
            if notice.to_worker:
                yield _to_worker(member, notice)
            else:
                sponsor_arrears.setdefault((notice.kind, notice.period), []).append(notice)
    for notices in sponsor_arrears.values():
        yield _to_sponsor(cohort, notices)
    yield from _block_due(today, cohort, members, policy, calendar)
    yield from _budget_period_end(today, cohort, members, policy)


# -- the rules ----------------------------------------------------------------------------------


def next_due_month(today: date, calendar: BusinessCalendar = DEFAULT_CALENDAR) -> Month:
    """The first month whose due date is after today."""
    month = Month.of(today)
    return month if calendar.due_date(month) > today else month + 1


def _self_pay_due(
    today: date, member: Member, policy: Policy, calendar: BusinessCalendar
) -> Iterator[DueReminder]:
    month = next_due_month(today, calendar)
    due_on = calendar.due_date(month)
    if (
        member.self_paying(month)
        and member.owes(month, calendar)
        and today >= due_on - timedelta(days=policy.self_pay_reminder_days)
    ):
        amount = member.amount_due(month)
        message = (
            f"Pengingat iuran BPJS Ketenagakerjaan: iuran bulan {bulan(month)} sebesar "
            f"{rupiah(amount)} jatuh tempo {tanggal(due_on)}. Mohon dibayar paling lambat "
            "tanggal tersebut agar Anda tetap terlindungi."
        )
        yield _reminder(
            member.participant_id, member, Kind.SELF_PAY_DUE, month, message, amount, due_on
        )


class _Arrears(msgspec.Struct, frozen=True, kw_only=True):
    """One payer's arrears notice about one member: the months in arrears that payer owes."""

    kind: Kind
    period: Month  # the latest of `owed`
    to_worker: bool  # the worker pays `owed` (mandiri), else the cohort's sponsor does
    owed: tuple[Month, ...]
    amount: int
    pay_by: date
    lapses_on: date

    @property
    def months(self) -> int:
        return len(self.owed)


def _arrears(today: date, member: Member, policy: Policy) -> Iterator[_Arrears]:
    """Per payer of the member's months in arrears (the funder in force for each month), a
    notice of that payer's months only: its level is how many of them there are (1, 2, 3),
    its period the latest of them; and in the days before the lapse, a last notice to each
    payer that owes any (either paying its months breaks the run of unpaid months).

    The reminder id already names the payer (its recipient). A member whose months in arrears
    all have one payer gets the recipient, level and period, so the id, that the rule before
    per-payer notices gave (the latest unpaid month's payer told of all of them): a notice
    already sent is not sent again. Only members with two payers in arrears at once, whom that
    rule told wrongly, get notices under ids not seen before."""
    if member.lapses_on is None:
        return
    by_payer: dict[bool, list[OwedMonth]] = {}
    for owed in member.arrears:
        by_payer.setdefault(member.self_paying(owed.month), []).append(owed)
    warn_from = member.lapses_on - timedelta(days=policy.membership_ending_reminder_days)
    for to_worker, owed in by_payer.items():
        common = {
            "to_worker": to_worker,
            "owed": tuple(o.month for o in owed),
            "amount": sum(o.amount for o in owed),
            "pay_by": member.lapses_on - timedelta(days=1),
            "lapses_on": member.lapses_on,
        }
        kind = _ARREARS[min(len(owed), len(_ARREARS)) - 1]
        yield _Arrears(kind=kind, period=max(o.month for o in owed), **common)
        if warn_from <= today < member.lapses_on:
            period = Month.of(member.lapses_on - timedelta(days=1))
            yield _Arrears(kind=Kind.MEMBERSHIP_ENDING, period=period, **common)


def _months_named(months: tuple[Month, ...]) -> str:
    """Months as a worker's notice names them: "Juni 2026", "April sampai Mei 2026",
    "April 2026 dan Juni 2026"."""
    first, last = months[0], months[-1]
    if len(months) == 1:
        return bulan(first)
    if first.months_until(last) == len(months) - 1:
        return bulan_range(first, last)
    return ", ".join(map(bulan, months[:-1])) + f" dan {bulan(last)}"


def _to_worker(member: Member, notice: _Arrears) -> DueReminder:
    """The worker hears of their own months only, by name: the sponsor's are not theirs."""
    owed = (
        f"tertunggak {notice.months} bulan ({_months_named(notice.owed)}), "
        f"sebesar {rupiah(notice.amount)}"
    )
    if notice.kind is Kind.MEMBERSHIP_ENDING:
        message = (
            f"Pemberitahuan terakhir BPJS Ketenagakerjaan: iuran Anda {owed}. Bayar paling "
            f"lambat {tanggal(notice.pay_by)}; jika tidak, kepesertaan Anda berakhir mulai "
            f"{tanggal(notice.lapses_on)} dan pendaftaran ulang dimulai dari awal."
        )
    else:
        message = (
            f"Iuran BPJS Ketenagakerjaan Anda {owed}. Bayar paling lambat "
            f"{tanggal(notice.pay_by)} agar kepesertaan Anda tidak berakhir. Kecelakaan kerja "
            "pada bulan yang belum dibayar tidak ditanggung."
        )
    return _reminder(
        member.participant_id,
        member,
        notice.kind,
        notice.period,
        message,
        notice.amount,
        notice.pay_by,
    )


def _to_sponsor(cohort: Cohort, notices: list[_Arrears]) -> DueReminder:
    """One notice to the sponsor for all its members with the same kind of notice."""
    first = notices[0]
    amount = sum(n.amount for n in notices)
    pay_by = min(n.pay_by for n in notices)
    lapses_on = min(n.lapses_on for n in notices)
    who = f"{number(len(notices))} peserta {cohort.name}"
    if first.kind is Kind.MEMBERSHIP_ENDING:
        message = (
            f"Pemberitahuan terakhir untuk {cohort.sponsor}: iuran {who} tertunggak sebesar "
            f"{rupiah(amount)}. Bayar paling lambat {tanggal(pay_by)}; jika tidak, "
            f"kepesertaan mereka berakhir mulai {tanggal(lapses_on)}."
        )
    else:
        message = (
            f"Yth. {cohort.sponsor}: iuran {who} tertunggak {first.months} bulan, sebesar "
            f"{rupiah(amount)}. Tunggakan dapat dibayar paling lambat {tanggal(pay_by)}; "
            "setelah itu kepesertaan mereka berakhir."
        )
    return _reminder(
        sponsor_recipient(cohort.cohort_id),
        cohort,
        first.kind,
        first.period,
        message,
        amount,
        pay_by,
    )


def _block_due(
    today: date,
    cohort: Cohort,
    members: list[Member],
    policy: Policy,
    calendar: BusinessCalendar,
) -> Iterator[DueReminder]:
    """Before the next block of months (counted from the coverage start) falls due, what the
    sponsor still owes for it."""
    start, end = Month.of(cohort.coverage_start), Month.of(cohort.coverage_end)
    first = next_due_month(today, calendar)
    blocks_before = max(0, -(-start.months_until(first) // policy.sponsor_block_months))
    block = start + blocks_before * policy.sponsor_block_months
    due_on = calendar.due_date(block)
    if block > end or today < due_on - timedelta(days=policy.sponsor_block_reminder_days):
        return
    last = min(block + policy.sponsor_block_months - 1, end)
    months = [Month.from_index(i) for i in range(block.index, last.index + 1)]
    amount, participants = 0, 0
    for member in members:
        owed = [m for m in months if not member.self_paying(m) and member.owes(m, calendar)]
        amount += sum(member.amount_due(m) for m in owed)
        participants += bool(owed)
    if not amount:
        return
    span = bulan(block) if block == last else bulan_range(block, last)
    message = (
        f"Yth. {cohort.sponsor}: iuran BPJS Ketenagakerjaan {number(participants)} peserta "
        f"{cohort.name} untuk {span} sebesar {rupiah(amount)} jatuh tempo {tanggal(due_on)}."
    )
    yield _reminder(
        sponsor_recipient(cohort.cohort_id),
        cohort,
        Kind.SPONSOR_BLOCK_DUE,
        block,
        message,
        amount,
        due_on,
    )


def _budget_period_end(
    today: date, cohort: Cohort, members: list[Member], policy: Policy
) -> Iterator[DueReminder]:
    """Before the coverage period ends: how many sponsored workers lose their cover then."""
    end = cohort.coverage_end
    if not end - timedelta(days=policy.budget_period_end_reminder_days) <= today <= end:
        return
    funded = sum(1 for m in members if not m.self_paying(Month.of(end)))
    if not funded:
        return
    message = (
        f"Yth. {cohort.sponsor}: masa anggaran {cohort.name} (tahun anggaran "
        f"{cohort.budget_year}) berakhir {tanggal(end)}. Iuran {number(funded)} peserta yang "
        "ditanggung tidak dibayar lagi setelah tanggal itu, kecuali anggaran dilanjutkan atau "
        "peserta beralih membayar sendiri (mandiri)."
    )
    yield _reminder(
        sponsor_recipient(cohort.cohort_id),
        cohort,
        Kind.SPONSOR_BUDGET_PERIOD_END,
        Month.of(end),
        message,
        None,
        end,
    )


def _reminder(
    recipient_id: str,
    about: Member | Cohort,
    kind: Kind,
    period: Month,
    message: str,
    amount: int | None,
    due_on: date,
) -> DueReminder:
    return DueReminder(
        reminder_id=reminder_id(recipient_id, period, kind),
        kind=kind,
        period=period,
        recipient_id=recipient_id,
        participant_id=about.participant_id if isinstance(about, Member) else None,
        cohort_id=about.cohort_id,
        message=message,
        amount=amount,
        due_on=due_on,
    )
