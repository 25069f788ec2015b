-- jaga_verify: walk the hash chain of one stream (or of every stream when p_stream is NULL)
-- and report each stream's first problem: a missing version, a broken link (an event removed
-- or replaced), or a hash that does not match the stored bytes (an event altered).

CREATE FUNCTION jaga_verify(p_stream text DEFAULT NULL)
RETURNS TABLE (stream_id text, stream_version bigint, event_position bigint, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r          record;
    v_stream   text := NULL;
    v_version  bigint;
    v_prev     bytea;
    v_broken   boolean := false;
BEGIN
    FOR r IN
        SELECT e.* FROM events e
        WHERE p_stream IS NULL OR e.stream_id = p_stream
        ORDER BY e.stream_id, e.stream_version
    LOOP
        IF v_stream IS DISTINCT FROM r.stream_id THEN
            v_stream := r.stream_id;
            v_version := 0;
            v_prev := NULL;
            v_broken := false;
        END IF;
        CONTINUE WHEN v_broken;

        IF r.stream_version <> v_version + 1 THEN
            problem := format('version %s is missing (next stored version is %s)',
                              v_version + 1, r.stream_version);
        ELSIF r.prev_hash IS DISTINCT FROM v_prev THEN
            problem := 'link to the previous event is broken (previous event altered or removed)';
        ELSIF r.hash <> jaga_event_hash(v_prev, jaga_event_bytes(
                r.stream_id, r.stream_version, r.event_id, r.event_type, r.schema_version,
                r.payload, r.occurred_at, r.recorded_at, r.actor, r.correlation_id,
                r.causation_id, r.idempotency_key)) THEN
            problem := 'hash does not match the stored event (event altered)';
        END IF;
        IF problem IS NOT NULL THEN
            stream_id := r.stream_id;
            stream_version := CASE WHEN problem LIKE 'version%' THEN v_version + 1 ELSE r.stream_version END;
            event_position := r.position;
            RETURN NEXT;
            problem := NULL;
            v_broken := true;
        END IF;
        v_version := r.stream_version;
        v_prev := r.hash;
    END LOOP;
END;
$$;
