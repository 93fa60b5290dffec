//! The jifen transparency log: an RFC 6962 Merkle tree stored as C2SP tiles, its proofs,
//! checkpoints, signed notes, entry bundles and offline-verifiable receipts.
//!
//! Everything here is pure computation. The crate does no I/O: tiles come in through the
//! [`TileReader`] trait and go out as [`Tile`] values for the caller to persist. Nothing
//! public derives `serde`; the text formats below are the wire formats and are written by
//! hand, because each is a compatibility promise to outside verifiers.
//!
//! # Layout
//!
//! - `hash`: RFC 6962 leaf and node hashing ([`leaf_hash`], [`node_hash`], [`empty_root`]).
//! - `tree`: [`Appender`], an incremental compact range that appends leaves in O(1)
//!   amortised hashes and emits the tiles that changed.
//! - `tiles`: the [`TileReader`] trait, [`Tile`], and C2SP tlog-tiles paths.
//! - `proof`: root, inclusion and consistency proofs computed from stored tiles, and their
//!   verification (RFC 6962 §2.1 / RFC 9162 §2.1).
//! - `checkpoint`: the C2SP tlog-checkpoint note body, and [`sign_checkpoint_after`], which
//!   refuses to sign a fork.
//! - `note`: C2SP signed notes with Ed25519 keys.
//! - `bundle`: C2SP entry bundles.
//! - `receipt`: C2SP tlog-proof@v1 receipts.
//! - `witness`: C2SP tlog-cosignature (Ed25519 `cosignature/v1`) and tlog-witness's
//!   `add-checkpoint` request and rules.
//! - `error`: [`Error`] and [`ProofError`].
//!
//! # Invariants
//!
//! - `log` knows nothing of files, databases, HTTP or async.
//! - Every text or binary format is parsed strictly: a value that parses re-encodes to the
//!   same bytes.

mod bundle;
mod checkpoint;
mod error;
mod hash;
mod note;
mod proof;
mod receipt;
mod tiles;
mod tree;
mod witness;

pub use bundle::{
    ENTRY_BUNDLE_ENTRIES_MAX, ENTRY_BYTES_MAX, decode_entry_bundle, encode_entry_bundle,
};
pub use checkpoint::{Checkpoint, sign_checkpoint_after};
pub use error::{Error, ProofError};
pub use hash::{HASH_BYTES, Hash, empty_root, leaf_hash, node_hash};
pub use note::{
    NOTE_BYTES_MAX, NOTE_SIGNATURES_MAX, NoteSigner, NoteVerifier, SIGNATURE_TYPE_ED25519,
    open_note,
};
pub use proof::{
    consistency_proof, inclusion_proof, tree_root, verify_consistency, verify_inclusion,
};
pub use receipt::{RECEIPT_HEADER, Receipt};
pub use tiles::{
    TILE_HEIGHT, TILE_LEVEL_MAX, TILE_WIDTH, Tile, TilePath, TileReader, entries_path,
    parse_tile_path, tile_path,
};
pub use tree::Appender;
pub use witness::{
    AddCheckpoint, CONSISTENCY_PROOF_LINES_MAX, Cosignature, CosignatureVerifier, Cosigner,
    SIGNATURE_TYPE_COSIGNATURE_V1, VerifiedCheckpoint, WitnessRefusal, check_add_checkpoint,
    cosignature_message, parse_size_body, verify_add_checkpoint, verify_cosignature_lines,
    verify_cosignatures,
};
