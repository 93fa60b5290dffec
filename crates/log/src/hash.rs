//! RFC 6962 §2.1 hashing with SHA-256.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// Bytes in one hash; tiles and proofs are concatenations of these.
pub const HASH_BYTES: usize = 32;

/// Domain separation prefix for leaves (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix for interior nodes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/// Bytes of a SHA-256 block.
const SHA256_BLOCK_BYTES: usize = 64;
/// Bits of an interior node's preimage: prefix, left, right (65 bytes).
const NODE_PREIMAGE_BITS: u64 = (1 + 2 * HASH_BYTES as u64) * 8;

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
///
/// Node hashing is the inner loop of every proof computed from tiles (up to 255 hashes per
/// level-0 tile touched), so the fixed 65-byte preimage is padded here (FIPS 180-4 §5.1.1)
/// into exactly two blocks and fed to SHA-256's compression function, skipping the
/// streaming buffer (which, being inlined into this crate, is also unoptimised in test
/// builds). `node_hash_matches_streaming_sha256` checks it against `Sha256` itself.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // Block 0: the prefix, all of `left`, the first 31 bytes of `right`. Block 1: the last
    // byte of `right`, then padding: a 1 bit, zeros, and the length in bits (big-endian).
    let mut blocks = [[0u8; SHA256_BLOCK_BYTES]; 2];
    blocks[0][0] = NODE_PREFIX;
    blocks[0][1..=HASH_BYTES].copy_from_slice(left);
    blocks[0][1 + HASH_BYTES..].copy_from_slice(&right[..HASH_BYTES - 1]);
    blocks[1][0] = right[HASH_BYTES - 1];
    blocks[1][1] = 0x80;
    blocks[1][SHA256_BLOCK_BYTES - 8..].copy_from_slice(&NODE_PREIMAGE_BITS.to_be_bytes());
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut out = [0u8; HASH_BYTES];
    out.copy_from_slice(state.map(u32::to_be_bytes).as_flattened());
    out
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Folds the perfect subtrees of a range, given left to right with strictly decreasing
/// sizes, into the RFC 6962 Merkle Tree Hash of the range. `None` for no subtrees.
pub(crate) fn fold_subtrees(subtrees: &[Hash]) -> Option<Hash> {
    let (last, rest) = subtrees.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    )
}

/// Hashes `hashes` (a power-of-two count of adjacent siblings) up to their common ancestor.
pub(crate) fn perfect_subtree(hashes: &[Hash]) -> Hash {
    assert!(
        hashes.len().is_power_of_two(),
        "a perfect subtree has a power-of-two number of leaves"
    );
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_hash_of_empty_leaf_matches_rfc6962_test_vector() {
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn node_hash_matches_rfc6962_test_vector() {
        // Leaves "" and 0x00 of the standard test tree hash to its level-1 node 0.
        let root = node_hash(&leaf_hash(b""), &leaf_hash(&[0x00]));
        assert_eq!(
            hex(&root),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }

    #[test]
    fn node_hash_matches_streaming_sha256() {
        let mut left = [0u8; 32];
        let mut right = [0xffu8; 32];
        for round in 0..200u8 {
            let mut hasher = Sha256::new();
            hasher.update([NODE_PREFIX]);
            hasher.update(left);
            hasher.update(right);
            let streamed: Hash = hasher.finalize().into();
            assert_eq!(node_hash(&left, &right), streamed, "round {round}");
            left = leaf_hash(&[round]);
            right = streamed;
        }
    }

    #[test]
    fn fold_and_perfect_subtree_agree_on_a_power_of_two() {
        let leaves: Vec<Hash> = (0u8..4).map(|i| leaf_hash(&[i])).collect();
        let pairs = [
            node_hash(&leaves[0], &leaves[1]),
            node_hash(&leaves[2], &leaves[3]),
        ];
        assert_eq!(perfect_subtree(&leaves), node_hash(&pairs[0], &pairs[1]));
        assert_eq!(fold_subtrees(&[]), None);
        assert_eq!(fold_subtrees(&leaves[..1]), Some(leaves[0]));
    }
}
