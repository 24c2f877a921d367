-- Who did what to which job, campaign, sender, token, user, hook or opt-out, when, from where.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'token')),
    actor       text NOT NULL,
    action      text NOT NULL,
    target_kind text NOT NULL,
    target_id   text NOT NULL,
    detail      text,
    ip          text
);

CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
