//! The embedded SQLite store: WAL, a busy timeout, and every write in a `BEGIN IMMEDIATE`
//! transaction behind one in-process gate, so writers queue instead of spinning on the lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::Mutex;

use super::shared::sql::{Arg, Args, Dialect, Sql, impl_sql};
use super::shared::{Backend, Cols, WriteTx};
use super::{StoreError, StoreResult, StoredEvent, TenantId};

mod campaigns;
mod engine;
mod jobs;

/// Rows per multi-row INSERT: 6 binds each stays under SQLite's 32,766 variable limit.
pub(super) const INSERT_CHUNK: usize = 4_000;

/// jobpulse's state in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Write transactions committed or attempted, for benchmarks and metrics.
    writes: std::sync::atomic::AtomicU64,
    /// One writer at a time in this process; other processes wait on SQLite's busy timeout.
    write_gate: Mutex<()>,
}

pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
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
            writes: std::sync::atomic::AtomicU64::new(0),
            write_gate: Mutex::new(()),
        })
    }

    /// Write transactions begun since the store was opened.
    pub fn write_count(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits for this process's turn to write (one writer at a time), counting the write.
    pub(super) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let gate = self.write_gate.lock().await;
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        gate
    }
}

/// A write transaction, behind the in-process write gate.
pub(crate) struct SqliteTx<'a> {
    _gate: tokio::sync::MutexGuard<'a, ()>,
    pub(super) tx: Transaction<'static, Sqlite>,
}

impl Dialect for Sqlite {
    const LEAST: &'static str = "MIN";
    const GREATEST: &'static str = "MAX";
    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";

    // One writer at a time: nothing to pass over.
    fn skip_locked_of(_table: &str) -> String {
        String::new()
    }

    fn now(bound: &str) -> String {
        bound.to_owned()
    }

    fn not_before(bound: &str) -> String {
        bound.to_owned()
    }

    fn deadline(param: &str, until: DateTime<Utc>) -> (String, Arg) {
        (param.to_owned(), until.into())
    }

    // One file, one machine: its clock is the only one.
    fn before(param: &str, span: Duration, now: DateTime<Utc>) -> (String, Arg) {
        let span = chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
        (param.to_owned(), (now - span).into())
    }

    fn id_list(col: &str) -> String {
        format!("group_concat({col})")
    }

    fn placeholder(_n: usize) -> String {
        "?".to_owned()
    }
}

/// A statement with its values bound as SQLite stores them.
fn query(sql: &str, args: Args) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    args.into_iter()
        .fold(sqlx::query(sql), |query, arg| match arg {
            Arg::Id(id) => query.bind(id.map(|id| id.to_string())),
            Arg::Time(time) => query.bind(time.map(millis)),
            Arg::Json(json) => query.bind(json.map(|json| json.to_string())),
            Arg::Text(text) => query.bind(text),
            Arg::Int(n) => query.bind(n),
            Arg::Float(x) => query.bind(x),
        })
}

impl_sql!(SqliteTx<'_>, SqliteRow, Sqlite, |tx| &mut *tx.tx);

/// Reads on the pool, outside any write transaction.
pub(crate) struct SqliteReads<'a>(&'a SqlitePool);

impl_sql!(SqliteReads<'_>, SqliteRow, Sqlite, |reads| reads.0);

#[async_trait]
impl Backend for SqliteStore {
    type Row = SqliteRow;
    type Dialect = Sqlite;
    type Reads<'a> = SqliteReads<'a>;
    type Tx<'a> = SqliteTx<'a>;

    fn reads(&self) -> SqliteReads<'_> {
        SqliteReads(&self.pool)
    }

    async fn write(&self) -> StoreResult<SqliteTx<'_>> {
        let gate = self.write_turn().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteTx { _gate: gate, tx })
    }

    async fn write_unlocked(&self, sql: &str, args: Args) -> StoreResult<Vec<SqliteRow>> {
        let _gate = self.write_turn().await;
        self.reads().rows(sql, args).await
    }

    async fn apply_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn token_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
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
}

#[async_trait]
impl WriteTx for SqliteTx<'_> {
    async fn insert_events(
        &mut self,
        events: &[StoredEvent],
        now: DateTime<Utc>,
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
                    .push_bind(millis(now));
            });
            insert.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}
