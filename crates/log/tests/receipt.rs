//! Receipts (c2sp.org/tlog-proof@v1) made from a real tree and signed checkpoint.

mod common;

use common::{build, leaf_data};
use ed25519_dalek::SigningKey;
use jifen_log::{
    Checkpoint, Error, NoteSigner, ProofError, Receipt, inclusion_proof, sign_checkpoint_after,
};

const ORIGIN: &str = "jifen.example/log";
const LEAVES: u64 = 300;

fn signer(seed: u8) -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[seed; 32])).expect("valid name")
}

fn receipt(index: u64, extra: Option<Vec<u8>>) -> Receipt {
    let (appender, mut store) = build(LEAVES, 64);
    let checkpoint = Checkpoint {
        origin: ORIGIN.to_owned(),
        size: LEAVES,
        root: appender.root(),
        extensions: Vec::new(),
    };
    let signed_checkpoint =
        sign_checkpoint_after(&signer(9), None, &checkpoint, &[]).expect("signs");
    Receipt {
        extra,
        index,
        proof: inclusion_proof(&mut store, LEAVES, index).expect("stored"),
        signed_checkpoint,
    }
}

#[test]
fn receipts_round_trip_through_text() {
    for (index, extra) in [
        (0, None),
        (137, Some(b"context".to_vec())),
        (299, Some(Vec::new())),
    ] {
        let receipt = receipt(index, extra);
        let text = receipt.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"));
        assert!(text.ends_with(&receipt.signed_checkpoint));
        assert_eq!(Receipt::parse(&text).expect("parses"), receipt);
    }
    let text = receipt(5, None).to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "index 5");
    assert_eq!(
        lines.len(),
        2 + 9 + 1 + 3 + 1 + 1,
        "header, index, 9 hashes, blank, checkpoint"
    );
}

#[test]
fn receipts_verify_against_the_log_key() {
    let receipt = receipt(137, Some(b"not authenticated".to_vec()));
    let verifier = signer(9).verifier();
    let checkpoint = receipt
        .verify(&leaf_data(137), &verifier)
        .expect("entry 137 is in the log");
    assert_eq!(checkpoint.origin, ORIGIN);
    assert_eq!(checkpoint.size, LEAVES);

    // The parsed text verifies too.
    let parsed = Receipt::parse(&receipt.to_text()).expect("parses");
    parsed.verify(&leaf_data(137), &verifier).expect("verifies");
}

#[test]
fn tampered_receipts_fail() {
    let receipt = receipt(137, None);
    let verifier = signer(9).verifier();
    // Another entry, or the right entry at another index.
    assert!(matches!(
        receipt.verify(&leaf_data(138), &verifier),
        Err(Error::Proof(ProofError::RootMismatch))
    ));
    assert!(receipt.verify(b"jifen test leaf 137 ", &verifier).is_err());
    let mut moved = receipt.clone();
    moved.index = 136;
    assert!(moved.verify(&leaf_data(137), &verifier).is_err());
    // A changed proof hash.
    let mut bad_proof = receipt.clone();
    bad_proof.proof[3][7] ^= 0x20;
    assert!(bad_proof.verify(&leaf_data(137), &verifier).is_err());
    // Another log key.
    assert!(matches!(
        receipt.verify(&leaf_data(137), &signer(10).verifier()),
        Err(Error::NoKnownSignature)
    ));
    // A checkpoint edited after signing.
    let mut edited = receipt.clone();
    edited.signed_checkpoint = edited.signed_checkpoint.replacen("300", "301", 1);
    assert!(matches!(
        edited.verify(&leaf_data(137), &verifier),
        Err(Error::BadSignature { .. })
    ));
}
