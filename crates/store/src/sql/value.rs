//! Values: what a parameter binds and a column holds ([`Value`]), the types that
//! bind as parameters ([`ToParam`]) and that columns read as ([`FromCol`]), for SQLite too.

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

pub(super) fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Result<Value<'_>> {
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
