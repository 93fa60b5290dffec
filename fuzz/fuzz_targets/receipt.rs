//! tlog-proof@v1 receipts (`jifen log check`, the transparency page's receipt box):
//! `Receipt::parse` never panics and what parses re-encodes to the same bytes; checking
//! one against the Go test key, for the entry its `extra` line carries, never panics,
//! and a receipt that checks proves a checkpoint that round-trips too.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use jifen_log::{Checkpoint, NoteSigner, NoteVerifier, Receipt};
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(receipt) = Receipt::parse(text) else {
        return;
    };
    assert_eq!(receipt.to_text(), text, "a receipt must round-trip");
    let entry = receipt.extra.clone().unwrap_or_default();
    if let Ok(checkpoint) = receipt.verify(&entry, &PETER) {
        assert!(receipt.index < checkpoint.size);
        assert_eq!(
            Checkpoint::parse(&checkpoint.to_text()).ok().as_ref(),
            Some(&checkpoint)
        );
    }
});
