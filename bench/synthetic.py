"""Synthetic Kepahiang data for benchmarks, demos and officer pages: deterministic per seed.

`plan(...)` decides everything up front and purely (same seed, same size, same end: the same
people, cohorts, fates, payments, accidents and claims); `generate(...)` plays that plan
through the real write side, month by month up to `now`:

- people with valid NIKs (Kepahiang 17.08, the district digits of a Kepahiang kecamatan,
  birth date with +40 for women, serials from a seed-dependent offset so two seeds rarely
  collide), Indonesian names, phones, kecamatan/desa codes of services/data, occupations from
  the registration list, declared incomes of at least Rp1.000.000, a priority flag;
- cohorts of at most 1,984 (the reference case first: APBD Kabupaten Kepahiang paid
  Rp100.000.000 for the first three months, then the workers pay for themselves), the others
  alternately paid by the province every quarter, or by the regency for one block and then
  by the workers; about 6% more registrations than slots, so there is a waiting list;
- `Registrar.register_many` (chunks, sealed personal data), `leave` (withdrawals, moves,
  formal jobs, deaths; the waiting list moves up), `rejoin` after a lapse, roll-over to a new
  budget year in January; `Cashier.pay` for every sponsor block and top-up, `Cashier.reverse`
  for bounced payments; `ClaimsDesk` for accidents (Stage I/II, some late) and JKK/JKM claims
  driven to every state of the claim decider.

The one shortcut, for the commands there are one per participant or more: the workers' own
monthly payments (most of the log at full size), the KPJ numbers and the change of funder are
not sent one by one through `Cashier.pay`, `Registrar.record_kpj` and `change_funder`, whose
two or three round trips each would take most of an hour for 100,000 participants (measured:
700 KPJs/s). They are decided by the write side's own pure functions (`validate_payment` and
`decide_payment`, `participants.decide_kpj` and `decide_funder`) and appended in batches
with `EventStore.append_many` as the handlers append them (a payment's stream expected new,
each share to its participant's stream), but at ANY rather than at a version read first (the
generator is the only writer), and with one correlation id per batch
(tests/bench/test_synthetic.py checks that the events equal the Cashier's).

Claim decisions (decide, approve, reject, pay, reopen) are dated when the generator runs: the
ClaimsDesk decides "now" from the participant's history as known now. Everything else carries
its simulated business time (`occurred_at`, `paid_at`, `received_at`, ...).

The people who act (claim officers, their supervisor, the registrar, the administrator:
`DEMO_ACCOUNTS`) are recorded as the API records a logged-in user, `user:<username>`, and a
claim's officer the same way, so the pages and the board's officer filter find them;
`demo_accounts` gives them accounts to log in with.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TypeVar

import msgspec

from events.personal import LookupHasher
from events.store import ANY, NO_STREAM, Context, EventStore, StreamAppend
from events.types import Event
from services import participants
from services.access import Principal, Role, actor_for
from services.auth import Accounts
from services.claim_decider import jkk_claim_id, jkm_claim_id
from services.claim_documents import required_documents
from services.claims import ClaimsDesk
from services.commands import (
    ApproveClaim,
    AssignClaim,
    ChangeFunder,
    CreateCohort,
    DecideClaim,
    FileDeathClaim,
    HeirStatement,
    LeaveCohort,
    NameHeirs,
    OpenCohort,
    PayContributions,
    ReceiveClaimDocument,
    RecordClaimPayment,
    RecordKpj,
    RegisterWorker,
    RejectClaim,
    Rejoin,
    ReopenClaim,
    ReportAccident,
    ReportAccidentOutcome,
    ReturnClaim,
    ReversePayment,
    RollOverCohort,
    StartVerification,
    StmbPeriod,
    SubmitClaim,
    WitnessStatement,
)
from services.contributions import (
    Cashier,
    Member,
    decide_payment,
    payment_stream,
    validate_payment,
)
from services.domain.calendar import JAKARTA, Month, business_date
from services.domain.errors import DomainError, Duplicate, NotFound
from services.domain.policy import DEFAULT_POLICY, Policy
from services.domain.rates import contribution_due
from services.domain.regions import Regions, default_regions
from services.registration import OCCUPATIONS, Registrar
from services.streams import participant_stream
from services.users import CreateUser

GENERATOR_VERSION = 3
"""Bump whenever the same plan would write other events: cached benchmark logs are rebuilt."""

REFERENCE_QUOTA = 1984
REFERENCE_BLOCK_PAID = 100_000_000
"""domain.md: Rp100 juta paid for the reference cohort's first three months."""
WAITLIST_SHARE = 0.06  # more than leave in a year: some still wait at the end
LEAVING_PER_MONTH = 0.0025  # withdrawal, moved away, formal job: about 3% a year
DEATH_PER_MONTH = 0.0003
ACCIDENTS_PER_MONTH = 0.001
MIN_CLAIMS = 14
"""Enough claims for every target state, even in a small demo."""
SELF_PAYMENTS_PER_APPEND = 400

# -- reference data ----------------------------------------------------------------------------

MALE_NAMES = (
    "Ahmad", "Agus", "Andi", "Anton", "Bambang", "Budi", "Darmawan", "Dedi", "Edi", "Eko",
    "Fajar", "Hendra", "Heri", "Herman", "Irwan", "Iwan", "Jamaludin", "Joko", "Junaidi",
    "Khairul", "Marzuki", "Mulyadi", "Nasrul", "Rahmat", "Ridwan", "Rudi", "Samsul", "Slamet",
    "Sugianto", "Suparman", "Syahrial", "Taufik", "Ujang", "Wahyu", "Yanto", "Yusuf",
    "Zulkifli", "Asril", "Darusman", "Hasan", "Ismail", "Kasmadi", "Rusli", "Sapri", "Tarmizi",
)  # fmt: skip
FEMALE_NAMES = (
    "Siti", "Aminah", "Dewi", "Eka", "Fitri", "Lestari", "Nurhayati", "Rina", "Sri", "Suryani",
    "Yuliana", "Wati", "Murni", "Rosmiati", "Dahlia", "Erni", "Marlina", "Nurlela", "Rahmawati",
    "Sumarni", "Yanti", "Hartini", "Lina", "Maryam", "Ratna", "Sulastri", "Asmawati", "Elvi",
    "Juwita", "Kartini", "Misnawati", "Rosita", "Sukarti", "Yusnidar", "Zubaidah",
)  # fmt: skip
MALE_SECOND_NAMES = (
    "Saputra", "Wijaya", "Pratama", "Hidayat", "Santoso", "Susanto", "Gunawan", "Setiawan",
    "Kurniawan", "Syahputra", "Firmansyah", "Ramadhan", "Hakim", "Effendi", "Sutrisno",
)  # fmt: skip
FEMALE_SECOND_NAMES = (
    "Lestari", "Wulandari", "Handayani", "Sari", "Puspita", "Rahayu", "Susanti", "Yulianti",
    "Oktaviani", "Anggraini", "Safitri", "Purnamasari", "Herawati", "Novita",
)  # fmt: skip
PHONE_PREFIXES = (
    "0811", "0812", "0813", "0821", "0822", "0823", "0852", "0853", "0814", "0815", "0816",
    "0855", "0856", "0857", "0858", "0817", "0818", "0819", "0859", "0877", "0878", "0831",
    "0838", "0895", "0896", "0897", "0881", "0882",
)  # fmt: skip
OCCUPATION_MIX: dict[str, tuple[int, float]] = {
    # occupation: (weight, share of women). Kepahiang is coffee country: farm labour first.
    "buruh tani": (30, 0.45), "ojek": (18, 0.03), "pedagang kaki lima": (14, 0.6),
    "buruh harian lepas": (14, 0.3), "kuli angkut": (8, 0.05), "juru parkir": (4, 0.1),
    "pemulung": (3, 0.4), "becak": (2, 0.02), "nelayan": (2, 0.05),
}  # fmt: skip
assert set(OCCUPATION_MIX) == set(OCCUPATIONS)
INCOMES = ((1_000_000, 60), (1_200_000, 8), (1_500_000, 15), (2_000_000, 10), (2_500_000, 4),
           (3_000_000, 3))  # fmt: skip
SELF_PAY_CHANNELS = ("virtual_account", "teller", "agen_perisai", "minimarket", "qris")
REGENCY = "APBD Kabupaten Kepahiang"
PROVINCE = "APBD Provinsi Bengkulu"


class DemoAccount(msgspec.Struct, frozen=True):
    """Someone at the Dinas Sosial who acts in the generated history, and the account they log
    in with (`jaga demo seed` makes it): on events they are `user:<username>`, as through the
    API."""

    username: str
    display_name: str
    role: Role

    @property
    def actor(self) -> str:
        return actor_for(self.username)


DEMO_ACCOUNTS = (
    DemoAccount("ani", "Ani Lestari", Role.CLAIM_OFFICER),
    DemoAccount("budi", "Budi Santoso", Role.CLAIM_OFFICER),
    DemoAccount("citra", "Citra Wulandari", Role.CLAIM_OFFICER),
    DemoAccount("dedi", "Dedi Kurniawan", Role.CLAIM_OFFICER),
    DemoAccount("dewi", "Dewi Anggraini", Role.SUPERVISOR),
    DemoAccount("rina", "Rina Safitri", Role.REGISTRAR),
    DemoAccount("hendra", "Hendra Gunawan", Role.ADMIN),
)
OFFICERS = tuple(a.actor for a in DEMO_ACCOUNTS if a.role is Role.CLAIM_OFFICER)
SUPERVISOR = actor_for("dewi")
REGISTRAR_ACTOR = actor_for("rina")
ADMIN_ACTOR = actor_for("hendra")


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """One synthetic worker as the regency's list would name them."""

    nik: str
    name: str
    birth_date: date
    sex: str
    phone: str
    kecamatan: str
    desa: str
    occupation: str
    declared_income: int
    priority: bool

    def register(self, cohort_id: str) -> RegisterWorker:
        return RegisterWorker(
            cohort_id=cohort_id, nik=self.nik, name=self.name, birth_date=self.birth_date,
            sex=self.sex, phone=self.phone, kecamatan=self.kecamatan, desa=self.desa,
            occupation=self.occupation, declared_income=self.declared_income,
            priority=self.priority,
        )  # fmt: skip


class _NikIssuer:
    """Valid, distinct NIKs: a serial per (district, birth date digits), from an offset that
    depends on the seed, so that two seeds' people rarely share a NIK."""

    def __init__(self, seed: int) -> None:
        self._next: dict[str, int] = {}
        self._first = 1 + (seed % 90) * 100

    def issue(self, district: str, born: date, sex: str) -> str:
        day = born.day + (40 if sex == "P" else 0)
        prefix = f"17{'08'}{district}{day:02d}{born:%m}{born.year % 100:02d}"
        serial = self._next.get(prefix, self._first)
        self._next[prefix] = serial + 1
        return f"{prefix}{serial:04d}"


def _name(rng: random.Random, sex: str) -> str:
    first = rng.choice(FEMALE_NAMES if sex == "P" else MALE_NAMES)
    if rng.random() < 0.15:  # many Indonesians have a single name
        return first
    return f"{first} {rng.choice(FEMALE_SECOND_NAMES if sex == 'P' else MALE_SECOND_NAMES)}"


def _phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(10**7, 10**8)}"


def people(
    seed: int, count: int, today: date, *, minimum_income: int = 0, regions: Regions | None = None
) -> list[Person]:
    """`count` distinct workers living in the regency's villages, aged 18 to 62 on `today`.
    The first `minimum_income` of them declare the minimum income (the reference cohort)."""
    regions = regions or default_regions()
    rng = random.Random(f"people/{seed}")
    villages = sorted(regions.desa.values(), key=lambda d: d.code)
    districts = sorted(regions.kecamatan)
    occupations = list(OCCUPATION_MIX)
    weights = [OCCUPATION_MIX[o][0] for o in occupations]
    incomes, income_weights = zip(*INCOMES, strict=True)
    issuer = _NikIssuer(seed)
    found = []
    for n in range(count):
        occupation = rng.choices(occupations, weights)[0]
        sex = "P" if rng.random() < OCCUPATION_MIX[occupation][1] else "L"
        age_days = int(rng.triangular(18, 62, 38) * 365.25)
        born = today - timedelta(days=age_days)
        village = rng.choice(villages)
        issued_in = village.kecamatan_code if rng.random() < 0.85 else rng.choice(districts)
        income = 1_000_000 if n < minimum_income else rng.choices(incomes, income_weights)[0]
        found.append(
            Person(
                nik=issuer.issue(issued_in[-2:], born, sex), name=_name(rng, sex),
                birth_date=born, sex=sex, phone=_phone(rng), kecamatan=village.kecamatan_code,
                desa=village.code, occupation=occupation, declared_income=income,
                priority=rng.random() < 0.12,
            )
        )  # fmt: skip
    return found


# -- the plan (pure) ---------------------------------------------------------------------------


class Funding(StrEnum):
    SPONSOR = "sponsor"
    """The sponsor pays a block of three months every quarter."""
    ONE_BLOCK = "one_block"
    """The sponsor pays the first three months, then the workers pay for themselves."""


class Profile(StrEnum):
    """How a worker who pays for themself pays."""

    DILIGENT = "diligent"  # every month, before the due date
    ADVANCE = "advance"  # three months at a time, ahead
    LATE = "late"  # every month, often after the due date
    IRREGULAR = "irregular"  # skips a month or two, then catches up
    STOPS = "stops"  # stops paying; the membership lapses; some rejoin later


PROFILES = ((Profile.DILIGENT, 55), (Profile.ADVANCE, 10), (Profile.LATE, 17),
            (Profile.IRREGULAR, 12), (Profile.STOPS, 6))  # fmt: skip
LEAVING_REASONS = ("withdrawal", "moved_away", "formal_employee")

# The states a claim is driven to, in turn (services/claim_decider.py).
CLAIM_TARGETS = (
    "paid", "reported", "documents_incomplete", "submitted", "under_verification", "returned",
    "approved", "rejected", "awaiting_second_approval", "reopened",
)  # fmt: skip
DECIDED = ("approved", "paid", "reopened", "awaiting_second_approval")


class CohortPlan(msgspec.Struct, frozen=True, kw_only=True):
    cohort_id: str
    name: str
    sponsor: str
    quota: int
    programmes: tuple[str, ...]
    legal_basis: tuple[str, ...]
    funding: Funding
    first: int
    """Index of its first registration in `Plan.people`."""
    count: int
    """Registrations: the quota, then the waiting list."""


class Fate(msgspec.Struct, frozen=True, kw_only=True):
    """How a member's membership goes: how they pay, and whether and when they leave."""

    profile: Profile
    leaves_on: date | None = None
    reason: str | None = None
    stops_after: int | None = None
    """STOPS: the last month index they pay for."""
    rejoins_in: int | None = None


class ClaimPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One claim and the state it is driven to."""

    kind: str  # JKK / JKM
    person: int
    target: str
    event_at: datetime  # the accident, or the death
    accident_id: str | None = None
    accident_kind: str = "at_work"
    traffic: bool = False
    outcome: str = "death"
    disability_percent: int | None = None
    stage_one_hours: int = 20
    doctor_days: int = 10
    stage_two_hours: int = 20
    documents_days: int = 6
    medical_billed: int = 0
    officer: str = OFFICERS[0]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    seed: int
    now: datetime
    first_month: Month
    months: int
    people: list[Person]
    cohorts: list[CohortPlan]
    fates: dict[int, Fate]
    """Per person index, for those who hold a slot at registration."""
    claims: list[ClaimPlan]

    def month(self, k: int) -> Month:
        return self.first_month + k

    @property
    def registered_on(self) -> datetime:
        """The regency hands its list over a week before the cover starts."""
        return _at(self.first_month.first_day - timedelta(days=7), 9)

    def enrolled(self) -> Iterable[tuple[CohortPlan, int]]:
        """(cohort, person index) of everyone who takes a slot at registration."""
        for cohort in self.cohorts:
            for n in range(cohort.first, cohort.first + cohort.quota):
                yield cohort, n


@cache
def _due(income: int, programmes: tuple[str, ...], month: Month) -> int:
    """A member's contribution for a month (the rate table's arithmetic is slow: remembered)."""
    return contribution_due(income, programmes, month).total


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


def plan(participants: int, *, seed: int = 1, months: int = 6, now: datetime | None = None) -> Plan:
    """Everything the generator will write, decided up front: `participants` slots filled at
    registration (about 6% more wait), `months` months up to the one holding `now`."""
    if participants < 1 or months < 1:
        raise ValueError("at least one participant and one month")
    now = now or datetime.now(UTC)
    last = Month.of(business_date(now))
    first = last - (months - 1)
    rng = random.Random(f"plan/{seed}")
    cohorts: list[CohortPlan] = []
    registered = 0
    left = participants
    while left > 0:
        n = len(cohorts)
        quota = min(REFERENCE_QUOTA, left)
        province = n % 2 == 1
        cohorts.append(
            CohortPlan(
                cohort_id=f"kph{first.year}s{seed}n{n + 1:03d}",
                name=f"Pekerja rentan Kepahiang {first.year} gelombang {n + 1}",
                sponsor=PROVINCE if province else REGENCY,
                quota=quota,
                programmes=("JHT", "JKK", "JKM") if n % 4 == 3 else ("JKK", "JKM"),
                legal_basis=("Inpres 2/2021",) if province else ("Inpres 2/2021", "Inpres 8/2025"),
                funding=Funding.SPONSOR if province else Funding.ONE_BLOCK,
                first=registered,
                count=quota + max(1, round(quota * WAITLIST_SHARE)),
            )
        )
        registered += cohorts[-1].count
        left -= quota
    everyone = people(seed, registered, business_date(now), minimum_income=cohorts[0].count)
    base = Plan(seed=seed, now=now, first_month=first, months=months, people=everyone,
                cohorts=cohorts, fates={}, claims=[])  # fmt: skip
    claims = _claims(base, rng)
    return msgspec.structs.replace(base, fates=_fates(base, claims, rng), claims=claims)


def _day_in(month: Month, rng: random.Random, first: int = 1, last: int = 28) -> date:
    return date(month.year, month.month, rng.randint(first, min(last, month.last_day.day)))


def _covered(cohort: CohortPlan, profile: Profile) -> bool:
    """Whose every month is paid before its due date (a claim on them is eligible)."""
    return cohort.funding is Funding.SPONSOR or profile in (Profile.DILIGENT, Profile.ADVANCE)


def _profiles(plan: Plan, rng: random.Random) -> dict[int, Profile]:
    kinds, weights = zip(*PROFILES, strict=True)
    return {n: rng.choices(kinds, weights)[0] for _, n in plan.enrolled()}


def _claims(plan: Plan, rng: random.Random) -> list[ClaimPlan]:
    """Accidents (JKK) and deaths (JKM) of covered members, each driven to a target state in
    turn. Events happen between a month into the cover and 24 days before `now`, so that
    the reports and documents that follow are all in the past; some of those still being
    worked are recent, so that their SLA is still running."""
    profiles = _profiles(plan, random.Random(f"profiles/{plan.seed}"))
    cohort_of = {n: c for c, n in plan.enrolled()}
    candidates = [n for n, p in profiles.items() if _covered(cohort_of[n], p)]
    member_months = len(profiles) * plan.months
    accidents = max(MIN_CLAIMS, round(member_months * ACCIDENTS_PER_MONTH))
    deaths = max(2, round(member_months * DEATH_PER_MONTH))
    start = _at(plan.first_month.first_day + timedelta(days=31), 8)
    end = plan.now - timedelta(days=24)  # the longest report-to-documents path is 22 days
    if end <= start:
        return []
    span = (end - start).total_seconds()
    victims = rng.sample(candidates, min(len(candidates), accidents + deaths))
    found: list[ClaimPlan] = []
    for i, person in enumerate(victims):
        kind = "JKK" if i < accidents else "JKM"
        target = CLAIM_TARGETS[i % len(CLAIM_TARGETS)]
        if kind == "JKM" and target == "awaiting_second_approval":
            target = "approved"  # a JKM benefit (Rp42 juta) never needs a second officer
        # recent events for claims still being worked, so that some SLAs are still running
        recent = target in ("submitted", "under_verification", "documents_incomplete")
        lo = 0.93 if recent and rng.random() < 0.6 else 0.0
        event_at = start + timedelta(seconds=span * rng.uniform(lo, 1.0))
        event_at = event_at.astimezone(JAKARTA).replace(minute=rng.randrange(60), second=0)
        if kind == "JKM":
            # after the 15th: a death earlier in a month its contribution was not paid for yet
            # is not covered (nobody pays for the dead), and the claim would be rejected
            event_at = event_at.replace(day=rng.randint(16, 28))
            if event_at > end:
                event_at = event_at.replace(
                    month=event_at.month - 1 or 12, year=event_at.year - (event_at.month == 1)
                )
            found.append(ClaimPlan(kind="JKM", person=person, target=target, event_at=event_at,
                                   officer=OFFICERS[i % len(OFFICERS)]))  # fmt: skip
            continue
        outcome, percent = "recovered", None
        if target == "awaiting_second_approval":
            outcome = "death" if i % 2 else "total_permanent_disability"
        elif rng.random() < 0.35:
            outcome, percent = "partial_disability", rng.choice((5, 10, 20, 30, 40))
        traffic = rng.random() < 0.4
        found.append(
            ClaimPlan(
                kind="JKK", person=person, target=target, event_at=event_at,
                accident_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                accident_kind=(
                    "outside_work" if target == "rejected"
                    else "commuting" if traffic else rng.choice(("at_work", "at_work",
                                                                 "occupational_disease"))
                ),
                traffic=traffic, outcome=outcome, disability_percent=percent,
                stage_one_hours=rng.choice((3, 8, 20, 30, 46, 60, 90)),
                doctor_days=rng.randint(2, 10),
                stage_two_hours=rng.choice((5, 20, 40, 70)),
                documents_days=rng.randint(1, 5),
                medical_billed=rng.randrange(1_500_000, 25_000_000, 50_000),
                officer=OFFICERS[i % len(OFFICERS)],
            )
        )  # fmt: skip
    return found


def _fates(plan: Plan, claims: list[ClaimPlan], rng: random.Random) -> dict[int, Fate]:
    """Every slot holder's profile; some leave or die; deaths of claims are fixed by them."""
    profiles = _profiles(plan, random.Random(f"profiles/{plan.seed}"))
    deaths = {
        c.person: business_date(c.event_at + timedelta(days=c.doctor_days if c.kind == "JKK"
                                                       else 0))
        for c in claims
        if c.outcome == "death"
    }  # fmt: skip
    claimants = {c.person for c in claims}
    today = business_date(plan.now)
    last_day = min(today, plan.month(plan.months - 1).last_day)
    fates = {}
    for cohort, n in plan.enrolled():
        profile = profiles[n]
        fate = Fate(profile=profile)
        if n in deaths:
            fate = Fate(profile=profile, leaves_on=deaths[n], reason="death")
        elif n not in claimants:
            for k in range(plan.months):
                roll = rng.random()
                if roll < LEAVING_PER_MONTH + DEATH_PER_MONTH:
                    reason = "death" if roll < DEATH_PER_MONTH else rng.choice(LEAVING_REASONS)
                    day = _day_in(plan.month(k), rng)
                    if day <= last_day:
                        fate = Fate(profile=profile, leaves_on=day, reason=reason)
                    break
        stopping = profile is Profile.STOPS and cohort.funding is Funding.ONE_BLOCK
        if stopping and fate.leaves_on is None:
            last_paid = rng.randint(3, max(3, plan.months - 2))
            rejoins = last_paid + 6 if rng.random() < 0.3 else None
            fate = msgspec.structs.replace(
                fate, stops_after=last_paid,
                rejoins_in=rejoins if rejoins is not None and rejoins < plan.months else None,
            )  # fmt: skip
        fates[n] = fate
    return fates


# -- writing -----------------------------------------------------------------------------------


class SimulatedClock:
    """The write side's clock, moved along the simulated history."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Summary(msgspec.Struct, kw_only=True):
    participants: int = 0
    enrolled: int = 0
    waitlisted: int = 0
    cohorts: int = 0
    events: int = 0
    self_payments: int = 0
    sponsor_payments: int = 0
    reversals: int = 0
    leavers: int = 0
    rejoins: int = 0
    claims: dict[str, int] = msgspec.field(default_factory=dict)
    refused: dict[str, int] = msgspec.field(default_factory=dict)
    """Commands the write side refused, by error type: expected empty."""
    seconds: float = 0.0
    phases: dict[str, float] = msgspec.field(default_factory=dict)


T = TypeVar("T")


async def _each(items: Iterable[T], work: Callable[[T], Awaitable[object]], workers: int) -> None:
    """Run `work` on every item, `workers` at a time."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(workers)))


@dataclass
class _Member:
    """What the generator keeps about a participant as the history unfolds."""

    person: int
    participant_id: str
    cohort: CohortPlan
    fate: Fate
    pays_from: int | None = None
    """Month index from which they pay for themselves (None: the sponsor pays)."""
    owed: list[Month] = field(default_factory=list)
    """Months to catch up on with the next payment (skipped, or before their start)."""
    not_before: datetime | None = None
    """Their membership (re)started then: no payment of theirs comes earlier."""
    gone: bool = False


class Generator:
    """Plays a plan through the write side of one event store."""

    def __init__(
        self,
        store: EventStore,
        lookup: LookupHasher,
        the_plan: Plan,
        *,
        policy: Policy = DEFAULT_POLICY,
        progress: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.store = store
        self.plan = the_plan
        self.policy = policy
        self.clock = SimulatedClock(the_plan.registered_on)
        self.registrar = Registrar(store, lookup, default_regions(), policy, clock=self.clock)
        self.cashier = Cashier(store, self.registrar, policy)
        self.desk = ClaimsDesk(store, self.registrar, policy)  # decisions are "now"
        self.progress = progress
        self.summary = Summary(cohorts=len(the_plan.cohorts))
        self.members: dict[str, _Member] = {}
        self.by_person: dict[int, _Member] = {}
        self.waiting: dict[str, int] = {}  # participant id -> person index
        self.references = Counter[str]()

    # -- helpers -------------------------------------------------------------------------------

    def _context(self, actor: str, at: datetime) -> Context:
        return Context(actor=actor, occurred_at=at)

    def _refused(self, error: DomainError) -> None:
        name = type(error).__name__
        self.summary.refused[name] = self.summary.refused.get(name, 0) + 1
        self.progress(f"refused: {name}: {error}")

    def _reference(self, prefix: str) -> str:
        self.references[prefix] += 1
        return f"{prefix}/{self.plan.seed}/{self.references[prefix]:07d}"

    def _past(self, at: datetime) -> bool:
        return at <= self.plan.now

    def active(self, cohort: CohortPlan | None = None) -> list[_Member]:
        return [m for m in self.members.values()
                if not m.gone and (cohort is None or m.cohort is cohort)]  # fmt: skip

    # -- the history ---------------------------------------------------------------------------

    async def run(self) -> Summary:
        started = time.perf_counter()
        before = await self.store.pool.fetchval("SELECT count(*) FROM events")
        await self._phase("cohorts and registrations", self._register())
        await self._phase("KPJ numbers", self._kpjs())
        for k in range(self.plan.months):
            await self._phase(f"month {self.plan.month(k)}", self._month(k))
        await self._phase("accidents and claims", self._work_claims())
        after = await self.store.pool.fetchval("SELECT count(*) FROM events")
        self.summary.events = after - before
        self.summary.seconds = round(time.perf_counter() - started, 1)
        return self.summary

    async def _phase(self, name: str, work: Awaitable[None]) -> None:
        started = time.perf_counter()
        await work
        self.summary.phases[name] = round(time.perf_counter() - started, 2)
        self.progress(f"{name}: {self.summary.phases[name]:.1f} s")

    async def _register(self) -> None:
        plan = self.plan
        self.clock.now = plan.registered_on
        admin = self._context(ADMIN_ACTOR, plan.registered_on)
        first = plan.first_month
        for cohort in plan.cohorts:
            funded = 12 if cohort.funding is Funding.SPONSOR else 3
            await self.registrar.administer(
                CreateCohort(
                    cohort_id=cohort.cohort_id, name=cohort.name, sponsor=cohort.sponsor,
                    budget_year=first.year, quota=cohort.quota,
                    programmes=list(cohort.programmes),
                    coverage_start=first.first_day, coverage_end=date(first.year, 12, 31),
                    budget_allocation=(REFERENCE_BLOCK_PAID if cohort is plan.cohorts[0]
                                       else cohort.quota * 16_800 * funded),
                    legal_basis=list(cohort.legal_basis),
                ),
                admin,
            )  # fmt: skip
            await self.registrar.administer(OpenCohort(cohort.cohort_id), admin)

        async def register(cohort: CohortPlan) -> None:
            persons = range(cohort.first, cohort.first + cohort.count)
            outcomes = await self.registrar.register_many(
                [plan.people[n].register(cohort.cohort_id) for n in persons],
                self._context(REGISTRAR_ACTOR, plan.registered_on),
            )
            for n, outcome in zip(persons, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    self._refused(outcome)
                    continue
                self.summary.participants += 1
                if outcome.status == "waitlisted":
                    self.waiting[outcome.participant_id] = n
                    continue
                member = _Member(n, outcome.participant_id, cohort, plan.fates[n])
                self.members[outcome.participant_id] = member
                self.by_person[n] = member

        await _each(plan.cohorts, register, 2)

    async def _kpjs(self) -> None:
        kpj_on = _at(self.plan.first_month.first_day + timedelta(days=14), 10)
        await self._kpj(list(self.members.values()), kpj_on)

    async def _kpj(self, members: Sequence[_Member], at: datetime) -> None:
        """BPJS issues the participant numbers (KPJ) a couple of weeks after enrolment."""
        if not self._past(at):
            return
        decided = [
            participant_appends(
                m.participant_id,
                participants.decide_kpj(
                    RecordKpj(m.participant_id, f"2{self.plan.seed % 100:02d}{m.person:08d}"),
                    _MEMBER_STATE,
                ),
            )
            for m in members
        ]
        await self._append(decided, self._context("bpjs:kepahiang", at))

    async def _append(self, appends: Sequence[StreamAppend], context: Context) -> None:
        """Appends to distinct streams, a thousand at a time, three calls at once."""
        chunks = [appends[i : i + 1000] for i in range(0, len(appends), 1000)]
        await _each(chunks, lambda chunk: self.store.append_many(chunk, context=context), 3)

    async def _month(self, k: int) -> None:
        month = self.plan.month(k)
        rng = random.Random(f"month/{self.plan.seed}/{k}")
        if month.month == 1 and k > 0:
            await self._roll_over(month, rng)
        for cohort in self.plan.cohorts:
            if k == 0 or (cohort.funding is Funding.SPONSOR and k % 3 == 0):
                await self._sponsor_block(cohort, k, rng)
        if k == 2:
            await self._self_paying_from(3)
        await self._rejoins(k)
        await self._self_payments(k, rng)
        await self._leavers(k, rng)

    async def _sponsor_block(self, cohort: CohortPlan, k: int, rng: random.Random) -> None:
        """A block of three months for the whole cohort, before the first one falls due; now and
        then short, over, or bounced and paid again."""
        paid_at = _at(_day_in(self.plan.month(k), rng, 3, 10), 10, rng.randrange(60))
        if not self._past(paid_at):
            return
        months = [self.plan.month(k + i) for i in range(3)]
        state = await self.registrar.cohort(cohort.cohort_id)
        due = sum(_due(income, state.programmes, m)
                  for income in state.members.values() for m in months)  # fmt: skip
        if cohort is self.plan.cohorts[0] and k == 0:
            amount = REFERENCE_BLOCK_PAID
        else:
            roll = rng.random()
            amount = due - 3 * 16_800 if roll < 0.08 else due + 50_000 if roll < 0.16 else due
        bounced = cohort is not self.plan.cohorts[0] and rng.random() < 0.05
        command = PayContributions(
            reference=self._reference("SP2D"), payer=cohort.sponsor, payer_kind="sponsor",
            channel="bank_transfer", amount=amount, paid_at=paid_at,
            months=[str(m) for m in months], cohort_id=cohort.cohort_id,
        )  # fmt: skip
        await self.cashier.pay(command, self._context("cashier:bpd-bengkulu", paid_at))
        self.summary.sponsor_payments += 1
        if bounced:
            back = paid_at + timedelta(days=2)
            await self.cashier.reverse(
                ReversePayment(command.reference, "Transfer ditolak bank penerima"),
                self._context("cashier:bpd-bengkulu", back),
            )
            self.summary.reversals += 1
            again = msgspec.structs.replace(command, reference=self._reference("SP2D"),
                                            paid_at=back + timedelta(days=1))  # fmt: skip
            await self.cashier.pay(again, self._context("cashier:bpd-bengkulu", again.paid_at))
            self.summary.sponsor_payments += 1

    async def _self_paying_from(self, k: int) -> None:
        """The regency's block ends: its workers pay for themselves from month k."""
        at = _at(self.plan.month(k - 1).first_day + timedelta(days=19), 9)
        members = [m for m in self.active() if m.cohort.funding is Funding.ONE_BLOCK]
        await self._to_mandiri(members, k, at)

    async def _to_mandiri(self, members: Sequence[_Member], k: int, at: datetime) -> None:
        for member in members:
            member.pays_from = k
        if not self._past(at):
            return
        month = str(self.plan.month(k))
        decided = [
            participant_appends(
                m.participant_id,
                participants.decide_funder(
                    ChangeFunder(m.participant_id, "mandiri", month), _MEMBER_STATE
                ),
            )
            for m in members
        ]
        await self._append(decided, self._context(ADMIN_ACTOR, at))

    async def _rejoins(self, k: int) -> None:
        for member in self.active():
            if member.fate.rejoins_in != k:
                continue
            at = _at(self.plan.month(k).first_day + timedelta(days=4), 10)
            if not self._past(at):
                continue
            self.clock.now = at
            try:
                await self.registrar.rejoin(Rejoin(member.participant_id),
                                            self._context(REGISTRAR_ACTOR, at))  # fmt: skip
            except DomainError as refused:
                self._refused(refused)
                continue
            member.pays_from, member.owed, member.not_before = k, [], at
            member.fate = Fate(profile=Profile.DILIGENT)
            self.summary.rejoins += 1

    def _self_payment(self, member: _Member, k: int, rng: random.Random) -> PayContributions | None:
        """What a worker paying for themself pays in month k, if anything."""
        fate = member.fate
        month = self.plan.month(k)
        months: list[Month] = []
        last = 28
        match fate.profile:
            case Profile.DILIGENT:
                months, last = [month], 14
            case Profile.ADVANCE:
                months = [month, month + 1, month + 2] if (k - member.pays_from) % 3 == 0 else []
                last = 14
            case Profile.LATE:
                months = [month]
            case Profile.IRREGULAR:
                if rng.random() < 0.3 and len(member.owed) < 2:
                    member.owed.append(month)
                else:
                    months, member.owed = [*member.owed, month], []
            case Profile.STOPS:
                if fate.stops_after is not None and k <= fate.stops_after:
                    months, last = [month], 14
        if not months:
            return None
        if fate.profile is not Profile.IRREGULAR:
            months, member.owed = [*member.owed, *months], []
        paid_at = _at(_day_in(month, rng, 1, last), rng.randint(7, 20), rng.randrange(60))
        if member.not_before is not None:
            paid_at = max(paid_at, member.not_before + timedelta(hours=2))
        if fate.leaves_on is not None and business_date(paid_at) >= fate.leaves_on:
            return None
        if not self._past(paid_at):
            return None
        cohort = member.cohort
        income = self.plan.people[member.person].declared_income
        amount = sum(_due(income, cohort.programmes, m) for m in months)
        return PayContributions(
            reference=self._reference("BPU"), payer=member.participant_id,
            payer_kind="participant", channel=rng.choice(SELF_PAY_CHANNELS), amount=amount,
            paid_at=paid_at, months=[str(m) for m in months],
            participant_ids=[member.participant_id],
        )  # fmt: skip

    async def _self_payments(self, k: int, rng: random.Random) -> None:
        payments: list[tuple[PayContributions, Member]] = []
        for member in self.active():
            if member.pays_from is None or k < member.pays_from:
                continue
            command = self._self_payment(member, k, rng)
            if command is not None:
                person = self.plan.people[member.person]
                payments.append(
                    (command, Member(member.participant_id, person.declared_income,
                                     member.cohort.programmes))
                )  # fmt: skip
        payments.sort(key=lambda p: p[0].paid_at)
        batches = [payments[i : i + SELF_PAYMENTS_PER_APPEND]
                   for i in range(0, len(payments), SELF_PAYMENTS_PER_APPEND)]  # fmt: skip

        async def append(batch: list[tuple[PayContributions, Member]]) -> None:
            """One reconciliation run: the payments the bank reported up to the last one."""
            appends = [a for command, member in batch
                       for a in self_payment_appends(command, member, self.policy)]  # fmt: skip
            context = self._context("cashier:rekonsiliasi", batch[-1][0].paid_at)
            await self.store.append_many(appends, context=context)

        await _each(batches, append, 3)
        self.summary.self_payments += len(payments)
        # now and then a payment bounces and is reversed a few days later
        claimants = {c.person for c in self.plan.claims}  # their cover must hold
        bounced = [c for c, m in payments if rng.random() < 0.003
                   and self.members[m.participant_id].person not in claimants]  # fmt: skip
        for command in bounced:
            at = command.paid_at + timedelta(days=3)
            if self._past(at):
                await self.cashier.reverse(
                    ReversePayment(command.reference, "Dana tidak masuk ke rekening BPJS"),
                    self._context("cashier:rekonsiliasi", at),
                )
                self.summary.reversals += 1

    async def _leavers(self, k: int, rng: random.Random) -> None:
        month = self.plan.month(k)
        leaving = sorted(
            (m for m in self.active() if m.fate.leaves_on is not None
             and m.fate.leaves_on in month),
            key=lambda m: (m.fate.leaves_on, m.person),
        )  # fmt: skip
        for member in leaving:
            assert member.fate.leaves_on is not None and member.fate.reason is not None
            at = _at(member.fate.leaves_on, 11)
            if not self._past(at):
                continue
            self.clock.now = at
            cohort = member.cohort
            before = set((await self.registrar.cohort(cohort.cohort_id)).members)
            await self.registrar.leave(
                LeaveCohort(participant_id=member.participant_id, reason=member.fate.reason,
                            left_on=member.fate.leaves_on),
                self._context(REGISTRAR_ACTOR, at),
            )  # fmt: skip
            member.gone = True
            self.summary.leavers += 1
            after = set((await self.registrar.cohort(cohort.cohort_id)).members)
            await self._promoted(cohort, after - before, k, at, rng)

    async def _roll_over(self, month: Month, rng: random.Random) -> None:
        """A new budget year: each cohort's quota grows a little, the waiting list moves up."""
        at = _at(month.first_day + timedelta(days=1), 9)
        if not self._past(at):
            return
        self.clock.now = at
        k = self.plan.first_month.months_until(month)
        for cohort in self.plan.cohorts:
            state = await self.registrar.cohort(cohort.cohort_id)
            before = set(state.members)
            sponsor = cohort.funding is Funding.SPONSOR
            quota = state.quota + max(1, round(cohort.quota * 0.01))
            await self.registrar.administer(
                RollOverCohort(
                    cohort_id=cohort.cohort_id, budget_year=month.year, quota=quota,
                    coverage_start=month.first_day, coverage_end=date(month.year, 12, 31),
                    budget_allocation=quota * 16_800 * 12 if sponsor else 0,
                ),
                self._context(ADMIN_ACTOR, at),
            )  # fmt: skip
            after = set((await self.registrar.cohort(cohort.cohort_id)).members)
            await self._promoted(cohort, after - before, k, at, rng)

    async def _promoted(
        self, cohort: CohortPlan, promoted: set[str], k: int, at: datetime, rng: random.Random
    ) -> None:
        """Members moved up from the waiting list: a KPJ, then either the sponsor tops up the
        rest of its current block for them, or they pay for themselves from next month."""
        for pid in sorted(promoted):
            person = self.waiting.pop(pid)
            member = _Member(person, pid, cohort, Fate(profile=Profile.DILIGENT))
            self.members[pid] = member
            self.by_person[person] = member
            await self._kpj([member], at + timedelta(days=10))
            block_end = k - k % 3 + 2
            if cohort.funding is Funding.ONE_BLOCK and k >= 2:
                # they pay for themselves from next month, this month's contribution with it
                await self._to_mandiri([member], k + 1, at + timedelta(days=1))
                member.owed = [self.plan.month(k)]
                continue
            months = [self.plan.month(i) for i in range(k, block_end + 1)]
            paid_at = at + timedelta(days=rng.randint(3, 8))
            if not self._past(paid_at):
                continue
            income = self.plan.people[person].declared_income
            await self.cashier.pay(
                PayContributions(
                    reference=self._reference("SP2D"), payer=cohort.sponsor,
                    payer_kind="sponsor", channel="bank_transfer",
                    amount=sum(_due(income, cohort.programmes, m) for m in months),
                    paid_at=paid_at, months=[str(m) for m in months], participant_ids=[pid],
                ),
                self._context("cashier:bpd-bengkulu", paid_at),
            )  # fmt: skip
            self.summary.sponsor_payments += 1

    # -- claims --------------------------------------------------------------------------------

    async def _work_claims(self) -> None:
        states = Counter[str]()

        async def work(claim: ClaimPlan) -> None:
            member = self.by_person.get(claim.person)
            if member is None:
                return
            try:
                claim_id = await self._claim(claim, member)
            except DomainError as refused:
                self._refused(refused)
                return
            if claim_id is not None:
                states[(await self.desk.claim(claim_id)).status] += 1

        await _each(self.plan.claims, work, 8)
        self.summary.claims = dict(sorted(states.items()))

    async def _claim(self, claim: ClaimPlan, member: _Member) -> str | None:
        """Report, file and work one claim up to its target state; its id."""
        desk, officer = self.desk, Context(actor=claim.officer)
        rng = random.Random(f"claim/{self.plan.seed}/{claim.person}")
        event_at = claim.event_at
        if claim.kind == "JKK":
            assert claim.accident_id is not None
            reported_at = event_at + timedelta(hours=claim.stage_one_hours)
            doctor_at = event_at + timedelta(days=claim.doctor_days)
            outcome_at = doctor_at + timedelta(hours=claim.stage_two_hours)
            await desk.report_accident(self._accident(claim, reported_at, rng),
                                       self._context(claim.officer, reported_at))  # fmt: skip
            await desk.report_outcome(
                ReportAccidentOutcome(
                    accident_id=claim.accident_id, doctor_statement_at=doctor_at,
                    outcome=claim.outcome, disability_percent=claim.disability_percent,
                    impairment=IMPAIRMENTS.get(claim.outcome, ""), reported_at=outcome_at,
                ),
                self._context(claim.officer, outcome_at),
            )  # fmt: skip
            claim_id, filed_at = jkk_claim_id(claim.accident_id), outcome_at
            documents = required_documents("JKK", traffic=claim.traffic, outcome=claim.outcome)
        else:
            filed_at = event_at + timedelta(days=10)
            await desk.file_death_claim(
                FileDeathClaim(participant_id=member.participant_id,
                               died_on=business_date(event_at), filed_at=filed_at),
                self._context(claim.officer, filed_at),
            )  # fmt: skip
            claim_id = jkm_claim_id(member.participant_id)
            documents = required_documents("JKM")
        if claim.target == "reported":
            return claim_id
        received = filed_at + timedelta(hours=2)
        await desk.handle(AssignClaim(claim_id, claim.officer),
                          self._context(SUPERVISOR, filed_at + timedelta(hours=1)))  # fmt: skip
        first, rest = [d.value for d in documents[:2]], [d.value for d in documents[2:]]
        if claim.outcome != "recovered":  # the benefit may be above Rp50 juta
            rest.insert(0, "npwp")  # above Rp50 juta: the tax number, before the last document
        for doc in first:
            await self._receive(claim_id, doc, received, claim.officer)
        await desk.handle(
            SubmitClaim(claim_id),  # with documents missing
            self._context(claim.officer, received + timedelta(minutes=5)),
        )
        if claim.target == "documents_incomplete":
            return claim_id
        for n, doc in enumerate(rest, 1):
            day = received + timedelta(days=claim.documents_days * n / len(rest))
            await self._receive(claim_id, doc, day, claim.officer)  # the last one submits it
        if claim.target == "submitted":
            return claim_id
        await desk.handle(StartVerification(claim_id), officer)
        if claim.target == "under_verification":
            return claim_id
        if claim.target == "returned":
            await desk.handle(ReturnClaim(claim_id=claim_id, missing=["medical_bills"],
                                          reason="Kuitansi rumah sakit tidak terbaca"),
                              officer)  # fmt: skip
            return claim_id
        if claim.outcome == "death":
            await desk.handle(NameHeirs(claim_id=claim_id, heirs=self._heirs(member, rng)),
                              officer)  # fmt: skip
        if claim.target == "rejected" and claim.kind == "JKM":
            await desk.handle(RejectClaim(claim_id=claim_id, reason="Akta kematian tidak sesuai "
                                          "dengan data kependudukan"), officer)  # fmt: skip
            return claim_id
        await desk.handle(self._decision(claim, claim_id), officer)
        state = await desk.claim(claim_id)
        if claim.target in ("rejected", "awaiting_second_approval"):
            return claim_id
        if state.rejection is not None:  # not covered after all: it stays rejected
            self.progress(f"claim {claim_id} rejected: {state.rejection.reasons}")
            return claim_id
        if state.status == "awaiting_second_approval":
            second = OFFICERS[(OFFICERS.index(claim.officer) + 1) % len(OFFICERS)]
            await desk.handle(ApproveClaim(claim_id), Context(actor=second))
        if claim.target == "approved":
            return claim_id
        await desk.handle(
            RecordClaimPayment(claim_id=claim_id, reference=self._reference("TRF-KLAIM"),
                               paid_at=datetime.now(UTC)),
            officer,
        )  # fmt: skip
        if claim.target == "reopened":
            await desk.handle(ReopenClaim(claim_id=claim_id, reason="Tagihan rumah sakit "
                                          "susulan diterima"), officer)  # fmt: skip
        return claim_id

    async def _receive(self, claim_id: str, doc: str, at: datetime, officer: str) -> None:
        await self.desk.handle(
            ReceiveClaimDocument(claim_id=claim_id, document=doc,
                                 reference=f"berkas/{claim_id[:8]}/{doc}", received_at=at),
            self._context(officer, at),
        )  # fmt: skip

    def _accident(
        self, claim: ClaimPlan, reported_at: datetime, rng: random.Random
    ) -> ReportAccident:
        assert claim.accident_id is not None
        person = self.plan.people[claim.person]
        village = default_regions().desa_name(person.desa)
        place, chronology = (
            (f"Jalan raya Kepahiang-Curup dekat {village}", "Motor ditabrak dari belakang saat "
             "berangkat kerja") if claim.traffic
            else (f"Kebun kopi di {village}", "Terjatuh dari pohon saat memetik kopi")
            if claim.accident_kind != "outside_work"
            else (f"Rumah di {village}", "Terpeleset di kamar mandi pada hari libur")
        )  # fmt: skip
        witnesses = [] if claim.accident_kind == "occupational_disease" else [
            WitnessStatement(name=_name(rng, rng.choice("LP")), phone=_phone(rng),
                             statement="Melihat langsung kejadian")
            for _ in range(2)
        ]  # fmt: skip
        return ReportAccident(
            accident_id=claim.accident_id, participant_id=self.by_person[claim.person]
            .participant_id, occurred_at=claim.event_at, kind=claim.accident_kind,
            traffic=claim.traffic, place=place, chronology=chronology, witnesses=witnesses,
            police_report=(f"LP/{rng.randint(10, 999)}/{claim.event_at:%m/%Y}/Lantas"
                           if claim.traffic else None),
            reported_at=reported_at,
        )  # fmt: skip

    def _heirs(self, member: _Member, rng: random.Random) -> list[HeirStatement]:
        person = self.plan.people[member.person]
        spouse_sex = "P" if person.sex == "L" else "L"
        today = business_date(self.plan.now)
        issuer = _NikIssuer(self.plan.seed + 1 + member.person)
        spouse_born = person.birth_date + timedelta(days=rng.randint(-1500, 1500))
        child_born = today - timedelta(days=rng.randint(6, 17) * 365)
        district = person.kecamatan[-2:]
        return [
            HeirStatement(name=_name(rng, spouse_sex), relation="spouse",
                          nik=issuer.issue(district, spouse_born, spouse_sex)),
            HeirStatement(name=_name(rng, "P"), relation="child",
                          nik=issuer.issue(district, child_born, "P")),
        ]  # fmt: skip

    def _decision(self, claim: ClaimPlan, claim_id: str) -> DecideClaim:
        if claim.kind == "JKM":
            return DecideClaim(claim_id=claim_id)
        day = business_date(claim.event_at)
        back = business_date(claim.event_at + timedelta(days=claim.doctor_days))
        return DecideClaim(
            claim_id=claim_id, medical_billed=claim.medical_billed,
            stmb=[StmbPeriod(incapacity_from=day, period_from=day, period_to=back)]
            if claim.outcome == "recovered" else [],
        )  # fmt: skip


IMPAIRMENTS = {
    "partial_disability": "Kehilangan sebagian fungsi tangan kanan",
    "total_permanent_disability": "Kelumpuhan kedua kaki",
}


_MEMBER_STATE = participants.ParticipantState(status="enrolled")
"""What the participant decider needs to know of a member to record a KPJ or a funder."""


def participant_appends(participant_id: str, events: Sequence[Event]) -> StreamAppend:
    return StreamAppend(participant_stream(participant_id), events, ANY)


def self_payment_appends(
    command: PayContributions, member: Member, policy: Policy = DEFAULT_POLICY
) -> list[StreamAppend]:
    """The appends `Cashier.pay` makes for a worker's own payment, decided by its own pure
    functions, without its reads (the generator knows the member and that the reference is
    new)."""
    months = validate_payment(command)
    recorded, shares = decide_payment(command, months, [member], policy)
    return [StreamAppend(payment_stream(recorded.payment_id), [recorded], NO_STREAM)] + [
        StreamAppend(participant_stream(s.participant_id), [s], ANY) for s in shares
    ]


async def generate(
    store: EventStore,
    lookup: LookupHasher,
    the_plan: Plan,
    *,
    progress: Callable[[str], None] = lambda text: None,
) -> Summary:
    """Write the plan's history into `store` (through the write side; see the module doc)."""
    generator = Generator(store, lookup, the_plan, progress=progress)
    existing = await generator.registrar.cohort(the_plan.cohorts[0].cohort_id)
    if existing.status != "none":
        raise Duplicate("cohort", the_plan.cohorts[0].cohort_id,
                        existing=f"synthetic data of seed {the_plan.seed}")  # fmt: skip
    summary = await generator.run()
    summary.enrolled = len(generator.active())
    summary.waitlisted = len(generator.waiting)
    return summary


async def demo_accounts(
    accounts: Accounts, password: str, by: Principal, context: Context
) -> tuple[list[DemoAccount], list[DemoAccount]]:
    """Accounts for the people of `DEMO_ACCOUNTS`, all with `password`: (made now, there
    already). One already there is left as it is, its password and roles too, so running it
    again changes nothing (and never takes over an account someone made by hand)."""
    made: list[DemoAccount] = []
    there: list[DemoAccount] = []
    for account in DEMO_ACCOUNTS:
        try:
            await accounts.user(account.username)
        except NotFound:
            pass
        else:
            there.append(account)
            continue
        command = CreateUser(username=account.username, display_name=account.display_name,
                             roles=[account.role.value])  # fmt: skip
        try:
            await accounts.create(command, password, by, context)
        except Duplicate:  # made meanwhile by someone else
            there.append(account)
            continue
        made.append(account)
    return made, there


def summary_lines(summary: Summary) -> Sequence[str]:
    """The summary for a person reading a terminal."""
    claims = ", ".join(f"{state} {n}" for state, n in summary.claims.items())
    lines = [
        f"{summary.events:,} events in {summary.seconds:.0f} s "
        f"({summary.events / max(summary.seconds, 0.001):,.0f} events/s)",
        f"{summary.participants:,} participants in {summary.cohorts} cohorts: "
        f"{summary.enrolled:,} enrolled, {summary.waitlisted:,} waiting, "
        f"{summary.leavers:,} left, {summary.rejoins:,} rejoined",
        f"{summary.sponsor_payments:,} sponsor payments, {summary.self_payments:,} own payments, "
        f"{summary.reversals:,} reversed",
        f"claims: {claims or 'none'}",
    ]
    if summary.refused:
        lines.append(f"refused by the write side: {summary.refused}")
    return lines
