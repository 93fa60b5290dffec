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

use crate::error::{Result, StoreError};

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
}

impl Row<'_> {
    /// Column `i` (from 0) as a `T`; a value of another type is `Corrupt`.
    pub fn get<T: FromCol>(&self, i: usize) -> Result<T> {
        match &self.inner {
            RowInner::Sqlite(r) => {
                let v = r.get_ref(i)?;
                T::from_value(sqlite_value(v)?)
            }
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
}

/// A connection to one of the backends. Queries take `&self`.
pub struct Conn {
    backend: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
}

impl Conn {
    pub fn from_sqlite(c: rusqlite::Connection) -> Conn {
        Conn {
            backend: Backend::Sqlite(c),
        }
    }

    pub fn kind(&self) -> Kind {
        match &self.backend {
            Backend::Sqlite(_) => Kind::Sqlite,
        }
    }

    /// The SQLite connection underneath, for SQLite-only housekeeping (WAL checkpoints).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?)
            }
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
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
        }
    }

    /// Every row, each mapped by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
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
        }
    }

    /// Starts a read transaction: one consistent snapshot for all it reads.
    pub fn begin_read(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => self.execute("BEGIN", params![]).map(drop),
        }
    }

    pub fn commit(&self) -> Result<()> {
        self.execute("COMMIT", params![]).map(drop)
    }

    pub fn rollback(&self) -> Result<()> {
        self.execute("ROLLBACK", params![]).map(drop)
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
