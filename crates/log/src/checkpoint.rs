//! C2SP checkpoints (c2sp.org/tlog-checkpoint): the note body a log signs for each tree
//! head, and the rule that a log never signs two checkpoints that fork.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::Error;
use crate::hash::Hash;
use crate::note::NoteSigner;
use crate::proof::verify_consistency;

/// Lines a checkpoint body may have: origin, size, root, and extension lines. A note is
/// at most [`crate::NOTE_BYTES_MAX`] bytes anyway; this bounds the work of parsing.
const CHECKPOINT_LINES_MAX: usize = 1024;

/// A checkpoint body: `"<origin>\n<size>\n<base64 root>\n"` and any extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, conventionally its URL prefix without the scheme.
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// The RFC 6962 root of the tree.
    pub root: Hash,
    /// Opaque, non-empty lines after the root (not recommended by the spec).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text of this checkpoint, ending in "\n".
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint body strictly: a non-empty origin, a size in decimal without
    /// leading zeros, a base64 root of 32 bytes, non-empty extension lines, every line
    /// ending in "\n".
    pub fn parse(text: &str) -> Result<Self, Error> {
        let body = text
            .strip_suffix('\n')
            .ok_or(Error::MalformedCheckpoint("it does not end in a newline"))?;
        if text.bytes().any(|b| b < b' ' && b != b'\n') {
            return Err(Error::MalformedCheckpoint(
                "it holds a control character other than newline",
            ));
        }
        let lines: Vec<&str> = body.split('\n').take(CHECKPOINT_LINES_MAX + 1).collect();
        if lines.len() > CHECKPOINT_LINES_MAX {
            return Err(Error::MalformedCheckpoint("it has more than 1024 lines"));
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(Error::MalformedCheckpoint(
                "it needs an origin, a size and a root hash line",
            ));
        };
        if origin.is_empty() {
            return Err(Error::MalformedCheckpoint("the origin line is empty"));
        }
        let size = parse_size(size).ok_or(Error::MalformedCheckpoint(
            "the size must be a decimal number without leading zeros",
        ))?;
        let root: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(Error::MalformedCheckpoint(
                "the root hash must be 32 bytes in standard base64",
            ))?;
        if extensions.iter().any(|line| line.is_empty()) {
            return Err(Error::MalformedCheckpoint("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|line| (*line).to_owned()).collect(),
        })
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = text == "0" || !text.starts_with('0');
    if !(digits_only && canonical) {
        return None;
    }
    text.parse().ok()
}

/// Signs `next` only if it extends `last`: same origin, size at least the last size, and
/// `proof` a valid consistency proof from `last` to `next` (equal sizes need equal roots).
///
/// This is how the log refuses to sign a fork, e.g. after an old backup is restored.
pub fn sign_checkpoint_after(
    signer: &NoteSigner,
    last: Option<&Checkpoint>,
    next: &Checkpoint,
    proof: &[Hash],
) -> Result<String, Error> {
    if let Some(last) = last {
        if last.origin != next.origin {
            return Err(Error::OriginChanged {
                last: last.origin.clone(),
                next: next.origin.clone(),
            });
        }
        if next.size < last.size {
            return Err(Error::SizeDecreased {
                last: last.size,
                next: next.size,
            });
        }
        if next.size == last.size && next.root != last.root {
            return Err(Error::RootChanged { size: next.size });
        }
        verify_consistency(last.size, next.size, &last.root, &next.root, proof).map_err(
            |source| Error::Inconsistent {
                old_size: last.size,
                new_size: next.size,
                source,
            },
        )?;
    }
    // Round-trip through the parser so a checkpoint with a bad origin or extension line
    // is never signed.
    let text = next.to_text();
    if Checkpoint::parse(&text)? != *next {
        return Err(Error::MalformedCheckpoint(
            "an origin or extension line holds a newline",
        ));
    }
    signer.sign(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[track_caller]
    fn check_bad(text: &str) {
        assert!(Checkpoint::parse(text).is_err(), "{text:?} parsed");
    }

    #[test]
    fn go_sumdb_tree_note_round_trips() {
        // golang.org/x/mod/sumdb/tlog note_test.go TestFormatTree.
        let text =
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
        let checkpoint = Checkpoint::parse(text).expect("valid");
        assert_eq!(checkpoint.origin, "go.sum database tree");
        assert_eq!(checkpoint.size, 123_456_789_012);
        assert_eq!(checkpoint.root, leaf_hash(b"hello world"));
        assert!(checkpoint.extensions.is_empty());
        assert_eq!(checkpoint.to_text(), text);
    }

    #[test]
    fn extensions_and_empty_tree_round_trip() {
        let text =
            "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n— two\n";
        let checkpoint = Checkpoint::parse(text).expect("valid");
        assert_eq!(checkpoint.size, 0);
        assert_eq!(checkpoint.root, crate::hash::empty_root());
        assert_eq!(checkpoint.extensions, ["ext one", "— two"]);
        assert_eq!(checkpoint.to_text(), text);
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let root = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
        check_bad(&format!("o\n1\n{root}")); // no final newline
        check_bad(&format!("\n1\n{root}\n")); // empty origin
        check_bad("o\n1\n");
        check_bad(&format!("o\n01\n{root}\n"));
        check_bad(&format!("o\n+1\n{root}\n"));
        check_bad(&format!("o\n-1\n{root}\n"));
        check_bad(&format!("o\n0x1\n{root}\n"));
        check_bad(&format!("o\n\n{root}\n"));
        check_bad(&format!("o\n18446744073709551616\n{root}\n"));
        check_bad("o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n");
        check_bad("o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n"); // no padding
        check_bad("o\n1\nAAAA\n"); // 3 bytes
        check_bad(&format!("o\n1\n{root}\n\n")); // empty extension line
        check_bad(&format!("o\n1\n{root}\n\next\n"));
        check_bad(&format!("o\r\n1\n{root}\n"));
    }
}
