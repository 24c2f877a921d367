//! A fresh PostgreSQL database per test, dropped afterwards.
//!
//! The server is `$JOBPULSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`).

use sqlx::Connection;

/// A database with a random name that is dropped when this is.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

fn server_url() -> String {
    std::env::var("JOBPULSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

impl TestDatabase {
    /// Creates the database (the server must be running: tests do not skip without it).
    pub async fn create() -> TestDatabase {
        let server = server_url();
        let admin_url = format!("{server}/postgres");
        let name = format!("jobpulse_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} is needed for this test: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        TestDatabase {
            url: format!("{server}/{name}"),
            admin_url,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime we may block: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                        .map(|_| ())
                })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}
