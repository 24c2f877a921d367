//! The PostgreSQL store: several instances, one database. Native types (uuid, timestamptz,
//! jsonb), claims with `FOR UPDATE SKIP LOCKED`, lease times from the database's clock (so clock
//! skew between machines cannot expire a live lease), and one `NOTIFY` per committed batch.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row, Transaction};

use super::shared::sql::{Arg, Args, Dialect, Sql, impl_sql};
use super::shared::{Announcement, Backend, WriteTx};
use super::{StoreResult, StoredEvent, TenantId};

mod campaigns;
mod engine;
mod jobs;

/// The channel committed batches are announced on: `job_id:last_seq`, a wake-up, never the data.
pub const EVENTS_CHANNEL: &str = "jobpulse_events";
/// The channel of the naive design (one NOTIFY per event, the event as payload), kept only so
/// the benchmark can compare the two.
pub const ROW_EVENTS_CHANNEL: &str = "jobpulse_event_rows";
/// The channel new inbox messages are announced on: `tenant_id:id`, a wake-up as well.
pub const INBOX_CHANNEL: &str = "jobpulse_inbox";
/// The channel sender health changes are announced on: `tenant_id:sender_id`.
pub const SENDERS_CHANNEL: &str = "jobpulse_senders";

/// How committed events are announced to other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyMode {
    /// One `NOTIFY` per batch with `(job_id, last_seq)`; listeners read the rows.
    Batch,
    /// One `NOTIFY` per event carrying the event itself (for comparison only).
    PerRow,
}

/// jobpulse's state in a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    notify: NotifyMode,
    writes: AtomicU64,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`).
    pub async fn connect(url: &str, max_connections: u32, notify: NotifyMode) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("jobpulse");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(PostgresStore {
            pool,
            notify,
            writes: AtomicU64::new(0),
        })
    }

    /// Write transactions begun since the store was opened.
    pub fn write_count(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

/// A write transaction; its events are announced at commit.
pub(crate) struct PgTx {
    notify: NotifyMode,
    pub(super) tx: Transaction<'static, Postgres>,
}

impl Dialect for Postgres {
    const LEAST: &'static str = "LEAST";
    const GREATEST: &'static str = "GREATEST";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn skip_locked_of(table: &str) -> String {
        format!(" FOR UPDATE OF {table} SKIP LOCKED")
    }

    fn now(_bound: &str) -> String {
        "now()".to_owned()
    }

    fn not_before(bound: &str) -> String {
        format!("greatest({bound}, now())")
    }

    fn deadline(param: &str, until: DateTime<Utc>) -> (String, Arg) {
        let seconds = ((until - Utc::now()).num_milliseconds() as f64 / 1000.0).max(0.0);
        (
            format!("now() + make_interval(secs => {param})"),
            seconds.into(),
        )
    }

    fn before(param: &str, span: Duration, _now: DateTime<Utc>) -> (String, Arg) {
        let seconds = span.as_secs_f64();
        (
            format!("now() - make_interval(secs => {param})"),
            seconds.into(),
        )
    }

    fn id_list(col: &str) -> String {
        format!("string_agg({col}::text, ',' ORDER BY {col})")
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }
}

/// A statement with its values bound in PostgreSQL's native types.
fn query(sql: &str, args: Args) -> Query<'_, Postgres, PgArguments> {
    args.into_iter()
        .fold(sqlx::query(sql), |query, arg| match arg {
            Arg::Id(id) => query.bind(id),
            Arg::Time(time) => query.bind(time),
            Arg::Json(json) => query.bind(json),
            Arg::Text(text) => query.bind(text),
            Arg::Int(n) => query.bind(n),
            Arg::Float(x) => query.bind(x),
        })
}

impl_sql!(PgTx, PgRow, Postgres, |tx| &mut *tx.tx);

/// Statements on the pool, each its own transaction.
pub(crate) struct PgPooled<'a>(&'a PgPool);

impl_sql!(PgPooled<'_>, PgRow, Postgres, |pool| pool.0);

#[async_trait]
impl Backend for PostgresStore {
    type Row = PgRow;
    type Dialect = Postgres;
    type Reads<'a> = PgPooled<'a>;
    type Tx<'a> = PgTx;

    fn reads(&self) -> PgPooled<'_> {
        PgPooled(&self.pool)
    }

    async fn write(&self) -> StoreResult<PgTx> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(PgTx {
            notify: self.notify,
            tx: self.pool.begin().await?,
        })
    }

    /// One statement is atomic on its own: no transaction around it.
    async fn write_one(&self, sql: &str, args: Args) -> StoreResult<u64> {
        self.reads().run(sql, args).await
    }

    async fn write_unlocked(&self, sql: &str, args: Args) -> StoreResult<Vec<PgRow>> {
        self.reads().rows(sql, args).await
    }

    async fn apply_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn token_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
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
}

impl PgTx {
    /// Inserts one job's events (in seq order) and announces them.
    async fn insert_job_events(&mut self, events: &[StoredEvent]) -> StoreResult<()> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let payloads: Vec<&str> = events.iter().map(|e| &*e.json).collect();
        sqlx::query(
            "INSERT INTO events (job_id, seq, type, payload, created_at) \
             SELECT $1, e.seq, e.type, e.payload, now() FROM UNNEST($2::bigint[], $3::text[], $4::text[]) \
             AS e(seq, type, payload)",
        )
        .bind(last.job_id.0)
        .bind(&seqs)
        .bind(&kinds)
        .bind(&payloads)
        .execute(&mut *self.tx)
        .await?;
        match self.notify {
            NotifyMode::Batch => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(EVENTS_CHANNEL)
                    .bind(format!("{}:{}", last.job_id, last.seq))
                    .execute(&mut *self.tx)
                    .await?;
            }
            NotifyMode::PerRow => {
                for event in events {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(ROW_EVENTS_CHANNEL)
                        .bind(&*event.json)
                        .execute(&mut *self.tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl WriteTx for PgTx {
    async fn announce(&mut self, what: Announcement) -> StoreResult<()> {
        let channel = match what {
            Announcement::Inbound(..) => INBOX_CHANNEL,
            Announcement::SenderHealth(..) => SENDERS_CHANNEL,
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(what.payload())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Inserts events and announces them (both take effect at commit, or not at all). Events of
    /// several jobs (receipts applied together) are filed and announced job by job.
    async fn insert_events(
        &mut self,
        events: &[StoredEvent],
        _now: DateTime<Utc>,
    ) -> StoreResult<()> {
        for run in events.chunk_by(|a, b| a.job_id == b.job_id) {
            self.insert_job_events(run).await?;
        }
        Ok(())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}
