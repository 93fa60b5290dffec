//! ct-merkle 0.3 as an oracle: roots and proofs computed from our tiles equal or verify
//! against an independent RFC 6962 implementation.

mod common;

use common::{MemTiles, build, leaf_data};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use jifen_log::{
    Hash, consistency_proof, inclusion_proof, tree_root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::Sha256;

type Oracle = MemoryBackedTree<Sha256, Vec<u8>>;

fn oracle(n: u64) -> Oracle {
    let mut tree = Oracle::new();
    for i in 0..n {
        tree.push(leaf_data(i));
    }
    tree
}

fn oracle_root(tree: &Oracle) -> Hash {
    (*tree.root().as_bytes()).into()
}

fn concat(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

/// Checks the root, one inclusion proof and one consistency proof of the first `n` leaves
/// against the oracle, using a store that may hold a larger tree.
fn check_against_oracle(store: &mut MemTiles, n: u64, index: u64, old: u64) {
    let tree = oracle(n);
    let root = tree_root(store, n).expect("stored");
    assert_eq!(root, oracle_root(&tree), "root of {n}");

    if n > 0 {
        let index = index % n;
        let ours = inclusion_proof(store, n, index).expect("stored");
        let theirs = tree.prove_inclusion(index as usize);
        assert_eq!(concat(&ours), theirs.as_bytes(), "inclusion {index} in {n}");
        // Both verifiers accept ours.
        let proof = InclusionProof::<Sha256>::from_bytes(concat(&ours));
        tree.root()
            .verify_inclusion(&leaf_data(index), index, &proof)
            .expect("ct-merkle accepts our inclusion proof");
        let leaf = jifen_log::leaf_hash(&leaf_data(index));
        verify_inclusion(&leaf, index, n, &ours, &root).expect("we accept our proof");
    }

    if n > 1 {
        let old = 1 + old % (n - 1); // 1 ..= n-1: ct-merkle needs a non-empty old tree.
        let old_root = tree_root(store, old).expect("stored");
        assert_eq!(old_root, oracle_root(&oracle(old)), "root of {old}");
        let ours = consistency_proof(store, old, n).expect("stored");
        let theirs = tree.prove_consistency((n - old) as usize);
        assert_eq!(concat(&ours), theirs.as_bytes(), "consistency {old} -> {n}");
        let proof =
            ConsistencyProof::<Sha256>::try_from_bytes(concat(&ours)).expect("whole hashes");
        let old_ct = RootHash::<Sha256>::new(old_root.into(), old);
        tree.root()
            .verify_consistency(&old_ct, &proof)
            .expect("ct-merkle accepts our consistency proof");
        verify_consistency(old, n, &old_root, &root, &ours).expect("we accept our proof");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Sizes up to 3000 cross level-1 tiles and leave partial tiles at levels 0 and 1.
    #[test]
    fn roots_and_proofs_match_ct_merkle(
        n in 0u64..3000,
        index in any::<u64>(),
        old in any::<u64>(),
        batch in 1u64..600,
    ) {
        let (appender, mut store) = build(n, batch);
        prop_assert_eq!(appender.root(), oracle_root(&oracle(n)));
        check_against_oracle(&mut store, n, index, old);
    }

    /// A store holding a larger tree serves every smaller tree.
    #[test]
    fn smaller_trees_from_a_larger_store_match_ct_merkle(
        stored in 1u64..3000,
        n in any::<u64>(),
        index in any::<u64>(),
        old in any::<u64>(),
    ) {
        let (_, mut store) = build(stored, 1);
        check_against_oracle(&mut store, n % (stored + 1), index, old);
    }
}

#[test]
fn level_two_tiles_at_seventy_thousand_leaves_match_ct_merkle() {
    const LEAVES: u64 = 70_000;
    let (appender, mut store) = build(LEAVES, 1000);
    // The tlog-tiles example shape: 273 full level-0 tiles and a partial of width 112, one
    // full level-1 tile and a partial of width 17, and a partial level-2 tile of width 1.
    let width = |key| store.tiles.get(&key).map(|t: &Vec<u8>| t.len() / 32);
    assert_eq!(width((0, 272)), Some(256));
    assert_eq!(width((0, 273)), Some(112));
    assert_eq!(width((1, 0)), Some(256));
    assert_eq!(width((1, 1)), Some(17));
    assert_eq!(width((2, 0)), Some(1));
    assert_eq!(store.tiles.len(), 274 + 2 + 1);

    let mut tree = Oracle::new();
    for i in 0..LEAVES {
        tree.push(leaf_data(i));
        let size = i + 1;
        if [1, 255, 256, 257, 65_535, 65_536, 65_537, 69_999].contains(&size) {
            assert_eq!(
                tree_root(&mut store, size).expect("stored"),
                oracle_root(&tree),
                "root of {size}"
            );
        }
    }
    assert_eq!(appender.root(), oracle_root(&tree));
    for index in [0, 1, 255, 256, 65_535, 65_536, 65_537, 69_999] {
        let ours = inclusion_proof(&mut store, LEAVES, index).expect("stored");
        assert_eq!(
            concat(&ours),
            tree.prove_inclusion(index as usize).as_bytes()
        );
    }
    for old in [1, 256, 4095, 65_535, 65_536, 65_537, 69_999] {
        let ours = consistency_proof(&mut store, old, LEAVES).expect("stored");
        let theirs = tree.prove_consistency((LEAVES - old) as usize);
        assert_eq!(concat(&ours), theirs.as_bytes(), "consistency {old}");
    }
}
