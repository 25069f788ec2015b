-- Invariant 7: each event's hash covers its stored bytes and the previous event's hash.
-- One definition, used by jaga_append() to write and by jaga_verify() to check.
-- The envelope is a JSON array, so field boundaries are unambiguous; the payload follows it
-- byte for byte as stored. Instants are microseconds since the epoch (no time zone or
-- DateStyle dependence).

CREATE FUNCTION jaga_event_hash(
    prev_hash bytea, stream_id text, stream_version bigint, event_id uuid, event_type text,
    schema_version integer, payload json, occurred_at timestamptz, recorded_at timestamptz,
    actor text, correlation_id uuid, causation_id uuid, idempotency_key text
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(
        coalesce(prev_hash, '\x'::bytea)
        || convert_to(json_build_array(
               stream_id, stream_version, event_id, event_type, schema_version,
               (extract(epoch FROM occurred_at) * 1000000)::bigint,
               (extract(epoch FROM recorded_at) * 1000000)::bigint,
               actor, correlation_id, causation_id, idempotency_key)::text, 'UTF8')
        || convert_to(payload::text, 'UTF8'))
$$;
