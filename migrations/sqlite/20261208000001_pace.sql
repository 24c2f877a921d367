-- A job's pace, kept as it moves: when its counters last moved (or it last started), and two
-- checkpoints of its done count at least ten seconds apart, from which the rate over the last
-- 10 to 20 seconds is read (GET /jobs/{id}: rate_per_sec, eta_seconds, stalled_since).
ALTER TABLE jobs ADD COLUMN moved_at INTEGER;
ALTER TABLE jobs ADD COLUMN pace_a_at INTEGER;
ALTER TABLE jobs ADD COLUMN pace_a_done INTEGER;
ALTER TABLE jobs ADD COLUMN pace_b_at INTEGER;
ALTER TABLE jobs ADD COLUMN pace_b_done INTEGER;
