//! C2SP signed notes and verifier keys. The input is a verifier key line, then the note.
//! Neither parser panics; a note opens only if its text is what was signed, and a note
//! that opens with one signature line, by the Go test key, is exactly what signing its
//! text gives (Ed25519 is deterministic and `verify_strict` refuses other encodings).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use jifen_log::{NoteSigner, NoteVerifier, open_note};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// golang.org/x/mod/sumdb/note's test key, as in crates/log/tests/note.rs.
const PETER_SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

static PETER: LazyLock<NoteSigner> = LazyLock::new(|| {
    let key = BASE64.decode(PETER_SEED_B64).expect("base64");
    let seed: [u8; 32] = key[1..].try_into().expect("32-byte seed");
    NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).expect("valid name")
});

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (vkey, note) = input.split_once('\n').unwrap_or((input, ""));
    let mut verifiers = vec![PETER.verifier()];
    if let Ok(v) = NoteVerifier::from_vkey(vkey) {
        assert!(vkey.starts_with(&format!("{}+", v.name())));
        assert!(
            vkey[v.name().len() + 1..]
                .to_ascii_lowercase()
                .starts_with(&format!("{:08x}+", v.key_id()))
        );
        verifiers.push(v);
    }
    if let Ok(text) = open_note(note, &verifiers) {
        assert!(note.starts_with(text) && text.ends_with('\n'));
        let signatures = &note[text.len()..];
        assert!(signatures.starts_with("\n\u{2014} "));
        let peter_only = signatures
            .strip_prefix("\n\u{2014} PeterNeumann ")
            .and_then(|b64| b64.strip_suffix('\n'))
            .and_then(|b64| BASE64.decode(b64).ok())
            .is_some_and(|blob| blob.starts_with(&PETER.key_id().to_be_bytes()));
        if peter_only {
            let resigned = PETER
                .sign(text)
                .expect("an opened note's text can be signed");
            assert_eq!(resigned, note, "one signature, one encoding");
        }
    }
});
