-- The first answer to each Idempotency-Key of each user (services/api/common.py): a repeat of
-- the same request gets it again. `response` is NULL while the first request is running.
CREATE TABLE api_idempotency (
    username     text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, key)
);
