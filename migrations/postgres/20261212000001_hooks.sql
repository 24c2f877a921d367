-- Outgoing webhooks: a tenant's URLs that hear about its jobs' ends. The secret signs each
-- call; it is sealed by the server (bound to the hook's id), since signing needs it back.
CREATE TABLE hooks (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         text NOT NULL,
    -- The events it hears about, as a JSON array of wire names ("job.completed").
    events      jsonb NOT NULL,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX hooks_tenant ON hooks (tenant_id, id);

-- One event for one hook. Written in the same commit as the event it tells of, so an end the
-- database has is an end its hooks hear about; called until answered 2xx or out of tries.
CREATE TABLE hook_deliveries (
    id              uuid PRIMARY KEY,
    hook_id         uuid NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL,
    event           text NOT NULL,
    job_id          uuid,
    -- The exact JSON body sent, the same on every try.
    body            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    response_status integer,
    error           text,
    created_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    -- An instance calling it holds it until then; a crash lets another take it after.
    lease_until     timestamptz,
    delivered_at    timestamptz
);

CREATE INDEX hook_deliveries_due ON hook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX hook_deliveries_by_hook ON hook_deliveries (hook_id, id);
