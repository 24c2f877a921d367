-- A tenant's sending identities. Secrets are sealed by the server (XChaCha20-Poly1305 under its
-- secret_key, bound to the sender's id) and wiped when the sender is deleted; the row stays, so
-- the items it sent keep naming it.
CREATE TABLE senders (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL,
    provider        text NOT NULL,
    config          jsonb NOT NULL,
    secrets         text,
    secret_names    jsonb NOT NULL,
    rate_per_minute integer NOT NULL,
    active          integer NOT NULL,
    health          text NOT NULL DEFAULT 'unknown',
    health_detail   text,
    health_fault    jsonb,
    created_at      timestamptz NOT NULL,
    deleted_at      timestamptz
);

CREATE UNIQUE INDEX senders_name ON senders (tenant_id, name) WHERE deleted_at IS NULL;

-- The senders a bulk send spreads over (ids in order: device k sends through the k-th).
ALTER TABLE jobs ADD COLUMN senders jsonb;
ALTER TABLE items ADD COLUMN sender_id uuid;
CREATE INDEX items_by_sender ON items (sender_id, status) WHERE sender_id IS NOT NULL;
