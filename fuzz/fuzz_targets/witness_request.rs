//! A witness's `POST /witness/add-checkpoint` body (c2sp.org/tlog-witness):
//! `AddCheckpoint::parse` never panics and what parses re-encodes to the same bytes;
//! the witness's check against the Go test key, from nothing held and from a size held,
//! never panics, refuses only with the statuses the spec names, and what it accepts is a
//! checkpoint no smaller than the old size that round-trips and cosigns verifiably.
//! Reading cosignatures off any text never panics either.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use jifen_log::{
    AddCheckpoint, Checkpoint, Cosigner, NoteSigner, NoteVerifier, check_add_checkpoint,
    verify_cosignatures,
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// golang.org/x/mod/sumdb/note's test key, as in crates/log/tests/note.rs.
const PETER_SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

static PETER: LazyLock<NoteVerifier> = LazyLock::new(|| {
    let key = BASE64.decode(PETER_SEED_B64).expect("base64");
    let seed: [u8; 32] = key[1..].try_into().expect("32-byte seed");
    NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed))
        .expect("valid name")
        .verifier()
});

static WITNESS: LazyLock<Cosigner> = LazyLock::new(|| {
    Cosigner::new("witness.fuzz", SigningKey::from_bytes(&[5; 32])).expect("valid name")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = verify_cosignatures(text, &[WITNESS.verifier()]);
    let Ok(request) = AddCheckpoint::parse(text) else {
        return;
    };
    assert_eq!(request.to_text(), text, "a request must round-trip");
    let _ = request.unverified_checkpoint();
    for held in [None, Some((3, [0u8; 32]))] {
        match check_add_checkpoint(&request, &PETER, held) {
            Ok(verified) => {
                let (checkpoint, body) = (&verified.checkpoint, verified.text());
                assert_eq!(request.old_size, held.map_or(0, |(size, _)| size));
                assert!(request.old_size <= checkpoint.size);
                assert_eq!(Checkpoint::parse(&body).ok().as_ref(), Some(checkpoint));
                // What a witness keeps holds only the log's lines, which verify.
                assert!(jifen_log::open_note(&verified.kept_note, &[PETER.clone()]).is_ok());
                let line = WITNESS.cosign(&body, 1_765_000_000).expect("cosigns");
                let found = verify_cosignatures(&format!("{body}\n{line}"), &[WITNESS.verifier()])
                    .expect("its own cosignature verifies");
                assert_eq!(found.len(), 1);
            }
            Err(refusal) => assert!(matches!(refusal.status(), 400 | 403 | 404 | 409 | 422)),
        }
    }
});
