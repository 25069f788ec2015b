-- The event log: one append-only table, and the idempotency keys that make a repeated command
-- a no-op. Appends are one statement (events/queries/append.sql); reads are plain SELECTs.

CREATE TABLE events (
    -- Global position: (writing transaction id << 20) + index within that transaction. It
    -- therefore follows transaction-id order, which is what makes reads gap-safe (see
    -- read_all in events/store.py). Not contiguous: readers never assume it is.
    position        bigint      PRIMARY KEY,
    stream_id       text        NOT NULL CHECK (stream_id ~ '^[a-z][a-z0-9_]*-.+$'),
    stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    payload         json        NOT NULL,  -- json (not jsonb) keeps the exact bytes the hash covers
    occurred_at     timestamptz NOT NULL,  -- business time: when it happened
    recorded_at     timestamptz NOT NULL,  -- record time: when Jaga learnt it (database clock)
    actor           text        NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    idempotency_key text,
    prev_hash       bytea,
    hash            bytea       NOT NULL,
    -- Optimistic concurrency: two appends expecting the same version cannot both land.
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);

COMMENT ON TABLE events IS
    'Append-only log of every fact in Jaga. Never updated or deleted.';

CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash bytea       NOT NULL,
    result       jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
