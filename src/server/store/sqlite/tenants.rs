//! Tenants, API tokens, users and sessions in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{SqliteStore, millis};
use crate::protocol::{TokenView, UserView};
use crate::server::store::shared::rows::{self, Cols};
use crate::server::store::shared::{
    Backend, WriteTx, new_tenant, new_token, new_user, unless_taken,
};
use crate::server::store::{Role, Session, StoreResult, Tenant, TenantId, TenantStore, User};

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        let tenant = new_tenant(name);
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(tenant.id.to_string())
        .bind(name)
        .bind(millis(tenant.created_at))
        .execute(&mut *tx.tx)
        .await?;
        unless_taken(inserted.rows_affected(), || {
            format!("a tenant named {name:?} already exists")
        })?;
        tx.commit().await?;
        Ok(tenant)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = ?")
            .bind(id.to_string())
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
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token.id.to_string())
        .bind(tenant.to_string())
        .bind(name)
        .bind(token_hash)
        .bind(millis(token.created_at))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenView>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE tenant_id = ? ORDER BY id DESC",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, rows::token)
    }

    async fn revoke_token(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<String>> {
        let mut tx = self.write().await?;
        let hash: Option<String> = sqlx::query_scalar(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) \
             WHERE id = ? AND tenant_id = ? RETURNING token_hash",
        )
        .bind(millis(Utc::now()))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(hash)
    }

    async fn list_users(&self, tenant: TenantId) -> StoreResult<Vec<UserView>> {
        let rows = sqlx::query(
            "SELECT id, username, role, created_at FROM users WHERE tenant_id = ? ORDER BY username",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, rows::user_view)
    }

    async fn set_role(&self, tenant: TenantId, user: Uuid, role: Role) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let updated = sqlx::query("UPDATE users SET role = ? WHERE id = ? AND tenant_id = ?")
            .bind(role.as_str())
            .bind(user.to_string())
            .bind(tenant.to_string())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(updated == 1)
    }

    async fn delete_user(&self, tenant: TenantId, user: Uuid) -> StoreResult<Option<Vec<String>>> {
        let mut tx = self.write().await?;
        let sessions: Vec<String> = sqlx::query_scalar(
            "SELECT s.id_hash FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.id = ? AND u.tenant_id = ?",
        )
        .bind(user.to_string())
        .bind(tenant.to_string())
        .fetch_all(&mut *tx.tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = ? AND tenant_id = ?")
            .bind(user.to_string())
            .bind(tenant.to_string())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((deleted == 1).then_some(sessions))
    }

    async fn tenant_for_token(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        let row = sqlx::query(
            "SELECT tenant_id, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant = TenantId(row.uuid("tenant_id")?);
        let now = millis(Utc::now());
        // Last use is shown to people, so minute precision is enough: skip the write otherwise.
        let last_used: Option<i64> = row.get("last_used_at");
        if last_used.is_none_or(|t| now - t > 60_000) {
            let _gate = self.write_turn().await;
            sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?")
                .bind(now)
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(tenant))
    }

    async fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<User> {
        let user = new_user(tenant, username, password_hash, role);
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, password_hash, role, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, username) DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(tenant.to_string())
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(millis(Utc::now()))
        .execute(&mut *tx.tx)
        .await?;
        unless_taken(inserted.rows_affected(), || {
            format!("this tenant already has a user called {username:?}")
        })?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_by_username(
        &self,
        tenant: TenantId,
        username: &str,
    ) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, role FROM users \
             WHERE tenant_id = ? AND username = ?",
        )
        .bind(tenant.to_string())
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn create_session(
        &self,
        id_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user.to_string())
        .bind(millis(Utc::now()))
        .bind(millis(expires_at))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.user_id, s.expires_at, u.tenant_id, u.username, u.role \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(id_hash)
        .bind(millis(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| rows::session(&row, id_hash)).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
