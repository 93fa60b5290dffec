//! Witnesses: this store as a witness (what it holds, checked and moved in one write,
//! kept across a reopen; a split view refused), a region's witnesses (checked when
//! named), the cosignatures kept and published with the checkpoint, and their audit.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use jifen_log::{
    AddCheckpoint, Appender, Checkpoint, CosignatureVerifier, Cosigner, NoteSigner, NoteVerifier,
    WitnessRefusal, leaf_hash,
};
use jifen_store::witness::{RegionWitness, Witnesses};
use jifen_store::{Store, StoreError};

use crate::common::{VIL, award, indicator, rc, spawn_store, spawn_village};

const ORIGIN: &str = "example.org/log/a";

/// A log made here: its signer and the signed notes of its first `n` sizes' trees.
fn outside_log(leaves: &[&[u8]]) -> (NoteSigner, Vec<(Checkpoint, String)>) {
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[11; 32])).expect("signer");
    let mut tree = Appender::new();
    let mut notes = Vec::new();
    for leaf in leaves {
        tree.append(leaf_hash(leaf));
        let cp = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: tree.size(),
            root: tree.root(),
            extensions: vec![],
        };
        let note = signer.sign(&cp.to_text()).expect("signed");
        notes.push((cp, note));
    }
    (signer, notes)
}

fn ask(
    store: &Store,
    log: &NoteVerifier,
    w: &Arc<Cosigner>,
    old: u64,
    note: &str,
) -> Result<String, WitnessRefusal> {
    ask_with(store, log, w, old, vec![], note)
}

fn ask_with(
    store: &Store,
    log: &NoteVerifier,
    w: &Arc<Cosigner>,
    old: u64,
    proof: Vec<jifen_log::Hash>,
    note: &str,
) -> Result<String, WitnessRefusal> {
    let request = AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: note.to_owned(),
    };
    let verified = jifen_log::verify_add_checkpoint(&request, log)?;
    store
        .witness_checkpoint(verified, w.clone())
        .expect("the store answers")
}

/// Tiles an [`Appender`] handed out, for proofs over a tree built here.
#[derive(Default)]
struct Tiles(std::collections::HashMap<(u8, u64), Vec<u8>>);
impl jifen_log::TileReader for Tiles {
    type Error = std::io::Error;
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.0.get(&(level, index)).cloned())
    }
}

#[test]
fn a_witness_follows_a_growing_log_by_its_proofs_and_keeps_only_lines_it_checked() {
    let ts = spawn_store();
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[11; 32])).expect("signer");
    let log = signer.verifier();
    let w = Arc::new(Cosigner::new("w.test", SigningKey::from_bytes(&[12; 32])).expect("w"));
    let (mut tree, mut tiles) = (Appender::new(), Tiles::default());
    let mut held = 0;
    for size in 1..=20u64 {
        tree.append(leaf_hash(format!("leaf {size}").as_bytes()));
        for t in tree.take_dirty_tiles() {
            tiles.0.insert((t.level, t.index), t.hashes);
        }
        if size % 3 != 0 && size != 20 {
            continue;
        }
        let cp = Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: tree.root(),
            extensions: vec![],
        };
        // A line by some other key rides along; the witness keeps only the log's.
        let stray = Cosigner::new("stray.test", SigningKey::from_bytes(&[14; 32]))
            .expect("stray")
            .cosign(&cp.to_text(), 5)
            .expect("line");
        let note = format!("{}{stray}", signer.sign(&cp.to_text()).expect("signed"));
        let proof = if held == 0 {
            vec![]
        } else {
            jifen_log::consistency_proof(&mut tiles, held, size).expect("proof")
        };
        // A proof that leaves out a hash is refused; the right one is cosigned.
        if proof.len() > 1 {
            let short = proof[1..].to_vec();
            assert!(matches!(
                ask_with(&ts, &log, &w, held, short, &note),
                Err(WitnessRefusal::Inconsistent(_))
            ));
        }
        ask_with(&ts, &log, &w, held, proof, &note).expect("extends what is held");
        held = size;
    }
    let (size, kept) = ts
        .witnessed_checkpoint(ORIGIN)
        .expect("read")
        .expect("held");
    assert_eq!(size, 20);
    assert!(!kept.contains("stray.test"), "{kept}");
    jifen_log::open_note(&kept, std::slice::from_ref(&log)).expect("the log's line is kept");
    assert_eq!(
        jifen_log::verify_cosignatures(&kept, &[w.verifier()])
            .expect("valid")
            .len(),
        1
    );
}

#[test]
fn a_witness_holds_its_place_and_refuses_a_split_view() {
    let ts = spawn_store();
    let (signer, notes) = outside_log(&[b"a"]);
    let log = signer.verifier();
    let w = Arc::new(Cosigner::new("w.test", SigningKey::from_bytes(&[12; 32])).expect("w"));
    let (cp1, note1) = &notes[0];
    // From nothing, no proof is needed; the answer is a cosignature on that tree.
    let line = ask(&ts, &log, &w, 0, note1).expect("cosigned");
    let by = jifen_log::verify_cosignatures(&format!("{note1}{line}"), &[w.verifier()])
        .expect("it verifies");
    assert_eq!(by.len(), 1);
    let (size, held) = ts
        .witnessed_checkpoint(ORIGIN)
        .expect("read")
        .expect("held");
    assert_eq!((size, held.ends_with(&line)), (1, true));
    // The same old size again: a conflict that says what is held.
    assert_eq!(
        ask(&ts, &log, &w, 0, note1),
        Err(WitnessRefusal::Conflict { held: 1 })
    );
    // The same tree again is cosigned again; another tree of that size never.
    ask(&ts, &log, &w, 1, note1).expect("the same tree");
    let (_, other) = outside_log(&[b"b"]);
    let refused = ask(&ts, &log, &w, 1, &other[0].1).expect_err("a split view");
    assert!(matches!(refused, WitnessRefusal::Inconsistent(ref why) if why.contains("split view")));
    // A checkpoint not signed by the log's key: 403, whatever it claims.
    let impostor = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[13; 32])).expect("signer");
    let forged = impostor.sign(&cp1.to_text()).expect("signed");
    assert_eq!(
        ask(&ts, &log, &w, 1, &forged).map_err(|e| e.status()),
        Err(403)
    );
    // After a reopen the witness still holds size 1.
    ts.store.close();
    let store =
        Store::open_with(ts.dir.path(), ts.store.database(), ts.clock.clone()).expect("reopens");
    assert_eq!(
        ask(&store, &log, &w, 0, note1),
        Err(WitnessRefusal::Conflict { held: 1 })
    );
    assert!(ask(&store, &log, &w, 1, &other[0].1).is_err());
}

fn witness(name: &str, seed: u8) -> (Cosigner, RegionWitness) {
    let c = Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).expect("cosigner");
    let w = RegionWitness {
        name: name.to_owned(),
        vkey: c.vkey(),
        url: format!("http://{name}:8080/witness"),
    };
    (c, w)
}

#[test]
fn a_region_names_its_witnesses_with_checks() {
    let ts = spawn_village();
    let (_, w1) = witness("w1.test", 1);
    let (_, w2) = witness("w2.test", 2);
    let log_key = ts.region(&rc(VIL)).expect("region").vkey;
    let bad = |w: Witnesses, field: &str, says: &str| match ts.set_witnesses(rc(VIL), w) {
        Err(StoreError::Field { field: f, detail }) => {
            assert_eq!(f, field, "{detail}");
            assert!(detail.contains(says), "{detail}");
        }
        other => panic!("expected a refusal of {field}, got {other:?}"),
    };
    let of = |list: Vec<RegionWitness>, quorum| Witnesses {
        witnesses: list,
        quorum,
    };
    bad(of(vec![w1.clone()], 2), "quorum", "cannot be met");
    bad(
        of(
            vec![RegionWitness {
                vkey: log_key,
                ..w1.clone()
            }],
            1,
        ),
        "witnesses",
        "cosignature/v1",
    );
    bad(
        of(
            vec![RegionWitness {
                name: "other".into(),
                ..w1.clone()
            }],
            1,
        ),
        "witnesses",
        "not its key's name",
    );
    bad(
        of(
            vec![RegionWitness {
                url: "https://w1.test".into(),
                ..w1.clone()
            }],
            1,
        ),
        "witnesses",
        "http://host",
    );
    bad(of(vec![w1.clone(), w1.clone()], 1), "witnesses", "same key");
    let (_, mut w1b) = witness("w1.test", 3);
    w1b.url = "http://other.test".into();
    bad(of(vec![w1.clone(), w1b], 1), "witnesses", "named twice");
    let port = RegionWitness {
        url: "http://w1.test:port".into(),
        ..w1.clone()
    };
    bad(of(vec![port], 1), "witnesses", "http://host");
    assert_eq!(ts.witnesses(&rc(VIL)).expect("read"), Witnesses::default());
    ts.set_witnesses(rc(VIL), of(vec![w2.clone(), w1.clone()], 2))
        .expect("named");
    let got = ts.witnesses(&rc(VIL)).expect("read");
    assert_eq!((got.quorum, got.witnesses), (2, vec![w1, w2]));
    assert!(matches!(
        ts.set_witnesses(rc("nowhere"), Witnesses::default()),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn cosignatures_are_checked_kept_published_and_audited() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let (c1, w1) = witness("w1.test", 1);
    let (c2, w2) = witness("w2.test", 2);
    let (stranger, _) = witness("w3.test", 3);
    ts.set_witnesses(
        rc(VIL),
        Witnesses {
            witnesses: vec![w1, w2],
            quorum: 2,
        },
    )
    .expect("named");
    for m in [1, 2, 3] {
        ts.append_ok(VIL, award(m, "MEET", 5, 1));
    }
    let request = ts.witness_request(&rc(VIL), 0).expect("request");
    let cp = request.unverified_checkpoint().expect("checkpoint");
    assert_eq!(cp.size, 3);
    let text = cp.to_text();
    let line1 = c1.cosign(&text, 1_765_000_000).expect("w1");
    // Lines by a key the region does not name are ignored.
    let stray = stranger.cosign(&text, 1_765_000_000).expect("w3");
    assert_eq!(ts.record_cosignatures(rc(VIL), 3, stray).expect("kept"), 0);
    // A named key's line on another tree refuses all, and keeps nothing.
    let other = Checkpoint {
        root: [9; 32],
        ..cp.clone()
    }
    .to_text();
    let wrong = c2
        .cosign(&other, 1_765_000_000)
        .expect("w2 on another tree");
    assert!(
        ts.record_cosignatures(rc(VIL), 3, format!("{line1}{wrong}"))
            .is_err()
    );
    assert_eq!(
        ts.record_cosignatures(rc(VIL), 3, line1.clone())
            .expect("kept"),
        1
    );
    assert_eq!(
        ts.record_cosignatures(rc(VIL), 3, line1).expect("again"),
        1,
        "a cosignature asked again still counts"
    );
    // A size never signed is not found.
    assert!(matches!(
        ts.record_cosignatures(rc(VIL), 7, String::new()),
        Err(StoreError::NotFound(_))
    ));
    // The checkpoint as published carries what came back; receipts too.
    let (_, note) = ts.checkpoint(&rc(VIL)).expect("checkpoint");
    let required: Vec<CosignatureVerifier> = vec![c1.verifier(), c2.verifier()];
    let by = jifen_log::verify_cosignatures(&note, &required).expect("valid");
    assert_eq!(by.len(), 1);
    let (_, _, receipt) = ts.receipt(&rc(VIL), 0).expect("receipt");
    assert_eq!(receipt.signed_checkpoint, note);
    // The audit needs the quorum it is given, and checks every line kept.
    assert!(matches!(
        ts.audit_witnesses(&required, 2),
        Err(StoreError::Rejected(ref why)) if why.contains("1 of the witnesses")
    ));
    let line2 = c2.cosign(&text, 1_765_000_001).expect("w2");
    ts.record_cosignatures(rc(VIL), 3, line2).expect("kept");
    let audit = ts.audit_witnesses(&required, 2).expect("quorum met");
    let vil = audit.iter().find(|a| a.region == rc(VIL)).expect("vil");
    assert_eq!((vil.size, vil.cosigned_by.len(), vil.on_record), (3, 2, 2));
    // A newer checkpoint, not yet cosigned: receipts stay on the one the quorum
    // cosigned, while it holds the entry; a newer entry's is on the newest.
    ts.append_ok(VIL, award(1, "MEET", 5, 1));
    let log = NoteVerifier::from_vkey(&ts.region(&rc(VIL)).expect("region").vkey).expect("vkey");
    let (_, leaf, receipt) = ts.receipt(&rc(VIL), 0).expect("receipt");
    assert_eq!(receipt.verify(&leaf, &log).expect("verifies").size, 3);
    assert_eq!(
        jifen_log::verify_cosignatures(&receipt.signed_checkpoint, &required)
            .expect("ok")
            .len(),
        2
    );
    let (_, leaf, receipt) = ts.receipt(&rc(VIL), 3).expect("receipt");
    assert_eq!(receipt.verify(&leaf, &log).expect("verifies").size, 4);
    // A kept line moved onto another size is caught.
    ts.raw_execute("UPDATE cosignatures SET size = 4 WHERE witness = 'w1.test'");
    assert!(matches!(
        ts.audit_witnesses(&[], 0),
        Err(StoreError::Corrupt(ref why)) if why.contains("w1.test") && why.contains("size 4")
    ));
}
