-- The same tables as the SQLite schema, with PostgreSQL's native types (uuid, timestamptz, jsonb).
-- Event payloads stay `text`: they are replayed byte for byte, and jsonb would re-format them.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id DESC);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    id_hash     text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'processing', 'paused', 'completed', 'failed', 'cancelled')),
    idempotency_key text,
    message         text,
    devices_limit   integer NOT NULL,
    total           bigint NOT NULL,
    sent            bigint NOT NULL DEFAULT 0,
    failed          bigint NOT NULL DEFAULT 0,
    unknown         bigint NOT NULL DEFAULT 0,
    skipped         bigint NOT NULL DEFAULT 0,
    stage           text,
    last_error      text,
    last_seq        bigint NOT NULL DEFAULT 0,
    control         text CHECK (control IN ('cancel', 'pause')),
    lease_owner     text,
    lease_expires_at timestamptz,
    results         jsonb,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_claimable ON jobs (status, lease_expires_at) WHERE status IN ('pending', 'processing');
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;

CREATE TABLE items (
    job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx             bigint NOT NULL,
    recipient       text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    device_id       integer,
    attempts        integer NOT NULL DEFAULT 0,
    error           text,
    errors          jsonb,
    idempotency_key text NOT NULL,
    provider_message_id text,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX items_by_status ON items (job_id, status, idx);

CREATE TABLE events (
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    type        text NOT NULL,
    payload     text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- Instances of the app sharing this database, and when each was last alive.
CREATE TABLE instances (
    id           text PRIMARY KEY,
    hostname     text NOT NULL,
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
