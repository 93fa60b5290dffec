//! Roots, inclusion proofs and consistency proofs computed from stored tiles (RFC 6962
//! §2.1), and their verification (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Proofs work for any tree size up to the stored size: a stored tile at least as wide as
//! a smaller tree needs holds every hash that tree needs, since tile hashes never change.

use crate::error::{Error, ProofError};
use crate::hash::{Hash, empty_root, fold_subtrees, node_hash};
use crate::tiles::{TileCache, TileReader};

/// The largest tree the proofs handle: 2^63 leaves keeps every shift in range.
const TREE_SIZE_MAX: u64 = 1 << 63;

/// The RFC 6962 Merkle Tree Hash of the first `tree_size` leaves, from stored tiles.
pub fn tree_root<R: TileReader>(reader: &mut R, tree_size: u64) -> Result<Hash, Error> {
    check_size(tree_size)?;
    if tree_size == 0 {
        return Ok(empty_root());
    }
    TileCache::new(reader).range_hash(0, tree_size)
}

/// The inclusion proof (RFC 6962 §2.1.1 `PATH`) of leaf `index` in the tree of the first
/// `tree_size` leaves, from the leaf's sibling up.
pub fn inclusion_proof<R: TileReader>(
    reader: &mut R,
    tree_size: u64,
    index: u64,
) -> Result<Vec<Hash>, Error> {
    check_size(tree_size)?;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size }.into());
    }
    let mut proof = Vec::new();
    TileCache::new(reader).path(index, 0, tree_size, &mut proof)?;
    Ok(proof)
}

/// The consistency proof (RFC 6962 §2.1.2 `PROOF`) that the first `old_size` leaves are a
/// prefix of the first `new_size`. Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<R: TileReader>(
    reader: &mut R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, Error> {
    check_size(new_size)?;
    if old_size > new_size {
        return Err(ProofError::OldSizeLarger { old_size, new_size }.into());
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < new_size {
        TileCache::new(reader).subproof(old_size, 0, new_size, true, &mut proof)?;
    }
    Ok(proof)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves with `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let expected = inclusion_proof_len(index, tree_size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            actual: proof.len(),
        });
    }
    // RFC 9162 §2.1.3.2.
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                actual: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with `old_root` is a prefix of the tree of
/// `new_size` leaves with `new_root`.
///
/// Equal sizes need equal roots and an empty proof. Old size 0 needs the empty root and an
/// empty proof: every tree extends the empty tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeLarger { old_size, new_size });
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            actual: proof.len(),
        });
    }
    if old_size == 0 {
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(ProofError::OldRootMismatch)
        };
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // RFC 9162 §2.1.4.2. When the old tree is a perfect subtree, its root is the proof's
    // implicit first element.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (first, rest) = path.split_first().ok_or(ProofError::WrongLength {
        expected,
        actual: proof.len(),
    })?;
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                actual: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sn != 0 || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

fn check_size(tree_size: u64) -> Result<(), Error> {
    if tree_size > TREE_SIZE_MAX {
        return Err(Error::TreeTooLarge { tree_size });
    }
    Ok(())
}

/// The largest power of two strictly below `n` (RFC 6962's `k`), for `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// Hashes in the inclusion proof of `index` in a tree of `tree_size` leaves.
fn inclusion_proof_len(index: u64, tree_size: u64) -> usize {
    let (mut m, mut n, mut len) = (index, tree_size, 0);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// Hashes in the consistency proof from `old_size` to `new_size` leaves.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    if old_size == 0 || old_size >= new_size {
        return 0;
    }
    let (mut m, mut n, mut len, mut whole) = (old_size, new_size, 0, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            whole = false;
        }
        len += 1;
    }
    len + usize::from(!whole)
}

impl<R: TileReader> TileCache<'_, R> {
    /// The Merkle Tree Hash of leaves `lo .. hi`, where `lo` is a multiple of a power of
    /// two at least `hi - lo` (true of every range RFC 6962's recursions name).
    fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, Error> {
        debug_assert!(lo < hi);
        debug_assert!(lo == 0 || (hi - lo).next_power_of_two() <= 1 << lo.trailing_zeros());
        let mut subtrees = Vec::new();
        let mut start = lo;
        while start < hi {
            let height = u64::BITS - 1 - (hi - start).leading_zeros();
            subtrees.push(self.subtree(height, start >> height)?);
            start += 1 << height;
        }
        Ok(fold_subtrees(&subtrees).expect("lo < hi gives at least one subtree"))
    }

    /// RFC 6962 `PATH(m, D[lo:hi])`, appended to `out`.
    fn path(&mut self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), Error> {
        let n = hi - lo;
        if n <= 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.path(m - k, lo + k, hi, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }

    /// RFC 6962 `SUBPROOF(m, D[lo:hi], whole)`, appended to `out`.
    fn subproof(
        &mut self,
        m: u64,
        lo: u64,
        hi: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), Error> {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(self.range_hash(lo, hi)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, lo + k, whole, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn proof_lengths_match_rfc6962_examples() {
        // RFC 6962 §2.1.3: in the 7-leaf example tree, the proof for d0 is [b, h, l] and
        // for d3 is [c, g, l]; consistency from 3 to 7 is [c, d, g, l], from 4 to 7 is
        // [l], from 6 to 7 is [i, j, k].
        assert_eq!(inclusion_proof_len(0, 7), 3);
        assert_eq!(inclusion_proof_len(3, 7), 3);
        assert_eq!(inclusion_proof_len(6, 7), 2);
        assert_eq!(consistency_proof_len(3, 7), 4);
        assert_eq!(consistency_proof_len(4, 7), 1);
        assert_eq!(consistency_proof_len(6, 7), 3);
        assert_eq!(consistency_proof_len(7, 7), 0);
        assert_eq!(consistency_proof_len(0, 7), 0);
    }
}
