"""Who funds a month when the funder changed more than once (services/domain/funders.py):
worked examples and a property against the plain reading of FunderChanged ("who pays from a
month on", each change recorded deciding every month from its own on)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.domain.calendar import Month
from services.domain.funders import FunderChange, funder_in, self_paying
from services.participants import DEFAULT_FUNDER, ParticipantState, evolve

JAN = Month(2026, 1)
MANDIRI_MARCH_REGENCY_JUNE = (
    FunderChange(Month(2026, 3), "mandiri"),
    FunderChange(Month(2026, 6), "apbd_kabupaten"),
)
"""Mandiri from March, then the regency's budget again from June."""


def test_mandiri_from_march_then_the_regency_from_june() -> None:
    # Given mandiri from March, then the regency again from June,
    funders = MANDIRI_MARCH_REGENCY_JUNE
    # then January and February are the sponsor's (no change applies yet),
    assert [funder_in(funders, JAN + i) for i in range(2)] == [None, None]
    # March to May the worker's,
    assert [funder_in(funders, JAN + i) for i in range(2, 5)] == ["mandiri"] * 3
    assert all(self_paying(funders, JAN + i) for i in range(2, 5))
    # and June on the regency's, for good.
    assert [funder_in(funders, JAN + i) for i in range(5, 12)] == ["apbd_kabupaten"] * 7
    assert not any(self_paying(funders, JAN + i) for i in (0, 1, 5, 6, 11, 24))


def test_a_change_recorded_later_decides_every_month_from_its_own() -> None:
    # Given mandiri from June recorded first, then the province from March recorded later,
    funders = (
        FunderChange(Month(2026, 6), "mandiri"),
        FunderChange(Month(2026, 3), "apbd_provinsi"),
    )
    # then the province pays from March on, June included (the later statement wins),
    assert [funder_in(funders, JAN + i) for i in (1, 2, 5, 9)] == [
        None, "apbd_provinsi", "apbd_provinsi", "apbd_provinsi",
    ]  # fmt: skip
    # and a correction for the same month replaces the earlier one.
    fixed = (
        FunderChange(Month(2026, 3), "mandiri"),
        FunderChange(Month(2026, 3), "apbd_kabupaten"),
    )
    assert funder_in(fixed, Month(2026, 4)) == "apbd_kabupaten"


def test_the_read_models_text_is_the_change() -> None:
    change = FunderChange(Month(2026, 3), "mandiri")
    assert str(change) == "2026-03 mandiri"
    assert FunderChange.parse("2026-03 mandiri") == change


def test_the_participant_state_knows_the_funder_of_each_month() -> None:
    # Given a participant whose funder changed twice (the decider's own events),
    from events.catalog import FunderChanged

    state = ParticipantState("p1", "enrolled", "c1")
    for change in MANDIRI_MARCH_REGENCY_JUNE:
        event = FunderChanged(
            participant_id="p1", funder=change.funder, from_month=str(change.from_month)
        )
        state = evolve(state, event)
    # then the state keeps both, names the latest as its funder, and each month's funder.
    assert state.funders == MANDIRI_MARCH_REGENCY_JUNE
    assert state.funder == "apbd_kabupaten"
    assert [state.funder_of(JAN + i) for i in (1, 2, 4, 5)] == [
        DEFAULT_FUNDER, "mandiri", "mandiri", "apbd_kabupaten",
    ]  # fmt: skip


_CHANGES = st.lists(
    st.builds(
        FunderChange,
        st.builds(lambda k: JAN + k, st.integers(0, 18)),
        st.sampled_from(["mandiri", "apbd_kabupaten", "apbd_provinsi"]),
    ),
    max_size=5,
)


@given(_CHANGES, st.integers(-2, 20))
def test_each_change_sets_every_month_from_its_own_on(
    changes: list[FunderChange], offset: int
) -> None:
    """Applying the changes one by one in the order recorded, each over every month from its
    own on, leaves each month with the funder `funder_in` names."""
    months = {JAN + k: None for k in range(-2, 21)}
    for change in changes:
        for month in months:
            if month >= change.from_month:
                months[month] = change.funder  # type: ignore[assignment]
    month = JAN + offset
    assert funder_in(changes, month) == months[month]
    assert self_paying(changes, month) == (months[month] == "mandiri")
