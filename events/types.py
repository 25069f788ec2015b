"""Event types: frozen msgspec Structs in a tagged union, with schema versions and upcasters.

Every event type is registered with its current schema version. A stored payload of an older
version is decoded through the chain of upcasters (v1 -> v2 -> ... -> current), each a pure
function on the decoded JSON object. Anything that does not decode is an error naming the event;
nothing is ever skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, Union
from uuid import UUID

import msgspec

from events.errors import EventDecodeError, UnknownEventType


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type", gc=False):
    """Base of every domain event; the tag is the class name and is the stored event type."""


E = TypeVar("E", bound=type[Event])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


D = TypeVar("D")


class RecordedEvent(msgspec.Struct, Generic[D], frozen=True, gc=False):
    """An event as stored: the domain event (`data`) plus everything the log knows about it."""

    position: int
    stream_id: str
    stream_version: int
    event_id: UUID
    type: str
    schema_version: int
    data: D
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    correlation_id: UUID
    causation_id: UUID | None
    idempotency_key: str | None
    hash: bytes
    prev_hash: bytes | None


@dataclass
class _Spec:
    cls: type[Event]
    version: int
    decoder: msgspec.json.Decoder[Any]
    upcasters: dict[int, Upcaster] = field(default_factory=dict)


class EventRegistry:
    """The event types a part of Jaga knows, and how to turn them into bytes and back."""

    def __init__(self, types: Iterable[type[Event]] = ()) -> None:
        self._specs: dict[str, _Spec] = {}
        self._encoder = msgspec.json.Encoder()
        self._many_decoder: msgspec.json.Decoder[list[Event]] | None = None
        for cls in types:
            self.register(cls)

    def register(self, cls: E, version: int = 1) -> E:
        name = type_name(cls)
        if name in self._specs:
            raise ValueError(f"event type {name} is already registered")
        self._specs[name] = _Spec(cls, version, msgspec.json.Decoder(cls))
        self._many_decoder = None
        return cls

    def event(self, version: int = 1) -> Callable[[E], E]:
        """Class decorator: `@registry.event(version=2)`."""
        return lambda cls: self.register(cls, version)

    def upcaster(self, cls: type[Event], from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator for the function that turns a `from_version` payload into the next version."""

        def add(fn: Upcaster) -> Upcaster:
            spec = self._spec(type_name(cls))
            if not 1 <= from_version < spec.version:
                raise ValueError(
                    f"{spec.cls.__name__} is at version {spec.version}; "
                    f"no upcaster from version {from_version} is possible"
                )
            spec.upcasters[from_version] = fn
            return fn

        return add

    def event_class(self, event_type: str) -> type[Event] | None:
        """The struct an event type decodes to (None for a type this registry does not know)."""
        spec = self._specs.get(event_type)
        return None if spec is None else spec.cls

    def describe(self, event: Event) -> tuple[str, int]:
        """(stored type name, current schema version) of an event."""
        name = type_name(type(event))
        return name, self._spec(name).version

    def encode(self, event: Event) -> bytes:
        """The event's payload: msgspec JSON of the struct."""
        return self._encoder.encode(event)

    def current_decoder(
        self, event_type: str, schema_version: int
    ) -> msgspec.json.Decoder[Any] | None:
        """The decoder of a payload stored at its type's current schema version; None when it
        needs `decode` (an unknown type, or an older version to upcast)."""
        spec = self._specs.get(event_type)
        return spec.decoder if spec is not None and spec.version == schema_version else None

    def decode_many(self, payloads: list[bytes]) -> list[Event]:
        """Payloads at their current schema versions, decoded in one msgspec call."""
        if self._many_decoder is None:
            if not self._specs:
                raise msgspec.ValidationError("no event types are registered")
            union = Union[tuple(spec.cls for spec in self._specs.values())]  # noqa: UP007
            self._many_decoder = msgspec.json.Decoder(list[union])  # type: ignore[valid-type]
        return self._many_decoder.decode(b"[" + b",".join(payloads) + b"]")

    def decode(
        self,
        event_type: str,
        schema_version: int,
        payload: bytes,
        *,
        position: int | None = None,
        stream_id: str | None = None,
    ) -> Event:
        spec = self._specs.get(event_type)
        if spec is None:
            raise UnknownEventType(event_type, position, stream_id)
        try:
            if schema_version == spec.version:
                return spec.decoder.decode(payload)
            if schema_version > spec.version:
                raise ValueError(f"this Jaga knows {event_type} only up to v{spec.version}")
            data = msgspec.json.decode(payload)
            for version in range(schema_version, spec.version):
                upcast = spec.upcasters.get(version)
                if upcast is None:
                    raise ValueError(f"no upcaster from v{version} to v{version + 1}")
                data = upcast(data)
            data["type"] = event_type
            return spec.decoder.decode(self._encoder.encode(data))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
            reason = str(exc)
            raise EventDecodeError(event_type, schema_version, position, stream_id, reason) from exc

    def _spec(self, name: str) -> _Spec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownEventType(name, None, None) from None

    @property
    def types(self) -> tuple[type[Event], ...]:
        return tuple(spec.cls for spec in self._specs.values())


def type_name(cls: type[Event]) -> str:
    """The stored name of an event type: its msgspec tag."""
    return cls.__struct_config__.tag  # type: ignore[return-value]
