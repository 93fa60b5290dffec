//! The writer's background helper: the SQLite WAL checkpointer, on its own thread
//! and connection.

/// How often the background checkpointer runs, in milliseconds.
const CHECKPOINT_INTERVAL_MS: u64 = 20;

pub(super) fn checkpointer(db_path: &std::path::Path, stop: &std::sync::atomic::AtomicBool) {
    let conn = match crate::db::open(db_path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "checkpointer cannot open the database");
            return;
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        std::thread::sleep(std::time::Duration::from_millis(CHECKPOINT_INTERVAL_MS));
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::debug!(error = %e, "passive checkpoint");
        }
    }
}
