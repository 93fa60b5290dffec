//! Fork refusal: an older copy of the database beside keys that signed a larger
//! tree must not be extended.

use std::path::Path;
use std::sync::Arc;

use jifen_core::FixedClock;
use jifen_store::{Store, StoreError};

use crate::common::{TempDir, VIL, append_req, award, indicator, rc, region_spec, t0};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("target folder");
    for item in std::fs::read_dir(from).expect("readable") {
        let item = item.expect("entry");
        let target = to.join(item.file_name());
        if item.file_type().expect("type").is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).expect("copied");
        }
    }
}

/// Replaces `dir`'s database (and its WAL) with the one in `backup`, keeping `dir/keys`.
fn restore_database(backup: &Path, dir: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("{}{suffix}", jifen_store::DB_FILE);
        let _ = std::fs::remove_file(dir.join(&name));
        if backup.join(&name).exists() {
            std::fs::copy(backup.join(&name), dir.join(&name)).expect("restored");
        }
    }
}

fn open(dir: &Path, clock: &Arc<FixedClock>) -> Store {
    Store::open(dir, clock.clone()).expect("store opens")
}

fn set_up(store: &Store) {
    store.create_region(region_spec(VIL, None)).expect("region");
    store
        .add_household(rc(VIL), None, "1 号")
        .expect("household");
    store
        .add_member(jifen_store::admin::NewMember {
            region: rc(VIL),
            id: None,
            household: crate::common::hid(1),
            name: "张三".into(),
        })
        .expect("member");
    store
        .put_indicator(indicator(VIL, "MEET", 5))
        .expect("indicator");
}

fn add_awards(store: &Store, n: usize) {
    for _ in 0..n {
        store
            .append(append_req(VIL, award(1, "MEET", 5, 1)))
            .expect("appended");
    }
}

#[test]
fn an_old_database_with_newer_keys_is_refused() {
    let dir = TempDir::new("fork");
    let backup = TempDir::new("fork-backup");
    let clock = Arc::new(FixedClock::new(t0()));

    let store = open(dir.path(), &clock);
    set_up(&store);
    add_awards(&store, 3);
    store.close();
    drop(store);
    copy_dir(dir.path(), backup.path());

    let store = open(dir.path(), &clock);
    add_awards(&store, 2);
    assert_eq!(store.checkpoint(&rc(VIL)).expect("checkpoint").0.size, 5);
    store.close();
    drop(store);

    // The old database comes back, the keys stay: they remember signing 5 entries.
    restore_database(backup.path(), dir.path());
    let store = open(dir.path(), &clock);
    assert_eq!(
        store.checkpoint(&rc(VIL)).expect("checkpoint").0.size,
        3,
        "the old copy is back"
    );
    let r = store.append(append_req(VIL, award(1, "MEET", 5, 1)));
    assert!(
        matches!(r, Err(StoreError::Fork(_))),
        "expected a fork refusal, got {r:?}"
    );
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("5") && msg.contains("3"),
        "the message gives both sizes: {msg}"
    );
    assert_eq!(
        store.checkpoint(&rc(VIL)).expect("checkpoint").0.size,
        3,
        "nothing signed"
    );
    // It keeps refusing: nothing was written by the refused attempt.
    let again = store.append(append_req(VIL, award(1, "MEET", 5, 1)));
    assert!(matches!(again, Err(StoreError::Fork(_))), "{again:?}");
    store.close();
    drop(store);

    // The backup with its own (older) keys is a consistent copy and goes on.
    let store = open(backup.path(), &clock);
    let e = store
        .append(append_req(VIL, award(1, "MEET", 5, 1)))
        .expect("the old copy with its own keys extends its own log");
    assert_eq!(e.seq, 3);
    store.audit(|_, _| {}).expect("audit passes");
    store.close();
}

/// The same size but a different history is a fork too: the old copy is extended
/// (differently) by a store that has lost its newer keys' record, then the newer
/// record comes back.
#[test]
fn a_rewritten_history_of_the_same_size_is_refused() {
    let dir = TempDir::new("fork2");
    let backup = TempDir::new("fork2-backup");
    let clock = Arc::new(FixedClock::new(t0()));
    let store = open(dir.path(), &clock);
    set_up(&store);
    add_awards(&store, 2);
    store.close();
    drop(store);
    copy_dir(dir.path(), backup.path());

    let store = open(dir.path(), &clock);
    add_awards(&store, 2);
    store.close();
    drop(store);
    let newer_record = std::fs::read(dir.path().join("keys/vil.last-signed")).expect("record");

    // The backup is extended by two different entries (a later time makes them differ).
    clock.set(t0().plus_days(1));
    let other = open(backup.path(), &clock);
    add_awards(&other, 2);
    other.close();
    drop(other);
    std::fs::write(backup.path().join("keys/vil.last-signed"), newer_record).expect("written");

    let store = open(backup.path(), &clock);
    let r = store.append(append_req(VIL, award(1, "MEET", 5, 1)));
    assert!(
        matches!(r, Err(StoreError::Fork(_))),
        "expected a fork refusal, got {r:?}"
    );
    store.close();
}
