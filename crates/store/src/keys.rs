//! Region signing keys and the last checkpoint each key signed, kept as files
//! beside the database (`DIR/keys/`), not in it: restoring an old database
//! backup then cannot roll back what the key remembers having signed, and the
//! sequencer refuses to sign a fork.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::error::{Result, StoreError};

#[derive(Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

/// A 32-byte secret from the operating system's random source.
pub fn random_secret() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io {
        path: "random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Writes a file atomically and durably: temp file, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(data).map_err(|e| StoreError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    if let Some(parent) = path.parent()
        && let Ok(d) = fs::File::open(parent)
    {
        // Best effort: some file systems refuse fsync on a folder.
        let _ = d.sync_all();
    }
    Ok(())
}

impl KeyDir {
    pub fn new(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(KeyDir { dir })
    }

    fn key_path(&self, region: &str) -> PathBuf {
        self.dir.join(format!("{region}.ed25519"))
    }

    fn signed_path(&self, region: &str) -> PathBuf {
        self.dir.join(format!("{region}.last-signed"))
    }

    /// Makes and stores a new key; refuses to overwrite one.
    pub fn create(&self, region: &str) -> Result<SigningKey> {
        let path = self.key_path(region);
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} exists already: region {region} has a key",
                path.display()
            )));
        }
        let key = SigningKey::from_bytes(&random_secret()?);
        write_atomic(
            &path,
            format!("{}\n", hex(&key.to_bytes())).as_bytes(),
            true,
        )?;
        Ok(key)
    }

    pub fn load(&self, region: &str) -> Result<SigningKey> {
        let path = self.key_path(region);
        let text = fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?;
        let bytes = unhex(text.trim())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("{} is not a 64-hex-digit key", path.display()))
            })?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    /// The last checkpoint note this key signed, if any was recorded.
    pub fn last_signed(&self, region: &str) -> Result<Option<String>> {
        read_if_there(&self.signed_path(region))
    }

    /// Records a signed checkpoint after its transaction committed. Several servers
    /// may share the folder (one PostgreSQL database): they take turns on a lock file,
    /// and the record never moves back to a smaller tree than one already recorded
    /// (a server that committed earlier may get here later).
    pub fn record_signed(&self, region: &str, note: &str) -> Result<()> {
        let lock_path = self.dir.join(format!("{region}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        lock.lock().map_err(|e| StoreError::io(&lock_path, e))?;
        if let Some(old) = self.last_signed(region)?
            && note_size(&old) > note_size(note)
        {
            return Ok(());
        }
        write_atomic(&self.signed_path(region), note.as_bytes(), false)
        // The lock goes with the file handle.
    }
}

/// A file's text, or `None` when there is no such file.
fn read_if_there(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// The tree size a checkpoint note states (its second line); `None` if unreadable.
fn note_size(note: &str) -> Option<u64> {
    note.lines().nth(1)?.trim().parse().ok()
}

impl KeyDir {
    fn restored_path(&self, region: &str) -> PathBuf {
        self.dir.join(format!("{region}.restored"))
    }

    /// Marks a region restored from a backup at the checkpoint `note`: it signs no
    /// more until the marker is cleared (see `backup.rs`).
    pub(crate) fn mark_restored(&self, region: &str, note: &str) -> Result<()> {
        write_atomic(&self.restored_path(region), note.as_bytes(), false)
    }

    /// The checkpoint a restored region came back at, while it is marked.
    pub fn restored(&self, region: &str) -> Result<Option<String>> {
        read_if_there(&self.restored_path(region))
    }

    pub(crate) fn clear_restored(&self, region: &str) -> Result<()> {
        let path = self.restored_path(region);
        fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))
    }

    /// Removes a region's key and record after its creation failed.
    pub fn remove(&self, region: &str) {
        let _ = fs::remove_file(self.key_path(region));
        let _ = fs::remove_file(self.signed_path(region));
    }
}
