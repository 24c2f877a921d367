-- Where a sender's health came from ('sends': the engine's results; 'provider': what the gateway
-- reports of the device or number), and when an instance last asked the gateway: the instance
-- that moves it forward is the one that asks, so several instances ask once between them.
ALTER TABLE senders ADD COLUMN health_source TEXT;
ALTER TABLE senders ADD COLUMN health_checked_at INTEGER;
