"""Who may do what: roles, permissions, kecamatan scope and the masking of personal data.

Pure data and functions, no I/O. `ROLE_PERMISSIONS` is the single table of rights: the API's
guards ask `can(principal, permission)` and the test of every endpoint for every role reads the
same table, so a right is granted or withdrawn in exactly one place.

Every authenticated actor is recorded on the events it causes as `user:<username>`
(`actor_for`); the CLI, run by the operator on the server, keeps its own `admin:<name>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

import msgspec

from events.personal import ERASED


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
    """NIKs and phone numbers in clear; without it they are masked (`mask_nik`, `mask_phone`)."""
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
"""The rights of each role. Who sees NIKs and phone numbers in clear (PERSONAL_DATA_READ;
UU 27/2022, data minimisation): the registrar checks a worker's identity against their KTP
and calls them; the claim officer and the supervisor identify the injured or deceased worker
and their heirs and reach them by phone. Finance matches payments by participant and cohort,
the auditor checks that facts are consistent and the admin manages accounts and cohorts: none
of them needs the NIK's middle digits or a phone number, so they see them masked
(1708********0001)."""


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
