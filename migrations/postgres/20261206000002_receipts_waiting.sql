-- The applier reads waiting receipts oldest first: walked by this index, it stops after a batch
-- of matches instead of sorting every waiting receipt (or scanning every applied one).
CREATE INDEX receipts_unapplied ON receipts (id) WHERE applied_at IS NULL;
