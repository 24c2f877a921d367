-- Times are unix milliseconds (UTC): they compare as integers, which lease expiry checks rely on.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- SHA-256 of the token: a leaked database does not leak usable tokens.
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'paused', 'completed', 'failed', 'cancelled')),
    idempotency_key TEXT,
    message         TEXT,
    devices_limit   INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    sent            INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    unknown         INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    stage           TEXT,
    last_error      TEXT,
    -- The seq of the newest event; events are numbered by bumping it in the same transaction.
    last_seq        INTEGER NOT NULL DEFAULT 0,
    -- A requested stop ('cancel' or 'pause') that the runner carries out once in-flight work is recorded.
    control         TEXT CHECK (control IN ('cancel', 'pause')),
    lease_owner     TEXT,
    lease_expires_at INTEGER,
    results         TEXT,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    updated_at      INTEGER NOT NULL
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_claimable ON jobs (status, lease_expires_at) WHERE status IN ('pending', 'processing');

CREATE TABLE items (
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    device_id       INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    -- Stable across retries, restarts and instances, so a de-duplicating provider delivers once.
    idempotency_key TEXT NOT NULL,
    provider_message_id TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;

CREATE INDEX items_by_status ON items (job_id, status, idx);

CREATE TABLE events (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    -- The exact JSON text sent over the WebSocket, so replay is byte for byte.
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
