-- Password hashes (argon2id), deliberately outside the event log: a secret must be replaceable
-- and removable, and the log keeps everything forever. The log records only that a password
-- was set, and by whom (UserPasswordSet).
CREATE TABLE user_credentials (
    username      text        PRIMARY KEY,
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
