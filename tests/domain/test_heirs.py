"""The order of heirs: the first class that has anyone receives the benefit."""

from __future__ import annotations

import msgspec
import pytest

from services.domain import heirs
from services.domain.errors import ValidationFailed


class H(msgspec.Struct, frozen=True):
    name: str
    relation: str


@pytest.mark.parametrize(
    ("family", "paid"),
    [
        ([H("a", "parent"), H("b", "spouse"), H("c", "child")], ["b", "c"]),
        ([H("a", "sibling"), H("b", "grandparent")], ["b"]),
        ([H("a", "named_in_will"), H("b", "parent_in_law")], ["b"]),
        ([H("a", "named_in_will")], ["a"]),
    ],
)
def test_the_first_class_with_anyone_receives(family: list[H], paid: list[str]) -> None:
    assert [h.name for h in heirs.payees(family)] == paid


def test_unknown_relations_and_no_heirs_are_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        heirs.payees([H("a", "neighbour")])
    assert refused.value.errors[0].field == "heirs[0].relation"
    with pytest.raises(ValidationFailed):
        heirs.payees([])
