"""Accident reports, given-when-then: Stage I (late reports flagged with the hours late,
witnesses, police report for traffic) and Stage II (the doctor's outcome, its own deadline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.catalog import AccidentOutcomeReported, AccidentReported
from events.types import Event
from services import accidents
from services.accidents import AccidentState
from services.commands import ReportAccident, ReportAccidentOutcome, WitnessStatement
from services.domain.errors import Duplicate, IllegalTransition, NotFound, ValidationFailed
from services.domain.policy import DEFAULT_POLICY

POLICY = DEFAULT_POLICY
AT = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 WIB
NOW = AT + timedelta(days=10)
WITNESSES = [WitnessStatement(name="Rudi", phone="081234567890", statement="saw him fall"),
             WitnessStatement(name="Sari")]  # fmt: skip


def report(**changes: object) -> ReportAccident:
    fields: dict[str, object] = dict(
        accident_id="a1", participant_id="p1", occurred_at=AT, kind="at_work",
        place="Pasar Kepahiang", chronology="Fell from the loading ramp while carrying sacks",
        witnesses=WITNESSES, reported_at=AT + timedelta(hours=20),
    )  # fmt: skip
    fields.update(changes)
    return ReportAccident(**fields)  # type: ignore[arg-type]


def outcome(**changes: object) -> ReportAccidentOutcome:
    fields: dict[str, object] = dict(
        accident_id="a1", doctor_statement_at=AT + timedelta(days=5),
        outcome="partial_disability", disability_percent=10, impairment="right index finger",
        reported_at=AT + timedelta(days=6),
    )  # fmt: skip
    fields.update(changes)
    return ReportAccidentOutcome(**fields)  # type: ignore[arg-type]


def given_(*events: Event) -> AccidentState:
    state = AccidentState()
    for event in events:
        state = accidents.evolve(state, event)
    return state


def stage_one(command: ReportAccident, *events: Event) -> AccidentReported:
    (reported,) = accidents.decide_report(command, given_(*events), now=NOW, policy=POLICY)
    assert isinstance(reported, AccidentReported)
    return reported


REPORTED = stage_one(report())


def test_a_report_in_time_records_the_deadline_and_no_breach() -> None:
    assert (REPORTED.late, REPORTED.hours_late) == (False, 0)
    assert REPORTED.deadline == AT + timedelta(hours=48)
    assert REPORTED.policy_version == POLICY.version
    assert [w.name for w in REPORTED.witnesses] == ["Rudi", "Sari"]
    assert len({w.person_id for w in REPORTED.witnesses} | {REPORTED.participant_id}) == 3


def test_a_late_report_is_accepted_and_flagged_with_the_hours_late() -> None:
    late = stage_one(report(reported_at=AT + timedelta(hours=50, minutes=1)))
    assert (late.late, late.hours_late) == (True, 3)  # started hours count


def test_a_report_defaults_to_now() -> None:
    late = stage_one(report(reported_at=None))
    assert late.reported_at == NOW and late.hours_late == 10 * 24 - 48


def test_a_traffic_accident_without_a_police_report_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        stage_one(report(kind="commuting", traffic=True))
    assert [e.field for e in refused.value.errors] == ["police_report"]
    with_police = stage_one(report(kind="commuting", traffic=True, police_report=" LP/12/XI "))
    assert with_police.police_report == "LP/12/XI"


def test_two_witnesses_are_needed_except_for_an_occupational_disease() -> None:
    with pytest.raises(ValidationFailed, match="2 witnesses with their names, got 1"):
        stage_one(report(witnesses=WITNESSES[:1]))
    assert stage_one(report(kind="occupational_disease", witnesses=[])).witnesses == []


def test_every_field_error_at_once() -> None:
    with pytest.raises(ValidationFailed) as refused:
        stage_one(report(kind="holiday", place=" ", chronology="", witnesses=[]))
    assert {e.field for e in refused.value.errors} == {"kind", "place", "chronology", "witnesses"}


def test_times_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="reported_at"):
        stage_one(report(reported_at=AT - timedelta(hours=1)))
    with pytest.raises(ValidationFailed, match="in the future"):
        stage_one(report(reported_at=NOW + timedelta(hours=1)))


def test_one_report_per_accident() -> None:
    with pytest.raises(Duplicate):
        stage_one(report(), REPORTED)


# -- Stage II --------------------------------------------------------------------------------


def stage_two(command: ReportAccidentOutcome, *events: Event) -> AccidentOutcomeReported:
    (reported,) = accidents.decide_outcome(command, given_(*events), now=NOW, policy=POLICY)
    assert isinstance(reported, AccidentOutcomeReported)
    return reported


def test_stage_two_has_its_own_deadline_after_the_doctors_statement() -> None:
    on_time = stage_two(outcome(), REPORTED)
    assert on_time.deadline == AT + timedelta(days=5, hours=48) and not on_time.late
    late = stage_two(outcome(reported_at=AT + timedelta(days=8)), REPORTED)
    assert (late.late, late.hours_late) == (True, 24)


def test_stage_two_needs_stage_one_and_comes_once() -> None:
    with pytest.raises(NotFound):
        stage_two(outcome())
    first = stage_two(outcome(), REPORTED)
    with pytest.raises(IllegalTransition, match="already in"):
        stage_two(outcome(), REPORTED, first)


def test_the_disability_percent_goes_with_a_partial_disability_only() -> None:
    with pytest.raises(ValidationFailed, match="disability_percent"):
        stage_two(outcome(disability_percent=None), REPORTED)
    with pytest.raises(ValidationFailed, match="only for a partial disability"):
        stage_two(outcome(outcome="death"), REPORTED)
    assert stage_two(outcome(outcome="death", disability_percent=None), REPORTED).outcome == "death"
