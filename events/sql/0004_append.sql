-- jaga_append: append the events of one command to one or more streams, all or nothing.
--
-- Streams: p_streams[i] expects version p_expected[i] (-1 any, 0 no stream yet, n exactly n)
-- and receives the next p_counts[i] events of the flat event arrays, in order.
--
-- Gap-safe global order (invariant 4): positions are drawn under a short global lock
-- together with the transaction id, so positions follow transaction-id order. A reader that
-- only reads events whose transaction id is below the oldest running one
-- (pg_snapshot_xmin) therefore never skips an event that commits late. That only holds if
-- the transaction id is assigned inside that lock: an append must be the first write of its
-- transaction (append several streams at once through the arrays instead).
--
-- Readers are woken by the caller after commit (events/store.py), not by NOTIFY here:
-- NOTIFY takes a server-wide lock through the commit and would serialise all appends.

-- The result of the first append that used an idempotency key; a different request under the
-- same key is refused.
CREATE FUNCTION jaga_replay(p_key text, p_request_hash bytea)
RETURNS TABLE (stream_id text, stream_version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_row idempotency_keys%ROWTYPE;
BEGIN
    SELECT * INTO STRICT v_row FROM idempotency_keys WHERE key = p_key;
    IF v_row.request_hash <> p_request_hash THEN
        RAISE EXCEPTION 'idempotency key % was already used for a different request', p_key
            USING ERRCODE = 'JG002', DETAIL = json_build_object('idempotency_key', p_key)::text;
    END IF;
    RETURN QUERY SELECT r.stream_id, r.stream_version, r.first_position, r.last_position
        FROM jsonb_to_recordset(v_row.result)
             AS r(stream_id text, stream_version bigint, first_position bigint, last_position bigint);
END;
$$;

-- Draw the transaction id and `n` consecutive positions while holding the allocation lock
-- for microseconds. Returns the first position.
CREATE FUNCTION jaga_allocate(n integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    c_lock  constant bigint := 7428190101;
    v_first bigint;
BEGIN
    PERFORM pg_advisory_lock(c_lock);
    BEGIN
        PERFORM pg_current_xact_id();
        v_first := nextval('events_position_seq');
        IF n > 1 THEN
            PERFORM setval('events_position_seq', v_first + n - 1);
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(c_lock);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(c_lock);
    RETURN v_first;
END;
$$;

CREATE FUNCTION jaga_wrong_version(p_stream text, p_expected bigint, p_actual bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
            p_stream, CASE p_expected WHEN 0 THEN 'no stream' ELSE p_expected::text END, p_actual
        USING ERRCODE = 'JG001',
              DETAIL = json_build_object('stream_id', p_stream, 'expected', p_expected,
                                         'actual', p_actual)::text;
END;
$$;

CREATE FUNCTION jaga_append(
    p_streams         text[],
    p_expected        bigint[],
    p_counts          integer[],
    p_types           text[],
    p_schema_versions integer[],
    p_payloads        json[],
    p_occurred_at     timestamptz,
    p_actor           text,
    p_correlation_id  uuid,
    p_causation_id    uuid,
    p_idempotency_key text,
    p_request_hash    bytea
) RETURNS TABLE (stream_id text, stream_version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_streams     integer := coalesce(array_length(p_streams, 1), 0);
    v_total       integer := coalesce(array_length(p_payloads, 1), 0);
    v_first       bigint;
    v_xid         xid8;
    v_recorded_at timestamptz;
    v_order       integer[];
    v_versions    bigint[] := '{}';
    v_hashes      bytea[] := '{}';
    v_new         boolean[] := '{}';
    v_ids         uuid[] := '{}';
    v_prev        bytea[] := '{}';
    v_hash        bytea[] := '{}';
    v_row_streams text[] := '{}';
    v_row_versions bigint[] := '{}';
    v_starts      integer[] := '{}';
    v_current     bigint;
    v_last        bytea;
    i             integer;
    j             integer;
    k             integer := 0;
BEGIN
    IF v_total = 0 OR v_streams = 0 THEN
        RAISE EXCEPTION 'an append needs at least one stream and one event' USING ERRCODE = 'JG004';
    END IF;
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction'
            USING ERRCODE = 'JG003',
                  HINT = 'Append to several streams in one call, and write other tables after it.';
    END IF;
    -- A repeated idempotency key returns the first result and writes nothing.
    IF p_idempotency_key IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM idempotency_keys WHERE key = p_idempotency_key) THEN
            RETURN QUERY SELECT * FROM jaga_replay(p_idempotency_key, p_request_hash);
            RETURN;
        END IF;
    END IF;

    v_first := jaga_allocate(v_total);
    v_xid := pg_current_xact_id();
    v_recorded_at := clock_timestamp();

    -- Claim the key first: a concurrent duplicate waits here for us, then replays our result.
    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (key, request_hash) VALUES (p_idempotency_key, p_request_hash)
            ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT * FROM jaga_replay(p_idempotency_key, p_request_hash);
            RETURN;
        END IF;
    END IF;

    -- Lock the existing stream heads in a fixed order (no deadlocks); check expected versions.
    IF v_streams = 1 THEN
        v_order := ARRAY[1];
    ELSE
        SELECT array_agg(n ORDER BY p_streams[n]) INTO v_order FROM generate_series(1, v_streams) AS n;
    END IF;
    FOREACH i IN ARRAY v_order LOOP
        v_current := 0;
        v_last := NULL;
        v_new[i] := true;
        IF p_expected[i] <> 0 THEN
            SELECT s.version, s.last_hash INTO v_current, v_last
                FROM streams s WHERE s.stream_id = p_streams[i] FOR UPDATE;
            v_new[i] := NOT FOUND;
            v_current := coalesce(v_current, 0);
        END IF;
        IF p_expected[i] <> -1 AND p_expected[i] <> v_current THEN
            PERFORM jaga_wrong_version(p_streams[i], p_expected[i], v_current);
        END IF;
        v_versions[i] := v_current;
        v_hashes[i] := v_last;
    END LOOP;

    -- Chain each event to the previous one of its stream.
    FOR i IN 1 .. v_streams LOOP
        v_starts[i] := k + 1;
        FOR j IN 1 .. p_counts[i] LOOP
            k := k + 1;
            v_versions[i] := v_versions[i] + 1;
            v_ids[k] := gen_random_uuid();
            v_prev[k] := v_hashes[i];
            v_hashes[i] := jaga_event_hash(
                v_hashes[i], p_streams[i], v_versions[i], v_ids[k], p_types[k], p_schema_versions[k],
                p_payloads[k], p_occurred_at, v_recorded_at, p_actor, p_correlation_id, p_causation_id,
                p_idempotency_key);
            v_hash[k] := v_hashes[i];
            v_row_streams[k] := p_streams[i];
            v_row_versions[k] := v_versions[i];
        END LOOP;
    END LOOP;
    IF k <> v_total THEN
        RAISE EXCEPTION 'stream counts add up to % but % events were given', k, v_total
            USING ERRCODE = 'JG004';
    END IF;

    -- Move the stream heads: new streams are inserted (a concurrent creator makes this a
    -- version conflict), existing ones updated under the lock taken above.
    FOREACH i IN ARRAY v_order LOOP
        IF v_new[i] THEN
            INSERT INTO streams (stream_id, version, last_hash, last_position)
                VALUES (p_streams[i], v_versions[i], v_hashes[i], v_first + v_starts[i] + p_counts[i] - 2)
                ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_streams[i];
                PERFORM jaga_wrong_version(p_streams[i], p_expected[i], v_current);
            END IF;
        ELSE
            UPDATE streams s SET version = v_versions[i], last_hash = v_hashes[i],
                                 last_position = v_first + v_starts[i] + p_counts[i] - 2
                WHERE s.stream_id = p_streams[i];
        END IF;
    END LOOP;

    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, payload,
                        occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
                        transaction_id, prev_hash, hash)
    SELECT v_first + e.n - 1, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
           e.payload, p_occurred_at, v_recorded_at, p_actor, p_correlation_id, p_causation_id,
           p_idempotency_key, v_xid, e.prev_hash, e.hash
    FROM unnest(v_row_streams, v_row_versions, v_ids, p_types, p_schema_versions, p_payloads, v_prev, v_hash)
         WITH ORDINALITY
         AS e(stream_id, stream_version, event_id, event_type, schema_version, payload, prev_hash, hash, n);

    FOR i IN 1 .. v_streams LOOP
        stream_id := p_streams[i];
        stream_version := v_versions[i];
        first_position := v_first + v_starts[i] - 1;
        last_position := v_first + v_starts[i] + p_counts[i] - 2;
        RETURN NEXT;
    END LOOP;

    IF p_idempotency_key IS NOT NULL THEN
        UPDATE idempotency_keys SET result = (
            SELECT jsonb_agg(jsonb_build_object(
                'stream_id', p_streams[n], 'stream_version', v_versions[n],
                'first_position', v_first + v_starts[n] - 1,
                'last_position', v_first + v_starts[n] + p_counts[n] - 2) ORDER BY n)
            FROM generate_series(1, v_streams) AS n)
        WHERE key = p_idempotency_key;
    END IF;
END;
$$;
