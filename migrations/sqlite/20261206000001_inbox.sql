-- Messages recipients send to a tenant's senders. Stored before the webhook is answered, linked
-- to the newest job that sent to the number; `jobs.replies` counts them per job.
CREATE TABLE inbound_messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sender_id           TEXT NOT NULL,
    provider_message_id TEXT,
    from_phone          TEXT NOT NULL,
    body                TEXT NOT NULL,
    at                  INTEGER NOT NULL,
    received_at         INTEGER NOT NULL,
    job_id              TEXT REFERENCES jobs (id) ON DELETE SET NULL
);
-- A provider that delivers a webhook twice adds the message once.
CREATE UNIQUE INDEX inbound_once ON inbound_messages (sender_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX inbound_by_tenant ON inbound_messages (tenant_id, id);
CREATE INDEX inbound_by_job ON inbound_messages (job_id, id) WHERE job_id IS NOT NULL;
-- "The newest job that sent to this number".
CREATE INDEX items_by_recipient ON items (recipient);

ALTER TABLE jobs ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
