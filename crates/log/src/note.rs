//! C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.
//!
//! A signed note is a text ending in a newline, a blank line, then one or more lines
//! `— <key name> <base64(4-byte key ID || signature)>`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The signature type byte of Ed25519 note signatures.
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;
/// The largest signed note this crate opens or signs.
pub const NOTE_BYTES_MAX: usize = 1 << 20;
/// The most signature lines a note may carry (the spec asks verifiers to accept at least
/// 16; Go's note package allows 100).
pub const NOTE_SIGNATURES_MAX: usize = 100;

/// What starts every signature line: an em dash (U+2014) and a space.
pub(crate) const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// Bytes of the key ID that starts each signature.
pub(crate) const KEY_ID_BYTES: usize = 4;
/// Bytes of an Ed25519 public key.
const ED25519_PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of an Ed25519 signature.
pub(crate) const ED25519_SIGNATURE_BYTES: usize = 64;

/// Signs notes with an Ed25519 key under a key name.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

/// Debug shows the name and key ID, never the private key.
impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name`, which must be non-empty and hold no spaces, `+` or control
    /// characters.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, Error> {
        check_key_name(name)?;
        let key_id = key_id(name, &key.verifying_key());
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first four bytes of SHA-256(name || "\n" || 0x01 || public key), big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier key: `<name>+<8 hex key ID>+<base64(0x01 || public key)>`.
    pub fn vkey(&self) -> String {
        let mut key = vec![SIGNATURE_TYPE_ED25519];
        key.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(key))
    }

    /// A verifier for this signer's key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` and returns the whole signed note. `text` must end in a newline and
    /// hold no control characters other than newlines.
    pub fn sign(&self, text: &str) -> Result<String, Error> {
        if !text.ends_with('\n') {
            return Err(Error::InvalidNoteText("it must end in a newline"));
        }
        if has_forbidden_control(text) {
            return Err(Error::InvalidNoteText(
                "it holds a control character other than newline",
            ));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(KEY_ID_BYTES + ED25519_SIGNATURE_BYTES);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        let note = format!(
            "{text}\n{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        );
        if note.len() > NOTE_BYTES_MAX {
            return Err(Error::NoteTooLarge {
                bytes: note.len(),
                limit: NOTE_BYTES_MAX,
            });
        }
        Ok(note)
    }
}

/// Verifies note signatures by one Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>`,
    /// checking that the key ID matches the name and key.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let (name, key_id, key) = parse_vkey(
            vkey,
            SIGNATURE_TYPE_ED25519,
            "only Ed25519 note keys (signature type 0x01) are supported here",
        )?;
        Ok(NoteVerifier { name, key_id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text.as_bytes(), &signature).is_ok()
    }
}

/// Opens a signed note: at least one signature by a known verifier must be valid.
/// Signatures by unknown keys (name and key ID not both matching a verifier) are ignored,
/// as the spec says; an invalid signature by a known key rejects the whole note.
///
/// Returns the note text: the signed body, ending in "\n".
pub fn open_note<'a>(note: &'a str, verifiers: &[NoteVerifier]) -> Result<&'a str, Error> {
    let (text, lines) = split_note(note)?;
    let mut verified = 0usize;
    for (count, line) in lines.split('\n').enumerate() {
        if count == NOTE_SIGNATURES_MAX {
            return Err(Error::MalformedNote("it has more than 100 signatures"));
        }
        let (name, key_id, signature) = parse_signature_line(line)?;
        let mut known = verifiers
            .iter()
            .filter(|v| v.name == name && v.key_id == key_id);
        let Some(verifier) = known.next() else {
            continue;
        };
        if known.any(|other| other != verifier) {
            return Err(Error::AmbiguousKey {
                name: name.to_owned(),
                key_id,
            });
        }
        if !verifier.verify(text, signature.as_slice()) {
            return Err(Error::BadSignature {
                name: name.to_owned(),
                key_id,
            });
        }
        verified += 1;
    }
    if verified == 0 {
        return Err(Error::NoKnownSignature);
    }
    Ok(text)
}

pub(crate) fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), Error> {
    let rest = line
        .strip_prefix(SIGNATURE_LINE_PREFIX)
        .ok_or(Error::MalformedNote(
            "a signature line does not start with an em dash and a space",
        ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(Error::MalformedNote("a signature line has no signature"))?;
    if !is_valid_key_name(name) {
        return Err(Error::MalformedNote(
            "a signature line has an invalid key name",
        ));
    }
    let blob = BASE64
        .decode(b64)
        .map_err(|_| Error::MalformedNote("a signature is not valid base64"))?;
    if blob.len() <= KEY_ID_BYTES {
        return Err(Error::MalformedNote(
            "a signature is too short to hold a key ID",
        ));
    }
    let (id, signature) = blob.split_at(KEY_ID_BYTES);
    let key_id = u32::from_be_bytes(id.try_into().expect("split at 4 bytes"));
    Ok((name, key_id, signature.to_vec()))
}

/// SHA-256(name || "\n" || 0x01 || public key), first four bytes, big-endian.
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    typed_key_id(name, SIGNATURE_TYPE_ED25519, key)
}

/// SHA-256(name || "\n" || type || public key), first four bytes, big-endian.
pub(crate) fn typed_key_id(name: &str, signature_type: u8, key: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([signature_type]);
    hasher.update(key.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    u32::from_be_bytes(
        digest[..KEY_ID_BYTES]
            .try_into()
            .expect("a SHA-256 digest is longer than 4 bytes"),
    )
}

/// Parses a verifier key `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>`,
/// checking its type and that the key ID matches the name and key.
pub(crate) fn parse_vkey(
    vkey: &str,
    signature_type: u8,
    wrong_type: &'static str,
) -> Result<(String, u32, VerifyingKey), Error> {
    let (name, rest) = vkey
        .split_once('+')
        .ok_or(Error::MalformedVerifierKey("no '+' after the key name"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(Error::MalformedVerifierKey("no '+' after the key ID"))?;
    check_key_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedVerifierKey(
            "the key ID must be 8 hexadecimal digits",
        ));
    }
    let claimed = u32::from_str_radix(id_hex, 16)
        .map_err(|_| Error::MalformedVerifierKey("the key ID must be 8 hexadecimal digits"))?;
    let key = BASE64
        .decode(key_b64)
        .map_err(|_| Error::MalformedVerifierKey("the key is not valid base64"))?;
    let (&found_type, public) = key
        .split_first()
        .ok_or(Error::MalformedVerifierKey("the key is empty"))?;
    if found_type != signature_type {
        return Err(Error::MalformedVerifierKey(wrong_type));
    }
    let public: &[u8; ED25519_PUBLIC_KEY_BYTES] = public
        .try_into()
        .map_err(|_| Error::MalformedVerifierKey("an Ed25519 public key must be 32 bytes"))?;
    let key = VerifyingKey::from_bytes(public)
        .map_err(|_| Error::MalformedVerifierKey("the bytes are not a valid Ed25519 public key"))?;
    let actual = typed_key_id(name, signature_type, &key);
    if actual != claimed {
        return Err(Error::KeyIdMismatch {
            name: name.to_owned(),
            claimed,
            actual,
        });
    }
    Ok((name.to_owned(), claimed, key))
}

/// A note's text (ending in "\n") and its signature lines (without the last newline),
/// split at the last empty line, after the size and character checks every note gets.
pub(crate) fn split_note(note: &str) -> Result<(&str, &str), Error> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(Error::NoteTooLarge {
            bytes: note.len(),
            limit: NOTE_BYTES_MAX,
        });
    }
    if has_forbidden_control(note) {
        return Err(Error::MalformedNote(
            "it holds a control character other than newline",
        ));
    }
    let signatures = note
        .strip_suffix('\n')
        .ok_or(Error::MalformedNote("it does not end in a newline"))?;
    // The text is separated from the signatures by the last empty line.
    let split = signatures.rfind("\n\n").ok_or(Error::MalformedNote(
        "it has no blank line before the signatures",
    ))?;
    Ok((&note[..=split], &signatures[split + 2..]))
}

fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

pub(crate) fn check_key_name(name: &str) -> Result<(), Error> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidKeyName(name.to_owned()))
    }
}

/// The spec forbids ASCII control characters (below U+0020) other than newline.
pub(crate) fn has_forbidden_control(text: &str) -> bool {
    text.bytes().any(|b| b < b' ' && b != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_the_spec() {
        assert!(is_valid_key_name("example.com/log"));
        assert!(is_valid_key_name("PeterNeumann"));
        assert!(!is_valid_key_name(""));
        assert!(!is_valid_key_name("a b"));
        assert!(!is_valid_key_name("a+b"));
        assert!(!is_valid_key_name("a\tb"));
        assert!(!is_valid_key_name("a\u{00a0}b")); // no-break space is a Unicode space
        assert!(!is_valid_key_name("a\u{3000}b")); // ideographic space
        assert!(!is_valid_key_name("a\u{1}b"));
    }

    #[test]
    fn two_keys_with_one_name_and_key_id_are_ambiguous() {
        let signer = NoteSigner::new("k", SigningKey::from_bytes(&[1; 32])).expect("valid name");
        let note = signer.sign("text\n").expect("valid text");
        let real = signer.verifier();
        // A colliding key ID is 2^32 work to find, so forge the verifier directly.
        let impostor = NoteVerifier {
            key: SigningKey::from_bytes(&[2; 32]).verifying_key(),
            ..real.clone()
        };
        assert!(matches!(
            open_note(&note, &[real.clone(), impostor]),
            Err(Error::AmbiguousKey { .. })
        ));
        assert!(open_note(&note, &[real.clone(), real]).is_ok());
    }

    #[test]
    fn signer_debug_hides_the_private_key() {
        let signer = NoteSigner::new("k", SigningKey::from_bytes(&[7; 32])).expect("valid name");
        let debug = format!("{signer:?}");
        assert!(debug.contains("\"k\""), "{debug}");
        assert!(!debug.contains("7, 7"), "{debug}");
    }
}
