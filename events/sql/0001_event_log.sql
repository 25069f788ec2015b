-- The event log: one append-only table, the stream heads that guard optimistic concurrency,
-- and the idempotency keys that make a repeated command a no-op.

CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    stream_id       text        NOT NULL CHECK (stream_id ~ '^[a-z][a-z0-9_]*-.+$'),
    stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    payload         json        NOT NULL,  -- json (not jsonb) keeps the exact bytes the hash covers
    occurred_at     timestamptz NOT NULL,  -- business time: when it happened
    recorded_at     timestamptz NOT NULL,  -- record time: when Jaga learnt it (database clock)
    actor           text        NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    idempotency_key text,
    transaction_id  xid8        NOT NULL,  -- orders readers safely (see read_all)
    prev_hash       bytea,
    hash            bytea       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

CREATE SEQUENCE events_position_seq AS bigint OWNED BY events.position;

CREATE INDEX events_type_position ON events (event_type, position);

COMMENT ON TABLE events IS
    'Append-only log of every fact in Jaga. Never updated or deleted; see jaga_append().';

-- One row per stream: its current version and last hash. Writers lock it, so two appends to
-- the same stream serialise while appends to different streams run in parallel.
CREATE TABLE streams (
    stream_id     text   PRIMARY KEY,
    version       bigint NOT NULL,
    last_hash     bytea,
    last_position bigint
);

CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash bytea       NOT NULL,
    result       jsonb,
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
