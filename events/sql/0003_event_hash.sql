-- Invariant 7: each event's hash covers its stored bytes and the previous event's hash.
-- jaga_event_bytes is the one definition of what is hashed, used by jaga_append and by
-- jaga_verify. The envelope is a JSON array, so field boundaries are unambiguous; the payload follows it byte for byte as stored. Instants are
-- microseconds since the epoch (no time zone or DateStyle dependence).

CREATE FUNCTION jaga_event_bytes(
    stream_id text, stream_version bigint, event_id uuid, event_type text, schema_version integer,
    payload json, occurred_at timestamptz, recorded_at timestamptz, actor text,
    correlation_id uuid, causation_id uuid, idempotency_key text
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(json_build_array(
               stream_id, stream_version, event_id, event_type, schema_version,
               (extract(epoch FROM occurred_at) * 1000000)::bigint,
               (extract(epoch FROM recorded_at) * 1000000)::bigint,
               actor, correlation_id, causation_id, idempotency_key)::text, 'UTF8')
        || convert_to(payload::text, 'UTF8')
$$;

-- hash = sha256(previous hash || event bytes); the first event of a stream has no previous.
CREATE FUNCTION jaga_event_hash(prev_hash bytea, event_bytes bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev_hash, '\x'::bytea) || event_bytes)
$$;

-- Running over a stream's new events in order (as a window aggregate), starting from the
-- stream's last hash (`seed`), it yields each new event's {previous hash, hash}. PL/pgSQL,
-- because an SQL step function would be set up anew for every row.
CREATE FUNCTION jaga_chain_step(state bytea[], seed bytea, event_bytes bytea) RETURNS bytea[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    prev bytea := CASE WHEN state IS NULL THEN seed ELSE state[2] END;
BEGIN
    RETURN ARRAY[prev, jaga_event_hash(prev, event_bytes)];
END;
$$;

CREATE AGGREGATE jaga_chain(seed bytea, event_bytes bytea) (
    SFUNC = jaga_chain_step,
    STYPE = bytea[]
);
