-- Campaigns (scraping goals made of jobs), outside workers' jobs, and results as items.

CREATE TABLE campaigns (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    platform       TEXT NOT NULL,
    keywords       TEXT NOT NULL,
    target_results INTEGER NOT NULL,
    source         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, id DESC);

ALTER TABLE jobs ADD COLUMN campaign_id TEXT REFERENCES campaigns (id) ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN name TEXT;
-- What the job needs to run (a scrape's keywords and source; an outside job's stages), as JSON.
ALTER TABLE jobs ADD COLUMN params TEXT;
-- The overall percentage of a multi-stage job (stage weights); NULL: sent+failed+unknown over total.
ALTER TABLE jobs ADD COLUMN percentage REAL;
-- SHA-256 of an outside job's worker token.
ALTER TABLE jobs ADD COLUMN worker_token_hash TEXT;
CREATE INDEX jobs_campaign ON jobs (campaign_id) WHERE campaign_id IS NOT NULL;

-- A result's or worker item's data, as JSON.
ALTER TABLE items ADD COLUMN data TEXT;
-- A result's URL or a worker item's key (NULL for bulk-send recipients, which are unique by
-- construction and so pay for no extra index).
ALTER TABLE items ADD COLUMN key TEXT;
-- The campaign of a scraping job's item: a URL counts once per campaign, whichever job found it.
ALTER TABLE items ADD COLUMN campaign_id TEXT;
-- What a results search looks in: the result's URL, title, author and text, lowercased by the
-- app (the same folding on both databases; SQLite's lower() knows ASCII only).
ALTER TABLE items ADD COLUMN search_text TEXT;
CREATE UNIQUE INDEX items_job_key ON items (job_id, key) WHERE key IS NOT NULL;
CREATE UNIQUE INDEX items_campaign_result ON items (campaign_id, key)
    WHERE campaign_id IS NOT NULL AND status = 'sent';
-- Outside workers' jobs that stopped reporting are found by their last update.
CREATE INDEX jobs_external_active ON jobs (updated_at)
    WHERE kind = 'external' AND status IN ('pending', 'processing');
