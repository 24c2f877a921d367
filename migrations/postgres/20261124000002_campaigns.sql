-- Campaigns (scraping goals made of jobs), outside workers' jobs, and results as items.

CREATE TABLE campaigns (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name           text NOT NULL,
    platform       text NOT NULL,
    keywords       jsonb NOT NULL,
    target_results integer NOT NULL,
    source         jsonb NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, id DESC);

ALTER TABLE jobs ADD COLUMN campaign_id uuid REFERENCES campaigns (id) ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN name text;
ALTER TABLE jobs ADD COLUMN params jsonb;
ALTER TABLE jobs ADD COLUMN percentage double precision;
ALTER TABLE jobs ADD COLUMN worker_token_hash text;
CREATE INDEX jobs_campaign ON jobs (campaign_id) WHERE campaign_id IS NOT NULL;

-- A result's or worker item's data.
ALTER TABLE items ADD COLUMN data jsonb;
-- A result's URL or a worker item's key (NULL for bulk-send recipients, which are unique by
-- construction and so pay for no extra index).
ALTER TABLE items ADD COLUMN key text;
-- The campaign of a scraping job's item: a URL counts once per campaign, whichever job found it.
ALTER TABLE items ADD COLUMN campaign_id uuid;
-- What a results search looks in: the result's URL, title, author and text, lowercased by the
-- app (the same folding on both databases; SQLite's lower() knows ASCII only).
ALTER TABLE items ADD COLUMN search_text text;
CREATE UNIQUE INDEX items_job_key ON items (job_id, key) WHERE key IS NOT NULL;
CREATE UNIQUE INDEX items_campaign_result ON items (campaign_id, key)
    WHERE campaign_id IS NOT NULL AND status = 'sent';
-- Outside workers' jobs that stopped reporting are found by their last update.
CREATE INDEX jobs_external_active ON jobs (updated_at)
    WHERE kind = 'external' AND status IN ('pending', 'processing');
