"""The user decider: officers' accounts (roles, kecamatan scope, enabled or not) as events.

Pure: commands are decided against the folded state of `user-<username>` and against who
gives the command (`by`), so that an administrator never grants a scope wider than their own,
never changes their own rights and never locks themself out. Passwords are checked here for
length only; hashing and storing them is services/auth.py's business, outside the log.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import msgspec

from events.catalog import UserCreated, UserDisabled, UserEnabled, UserPasswordSet, UserRolesChanged
from events.types import Event
from services.access import Principal, Role, covers
from services.domain.errors import (
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.domain.regions import normalise_code

USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,31}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 takes any length; a cap keeps a login request cheap to refuse


def user_stream(username: str) -> str:
    return f"user-{username}"


def normalise_username(text: str) -> str:
    """Usernames are compared lower-case and without surrounding blanks."""
    return text.strip().lower()


# -- commands ------------------------------------------------------------------------------------


class CreateUser(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    display_name: str
    roles: list[str]
    kecamatan: list[str] = msgspec.field(default_factory=list)


class ChangeUserRoles(msgspec.Struct, frozen=True, kw_only=True):
    """Replace a user's roles and scope (their tokens are revoked: they log in again)."""

    username: str
    roles: list[str]
    kecamatan: list[str] = msgspec.field(default_factory=list)


class DisableUser(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    reason: str


class EnableUser(msgspec.Struct, frozen=True):
    username: str


class SetPassword(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    password: str


UserCommand = CreateUser | ChangeUserRoles | DisableUser | EnableUser | SetPassword


# -- state ---------------------------------------------------------------------------------------


class UserState(msgspec.Struct, frozen=True):
    username: str = ""
    status: str = "none"  # none, active, disabled
    display_name: str = ""
    roles: frozenset[Role] = frozenset()
    kecamatan: frozenset[str] = frozenset()

    @property
    def principal(self) -> Principal:
        """The user's rights as they stand: what a token issued now carries."""
        return Principal(self.username, self.roles, self.kecamatan)


def evolve(state: UserState, event: Event) -> UserState:
    replace = msgspec.structs.replace
    match event:
        case UserCreated():
            return UserState(
                event.username, "active", event.display_name,
                frozenset(Role(r) for r in event.roles), frozenset(event.kecamatan),
            )  # fmt: skip
        case UserRolesChanged():
            roles = frozenset(Role(r) for r in event.roles)
            return replace(state, roles=roles, kecamatan=frozenset(event.kecamatan))
        case UserDisabled():
            return replace(state, status="disabled")
        case UserEnabled():
            return replace(state, status="active")
    return state


# -- decisions -----------------------------------------------------------------------------------


def decide(
    command: UserCommand, state: UserState, by: Principal, known_kecamatan: Collection[str]
) -> list[Event]:
    """The events a user command records, or the domain error refusing it. `by` is who gives
    the command; `known_kecamatan` are the regency's district codes."""
    match command:
        case CreateUser():
            if state.status != "none":
                raise Duplicate("user", command.username)
            errors = _check_username(command.username)
            if not command.display_name.strip():
                errors.append(FieldError("display_name", "must not be empty"))
            roles, kecamatan = _rights(command.roles, command.kecamatan, known_kecamatan, errors)
            _grantable(by, kecamatan, errors)
            _refuse(errors)
            return [
                UserCreated(
                    username=command.username, display_name=command.display_name.strip(),
                    roles=roles, kecamatan=kecamatan,
                )
            ]  # fmt: skip
        case ChangeUserRoles():
            _exists(state, command.username)
            _not_self(state, by, "change roles", "another administrator must change them")
            errors = []
            roles, kecamatan = _rights(command.roles, command.kecamatan, known_kecamatan, errors)
            _grantable(by, kecamatan, errors)
            _refuse(errors)
            _manageable(state, by, "change roles")
            if frozenset(roles) == state.roles and frozenset(kecamatan) == state.kecamatan:
                return []  # already so: nothing to record, no token to revoke
            return [UserRolesChanged(username=command.username, roles=roles, kecamatan=kecamatan)]
        case DisableUser():
            _exists(state, command.username)
            _not_self(state, by, "disable", "nobody may lock themself out")
            if not command.reason.strip():
                raise ValidationFailed.one("reason", "must not be empty")
            _manageable(state, by, "disable")
            if state.status == "disabled":
                raise IllegalTransition(_entity(state), state.status, "disable", "already")
            return [UserDisabled(username=command.username, reason=command.reason.strip())]
        case EnableUser():
            _exists(state, command.username)
            _manageable(state, by, "enable")
            if state.status == "active":
                raise IllegalTransition(_entity(state), state.status, "enable", "already")
            return [UserEnabled(username=command.username)]
        case SetPassword():
            _exists(state, command.username)
            if state.username != by.username:
                _manageable(state, by, "set the password")
            _refuse(check_password(command.username, command.password))
            return [UserPasswordSet(username=command.username, set_by=by.username)]
    raise TypeError(f"not a user command: {command!r}")


def check_password(username: str, password: str) -> list[FieldError]:
    """Length is what makes a password strong (NIST SP 800-63B); no composition rules."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return [FieldError("password", f"{MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    if password.strip().lower() == username:
        return [FieldError("password", "must not be the username")]
    return []


def _check_username(username: str) -> list[FieldError]:
    if USERNAME.fullmatch(username):
        return []
    reason = "3 to 32 characters: lower-case letters, digits, '.', '_' or '-', a letter first"
    return [FieldError("username", reason)]


def _rights(
    roles: Sequence[str],
    kecamatan: Sequence[str],
    known_kecamatan: Collection[str],
    errors: list[FieldError],
) -> tuple[list[str], list[str]]:
    """Roles and kecamatan codes, checked and in canonical order (errors added to `errors`)."""
    known_roles = {r.value for r in Role}
    unknown = sorted(set(roles) - known_roles)
    if not roles:
        errors.append(FieldError("roles", "at least one role"))
    elif unknown:
        reason = f"unknown {', '.join(unknown)}; one of {', '.join(r.value for r in Role)}"
        errors.append(FieldError("roles", reason))
    codes = sorted({normalise_code(code) for code in kecamatan})
    strange = [code for code in codes if code not in known_kecamatan]
    if strange:
        errors.append(FieldError("kecamatan", f"unknown kecamatan {', '.join(strange)}"))
    return sorted(set(roles) & known_roles), codes


def _grantable(by: Principal, kecamatan: Sequence[str], errors: list[FieldError]) -> None:
    if not covers(by, kecamatan):
        mine = ", ".join(sorted(by.kecamatan))
        errors.append(FieldError("kecamatan", f"beyond your own scope ({mine})"))


def _manageable(state: UserState, by: Principal, action: str) -> None:
    """An administrator scoped to some kecamatan manages only users within that scope."""
    if not covers(by, state.kecamatan):
        raise IllegalTransition(
            _entity(state), state.status, action, "the user's scope is wider than yours"
        )


def _not_self(state: UserState, by: Principal, action: str, why: str) -> None:
    if state.username == by.username:
        raise IllegalTransition(_entity(state), state.status, action, f"your own account: {why}")


def _exists(state: UserState, username: str) -> None:
    if state.status == "none":
        raise NotFound("user", username)


def _entity(state: UserState) -> str:
    return f"user {state.username}"


def _refuse(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)
