-- Usernames are unique within a tenant, not across tenants: one tenant must not learn another's
-- usernames by being refused one.
ALTER TABLE users DROP CONSTRAINT users_username_key;
ALTER TABLE users ADD CONSTRAINT users_tenant_username UNIQUE (tenant_id, username);
