//! The backend abstraction: one connection type over the database drivers, with
//! a tiny layer of parameters ([`ToParam`], [`Value`]) and column reads
//! ([`FromCol`]), so that each query is written once, in portable SQL.
//!
//! Queries use `?N` (or `?`) placeholders, as SQLite does; a backend that
//! spells them differently translates the text once, when it prepares it.
//! Every statement is prepared once per connection and cached.
//!
//! Portable SQL here means: `INTEGER` values are 64-bit (`BIGINT`), `SUM(...)`
//! is cast back to `BIGINT` (some databases widen it), `ON CONFLICT ... DO
//! UPDATE` names the table on the left of `excluded`, and SQLite's `INDEXED BY`
//! hints are dropped where the backend has no such thing.
//!
//! # Files
//! - `value.rs`: [`Value`], parameters ([`ToParam`], `params!`), column reads
//!   ([`FromCol`]) and SQLite's side of the values.
//! - `pg.rs`: PostgreSQL specifics: [`PgConn`], [`pg_sql`], its side of the values.
//! - this file: [`Conn`] and its queries, [`Row`], [`Kind`].

use std::cell::RefCell;
use std::collections::HashMap;

use crate::error::{Result, StoreError};
use crate::params;

mod pg;
mod value;

pub use pg::{PG_CURSOR_ROWS, PG_STATEMENTS_MAX, PgConn, pg_sql};
use pg::{busy, pg_params, pg_value};
use value::sqlite_value;
pub use value::{FromCol, ToParam, Value};

/// One row of a result.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0) as a `T`; a value of another type is `Corrupt`.
    pub fn get<T: FromCol>(&self, i: usize) -> Result<T> {
        match &self.inner {
            RowInner::Sqlite(r) => {
                let v = r.get_ref(i)?;
                T::from_value(sqlite_value(v)?)
            }
            RowInner::Pg(r) => T::from_value(pg_value(r, i)?),
        }
    }
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A connection to one of the backends. Queries take `&self`.
pub struct Conn {
    backend: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    /// The client needs `&mut` for every call; queries take `&self`, so it sits in a
    /// `RefCell`, borrowed only for the length of one call (never across a callback).
    Pg(Box<RefCell<PgConn>>),
}

impl Conn {
    pub fn from_sqlite(c: rusqlite::Connection) -> Conn {
        Conn {
            backend: Backend::Sqlite(c),
        }
    }

    pub fn from_pg(client: postgres::Client) -> Conn {
        Conn {
            backend: Backend::Pg(Box::new(RefCell::new(PgConn {
                client,
                statements: HashMap::new(),
                cursors: 0,
            }))),
        }
    }

    pub fn kind(&self) -> Kind {
        match &self.backend {
            Backend::Sqlite(_) => Kind::Sqlite,
            Backend::Pg(_) => Kind::Postgres,
        }
    }

    /// Whether the connection is gone for good (PostgreSQL: the server closed the
    /// session, as on its restart): a new one must be opened. Never for SQLite.
    pub fn is_broken(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Pg(c) => c.try_borrow().is_ok_and(|c| c.client.is_closed()),
        }
    }

    /// The SQLite connection underneath, for SQLite-only housekeeping (WAL checkpoints).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Pg(_) => None,
        }
    }

    /// Runs `f` on the PostgreSQL session, for the fast paths only PostgreSQL has
    /// (arrays, `COPY`); `None` on SQLite.
    pub fn with_pg<T>(&self, f: impl FnOnce(&mut PgConn) -> Result<T>) -> Option<Result<T>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Pg(pg) => Some(match pg.try_borrow_mut() {
                Ok(mut pg) => f(&mut pg),
                Err(_) => Err(busy()),
            }),
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?)
            }
            Backend::Pg(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| busy())?;
                let st = pg.statement(sql)?;
                let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
                let n = pg.client.execute(&st, &pg_params(&values))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(pg) => Ok(pg
                .try_borrow_mut()
                .map_err(|_| busy())?
                .client
                .batch_execute(sql)?),
        }
    }

    /// Calls `f` on each row, in order.
    pub fn query_each(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let mut rows =
                    st.query(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?;
                while let Some(r) = rows.next()? {
                    f(&Row {
                        inner: RowInner::Sqlite(r),
                    })?;
                }
                Ok(())
            }
            // A cursor, fetched a chunk at a time: a long scan (the audit, an export)
            // never holds every row in memory, and `f` may run queries of its own.
            Backend::Pg(pg) => {
                let name = {
                    let mut c = pg.try_borrow_mut().map_err(|_| busy())?;
                    c.cursors += 1;
                    let name = format!("jifen_cursor_{}", c.cursors);
                    let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
                    let declare = format!("DECLARE {name} NO SCROLL CURSOR FOR {}", pg_sql(sql));
                    c.client.execute(declare.as_str(), &pg_params(&values))?;
                    name
                };
                let fetch = format!("FETCH {PG_CURSOR_ROWS} FROM {name}");
                loop {
                    let rows = pg
                        .try_borrow_mut()
                        .map_err(|_| busy())?
                        .client
                        .query(fetch.as_str(), &[])?;
                    for r in &rows {
                        f(&Row {
                            inner: RowInner::Pg(r),
                        })?;
                    }
                    if rows.len() < PG_CURSOR_ROWS {
                        break;
                    }
                }
                pg.try_borrow_mut()
                    .map_err(|_| busy())?
                    .client
                    .batch_execute(&format!("CLOSE {name}"))?;
                Ok(())
            }
        }
    }

    /// Every row, each mapped by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        if let Backend::Pg(pg) = &self.backend {
            let rows = {
                let mut pg = pg.try_borrow_mut().map_err(|_| busy())?;
                let st = pg.statement(sql)?;
                let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
                pg.client.query(&st, &pg_params(&values))?
            };
            return rows
                .iter()
                .map(|r| {
                    f(&Row {
                        inner: RowInner::Pg(r),
                    })
                })
                .collect();
        }
        let mut out = Vec::new();
        self.query_each(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let mut rows =
                    st.query(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?;
                match rows.next()? {
                    Some(r) => Ok(Some(f(&Row {
                        inner: RowInner::Sqlite(r),
                    })?)),
                    None => Ok(None),
                }
            }
            Backend::Pg(pg) => {
                let row = {
                    let mut pg = pg.try_borrow_mut().map_err(|_| busy())?;
                    let st = pg.statement(sql)?;
                    let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
                    pg.client
                        .query(&st, &pg_params(&values))?
                        .into_iter()
                        .next()
                };
                row.map(|r| {
                    f(&Row {
                        inner: RowInner::Pg(&r),
                    })
                })
                .transpose()
            }
        }
    }

    /// The first row; none is `NotFound`.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| StoreError::NotFound("row".into()))
    }

    /// Starts the writer's transaction: it holds the write lock from the start.
    pub fn begin_write(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => self.execute("BEGIN IMMEDIATE", params![]).map(drop),
            // Writers of several processes meet at the per-region locks the sequencer takes.
            Backend::Pg(_) => self.execute_batch("BEGIN"),
        }
    }

    /// Starts a read transaction: one consistent snapshot for all it reads.
    pub fn begin_read(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => self.execute("BEGIN", params![]).map(drop),
            Backend::Pg(_) => self.execute_batch("BEGIN ISOLATION LEVEL REPEATABLE READ"),
        }
    }

    pub fn commit(&self) -> Result<()> {
        match self.kind() {
            Kind::Sqlite => self.execute("COMMIT", params![]).map(drop),
            Kind::Postgres => self.execute_batch("COMMIT"),
        }
    }

    pub fn rollback(&self) -> Result<()> {
        match self.kind() {
            Kind::Sqlite => self.execute("ROLLBACK", params![]).map(drop),
            Kind::Postgres => self.execute_batch("ROLLBACK"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_sqlite() {
        let c = Conn::from_sqlite(rusqlite::Connection::open_in_memory().expect("memory db"));
        c.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c BLOB, d INTEGER)")
            .expect("create");
        let n = c
            .execute(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
                params![-7i64, "文本", [1u8, 2, 3], Option::<i64>::None],
            )
            .expect("insert");
        assert_eq!(n, 1);
        let (a, b, cc, d): (i64, String, Vec<u8>, Option<i64>) = c
            .query_row("SELECT a, b, c, d FROM t", params![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .expect("row");
        assert_eq!(
            (a, b.as_str(), cc.as_slice(), d),
            (-7, "文本", &[1u8, 2, 3][..], None)
        );
        // A value that does not fit is reported, not truncated.
        let narrow = c.query_row("SELECT a FROM t", params![], |r| r.get::<u32>(0));
        assert!(matches!(narrow, Err(StoreError::Corrupt(_))), "{narrow:?}");
        let none = c.query_opt("SELECT a FROM t WHERE a = 0", params![], |r| {
            r.get::<i64>(0)
        });
        assert!(matches!(none, Ok(None)));
        let missing = c.query_row("SELECT a FROM t WHERE a = 0", params![], |r| {
            r.get::<i64>(0)
        });
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
    }
}
