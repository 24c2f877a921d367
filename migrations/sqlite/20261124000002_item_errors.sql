-- Every attempt's error, oldest first (a JSON array of strings), so an item's history survives retries.
ALTER TABLE items ADD COLUMN errors TEXT;
