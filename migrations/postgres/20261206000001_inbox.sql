-- Messages recipients send to a tenant's senders. Stored before the webhook is answered, linked
-- to the newest job that sent to the number; `jobs.replies` counts them per job.
CREATE TABLE inbound_messages (
    id                  bigserial PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sender_id           uuid NOT NULL,
    provider_message_id text,
    from_phone          text NOT NULL,
    body                text NOT NULL,
    at                  timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    job_id              uuid REFERENCES jobs (id) ON DELETE SET NULL
);
-- A provider that delivers a webhook twice adds the message once.
CREATE UNIQUE INDEX inbound_once ON inbound_messages (sender_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX inbound_by_tenant ON inbound_messages (tenant_id, id);
CREATE INDEX inbound_by_job ON inbound_messages (job_id, id) WHERE job_id IS NOT NULL;
-- "The newest job that sent to this number".
CREATE INDEX items_by_recipient ON items (recipient);

ALTER TABLE jobs ADD COLUMN replies bigint NOT NULL DEFAULT 0;
