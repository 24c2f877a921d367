-- Delivery receipts: what providers report after they accept a message. Receipts are kept as
-- they arrive (acknowledged only once stored) and applied to their items by a background task,
-- so a receipt for a message whose send is not recorded yet waits for it.
ALTER TABLE items ADD COLUMN delivery text CHECK (delivery IN ('delivered', 'read', 'undelivered'));
ALTER TABLE items ADD COLUMN delivered_at timestamptz;
ALTER TABLE items ADD COLUMN read_at timestamptz;
CREATE INDEX items_by_message ON items (provider_message_id) WHERE provider_message_id IS NOT NULL;

ALTER TABLE jobs ADD COLUMN delivered bigint NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN read_count bigint NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN undelivered bigint NOT NULL DEFAULT 0;

CREATE TABLE receipts (
    id          bigserial PRIMARY KEY,
    sender_id   uuid NOT NULL,
    message_id  text NOT NULL,
    status      text NOT NULL,
    error       text,
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    applied_at  timestamptz
);
CREATE INDEX receipts_waiting ON receipts (message_id) WHERE applied_at IS NULL;
