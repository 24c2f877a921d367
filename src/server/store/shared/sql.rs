//! Statements written once: SQL in `$N` placeholders (which sqlx's SQLite driver reads as well
//! as PostgreSQL) and values bound in each backend's column types (SQLite's TEXT uuids, INTEGER
//! millis and TEXT JSON; PostgreSQL's uuid, timestamptz and jsonb).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Cols;
use crate::protocol::JobId;
use crate::server::store::{StoreResult, TenantId};

/// A value to bind; each backend binds it in its own column type.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Id(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    Json(Option<serde_json::Value>),
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
}

/// The values of one statement, in placeholder order.
pub(crate) type Args = Vec<Arg>;

/// `Args` from values that convert into `Arg`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::server::store::shared::sql::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// `From` for `Arg`: each type, the variant it binds as and how.
macro_rules! arg_from {
    ($($ty:ty => |$v:ident| $arg:expr;)*) => {
        $(impl From<$ty> for Arg {
            fn from($v: $ty) -> Arg {
                $arg
            }
        })*
    };
}

arg_from! {
    Uuid => |id| Arg::Id(Some(id));
    Option<Uuid> => |id| Arg::Id(id);
    JobId => |id| Arg::Id(Some(id.0));
    TenantId => |id| Arg::Id(Some(id.0));
    DateTime<Utc> => |time| Arg::Time(Some(time));
    Option<DateTime<Utc>> => |time| Arg::Time(time);
    serde_json::Value => |json| Arg::Json(Some(json));
    Option<serde_json::Value> => |json| Arg::Json(json);
    &str => |text| Arg::Text(Some(text.to_owned()));
    &String => |text| Arg::Text(Some(text.clone()));
    String => |text| Arg::Text(Some(text));
    Option<&str> => |text| Arg::Text(text.map(str::to_owned));
    Option<String> => |text| Arg::Text(text);
    i64 => |n| Arg::Int(Some(n));
    Option<i64> => |n| Arg::Int(n);
    f64 => |x| Arg::Float(Some(x));
    Option<f64> => |x| Arg::Float(x);
}

/// What a backend's SQL spells its own way.
pub(crate) trait Dialect {
    /// `LEAST` of several values (SQLite's `MIN`).
    const LEAST: &'static str;
    /// `GREATEST` of several values (SQLite's `MAX`).
    const GREATEST: &'static str;
    /// The row lock that orders writers where no write gate does.
    const FOR_UPDATE: &'static str;
    /// The row lock a claim takes, passing over rows other claimers hold.
    const SKIP_LOCKED: &'static str;
    /// The time now, given `bound`, a placeholder bound to the caller's clock: PostgreSQL reads
    /// its own, so that instances with skewed clocks agree.
    fn now(bound: &str) -> String;
    /// The time now, never before `bound` (so a row's time never runs back past its events').
    fn not_before(bound: &str) -> String;
    /// A deadline, and the value to bind at `param` for it: PostgreSQL counts the time left on
    /// its own clock, so clock skew between machines cannot expire a live lease.
    fn deadline(param: &str, until: DateTime<Utc>) -> (String, Arg);
    /// The time `span` before `now`, and the value to bind at `param` for it (PostgreSQL counts
    /// back from its own clock).
    fn before(param: &str, span: std::time::Duration, now: DateTime<Utc>) -> (String, Arg);
    /// The ids in `col`, comma-separated.
    fn id_list(col: &str) -> String;
    /// The lock a claim takes on `table`'s rows only (in a join), passing over rows others hold.
    fn skip_locked_of(table: &str) -> String;
    /// The `n`-th (from 1) placeholder of a statement with many values, all bound in order:
    /// SQLite finds each numbered one by a linear search, so thousands of `$N` cost quadratic time.
    fn placeholder(n: usize) -> String;
}

/// The dialect `S` speaks.
pub(crate) type D<S> = <S as Sql>::Dialect;

/// Somewhere statements run: a pool, or a write transaction.
#[async_trait]
pub(crate) trait Sql: Send {
    type Row: Cols + Send + Sync + 'static;
    type Dialect: Dialect;
    /// Runs a statement; the rows it returns.
    async fn rows(&mut self, sql: &str, args: Args) -> StoreResult<Vec<Self::Row>>;
    /// Runs a statement; how many rows it changed.
    async fn run(&mut self, sql: &str, args: Args) -> StoreResult<u64>;
    /// Runs a statement; its first row.
    async fn row(&mut self, sql: &str, args: Args) -> StoreResult<Option<Self::Row>> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }
    /// Runs a statement that returns a row.
    async fn one(&mut self, sql: &str, args: Args) -> StoreResult<Self::Row> {
        let row = self.row(sql, args).await?;
        Ok(row.ok_or(sqlx::Error::RowNotFound)?)
    }
}

/// `Sql` for one of a backend's places to run statements: `$conn` reaches its connection from
/// `$this`, and the backend's `query` (in scope where this is used) binds the values.
macro_rules! impl_sql {
    ($ty:ty, $row:ty, $dialect:ty, |$this:ident| $conn:expr) => {
        #[async_trait::async_trait]
        impl $crate::server::store::shared::sql::Sql for $ty {
            type Row = $row;
            type Dialect = $dialect;

            async fn rows(
                &mut self,
                sql: &str,
                args: $crate::server::store::shared::sql::Args,
            ) -> $crate::server::store::StoreResult<Vec<$row>> {
                let $this = self;
                Ok(query(sql, args).fetch_all($conn).await?)
            }

            async fn run(
                &mut self,
                sql: &str,
                args: $crate::server::store::shared::sql::Args,
            ) -> $crate::server::store::StoreResult<u64> {
                let $this = self;
                Ok(query(sql, args).execute($conn).await?.rows_affected())
            }
        }
    };
}
pub(crate) use impl_sql;
