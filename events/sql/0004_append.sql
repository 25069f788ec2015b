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

CREATE FUNCTION jaga_append(
    p_streams         text[],
    p_expected        bigint[],
    p_counts          integer[],
    p_event_ids       uuid[],
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
LANGUAGE plpgsql AS $$
DECLARE
    c_allocation_lock constant bigint := 7428190101;  -- any constant, shared by all appends
    v_total       integer := coalesce(array_length(p_event_ids, 1), 0);
    v_xid         xid8;
    v_positions   bigint[];
    v_recorded_at timestamptz := clock_timestamp();
    v_order       integer[];
    v_versions    bigint[] := array_fill(0::bigint, ARRAY[array_length(p_streams, 1)]);
    v_hashes      bytea[] := array_fill(NULL::bytea, ARRAY[array_length(p_streams, 1)]);
    v_current     bigint;
    v_hash        bytea;
    v_row_hashes  bytea[] := '{}';
    v_row_prev    bytea[] := '{}';
    v_row_streams text[] := '{}';
    v_row_versions bigint[] := '{}';
    v_offsets     integer[] := '{}';
    v_result      jsonb;
    i             integer;
    j             integer;
    k             integer := 0;
BEGIN
    IF v_total = 0 OR array_length(p_streams, 1) IS NULL THEN
        RAISE EXCEPTION 'an append needs at least one stream and one event' USING ERRCODE = 'JG004';
    END IF;
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction'
            USING ERRCODE = 'JG003',
                  HINT = 'Append to several streams in one call, and write other tables after it.';
    END IF;

    -- A repeated idempotency key returns the first result and writes nothing.
    IF p_idempotency_key IS NOT NULL
       AND EXISTS (SELECT 1 FROM idempotency_keys WHERE key = p_idempotency_key) THEN
        RETURN QUERY SELECT * FROM jaga_replay(p_idempotency_key, p_request_hash);
        RETURN;
    END IF;

    -- Draw the transaction id and the positions together, under a lock held for microseconds.
    PERFORM pg_advisory_lock(c_allocation_lock);
    BEGIN
        v_xid := pg_current_xact_id();
        SELECT array_agg(nextval('events_position_seq')) INTO v_positions FROM generate_series(1, v_total);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(c_allocation_lock);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(c_allocation_lock);

    -- Claim the key first: a concurrent duplicate waits here for us, then replays our result.
    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (key, request_hash) VALUES (p_idempotency_key, p_request_hash)
            ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT * FROM jaga_replay(p_idempotency_key, p_request_hash);
            RETURN;
        END IF;
    END IF;

    -- Lock the stream heads in a fixed order (no deadlocks) and check the expected versions.
    SELECT array_agg(n ORDER BY p_streams[n]) INTO v_order FROM generate_series(1, array_length(p_streams, 1)) AS n;
    FOREACH i IN ARRAY v_order LOOP
        SELECT s.version, s.last_hash INTO v_current, v_hash FROM streams s WHERE s.stream_id = p_streams[i] FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO streams (stream_id, version) VALUES (p_streams[i], 0) ON CONFLICT DO NOTHING;
            IF FOUND THEN
                v_current := 0;
                v_hash := NULL;
            ELSE  -- created by a concurrent append that has committed meanwhile
                SELECT s.version, s.last_hash INTO v_current, v_hash FROM streams s WHERE s.stream_id = p_streams[i] FOR UPDATE;
            END IF;
        END IF;
        IF p_expected[i] <> -1 AND p_expected[i] <> v_current THEN
            RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
                    p_streams[i], CASE p_expected[i] WHEN 0 THEN 'no stream' ELSE p_expected[i]::text END, v_current
                USING ERRCODE = 'JG001',
                      DETAIL = json_build_object('stream_id', p_streams[i], 'expected', p_expected[i], 'actual', v_current)::text;
        END IF;
        v_versions[i] := v_current;
        v_hashes[i] := v_hash;
    END LOOP;

    -- Chain each event to the previous one of its stream.
    FOR i IN 1 .. array_length(p_streams, 1) LOOP
        v_offsets := v_offsets || (k + 1);
        FOR j IN 1 .. p_counts[i] LOOP
            k := k + 1;
            v_versions[i] := v_versions[i] + 1;
            v_row_prev[k] := v_hashes[i];
            v_hashes[i] := jaga_event_hash(
                v_hashes[i], p_streams[i], v_versions[i], p_event_ids[k], p_types[k], p_schema_versions[k],
                p_payloads[k], p_occurred_at, v_recorded_at, p_actor, p_correlation_id, p_causation_id,
                p_idempotency_key);
            v_row_hashes[k] := v_hashes[i];
            v_row_streams[k] := p_streams[i];
            v_row_versions[k] := v_versions[i];
        END LOOP;
    END LOOP;
    IF k <> v_total THEN
        RAISE EXCEPTION 'stream counts add up to % but % events were given', k, v_total USING ERRCODE = 'JG004';
    END IF;

    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, payload,
                        occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key,
                        transaction_id, prev_hash, hash)
    SELECT e.position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version, e.payload,
           p_occurred_at, v_recorded_at, p_actor, p_correlation_id, p_causation_id, p_idempotency_key,
           v_xid, e.prev_hash, e.hash
    FROM unnest(v_positions, v_row_streams, v_row_versions, p_event_ids, p_types, p_schema_versions,
                p_payloads, v_row_prev, v_row_hashes)
         AS e(position, stream_id, stream_version, event_id, event_type, schema_version, payload, prev_hash, hash);

    FOR i IN 1 .. array_length(p_streams, 1) LOOP
        UPDATE streams s SET version = v_versions[i], last_hash = v_hashes[i],
                             last_position = v_positions[v_offsets[i] + p_counts[i] - 1]
            WHERE s.stream_id = p_streams[i];
    END LOOP;

    SELECT jsonb_agg(jsonb_build_object(
               'stream_id', p_streams[n], 'stream_version', v_versions[n],
               'first_position', v_positions[v_offsets[n]],
               'last_position', v_positions[v_offsets[n] + p_counts[n] - 1]) ORDER BY n)
        INTO v_result FROM generate_series(1, array_length(p_streams, 1)) AS n;
    IF p_idempotency_key IS NOT NULL THEN
        UPDATE idempotency_keys SET result = v_result WHERE key = p_idempotency_key;
    END IF;

    PERFORM pg_notify('jaga_events', v_positions[v_total]::text);

    RETURN QUERY SELECT r.stream_id, r.stream_version, r.first_position, r.last_position
        FROM jsonb_to_recordset(v_result)
             AS r(stream_id text, stream_version bigint, first_position bigint, last_position bigint);
END;
$$;
