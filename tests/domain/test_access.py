"""Roles, permissions, scope and masking: the table as data, masking as properties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import (
    AccidentReported,
    ClaimHeirsNamed,
    Heir,
    ParticipantRegistered,
    Witness,
    registry,
)
from events.personal import ERASED, Plan, plan_for
from services.access import (
    BIRTH_DATE_MASK,
    HIDDEN,
    PERSONAL_FIELDS,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    actor_for,
    can,
    covers,
    in_scope,
    mask_contact,
    mask_nik,
    mask_phone,
    masked,
    masked_data,
    permissions_of,
    shown,
    shows_personal_data,
)

P = Permission


def principal(*roles: Role, kecamatan: tuple[str, ...] = ()) -> Principal:
    return Principal("andi", frozenset(roles), frozenset(kecamatan))


# --- the table ------------------------------------------------------------------------------


def test_every_role_has_rights_and_every_right_a_role() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert all(ROLE_PERMISSIONS.values())
    assert permissions_of(Role) == set(Permission)


def test_each_role_holds_the_rights_of_its_job() -> None:
    assert ROLE_PERMISSIONS[Role.REGISTRAR] >= {P.PARTICIPANTS_REGISTER}
    assert ROLE_PERMISSIONS[Role.FINANCE] >= {P.PAYMENTS_RECORD}
    assert ROLE_PERMISSIONS[Role.CLAIM_OFFICER] >= {P.CLAIMS_WORK}
    assert ROLE_PERMISSIONS[Role.SUPERVISOR] >= {P.CLAIMS_SECOND_APPROVAL, P.CLAIMS_REASSIGN}
    assert ROLE_PERMISSIONS[Role.AUDITOR] >= {P.AUDIT_READ}
    assert ROLE_PERMISSIONS[Role.ADMIN] >= {P.USERS_MANAGE, P.COHORTS_MANAGE}


def test_the_auditor_only_reads() -> None:
    assert all(p.value.endswith("_read") for p in ROLE_PERMISSIONS[Role.AUDITOR])


def test_one_role_alone_holds_each_change_right() -> None:
    """Separation of duties: whoever records payments does not work claims, and so on."""
    changes = set(Permission) - {p for p in Permission if p.value.endswith("_read")}
    for permission in changes:
        holders = [role for role, rights in ROLE_PERMISSIONS.items() if permission in rights]
        assert len(holders) == 1, (permission, holders)


def test_the_first_approval_and_the_second_are_different_roles() -> None:
    officer, supervisor = principal(Role.CLAIM_OFFICER), principal(Role.SUPERVISOR)
    assert can(officer, P.CLAIMS_WORK) and not can(officer, P.CLAIMS_SECOND_APPROVAL)
    assert can(supervisor, P.CLAIMS_SECOND_APPROVAL) and not can(supervisor, P.CLAIMS_WORK)


def test_can_is_the_union_of_the_roles_rights() -> None:
    both = principal(Role.FINANCE, Role.CLAIM_OFFICER)
    for permission in Permission:
        expected = (
            permission in ROLE_PERMISSIONS[Role.FINANCE] | ROLE_PERMISSIONS[Role.CLAIM_OFFICER]
        )
        assert can(both, permission) is expected
    assert not any(can(principal(), permission) for permission in Permission)


def test_who_sees_personal_data_in_clear() -> None:
    clear = {role for role in Role if shows_personal_data(principal(role))}
    assert clear == {Role.REGISTRAR, Role.CLAIM_OFFICER, Role.SUPERVISOR}


def test_the_actor_of_an_authenticated_user() -> None:
    assert actor_for("andi") == "user:andi"
    assert principal(Role.ADMIN).actor == "user:andi"


# --- scope ----------------------------------------------------------------------------------


def test_an_unscoped_user_works_in_every_kecamatan() -> None:
    assert in_scope(principal(Role.REGISTRAR), "17.08.05")


def test_a_scoped_user_works_in_their_kecamatan_only() -> None:
    scoped = principal(Role.REGISTRAR, kecamatan=("17.08.01", "17.08.02"))
    assert in_scope(scoped, "17.08.02")
    assert not in_scope(scoped, "17.08.05")


def test_an_administrator_grants_no_more_than_their_own_scope() -> None:
    everywhere = principal(Role.ADMIN)
    scoped = principal(Role.ADMIN, kecamatan=("17.08.01", "17.08.02"))
    assert covers(everywhere, []) and covers(everywhere, ["17.08.05"])
    assert covers(scoped, ["17.08.01"]) and covers(scoped, ["17.08.01", "17.08.02"])
    assert not covers(scoped, [])  # the whole regency is wider than two kecamatan
    assert not covers(scoped, ["17.08.01", "17.08.05"])


# --- masking --------------------------------------------------------------------------------


def test_a_nik_shows_its_first_and_last_four_digits() -> None:
    assert mask_nik("1708014107850001") == "1708********0001"


def test_a_phone_shows_its_operator_prefix_and_last_two_digits() -> None:
    assert mask_phone("081234567890") == "0812******90"
    assert mask_phone("+6281234567890") == "+628********90"


def test_a_short_value_is_hidden_whole() -> None:
    assert mask_phone("0812345678") == "**********"
    assert mask_nik("17080141") == "********"


def test_an_erased_value_stays_as_it_reads() -> None:
    assert mask_nik(ERASED) == ERASED
    assert mask_phone(ERASED) == ERASED


niks = st.text(alphabet="0123456789", min_size=16, max_size=16)
anything = st.text(min_size=0, max_size=40).filter(lambda text: text != ERASED)


@given(niks)
def test_a_masked_nik_keeps_only_its_ends(nik: str) -> None:
    masked = mask_nik(nik)
    assert len(masked) == len(nik)
    assert masked[:4] == nik[:4] and masked[-4:] == nik[-4:]
    assert masked[4:-4] == "*" * 8


@given(anything, st.sampled_from([(mask_nik, 4, 4), (mask_phone, 4, 2)]))
def test_masking_never_shows_the_middle_nor_more_than_half(
    text: str, how: tuple[Callable[[str], str], int, int]
) -> None:
    mask, head, tail = how
    masked = mask(text)
    assert len(masked) == len(text)
    shown = [i for i, char in enumerate(masked) if char != "*"]
    assert all(masked[i] == text[i] for i in shown)
    assert all(i < head or i >= len(text) - tail for i in shown)
    assert sum(1 for i in range(len(text)) if masked[i] == text[i] != "*") <= len(text) // 2


# --- one way to mask every personal field ---------------------------------------------------


def _personal_fields(plan: Plan) -> set[str]:
    return {name for _, name in plan.personal}.union(
        *(_personal_fields(sub) for _, _, sub in plan.nested)
    )


def test_every_personal_field_of_the_catalog_has_a_kind() -> None:
    """A new `Personal` field must be given a kind (how it is masked) before it ships; until
    then `masked` hides it whole."""
    plans = [p for p in map(plan_for, registry.types) if p is not None]
    assert plans
    assert set().union(*map(_personal_fields, plans)) <= set(PERSONAL_FIELDS)


def test_each_kind_of_personal_data_is_masked_its_way() -> None:
    assert masked("nik", "1708014107850001") == "1708********0001"
    assert masked("phone", "081234567890") == "0812******90"
    assert masked("birth_date", "1985-07-01") == BIRTH_DATE_MASK
    assert masked("recipient", "081234567890") == "0812******90"
    assert masked("recipient", "sari@kepahiangkab.go.id") == "****@kepahiangkab.go.id"
    # shown to every reader, as the participant and claim views always have
    assert masked("name", "Siti Aminah") == "Siti Aminah"
    assert masked("desa", "17.08.01.2001") == "17.08.01.2001"
    assert masked("chronology", "Jatuh dari ojek") == "Jatuh dari ojek"
    # a personal field nobody classified is hidden whole; an erased value reads as it is
    assert masked("mother_maiden_name", "Aminah") == HIDDEN
    assert masked("birth_date", ERASED) == ERASED


def test_shown_is_clear_for_a_role_with_the_right_and_masked_for_the_others() -> None:
    assert shown("nik", "1708014107850001", clear=True) == "1708014107850001"
    assert shown("nik", "1708014107850001", clear=False) == "1708********0001"
    assert shown("phone", None, clear=False) is None


def test_an_e_mail_address_keeps_only_its_domain() -> None:
    assert mask_contact("a.b@example.org") == "***@example.org"
    assert mask_contact("x@y@example.org") == "***@example.org"


def _registered(nik: str, born: date, phone: str) -> ParticipantRegistered:
    return ParticipantRegistered(
        participant_id="p-1", cohort_id="kph2025", nik=nik, nik_hash="h", name="Siti Aminah",
        birth_date=born.isoformat(), sex="P", phone=phone, kecamatan="17.08.01",
        desa="17.08.01.2001", occupation="ojek", declared_income=1_000_000, priority=False,
        policy_version="1",
    )  # fmt: skip


births = st.dates(date(1940, 1, 1), date(2009, 12, 31))
phones = st.integers(10**9, 10**11 - 1).map(lambda n: f"08{n}")


@given(niks, births, phones)
def test_a_registration_masked_shows_no_nik_birth_date_or_phone(
    nik: str, born: date, phone: str
) -> None:
    """Given a worker's registration, when a role without the right reads it, then neither
    the NIK, the birth date (in any of its forms) nor the phone is in what they see."""
    event = _registered(nik, born, phone)
    data = masked_data(ParticipantRegistered, msgspec.to_builtins(event))
    text = msgspec.json.encode(data).decode()
    assert nik not in text and phone not in text
    assert born.isoformat() not in text and f"{born:%d%m%y}" not in text
    assert data["birth_date"] == BIRTH_DATE_MASK
    assert (data["nik"], data["phone"]) == (mask_nik(nik), mask_phone(phone))
    assert (data["name"], data["kecamatan"]) == ("Siti Aminah", "17.08.01")


def test_witnesses_and_heirs_are_masked_inside_their_events() -> None:
    now = datetime(2025, 11, 20, 1, tzinfo=UTC)
    accident = AccidentReported(
        accident_id="a-1", participant_id="p-1", occurred_at=now, kind="at_work", traffic=False,
        place="Pasar Kepahiang", chronology="Jatuh",
        witnesses=[Witness(person_id="w-1", name="Rudi", phone="081277788899"),
                   Witness(person_id="w-2", name="Sari")],
        police_report=None, reported_at=now, deadline=now + timedelta(hours=48), late=False,
        hours_late=0, policy_version="1",
    )  # fmt: skip
    data = masked_data(AccidentReported, msgspec.to_builtins(accident))
    assert [w["phone"] for w in data["witnesses"]] == ["0812******99", None]
    assert [w["name"] for w in data["witnesses"]] == ["Rudi", "Sari"]
    heirs = ClaimHeirsNamed(
        claim_id="c-1", officer="user:ani",
        heirs=[Heir(person_id="h-1", name="Siti", nik="1708014101850002", relation="spouse",
                    payee=True)],
    )  # fmt: skip
    named = masked_data(ClaimHeirsNamed, msgspec.to_builtins(heirs))
    assert named["heirs"][0]["nik"] == "1708********0002"
