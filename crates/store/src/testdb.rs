//! Throwaway PostgreSQL databases for tests: each test gets a database of its own
//! (`CREATE DATABASE` with a fresh name), dropped when the handle goes. The
//! server is named by `JIFEN_TEST_DATABASE_URL` (a URL whose database is one to
//! connect to for creating others, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
//! Used by the PostgreSQL halves of the test suites of this and the other crates.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, StoreError};

/// The variable naming the PostgreSQL server the tests may use.
pub const TEST_DATABASE_URL_ENV: &str = "JIFEN_TEST_DATABASE_URL";

/// A database created for one test; dropped (connections and all) with the handle.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// Whether this test process is the first of its `cargo test` run to find the
/// PostgreSQL half skipped, so the run says so once, not once per test binary.
/// The test binaries of one run share a parent (cargo); a marker file named by
/// that parent's pid and start time is created by the first and seen by the rest.
fn first_to_say_skipped() -> bool {
    let parent = std::os::unix::process::parent_id();
    // Field 22 of /proc/PID/stat, the start time, tells a reused pid apart.
    let started = std::fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|s| {
            let after_name = s.rsplit_once(')')?.1.to_owned();
            after_name.split_whitespace().nth(19).map(str::to_owned)
        })
        .unwrap_or_default();
    let marker = std::env::temp_dir().join(format!("jifen-pg-half-skipped-{parent}-{started}"));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
    {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::AlreadyExists,
    }
}

impl TestDatabase {
    /// A fresh database on the server `JIFEN_TEST_DATABASE_URL` names, or `None` if unset.
    pub fn from_env() -> Result<Option<TestDatabase>> {
        match std::env::var(TEST_DATABASE_URL_ENV) {
            Ok(u) if !u.trim().is_empty() => TestDatabase::create(u.trim()).map(Some),
            _ => Ok(None),
        }
    }

    /// A fresh database, or — when `JIFEN_TEST_DATABASE_URL` is unset — a note on
    /// standard error that `suite`'s PostgreSQL half was skipped, and the test
    /// process ends successfully there (the SQLite half runs in its own binary).
    pub fn for_suite(suite: &str) -> TestDatabase {
        match TestDatabase::from_env() {
            Ok(Some(db)) => db,
            Ok(None) => {
                if first_to_say_skipped() {
                    // Straight to the file descriptor: the test harness captures `eprintln!`.
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: the PostgreSQL half of the test suites was skipped \
                         ({TEST_DATABASE_URL_ENV} is not set; first seen by the {suite})"
                    );
                }
                std::process::exit(0);
            }
            Err(e) => panic!("{suite}: cannot create a PostgreSQL test database: {e}"),
        }
    }

    /// Creates a database with a name no other test uses.
    pub fn create(admin_url: &str) -> Result<TestDatabase> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "jifen_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .filter(|b| b.contains("://") && !b.ends_with('/'))
            .ok_or_else(|| {
                StoreError::Unsupported(format!(
                    "{TEST_DATABASE_URL_ENV} must end with /<database>"
                ))
            })?;
        let url = format!("{base}/{name}");
        let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)
            .map_err(|e| StoreError::Unsupported(format!("cannot connect to PostgreSQL: {e}")))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(TestDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url,
        })
    }

    /// The URL of the test's own database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store's view of it.
    pub fn database(&self) -> crate::Database {
        crate::Database::Postgres(self.url.clone())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            Ok(mut admin) => {
                if let Err(e) = admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )) {
                    tracing::warn!(error = %e, db = %self.name, "could not drop a test database");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not connect to drop a test database"),
        }
    }
}
