-- API tokens: only the SHA-256 of each opaque token is stored, so a copy of this table lets
-- nobody in. A token carries the user's roles and kecamatan scope as of its issue; a change of
-- roles, disabling the user or logging out revokes it (revoked_at), expiry ends it.
CREATE TABLE api_tokens (
    token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    username     text        NOT NULL REFERENCES user_credentials (username),
    roles        text[]      NOT NULL,
    kecamatan    text[]      NOT NULL,  -- empty: the whole regency
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL CHECK (expires_at > issued_at),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Revoking all of a user's tokens at once (roles changed, user disabled).
CREATE INDEX api_tokens_live_by_user ON api_tokens (username) WHERE revoked_at IS NULL;
