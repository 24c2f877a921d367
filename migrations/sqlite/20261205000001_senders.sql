-- A tenant's sending identities. Secrets are sealed by the server (XChaCha20-Poly1305 under its
-- secret_key, bound to the sender's id) and wiped when the sender is deleted; the row stays, so
-- the items it sent keep naming it.
CREATE TABLE senders (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    provider        TEXT NOT NULL,
    -- The settings that are not secret (JSON object).
    config          TEXT NOT NULL,
    secrets         TEXT,
    secret_names    TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    active          INTEGER NOT NULL,
    health          TEXT NOT NULL DEFAULT 'unknown',
    health_detail   TEXT,
    health_fault    TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);

CREATE UNIQUE INDEX senders_name ON senders (tenant_id, name) WHERE deleted_at IS NULL;

-- The senders a bulk send spreads over (JSON list of ids: device k sends through the k-th).
ALTER TABLE jobs ADD COLUMN senders TEXT;
ALTER TABLE items ADD COLUMN sender_id TEXT;
CREATE INDEX items_by_sender ON items (sender_id, status) WHERE sender_id IS NOT NULL;
