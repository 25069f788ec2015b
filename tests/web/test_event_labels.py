"""The audit page's names for an event's fields and coded values (services/web/wording.py
EVENT_FIELDS, services/web/audit.py): a field is named for what it holds in that event. Unit
tests: the labels, and the stream part rendered by the pages' own template engine."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest

import events.catalog
from events.catalog import ClaimFiled
from events.types import Event
from services.web import template_config
from services.web.audit import ExportLinks, Outcome, data_label, shown, value_label
from services.web.participants import actor_name
from services.web.wording import FIELDS, event_field_label

EVENT_TYPES = {
    name: kind for name, kind in vars(events.catalog).items()
    if isinstance(kind, type) and issubclass(kind, Event) and kind is not Event
}  # fmt: skip
CLAIM_EVENTS = sorted(name for name in EVENT_TYPES if name.startswith("Claim"))


def fields_of(event_type: str) -> list[str]:
    return [f.name for f in msgspec.structs.fields(EVENT_TYPES[event_type])]


def test_a_claims_kind_is_the_kind_of_claim_and_an_accidents_the_kind_of_accident() -> None:
    # ClaimFiled.kind holds JKK or JKM (services/claim_decider.py files both); the accident's
    # kind is its accident_kind (None for a death claim).
    assert event_field_label("ClaimFiled", "kind") == "jenis klaim"
    assert event_field_label("ClaimFiled", "accident_kind") == "jenis kecelakaan"
    assert event_field_label("AccidentReported", "kind") == "jenis kecelakaan"
    assert event_field_label("DeathClaimReserved", "claim_kind") == "jenis klaim"
    assert event_field_label("ReminderScheduled", "kind") == "jenis pengingat"
    assert FIELDS["kind"] == "jenis kecelakaan"  # the Stage I form's field, in refusals
    assert data_label("ClaimFiled", "kind") == "Jenis klaim"
    assert data_label("ClaimFiled", "event_on") == (
        "Tanggal kecelakaan (JKK) atau tanggal meninggal (JKM)"
    )


@pytest.mark.parametrize(
    ("event_type", "field", "value", "said"),
    [
        ("ClaimFiled", "kind", "JKK", "kecelakaan kerja"),
        ("ClaimFiled", "kind", "JKM", "kematian"),
        ("ClaimFiled", "accident_kind", "commuting",
         "Kecelakaan dalam perjalanan pergi atau pulang kerja"),
        ("ClaimFiled", "outcome", "death", "Meninggal dunia"),
        ("DeathClaimReserved", "claim_kind", "JKM", "kematian"),
        ("AccidentReported", "kind", "at_work", "Kecelakaan di tempat kerja"),
        ("ClaimSlaFlagged", "level", "breached", "Melewati SLA"),
        ("ReminderScheduled", "kind", "arrears_2", "Tunggakan 2 bulan"),
        ("ParticipantLeft", "reason", "moved_away", "pindah domisili"),
    ],
)  # fmt: skip
def test_coded_values_read_in_indonesian(
    event_type: str, field: str, value: str, said: str
) -> None:
    assert value_label(event_type, field, value) == said


def test_a_value_that_is_not_a_known_code_gets_no_meaning() -> None:
    assert value_label("ClaimFiled", "kind", "XYZ") == ""
    assert value_label("ClaimFiled", "accident_kind", None) == ""
    assert value_label("ClaimFiled", "participant_id", "JKK") == ""


@pytest.mark.parametrize("event_type", CLAIM_EVENTS)
def test_every_field_of_a_claim_event_has_its_indonesian_name(event_type: str) -> None:
    missing = [f for f in fields_of(event_type) if not event_field_label(event_type, f)]
    assert missing == [], f"{event_type}: {missing}"


@pytest.mark.parametrize(
    ("event_type", "field", "wrong"),
    [
        ("ClaimFiled", "kind", "jenis kecelakaan"),  # the accident's, not the claim's
        ("ClaimSlaFlagged", "level", "jenjang sekolah"),  # a scholarship's level
        ("ReminderScheduled", "kind", "jenis kecelakaan"),
        ("ReminderScheduled", "channel", "cara pembayaran"),  # a payment's channel
        ("ReminderSent", "channel", "cara pembayaran"),
    ],
)
def test_no_event_field_borrows_a_form_name_meant_for_something_else(
    event_type: str, field: str, wrong: str
) -> None:
    assert field in fields_of(event_type) and FIELDS[field] == wrong
    assert event_field_label(event_type, field) != wrong


def stream_part(event_type: str, event: Event) -> str:
    """The audit page's stream part for one event, as the pages render it."""
    item = {
        "position": 7, "version": 1, "type": event_type, "occurred_at": "2026-03-02T03:00:00Z",
        "recorded_at": "2026-03-02T03:00:00Z", "actor": "user:ani", "correlation_id": "c",
        "causation_id": None, "data": msgspec.to_builtins(event),
    }  # fmt: skip
    outcome = Outcome({"stream_id": "claim-c1", "items": [item], "summaries": {},
                       "next_cursor": None})  # fmt: skip
    return template_config().engine_instance.get_template("audit/_stream.html").render(
        outcome=outcome, stream_export=ExportLinks("claim-c1"), shown=shown,
        data_label=data_label, value_label=value_label, actor_name=actor_name,
    )  # fmt: skip


def test_the_stream_names_a_death_claims_kind_as_a_claim_kind() -> None:
    filed = ClaimFiled(
        claim_id="c1", kind="JKM", participant_id="p1", accident_id=None,
        event_on=date(2026, 3, 1), filed_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
        accident_kind=None, traffic=False, outcome=None, disability_percent=None,
        impairment="", required_documents=["death_certificate"], policy_version="p1",
    )  # fmt: skip
    page = stream_part("ClaimFiled", filed)
    assert (
        '<dt>Jenis klaim <code>kind</code></dt><dd>JKM <span class="muted">(kematian)</span>'
        in (page)
    )
    assert "<dt>Jenis kecelakaan <code>accident_kind</code></dt><dd>-</dd>" in page
    assert "kecelakaan <code>kind</code>" not in page
