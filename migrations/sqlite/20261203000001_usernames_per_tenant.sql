-- Usernames are unique within a tenant, not across tenants: one tenant must not learn another's
-- usernames by being refused one. SQLite cannot drop a column's UNIQUE, so the table is rebuilt.
-- Migrations run in a transaction with foreign keys on, where dropping `users` would cascade to
-- `sessions`: the sessions are set aside first and put back after, so nobody is logged out.
CREATE TABLE sessions_kept AS SELECT id_hash, user_id, created_at, expires_at FROM sessions;
DROP TABLE sessions;

CREATE TABLE users_new (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, username)
);
INSERT INTO users_new (id, tenant_id, username, password_hash, role, created_at)
    SELECT id, tenant_id, username, password_hash, role, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
INSERT INTO sessions (id_hash, user_id, created_at, expires_at)
    SELECT id_hash, user_id, created_at, expires_at FROM sessions_kept;
DROP TABLE sessions_kept;
