//! Backups that restore, and a restored log that never forks what was published.
//!
//! A backup is one SQLite file: the database as of one snapshot (`VACUUM INTO`, on a
//! connection of its own, so the server goes on writing) plus every file of `keys/`
//! in a table of its own, copied *before* the snapshot, so what the keys remember
//! signing is never ahead of the database beside it. On PostgreSQL the tables are
//! `pg_dump`'s to copy and the backup file holds the keys only.
//!
//! A restore writes the database and the keys into an empty data folder and marks
//! every region `keys/<region>.restored` with the checkpoint it was restored at. The
//! old server may have signed larger checkpoints after the backup was taken; signing
//! on from the restored tree would then give two different trees of one size, a
//! fork. So a marked region takes no write (`StoreError::Fork`, saying what to do)
//! until an operator shows it the latest checkpoint the old server published
//! ([`Store::resume_signing`]): if that is the restored one, the marker goes.

use std::fs;
use std::path::{Path, PathBuf};

use jifen_core::RegionCode;
use jifen_log::{Checkpoint, NoteVerifier};
use rusqlite::OptionalExtension;

use crate::error::{Result, StoreError};
use crate::keys::{KeyDir, write_atomic};
use crate::{DB_FILE, Database, Store, read};

/// The table of a backup file that holds the data folder's `keys/` files.
const FILES_TABLE: &str = "jifen_backup_files";

/// Largest file of `keys/` a backup takes, in bytes (keys and notes are small).
pub const KEY_FILE_BYTES_MAX: u64 = 64 * 1024;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Whether the tables are in it (SQLite) or are pg_dump's to copy (PostgreSQL).
    pub tables: bool,
    /// Files of `keys/` in it.
    pub key_files: usize,
    pub bytes: u64,
}

/// What a restore wrote: the regions, each at the checkpoint size it came back at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    pub regions: Vec<(RegionCode, u64)>,
    pub key_files: usize,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// The files of `keys/` to take: keys, signed records, the link key; not lock files.
fn key_files(data_dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let dir = data_dir.join("keys");
    let mut out = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(&dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // A writer's temporary file may be renamed away between listing and reading:
        // look at the name first, and skip what is gone.
        if name.ends_with(".lock") || name.ends_with(".tmp") {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&entry.path(), e)),
        };
        if !meta.is_file() {
            continue;
        }
        if meta.len() > KEY_FILE_BYTES_MAX {
            return Err(StoreError::Unsupported(format!(
                "{} is {} bytes; a keys/ file is at most {KEY_FILE_BYTES_MAX}",
                entry.path().display(),
                meta.len()
            )));
        }
        out.push((name, fs::read(entry.path()).map_err(io(&entry.path()))?));
    }
    out.sort();
    Ok(out)
}

/// Writes a backup of the data folder `data_dir` (tables in `database`) to `out`,
/// while a server may go on writing. `out` must not exist.
pub fn backup(data_dir: &Path, database: &Database, out: &Path) -> Result<BackupSummary> {
    if out.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists already; a backup never overwrites a file",
            out.display()
        )));
    }
    // The keys first: what they remember signing is then never ahead of the snapshot.
    let files = key_files(data_dir)?;
    let tmp = PathBuf::from(format!("{}.tmp", out.display()));
    let _ = fs::remove_file(&tmp);
    let tables = match database {
        Database::Sqlite => {
            let db = data_dir.join(DB_FILE);
            if !db.is_file() {
                return Err(StoreError::NotFound(format!("{}", db.display())));
            }
            let live = rusqlite::Connection::open_with_flags(
                &db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            live.busy_timeout(std::time::Duration::from_secs(30))?;
            // One read transaction: a consistent copy, and writers go on meanwhile (WAL).
            live.execute("VACUUM INTO ?1", [tmp.to_string_lossy().as_ref()])?;
            true
        }
        Database::Postgres(_) => false,
    };
    let copy = rusqlite::Connection::open(&tmp)?;
    copy.execute_batch(&format!(
        "CREATE TABLE {FILES_TABLE} (name TEXT PRIMARY KEY, bytes BLOB NOT NULL)"
    ))?;
    for (name, bytes) in &files {
        copy.execute(
            &format!("INSERT INTO {FILES_TABLE} (name, bytes) VALUES (?1, ?2)"),
            rusqlite::params![name, bytes],
        )?;
    }
    copy.close().map_err(|(_, e)| StoreError::from(e))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    fs::rename(&tmp, out).map_err(io(out))?;
    let bytes = fs::metadata(out).map_err(io(out))?.len();
    Ok(BackupSummary {
        tables,
        key_files: files.len(),
        bytes,
    })
}

/// Restores the backup `from` into the data folder `data_dir`, which must hold no
/// jifen data, with the tables in `database` (for PostgreSQL: restored by pg_restore
/// before this). Every region is then marked restored and takes no write until
/// [`Store::resume_signing`].
pub fn restore(
    from: &Path,
    data_dir: &Path,
    database: &Database,
    clock: std::sync::Arc<dyn jifen_core::Clock>,
) -> Result<RestoreSummary> {
    let keys_dir = data_dir.join("keys");
    if data_dir.join(DB_FILE).exists()
        || fs::read_dir(&keys_dir).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(StoreError::Conflict(format!(
            "{} holds jifen data already; restore into an empty data folder",
            data_dir.display()
        )));
    }
    if !from.is_file() {
        return Err(StoreError::NotFound(format!(
            "backup file {}",
            from.display()
        )));
    }
    let not_backup = |e: rusqlite::Error| {
        StoreError::Unsupported(format!("{} is not a jifen backup ({e})", from.display()))
    };
    let backup = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(not_backup)?;
    let is_backup: Option<String> = backup
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [FILES_TABLE],
            |r| r.get(0),
        )
        .optional()
        .map_err(not_backup)?;
    if is_backup.is_none() {
        return Err(StoreError::Unsupported(format!(
            "{} is not a jifen backup (no {FILES_TABLE} table)",
            from.display()
        )));
    }
    let has_tables: bool = backup.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'entries'",
        [],
        |r| r.get(0),
    )?;
    let files: Vec<(String, Vec<u8>)> = {
        let mut st = backup.prepare(&format!("SELECT name, bytes FROM {FILES_TABLE}"))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?
    };
    drop(backup);
    fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
    match database {
        Database::Sqlite => {
            if !has_tables {
                return Err(StoreError::Unsupported(format!(
                    "{} holds the keys only (it was taken on PostgreSQL): restore the tables with pg_restore and pass --database",
                    from.display()
                )));
            }
            let tmp = data_dir.join(format!("{DB_FILE}.tmp"));
            fs::copy(from, &tmp).map_err(io(&tmp))?;
            let c = rusqlite::Connection::open(&tmp)?;
            c.execute_batch(&format!("DROP TABLE {FILES_TABLE}"))?;
            c.close().map_err(|(_, e)| StoreError::from(e))?;
            fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io(&tmp))?;
            let db = data_dir.join(DB_FILE);
            fs::rename(&tmp, &db).map_err(io(&db))?;
        }
        Database::Postgres(_) => {}
    }
    for (name, bytes) in &files {
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(StoreError::Corrupt(format!(
                "the backup names a key file {name:?}, which is not a plain file name"
            )));
        }
        let private = name.ends_with(".ed25519") || name.ends_with(".key");
        write_atomic(&keys_dir.join(name), bytes, private)?;
    }
    // Mark every region with the checkpoint it came back at.
    let store = Store::open_with(data_dir, database, clock)?;
    let keys = KeyDir::new(data_dir)?;
    let mut regions = Vec::new();
    for r in store.regions()? {
        let code = r.region.code.clone();
        let (cp, note) = store.read(|c| read::latest_checkpoint(c, &code))?;
        keys.mark_restored(code.as_str(), &note)?;
        regions.push((code, cp.size));
    }
    store.close();
    Ok(RestoreSummary {
        regions,
        key_files: files.len(),
    })
}

/// What [`Store::resume_signing`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// The region was not marked restored: nothing to do.
    NotRestored,
    /// The checkpoint shown is the restored one: the region signs again.
    Resumed { size: u64 },
}

impl Store {
    /// Lets a restored region sign again once `note` (the latest checkpoint the old
    /// server published, as a signed note) is shown to be the one it was restored
    /// at. A larger one means entries after the backup are missing here: refused,
    /// and the marker stays.
    pub fn resume_signing(&self, region: &RegionCode, note: &str) -> Result<Resumed> {
        let keys = KeyDir::new(self.dir())?;
        let Some(restored) = keys.restored(region.as_str())? else {
            return Ok(Resumed::NotRestored);
        };
        let (ours, _) = self.read(|c| read::latest_checkpoint(c, region))?;
        let vkey: String = self.region(region)?.vkey;
        let verifier = NoteVerifier::from_vkey(&vkey)?;
        let shown = Checkpoint::parse(
            jifen_log::open_note(note, std::slice::from_ref(&verifier)).map_err(|e| {
                StoreError::rejected(format!(
                    "the checkpoint does not verify under region {region}'s key: {e}"
                ))
            })?,
        )?;
        let at = Checkpoint::parse(jifen_log::open_note(
            &restored,
            std::slice::from_ref(&verifier),
        )?)?;
        if shown.size > at.size {
            return Err(StoreError::Fork(format!(
                "region {region}: the old server published a tree of {} entries after this backup (of {}); \
                 those entries are not in this copy, and signing on from here would fork the log. \
                 Restore a backup taken after that checkpoint.",
                shown.size, at.size
            )));
        }
        if shown.size < at.size {
            return Err(StoreError::rejected(format!(
                "region {region}: that checkpoint ({} entries) is older than the backup ({}); show the latest one the old server published",
                shown.size, at.size
            )));
        }
        if shown.root != at.root || ours.root != at.root {
            return Err(StoreError::Fork(format!(
                "region {region}: the checkpoint of {} entries shown differs from the restored one",
                shown.size
            )));
        }
        keys.clear_restored(region.as_str())?;
        Ok(Resumed::Resumed { size: at.size })
    }

    /// The regions marked restored that take no write yet, with the size each came back at.
    pub fn restored_regions(&self) -> Result<Vec<RegionCode>> {
        let keys = KeyDir::new(self.dir())?;
        let mut out = Vec::new();
        for r in self.regions()? {
            if keys.restored(r.region.code.as_str())?.is_some() {
                out.push(r.region.code);
            }
        }
        Ok(out)
    }
}
