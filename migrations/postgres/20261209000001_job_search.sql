-- Finding jobs (GET /jobs?q=&status=&kind=&created_after=&created_before=&before=): tags people
-- give sends and campaigns, and the lowercased text a search matches (name, message, tags).
ALTER TABLE jobs ADD COLUMN tags jsonb;
ALTER TABLE campaigns ADD COLUMN tags jsonb;
ALTER TABLE jobs ADD COLUMN search_text text;

-- A search's jobs carry its campaign's name, so lists say "Coffee shops", not "Scraping a2d51f04".
UPDATE jobs SET name = campaigns.name FROM campaigns
WHERE campaigns.id = jobs.campaign_id AND jobs.name IS NULL;
UPDATE jobs SET search_text = lower(coalesce(name, '') || chr(10) || coalesce(message, ''));

-- Counts per status of a tenant's jobs, and the status filter, without reading every job.
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, id DESC);
