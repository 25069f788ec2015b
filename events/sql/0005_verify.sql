-- jaga_verify: walk the hash chain of one stream (or of every stream when p_stream is NULL)
-- and report each stream's first problem: a missing version, a broken link, a hash that does not
-- match the stored bytes (an altered event), or a stream head that does not match its last event
-- (events removed from the end).

CREATE FUNCTION jaga_verify(p_stream text DEFAULT NULL)
RETURNS TABLE (stream_id text, stream_version bigint, event_position bigint, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r          record;
    v_stream   text := NULL;
    v_version  bigint;
    v_prev     bytea;
    v_broken   boolean := false;
    v_head     streams%ROWTYPE;
BEGIN
    FOR r IN
        SELECT e.* FROM events e
        WHERE p_stream IS NULL OR e.stream_id = p_stream
        ORDER BY e.stream_id, e.stream_version
    LOOP
        IF v_stream IS DISTINCT FROM r.stream_id THEN
            IF v_stream IS NOT NULL AND NOT v_broken THEN
                RETURN QUERY SELECT * FROM jaga_verify_head(v_stream, v_version, v_prev);
            END IF;
            v_stream := r.stream_id;
            v_version := 0;
            v_prev := NULL;
            v_broken := false;
        END IF;
        CONTINUE WHEN v_broken;

        IF r.stream_version <> v_version + 1 THEN
            stream_id := r.stream_id; stream_version := v_version + 1; event_position := r.position;
            problem := format('version %s is missing (next stored version is %s)', v_version + 1, r.stream_version);
        ELSIF r.prev_hash IS DISTINCT FROM v_prev THEN
            stream_id := r.stream_id; stream_version := r.stream_version; event_position := r.position;
            problem := 'link to the previous event is broken (previous event altered or removed)';
        ELSIF r.hash <> jaga_event_hash(v_prev, r.stream_id, r.stream_version, r.event_id, r.event_type,
                                       r.schema_version, r.payload, r.occurred_at, r.recorded_at, r.actor,
                                       r.correlation_id, r.causation_id, r.idempotency_key) THEN
            stream_id := r.stream_id; stream_version := r.stream_version; event_position := r.position;
            problem := 'hash does not match the stored event (event altered)';
        END IF;
        IF problem IS NOT NULL THEN
            RETURN NEXT;
            problem := NULL;
            v_broken := true;
        END IF;
        v_version := r.stream_version;
        v_prev := r.hash;
    END LOOP;
    IF v_stream IS NOT NULL AND NOT v_broken THEN
        RETURN QUERY SELECT * FROM jaga_verify_head(v_stream, v_version, v_prev);
    END IF;
    -- Streams whose every event is gone.
    RETURN QUERY
        SELECT s.stream_id, s.version, s.last_position, 'all events of the stream are missing'
        FROM streams s
        WHERE (p_stream IS NULL OR s.stream_id = p_stream) AND s.version > 0
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id);
END;
$$;

CREATE FUNCTION jaga_verify_head(p_stream text, p_version bigint, p_hash bytea)
RETURNS TABLE (stream_id text, stream_version bigint, event_position bigint, problem text)
LANGUAGE sql STABLE AS $$
    SELECT s.stream_id, s.version, s.last_position,
           CASE WHEN s.version <> p_version
                THEN format('stream head says version %s but the last stored event is version %s (events removed)',
                            s.version, p_version)
                ELSE 'stream head hash does not match the last event (last event altered)' END
    FROM streams s
    WHERE s.stream_id = p_stream AND (s.version <> p_version OR s.last_hash IS DISTINCT FROM p_hash)
$$;
