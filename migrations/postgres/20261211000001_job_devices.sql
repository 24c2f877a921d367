-- A bulk send's devices (its sender lanes): what each did, how fast it moves, what it holds now
-- and whether an operator paused it (its share goes to the others). Counters move with the
-- outcomes they count, in the same commit; `in_flight` is the runner's snapshot.
CREATE TABLE job_devices (
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    device_id   integer NOT NULL,
    sender_id   uuid,
    sent        bigint NOT NULL DEFAULT 0,
    failed      bigint NOT NULL DEFAULT 0,
    in_flight   integer NOT NULL DEFAULT 0,
    paused      boolean NOT NULL DEFAULT false,
    last_error  text,
    last_fault  jsonb,
    moved_at    timestamptz,
    pace_a_at   timestamptz,
    pace_a_done bigint,
    pace_b_at   timestamptz,
    pace_b_done bigint,
    PRIMARY KEY (job_id, device_id)
);

-- Sends from before: their devices as their items tell.
INSERT INTO job_devices (job_id, device_id, sender_id, sent, failed, moved_at)
SELECT job_id, device_id, (array_agg(sender_id))[1],
       count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed'),
       max(updated_at)
FROM items WHERE device_id IS NOT NULL GROUP BY job_id, device_id;
