-- Append the events of one command to one or more streams: one statement, all or nothing.
--
-- $1 stream ids and $2 their expected versions (-1 any, 0 no stream yet, n exactly n);
-- per event, in order: $3 its stream (index into $1), $4 type, $5 schema version, $6 payload;
-- then $7 occurred at, $8 actor, $9 correlation id, $10 causation id, $11 idempotency key,
-- $12 request hash.
--
-- Positions are (transaction id << 20) + index within the transaction, so they follow
-- transaction-id order: a reader that stays below the oldest running transaction never skips
-- an event that commits late (read_all in events/store.py). No lock, no sequence.
--
-- Returns one row per stream: what was expected, the version found, and the new version and
-- positions. Nothing is written when a stream is not at its expected version (the caller
-- raises) or when the idempotency key is taken (the caller replays the first result). Two
-- appends that expected the same version collide on events_stream_version_unique.
WITH
tx AS (
    SELECT lo, lo + 1048576 AS hi, clock_timestamp() AS recorded_at,
           -- after the events this transaction may have appended already
           coalesce((SELECT max(e.position) + 1 FROM events e
                     WHERE e.position >= lo AND e.position < lo + 1048576), lo) AS first
    FROM (SELECT pg_current_xact_id()::text::bigint << 20 AS lo) t
),
heads AS (
    SELECT s.sn, s.stream_id, s.expected, coalesce(h.version, 0) AS actual, h.hash
    FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS s(stream_id, expected, sn)
    LEFT JOIN LATERAL (
        SELECT e.stream_version AS version, e.hash FROM events e
        WHERE e.stream_id = s.stream_id AND s.expected <> 0
        ORDER BY e.stream_version DESC LIMIT 1
    ) h ON true
),
ok AS (
    SELECT NOT EXISTS (SELECT FROM heads WHERE expected NOT IN (-1, actual)) AS versions_match
),
placed AS (
    SELECT e.n, e.sn, h.stream_id, e.event_type, e.schema_version, e.payload,
           h.actual + row_number() OVER (PARTITION BY e.sn ORDER BY e.n) AS stream_version,
           tx.first + e.n - 1 AS position, tx.recorded_at, gen_random_uuid() AS event_id,
           h.hash AS seed
    FROM unnest($3::int[], $4::text[], $5::int[], $6::json[])
         WITH ORDINALITY AS e(sn, event_type, schema_version, payload, n)
    JOIN heads h ON h.sn = e.sn
    CROSS JOIN tx
),
chained AS (
    SELECT p.*, jaga_chain(p.seed, jaga_event_bytes(
               p.stream_id, p.stream_version, p.event_id, p.event_type, p.schema_version,
               p.payload, $7, p.recorded_at, $8, $9, $10, $11))
               OVER (PARTITION BY p.sn ORDER BY p.n ROWS UNBOUNDED PRECEDING) AS link
    FROM placed p
),
outcome AS (
    SELECT sn, max(stream_version) AS version, min(position) AS first_position,
           max(position) AS last_position
    FROM placed GROUP BY sn
),
claim AS (
    INSERT INTO idempotency_keys (key, request_hash, result)
    SELECT $11, $12, jsonb_agg(jsonb_build_object(
               'stream_id', h.stream_id, 'stream_version', o.version,
               'first_position', o.first_position, 'last_position', o.last_position) ORDER BY h.sn)
    FROM heads h JOIN outcome o USING (sn)
    HAVING $11::text IS NOT NULL AND (SELECT versions_match FROM ok)
    ON CONFLICT (key) DO NOTHING
    RETURNING key
),
inserted AS (
    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version,
                        payload, occurred_at, recorded_at, actor, correlation_id, causation_id,
                        idempotency_key, prev_hash, hash)
    SELECT c.position, c.stream_id, c.stream_version, c.event_id, c.event_type, c.schema_version,
           c.payload, $7, c.recorded_at, $8, $9, $10, $11, c.link[1], c.link[2]
    FROM chained c, ok, tx
    WHERE ok.versions_match
      AND tx.first + cardinality($4::text[]) <= tx.hi  -- never into the next transaction's range
      AND ($11::text IS NULL OR EXISTS (SELECT FROM claim))
    RETURNING 1
)
SELECT h.stream_id, h.expected, h.actual, o.version, o.first_position, o.last_position,
       (SELECT count(*) FROM inserted) AS appended
FROM heads h JOIN outcome o USING (sn)
ORDER BY h.sn
