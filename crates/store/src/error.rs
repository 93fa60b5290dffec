//! Store errors. Driver errors are mapped here, at the boundary: a missing row
//! becomes `NotFound`, a unique violation `Conflict`.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// It exists already, or changed under the caller.
    #[error("{0}")]
    Conflict(String),
    /// A rule of the domain refuses the request; the message says which.
    #[error("{0}")]
    Rejected(String),
    /// A rule refuses the request for a reason people are told in their own
    /// language: `code` names it (the API passes it on as `code`, pages translate
    /// it), `detail` says it in English with the particulars. Handled wherever
    /// `Rejected` is: a refusal, nothing kept.
    #[error("{detail}")]
    Refused { code: &'static str, detail: String },
    /// One field of the request is wrong; `field` names it as the caller sent it.
    /// Handled wherever `Rejected` is.
    #[error("{detail}")]
    Field { field: &'static str, detail: String },
    /// The rules forbid this person doing this (separation of duties).
    #[error("{0}")]
    Forbidden(String),
    /// The log will not sign: the store does not extend what it signed before.
    #[error("the log refuses to sign a new checkpoint: {0}")]
    Fork(String),
    /// Stored data breaks an invariant.
    #[error("the store is inconsistent: {0}")]
    Corrupt(String),
    /// The database driver failed; the message is the driver's.
    #[error("database error: {0}")]
    Db(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The batch this request was in did not commit; nothing of it was kept.
    #[error("the write did not commit: {0}")]
    Commit(String),
    #[error("the store's writer has stopped")]
    Closed,
    /// The database server cannot be reached, or closed the session (a restart):
    /// nothing was done, and the same request may be sent again.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database server or its settings are not ones jifen can run on.
    #[error("{0}")]
    Unsupported(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("row".into()),
            rusqlite::Error::SqliteFailure(f, ref msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation
                    && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                StoreError::Conflict(msg.clone().unwrap_or_else(|| "already exists".into()))
            }
            e => StoreError::Db(e.to_string()),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        match e.as_db_error() {
            Some(db) => {
                let msg = match db.detail() {
                    Some(d) => format!("{} ({d})", db.message()),
                    None => db.message().to_owned(),
                };
                if db.code().code().starts_with("08") || db.code().code().starts_with("57P") {
                    // Connection exceptions, and the server shutting down or starting.
                    StoreError::Unavailable(msg)
                } else if *db.code() == SqlState::UNIQUE_VIOLATION {
                    StoreError::Conflict(msg)
                } else if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
                    // Worded as SQLite words it, so callers test for one phrase.
                    StoreError::Db(format!("FOREIGN KEY constraint failed: {msg}"))
                } else {
                    StoreError::Db(format!("{} [{}]", msg, db.code().code()))
                }
            }
            // No answer from the server: the session is gone (or never was).
            None if e.is_closed() => StoreError::Unavailable(e.to_string()),
            None => StoreError::Db(e.to_string()),
        }
    }
}

impl From<jifen_core::EntryError> for StoreError {
    fn from(e: jifen_core::EntryError) -> Self {
        StoreError::Rejected(e.to_string())
    }
}

impl From<jifen_log::Error> for StoreError {
    fn from(e: jifen_log::Error) -> Self {
        StoreError::Corrupt(format!("log: {e}"))
    }
}

impl StoreError {
    /// The same refusal, its message starting with what it is about (`claim V:12`),
    /// for an act on several things at once. Errors that are not a refusal of the
    /// request, and a `NotFound` (which names the thing already), stay as they are.
    pub fn about(self, what: &str) -> Self {
        match self {
            StoreError::Conflict(m) => StoreError::Conflict(format!("{what}: {m}")),
            StoreError::Rejected(m) => StoreError::Rejected(format!("{what}: {m}")),
            StoreError::Forbidden(m) => StoreError::Forbidden(format!("{what}: {m}")),
            StoreError::Refused { code, detail } => StoreError::Refused {
                code,
                detail: format!("{what}: {detail}"),
            },
            StoreError::Field { field, detail } => StoreError::Field {
                field,
                detail: format!("{what}: {detail}"),
            },
            other => other,
        }
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub fn rejected(msg: impl Into<String>) -> Self {
        StoreError::Rejected(msg.into())
    }

    /// A refusal with a reason code (see [`StoreError::Refused`]).
    pub fn refused(code: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Refused {
            code,
            detail: detail.into(),
        }
    }

    /// A refusal that names the field of the request it is about.
    pub fn field(field: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Field {
            field,
            detail: detail.into(),
        }
    }

    /// Whether the domain's rules refused (`Rejected`, `Refused` or `Field`): nothing was kept.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Rejected(_) | StoreError::Refused { .. } | StoreError::Field { .. }
        )
    }

    /// A copy for each request of a batch that failed as a whole.
    pub(crate) fn for_batch(&self) -> StoreError {
        match self {
            // Already said: not "did not commit: did not commit: ...".
            StoreError::Commit(m) => StoreError::Commit(m.clone()),
            e => StoreError::Commit(e.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
