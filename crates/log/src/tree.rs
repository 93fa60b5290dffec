//! [`Appender`]: the right edge of the tree, kept as a compact range, that appends leaves
//! and hands out the tiles they change.

use crate::error::Error;
use crate::hash::{HASH_BYTES, Hash, empty_root, fold_subtrees, node_hash, perfect_subtree};
use crate::tiles::{TILE_HEIGHT, TILE_WIDTH, Tile, TileCache, TileReader, edge_tile};

/// Tile levels a tree of at most 2^63 leaves can have (tree levels 0 ..= 63).
const TILE_LEVELS_MAX: u8 = 8;
/// The largest tree the appender grows: 2^63 leaves keeps every shift in range.
const TREE_SIZE_MAX: u64 = 1 << 63;

/// Incremental, tile-producing appender. It never rebuilds the tree: appending one leaf
/// costs O(1) amortised hashes, and [`Appender::root`] O(log n).
///
/// It holds the compact range of the tree (one perfect subtree hash per set bit of the
/// size) and, for each tile level, the hashes of the right-edge partial tile.
#[derive(Debug, Clone, Default)]
pub struct Appender {
    size: u64,
    /// Perfect subtree hashes covering all leaves, left (largest) to right.
    range: Vec<Hash>,
    /// Per tile level, the hashes of the partial tile at the right edge (< 256 of them).
    edges: Vec<Vec<Hash>>,
    /// Per tile level, whether the partial tile changed since the last `take_dirty_tiles`.
    edge_dirty: Vec<bool>,
    /// Tiles that filled since the last `take_dirty_tiles`.
    full: Vec<Tile>,
}

impl Appender {
    /// An appender for the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes at `size` by reading only the right-edge partial tiles it needs (one per
    /// tile level) through `reader`.
    ///
    /// The tiles are trusted as stored: compare [`Appender::root`] with the last signed
    /// checkpoint before appending, so a damaged store is noticed.
    pub fn resume<R: TileReader>(size: u64, reader: &mut R) -> Result<Self, Error> {
        if size > TREE_SIZE_MAX {
            return Err(Error::TreeTooLarge { tree_size: size });
        }
        let mut cache = TileCache::new(reader);
        let mut appender = Appender::new();
        appender.size = size;
        for level in 0..TILE_LEVELS_MAX {
            let (index, width) = edge_tile(level, size);
            let edge = if width == 0 {
                Vec::new()
            } else {
                cache.hashes(level, index, 0, width)?
            };
            appender.edges.push(edge);
            appender.edge_dirty.push(false);
        }
        // One perfect subtree per set bit of the size, largest first. Each lies inside the
        // partial tile of its level, because the bits above it cover whole tiles.
        for height in (0..u64::BITS).rev().filter(|h| (size >> h) & 1 == 1) {
            let level = height / u32::from(TILE_HEIGHT);
            let below = height % u32::from(TILE_HEIGHT);
            let index = (size >> height) - 1;
            let first = (index << below) % TILE_WIDTH;
            let count = 1u64 << below;
            let edge = &appender.edges[usize::try_from(level).expect("level < 8")];
            let start = usize::try_from(first).expect("first < 256");
            let end = usize::try_from(first + count).expect("first + count <= 256");
            appender.range.push(perfect_subtree(&edge[start..end]));
        }
        Ok(appender)
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf with hash `leaf_hash` (see [`crate::leaf_hash`]).
    ///
    /// # Panics
    /// If the tree already holds 2^63 leaves.
    pub fn append(&mut self, leaf_hash: Hash) {
        assert!(self.size < TREE_SIZE_MAX, "the tree is full (2^63 leaves)");
        let old_size = self.size;
        self.record(0, old_size, leaf_hash);
        let mut hash = leaf_hash;
        let mut height = 0u32;
        // Each set low bit of the old size is a left sibling waiting on the stack.
        while (old_size >> height) & 1 == 1 {
            let left = self
                .range
                .pop()
                .expect("the compact range has one hash per set bit of the size");
            hash = node_hash(&left, &hash);
            height += 1;
            if height.is_multiple_of(u32::from(TILE_HEIGHT)) {
                let level = u8::try_from(height / u32::from(TILE_HEIGHT)).expect("height < 64");
                self.record(level, old_size >> height, hash);
            }
        }
        self.range.push(hash);
        self.size = old_size + 1;
        debug_assert_eq!(self.range.len(), self.size.count_ones() as usize);
    }

    /// The RFC 6962 Merkle Tree Hash of all leaves so far.
    pub fn root(&self) -> Hash {
        fold_subtrees(&self.range).unwrap_or_else(empty_root)
    }

    /// Tiles changed since the last call: each full tile once, when it fills, and the
    /// right-edge partial tile of each level in its latest width. Sorted by level, then
    /// index.
    pub fn take_dirty_tiles(&mut self) -> Vec<Tile> {
        let mut tiles = std::mem::take(&mut self.full);
        for (level, (edge, dirty)) in self.edges.iter().zip(&mut self.edge_dirty).enumerate() {
            if *dirty && !edge.is_empty() {
                let level = u8::try_from(level).expect("level < 8");
                let (index, width) = edge_tile(level, self.size);
                debug_assert_eq!(width, edge.len() as u64);
                tiles.push(Tile {
                    level,
                    index,
                    hashes: edge.concat(),
                });
            }
            *dirty = false;
        }
        tiles.sort_by_key(|tile| (tile.level, tile.index));
        tiles
    }

    /// Adds the `index`-th hash of tree level `8 * level` to its tile.
    fn record(&mut self, level: u8, index: u64, hash: Hash) {
        let slot = usize::from(level);
        if self.edges.len() <= slot {
            self.edges.resize_with(slot + 1, Vec::new);
            self.edge_dirty.resize(slot + 1, false);
        }
        let edge = &mut self.edges[slot];
        assert_eq!(
            index % TILE_WIDTH,
            edge.len() as u64,
            "tile hashes are recorded left to right"
        );
        edge.push(hash);
        if edge.len() as u64 == TILE_WIDTH {
            let hashes = edge.concat();
            debug_assert_eq!(hashes.len(), TILE_WIDTH as usize * HASH_BYTES);
            edge.clear();
            self.edge_dirty[slot] = false;
            self.full.push(Tile {
                level,
                index: index / TILE_WIDTH,
                hashes,
            });
        } else {
            self.edge_dirty[slot] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn root_matches_rfc6962_test_tree_at_every_size() {
        // transparency-dev/merkle testonly/constants.go: LeafInputs and RootHashes.
        let leaves: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let hex = |h: Hash| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mut appender = Appender::new();
        assert_eq!(hex(appender.root()), roots[0]);
        for (leaf, root) in leaves.iter().zip(&roots[1..]) {
            appender.append(leaf_hash(leaf));
            assert_eq!(hex(appender.root()), *root, "size {}", appender.size());
        }
    }

    #[test]
    fn level_zero_tile_fills_once_then_level_one_starts() {
        let mut appender = Appender::new();
        for i in 0u32..255 {
            appender.append(leaf_hash(&i.to_be_bytes()));
        }
        let tiles = appender.take_dirty_tiles();
        assert_eq!(tiles.len(), 1);
        assert_eq!(
            (tiles[0].level, tiles[0].index, tiles[0].width()),
            (0, 0, 255)
        );
        assert!(
            appender.take_dirty_tiles().is_empty(),
            "nothing changed since"
        );

        appender.append(leaf_hash(&255u32.to_be_bytes()));
        let tiles = appender.take_dirty_tiles();
        let shape: Vec<_> = tiles
            .iter()
            .map(|t| (t.level, t.index, t.width()))
            .collect();
        assert_eq!(shape, [(0, 0, 256), (1, 0, 1)]);
        assert_eq!(
            tiles[1].hashes,
            appender.root(),
            "a 256-leaf tree's root is the tile's hash"
        );
    }
}
