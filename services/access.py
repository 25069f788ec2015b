"""Who may do what: roles, permissions, kecamatan scope and the masking of personal data.

Pure data and functions, no I/O. `ROLE_PERMISSIONS` is the single table of rights: the API's
guards ask `can(principal, permission)` and the test of every endpoint for every role reads the
same table, so a right is granted or withdrawn in exactly one place.

Every authenticated actor is recorded on the events it causes as `user:<username>`
(`actor_for`); the CLI, run by the operator on the server, keeps its own `admin:<name>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, overload

import msgspec

from events.personal import ERASED, Plan, plan_for


class Role(StrEnum):
    """What an officer does in the programme; a user may hold several."""

    REGISTRAR = "registrar"  # registrations, imports of the regency's list
    FINANCE = "finance"  # contribution payments
    CLAIM_OFFICER = "claim_officer"  # accident reports, claims
    SUPERVISOR = "supervisor"  # second approval (four eyes), reassignment of claims
    AUDITOR = "auditor"  # reads everything, audit endpoints, changes nothing
    ADMIN = "admin"  # user accounts, cohorts


class Permission(StrEnum):
    """One right an endpoint requires."""

    PARTICIPANTS_READ = "participants_read"
    PARTICIPANTS_REGISTER = "participants_register"
    """Register, import, leave, rejoin, KPJ and funder changes."""
    PERSONAL_DATA_READ = "personal_data_read"
    """Personal data in clear; without it each personal field shows as `masked` gives it."""
    COHORTS_READ = "cohorts_read"
    COHORTS_MANAGE = "cohorts_manage"
    PAYMENTS_READ = "payments_read"
    PAYMENTS_RECORD = "payments_record"
    """Record and reverse contribution payments."""
    CLAIMS_READ = "claims_read"
    CLAIMS_WORK = "claims_work"
    """Report accidents (Stage I and II), file death claims, work claims up to the first
    approval, record benefit payments."""
    CLAIMS_SECOND_APPROVAL = "claims_second_approval"
    CLAIMS_REASSIGN = "claims_reassign"
    REMINDERS_READ = "reminders_read"
    AUDIT_READ = "audit_read"
    """Replay streams or the log, states as of / as known at a date, chain verification."""
    USERS_READ = "users_read"
    USERS_MANAGE = "users_manage"


_P = Permission

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.REGISTRAR: frozenset(
            (_P.PARTICIPANTS_READ, _P.PARTICIPANTS_REGISTER, _P.PERSONAL_DATA_READ,
             _P.COHORTS_READ)
        ),
        Role.FINANCE: frozenset(
            (_P.PAYMENTS_READ, _P.PAYMENTS_RECORD, _P.PARTICIPANTS_READ, _P.COHORTS_READ,
             _P.REMINDERS_READ)
        ),
        Role.CLAIM_OFFICER: frozenset(
            (_P.CLAIMS_READ, _P.CLAIMS_WORK, _P.PARTICIPANTS_READ, _P.PERSONAL_DATA_READ)
        ),
        Role.SUPERVISOR: frozenset(
            (_P.CLAIMS_READ, _P.CLAIMS_SECOND_APPROVAL, _P.CLAIMS_REASSIGN, _P.PARTICIPANTS_READ,
             _P.PERSONAL_DATA_READ, _P.PAYMENTS_READ, _P.COHORTS_READ, _P.REMINDERS_READ)
        ),
        Role.AUDITOR: frozenset(
            (_P.PARTICIPANTS_READ, _P.COHORTS_READ, _P.PAYMENTS_READ, _P.CLAIMS_READ,
             _P.REMINDERS_READ, _P.AUDIT_READ, _P.USERS_READ)
        ),
        Role.ADMIN: frozenset(
            (_P.USERS_READ, _P.USERS_MANAGE, _P.COHORTS_READ, _P.COHORTS_MANAGE)
        ),
    }
)  # fmt: skip
"""The rights of each role. Who sees personal data in clear (PERSONAL_DATA_READ; UU 27/2022,
data minimisation): the registrar checks a worker's identity against their KTP and calls them;
the claim officer and the supervisor identify the injured or deceased worker and their heirs
and reach them by phone. Finance matches payments by participant and cohort, the auditor checks
that facts are consistent and the admin manages accounts and cohorts: none of them needs the
NIK's middle digits, a birth date or a phone number, so they see them masked (1708********0001,
see `PERSONAL_FIELDS`)."""


class Principal(msgspec.Struct, frozen=True):
    """An authenticated user as a request sees them: name, roles and kecamatan scope."""

    username: str
    roles: frozenset[Role]
    kecamatan: frozenset[str] = frozenset()
    """Kecamatan codes (17.08.01) the user works in; empty means the whole regency."""

    @property
    def actor(self) -> str:
        return actor_for(self.username)


def actor_for(username: str) -> str:
    """The actor recorded on every event an authenticated user causes."""
    return f"user:{username}"


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Every right any of `roles` grants."""
    return frozenset().union(*(ROLE_PERMISSIONS[role] for role in roles))


def can(principal: Principal, permission: Permission) -> bool:
    return any(permission in ROLE_PERMISSIONS[role] for role in principal.roles)


def in_scope(principal: Principal, kecamatan: str) -> bool:
    """Whether a participant living in `kecamatan` is the principal's to see and work on."""
    return not principal.kecamatan or kecamatan in principal.kecamatan


def covers(principal: Principal, kecamatan: Iterable[str]) -> bool:
    """Whether `kecamatan` (empty: the whole regency) lies within the principal's scope, so
    that an administrator never grants more than they hold themselves."""
    wanted = frozenset(kecamatan)
    if not principal.kecamatan:
        return True
    return bool(wanted) and wanted <= principal.kecamatan


def shows_personal_data(principal: Principal) -> bool:
    return can(principal, Permission.PERSONAL_DATA_READ)


# -- masking of personal data -----------------------------------------------------------------


class PersonalKind(StrEnum):
    """What a personal field (typed `Personal` in events/catalog.py) holds, which decides how a
    role without PERSONAL_DATA_READ sees it."""

    NIK = "nik"
    """Masked, 1708********0001: the regency and the serial tell rows apart."""
    PHONE = "phone"
    """Masked, 0812******90: enough to tell two numbers apart, not to call."""
    CONTACT = "contact"
    """A phone number (masked as one) or an e-mail address (*****@domain)."""
    BIRTH_DATE = "birth_date"
    """Hidden whole, `BIRTH_DATE_MASK`: with the NIK's ends it would name the person."""
    NAME = "name"
    """In clear: finance and the auditor work on participants, claims and heirs by name (the
    participant, claim and accident views have always shown names to every reader)."""
    REGION = "region"
    """A kecamatan or desa by official code, in clear: the unit of scope and of every report."""
    ACCOUNT = "account"
    """An accident's place and chronology, a witness's statement, in clear: what happened is
    what a claim is judged (and audited) on."""


PERSONAL_FIELDS: Mapping[str, PersonalKind] = MappingProxyType(
    {
        "nik": PersonalKind.NIK,
        "phone": PersonalKind.PHONE,
        "recipient": PersonalKind.CONTACT,
        "birth_date": PersonalKind.BIRTH_DATE,
        "name": PersonalKind.NAME,
        "kecamatan": PersonalKind.REGION,
        "desa": PersonalKind.REGION,
        "place": PersonalKind.ACCOUNT,
        "chronology": PersonalKind.ACCOUNT,
        "statement": PersonalKind.ACCOUNT,
    }
)
"""The kind of every personal field of the catalog, by its name (events/personal.py's
`plan_for` knows which fields are personal; a test checks each has a kind here). A personal
field missing from this table is hidden whole, never shown by mistake."""

BIRTH_DATE_MASK = "****-**-**"
"""A birth date as a role without PERSONAL_DATA_READ sees it in an event's data. The views
whose `birth_date` may be null (GET /participants/...) withhold it as null instead."""

HIDDEN = "********"
"""A personal value of a field whose kind is unknown: nothing of it, not even its length."""


def masked(field: str, value: str) -> str:
    """The value of personal field `field` as a role without PERSONAL_DATA_READ sees it. The
    one place that says how each kind of personal data is masked: the audit, participant and
    claim views all ask it. An erased value is no longer personal data and reads as it is."""
    if value == ERASED:
        return value
    kind = PERSONAL_FIELDS.get(field)
    if kind is None:
        return HIDDEN
    mask = _MASKS[kind]
    return value if mask is None else mask(value)


@overload
def shown(field: str, value: str, *, clear: bool) -> str: ...
@overload
def shown(field: str, value: str | None, *, clear: bool) -> str | None: ...
def shown(field: str, value: str | None, *, clear: bool) -> str | None:
    """`value` in clear for a role with PERSONAL_DATA_READ (`clear`), else `masked`."""
    return value if clear or value is None else masked(field, value)


def masked_data(cls: type[msgspec.Struct], data: dict[str, Any]) -> dict[str, Any]:
    """`data`, the encoded fields of a struct of type `cls` (an event's `to_builtins`), with
    every field `cls` types `Personal` (nested witnesses and heirs too) masked in place."""
    plan = plan_for(cls)
    if plan is not None:
        _mask_encoded(data, plan)
    return data


def _mask_encoded(data: Any, plan: Plan) -> None:
    if isinstance(data, list):
        for item in data:
            _mask_encoded(item, plan)
        return
    if not isinstance(data, dict):
        return
    for _, name in plan.personal:
        if isinstance(value := data.get(name), str):
            data[name] = masked(name, value)
    for _, name, nested in plan.nested:
        _mask_encoded(data.get(name), nested)


def mask_nik(nik: str) -> str:
    """1708014107850001 -> 1708********0001: the province and regency digits and the serial
    stay readable, the district, birth date and sex do not."""
    return _mask(nik, head=4, tail=4)


def mask_phone(phone: str) -> str:
    """081234567890 -> 0812******90: the operator prefix and the last two digits, enough to
    tell two numbers apart on a page, not enough to call anyone."""
    return _mask(phone, head=4, tail=2)


def _mask(value: str, head: int, tail: int) -> str:
    """Keep the length; show `head` and `tail` characters only when at least as many stay
    hidden as are shown, else hide everything. An erased value is no longer personal data."""
    if value == ERASED:
        return value
    if len(value) < 2 * (head + tail):
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_contact(contact: str) -> str:
    """A reminder's recipient: an e-mail address keeps its domain only (*****@kepahiangkab.go.id),
    a phone number is masked as one."""
    local, at, domain = contact.rpartition("@")
    if not at:
        return mask_phone(contact)
    return "*" * len(local) + at + domain


def _birth_date(_: str) -> str:
    return BIRTH_DATE_MASK


_MASKS: Mapping[PersonalKind, Callable[[str], str] | None] = MappingProxyType(
    {
        PersonalKind.NIK: mask_nik,
        PersonalKind.PHONE: mask_phone,
        PersonalKind.CONTACT: mask_contact,
        PersonalKind.BIRTH_DATE: _birth_date,
        PersonalKind.NAME: None,
        PersonalKind.REGION: None,
        PersonalKind.ACCOUNT: None,
    }
)
"""How each kind is masked; None: shown in clear."""
