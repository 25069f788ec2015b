-- Each build of a projection is a generation: its own schema of read-model tables and its own
-- checkpoint. One generation per projection is active (the rm.* views point at it); a new
-- version or a rebuild builds another beside it and takes over atomically when caught up.
CREATE SCHEMA IF NOT EXISTS rm;

CREATE TABLE projection_generations (
    name            text        NOT NULL,
    generation      integer     NOT NULL,
    version         integer     NOT NULL,
    schema_name     text        NOT NULL UNIQUE,
    state           text        NOT NULL
                    CHECK (state IN ('building', 'active', 'retired')),
    position        bigint      NOT NULL DEFAULT 0,  -- checkpoint: every event <= it is applied
    events_applied  bigint      NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    activated_at    timestamptz,
    -- the event it could not apply: the generation stays stopped before it until it applies
    failed_position bigint,
    failed_type     text,
    error           text,
    failed_at       timestamptz,
    PRIMARY KEY (name, generation)
);

CREATE UNIQUE INDEX projection_generations_one_active
    ON projection_generations (name) WHERE state = 'active';
CREATE UNIQUE INDEX projection_generations_one_building
    ON projection_generations (name) WHERE state = 'building';
