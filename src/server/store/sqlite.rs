//! The embedded SQLite store: WAL, a busy timeout, and every write in a `BEGIN IMMEDIATE`
//! transaction behind one in-process gate, so writers queue instead of spinning on the lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{
    ClaimedJob, Control, Created, InFlightPolicy, ItemOutcome, ItemToSend, JobEnd, JobFilter,
    NewBulkJob, Role, Session, Store, StoreError, StoreResult, StoredEvent, Tenant, TenantId, User,
    item_key, outcome_event, progress_of,
};
use crate::protocol::{
    ItemStatus, ItemView, JobCompletedEvent, JobCreatedEvent, JobFailedEvent, JobId, JobKind,
    JobResults, JobStartedEvent, JobStatus, JobStoppedEvent, JobView, Progress, ServerMsg,
};

/// Rows per multi-row INSERT: 6 binds each stays under SQLite's 32,766 variable limit.
const INSERT_CHUNK: usize = 4_000;

const JOB_COLUMNS: &str = "id, kind, status, created_at, started_at, finished_at, sent, failed, \
     unknown, total, stage, last_error, last_seq, skipped, devices_limit, message, results";

/// jobpulse's state in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// One writer at a time in this process; other processes wait on SQLite's busy timeout.
    write_gate: Mutex<()>,
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad id {s:?}: {e}")))
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    status: String,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    sent: i64,
    failed: i64,
    unknown: i64,
    total: i64,
    stage: Option<String>,
    last_error: Option<String>,
    last_seq: i64,
    skipped: i64,
    devices_limit: i64,
    message: Option<String>,
    results: Option<String>,
}

impl JobRow {
    fn into_view(self) -> StoreResult<JobView> {
        let corrupt = |e: crate::protocol::UnknownValue| StoreError::Corrupt(e.to_string());
        Ok(JobView {
            id: JobId(parse_uuid(&self.id)?),
            kind: JobKind::from_str(&self.kind).map_err(corrupt)?,
            status: JobStatus::from_str(&self.status).map_err(corrupt)?,
            created_at: from_millis(self.created_at),
            started_at: self.started_at.map(from_millis),
            finished_at: self.finished_at.map(from_millis),
            progress: progress_of(self.sent, self.failed, self.unknown, self.total),
            stage: self.stage,
            last_error: self.last_error,
            last_seq: self.last_seq as u64,
            total_numbers: self.total as u64,
            skipped: self.skipped as u64,
            devices_limit: self.devices_limit as u32,
            message: self.message,
            results: match self.results {
                Some(json) => Some(
                    serde_json::from_str::<JobResults>(&json)
                        .map_err(|e| StoreError::Corrupt(format!("job results: {e}")))?,
                ),
                None => None,
            },
        })
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://data/jobpulse.db`.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Conflict(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            pool,
            write_gate: Mutex::new(()),
        })
    }

    async fn write_tx(
        &self,
    ) -> StoreResult<(
        tokio::sync::MutexGuard<'_, ()>,
        Transaction<'static, Sqlite>,
    )> {
        let gate = self.write_gate.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((gate, tx))
    }

    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND tenant_id = ?")
            .bind(job.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

async fn insert_events(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[StoredEvent],
    now: i64,
) -> StoreResult<()> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (job_id, seq, type, payload, created_at) ",
        );
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(event.job_id.to_string())
                .push_bind(event.seq as i64)
                .push_bind(event.kind.clone())
                .push_bind(event.json.to_string())
                .push_bind(now);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The end-of-job summary from the final counters.
fn summarise(
    progress: Progress,
    devices_used: u32,
    parallel_workers: u32,
    duration_ms: i64,
) -> JobResults {
    let duration_ms = duration_ms.max(0) as u64;
    let throughput_per_sec = if duration_ms == 0 {
        0.0
    } else {
        ((progress.done() as f64 * 1000.0 / duration_ms as f64) * 10.0).round() / 10.0
    };
    JobResults {
        sent: progress.sent,
        failed: progress.failed,
        unknown: progress.unknown,
        total: progress.total,
        devices_used,
        parallel_workers,
        duration_ms,
        throughput_per_sec,
    }
}

fn event_rows(rows: Vec<sqlx::sqlite::SqliteRow>, job: JobId) -> Vec<StoredEvent> {
    rows.into_iter()
        .map(|row| StoredEvent {
            job_id: job,
            seq: row.get::<i64, _>("seq") as u64,
            kind: row.get("type"),
            json: row.get::<String, _>("payload").into(),
        })
        .collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        let tenant = Tenant {
            id: TenantId(Uuid::now_v7()),
            name: name.to_owned(),
            created_at: Utc::now(),
        };
        let (_gate, mut tx) = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(tenant.id.to_string())
        .bind(name)
        .bind(millis(tenant.created_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "a tenant named {name:?} already exists"
            )));
        }
        tx.commit().await?;
        Ok(tenant)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Tenant {
                id: TenantId(parse_uuid(row.get("id"))?),
                name: row.get("name"),
                created_at: from_millis(row.get("created_at")),
            })
        })
        .transpose()
    }

    async fn create_api_token(
        &self,
        tenant: TenantId,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<()> {
        let (_gate, mut tx) = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(tenant.to_string())
        .bind(name)
        .bind(token_hash)
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tenant_for_token(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        let row = sqlx::query(
            "SELECT tenant_id, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant = TenantId(parse_uuid(row.get("tenant_id"))?);
        let now = millis(Utc::now());
        // Last use is shown to people, so minute precision is enough: skip the write otherwise.
        let last_used: Option<i64> = row.get("last_used_at");
        if last_used.is_none_or(|t| now - t > 60_000) {
            let _gate = self.write_gate.lock().await;
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
        let user = User {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            role,
        };
        let (_gate, mut tx) = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, password_hash, role, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(tenant.to_string())
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "the username {username:?} is taken"
            )));
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, role FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(User {
                id: parse_uuid(row.get("id"))?,
                tenant_id: TenantId(parse_uuid(row.get("tenant_id"))?),
                username: row.get("username"),
                password_hash: row.get("password_hash"),
                role: Role::parse(row.get("role"))?,
            })
        })
        .transpose()
    }

    async fn create_session(
        &self,
        id_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (_gate, mut tx) = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user.to_string())
        .bind(millis(Utc::now()))
        .bind(millis(expires_at))
        .execute(&mut *tx)
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
        row.map(|row| {
            Ok(Session {
                user_id: parse_uuid(row.get("user_id"))?,
                tenant_id: TenantId(parse_uuid(row.get("tenant_id"))?),
                username: row.get("username"),
                role: Role::parse(row.get("role"))?,
                expires_at: from_millis(row.get("expires_at")),
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let (_gate, mut tx) = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant = %new.tenant_id, recipients = new.recipients.len()))]
    async fn create_bulk_job(&self, new: NewBulkJob) -> StoreResult<Created> {
        let id = JobId(Uuid::now_v7());
        let now = Utc::now();
        let now_ms = millis(now);
        let total = new.recipients.len() as i64;
        let (_gate, mut tx) = self.write_tx().await?;
        // The unique index decides a race between two requests with one key, not a prior SELECT.
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, status, idempotency_key, message, devices_limit, \
             total, skipped, last_seq, created_at, updated_at) \
             VALUES (?, ?, 'bulk_send', 'pending', ?, ?, ?, ?, ?, 1, ?, ?) \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
        )
        .bind(id.to_string())
        .bind(new.tenant_id.to_string())
        .bind(new.idempotency_key.as_deref())
        .bind(&new.message)
        .bind(new.devices_limit as i64)
        .bind(total)
        .bind(new.skipped as i64)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let row: JobRow = sqlx::query_as(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ? AND idempotency_key = ?"
            ))
            .bind(new.tenant_id.to_string())
            .bind(new.idempotency_key.as_deref())
            .fetch_one(&mut *tx)
            .await?;
            return Ok(Created::Existing(row.into_view()?));
        }

        let job_id = id.to_string();
        for (chunk_no, chunk) in new.recipients.chunks(INSERT_CHUNK).enumerate() {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO items (job_id, idx, recipient, status, idempotency_key, updated_at) ",
            );
            let first = chunk_no * INSERT_CHUNK;
            insert.push_values(chunk.iter().enumerate(), |mut row, (i, recipient)| {
                let idx = (first + i) as u64;
                row.push_bind(job_id.clone())
                    .push_bind(idx as i64)
                    .push_bind(recipient.clone())
                    .push_bind("pending")
                    .push_bind(item_key(id, idx))
                    .push_bind(now_ms);
            });
            insert.build().execute(&mut *tx).await?;
        }

        let row: JobRow = sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
            .bind(&job_id)
            .fetch_one(&mut *tx)
            .await?;
        let job = row.into_view()?;
        let event = StoredEvent::from_msg(&ServerMsg::JobCreated(JobCreatedEvent {
            job_id: id,
            seq: 1,
            at: now,
            job: job.clone(),
        }));
        insert_events(&mut tx, std::slice::from_ref(&event), now_ms).await?;
        tx.commit().await?;
        Ok(Created::New { job, event })
    }

    async fn job(&self, tenant: TenantId, id: JobId) -> StoreResult<Option<JobView>> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND tenant_id = ?"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(JobRow::into_view).transpose()
    }

    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = "
        ));
        query.push_bind(tenant.to_string());
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        // UUID v7 ids sort by creation time.
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(filter.limit as i64);
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(JobRow::into_view).collect()
    }

    async fn events_after(
        &self,
        tenant: TenantId,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT seq, type, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(job.to_string())
        .bind(after_seq as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(event_rows(rows, job)))
    }

    async fn events_before(
        &self,
        tenant: TenantId,
        job: JobId,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT seq, type, payload FROM events WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(job.to_string())
        .bind(before_seq.min(i64::MAX as u64) as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut events = event_rows(rows, job);
        events.reverse();
        Ok(Some(events))
    }

    async fn items(
        &self,
        tenant: TenantId,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Option<Vec<ItemView>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT idx, recipient, status, device_id, attempts, error, updated_at FROM items WHERE job_id = ",
        );
        query.push_bind(job.to_string());
        if let Some(status) = status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(after) = after {
            query.push(" AND idx > ").push_bind(after as i64);
        }
        query.push(" ORDER BY idx LIMIT ").push_bind(limit as i64);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|row| {
                Ok(ItemView {
                    index: row.get::<i64, _>("idx") as u64,
                    recipient: row.get("recipient"),
                    status: ItemStatus::from_str(row.get("status"))
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    device_id: row.get::<Option<i64>, _>("device_id").map(|d| d as u32),
                    attempts: row.get::<i64, _>("attempts") as u32,
                    error: row.get("error"),
                    updated_at: from_millis(row.get("updated_at")),
                })
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }

    #[tracing::instrument(skip_all, fields(owner))]
    async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        in_flight: InFlightPolicy,
    ) -> StoreResult<Option<ClaimedJob>> {
        let now = Utc::now();
        let now_ms = millis(now);
        let (_gate, mut tx) = self.write_tx().await?;
        let candidate = sqlx::query(
            "SELECT id, tenant_id, status, lease_owner FROM jobs \
             WHERE status = 'pending' OR (status = 'processing' AND lease_expires_at < ?) \
             ORDER BY id LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        let id: String = candidate.get("id");
        let job_id = JobId(parse_uuid(&id)?);
        let tenant_id = TenantId(parse_uuid(candidate.get("tenant_id"))?);
        let rescued = candidate.get::<String, _>("status") == "processing";
        let mut newly_unknown = 0_i64;
        if rescued {
            let reset = match in_flight {
                InFlightPolicy::Retry => {
                    sqlx::query("UPDATE items SET status = 'pending', updated_at = ? WHERE job_id = ? AND status = 'sending'")
                }
                InFlightPolicy::MarkUnknown => sqlx::query(
                    "UPDATE items SET status = 'unknown', updated_at = ?, \
                     error = 'in flight when its runner stopped; not re-sent automatically' \
                     WHERE job_id = ? AND status = 'sending'",
                ),
            }
            .bind(now_ms)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            if in_flight == InFlightPolicy::MarkUnknown {
                newly_unknown = reset.rows_affected() as i64;
            }
        }
        let row: JobRow = sqlx::query_as(&format!(
            "UPDATE jobs SET status = 'processing', lease_owner = ?, lease_expires_at = ?, \
             started_at = COALESCE(started_at, ?), unknown = unknown + ?, last_seq = last_seq + 1, \
             updated_at = ? WHERE id = ? RETURNING {JOB_COLUMNS}"
        ))
        .bind(owner)
        .bind(millis(lease_until))
        .bind(now_ms)
        .bind(newly_unknown)
        .bind(now_ms)
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let job = row.into_view()?;
        let message = match (rescued, newly_unknown) {
            (false, _) => "Started".to_owned(),
            (true, 0) => "Resumed after its runner stopped".to_owned(),
            (true, n) => format!(
                "Resumed after its runner stopped; {n} items in flight are unknown and were not re-sent"
            ),
        };
        let started = StoredEvent::from_msg(&ServerMsg::JobStarted(JobStartedEvent {
            job_id,
            seq: job.last_seq,
            at: now,
            message,
            progress: Some(job.progress),
        }));
        insert_events(&mut tx, std::slice::from_ref(&started), now_ms).await?;
        tx.commit().await?;
        Ok(Some(ClaimedJob {
            job,
            tenant_id,
            started,
            rescued,
        }))
    }

    async fn renew_lease(
        &self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Control> {
        let _gate = self.write_gate.lock().await;
        let row = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? \
             AND status = 'processing' RETURNING control",
        )
        .bind(millis(lease_until))
        .bind(job.to_string())
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        match row.map(|r| r.get::<Option<String>, _>("control")) {
            None => Err(StoreError::LeaseLost(job)),
            Some(None) => Ok(Control::Run),
            Some(Some(c)) if c == "cancel" => Ok(Control::Cancel),
            Some(Some(_)) => Ok(Control::Pause),
        }
    }

    async fn claim_items(
        &self,
        job: JobId,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ItemToSend>> {
        let (_gate, mut tx) = self.write_tx().await?;
        let holds = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?")
            .bind(job.to_string())
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        if holds.is_none() {
            return Err(StoreError::LeaseLost(job));
        }
        let rows = sqlx::query(
            "UPDATE items SET status = 'sending', updated_at = ? WHERE job_id = ? AND idx IN \
             (SELECT idx FROM items WHERE job_id = ? AND status = 'pending' ORDER BY idx LIMIT ?) \
             RETURNING idx, recipient, idempotency_key, attempts",
        )
        .bind(millis(Utc::now()))
        .bind(job.to_string())
        .bind(job.to_string())
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut items: Vec<ItemToSend> = rows
            .into_iter()
            .map(|row| ItemToSend {
                idx: row.get::<i64, _>("idx") as u64,
                recipient: row.get("recipient"),
                idempotency_key: row.get("idempotency_key"),
                attempts: row.get::<i64, _>("attempts") as u32,
            })
            .collect();
        items.sort_by_key(|item| item.idx);
        Ok(items)
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, outcomes = outcomes.len()))]
    async fn record_outcomes(
        &self,
        job: JobId,
        owner: &str,
        outcomes: &[ItemOutcome],
    ) -> StoreResult<Vec<StoredEvent>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let now_ms = millis(now);
        let job_key = job.to_string();
        let (_gate, mut tx) = self.write_tx().await?;
        // Items first: only outcomes for items still `sending` count, so a repeated outcome
        // can never count twice.
        let mut recorded = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let updated = sqlx::query(
                "UPDATE items SET status = ?, device_id = ?, attempts = ?, error = ?, \
                 provider_message_id = ?, updated_at = ? \
                 WHERE job_id = ? AND idx = ? AND status = 'sending'",
            )
            .bind(outcome.status.as_str())
            .bind(outcome.device_id as i64)
            .bind(outcome.attempts as i64)
            .bind(outcome.error.as_deref())
            .bind(outcome.provider_message_id.as_deref())
            .bind(now_ms)
            .bind(&job_key)
            .bind(outcome.idx as i64)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 1 {
                recorded.push(outcome);
            }
        }
        let count =
            |status: ItemStatus| recorded.iter().filter(|o| o.status == status).count() as i64;
        let (sent, failed, unknown) = (
            count(ItemStatus::Sent),
            count(ItemStatus::Failed),
            count(ItemStatus::Unknown),
        );
        let row = sqlx::query(
            "UPDATE jobs SET sent = sent + ?, failed = failed + ?, unknown = unknown + ?, \
             last_seq = last_seq + ?, updated_at = ? WHERE id = ? AND lease_owner = ? \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(sent)
        .bind(failed)
        .bind(unknown)
        .bind(recorded.len() as i64)
        .bind(now_ms)
        .bind(&job_key)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::LeaseLost(job));
        };
        let last_seq = row.get::<i64, _>("last_seq") as u64;
        let total: i64 = row.get("total");
        // Counters before this batch, then advanced one outcome at a time so each event
        // carries the counters as of that event.
        let (mut s, mut f, mut u) = (
            row.get::<i64, _>("sent") - sent,
            row.get::<i64, _>("failed") - failed,
            row.get::<i64, _>("unknown") - unknown,
        );
        let first_seq = last_seq + 1 - recorded.len() as u64;
        let events: Vec<StoredEvent> = recorded
            .iter()
            .enumerate()
            .map(|(i, outcome)| {
                match outcome.status {
                    ItemStatus::Sent => s += 1,
                    ItemStatus::Failed => f += 1,
                    _ => u += 1,
                }
                StoredEvent::from_msg(&outcome_event(
                    job,
                    first_seq + i as u64,
                    now,
                    outcome,
                    progress_of(s, f, u, total),
                ))
            })
            .collect();
        insert_events(&mut tx, &events, now_ms).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn release_items(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()> {
        if idxs.is_empty() {
            return Ok(());
        }
        let (_gate, mut tx) = self.write_tx().await?;
        let holds = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?")
            .bind(job.to_string())
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        if holds.is_none() {
            return Err(StoreError::LeaseLost(job));
        }
        for chunk in idxs.chunks(INSERT_CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(
                "UPDATE items SET status = 'pending' WHERE status = 'sending' AND job_id = ",
            );
            update.push_bind(job.to_string()).push(" AND idx IN (");
            let mut list = update.separated(", ");
            for idx in chunk {
                list.push_bind(*idx as i64);
            }
            update.push(")");
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(job_id = %job))]
    async fn finish_job(&self, job: JobId, owner: &str, end: JobEnd) -> StoreResult<StoredEvent> {
        let now = Utc::now();
        let now_ms = millis(now);
        let (status, finished, last_error) = match &end {
            JobEnd::Completed { .. } => (JobStatus::Completed, Some(now_ms), None),
            JobEnd::Failed { error, .. } => (JobStatus::Failed, Some(now_ms), Some(error.clone())),
            JobEnd::Cancelled { .. } => (JobStatus::Cancelled, Some(now_ms), None),
            JobEnd::Paused { .. } => (JobStatus::Paused, None, None),
        };
        let (_gate, mut tx) = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE jobs SET status = ?, lease_owner = NULL, lease_expires_at = NULL, control = NULL, \
             finished_at = ?, last_error = COALESCE(?, last_error), \
             last_seq = last_seq + 1, updated_at = ? WHERE id = ? AND lease_owner = ? \
             RETURNING sent, failed, unknown, total, last_seq, started_at",
        )
        .bind(status.as_str())
        .bind(finished)
        .bind(last_error)
        .bind(now_ms)
        .bind(job.to_string())
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::LeaseLost(job));
        };
        let seq = row.get::<i64, _>("last_seq") as u64;
        let progress = progress_of(
            row.get("sent"),
            row.get("failed"),
            row.get("unknown"),
            row.get("total"),
        );
        let msg = match end {
            JobEnd::Completed { parallel_workers } => {
                let devices_used: i64 = sqlx::query_scalar(
                    "SELECT COUNT(DISTINCT device_id) FROM items WHERE job_id = ? AND device_id IS NOT NULL",
                )
                .bind(job.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let started = row.get::<Option<i64>, _>("started_at").unwrap_or(now_ms);
                let results = summarise(
                    progress,
                    devices_used as u32,
                    parallel_workers,
                    now_ms - started,
                );
                sqlx::query("UPDATE jobs SET results = ? WHERE id = ?")
                    .bind(serde_json::to_string(&results).expect("results serialise"))
                    .bind(job.to_string())
                    .execute(&mut *tx)
                    .await?;
                ServerMsg::JobCompleted(JobCompletedEvent {
                    job_id: job,
                    seq,
                    at: now,
                    status,
                    results,
                })
            }
            JobEnd::Failed { error, message } => ServerMsg::JobFailed(JobFailedEvent {
                job_id: job,
                seq,
                at: now,
                error,
                message,
                progress: Some(progress),
            }),
            JobEnd::Cancelled { message } => ServerMsg::JobCancelled(JobStoppedEvent {
                job_id: job,
                seq,
                at: now,
                status,
                progress,
                message,
            }),
            JobEnd::Paused { message } => ServerMsg::JobPaused(JobStoppedEvent {
                job_id: job,
                seq,
                at: now,
                status,
                progress,
                message,
            }),
        };
        let event = StoredEvent::from_msg(&msg);
        insert_events(&mut tx, std::slice::from_ref(&event), now_ms).await?;
        tx.commit().await?;
        Ok(event)
    }
}
