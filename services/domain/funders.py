"""Who funds a participant's month: the cohort's sponsor, or the worker themself (mandiri).

domain.md: a worker may change funder over time, and more than once (mandiri from March, the
regency's budget again from June). Each FunderChanged says who pays *from a month on*, so the
funder of a month is the one named by the latest recorded change from that month or before;
a change recorded later decides every month from its own on, and a month before every change
is the cohort's sponsor's. The write side (services/participants.py), the read model
(projections/participants.py `funders`, projections/contributions.py `payer_of`) and the
reminders (services/domain/reminders.py) all ask this one rule.

The cohort's budget period (its coverage start and end) does not change who funds a month: a
month after it is still the sponsor's, for its next budget year to pay (or nobody, and the
membership lapses), until a change to mandiri says the worker pays from then on (domain.md: a
worker may change funder, e.g. to continue self-paying after the programme). So dues, the
cohort budget and the reminders never send a month's bill to someone the facts do not name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import msgspec

from services.domain.calendar import Month

SELF_PAYING = "mandiri"
"""The funder under which a worker pays for themself (services/participants.py FUNDERS); any
other funder (regency or province APBD) is the cohort's sponsor."""


class FunderChange(msgspec.Struct, frozen=True):
    """One FunderChanged: `funder` pays from `from_month` on."""

    from_month: Month
    funder: str

    def __str__(self) -> str:
        """As the read model keeps it: "2026-03 mandiri"."""
        return f"{self.from_month} {self.funder}"

    @classmethod
    def parse(cls, text: str) -> FunderChange:
        """Inverse of `str`."""
        return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> FunderChange:
    month, funder = text.split(" ", 1)
    return FunderChange(Month.parse(month), funder)


def funder_in(changes: Sequence[FunderChange], month: Month) -> str | None:
    """The funder of `month`: the latest recorded change (`changes` in the order recorded)
    from that month or before; None when none is, the cohort's sponsor by default."""
    for change in reversed(changes):
        if change.from_month <= month:
            return change.funder
    return None


def self_paying(changes: Sequence[FunderChange], month: Month) -> bool:
    """Whether the worker pays `month` (mandiri then), not the cohort's sponsor."""
    return funder_in(changes, month) == SELF_PAYING
