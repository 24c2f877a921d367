-- Set just before an item's request is handed to a provider that cannot de-duplicate: only
-- such items may have reached it, so only they become `unknown` when their runner dies.
ALTER TABLE items ADD COLUMN handed INTEGER NOT NULL DEFAULT 0;
