//! Helpers shared by the integration tests: an in-memory tile store and an independent,
//! from-the-definition model of the tree and its tiles.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use jifen_log::{Appender, Hash, Tile, TileReader, leaf_hash, node_hash};

/// The tile store, keyed by (level, index), one blob per key, as the real store keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemTiles {
    pub tiles: BTreeMap<(u8, u64), Vec<u8>>,
    /// Every (level, index) asked for, to check what a function reads.
    pub reads: Vec<(u8, u64)>,
}

impl MemTiles {
    /// Inserts or replaces each tile, as the store does with `take_dirty_tiles` output.
    pub fn apply(&mut self, tiles: Vec<Tile>) {
        for tile in tiles {
            self.tiles.insert((tile.level, tile.index), tile.hashes);
        }
    }
}

impl TileReader for MemTiles {
    type Error = Infallible;
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Infallible> {
        self.reads.push((level, index));
        Ok(self.tiles.get(&(level, index)).cloned())
    }
}

/// The data of leaf `i` in every test tree.
pub fn leaf_data(i: u64) -> Vec<u8> {
    format!("jifen test leaf {i}").into_bytes()
}

pub fn leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&leaf_data(i))).collect()
}

/// An appender of `n` test leaves and the store its dirty tiles were applied to,
/// taking the dirty tiles after every `batch` appends (and at the end).
pub fn build(n: u64, batch: u64) -> (Appender, MemTiles) {
    let mut appender = Appender::new();
    let mut store = MemTiles::default();
    for i in 0..n {
        appender.append(leaf_hash(&leaf_data(i)));
        if (i + 1) % batch == 0 {
            store.apply(appender.take_dirty_tiles());
        }
    }
    store.apply(appender.take_dirty_tiles());
    (appender, store)
}

/// RFC 6962 §2.1 MTH, straight from the definition.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => jifen_log::empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 6962's `k`: the largest power of two strictly below `n` (for `n >= 2`).
fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The tiles of a tree of these leaves, from the tlog-tiles definition: level 0 holds the
/// leaf hashes; each full tile's MTH is a hash of the level above.
pub fn tiles_from_scratch(leaves: &[Hash]) -> BTreeMap<(u8, u64), Vec<u8>> {
    let mut tiles = BTreeMap::new();
    let mut level_hashes = leaves.to_vec();
    let mut level = 0u8;
    while !level_hashes.is_empty() {
        let mut above = Vec::new();
        for (index, chunk) in level_hashes.chunks(256).enumerate() {
            tiles.insert((level, index as u64), chunk.concat());
            if chunk.len() == 256 {
                above.push(mth(chunk));
            }
        }
        level_hashes = above;
        level += 1;
    }
    tiles
}

/// The right-edge partial tiles of a tree of `size` leaves (what `resume` may read).
pub fn edge_tiles(size: u64) -> BTreeSet<(u8, u64)> {
    (0u8..8)
        .filter_map(|level| {
            let nodes = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
            (!nodes.is_multiple_of(256)).then_some((level, nodes / 256))
        })
        .collect()
}

/// The RFC 6962 §2.1.1 inclusion proof, from the definition.
pub fn model_inclusion(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        let mut proof = model_inclusion(m, &leaves[..k]);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = model_inclusion(m - k, &leaves[k..]);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// Flips one bit of byte `byte` of hash `which` in `hashes`.
pub fn flip(hashes: &[Hash], which: usize, byte: usize) -> Vec<Hash> {
    let mut out = hashes.to_vec();
    out[which][byte] ^= 0x01;
    out
}
