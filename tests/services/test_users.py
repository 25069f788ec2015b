"""The user decider, given-when-then: accounts, rights, scope and the administrator's limits."""

from __future__ import annotations

import pytest

from events.catalog import UserCreated, UserDisabled, UserEnabled, UserPasswordSet, UserRolesChanged
from events.types import Event
from services import users
from services.access import Principal, Role
from services.domain.errors import (
    Duplicate,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from services.users import ChangeUserRoles, CreateUser, DisableUser, EnableUser, SetPassword

KECAMATAN = frozenset({"17.08.01", "17.08.02", "17.08.03"})
ADMIN = Principal("root", frozenset({Role.ADMIN}))
SCOPED_ADMIN = Principal("camat", frozenset({Role.ADMIN}), frozenset({"17.08.01", "17.08.02"}))
CREATED = UserCreated(
    username="sari", display_name="Sari Wulandari", roles=["registrar"], kecamatan=["17.08.01"]
)


def given_(*events: Event) -> users.UserState:
    state = users.UserState()
    for event in events:
        state = users.evolve(state, event)
    return state


def decide(
    command: users.UserCommand, state: users.UserState, by: Principal = ADMIN
) -> list[Event]:
    return users.decide(command, state, by, KECAMATAN)


def field_errors(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.reason for e in error.value.errors}


def test_create_records_the_account_with_its_rights_in_canonical_order() -> None:
    command = CreateUser(
        username="sari", display_name=" Sari Wulandari ",
        roles=["registrar", "claim_officer", "registrar"], kecamatan=["170802", "17.08.01"],
    )  # fmt: skip
    (created,) = decide(command, given_())
    assert created == UserCreated(
        username="sari", display_name="Sari Wulandari", roles=["claim_officer", "registrar"],
        kecamatan=["17.08.01", "17.08.02"],
    )  # fmt: skip
    state = given_(created)
    assert state.status == "active"
    assert state.principal == Principal(
        "sari", frozenset({Role.CLAIM_OFFICER, Role.REGISTRAR}), frozenset({"17.08.01", "17.08.02"})
    )


def test_a_username_is_one_account() -> None:
    with pytest.raises(Duplicate, match="user 'sari' already exists"):
        decide(CreateUser(username="sari", display_name="S", roles=["finance"]), given_(CREATED))


def test_create_reports_every_wrong_field_at_once() -> None:
    command = CreateUser(username="S!", display_name=" ", roles=["king"], kecamatan=["17.08.99"])
    with pytest.raises(ValidationFailed) as refused:
        decide(command, given_())
    errors = field_errors(refused)
    assert set(errors) == {"username", "display_name", "roles", "kecamatan"}
    assert "unknown king" in errors["roles"]
    assert "17.08.99" in errors["kecamatan"]


def test_an_account_needs_a_role() -> None:
    with pytest.raises(ValidationFailed) as refused:
        decide(CreateUser(username="sari", display_name="Sari", roles=[]), given_())
    assert field_errors(refused) == {"roles": "at least one role"}


def test_a_scoped_administrator_grants_within_their_scope_only() -> None:
    inside = CreateUser(username="sari", display_name="S", roles=["finance"], kecamatan=["170801"])
    assert decide(inside, given_(), SCOPED_ADMIN)
    for kecamatan in ([], ["17.08.03"], ["17.08.01", "17.08.03"]):
        command = CreateUser(username="sari", display_name="S", roles=["registrar"],
                             kecamatan=kecamatan)  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            decide(command, given_(), SCOPED_ADMIN)
        assert "beyond your own scope" in field_errors(refused)["kecamatan"]


def test_roles_change_replaces_roles_and_scope() -> None:
    command = ChangeUserRoles(username="sari", roles=["finance"], kecamatan=[])
    (changed,) = decide(command, given_(CREATED))
    assert changed == UserRolesChanged(username="sari", roles=["finance"], kecamatan=[])
    assert given_(CREATED, changed).principal == Principal("sari", frozenset({Role.FINANCE}))


def test_the_same_roles_again_record_nothing() -> None:
    same = ChangeUserRoles(username="sari", roles=["registrar"], kecamatan=["17.08.01"])
    assert decide(same, given_(CREATED)) == []


def test_nobody_changes_their_own_rights_or_disables_themself() -> None:
    root = UserCreated(username="root", display_name="Root", roles=["admin"], kecamatan=[])
    with pytest.raises(IllegalTransition, match="your own account"):
        decide(ChangeUserRoles(username="root", roles=["admin", "auditor"]), given_(root))
    with pytest.raises(IllegalTransition, match="your own account"):
        decide(DisableUser(username="root", reason="leaving"), given_(root))


def test_a_scoped_administrator_cannot_manage_a_wider_user() -> None:
    everywhere = UserCreated(username="budi", display_name="B", roles=["auditor"], kecamatan=[])
    with pytest.raises(IllegalTransition, match="scope is wider than yours"):
        decide(DisableUser(username="budi", reason="x"), given_(everywhere), SCOPED_ADMIN)
    with pytest.raises(IllegalTransition, match="scope is wider than yours"):
        decide(SetPassword(username="budi", password="a" * 12), given_(everywhere), SCOPED_ADMIN)
    assert decide(DisableUser(username="sari", reason="x"), given_(CREATED), SCOPED_ADMIN)


def test_disable_and_enable() -> None:
    (disabled,) = decide(DisableUser(username="sari", reason=" pindah tugas "), given_(CREATED))
    assert disabled == UserDisabled(username="sari", reason="pindah tugas")
    assert given_(CREATED, disabled).status == "disabled"
    with pytest.raises(IllegalTransition, match="cannot disable from state 'disabled'"):
        decide(DisableUser(username="sari", reason="again"), given_(CREATED, disabled))
    (enabled,) = decide(EnableUser("sari"), given_(CREATED, disabled))
    assert enabled == UserEnabled(username="sari")
    assert given_(CREATED, disabled, enabled).status == "active"
    with pytest.raises(IllegalTransition, match="cannot enable from state 'active'"):
        decide(EnableUser("sari"), given_(CREATED))


def test_a_disable_names_its_reason() -> None:
    with pytest.raises(ValidationFailed):
        decide(DisableUser(username="sari", reason=" "), given_(CREATED))


def test_commands_on_an_unknown_user_are_refused() -> None:
    for command in (
        ChangeUserRoles(username="nobody", roles=["finance"]),
        DisableUser(username="nobody", reason="x"),
        EnableUser("nobody"),
        SetPassword(username="nobody", password="a long password"),
    ):
        with pytest.raises(NotFound, match="user 'nobody' not found"):
            decide(command, given_())


def test_a_password_set_records_who_set_it_and_nothing_of_the_password() -> None:
    (event,) = decide(SetPassword(username="sari", password="kuda-lumping-42"), given_(CREATED))
    assert event == UserPasswordSet(username="sari", set_by="root")
    (own,) = decide(
        SetPassword(username="sari", password="kuda-lumping-43"), given_(CREATED),
        Principal("sari", frozenset({Role.REGISTRAR}), frozenset({"17.08.01"})),
    )  # fmt: skip
    assert own.set_by == "sari"


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "10 to 256 characters"), ("x" * 257, "10 to 256 characters"),
     ("SariSari12", None), ("sari", "10 to 256 characters")],
)  # fmt: skip
def test_passwords_are_checked_for_length_and_the_username(
    password: str, reason: str | None
) -> None:
    assert users.check_password("sari", password) == (
        [] if reason is None else [FieldError("password", reason)]
    )
    assert users.check_password("sarisarisari", " SariSariSari ")[0].reason == (
        "must not be the username"
    )
