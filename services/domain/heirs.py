"""Who receives a death benefit: the heirs in the order of domain.md.

Spouse and children first; then blood relatives to the second degree (parents, grandparents,
grandchildren); then siblings; then parents-in-law; then a person named in a will. The benefit
goes to the heirs of the first of these classes that has anyone in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from services.domain.errors import FieldError, ValidationFailed

CLASSES: tuple[tuple[str, ...], ...] = (
    ("spouse", "child"),
    ("parent", "grandparent", "grandchild"),
    ("sibling",),
    ("parent_in_law",),
    ("named_in_will",),
)
RELATIONS = tuple(r for heir_class in CLASSES for r in heir_class)


class HasRelation(Protocol):
    @property
    def relation(self) -> str: ...


H = TypeVar("H", bound=HasRelation)


def rank(relation: str) -> int:
    """The heir class of a relation: 1 (spouse or child) to 5 (named in a will)."""
    for n, heir_class in enumerate(CLASSES, start=1):
        if relation in heir_class:
            return n
    raise ValidationFailed.one("relation", f"one of {', '.join(RELATIONS)}")


def check(heirs: Sequence[HasRelation]) -> None:
    errors = [
        FieldError(f"heirs[{n}].relation", f"one of {', '.join(RELATIONS)}")
        for n, heir in enumerate(heirs)
        if heir.relation not in RELATIONS
    ]
    if not heirs:
        errors.append(FieldError("heirs", "name at least one heir"))
    if errors:
        raise ValidationFailed(errors)


def payees(heirs: Sequence[H]) -> list[H]:
    """The heirs who receive the benefit: everyone of the first class that has anyone."""
    check(heirs)
    first = min(rank(h.relation) for h in heirs)
    return [h for h in heirs if rank(h.relation) == first]
