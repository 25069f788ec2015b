-- One data key per data subject, wrapped by a master key held outside the database.
-- Erasure destroys the wrapped key (crypto-shredding); the log itself is never touched.
-- This table is not the log: erasing and re-wrapping update it in place by design.

CREATE TABLE subject_keys (
    subject_id    text        PRIMARY KEY,
    master_key_id text,
    wrapped_key   bytea,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    erased_at     timestamptz,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL)),
    CHECK ((wrapped_key IS NULL) = (master_key_id IS NULL))
);

CREATE INDEX subject_keys_master ON subject_keys (master_key_id) WHERE wrapped_key IS NOT NULL;
