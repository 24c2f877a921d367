-- Numbers that asked not to be written to (a STOP reply, or an admin's entry); sends skip them.
CREATE TABLE opt_outs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('manual', 'reply')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, phone)
) WITHOUT ROWID;

ALTER TABLE jobs ADD COLUMN skipped_opted_out INTEGER NOT NULL DEFAULT 0;
