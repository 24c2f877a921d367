-- Who did what to which job, campaign, sender, token, user, hook or opt-out, when, from where.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('user', 'token')),
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT,
    ip          TEXT
);

CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
