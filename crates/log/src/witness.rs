//! Witnessing: C2SP tlog-cosignature (Ed25519 `cosignature/v1`, signature type 0x04) and
//! the C2SP tlog-witness `add-checkpoint` request and its rules.
//!
//! A witness keeps, for each log it follows, the largest checkpoint it has verified as
//! consistent with everything it saw before, and cosigns only that. Two witnesses that
//! have cosigned checkpoints of one log are therefore sure to have seen one history: a log
//! that shows one tree to residents and another to an auditor (a split view) cannot get
//! both cosigned by the same witness.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, ProofError};
use crate::hash::{Hash, empty_root};
use crate::note::{
    ED25519_SIGNATURE_BYTES, KEY_ID_BYTES, NoteVerifier, SIGNATURE_LINE_PREFIX, check_key_name,
    open_note, parse_signature_line, parse_vkey, split_note, typed_key_id,
};
use crate::proof::verify_consistency;

/// The signature type byte of Ed25519 `cosignature/v1` keys.
pub const SIGNATURE_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The most consistency proof lines an `add-checkpoint` request may carry (the spec's).
pub const CONSISTENCY_PROOF_LINES_MAX: usize = 63;
/// Bytes of the timestamp in a cosignature.
const TIMESTAMP_BYTES: usize = 8;

/// The message a `cosignature/v1` signs: the header line, the time line, then the note
/// text of the checkpoint (without signature lines).
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// Makes cosignatures with an Ed25519 key under a witness name.
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

/// Debug shows the name and key ID, never the private key.
impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// A cosigner named `name` (a key name: no spaces, `+` or control characters).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, Error> {
        check_key_name(name)?;
        let key_id = typed_key_id(name, SIGNATURE_TYPE_COSIGNATURE_V1, &key.verifying_key());
        Ok(Cosigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key: `<name>+<8 hex key ID>+<base64(0x04 || public key)>`.
    pub fn vkey(&self) -> String {
        let mut key = vec![SIGNATURE_TYPE_COSIGNATURE_V1];
        key.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(key))
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line (ending in "\n") cosigning `checkpoint_text` at `timestamp`
    /// (POSIX seconds; 1 to 2^63 - 1).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<String, Error> {
        if timestamp == 0 || timestamp >= 1 << 63 {
            return Err(Error::MalformedNote(
                "a cosignature's time must be from 1 to 2^63 - 1 seconds",
            ));
        }
        Checkpoint::parse(checkpoint_text)?;
        let signature = self
            .key
            .sign(cosignature_message(checkpoint_text, timestamp).as_bytes());
        let mut blob = Vec::with_capacity(KEY_ID_BYTES + TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

/// Checks `cosignature/v1` signatures by one witness key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<8 hex key ID>+<base64(0x04 || 32-byte public key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let (name, key_id, key) = parse_vkey(
            vkey,
            SIGNATURE_TYPE_COSIGNATURE_V1,
            "a witness key must be an Ed25519 cosignature/v1 key (signature type 0x04)",
        )?;
        Ok(CosignatureVerifier { name, key_id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key (the same key under two names is one witness).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The verifier key this was parsed from.
    pub fn vkey(&self) -> String {
        let mut key = vec![SIGNATURE_TYPE_COSIGNATURE_V1];
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(key))
    }
}

/// A cosignature that verified: whose, when, and its line as it stands in the note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub witness: String,
    pub timestamp: u64,
    /// The signature line, ending in "\n".
    pub line: String,
}

/// The cosignatures on `note` (a checkpoint with its signature lines) by `witnesses`,
/// at most one per witness. Lines by other keys are ignored; a line whose name and key
/// ID match a witness but whose signature does not verify is an error (such a note is
/// malformed, as signed-note says), as is a timestamp outside 1 to 2^63 - 1.
pub fn verify_cosignatures(
    note: &str,
    witnesses: &[CosignatureVerifier],
) -> Result<Vec<Cosignature>, Error> {
    let (text, lines) = split_note(note)?;
    verify_cosignature_lines(text, lines, witnesses)
}

/// As [`verify_cosignatures`], for signature lines (each ending in "\n", or the last
/// without) that came apart from the checkpoint `text`, as a witness answers.
pub fn verify_cosignature_lines(
    text: &str,
    lines: &str,
    witnesses: &[CosignatureVerifier],
) -> Result<Vec<Cosignature>, Error> {
    let mut found: Vec<Cosignature> = Vec::new();
    for line in lines.split('\n').filter(|l| !l.is_empty()) {
        let (name, key_id, blob) = parse_signature_line(line)?;
        let Some(witness) = witnesses
            .iter()
            .find(|w| w.name == name && w.key_id == key_id)
        else {
            continue;
        };
        let bad = || Error::BadSignature {
            name: name.to_owned(),
            key_id,
        };
        if blob.len() != TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES {
            return Err(bad());
        }
        let (time, signature) = blob.split_at(TIMESTAMP_BYTES);
        let timestamp = u64::from_be_bytes(time.try_into().map_err(|_| bad())?);
        if timestamp == 0 || timestamp >= 1 << 63 {
            return Err(bad());
        }
        let signature = Signature::from_slice(signature).map_err(|_| bad())?;
        witness
            .key
            .verify_strict(cosignature_message(text, timestamp).as_bytes(), &signature)
            .map_err(|_| bad())?;
        if !found.iter().any(|c| c.witness == witness.name) {
            found.push(Cosignature {
                witness: witness.name.clone(),
                timestamp,
                line: format!("{line}\n"),
            });
        }
    }
    Ok(found)
}

/// A tlog-witness `add-checkpoint` request: the size the client believes the witness
/// holds, a consistency proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint as a signed note, with all its signature lines.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body: `old N`, the proof lines, an empty line, the checkpoint.
    pub fn to_text(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&BASE64.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    /// Parses a request body strictly. What it does not check (the signatures, the
    /// proof) is [`check_add_checkpoint`]'s.
    pub fn parse(body: &str) -> Result<Self, Error> {
        let bad = Error::MalformedWitnessRequest;
        let (old, rest) = body
            .split_once('\n')
            .ok_or(bad("it has no old size line"))?;
        let old = old
            .strip_prefix("old ")
            .ok_or(bad("the first line must be `old <size>`"))?;
        let canonical = old == "0" || !old.starts_with('0');
        if old.is_empty() || !old.bytes().all(|b| b.is_ascii_digit()) || !canonical {
            return Err(bad(
                "the old size must be a decimal number without leading zeros",
            ));
        }
        let old_size: u64 = old.parse().map_err(|_| bad("the old size is too large"))?;
        let mut proof = Vec::new();
        let mut rest = rest;
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(bad("it has no empty line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == CONSISTENCY_PROOF_LINES_MAX {
                return Err(bad("it has more than 63 consistency proof lines"));
            }
            let hash: Hash = BASE64
                .decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(bad(
                    "a consistency proof line is not a 32-byte hash in standard base64",
                ))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// The checkpoint's body, parsed but not verified (the witness finds the log's key
    /// by its origin).
    pub fn unverified_checkpoint(&self) -> Result<Checkpoint, Error> {
        let (text, _) = split_note(&self.checkpoint)?;
        Checkpoint::parse(text)
    }
}

/// Why a witness refuses an `add-checkpoint` request, with the HTTP status the spec
/// gives each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    /// 400: the body does not parse, or the old size is larger than the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no valid signature by the log's key.
    #[error("the checkpoint is not signed by the log's key: {0}")]
    NotSigned(String),
    /// 404: the witness does not follow this origin.
    #[error("this witness does not follow the log {0:?}")]
    UnknownLog(String),
    /// 409: the old size is not the size the witness holds.
    #[error("the witness holds size {held}, not the old size given")]
    Conflict { held: u64 },
    /// 422: the checkpoint is not consistent with what the witness holds.
    #[error("the checkpoint is not consistent with the one the witness holds: {0}")]
    Inconsistent(String),
}

impl WitnessRefusal {
    /// The HTTP status code tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            WitnessRefusal::BadRequest(_) => 400,
            WitnessRefusal::NotSigned(_) => 403,
            WitnessRefusal::UnknownLog(_) => 404,
            WitnessRefusal::Conflict { .. } => 409,
            WitnessRefusal::Inconsistent(_) => 422,
        }
    }
}

/// A request whose checkpoint the log's key signed: what a witness compares with the
/// checkpoint it holds ([`VerifiedCheckpoint::against`]). Made by
/// [`verify_add_checkpoint`], outside any lock: the signature check is the costly part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    pub old_size: u64,
    proof: Vec<Hash>,
    /// The checkpoint text, a blank line, and only the log's own signature lines (which
    /// verified): what the witness keeps and serves, never lines it did not check.
    pub kept_note: String,
}

/// Checks what needs no state, in tlog-witness's order: the log's signature (403; the
/// caller has found the log by the checkpoint's origin, else 404) and an old size no
/// larger than the checkpoint's (400).
pub fn verify_add_checkpoint(
    request: &AddCheckpoint,
    log: &NoteVerifier,
) -> Result<VerifiedCheckpoint, WitnessRefusal> {
    let text = open_note(&request.checkpoint, std::slice::from_ref(log))
        .map_err(|e| WitnessRefusal::NotSigned(e.to_string()))?;
    let checkpoint =
        Checkpoint::parse(text).map_err(|e| WitnessRefusal::BadRequest(e.to_string()))?;
    if checkpoint.origin != log.name() {
        return Err(WitnessRefusal::UnknownLog(checkpoint.origin));
    }
    if request.old_size > checkpoint.size {
        return Err(WitnessRefusal::BadRequest(format!(
            "the old size {} is larger than the checkpoint's size {}",
            request.old_size, checkpoint.size
        )));
    }
    let (_, lines) =
        split_note(&request.checkpoint).map_err(|e| WitnessRefusal::BadRequest(e.to_string()))?;
    let mut kept_note = format!("{text}\n");
    for line in lines.split('\n') {
        if let Ok((name, key_id, _)) = parse_signature_line(line)
            && name == log.name()
            && key_id == log.key_id()
        {
            kept_note.push_str(line);
            kept_note.push('\n');
        }
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        old_size: request.old_size,
        proof: request.proof.clone(),
        kept_note,
    })
}

impl VerifiedCheckpoint {
    /// The checkpoint's text, as cosigned.
    pub fn text(&self) -> String {
        self.checkpoint.to_text()
    }

    /// Compares with what the witness holds for the log (`held`: the size and root it
    /// last cosigned, none if never), in tlog-witness's order: the old size must be the
    /// size held (409), a size-0 tree must be empty (422), and the proof must show the
    /// checkpoint extends the tree held (422). On success the witness records the
    /// checkpoint, durably and in the same step as this comparison, before it cosigns.
    pub fn against(&self, held: Option<(u64, Hash)>) -> Result<(), WitnessRefusal> {
        let checkpoint = &self.checkpoint;
        let (held_size, held_root) = held.unwrap_or((0, empty_root()));
        if self.old_size != held_size {
            return Err(WitnessRefusal::Conflict { held: held_size });
        }
        if checkpoint.size == 0 && checkpoint.root != empty_root() {
            return Err(WitnessRefusal::Inconsistent(
                "a checkpoint of size 0 must have the empty tree's root".to_owned(),
            ));
        }
        if self.old_size == 0 {
            if !self.proof.is_empty() {
                return Err(WitnessRefusal::Inconsistent(
                    "from size 0 the consistency proof must be empty".to_owned(),
                ));
            }
        } else if self.old_size == checkpoint.size {
            if checkpoint.root != held_root {
                return Err(WitnessRefusal::Inconsistent(format!(
                    "size {} was cosigned with another root: this is a different tree (a split view)",
                    checkpoint.size
                )));
            }
            if !self.proof.is_empty() {
                return Err(WitnessRefusal::Inconsistent(
                    "between equal sizes the consistency proof must be empty".to_owned(),
                ));
            }
        } else {
            verify_consistency(
                self.old_size,
                checkpoint.size,
                &held_root,
                &checkpoint.root,
                &self.proof,
            )
            .map_err(|e: ProofError| {
                WitnessRefusal::Inconsistent(format!(
                    "the proof from size {} to {} does not verify ({e}): this tree does not extend the one cosigned",
                    self.old_size, checkpoint.size
                ))
            })?;
        }
        Ok(())
    }
}

/// [`verify_add_checkpoint`] then [`VerifiedCheckpoint::against`]: the whole check.
pub fn check_add_checkpoint(
    request: &AddCheckpoint,
    log: &NoteVerifier,
    held: Option<(u64, Hash)>,
) -> Result<VerifiedCheckpoint, WitnessRefusal> {
    let verified = verify_add_checkpoint(request, log)?;
    verified.against(held)?;
    Ok(verified)
}

/// The size in a 409 answer's body (`text/x.tlog.size`: decimal, then a newline).
pub fn parse_size_body(body: &str) -> Option<u64> {
    let digits = body.strip_suffix('\n').unwrap_or(body);
    let canonical = digits == "0" || !digits.starts_with('0');
    (canonical && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_cosignature_decodes_to_its_time() {
        // c2sp.org/tlog-cosignature: the example's witness line and its signed message.
        let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let (name, key_id, blob) = parse_signature_line(line).expect("a valid line");
        assert_eq!(name, "witness.example.com/w1");
        assert_eq!(key_id, 0x8d66cf3f);
        assert_eq!(blob.len(), 8 + 64);
        let time = u64::from_be_bytes(blob[..8].try_into().expect("8 bytes"));
        assert_eq!(time, 1_679_315_147);
        let body =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            cosignature_message(body, time),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn the_spec_example_request_parses_and_re_encodes() {
        let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let request = AddCheckpoint::parse(body).expect("the spec's example");
        assert_eq!(request.old_size, 20_852_014);
        assert_eq!(request.proof.len(), 4);
        assert_eq!(request.to_text(), body);
        let cp = request.unverified_checkpoint().expect("a checkpoint");
        assert_eq!(cp.size, 20_852_163);
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        for (body, says) in [
            ("", "no old size"),
            ("old 01\n\n", "leading zeros"),
            ("new 1\n\n", "`old <size>`"),
            ("old 1\nnot-a-hash\n\n", "32-byte hash"),
            ("old 1\n", "no empty line"),
        ] {
            let e = AddCheckpoint::parse(body).expect_err(body);
            assert!(e.to_string().contains(says), "{body:?}: {e}");
        }
        let many = format!(
            "old 1\n{}\n",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
        );
        assert!(AddCheckpoint::parse(&many).is_err());
    }

    #[test]
    fn sizes_in_conflict_answers() {
        assert_eq!(parse_size_body("42\n"), Some(42));
        assert_eq!(parse_size_body("0\n"), Some(0));
        assert_eq!(parse_size_body("042\n"), None);
        assert_eq!(parse_size_body("x\n"), None);
    }

    #[test]
    fn a_cosignature_round_trips_and_a_changed_one_fails() {
        let w = Cosigner::new("w.example/1", SigningKey::from_bytes(&[9; 32])).expect("name");
        let v = CosignatureVerifier::from_vkey(&w.vkey()).expect("its vkey");
        assert_eq!(v.vkey(), w.vkey());
        let text = format!("o\n3\n{}\n", BASE64.encode([1u8; 32]));
        let line = w.cosign(&text, 1_700_000_000).expect("cosigned");
        let note = format!("{text}\n{line}");
        let found = verify_cosignatures(&note, std::slice::from_ref(&v)).expect("valid");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].timestamp, 1_700_000_000);
        let other = format!("o\n3\n{}\n", BASE64.encode([2u8; 32]));
        assert!(matches!(
            verify_cosignatures(&format!("{other}\n{line}"), std::slice::from_ref(&v)),
            Err(Error::BadSignature { .. })
        ));
        // A note key (type 0x01) is not a witness key.
        let log =
            crate::NoteSigner::new("w.example/1", SigningKey::from_bytes(&[9; 32])).expect("name");
        assert!(CosignatureVerifier::from_vkey(&log.vkey()).is_err());
        assert!(w.cosign(&text, 0).is_err());
    }
}
