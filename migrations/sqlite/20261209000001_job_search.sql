-- Finding jobs (GET /jobs?q=&status=&kind=&created_after=&created_before=&before=): tags people
-- give sends and campaigns, and the lowercased text a search matches (name, message, tags).
ALTER TABLE jobs ADD COLUMN tags TEXT;
ALTER TABLE campaigns ADD COLUMN tags TEXT;
ALTER TABLE jobs ADD COLUMN search_text TEXT;

-- A search's jobs carry its campaign's name, so lists say "Coffee shops", not "Scraping a2d51f04".
UPDATE jobs SET name = (SELECT name FROM campaigns WHERE campaigns.id = jobs.campaign_id)
WHERE campaign_id IS NOT NULL AND name IS NULL;
UPDATE jobs SET search_text = lower(coalesce(name, '') || char(10) || coalesce(message, ''));

-- Counts per status of a tenant's jobs, and the status filter, without reading every job.
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, id DESC);
