-- Append ONE event to one stream, without an idempotency key, in a transaction of its own
-- (through the pool, never on the caller's connection): the common case, kept to one plain
-- INSERT. (append_many.sql does everything else; both place and chain events the same way,
-- through jaga_event_bytes and jaga_event_hash.)
--
-- $1 stream id, $2 expected version (-1 any, 0 no stream yet, n exactly n), $3 type,
-- $4 schema version, $5 payload, $6 occurred at, $7 actor, $8 correlation id, $9 causation id.
--
-- Returns the stream's version before, and the event's position and version (NULL when the
-- stream is not at the expected version: nothing was written). Two appends that found the same
-- version collide on events_stream_version_unique. Positions: see append_many.sql; the
-- transaction is this statement's own, so its first position is (transaction id << 20) itself
-- (were it not, the primary key would refuse the append rather than misplace it).
WITH x AS (
    SELECT t.lo AS position, coalesce(head.stream_version, 0) AS actual, head.hash AS prev_hash,
           gen_random_uuid() AS event_id, clock_timestamp() AS recorded_at
    FROM (SELECT pg_current_xact_id()::text::bigint << 20 AS lo) t
    LEFT JOIN LATERAL (
        SELECT e.stream_version, e.hash FROM events e
        WHERE e.stream_id = $1 AND $2::bigint <> 0
        ORDER BY e.stream_version DESC LIMIT 1
    ) head ON true
),
appended AS (
    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version,
                        payload, occurred_at, recorded_at, actor, correlation_id, causation_id,
                        idempotency_key, prev_hash, hash)
    SELECT x.position, $1, x.actual + 1, x.event_id, $3, $4, $5, $6, x.recorded_at, $7, $8, $9,
           NULL, x.prev_hash,
           jaga_event_hash(x.prev_hash, jaga_event_bytes(
               $1, x.actual + 1, x.event_id, $3, $4, $5, $6, x.recorded_at, $7, $8, $9, NULL))
    FROM x
    WHERE $2 = -1 OR $2 = x.actual
    RETURNING position, stream_version
)
SELECT x.actual, a.position, a.stream_version FROM x LEFT JOIN appended a ON true
