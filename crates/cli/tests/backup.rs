//! Backups that restore: `jifen backup` while `jifen serve` takes writes over HTTP;
//! `jifen restore` into an empty folder, after which `jifen verify` passes and the
//! restored server serves the backup's checkpoint; the restored log takes no write
//! (503, saying what to do) until `jifen log resume` is shown the old server's
//! latest checkpoint: a larger one (published after the backup) is refused, the
//! restored one lets it sign again.

mod common;
use common::{Server, call, jifen, temp};
use jifen_store::testdb::TestDatabase;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use jifen_core::Role;

const TOKEN: &str = "backup-test-token-0123456789abcdef0123";
const MEMBERS: i64 = 4;

/// The village, with a reviewer's API token.
fn seed(data: &Path, database: &jifen_store::Database) {
    common::seed_village(
        data,
        database,
        MEMBERS,
        &[("reviewer", "审核员", Role::Reviewer, TOKEN)],
    );
}

fn award(addr: &str, key: &str) -> (u16, String) {
    let member = key.bytes().map(i64::from).sum::<i64>() % MEMBERS + 1;
    call(
        "POST",
        TOKEN,
        addr,
        "/api/v1/regions/vil/claims",
        key,
        &format!(r#"{{"member": {member}, "indicator": "HELP", "quantity": 1, "note": ""}}"#),
    )
}

fn checkpoint(addr: &str) -> String {
    let (status, body) = call("GET", TOKEN, addr, "/log/vil/checkpoint", "-", "");
    assert_eq!(status, 200, "{body}");
    body
}

fn size_of(note: &str) -> u64 {
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no size in {note:?}"))
}

fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run jifen");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn a_backup_taken_under_load_restores_and_never_forks_what_was_published() {
    let tmp = temp("backup");
    let live = tmp.0.join("live");
    let back = tmp.0.join("backup.jifen");
    let restored = tmp.0.join("restored");
    seed(&live, &jifen_store::Database::Sqlite);
    // Four writers flat out on one account: past `jifen serve`'s per-account rate.
    let mut cmd = jifen(&live);
    cmd.env("JIFEN_ACCOUNT_WRITES_PER_MINUTE", "0");
    let server: Server = common::serve(cmd);
    let addr = server.addr.clone();
    // Writers post awards the whole time the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (addr, stop, posted) = (addr.clone(), stop.clone(), posted.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = award(&addr, &format!("w{w}-{i}"));
                    assert_eq!(status, 201, "{body}");
                    posted.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    while posted.load(Ordering::Relaxed) < 50 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let said = run_ok(jifen(&live).args(["backup", "--out"]).arg(&back));
    assert!(said.contains("the database and"), "{said}");
    // A second backup to the same file is refused: a backup never overwrites.
    let out = jifen(&live)
        .args(["backup", "--out"])
        .arg(&back)
        .output()
        .expect("run");
    assert!(!out.status.success());
    while posted.load(Ordering::Relaxed) < 150 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    // What the old server published last, after the backup.
    let latest = checkpoint(&addr);
    drop(server);

    // Restore into an empty folder; not into one that holds data.
    let out = jifen(&live)
        .args(["restore", "--from"])
        .arg(&back)
        .output()
        .expect("run");
    assert!(!out.status.success(), "restoring over data is refused");
    let said = run_ok(jifen(&restored).args(["restore", "--from"]).arg(&back));
    let at: u64 = said
        .split("restored vil at ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {said:?}"));
    assert!(
        at > 0 && at < size_of(&latest),
        "backup at {at}, live at {}",
        size_of(&latest)
    );
    let said = run_ok(jifen(&restored).arg("verify"));
    assert!(said.contains("verified 1 regions"), "{said}");

    // The restored server serves the backup's checkpoint, and takes no write yet.
    let server = common::serve(jifen(&restored));
    let ours = checkpoint(&server.addr);
    assert_eq!(size_of(&ours), at);
    let (status, body) = award(&server.addr, "after-restore-1");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("restored from a backup") && body.contains("jifen log resume"),
        "{body}"
    );
    let (_, metrics) = call("GET", TOKEN, &server.addr, "/metrics", "-", "");
    assert!(
        metrics.contains("jifen_log_restored{region=\"vil\"} 1"),
        "{metrics}"
    );
    drop(server);

    // Shown the larger checkpoint the old server published: refused, it would fork.
    let latest_file = tmp.0.join("latest-checkpoint");
    std::fs::write(&latest_file, &latest).expect("write");
    let out = jifen(&restored)
        .args(["log", "resume", "--region", "vil", "--checkpoint"])
        .arg(&latest_file)
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("published a tree of") && said.contains("after this backup"),
        "{said}"
    );
    // Shown the restored one (the old server published nothing after the backup): it signs again.
    let ours_file = tmp.0.join("restored-checkpoint");
    std::fs::write(&ours_file, &ours).expect("write");
    let said = run_ok(
        jifen(&restored)
            .args(["log", "resume", "--region", "vil", "--checkpoint"])
            .arg(&ours_file),
    );
    assert!(said.contains("it signs again"), "{said}");
    let server = common::serve(jifen(&restored));
    let (status, body) = award(&server.addr, "after-resume-1");
    assert_eq!(status, 201, "{body}");
    drop(server);
    let said = run_ok(jifen(&restored).arg("verify"));
    assert!(
        said.contains(&format!("ok vil: {} entries", at + 1)),
        "{said}"
    );
}

/// The same on PostgreSQL, with `pg_dump` and `pg_restore` for the tables and
/// `jifen backup` for the keys: the restored region waits for `jifen log resume`
/// too. Runs when `JIFEN_TEST_DATABASE_URL` is set.
#[test]
fn on_postgresql_pg_dump_and_the_keys_restore_and_never_fork() {
    let Some(old) = TestDatabase::from_env().expect("test database") else {
        eprintln!("skipped: JIFEN_TEST_DATABASE_URL is not set");
        return;
    };
    let tmp = temp("backup-pg");
    let (live, restored) = (tmp.0.join("live"), tmp.0.join("restored"));
    let (keys, dump) = (tmp.0.join("keys.jifen"), tmp.0.join("jifen.pgdump"));
    seed(&live, &old.database());
    let on = |data: &Path, url: &str| {
        let mut c = jifen(data);
        c.arg("--database").arg(url);
        c
    };
    let server = common::serve(on(&live, old.url()));
    for i in 0..20 {
        assert_eq!(award(&server.addr, &format!("before-{i}")).0, 201);
    }
    let said = run_ok(on(&live, old.url()).args(["backup", "--out"]).arg(&keys));
    assert!(said.contains("the tables are in PostgreSQL"), "{said}");
    run_ok(
        std::process::Command::new("pg_dump")
            .arg("--format=custom")
            .arg(format!("--file={}", dump.display()))
            .arg(old.url()),
    );
    for i in 0..20 {
        assert_eq!(award(&server.addr, &format!("after-{i}")).0, 201);
    }
    let latest = checkpoint(&server.addr);
    drop(server);

    let new = TestDatabase::from_env()
        .expect("test database")
        .expect("set above");
    run_ok(
        std::process::Command::new("pg_restore")
            .arg("--no-owner")
            .arg(format!("--dbname={}", new.url()))
            .arg(&dump),
    );
    let said = run_ok(
        on(&restored, new.url())
            .args(["restore", "--from"])
            .arg(&keys),
    );
    assert!(said.contains("restored vil at 20 entries"), "{said}");
    let said = run_ok(on(&restored, new.url()).arg("verify"));
    assert!(said.contains("ok vil: 20 entries"), "{said}");
    let server = common::serve(on(&restored, new.url()));
    assert_eq!(size_of(&checkpoint(&server.addr)), 20);
    let (status, body) = award(&server.addr, "after-restore");
    assert_eq!(status, 503, "{body}");
    let ours = checkpoint(&server.addr);
    drop(server);
    let latest_file = tmp.0.join("latest");
    std::fs::write(&latest_file, &latest).expect("write");
    let out = on(&restored, new.url())
        .args(["log", "resume", "--region", "vil", "--checkpoint"])
        .arg(&latest_file)
        .output()
        .expect("run");
    assert!(!out.status.success(), "a larger checkpoint is refused");
    let ours_file = tmp.0.join("ours");
    std::fs::write(&ours_file, &ours).expect("write");
    run_ok(
        on(&restored, new.url())
            .args(["log", "resume", "--region", "vil", "--checkpoint"])
            .arg(&ours_file),
    );
    let server = common::serve(on(&restored, new.url()));
    assert_eq!(award(&server.addr, "after-resume").0, 201);
}
