//! Cosigned checkpoints read by an implementation nobody here wrote: Cloudflare's
//! `signed_note` (a port of Go's `note`) parses the note, computes the witness key's ID
//! from its name and key bytes, and matches each signature line to its verifier; the
//! `cosignature/v1` message it checks is the spec's (`the_spec_example_*` in witness.rs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jifen_log::{Checkpoint, Cosigner, NoteSigner, cosignature_message};

/// A `cosignature/v1` verifier for `signed_note`: the key ID by its `key_id`.
struct Cosig {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl signed_note::Verifier for Cosig {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(time), Some(sig)) = (sig.get(..8), sig.get(8..)) else {
            return false;
        };
        let time = u64::from_be_bytes(time.try_into().expect("8 bytes"));
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        let text = std::str::from_utf8(msg).expect("utf-8");
        self.key
            .verify_strict(cosignature_message(text, time).as_bytes(), &sig)
            .is_ok()
    }
}

fn cosig(vkey: &str) -> Cosig {
    let (name, rest) = vkey.split_once('+').expect("name");
    let (_, key) = rest.split_once('+').expect("id");
    let key = BASE64.decode(key).expect("base64");
    assert_eq!(key[0], 0x04, "a cosignature/v1 key");
    Cosig {
        name: name.to_owned(),
        // The oracle's key ID, from the name and the typed key bytes.
        id: signed_note::key_id(name, &key),
        key: VerifyingKey::from_bytes(key[1..].try_into().expect("32 bytes")).expect("key"),
    }
}

#[test]
fn a_cosigned_checkpoint_opens_in_signed_note() {
    let log = NoteSigner::new("example.org/log/7", SigningKey::from_bytes(&[3; 32])).expect("log");
    let cp = Checkpoint {
        origin: "example.org/log/7".to_owned(),
        size: 5,
        root: [7; 32],
        extensions: vec![],
    };
    let text = cp.to_text();
    let mut note = log.sign(&text).expect("signed");
    let w1 = Cosigner::new("w1.example", SigningKey::from_bytes(&[4; 32])).expect("w1");
    let w2 = Cosigner::new("w2.example", SigningKey::from_bytes(&[5; 32])).expect("w2");
    note.push_str(&w1.cosign(&text, 1_765_000_000).expect("w1 cosigns"));
    note.push_str(&w2.cosign(&text, 1_765_000_001).expect("w2 cosigns"));

    let parsed = signed_note::Note::from_bytes(note.as_bytes()).expect("a note");
    let (c1, c2) = (cosig(&w1.vkey()), cosig(&w2.vkey()));
    // Our vkey's key ID is the oracle's.
    assert!(w1.vkey().contains(&format!("+{:08x}+", c1.id)));
    let list = signed_note::VerifierList::new(vec![Box::new(c1), Box::new(c2)]);
    let (verified, unverified) = parsed.verify(&list).expect("both cosignatures verify");
    assert_eq!(verified.len(), 2);
    assert_eq!(unverified.len(), 1, "the log's own line is not a witness's");

    // The log's signature still opens with the oracle's standard verifier.
    let std = signed_note::StandardVerifier::new(&log.vkey()).expect("log vkey");
    let list = signed_note::VerifierList::new(vec![Box::new(std)]);
    assert_eq!(parsed.verify(&list).expect("log signature").0.len(), 1);

    // A cosignature moved onto another tree fails in the oracle too.
    let other = Checkpoint {
        root: [8; 32],
        ..cp
    }
    .to_text();
    let line = w1.cosign(&text, 1_765_000_000).expect("w1 cosigns");
    let forged = format!("{}{line}", log.sign(&other).expect("signed"));
    let parsed = signed_note::Note::from_bytes(forged.as_bytes()).expect("a note");
    let list = signed_note::VerifierList::new(vec![Box::new(cosig(&w1.vkey()))]);
    assert!(parsed.verify(&list).is_err());
}
