//! The witnesses' round, run by `witness.rs` (the log on SQLite) and `witness_pg.rs`
//! (the log on PostgreSQL): three `jifen serve` processes on loopback, each with its own
//! data folder and keys: a log (region `vil`) and two witnesses following it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jifen_core::Role;
use jifen_log::{Appender, Checkpoint, NoteSigner, Receipt, TileReader, leaf_hash};
use jifen_store::Database;
use jifen_store::testdb::TestDatabase;
use sha2::{Digest, Sha256};

use super::{Server, call, jifen, seed_village, serve_on, temp};

const TOKEN: &str = "witness-test-reviewer-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "witness-test-admin-token-0123456789abcdef";
const ORIGIN: &str = "jifen.test/log/vil";
const W1: &str = "witness.test/w1";
const W2: &str = "witness.test/w2";
/// How long a cosignature may take to arrive (the submitter's backoff after a witness
/// was down is at most a few seconds here).
const COSIGNED_WITHIN: Duration = Duration::from_secs(30);

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run jifen");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One plain HTTP/1.1 request; the status, the content type and the body.
fn http(method: &str, addr: &str, path: &str, body: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut res = Vec::new();
    s.read_to_end(&mut res).expect("read");
    let res = String::from_utf8_lossy(&res).into_owned();
    let status = res.get(9..12).and_then(|c| c.parse().ok()).expect("HTTP");
    let (head, body) = res.split_once("\r\n\r\n").unwrap_or((&res, ""));
    let kind = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, kind, body.to_owned())
}

fn checkpoint_of(addr: &str) -> (u64, String) {
    let (status, _, note) = http("GET", addr, "/log/vil/checkpoint", "");
    assert_eq!(status, 200, "{note}");
    let text = note
        .split_once("\n\n")
        .map(|(t, _)| format!("{t}\n"))
        .expect("a note");
    (Checkpoint::parse(&text).expect("a checkpoint").size, note)
}

/// Waits until the log's latest checkpoint is `size` and cosigned by every one of `by`.
fn wait_cosigned(log: &str, size: u64, by: &[&str]) -> String {
    let start = Instant::now();
    loop {
        let (now, note) = checkpoint_of(log);
        if now == size && by.iter().all(|w| note.contains(&format!("\u{2014} {w} "))) {
            return note;
        }
        assert!(
            start.elapsed() < COSIGNED_WITHIN,
            "no cosignature by {by:?} on size {size} after {COSIGNED_WITHIN:?}: {note}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post_claims(log: &str, tag: &str, n: usize) {
    for i in 0..n {
        let member = i % 6 + 1;
        let (status, body) = call(
            "POST",
            TOKEN,
            log,
            "/api/v1/regions/vil/claims",
            &format!("{tag}-{i}"),
            &format!(r#"{{"member":{member},"indicator":"HELP","quantity":1}}"#),
        );
        assert!(status == 201 || status == 200, "{status} {body}");
    }
}

/// A store of tiles an [`Appender`] handed out, for proofs over a tree built here.
#[derive(Default)]
struct Tiles(std::collections::HashMap<(u8, u64), Vec<u8>>);
impl TileReader for Tiles {
    type Error = std::io::Error;
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.0.get(&(level, index)).cloned())
    }
}

pub fn witnessed_logs(database: Option<&TestDatabase>) {
    let tmp = temp("witness");
    let (ldata, w1data, w2data) = (tmp.0.join("log"), tmp.0.join("w1"), tmp.0.join("w2"));
    let db = database.map_or(Database::Sqlite, TestDatabase::database);
    seed_village(
        &ldata,
        &db,
        6,
        &[
            ("reviewer", "审核员", Role::Reviewer, TOKEN),
            ("admin", "管理员", Role::Admin, ADMIN_TOKEN),
        ],
    );
    let log_cmd = || {
        let mut c = jifen(&ldata);
        if let Some(d) = database {
            c.arg("--database").arg(d.url());
        }
        c
    };
    let log_vkey = output(log_cmd().args(["log", "vkey", "--region", "vil"]));
    let witness_of = |data: &Path, name: &str| {
        output(jifen(data).args(["init", "--region", "wit", "--name", "见证"]));
        output(jifen(data).args(["witness", "vkey", "--name", name]))
    };
    let (w1_vkey, w2_vkey) = (witness_of(&w1data, W1), witness_of(&w2data, W2));
    assert!(w1_vkey.starts_with(&format!("{W1}+")), "{w1_vkey}");
    let start_witness = |data: &Path, name: &str, listen: &str| -> Server {
        serve_on(
            jifen(data),
            listen,
            &["--witness-name", name, "--witness-log", &log_vkey],
        )
    };
    let mut w1 = start_witness(&w1data, W1, "127.0.0.1:0");
    let w2 = start_witness(&w2data, W2, "127.0.0.1:0");
    let log = serve_on(log_cmd(), "127.0.0.1:0", &[]);

    // The region names both witnesses, and a quorum of two.
    let witnesses = format!(
        r#"{{"witnesses":[{{"name":"{W1}","vkey":"{w1_vkey}","url":"http://{}/witness"}},{{"name":"{W2}","vkey":"{w2_vkey}","url":"http://{}/witness"}}],"quorum":2}}"#,
        w1.addr, w2.addr
    );
    let (status, body) = call(
        "PUT",
        ADMIN_TOKEN,
        &log.addr,
        "/api/v1/regions/vil/witnesses",
        "w",
        &witnesses,
    );
    assert_eq!(status, 200, "{body}");
    // A bad key is refused, naming the field.
    let (status, body) = call(
        "PUT",
        ADMIN_TOKEN,
        &log.addr,
        "/api/v1/regions/vil/witnesses",
        "w2",
        &witnesses.replace(&w2_vkey, &log_vkey),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("cosignature/v1"), "{body}");

    // Appends are cosigned by both, after their commit.
    post_claims(&log.addr, "first", 5);
    wait_cosigned(&log.addr, 5, &[W1, W2]);

    // The receipt carries the cosignatures; `jifen log check` can require them.
    let (status, body) = call("GET", TOKEN, &log.addr, "/api/v1/entries/vil:2", "r", "");
    assert_eq!(status, 200, "{body}");
    let entry: serde_json::Value = serde_json::from_str(&body).expect("json");
    let receipt_text = entry["receipt"].as_str().expect("receipt").to_owned();
    let receipt_file = tmp.0.join("receipt.txt");
    std::fs::write(&receipt_file, &receipt_text).expect("write");
    let checked = output(
        log_cmd()
            .args([
                "log",
                "check",
                "--vkey",
                &log_vkey,
                "--witness",
                &w1_vkey,
                "--witness",
                &w2_vkey,
            ])
            .arg(&receipt_file),
    );
    assert!(
        checked.contains(&format!("cosigned by witness {W1}")),
        "{checked}"
    );

    // Each witness serves what it cosigned, under the hash of the origin.
    let hash: String = Sha256::digest(ORIGIN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (status, _, held) = http("GET", &w1.addr, &format!("/witness/{hash}/checkpoint"), "");
    assert_eq!(status, 200, "{held}");
    assert!(
        held.starts_with(&format!("{ORIGIN}\n5\n")) && held.contains(&format!("\u{2014} {W1} ")),
        "{held}"
    );

    // The log's entries and its real key, for the trees built below.
    let leaves: Vec<Vec<u8>> = (0..5u64)
        .map(|seq| {
            let (status, body) = call(
                "GET",
                TOKEN,
                &log.addr,
                &format!("/api/v1/entries/vil:{seq}"),
                "r",
                "",
            );
            assert_eq!(status, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            BASE64
                .decode(v["leaf_base64"].as_str().expect("leaf"))
                .expect("base64")
        })
        .collect();
    let key_hex = std::fs::read_to_string(ldata.join("keys/vil.ed25519")).expect("the log's key");
    let key: [u8; 32] = (0..32)
        .map(|i| u8::from_str_radix(&key_hex.trim()[2 * i..2 * i + 2], 16).expect("hex"))
        .collect::<Vec<_>>()
        .try_into()
        .expect("32 bytes");
    let signer =
        NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&key)).expect("signer");
    assert_eq!(signer.vkey(), log_vkey, "the real key");
    let tree_of = |leaves: &[Vec<u8>]| {
        let (mut tree, mut tiles) = (Appender::new(), Tiles::default());
        for leaf in leaves {
            tree.append(leaf_hash(leaf));
        }
        for t in tree.take_dirty_tiles() {
            tiles.0.insert((t.level, t.index), t.hashes);
        }
        let cp = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: tree.size(),
            root: tree.root(),
            extensions: vec![],
        };
        (signer.sign(&cp.to_text()).expect("signed"), tiles)
    };

    // A witness restarted keeps what it holds: the real tree of three entries, which it
    // cosigned on its way to five, is a conflict (409 with the size held) from nothing,
    // and a bad request (400) from five; never a second cosignature.
    let w1_addr = w1.addr.clone();
    drop(w1);
    w1 = start_witness(&w1data, W1, &w1_addr);
    let (three, _) = tree_of(&leaves[..3]);
    let (status, kind, size) = http(
        "POST",
        &w1.addr,
        "/witness/add-checkpoint",
        &format!("old 0\n\n{three}"),
    );
    assert_eq!(
        (status, kind.as_str(), size.as_str()),
        (409, "text/x.tlog.size", "5\n")
    );
    let (status, _, why) = http(
        "POST",
        &w1.addr,
        "/witness/add-checkpoint",
        &format!("old 5\n\n{three}"),
    );
    assert_eq!(status, 400, "{why}");
    // A log it does not follow is 404; its log signed by another key, 403.
    let stranger = NoteSigner::new(
        "elsewhere.test/log",
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
    )
    .expect("signer");
    let other = Checkpoint {
        origin: "elsewhere.test/log".into(),
        size: 0,
        root: jifen_log::empty_root(),
        extensions: vec![],
    };
    let (status, _, why) = http(
        "POST",
        &w1.addr,
        "/witness/add-checkpoint",
        &format!(
            "old 0\n\n{}",
            stranger.sign(&other.to_text()).expect("signed")
        ),
    );
    assert_eq!(status, 404, "{why}");
    let impostor =
        NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[9; 32])).expect("signer");
    let (status, _, why) = http(
        "POST",
        &w1.addr,
        "/witness/add-checkpoint",
        &format!(
            "old 5\n\n{}",
            impostor
                .sign(
                    &Checkpoint {
                        origin: ORIGIN.into(),
                        ..other
                    }
                    .to_text()
                )
                .expect("signed")
        ),
    );
    assert_eq!(status, 403, "{why}");

    // A split view: the same origin, another tree of the same size, signed with the
    // log's real key. Every witness refuses it, and a check that requires them fails.
    let mut forked = leaves.clone();
    forked[0] = leaves[1].clone(); // entry 1 shown twice: a history that never was
    let (fork_note, mut tiles) = tree_of(&forked);
    for w in [&w1, &w2] {
        let (status, _, why) = http(
            "POST",
            &w.addr,
            "/witness/add-checkpoint",
            &format!("old 5\n\n{fork_note}"),
        );
        assert_eq!(status, 422, "{why}");
        assert!(why.contains("split view"), "{why}");
    }
    let fork_receipt = Receipt {
        extra: Some(forked[1].clone()),
        index: 1,
        proof: jifen_log::inclusion_proof(&mut tiles, 5, 1).expect("proof"),
        signed_checkpoint: fork_note,
    };
    let fork_file = tmp.0.join("fork.txt");
    std::fs::write(&fork_file, fork_receipt.to_text()).expect("write");
    // Without witnesses the forged receipt passes: the log's key signed it.
    output(
        log_cmd()
            .args(["log", "check", "--vkey", &log_vkey])
            .arg(&fork_file),
    );
    let out = log_cmd()
        .args(["log", "check", "--vkey", &log_vkey, "--witness", &w1_vkey])
        .arg(&fork_file)
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && said.contains("FAILED") && said.contains("split view"),
        "{said}"
    );

    // A witness down never holds appends up: they are acknowledged as before, and the
    // witness cosigns the latest once it is back.
    drop(w1);
    let started = Instant::now();
    post_claims(&log.addr, "while-down", 4);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "appends took {took:?} with a witness down"
    );
    let note = wait_cosigned(&log.addr, 9, &[W2]);
    assert!(
        !note.contains(&format!("\u{2014} {W1} ")),
        "W1 is down: {note}"
    );
    let w1 = start_witness(&w1data, W1, &w1_addr);
    wait_cosigned(&log.addr, 9, &[W1, W2]);

    // The audit checks every cosignature kept, and can require the quorum.
    drop((log, w1, w2));
    let verified = output(log_cmd().args(["verify", "--witness", &w1_vkey, "--witness", &w2_vkey]));
    assert!(
        verified.contains("cosigned by 2 of the witnesses required"),
        "{verified}"
    );
}
