//! SQLite connections and migrations.
//!
//! Migrations are SQL files applied in order inside one transaction each, with
//! the schema version in `PRAGMA user_version`. An applied migration is never
//! edited; a change is a new file.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};
use crate::sql::Conn;

/// The migrations, in order. Index + 1 is the schema version after applying it.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_accounts_events.sql"),
    include_str!("../migrations/sqlite/0003_market_year.sql"),
    include_str!("../migrations/sqlite/0004_large_text.sql"),
    include_str!("../migrations/sqlite/0005_member_year_folds.sql"),
    include_str!("../migrations/sqlite/0006_idempotency_request.sql"),
    include_str!("../migrations/sqlite/0007_sign_ins.sql"),
    include_str!("../migrations/sqlite/0008_data_access.sql"),
    include_str!("../migrations/sqlite/0009_member_attributes.sql"),
    include_str!("../migrations/sqlite/0010_region_settings.sql"),
    include_str!("../migrations/sqlite/0011_review_and_member_codes.sql"),
    include_str!("../migrations/sqlite/0012_reward_pictures.sql"),
    include_str!("../migrations/sqlite/0013_witnesses.sql"),
    include_str!("../migrations/sqlite/0014_recognition_agreements.sql"),
    include_str!("../migrations/sqlite/0015_transfers.sql"),
    include_str!("../migrations/sqlite/0016_recognized_scores.sql"),
];

/// The PostgreSQL migrations, in order: the same schema as SQLite's, in PostgreSQL's types.
const PG_MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_accounts_events.sql"),
    include_str!("../migrations/postgres/0003_market_year.sql"),
    include_str!("../migrations/postgres/0004_member_years_fillfactor.sql"),
    include_str!("../migrations/postgres/0005_large_text.sql"),
    include_str!("../migrations/postgres/0006_member_year_folds.sql"),
    include_str!("../migrations/postgres/0007_idempotency_request.sql"),
    include_str!("../migrations/postgres/0008_sign_ins.sql"),
    include_str!("../migrations/postgres/0009_data_access.sql"),
    include_str!("../migrations/postgres/0010_member_attributes.sql"),
    include_str!("../migrations/postgres/0011_region_settings.sql"),
    include_str!("../migrations/postgres/0012_review_and_member_codes.sql"),
    include_str!("../migrations/postgres/0013_reward_pictures.sql"),
    include_str!("../migrations/postgres/0014_witnesses.sql"),
    include_str!("../migrations/postgres/0015_recognition_agreements.sql"),
    include_str!("../migrations/postgres/0016_transfers.sql"),
    include_str!("../migrations/postgres/0017_recognized_scores.sql"),
];

/// The oldest PostgreSQL jifen runs on (as `server_version_num`): 13 brings
/// `DROP DATABASE ... WITH (FORCE)` for the tests and the planner jifen was measured with.
pub const PG_VERSION_MIN: i64 = 130_000;
/// The advisory lock that serialises migrations when several servers start at once.
const PG_MIGRATION_LOCK: i64 = 0x6a69_6665_0000_0000;

/// How long a connection waits for another writer's lock, in milliseconds.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

/// Opens a connection with the settings every jifen connection uses:
/// WAL (readers never block the writer), `synchronous=FULL` (a commit is on
/// disk before it returns: acknowledged means durable), foreign keys on.
pub fn open(path: &Path) -> Result<Conn> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65_536)?; // 64 MiB
    conn.set_prepared_statement_cache_capacity(64);
    // The query planner stability guarantee: a cached statement keeps its plan when
    // its bound values change. Without it SQLite re-plans (re-parses) statements with
    // joins or ORDER BY on every use, because rusqlite clears bindings between uses.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(Conn::from_sqlite(conn))
}

/// Brings the schema up to date; refuses a database newer than this program.
pub fn migrate(conn: &Conn) -> Result<()> {
    let conn = conn
        .as_sqlite()
        .expect("SQLite migrations run on a SQLite connection");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).expect("few migrations");
    if version > known {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {version}, newer than this jifen knows ({known}); use a newer jifen"
        )));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).expect("few migrations"),
        )?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied migration");
    }
    Ok(())
}

/// Connects to PostgreSQL and refuses a server older than [`PG_VERSION_MIN`].
/// The URL is not repeated in errors: it may carry a password.
pub fn open_pg(url: &str) -> Result<Conn> {
    let client = postgres::Client::connect(url, postgres::NoTls)
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
    let conn = Conn::from_pg(client);
    let (num, human): (String, String) = conn.query_row(
        "SELECT current_setting('server_version_num'), current_setting('server_version')",
        crate::params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    check_pg_version(&num, &human)?;
    Ok(conn)
}

/// Refuses a PostgreSQL older than the oldest jifen supports, naming both.
pub fn check_pg_version(num: &str, human: &str) -> Result<()> {
    let v: i64 = num.trim().parse().map_err(|_| {
        StoreError::Unsupported(format!("PostgreSQL reports an unreadable version {num:?}"))
    })?;
    if v < PG_VERSION_MIN {
        return Err(StoreError::Unsupported(format!(
            "PostgreSQL {} is too old: jifen needs PostgreSQL {} or newer",
            human.split_whitespace().next().unwrap_or(human),
            PG_VERSION_MIN / 10_000
        )));
    }
    Ok(())
}

/// Brings a PostgreSQL schema up to date in one transaction, under an advisory
/// lock so that servers starting together migrate once; refuses a newer schema.
pub fn migrate_pg(conn: &Conn) -> Result<()> {
    conn.execute_batch("BEGIN")?;
    let r = (|| {
        conn.execute(
            "SELECT pg_advisory_xact_lock(?1)",
            crate::params![PG_MIGRATION_LOCK],
        )?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS jifen_schema (version BIGINT NOT NULL)")?;
        let version: Option<i64> =
            conn.query_opt("SELECT version FROM jifen_schema", crate::params![], |r| {
                r.get(0)
            })?;
        let version = match version {
            Some(v) => v,
            None => {
                conn.execute(
                    "INSERT INTO jifen_schema (version) VALUES (0)",
                    crate::params![],
                )?;
                0
            }
        };
        let known = i64::try_from(PG_MIGRATIONS.len()).expect("few migrations");
        if version > known {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {version}, newer than this jifen knows ({known}); use a newer jifen"
            )));
        }
        for (i, sql) in PG_MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            conn.execute_batch(sql)?;
            conn.execute(
                "UPDATE jifen_schema SET version = ?1",
                crate::params![i64::try_from(i + 1).expect("few migrations")],
            )?;
            tracing::info!(version = i + 1, "applied PostgreSQL migration");
        }
        Ok(())
    })();
    match r {
        Ok(()) => conn.commit(),
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

/// Converts a sequence number or size for SQLite, which stores signed 64-bit integers.
pub fn sql_u64(v: u64) -> Result<i64> {
    i64::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("{v} does not fit a signed 64-bit integer")))
}

/// Reads back an unsigned value stored as a signed integer.
pub fn from_sql_u64(v: i64) -> Result<u64> {
    u64::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("negative value {v} where a count is stored")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_postgresql_is_refused_naming_both_versions() {
        let e = check_pg_version("120014", "12.14 (Debian 12.14-1)").expect_err("12 is too old");
        let msg = e.to_string();
        assert!(matches!(e, StoreError::Unsupported(_)), "{e:?}");
        assert!(msg.contains("12.14"), "names the server's version: {msg}");
        assert!(
            msg.contains("PostgreSQL 13"),
            "names the oldest supported: {msg}"
        );
        check_pg_version("130000", "13.0").expect("13 runs");
        check_pg_version("150020", "15.20 (Debian)").expect("15 runs");
        assert!(check_pg_version("fifteen", "15").is_err());
    }
}
