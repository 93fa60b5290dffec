//! Signed notes: known answers from Go's golang.org/x/mod/sumdb/note tests, round trips,
//! tampering, and checkpoint signing that refuses forks.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use jifen_log::{
    Appender, Checkpoint, Error, NoteSigner, NoteVerifier, consistency_proof, leaf_hash, open_note,
    sign_checkpoint_after,
};

// golang.org/x/mod/sumdb/note note_test.go.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// The PeterNeumann signer, from Go's private key encoding
/// `PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)`.
fn peter() -> NoteSigner {
    let encoded = PETER_SKEY.splitn(5, '+').nth(4).expect("five fields");
    let key = BASE64.decode(encoded).expect("base64");
    assert_eq!(key[0], 0x01, "Ed25519");
    let seed: [u8; 32] = key[1..].try_into().expect("32-byte seed");
    NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).expect("valid name")
}

fn verifier(vkey: &str) -> NoteVerifier {
    NoteVerifier::from_vkey(vkey).expect("valid vkey")
}

#[test]
fn go_known_answers_vkey_key_id_and_signature() {
    let signer = peter();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.vkey(), PETER_VKEY);
    let note = signer.sign(TEXT).expect("valid text");
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));

    let peter = verifier(PETER_VKEY);
    assert_eq!(peter.name(), "PeterNeumann");
    assert_eq!(peter.key_id(), 0xc74f20a3);
    let enoch = verifier(ENOCH_VKEY);
    assert_eq!(enoch.key_id(), 0xaf0cfe78);
}

#[test]
fn go_signed_notes_open_with_either_known_key() {
    let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let peter = verifier(PETER_VKEY);
    let enoch = verifier(ENOCH_VKEY);
    // Enoch's signature is by an unknown key and is ignored.
    assert_eq!(
        open_note(&note, std::slice::from_ref(&peter)).expect("verifies"),
        TEXT
    );
    assert_eq!(
        open_note(&note, std::slice::from_ref(&enoch)).expect("verifies"),
        TEXT
    );
    assert_eq!(
        open_note(&note, &[peter.clone(), enoch]).expect("verifies"),
        TEXT
    );
    assert!(matches!(
        open_note(&note, &[]),
        Err(Error::NoKnownSignature)
    ));
    // The same key listed twice is not ambiguous.
    assert!(open_note(&note, &[peter.clone(), peter]).is_ok());
}

#[test]
fn tampered_go_notes_fail() {
    let peter = verifier(PETER_VKEY);
    let verifiers = std::slice::from_ref(&peter);
    // Go's "Invalid signature" case: four base64 characters inserted into the signature.
    let bad_sig = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        open_note(&format!("{TEXT}\n{bad_sig}"), verifiers),
        Err(Error::BadSignature { .. })
    ));
    // A changed body.
    let changed = TEXT.replace("problem", "answer");
    assert!(matches!(
        open_note(&format!("{changed}\n{PETER_SIG}"), verifiers),
        Err(Error::BadSignature { .. })
    ));
    // Go's malformed notes.
    for note in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
        format!("{TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
    ] {
        assert!(open_note(&note, verifiers).is_err(), "{note:?} opened");
    }
    // A signature by a known name with another key ID is an unknown key: ignored.
    let other_id = PETER_SIG.replace("x08g", "xxxx");
    assert!(matches!(
        open_note(&format!("{TEXT}\n{other_id}"), verifiers),
        Err(Error::NoKnownSignature)
    ));
}

#[test]
fn go_vkey_manglings_are_refused() {
    // Go's TestNewVerifier: every proper substring and every single-byte increment fails.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[i..j]).expect("ASCII");
            assert!(NoteVerifier::from_vkey(part).is_err(), "{part:?} parsed");
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).expect("ASCII");
        assert!(
            NoteVerifier::from_vkey(&mangled).is_err(),
            "{mangled:?} parsed"
        );
    }
    // Wrong key length and unknown algorithm, each with an adjusted key ID (from Go).
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(NoteVerifier::from_vkey(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn sign_and_open_round_trip_and_wrong_key_fails() {
    let signer =
        NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).expect("valid name");
    let other =
        NoteSigner::new("example.com/log", SigningKey::from_bytes(&[2; 32])).expect("valid name");
    let text = "line one\n\nline three after an empty line\n";
    let note = signer.sign(text).expect("valid text");
    let verifier = NoteVerifier::from_vkey(&signer.vkey()).expect("own vkey parses");
    assert_eq!(verifier, signer.verifier());
    assert_eq!(
        open_note(&note, std::slice::from_ref(&verifier)).expect("opens"),
        text
    );
    // Same name, other key: a different key ID, so an unknown key.
    assert!(open_note(&note, &[other.verifier()]).is_err());

    // Flipping any character of the signature line's base64 fails.
    let sig_start = note.rfind(' ').expect("signature line") + 1;
    for i in sig_start..note.len() - 1 {
        let mut bytes = note.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ASCII");
        if tampered != note {
            assert!(open_note(&tampered, std::slice::from_ref(&verifier)).is_err());
        }
    }
}

#[test]
fn bad_names_and_texts_are_refused() {
    for name in ["", "a b", "a+b", "a\nb", "a\u{2003}b"] {
        assert!(matches!(
            NoteSigner::new(name, SigningKey::from_bytes(&[1; 32])),
            Err(Error::InvalidKeyName(_))
        ));
    }
    let signer = peter();
    assert!(signer.sign("no final newline").is_err());
    assert!(signer.sign("tab\there\n").is_err());
    assert!(signer.sign("carriage\r\n").is_err());
}

fn checkpoint(origin: &str, leaves: u64) -> Checkpoint {
    let mut appender = Appender::new();
    for i in 0..leaves {
        appender.append(leaf_hash(&common::leaf_data(i)));
    }
    Checkpoint {
        origin: origin.to_owned(),
        size: leaves,
        root: appender.root(),
        extensions: Vec::new(),
    }
}

#[test]
fn sign_checkpoint_after_signs_extensions_and_refuses_forks() {
    let signer =
        NoteSigner::new("example.com/log", SigningKey::from_bytes(&[3; 32])).expect("valid name");
    let verifier = signer.verifier();
    let (_, mut store) = common::build(20, 7);
    let first = checkpoint("example.com/log", 0);
    let last = checkpoint("example.com/log", 9);
    let next = checkpoint("example.com/log", 20);
    let proof = consistency_proof(&mut store, 9, 20).expect("stored");

    // The first checkpoint, an extension of the empty tree, the same one again, and a
    // larger one with its consistency proof are all signed.
    let note = sign_checkpoint_after(&signer, None, &first, &[]).expect("first");
    let body = open_note(&note, std::slice::from_ref(&verifier)).expect("opens");
    assert_eq!(Checkpoint::parse(body).expect("parses"), first);
    sign_checkpoint_after(&signer, Some(&first), &last, &[]).expect("extends empty");
    sign_checkpoint_after(&signer, Some(&last), &last, &[]).expect("same tree");
    let note = sign_checkpoint_after(&signer, Some(&last), &next, &proof).expect("extends");
    let body = open_note(&note, std::slice::from_ref(&verifier)).expect("opens");
    assert_eq!(Checkpoint::parse(body).expect("parses"), next);

    // Same size, different root: a fork (say, an old backup restored and re-appended).
    let mut forked = next.clone();
    forked.root = checkpoint("x", 21).root;
    assert!(matches!(
        sign_checkpoint_after(&signer, Some(&next), &forked, &[]),
        Err(Error::RootChanged { size: 20 })
    ));
    // Smaller size.
    assert!(matches!(
        sign_checkpoint_after(&signer, Some(&next), &last, &[]),
        Err(Error::SizeDecreased { last: 20, next: 9 })
    ));
    // Larger size with a root that does not extend the last one.
    let mut forked = next.clone();
    forked.root = checkpoint("x", 19).root;
    assert!(matches!(
        sign_checkpoint_after(&signer, Some(&last), &forked, &proof),
        Err(Error::Inconsistent { .. })
    ));
    // A bad or missing proof.
    let mut bad_proof = proof.clone();
    bad_proof[0][0] ^= 1;
    assert!(sign_checkpoint_after(&signer, Some(&last), &next, &bad_proof).is_err());
    assert!(sign_checkpoint_after(&signer, Some(&last), &next, &[]).is_err());
    // Another origin.
    let other = checkpoint("example.com/other", 20);
    assert!(matches!(
        sign_checkpoint_after(&signer, Some(&last), &other, &proof),
        Err(Error::OriginChanged { .. })
    ));
    // An origin that would break the note's layout.
    let broken = checkpoint("example.com/log\n5", 20);
    assert!(sign_checkpoint_after(&signer, None, &broken, &[]).is_err());
}
