-- Outgoing webhooks: a tenant's URLs that hear about its jobs' ends. The secret signs each
-- call; it is sealed by the server (bound to the hook's id), since signing needs it back.
CREATE TABLE hooks (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    -- The events it hears about, as a JSON array of wire names ("job.completed").
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX hooks_tenant ON hooks (tenant_id, id);

-- One event for one hook. Written in the same commit as the event it tells of, so an end the
-- database has is an end its hooks hear about; called until answered 2xx or out of tries.
CREATE TABLE hook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    hook_id         TEXT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL,
    event           TEXT NOT NULL,
    job_id          TEXT,
    -- The exact JSON body sent, the same on every try.
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER,
    -- An instance calling it holds it until then; a crash lets another take it after.
    lease_until     INTEGER,
    delivered_at    INTEGER
);

CREATE INDEX hook_deliveries_due ON hook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX hook_deliveries_by_hook ON hook_deliveries (hook_id, id);
