//! Errors. [`ProofError`] says why a proof did not verify; [`Error`] covers everything else.

/// Why a Merkle proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// A consistency proof was asked to go from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeLarger { old_size: u64, new_size: u64 },
    /// The proof has the wrong number of hashes for the sizes and index given.
    #[error("proof has {actual} hashes, but these sizes need exactly {expected}")]
    WrongLength { expected: usize, actual: usize },
    /// The proof does not lead to the root (of the new tree, for consistency proofs).
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    /// The consistency proof does not lead to the old tree's root.
    #[error("consistency proof does not lead to the old tree's root hash")]
    OldRootMismatch,
}

/// Everything else that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tile store failed.
    #[error("reading tile level {level} index {index} failed")]
    TileRead {
        level: u8,
        index: u64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A tile the tree size needs is not in the store.
    #[error(
        "tile level {level} index {index} is missing; is the tree size larger than what was stored?"
    )]
    TileMissing { level: u8, index: u64 },
    /// A stored tile is malformed or narrower than the tree size needs.
    #[error(
        "tile level {level} index {index} holds {bytes} bytes, but {hashes_needed} hashes of 32 bytes (at most 256) are needed"
    )]
    TileTooShort {
        level: u8,
        index: u64,
        bytes: usize,
        hashes_needed: u64,
    },
    /// The tree is larger than this crate supports.
    #[error("tree size {tree_size} is over the supported maximum of 2^63 leaves")]
    TreeTooLarge { tree_size: u64 },
    /// A proof was asked for an index outside the tree, or between sizes out of order.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A tile path did not follow c2sp.org/tlog-tiles.
    #[error("malformed tile path {path:?}: {reason}")]
    MalformedTilePath { path: String, reason: &'static str },
    /// An entry is too large for an entry bundle.
    #[error("entry {index} is {bytes} bytes; entry bundles hold entries of at most 65,535 bytes")]
    EntryTooLarge { index: usize, bytes: usize },
    /// An entry bundle holds more entries than a tile.
    #[error("entry bundle holds more than 256 entries")]
    TooManyEntries,
    /// An entry bundle's bytes did not parse.
    #[error("malformed entry bundle: {0}")]
    MalformedEntryBundle(&'static str),
    /// A checkpoint body did not follow c2sp.org/tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name is empty or holds a space, a `+` or a control character.
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidKeyName(String),
    /// A verifier key did not parse as `<name>+<8 hex key ID>+<base64(0x01 || public key)>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key's key ID does not match its name and public key.
    #[error(
        "verifier key for {name:?} says key ID {claimed:08x}, but its name and key hash to {actual:08x}"
    )]
    KeyIdMismatch {
        name: String,
        claimed: u32,
        actual: u32,
    },
    /// Text to sign is not valid signed-note text.
    #[error("cannot sign this text: {0}")]
    InvalidNoteText(&'static str),
    /// A signed note did not follow c2sp.org/signed-note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A signed note is larger than [`crate::NOTE_BYTES_MAX`].
    #[error("note is {bytes} bytes, over the limit of {limit} bytes")]
    NoteTooLarge { bytes: usize, limit: usize },
    /// Two of the given verifiers have the same name and key ID.
    #[error("ambiguous key {name}+{key_id:08x}: more than one verifier has this name and key ID")]
    AmbiguousKey { name: String, key_id: u32 },
    /// A signature by a known key is invalid, so the note is rejected whole.
    #[error("invalid signature by known key {name}+{key_id:08x}")]
    BadSignature { name: String, key_id: u32 },
    /// No signature on the note is by a known key.
    #[error("note has no signature by any known key")]
    NoKnownSignature,
    /// Refused to sign a checkpoint for a different origin than the last one.
    #[error(
        "refusing to sign: checkpoint origin {next:?} differs from the last signed origin {last:?}"
    )]
    OriginChanged { last: String, next: String },
    /// Refused to sign a checkpoint smaller than the last one.
    #[error(
        "refusing to sign: tree size {next} is smaller than the last signed size {last} (was an old backup restored?)"
    )]
    SizeDecreased { last: u64, next: u64 },
    /// Refused to sign a different root at the same size: that would be a fork.
    #[error(
        "refusing to sign: tree size {size} was already signed with a different root (was an old backup restored?)"
    )]
    RootChanged { size: u64 },
    /// Refused to sign a checkpoint that does not extend the last one.
    #[error(
        "refusing to sign: tree size {new_size} is not consistent with the last signed size {old_size}"
    )]
    Inconsistent {
        old_size: u64,
        new_size: u64,
        #[source]
        source: ProofError,
    },
    /// An `add-checkpoint` request body did not follow c2sp.org/tlog-witness.
    #[error("malformed add-checkpoint request: {0}")]
    MalformedWitnessRequest(&'static str),
    /// A receipt did not follow c2sp.org/tlog-proof@v1.
    #[error("malformed receipt: {0}")]
    MalformedReceipt(&'static str),
}
