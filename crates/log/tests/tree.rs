//! Properties of the appender, its tiles and the proofs computed from them.

mod common;

use std::collections::BTreeMap;

use common::{
    MemTiles, build, edge_tiles, flip, leaf_data, leaf_hashes, model_inclusion, mth,
    tiles_from_scratch,
};
use jifen_log::{
    Appender, Error, ProofError, TileReader, consistency_proof, empty_root, inclusion_proof,
    leaf_hash, tree_root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

#[test]
fn every_inclusion_proof_of_every_size_verifies() {
    const SIZE_MAX: u64 = 600;
    let (_, mut store) = build(SIZE_MAX, 97);
    let leaves = leaf_hashes(SIZE_MAX);
    for size in 1..=SIZE_MAX {
        let root = tree_root(&mut store, size).expect("stored");
        for index in 0..size {
            let proof = inclusion_proof(&mut store, size, index).expect("stored");
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root)
                .unwrap_or_else(|e| panic!("index {index} of {size}: {e}"));
        }
    }
}

#[test]
fn inclusion_proofs_and_roots_equal_the_rfc6962_definition() {
    const SIZE_MAX: u64 = 70;
    let (_, mut store) = build(SIZE_MAX, 1);
    let leaves = leaf_hashes(SIZE_MAX);
    for size in 0..=SIZE_MAX {
        let prefix = &leaves[..size as usize];
        assert_eq!(tree_root(&mut store, size).expect("stored"), mth(prefix));
        for index in 0..size {
            let proof = inclusion_proof(&mut store, size, index).expect("stored");
            assert_eq!(proof, model_inclusion(index as usize, prefix));
        }
    }
}

#[test]
fn every_consistency_proof_of_every_pair_verifies() {
    const SIZE_MAX: u64 = 300;
    let (_, mut store) = build(SIZE_MAX, 13);
    let roots: Vec<_> = (0..=SIZE_MAX)
        .map(|size| tree_root(&mut store, size).expect("stored"))
        .collect();
    for new in 0..=SIZE_MAX {
        for old in 0..=new {
            let proof = consistency_proof(&mut store, old, new).expect("stored");
            verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &proof)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
    }
}

#[test]
fn flipping_any_byte_of_an_inclusion_proof_root_or_leaf_fails() {
    const SIZE_MAX: u64 = 40;
    let (_, mut store) = build(SIZE_MAX, 1);
    let leaves = leaf_hashes(SIZE_MAX);
    for size in 1..=SIZE_MAX {
        let root = tree_root(&mut store, size).expect("stored");
        for index in 0..size {
            let leaf = leaves[index as usize];
            let proof = inclusion_proof(&mut store, size, index).expect("stored");
            for which in 0..proof.len() {
                for byte in 0..32 {
                    let bad = flip(&proof, which, byte);
                    assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                }
            }
            for byte in 0..32 {
                let bad_root = flip(&[root], 0, byte)[0];
                assert!(verify_inclusion(&leaf, index, size, &proof, &bad_root).is_err());
                let bad_leaf = flip(&[leaf], 0, byte)[0];
                assert!(verify_inclusion(&bad_leaf, index, size, &proof, &root).is_err());
            }
            // A proof one hash short or long, or for a neighbouring index, fails.
            if let Some((_, shorter)) = proof.split_last() {
                assert!(verify_inclusion(&leaf, index, size, shorter, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
            if index + 1 < size {
                assert!(verify_inclusion(&leaf, index + 1, size, &proof, &root).is_err());
            }
        }
    }
}

#[test]
fn flipping_any_byte_of_a_consistency_proof_or_root_fails() {
    const SIZE_MAX: u64 = 40;
    let (_, mut store) = build(SIZE_MAX, 1);
    let roots: Vec<_> = (0..=SIZE_MAX)
        .map(|size| tree_root(&mut store, size).expect("stored"))
        .collect();
    for new in 1..=SIZE_MAX {
        for old in 1..new {
            let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
            let proof = consistency_proof(&mut store, old, new).expect("stored");
            for which in 0..proof.len() {
                for byte in 0..32 {
                    let bad = flip(&proof, which, byte);
                    assert!(
                        verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                        "{old} -> {new}: flipped proof[{which}][{byte}] verified"
                    );
                }
            }
            for byte in 0..32 {
                let bad_old = flip(&[old_root], 0, byte)[0];
                assert!(verify_consistency(old, new, &bad_old, &new_root, &proof).is_err());
                let bad_new = flip(&[new_root], 0, byte)[0];
                assert!(verify_consistency(old, new, &old_root, &bad_new, &proof).is_err());
            }
            assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
            assert!(verify_consistency(old, new, &old_root, &new_root, &proof[1..]).is_err());
        }
        // Equal sizes need equal roots and no proof; size 0 needs the empty root.
        let root = roots[new as usize];
        assert!(verify_consistency(new, new, &root, &root, &[]).is_ok());
        assert!(verify_consistency(new, new, &root, &roots[0], &[]).is_err());
        assert!(verify_consistency(new, new, &root, &root, &[root]).is_err());
        assert!(verify_consistency(0, new, &empty_root(), &root, &[]).is_ok());
        assert!(verify_consistency(0, new, &root, &root, &[]).is_err());
        assert!(verify_consistency(0, new, &empty_root(), &root, &[root]).is_err());
    }
    assert_eq!(
        verify_consistency(3, 2, &roots[3], &roots[2], &[]),
        Err(ProofError::OldSizeLarger {
            old_size: 3,
            new_size: 2
        })
    );
}

#[test]
fn resume_at_every_size_continues_exactly_like_never_stopping() {
    const SIZE_MAX: u64 = 600;
    let leaves = leaf_hashes(SIZE_MAX);
    let (mut reference, mut reference_store) = (Appender::new(), MemTiles::default());
    let mut snapshots = Vec::new();
    for size in 0..=SIZE_MAX {
        reference_store.apply(reference.take_dirty_tiles());
        snapshots.push((reference.root(), reference_store.clone()));
        if size < SIZE_MAX {
            reference.append(leaves[size as usize]);
        }
    }
    reference_store.apply(reference.take_dirty_tiles());

    for (size, (root, store)) in snapshots.into_iter().enumerate() {
        let size = size as u64;
        let mut store = store;
        store.reads.clear();
        let mut resumed = Appender::resume(size, &mut store).expect("stored");
        assert_eq!(resumed.size(), size);
        assert_eq!(resumed.root(), root, "root after resume at {size}");
        // Only the right-edge partial tiles are read, each once.
        let mut reads = store.reads.clone();
        reads.sort();
        assert_eq!(
            reads,
            edge_tiles(size).into_iter().collect::<Vec<_>>(),
            "size {size}"
        );
        assert!(resumed.take_dirty_tiles().is_empty(), "nothing changed yet");
        for leaf in &leaves[size as usize..] {
            resumed.append(*leaf);
            store.apply(resumed.take_dirty_tiles());
        }
        assert_eq!(resumed.root(), reference.root(), "resumed at {size}");
        assert_eq!(store.tiles, reference_store.tiles, "resumed at {size}");
    }
}

#[test]
fn resume_across_level_one_and_two_tile_boundaries() {
    const SIZE_MAX: u64 = 65_536 + 600;
    let (reference, reference_store) = build(SIZE_MAX, 1000);
    let leaves = leaf_hashes(SIZE_MAX);
    for size in [
        65_535,
        65_536,
        65_537,
        65_536 + 255,
        65_536 + 256,
        65_536 + 257,
    ] {
        let (_, mut store) = build(size, 5000);
        store.reads.clear();
        let mut resumed = Appender::resume(size, &mut store).expect("stored");
        assert!(store.reads.len() <= 3, "read {:?}", store.reads);
        for leaf in &leaves[size as usize..] {
            resumed.append(*leaf);
        }
        store.apply(resumed.take_dirty_tiles());
        assert_eq!(resumed.root(), reference.root(), "resumed at {size}");
        assert_eq!(store.tiles, reference_store.tiles, "resumed at {size}");
    }
}

#[test]
fn dirty_tiles_after_every_append_equal_tiles_from_scratch() {
    const SIZE_MAX: u64 = 600;
    let leaves = leaf_hashes(SIZE_MAX);
    let mut appender = Appender::new();
    let mut store = MemTiles::default();
    let mut seen_full = BTreeMap::new();
    for (i, leaf) in leaves.iter().enumerate() {
        appender.append(*leaf);
        let tiles = appender.take_dirty_tiles();
        let keys: Vec<_> = tiles.iter().map(|t| (t.level, t.index)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted by level then index, no duplicates");
        for tile in &tiles {
            assert!((1..=256).contains(&tile.width()));
            if tile.width() == 256 {
                let first = seen_full.insert((tile.level, tile.index), i);
                assert!(first.is_none(), "full tile {:?} emitted twice", tile.path());
            }
        }
        store.apply(tiles);
        assert_eq!(
            store.tiles,
            tiles_from_scratch(&leaves[..=i]),
            "size {}",
            i + 1
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Taking dirty tiles at random moments and applying them always yields the tiles
    /// computed from scratch.
    #[test]
    fn dirty_tiles_in_random_batches_equal_tiles_from_scratch(
        batches in proptest::collection::vec(1u64..700, 1..8),
    ) {
        let mut appender = Appender::new();
        let mut store = MemTiles::default();
        let mut leaves = Vec::new();
        for batch in batches {
            for _ in 0..batch {
                let leaf = leaf_hash(&leaf_data(leaves.len() as u64));
                leaves.push(leaf);
                appender.append(leaf);
            }
            store.apply(appender.take_dirty_tiles());
            prop_assert_eq!(&store.tiles, &tiles_from_scratch(&leaves));
            prop_assert_eq!(appender.root(), mth(&leaves));
        }
    }
}

#[test]
fn proofs_past_the_stored_tree_or_out_of_range_fail() {
    let (_, mut store) = build(300, 1);
    assert!(matches!(
        inclusion_proof(&mut store, 300, 300),
        Err(Error::Proof(ProofError::IndexOutOfRange {
            index: 300,
            tree_size: 300
        }))
    ));
    assert!(matches!(
        consistency_proof(&mut store, 5, 4),
        Err(Error::Proof(ProofError::OldSizeLarger { .. }))
    ));
    // Size 512 needs a full level-0 tile 1 and a level-1 hash the store does not have.
    assert!(tree_root(&mut store, 512).is_err());
    assert!(matches!(
        tree_root(&mut store, 1 << 20),
        Err(Error::TileMissing { .. })
    ));
    assert!(matches!(
        tree_root(&mut store, u64::MAX),
        Err(Error::TreeTooLarge { .. })
    ));
    // A partial tile narrower than the asked size needs: size 299 is stored as width 44.
    assert!(matches!(
        tree_root(&mut store, 301),
        Err(Error::TileTooShort {
            level: 0,
            index: 1,
            ..
        })
    ));
    // A damaged tile (not a whole number of hashes) is refused, not misread.
    store.tiles.get_mut(&(0, 1)).expect("stored").pop();
    assert!(matches!(
        tree_root(&mut store, 300),
        Err(Error::TileTooShort { .. })
    ));
    assert!(Appender::resume(300, &mut store).is_err());
}

#[derive(Debug)]
struct FailingReader;

#[derive(Debug, thiserror::Error)]
#[error("disk on fire")]
struct DiskError;

impl TileReader for FailingReader {
    type Error = DiskError;
    fn read_tile(&mut self, _: u8, _: u64) -> Result<Option<Vec<u8>>, DiskError> {
        Err(DiskError)
    }
}

#[test]
fn reader_errors_are_reported_with_the_tile() {
    let err = tree_root(&mut FailingReader, 5).expect_err("reader fails");
    assert!(matches!(
        err,
        Error::TileRead {
            level: 0,
            index: 0,
            ..
        }
    ));
    let source = std::error::Error::source(&err).expect("has a source");
    assert_eq!(source.to_string(), "disk on fire");
    assert!(Appender::resume(5, &mut FailingReader).is_err());
    // The empty tree needs no tiles.
    assert_eq!(
        tree_root(&mut FailingReader, 0).expect("no reads"),
        empty_root()
    );
    assert_eq!(
        Appender::resume(0, &mut FailingReader)
            .expect("no reads")
            .root(),
        empty_root()
    );
}
