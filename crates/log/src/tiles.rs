//! Tiles as c2sp.org/tlog-tiles defines them, the [`TileReader`] the store implements, and
//! tile paths.
//!
//! A tile at level `L`, index `N` holds the hashes of tree level `8 * L`, nodes
//! `N * 256 ..`, 32 bytes each. Only nodes of complete 256-wide tiles are hashed into the
//! level above, so every hash a tile holds is final once written.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::error::Error;
use crate::hash::{HASH_BYTES, Hash, perfect_subtree};

/// Tree levels covered by one tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// The highest tile level tlog-tiles allows in a path.
pub const TILE_LEVEL_MAX: u8 = 63;

/// Bytes in a full tile.
const TILE_BYTES_MAX: usize = TILE_WIDTH as usize * HASH_BYTES;
/// Digits in one element of a tile index path (`x001/x234/067`).
const INDEX_GROUP_DIGITS: usize = 3;

/// Reads stored tiles. A tile (level L, index N) holds the hashes of tree level 8*L, nodes
/// N*256 .. N*256+w-1, concatenated (32 bytes each), exactly as C2SP tlog-tiles serves them.
///
/// The store keeps one blob per (level, index): the full tile, or for the right edge the
/// widest partial tile so far. `read_tile` returns that blob, or `None` if there is none;
/// callers take the prefix they need.
pub trait TileReader {
    type Error: std::error::Error + Send + Sync + 'static;
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error>;
}

/// A tile produced by appending, to persist (insert or replace by `(level, index)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub level: u8,
    pub index: u64,
    /// `width * 32` bytes, 1 ..= 256 hashes.
    pub hashes: Vec<u8>,
}

impl Tile {
    /// Hashes in this tile: 256 for a full tile, fewer for the partial right edge.
    pub fn width(&self) -> u16 {
        u16::try_from(self.hashes.len() / HASH_BYTES).expect("a tile holds at most 256 hashes")
    }

    /// The tlog-tiles path of this tile, e.g. `tile/0/x001/x234/067.p/5`.
    pub fn path(&self) -> String {
        tile_path(self.level, self.index, self.width())
    }
}

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    Hashes { level: u8, index: u64, width: u16 },
    Entries { index: u64, width: u16 },
}

/// The tlog-tiles path of a hash tile: `tile_path(0, 1234067, 256)` is
/// `"tile/0/x001/x234/067"`; a width under 256 adds `.p/<width>`.
///
/// # Panics
/// If `width` is 0 or over 256, or `level` is over 63: no such tile exists.
pub fn tile_path(level: u8, index: u64, width: u16) -> String {
    assert!(level <= TILE_LEVEL_MAX, "tile level {level} is over 63");
    let mut path = format!("tile/{level}/");
    push_index_and_width(&mut path, index, width);
    path
}

/// The tlog-tiles path of an entry bundle: `tile/entries/<index>[.p/<width>]`.
///
/// # Panics
/// If `width` is 0 or over 256.
pub fn entries_path(index: u64, width: u16) -> String {
    let mut path = String::from("tile/entries/");
    push_index_and_width(&mut path, index, width);
    path
}

fn push_index_and_width(path: &mut String, index: u64, width: u16) {
    assert!(
        (1..=256).contains(&width),
        "tile width {width} is outside 1..=256"
    );
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for (i, group) in groups.iter().rev().enumerate() {
        let last = i + 1 == groups.len();
        let prefix = if last { "" } else { "x" };
        let slash = if last { "" } else { "/" };
        write!(path, "{prefix}{group:03}{slash}").expect("writing to a String cannot fail");
    }
    if u64::from(width) < TILE_WIDTH {
        write!(path, ".p/{width}").expect("writing to a String cannot fail");
    }
}

/// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` strictly: only the one
/// encoding [`tile_path`] or [`entries_path`] produces is accepted.
pub fn parse_tile_path(path: &str) -> Result<TilePath, Error> {
    let bad = |reason| Error::MalformedTilePath {
        path: path.to_owned(),
        reason,
    };
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| bad("it does not start with tile/"))?;
    let (kind, rest) = rest.split_once('/').ok_or_else(|| bad("it has no index"))?;
    let (index_part, width) = match rest.split_once(".p/") {
        Some((index_part, width)) => {
            let width = parse_decimal(width)
                .and_then(|w| u16::try_from(w).ok())
                .filter(|w| (1..256).contains(w))
                .ok_or_else(|| bad("partial width must be a decimal from 1 to 255"))?;
            (index_part, width)
        }
        None => (rest, 256),
    };
    let index = parse_index(index_part)
        .ok_or_else(|| bad("index must be 3-digit groups, all but the last starting with x"))?;
    let parsed = if kind == "entries" {
        TilePath::Entries { index, width }
    } else {
        let level = parse_decimal(kind)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|l| *l <= TILE_LEVEL_MAX)
            .ok_or_else(|| bad("level must be \"entries\" or a decimal from 0 to 63"))?;
        TilePath::Hashes {
            level,
            index,
            width,
        }
    };
    // Strictness: leading zeros ("x000/001", "07", ".p/05") parse above but are not the
    // canonical encoding, so compare against it.
    let canonical = match parsed {
        TilePath::Hashes {
            level,
            index,
            width,
        } => tile_path(level, index, width),
        TilePath::Entries { index, width } => entries_path(index, width),
    };
    if canonical != path {
        return Err(bad("it is not in canonical form (leading zeros?)"));
    }
    Ok(parsed)
}

/// An ASCII decimal, digits only (no sign), fitting u64.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    let mut index: u64 = 0;
    for group in leading
        .iter()
        .map(|g| g.strip_prefix('x'))
        .chain([Some(*last)])
    {
        let group = group?;
        if group.len() != INDEX_GROUP_DIGITS {
            return None;
        }
        let value = parse_decimal(group)?;
        index = index.checked_mul(1000)?.checked_add(value)?;
    }
    Some(index)
}

/// The partial tile at `level` for a tree of `tree_size` leaves: its index and width
/// (width 0 when there is none).
pub(crate) fn edge_tile(level: u8, tree_size: u64) -> (u64, u64) {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    let nodes = tree_size.checked_shr(shift).unwrap_or(0);
    (nodes / TILE_WIDTH, nodes % TILE_WIDTH)
}

/// Reads tiles through a [`TileReader`], once each per call of a public function.
pub(crate) struct TileCache<'r, R: TileReader> {
    reader: &'r mut R,
    tiles: HashMap<(u8, u64), Vec<u8>>,
}

impl<'r, R: TileReader> TileCache<'r, R> {
    pub(crate) fn new(reader: &'r mut R) -> Self {
        TileCache {
            reader,
            tiles: HashMap::new(),
        }
    }

    /// The hashes at positions `offset .. offset + count` of tile (`level`, `index`).
    pub(crate) fn hashes(
        &mut self,
        level: u8,
        index: u64,
        offset: u64,
        count: u64,
    ) -> Result<Vec<Hash>, Error> {
        let hashes_needed = offset + count;
        debug_assert!(
            hashes_needed <= TILE_WIDTH,
            "a tile holds at most 256 hashes"
        );
        if !self.tiles.contains_key(&(level, index)) {
            let blob = self
                .reader
                .read_tile(level, index)
                .map_err(|source| Error::TileRead {
                    level,
                    index,
                    source: Box::new(source),
                })?
                .ok_or(Error::TileMissing { level, index })?;
            self.tiles.insert((level, index), blob);
        }
        let blob = &self.tiles[&(level, index)];
        let too_short = || Error::TileTooShort {
            level,
            index,
            bytes: blob.len(),
            hashes_needed,
        };
        // Check what came back from storage before trusting its shape.
        if !blob.len().is_multiple_of(HASH_BYTES) || blob.len() > TILE_BYTES_MAX {
            return Err(too_short());
        }
        let start = usize::try_from(offset).expect("offset < 256") * HASH_BYTES;
        let end = usize::try_from(hashes_needed).expect("offset + count <= 256") * HASH_BYTES;
        let bytes = blob.get(start..end).ok_or_else(too_short)?;
        Ok(bytes
            .chunks_exact(HASH_BYTES)
            .map(|chunk| chunk.try_into().expect("chunks are 32 bytes"))
            .collect())
    }

    /// The hash of the perfect subtree at tree level `height`, `index`-th from the left.
    /// The caller guarantees the subtree is complete in the tree the store holds.
    pub(crate) fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, Error> {
        let tile_height = u32::from(TILE_HEIGHT);
        let level = u8::try_from(height / tile_height).expect("height < 64");
        let below = height % tile_height;
        // The subtree's 2^below descendants at the tile's level, all in one tile because
        // 2^below divides 256.
        let first = index << below;
        let count = 1u64 << below;
        let hashes = self.hashes(level, first / TILE_WIDTH, first % TILE_WIDTH, count)?;
        Ok(perfect_subtree(&hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_hashes(level: u8, index: u64, width: u16, path: &str) {
        assert_eq!(tile_path(level, index, width), path);
        assert_eq!(
            parse_tile_path(path).expect("valid path"),
            TilePath::Hashes {
                level,
                index,
                width
            }
        );
    }

    #[track_caller]
    fn check_bad(path: &str) {
        assert!(parse_tile_path(path).is_err(), "{path:?} parsed");
    }

    #[test]
    fn tile_paths_match_tlog_tiles_and_go_known_answers() {
        // c2sp.org/tlog-tiles: index 1234067 is x001/x234/067.
        check_hashes(0, 1_234_067, 256, "tile/0/x001/x234/067");
        // golang.org/x/mod/sumdb/tlog tile_test.go, less the height element tlog-tiles drops.
        check_hashes(0, 1, 256, "tile/0/001");
        check_hashes(0, 1, 5, "tile/0/001.p/5");
        check_hashes(5, 123_456_078, 256, "tile/5/x123/x456/078");
        check_hashes(5, 123_456_078, 2, "tile/5/x123/x456/078.p/2");
        check_hashes(0, 3_057_500, 256, "tile/0/x003/x057/500");
        check_hashes(63, 0, 255, "tile/63/000.p/255");
        check_hashes(1, 1000, 256, "tile/1/x001/000");
        check_hashes(
            2,
            u64::MAX,
            1,
            "tile/2/x018/x446/x744/x073/x709/x551/615.p/1",
        );
        assert_eq!(entries_path(3_057_500, 256), "tile/entries/x003/x057/500");
        assert_eq!(entries_path(0, 17), "tile/entries/000.p/17");
        assert_eq!(
            parse_tile_path("tile/entries/x003/x057/500.p/9").expect("valid"),
            TilePath::Entries {
                index: 3_057_500,
                width: 9
            }
        );
    }

    #[test]
    fn bad_tile_paths_are_refused() {
        check_bad("tile/3/123/456/078"); // groups without x (Go's invalid example)
        check_bad("tile/3/-1/123/456/078");
        check_bad("tile/0/x000/001"); // leading zero group
        check_bad("tile/0/01");
        check_bad("tile/0/0001");
        check_bad("tile/00/001");
        check_bad("tile/64/001");
        check_bad("tile/0/001.p/0");
        check_bad("tile/0/001.p/256");
        check_bad("tile/0/001.p/05");
        check_bad("tile/0/001.p/");
        check_bad("tile/0/001/");
        check_bad("tile/0/x001");
        check_bad("tile/0/");
        check_bad("tile/data/001");
        check_bad("tiles/0/001");
        check_bad("/tile/0/001");
        check_bad("tile/+1/001");
        check_bad("tile/0/x018/x446/x744/x073/x709/x551/616"); // u64 overflow
        check_bad("tile/entries/001.p/1.p/1");
    }

    #[test]
    fn edge_tile_matches_tlog_tiles_example() {
        // A tree of 70,000 leaves: level 0 partial width 112 after 273 full tiles, level 1
        // partial width 17 after one full tile, level 2 partial width 1.
        assert_eq!(edge_tile(0, 70_000), (273, 112));
        assert_eq!(edge_tile(1, 70_000), (1, 17));
        assert_eq!(edge_tile(2, 70_000), (0, 1));
        assert_eq!(edge_tile(3, 70_000), (0, 0));
        assert_eq!(edge_tile(8, u64::MAX), (0, 0));
    }
}
