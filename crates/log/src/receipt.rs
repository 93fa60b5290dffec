//! Receipts: C2SP transparency log proofs (c2sp.org/tlog-proof@v1), an offline-verifiable
//! proof that an entry is in the log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>          (optional)
//! index <decimal>
//! <base64 hash>           (zero or more, the inclusion proof)
//!
//! <signed checkpoint, verbatim>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::Checkpoint;
use crate::error::Error;
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteVerifier, open_note};
use crate::proof::verify_inclusion;

/// The first line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Inclusion proof hashes a receipt may hold: one per tree level of a 2^64-leaf tree.
const PROOF_HASHES_MAX: usize = 64;

/// A c2sp.org/tlog-proof@v1 receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Optional opaque data, not authenticated: never trust it without another check.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof of the entry in the checkpoint's tree, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim (ending in "\n").
    pub signed_checkpoint: String,
}

impl Receipt {
    pub fn to_text(&self) -> String {
        let mut text = format!("{RECEIPT_HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            text.push_str(&BASE64.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.signed_checkpoint);
        text
    }

    /// Parses a receipt strictly. The signed checkpoint is kept verbatim and checked only
    /// by [`Receipt::verify`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = Error::MalformedReceipt;
        let rest = text
            .strip_prefix(RECEIPT_HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(bad("the first line must be c2sp.org/tlog-proof@v1"))?;
        let (mut line, mut rest) = next_line(rest)?;
        let extra = match line.strip_prefix("extra ") {
            Some(b64) => {
                let extra = BASE64
                    .decode(b64)
                    .map_err(|_| bad("the extra data is not valid base64"))?;
                (line, rest) = next_line(rest)?;
                Some(extra)
            }
            None => None,
        };
        let index = line
            .strip_prefix("index ")
            .and_then(parse_index)
            .ok_or(bad(
                "expected a line \"index <decimal without leading zeros>\"",
            ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = next_line(rest)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == PROOF_HASHES_MAX {
                return Err(bad("the inclusion proof has more than 64 hashes"));
            }
            let hash: Hash = BASE64
                .decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(bad("a proof line is not a 32-byte hash in base64"))?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err(bad("the signed checkpoint is missing"));
        }
        Ok(Receipt {
            extra,
            index,
            proof,
            signed_checkpoint: rest.to_owned(),
        })
    }

    /// Verifies the checkpoint's note signature with `verifier`, then the inclusion of
    /// `leaf_hash(entry)` at `index` in the checkpoint's tree. Returns the checkpoint; the
    /// caller checks its origin and, if it tracks the log, its consistency.
    pub fn verify(&self, entry: &[u8], verifier: &NoteVerifier) -> Result<Checkpoint, Error> {
        let text = open_note(&self.signed_checkpoint, std::slice::from_ref(verifier))?;
        let checkpoint = Checkpoint::parse(text)?;
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}

fn next_line(text: &str) -> Result<(&str, &str), Error> {
    text.split_once('\n').ok_or(Error::MalformedReceipt(
        "it ends before the signed checkpoint",
    ))
}

fn parse_index(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = text == "0" || !text.starts_with('0');
    if !(digits_only && canonical) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_parses_and_round_trips() {
        // The c2sp.org/tlog-proof example, shortened: the extra data cut to whole base64
        // quanta, two of its five proof hashes, and one signature line with a stand-in blob
        // (the spec elides the signatures).
        let text = "c2sp.org/tlog-proof@v1\n\
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n\
index 73894\n\
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
\n\
example.com/fancylog\n\
109482\n\
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\
\n\
\u{2014} example.com/fancylog hI2DJwAAAA==\n";
        let receipt = Receipt::parse(text).expect("valid");
        assert_eq!(
            receipt.extra.as_deref(),
            Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
        );
        assert_eq!(receipt.index, 73_894);
        assert_eq!(receipt.proof.len(), 2);
        assert!(
            receipt
                .signed_checkpoint
                .starts_with("example.com/fancylog\n109482\n")
        );
        assert_eq!(receipt.to_text(), text);
    }

    #[test]
    fn malformed_receipts_are_refused() {
        let tail = "\no\n1\nAAAA\n";
        for text in [
            "c2sp.org/tlog-proof@v2\nindex 1\n\no\n",
            "index 1\n\no\n",
            "c2sp.org/tlog-proof@v1\nindex 01\n\no\n",
            "c2sp.org/tlog-proof@v1\nindex -1\n\no\n",
            "c2sp.org/tlog-proof@v1\nindex\n\no\n",
            "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\no\n",
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\no\n",
            "c2sp.org/tlog-proof@v1\nindex 1\n\n",
            "c2sp.org/tlog-proof@v1\nindex 1\n",
            "c2sp.org/tlog-proof@v1\nextra AA==\n",
        ] {
            assert!(Receipt::parse(text).is_err(), "{text:?} parsed");
        }
        assert!(Receipt::parse(&format!("c2sp.org/tlog-proof@v1\nindex 0\n{tail}")).is_ok());
    }
}
