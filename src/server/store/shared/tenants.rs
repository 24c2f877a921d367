//! Tenants, API tokens, users and sessions, once for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{Dialect, Sql, args};
use super::{Backend, Cols, WriteTx, new_tenant, new_token, new_user, rows, unless_taken};
use crate::protocol::{TokenView, UserView};
use crate::server::store::{Role, Session, StoreResult, Tenant, TenantId, TenantStore, User};

#[async_trait]
impl<B: Backend> TenantStore for B {
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        let tenant = new_tenant(name);
        let inserted = self
            .write_one(
                "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
                args![tenant.id, name, tenant.created_at],
            )
            .await?;
        unless_taken(inserted, || {
            format!("a tenant named {name:?} already exists")
        })?;
        Ok(tenant)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let sql = "SELECT id, name, created_at FROM tenants WHERE name = $1";
        let row = self.reads().row(sql, args![name]).await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let sql = "SELECT id, name, created_at FROM tenants WHERE id = $1";
        let row = self.reads().row(sql, args![id]).await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn create_api_token(
        &self,
        tenant: TenantId,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<TokenView> {
        let token = new_token(name);
        self.write_one(
            "INSERT INTO api_tokens (id, tenant_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![token.id, tenant, name, token_hash, token.created_at],
        )
        .await?;
        Ok(token)
    }

    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenView>> {
        let sql = "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE tenant_id = $1 ORDER BY id DESC";
        rows::all(&self.reads().rows(sql, args![tenant]).await?, rows::token)
    }

    async fn revoke_token(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<String>> {
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, {}) \
             WHERE id = $2 AND tenant_id = $3 RETURNING token_hash",
            B::Dialect::now("$1")
        );
        let rows = self.write_unlocked(&sql, args![Utc::now(), id, tenant]);
        Ok(rows.await?.first().map(|row| row.text("token_hash")))
    }

    async fn list_users(&self, tenant: TenantId) -> StoreResult<Vec<UserView>> {
        let sql = "SELECT id, username, role, created_at FROM users WHERE tenant_id = $1 \
             ORDER BY username";
        rows::all(
            &self.reads().rows(sql, args![tenant]).await?,
            rows::user_view,
        )
    }

    async fn set_role(&self, tenant: TenantId, user: Uuid, role: Role) -> StoreResult<bool> {
        let sql = "UPDATE users SET role = $1 WHERE id = $2 AND tenant_id = $3";
        let updated = self.write_one(sql, args![role.as_str(), user, tenant]);
        Ok(updated.await? == 1)
    }

    async fn delete_user(&self, tenant: TenantId, user: Uuid) -> StoreResult<Option<Vec<String>>> {
        let mut tx = self.write().await?;
        let sessions = tx
            .rows(
                "SELECT s.id_hash FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE u.id = $1 AND u.tenant_id = $2",
                args![user, tenant],
            )
            .await?;
        let sql = "DELETE FROM users WHERE id = $1 AND tenant_id = $2";
        let deleted = tx.run(sql, args![user, tenant]).await?;
        tx.commit().await?;
        let sessions = sessions.iter().map(|row| row.text("id_hash")).collect();
        Ok((deleted == 1).then_some(sessions))
    }

    async fn tenant_for_token(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        self.token_tenant(token_hash).await
    }

    async fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<User> {
        let user = new_user(tenant, username, password_hash, role);
        let sql = format!(
            "INSERT INTO users (id, tenant_id, username, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, {}) ON CONFLICT (tenant_id, username) DO NOTHING",
            B::Dialect::now("$6")
        );
        let args = args![
            user.id,
            tenant,
            username,
            password_hash,
            role.as_str(),
            Utc::now()
        ];
        let inserted = self.write_one(&sql, args).await?;
        unless_taken(inserted, || {
            format!("this tenant already has a user called {username:?}")
        })?;
        Ok(user)
    }

    async fn user_by_username(
        &self,
        tenant: TenantId,
        username: &str,
    ) -> StoreResult<Option<User>> {
        let sql = "SELECT id, tenant_id, username, password_hash, role FROM users \
             WHERE tenant_id = $1 AND username = $2";
        let row = self.reads().row(sql, args![tenant, username]).await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn create_session(
        &self,
        id_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, {}, $4)",
            B::Dialect::now("$3")
        );
        self.write_one(&sql, args![id_hash, user, Utc::now(), expires_at])
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT s.user_id, s.expires_at, u.tenant_id, u.username, u.role \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > {}",
            B::Dialect::now("$2")
        );
        let row = self.reads().row(&sql, args![id_hash, Utc::now()]).await?;
        row.map(|row| rows::session(&row, id_hash)).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let sql = "DELETE FROM sessions WHERE id_hash = $1";
        self.write_one(sql, args![id_hash]).await?;
        Ok(())
    }
}
