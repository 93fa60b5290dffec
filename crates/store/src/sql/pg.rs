//! PostgreSQL specifics: the session and its statement cache ([`PgConn`]), query
//! text rewritten for it ([`pg_sql`]), and values to and from its types.

use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};

use super::value::Value;
use crate::error::{Result, StoreError};

/// Most prepared statements a PostgreSQL connection keeps; beyond it the cache starts over.
pub const PG_STATEMENTS_MAX: usize = 256;
/// Rows a PostgreSQL cursor fetches per round trip when a query streams its rows.
pub const PG_CURSOR_ROWS: usize = 4_096;

pub(super) fn pg_value(row: &postgres::Row, i: usize) -> Result<Value<'_>> {
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

/// A PostgreSQL session and its prepared statements.
pub struct PgConn {
    pub client: postgres::Client,
    pub(super) statements: HashMap<String, postgres::Statement>,
    pub(super) cursors: u64,
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

pub(super) fn busy() -> StoreError {
    StoreError::Corrupt("a PostgreSQL connection was used while it was already in use".into())
}

pub(super) fn pg_params<'a>(values: &'a [Value<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
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
}
