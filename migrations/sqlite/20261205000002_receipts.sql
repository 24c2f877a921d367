-- Delivery receipts: what providers report after they accept a message. Receipts are kept as
-- they arrive (acknowledged only once stored) and applied to their items by a background task,
-- so a receipt for a message whose send is not recorded yet waits for it.
ALTER TABLE items ADD COLUMN delivery TEXT CHECK (delivery IN ('delivered', 'read', 'undelivered'));
ALTER TABLE items ADD COLUMN delivered_at INTEGER;
ALTER TABLE items ADD COLUMN read_at INTEGER;
CREATE INDEX items_by_message ON items (provider_message_id) WHERE provider_message_id IS NOT NULL;

ALTER TABLE jobs ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN read_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN undelivered INTEGER NOT NULL DEFAULT 0;

CREATE TABLE receipts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    applied_at  INTEGER
);
CREATE INDEX receipts_waiting ON receipts (message_id) WHERE applied_at IS NULL;
