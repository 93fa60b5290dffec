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

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};

use crate::error::{Result, StoreError};

/// Most prepared statements a PostgreSQL connection keeps; beyond it the cache starts over.
pub const PG_STATEMENTS_MAX: usize = 256;
/// Rows a PostgreSQL cursor fetches per round trip when a query streams its rows.
pub const PG_CURSOR_ROWS: usize = 4_096;

/// A parameter or column value, borrowed where it can be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// Something that can be bound as a query parameter.
pub trait ToParam {
    fn value(&self) -> Value<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn value(&self) -> Value<'_> {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_param!(i64, i32, i16, u32, u16, u8, bool);

impl ToParam for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToParam for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToParam for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl ToParam for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<const N: usize> ToParam for [u8; N] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}
impl ToParam for Value<'_> {
    fn value(&self) -> Value<'_> {
        *self
    }
}

/// Parameters for a query: `params![a, b]` is a `&[&dyn ToParam]`.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::sql::ToParam]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::sql::ToParam),+] as &[&dyn $crate::sql::ToParam]
    };
}

/// A type a column can be read as.
pub trait FromCol: Sized {
    fn from_value(v: Value<'_>) -> Result<Self>;
}

fn col_err(what: &str, v: Value<'_>) -> StoreError {
    StoreError::Corrupt(format!("a column holds {v:?} where {what} was expected"))
}

impl FromCol for i64 {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Int(i) => Ok(i),
            v => Err(col_err("an integer", v)),
        }
    }
}

macro_rules! narrow_col {
    ($($t:ty),*) => {$(
        impl FromCol for $t {
            fn from_value(v: Value<'_>) -> Result<Self> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| {
                    StoreError::Corrupt(format!("{i} does not fit {}", stringify!($t)))
                })
            }
        }
    )*};
}
narrow_col!(i32, i16, u32, u16, u8, u64);

impl FromCol for bool {
    fn from_value(v: Value<'_>) -> Result<Self> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromCol for String {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s.to_owned()),
            v => Err(col_err("text", v)),
        }
    }
}
impl FromCol for Vec<u8> {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Blob(b) => Ok(b.to_vec()),
            v => Err(col_err("bytes", v)),
        }
    }
}
impl<T: FromCol> FromCol for Option<T> {
    fn from_value(v: Value<'_>) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

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

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Result<Value<'_>> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|_| StoreError::Corrupt("a text column is not UTF-8".into()))?,
        ),
        ValueRef::Blob(b) => Value::Blob(b),
        ValueRef::Real(f) => {
            return Err(StoreError::Corrupt(format!(
                "a column holds the real number {f}; jifen stores none"
            )));
        }
    })
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value<'_>> {
    let ty = row
        .columns()
        .get(i)
        .ok_or_else(|| StoreError::Corrupt(format!("no column {i} in the row")))?
        .type_()
        .clone();
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<&str>>(i)?.map(Value::Text)
        }
        Type::BYTEA => row.try_get::<_, Option<&[u8]>>(i)?.map(Value::Blob),
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {i} is of type {other}, which jifen does not read (cast it to BIGINT)"
            )));
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a parameter of type {ty}").into()),
            },
            Value::Text(t) => t.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each value converts itself to the type the server asks for, or says why not.
        true
    }

    postgres::types::to_sql_checked!();
}

/// Rewrites a query for PostgreSQL: `?N` becomes `$N`, a bare `?` the next `$k`,
/// and SQLite's `INDEXED BY name` planner hints go. Quoted text is left alone.
pub fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut bare = 0u32;
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            quoted = c != '\'';
            out.push(c);
            continue;
        }
        match c {
            '\'' => {
                quoted = true;
                out.push(c);
            }
            '?' => {
                out.push('$');
                let mut digits = false;
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                    digits = true;
                }
                if !digits {
                    bare += 1;
                    out.push_str(&bare.to_string());
                }
            }
            _ => out.push(c),
        }
    }
    while let Some(at) = out.find(" INDEXED BY ") {
        let rest = &out[at + " INDEXED BY ".len()..];
        let name = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.replace_range(at..at + " INDEXED BY ".len() + name, "");
    }
    out
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A PostgreSQL session and its prepared statements.
pub struct PgConn {
    pub client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    cursors: u64,
}

impl PgConn {
    /// A prepared statement for `sql` (`?N` or `$N` placeholders), from the cache.
    pub fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(&pg_sql(sql))?;
        if self.statements.len() >= PG_STATEMENTS_MAX {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), st.clone());
        Ok(st)
    }
}

fn busy() -> StoreError {
    StoreError::Corrupt("a PostgreSQL connection was used while it was already in use".into())
}

fn pg_params<'a>(values: &'a [Value<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
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
    fn placeholders_and_hints_become_postgresql() {
        assert_eq!(
            pg_sql("SELECT a FROM t INDEXED BY t_by_b WHERE b = ?1 AND c = '?' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $12"
        );
        assert_eq!(pg_sql("VALUES (?, ?), (?, ?)"), "VALUES ($1, $2), ($3, $4)");
        assert_eq!(pg_sql("SELECT 'it''s ?' || ?"), "SELECT 'it''s ?' || $1");
    }

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
