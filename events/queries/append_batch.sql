-- Group commit: several single-event appends of different callers to DISTINCT streams, each
-- on its own terms, in one statement and one transaction (events/store.py `_Batcher`). Each
-- append is judged alone: one whose stream is not at its expected version writes nothing and
-- the others still land. Places and chains events exactly as append_one.sql does.
--
-- Per append, in order: $1 stream id, $2 expected version (-1 any, 0 no stream yet, n exactly
-- n), $3 type, $4 schema version, $5 payload, $6 occurred at, $7 actor, $8 correlation id,
-- $9 causation id.
--
-- Keys of new data subjects (see Keyring.prepare) are stored in the same transaction: per key,
-- $10 the append it was made for (its number, from 1), $11 subject, $12 master key id,
-- $13 wrapped key. An append whose keys were not all stored as given (one was created
-- meanwhile, or by an earlier append of the batch) writes nothing.
--
-- Returns one row per append, in order: the stream's version before, the event's position
-- and version (NULL when the stream was not at the expected version or a key was taken), and
-- whether its keys were stored (false: seal it again under the stored key). A statement error (two
-- appends racing for one version collide on events_stream_version_unique) writes nothing for
-- anyone: the caller then makes each append alone. Rows are inserted in stream order, so two
-- batches never wait on each other in a cycle. Positions: see append_one.sql (the transaction
-- is the statement's own); those of appends that wrote nothing are simply unused.
WITH a AS (
    SELECT a.n, a.stream_id, a.expected, a.event_type, a.schema_version, a.payload,
           a.occurred_at, a.actor, a.correlation_id, a.causation_id,
           (pg_current_xact_id()::text::bigint << 20) + a.n - 1 AS position,
           coalesce(head.stream_version, 0) AS actual, head.hash AS prev_hash,
           gen_random_uuid() AS event_id, clock_timestamp() AS recorded_at
    -- Each array behind a sub-select: its length then counts for as little in a custom plan
    -- as in the generic one, so the generic plan is kept (else each batch is planned anew).
    FROM unnest((SELECT $1::text[]), (SELECT $2::bigint[]), (SELECT $3::text[]),
                (SELECT $4::int[]), (SELECT $5::json[]), (SELECT $6::timestamptz[]),
                (SELECT $7::text[]), (SELECT $8::uuid[]), (SELECT $9::uuid[]))
         WITH ORDINALITY AS a(stream_id, expected, event_type, schema_version, payload,
                              occurred_at, actor, correlation_id, causation_id, n)
    LEFT JOIN LATERAL (
        SELECT e.stream_version, e.hash FROM events e
        WHERE e.stream_id = a.stream_id AND a.expected <> 0
        ORDER BY e.stream_version DESC LIMIT 1
    ) head ON true
),
keys AS (
    INSERT INTO subject_keys (subject_id, master_key_id, wrapped_key)
    SELECT * FROM unnest((SELECT $11::text[]), (SELECT $12::text[]), (SELECT $13::bytea[]))
    ON CONFLICT (subject_id) DO NOTHING
    RETURNING subject_id, wrapped_key
),
taken AS (
    SELECT DISTINCT k.n
    FROM unnest((SELECT $10::bigint[]), (SELECT $11::text[]), (SELECT $13::bytea[]))
         AS k(n, subject_id, wrapped_key)
    WHERE (k.subject_id, k.wrapped_key) NOT IN (SELECT subject_id, wrapped_key FROM keys)
),
appended AS (
    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version,
                        payload, occurred_at, recorded_at, actor, correlation_id, causation_id,
                        idempotency_key, prev_hash, hash)
    SELECT a.position, a.stream_id, a.actual + 1, a.event_id, a.event_type, a.schema_version,
           a.payload, a.occurred_at, a.recorded_at, a.actor, a.correlation_id, a.causation_id,
           NULL, a.prev_hash,
           jaga_event_hash(a.prev_hash, jaga_event_bytes(
               a.stream_id, a.actual + 1, a.event_id, a.event_type, a.schema_version, a.payload,
               a.occurred_at, a.recorded_at, a.actor, a.correlation_id, a.causation_id, NULL))
    FROM a
    WHERE (a.expected = -1 OR a.expected = a.actual) AND a.n NOT IN (SELECT n FROM taken)
    ORDER BY a.stream_id
    RETURNING position, stream_version
)
SELECT a.actual, p.position, p.stream_version, a.n NOT IN (SELECT n FROM taken) AS keys_ok
FROM a LEFT JOIN appended p ON p.position = a.position
ORDER BY a.n
