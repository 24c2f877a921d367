-- A bulk send's devices (its sender lanes): what each did, how fast it moves, what it holds now
-- and whether an operator paused it (its share goes to the others). Counters move with the
-- outcomes they count, in the same commit; `in_flight` is the runner's snapshot.
CREATE TABLE job_devices (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    device_id   INTEGER NOT NULL,
    sender_id   TEXT,
    sent        INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    in_flight   INTEGER NOT NULL DEFAULT 0,
    paused      INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    last_fault  TEXT,
    moved_at    INTEGER,
    pace_a_at   INTEGER,
    pace_a_done INTEGER,
    pace_b_at   INTEGER,
    pace_b_done INTEGER,
    PRIMARY KEY (job_id, device_id)
) WITHOUT ROWID;

-- Sends from before: their devices as their items tell.
INSERT INTO job_devices (job_id, device_id, sender_id, sent, failed, moved_at)
SELECT job_id, device_id, MAX(sender_id), SUM(status = 'sent'), SUM(status = 'failed'), MAX(updated_at)
FROM items WHERE device_id IS NOT NULL GROUP BY job_id, device_id;
