"""Errors of the event store. Each names the stream, event or key it is about."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of every event store error."""


class WrongExpectedVersion(EventStoreError):
    """Optimistic concurrency: the stream moved on since it was read. Nothing was appended."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        shown = "no stream" if expected == 0 else str(expected)
        super().__init__(
            f"wrong expected version for stream {stream_id}: expected {shown}, actual {actual}"
        )


class IdempotencyKeyReused(EventStoreError):
    """The idempotency key was already used for a request with a different content."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")


class UnknownEventType(EventStoreError):
    """A stored event whose type this version of Jaga does not know."""

    def __init__(self, event_type: str, position: int | None, stream_id: str | None) -> None:
        self.event_type = event_type
        self.position = position
        self.stream_id = stream_id
        super().__init__(
            f"unknown event type {event_type!r} at position {position} in stream {stream_id}"
        )


class EventDecodeError(EventStoreError):
    """A stored payload that does not decode into its event type (after upcasting)."""

    def __init__(
        self,
        event_type: str,
        schema_version: int,
        position: int | None,
        stream_id: str | None,
        reason: str,
    ) -> None:
        self.event_type = event_type
        self.schema_version = schema_version
        self.position = position
        self.stream_id = stream_id
        super().__init__(
            f"cannot decode {event_type} v{schema_version} at position {position} "
            f"in stream {stream_id}: {reason}"
        )
