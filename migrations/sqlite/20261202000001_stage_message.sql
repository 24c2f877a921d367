-- What a multi-stage job last said it is doing (its latest stage event's message).
ALTER TABLE jobs ADD COLUMN stage_message TEXT;
