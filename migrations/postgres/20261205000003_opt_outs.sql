-- Numbers that asked not to be written to (a STOP reply, or an admin's entry); sends skip them.
CREATE TABLE opt_outs (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone       text NOT NULL,
    source      text NOT NULL CHECK (source IN ('manual', 'reply')),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);

ALTER TABLE jobs ADD COLUMN skipped_opted_out bigint NOT NULL DEFAULT 0;
