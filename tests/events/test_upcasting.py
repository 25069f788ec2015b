"""Schema evolution: old payloads go through upcasters; the unknown is an error, never skipped."""

from __future__ import annotations

from typing import Any

import pytest

from events.errors import EventDecodeError, UnknownEventType
from events.store import NO_STREAM, Context, EventStore
from events.types import Event, EventRegistry
from tests.events.model import fresh


class AddressChanged(Event, frozen=True):
    """Version 1: one free-text address."""

    address: str


class AddressChangedV2(Event, frozen=True, tag="AddressChanged"):
    """Version 2: the village code is separate and required."""

    address: str
    desa: str


class AddressChangedV3(Event, frozen=True, tag="AddressChanged"):
    """Version 3: `address` renamed to `street`."""

    street: str
    desa: str


def registry_v3() -> EventRegistry:
    registry = EventRegistry()
    registry.register(AddressChangedV3, version=3)

    @registry.upcaster(AddressChangedV3, from_version=1)
    def add_desa(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "desa": "unknown"}

    @registry.upcaster(AddressChangedV3, from_version=2)
    def rename_street(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["street"] = data.pop("address")
        return data

    return registry


async def test_old_versions_are_upcast_to_the_current_one(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    old = EventRegistry()
    old.register(AddressChanged)
    v2 = EventRegistry()
    v2.register(AddressChangedV2, version=2)
    await EventStore(store.pool, old).append(
        stream, [AddressChanged(address="Jl. Merdeka 1")], NO_STREAM, context=ctx
    )
    await EventStore(store.pool, v2).append(
        stream, [AddressChangedV2(address="Jl. Pasar 2", desa="17.08.01.2001")], 1, context=ctx
    )

    events = await EventStore(store.pool, registry_v3()).read_stream(stream)

    assert [e.schema_version for e in events] == [1, 2]
    assert [e.data for e in events] == [
        AddressChangedV3(street="Jl. Merdeka 1", desa="unknown"),
        AddressChangedV3(street="Jl. Pasar 2", desa="17.08.01.2001"),
    ]


async def test_unknown_type_is_an_error_naming_the_event(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    other = EventRegistry([AddressChanged])
    result = await EventStore(store.pool, other).append(
        stream, [AddressChanged(address="x")], NO_STREAM, context=ctx
    )

    with pytest.raises(UnknownEventType) as unknown:
        await store.read_stream(stream)

    assert unknown.value.position == result.first_position
    assert unknown.value.stream_id == stream
    assert "AddressChanged" in str(unknown.value)


async def test_payload_that_does_not_decode_is_an_error(store: EventStore, ctx: Context) -> None:
    stream = fresh()
    await EventStore(store.pool, EventRegistry([AddressChanged])).append(
        stream, [AddressChanged(address="x")], NO_STREAM, context=ctx
    )
    no_upcaster = EventRegistry()
    no_upcaster.register(AddressChangedV2, version=2)

    with pytest.raises(EventDecodeError, match="no upcaster from v1 to v2") as failed:
        await EventStore(store.pool, no_upcaster).read_stream(stream)
    assert failed.value.stream_id == stream


def test_payload_of_wrong_shape_is_an_error() -> None:
    registry = registry_v3()
    with pytest.raises(EventDecodeError, match="desa"):
        registry.decode("AddressChanged", 3, b'{"type":"AddressChanged","street":"x"}')
    with pytest.raises(EventDecodeError, match="only up to v3"):
        registry.decode("AddressChanged", 4, b"{}")


def test_registry_refuses_impossible_upcasters_and_duplicates() -> None:
    registry = EventRegistry()
    registry.register(AddressChangedV2, version=2)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(AddressChangedV3)
    with pytest.raises(ValueError, match="no upcaster"):
        registry.upcaster(AddressChangedV2, from_version=2)(lambda d: d)
