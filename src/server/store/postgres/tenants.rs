//! Tenants, API tokens, users and sessions in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::PostgresStore;
use crate::protocol::{TokenView, UserView};
use crate::server::store::shared::rows;
use crate::server::store::shared::{
    Backend, WriteTx, new_tenant, new_token, new_user, unless_taken,
};
use crate::server::store::{Role, Session, StoreResult, Tenant, TenantId, TenantStore, User};

#[async_trait]
impl TenantStore for PostgresStore {
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        let tenant = new_tenant(name);
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(tenant.id.0)
        .bind(name)
        .bind(tenant.created_at)
        .execute(&self.pool)
        .await?;
        unless_taken(inserted.rows_affected(), || {
            format!("a tenant named {name:?} already exists")
        })?;
        Ok(tenant)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn create_api_token(
        &self,
        tenant: TenantId,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<TokenView> {
        let token = new_token(name);
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.id)
        .bind(tenant.0)
        .bind(name)
        .bind(token_hash)
        .bind(token.created_at)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenView>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE tenant_id = $1 ORDER BY id DESC",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, rows::token)
    }

    async fn revoke_token(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) \
             WHERE id = $1 AND tenant_id = $2 RETURNING token_hash",
        )
        .bind(id)
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn tenant_for_token(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        // Last use is shown to people: minute precision is enough, so most lookups write nothing.
        let row = sqlx::query(
            "WITH token AS (SELECT id, tenant_id, last_used_at FROM api_tokens \
                WHERE token_hash = $1 AND revoked_at IS NULL), \
             touched AS (UPDATE api_tokens SET last_used_at = now() WHERE id IN \
                (SELECT id FROM token WHERE last_used_at IS NULL OR last_used_at < now() - interval '1 minute')) \
             SELECT tenant_id FROM token",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| TenantId(row.get("tenant_id"))))
    }

    async fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<User> {
        let user = new_user(tenant, username, password_hash, role);
        let inserted = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (tenant_id, username) DO NOTHING",
        )
        .bind(user.id)
        .bind(tenant.0)
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .execute(&self.pool)
        .await?;
        unless_taken(inserted.rows_affected(), || {
            format!("this tenant already has a user called {username:?}")
        })?;
        Ok(user)
    }

    async fn user_by_username(
        &self,
        tenant: TenantId,
        username: &str,
    ) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, role FROM users \
             WHERE tenant_id = $1 AND username = $2",
        )
        .bind(tenant.0)
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn list_users(&self, tenant: TenantId) -> StoreResult<Vec<UserView>> {
        let rows = sqlx::query(
            "SELECT id, username, role, created_at FROM users WHERE tenant_id = $1 ORDER BY username",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, rows::user_view)
    }

    async fn set_role(&self, tenant: TenantId, user: Uuid, role: Role) -> StoreResult<bool> {
        let updated = sqlx::query("UPDATE users SET role = $1 WHERE id = $2 AND tenant_id = $3")
            .bind(role.as_str())
            .bind(user)
            .bind(tenant.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    async fn delete_user(&self, tenant: TenantId, user: Uuid) -> StoreResult<Option<Vec<String>>> {
        let mut tx = self.write().await?;
        let sessions: Vec<String> = sqlx::query_scalar(
            "SELECT s.id_hash FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.id = $1 AND u.tenant_id = $2",
        )
        .bind(user)
        .bind(tenant.0)
        .fetch_all(&mut *tx.tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(user)
            .bind(tenant.0)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((deleted == 1).then_some(sessions))
    }

    async fn create_session(
        &self,
        id_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, now(), $3)",
        )
        .bind(id_hash)
        .bind(user)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.user_id, s.expires_at, u.tenant_id, u.username, u.role \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > now()",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| rows::session(&row, id_hash)).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
