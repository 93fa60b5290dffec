//! The published log, checked by clients nobody here wrote.
//!
//! `jifen log publish` writes each region's log as static files in the C2SP tlog-tiles
//! layout. These tests read those files back the way a monitor would fetch them, with
//! Cloudflare's `signed_note` and `tlog_tiles` crates (Rust ports of Go's
//! golang.org/x/mod/sumdb/note and sumdb/tlog) as the independent oracle: the signature,
//! the file layout, the entry bundles, every tile byte, the root and inclusion proofs.
//! They also check receipts offline with `jifen log check`, and that `jifen verify`
//! names what was changed when the store is tampered with behind its back.
//!
//! Each test seeds its own demo data folder in a scratch directory that it removes.

mod common;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, NoteError, StandardVerifier, Verifier as _, VerifierList};
use tlog_tiles::{
    Checkpoint, Hash, HashReader, Tile, TileHashReader, TileReader, check_record, prove_record,
    record_hash, stored_hash_index, stored_hashes_for_record_hash, tree_hash,
};

/// Households per demo village: thousands of entries (full and partial tiles on two
/// levels), seeded in a few seconds.
const DEMO_HOUSEHOLDS: &str = "20";
/// The demo village with the most entries; the tamper tests work on it.
const BUSY_REGION: &str = "tongxiang-yuefeng";
/// A region made with `init` and never written to: its log is the empty tree.
const EMPTY_REGION: &str = "kongbai";
/// C2SP tlog-tiles fixes the tile height: 2^8 = 256 hashes per tile.
const TILE_HEIGHT: u8 = 8;
/// Hashes (and entries) in a full tile.
const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

// ---------------------------------------------------------------------------------------
// Running the binary in a scratch folder.

/// A scratch directory under the system temp dir, removed when dropped (also on panic).
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "jifen-publish-{test}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn jifen(data: &Path, args: &[&str]) -> Output {
    common::jifen(data)
        .args(args)
        .output()
        .expect("run the jifen binary")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs jifen, asserts it succeeded, returns its standard output.
fn jifen_ok(data: &Path, args: &[&str]) -> String {
    let out = jifen(data, args);
    assert!(
        out.status.success(),
        "jifen {args:?} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    String::from_utf8(out.stdout).expect("jifen prints UTF-8")
}

/// Seeds the demo regions and, with `with_empty`, one more region that has no entries.
/// Returns every region's code and entry count, as `jifen regions` lists them.
fn seed(data: &Path, with_empty: bool) -> Vec<(String, u64)> {
    jifen_ok(data, &["demo", "--households", DEMO_HOUSEHOLDS]);
    if with_empty {
        jifen_ok(
            data,
            &["init", "--region", EMPTY_REGION, "--name", "空白村"],
        );
    }
    let listed = jifen_ok(data, &["regions"]);
    let regions: Vec<(String, u64)> = listed
        .lines()
        .map(|line| {
            let code = line.split('\t').next().expect("a code first").to_owned();
            let entries = line
                .split('\t')
                .find_map(|f| f.strip_prefix("entries="))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no entries=N in {line:?}"));
            (code, entries)
        })
        .collect();
    let size = |code: &str| regions.iter().find(|(c, _)| c == code).map(|(_, n)| *n);
    assert!(
        size(BUSY_REGION).is_some_and(|n| n > 2 * TILE_WIDTH),
        "the demo should give {BUSY_REGION} several tiles of entries: {regions:?}"
    );
    if with_empty {
        assert_eq!(size(EMPTY_REGION), Some(0), "{regions:?}");
    }
    regions
}

fn vkey(data: &Path, region: &str) -> String {
    jifen_ok(data, &["log", "vkey", "--region", region])
        .trim()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// A tlog-tiles client over the published files, built from tlog_tiles 0.2.

/// The C2SP tlog-tiles path of `tile`. tlog_tiles 0.2 names tiles as Go's sumdb does,
/// `tile/<H>/<L>/<N>` and `tile/<H>/data/<N>`; C2SP fixes H at 8, leaves it out, and calls
/// data tiles `tile/entries/<N>`. The `<N>` (`x001/x234/067`) and `.p/<W>` encodings are the
/// same in both, so they come from tlog_tiles unchanged.
fn c2sp_path(tile: &Tile) -> String {
    let sumdb = tile.path();
    let rest = sumdb
        .strip_prefix("tile/8/")
        .expect("every tile here has height 8");
    match rest.strip_prefix("data/") {
        Some(index) => format!("tile/entries/{index}"),
        None => format!("tile/{rest}"),
    }
}

/// One region's published directory, read as a client fetches it: by exact path.
struct Published {
    dir: PathBuf,
    size: u64,
    fetched: RefCell<HashMap<String, Vec<u8>>>,
}

impl Published {
    fn new(dir: &Path, size: u64) -> Self {
        Published {
            dir: dir.to_owned(),
            size,
            fetched: RefCell::new(HashMap::new()),
        }
    }

    fn fetch(&self, path: &str) -> Result<Vec<u8>, String> {
        if let Some(data) = self.fetched.borrow().get(path) {
            return Ok(data.clone());
        }
        let data = std::fs::read(self.dir.join(path)).map_err(|e| format!("GET {path}: {e}"))?;
        self.fetched
            .borrow_mut()
            .insert(path.to_owned(), data.clone());
        Ok(data)
    }

    /// The hash tiles of the tree, per tlog_tiles.
    fn hash_tiles(&self) -> Vec<Tile> {
        Tile::new_tiles(TILE_HEIGHT, 0, self.size)
    }
}

/// Lets tlog_tiles' `TileHashReader` fetch tiles; it authenticates every tile it reads
/// against the checkpoint's root before it hands out a hash.
impl TileReader for Published {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                self.fetch(&c2sp_path(t))
                    .map_err(tlog_tiles::Error::InvalidInput)
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// Hashes straight from the published tiles, trusting them: what the tiles say the tree
/// is, to compare with what the checkpoint says.
struct UntrustedTiles<'a>(&'a Published);

impl HashReader for UntrustedTiles<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| {
                let tile = Tile::from_index(TILE_HEIGHT, index)
                    .parent(0, self.0.size)
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                let data = self
                    .0
                    .fetch(&c2sp_path(&tile))
                    .map_err(tlog_tiles::Error::InvalidInput)?;
                tile.hash_at_index(&data, index)
            })
            .collect()
    }
}

/// Every hash of the tree in tlog_tiles' storage order, built by tlog_tiles itself from
/// the record hashes of the published entries.
struct Rebuilt(Vec<Hash>);

impl Rebuilt {
    fn from_leaves(leaves: &[Hash]) -> Result<Self, String> {
        let mut tree = Rebuilt(Vec::new());
        for (n, leaf) in (0u64..).zip(leaves) {
            let more = stored_hashes_for_record_hash(n, *leaf, &tree)
                .map_err(|e| format!("rebuilding the tree at entry {n}: {e}"))?;
            tree.0.extend(more);
        }
        Ok(tree)
    }
}

impl HashReader for Rebuilt {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Splits a C2SP entry bundle: each entry is a big-endian u16 length, then that many
/// bytes. tlog_tiles 0.2 has no bundle reader, so this follows the spec directly.
fn split_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while let Some((length, after)) = rest.split_first_chunk::<2>() {
        let length = usize::from(u16::from_be_bytes(*length));
        if after.len() < length {
            return Err("the bundle ends inside an entry".to_owned());
        }
        let (entry, after) = after.split_at(length);
        entries.push(entry);
        rest = after;
    }
    if rest.is_empty() {
        Ok(entries)
    } else {
        Err("the bundle ends inside a length prefix".to_owned())
    }
}

/// Every file under `dir`, as `/`-separated paths relative to `base`.
fn files_under(base: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    for item in listing {
        let path = item.expect("list a directory").path();
        if path.is_dir() {
            files_under(base, &path, found);
        } else {
            let rel = path.strip_prefix(base).expect("under base");
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.insert(parts.join("/"));
        }
    }
}

/// Opens a signed checkpoint with signed_note and parses its body with tlog_tiles.
fn open_checkpoint(note: &[u8], vkey: &str) -> Result<Checkpoint, String> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| format!("vkey {vkey:?}: {e}"))?;
    let origin = verifier.name().to_owned();
    let known = VerifierList::new(vec![Box::new(verifier)]);
    let note = Note::from_bytes(note).map_err(|e| format!("checkpoint note: {e}"))?;
    note.verify(&known)
        .map_err(|e| format!("checkpoint signature: {e}"))?;
    let cp = Checkpoint::from_bytes(note.text()).map_err(|e| format!("checkpoint body: {e}"))?;
    if cp.origin() != origin {
        return Err(format!(
            "checkpoint origin {:?} is not the key's name {origin:?}",
            cp.origin()
        ));
    }
    Ok(cp)
}

/// The entries to prove: first, last, tile edges and the middle.
fn sample(size: u64) -> BTreeSet<u64> {
    [
        0,
        1,
        TILE_WIDTH - 1,
        TILE_WIDTH,
        size / 2,
        size - 2,
        size - 1,
    ]
    .into_iter()
    .filter(|&n| n < size)
    .collect()
}

/// What the independent client established about one region's log.
#[derive(Debug)]
struct Verified {
    size: u64,
    hash_tiles: usize,
    proofs: usize,
}

/// Verifies a region's published directory as an independent tlog-tiles client. Each step
/// names what failed.
fn check_published(region_dir: &Path, vkey: &str) -> Result<Verified, String> {
    // The checkpoint: signature (signed_note) and body (tlog_tiles).
    let note =
        std::fs::read(region_dir.join("checkpoint")).map_err(|e| format!("GET checkpoint: {e}"))?;
    let cp = open_checkpoint(&note, vkey)?;
    let size = cp.size();
    let log = Published::new(region_dir, size);

    // The layout: exactly the files tlog-tiles gives a tree of this size, no more.
    let hash_tiles = log.hash_tiles();
    let level0: Vec<Tile> = hash_tiles
        .iter()
        .copied()
        .filter(|t| t.level() == 0)
        .collect();
    let mut expected: BTreeSet<String> = hash_tiles.iter().map(c2sp_path).collect();
    for tile in &level0 {
        let mut bundle = *tile;
        bundle.set_is_data();
        expected.insert(c2sp_path(&bundle));
    }
    expected.insert("checkpoint".to_owned());
    let mut found = BTreeSet::new();
    files_under(region_dir, region_dir, &mut found);
    if found != expected {
        return Err(format!(
            "published files differ from the tlog-tiles layout: missing {:?}, unexpected {:?}",
            expected.difference(&found).collect::<Vec<_>>(),
            found.difference(&expected).collect::<Vec<_>>()
        ));
    }

    // The entries: each bundle entry's record hash is the level-0 tile hash at its index.
    let mut leaves: Vec<Hash> = Vec::new();
    for tile in &level0 {
        let mut data_tile = *tile;
        data_tile.set_is_data();
        let bundle = log.fetch(&c2sp_path(&data_tile))?;
        let entries =
            split_bundle(&bundle).map_err(|e| format!("{}: {e}", c2sp_path(&data_tile)))?;
        if entries.len() != tile.width() as usize {
            return Err(format!(
                "{} holds {} entries, its level-0 tile {} hashes",
                c2sp_path(&data_tile),
                entries.len(),
                tile.width()
            ));
        }
        let hashes = log.fetch(&c2sp_path(tile))?;
        for (n, entry) in (tile.level_index() * TILE_WIDTH..).zip(entries) {
            let published = tile
                .hash_at_index(&hashes, stored_hash_index(0, n))
                .map_err(|e| format!("{}: {e}", c2sp_path(tile)))?;
            if record_hash(entry) != published {
                return Err(format!(
                    "entry {n}: its record hash differs from {} (bundle and tile disagree)",
                    c2sp_path(tile)
                ));
            }
            leaves.push(published);
        }
    }
    if leaves.len() as u64 != size {
        return Err(format!(
            "the bundles hold {} entries, the checkpoint {size}",
            leaves.len()
        ));
    }

    // The root from the entries, by tlog_tiles' own tree.
    let rebuilt = Rebuilt::from_leaves(&leaves)?;
    let root = tree_hash(size, &rebuilt).map_err(|e| format!("root from entries: {e}"))?;
    if root != *cp.hash() {
        return Err(format!(
            "root from the entries {root} differs from the checkpoint's {}",
            cp.hash()
        ));
    }

    // Every published hash tile, byte for byte what tlog_tiles derives from those leaves.
    for tile in &hash_tiles {
        let want = tile
            .read_data(&rebuilt)
            .map_err(|e| format!("{}: {e}", c2sp_path(tile)))?;
        if log.fetch(&c2sp_path(tile))? != want {
            return Err(format!(
                "{} differs from the tile tlog_tiles derives from the entries",
                c2sp_path(tile)
            ));
        }
    }

    // The root recomputed from the published tiles alone.
    let root = tree_hash(size, &UntrustedTiles(&log))
        .map_err(|e| format!("root from the published tiles: {e}"))?;
    if root != *cp.hash() {
        return Err(format!(
            "root recomputed from the published tiles {root} differs from the checkpoint's {}",
            cp.hash()
        ));
    }

    // Inclusion proofs, computed by tlog_tiles from tiles it authenticates against the
    // checkpoint, checked against each entry's record hash.
    let proofs = if size == 0 {
        0
    } else {
        let reader = TileHashReader::new(size, *cp.hash(), &log);
        let sampled = sample(size);
        for &n in &sampled {
            let leaf = leaves[usize::try_from(n).expect("small")];
            let proof =
                prove_record(size, n, &reader).map_err(|e| format!("proving entry {n}: {e}"))?;
            check_record(&proof, size, *cp.hash(), n, leaf)
                .map_err(|e| format!("inclusion proof of entry {n}: {e}"))?;
        }
        sampled.len()
    };

    Ok(Verified {
        size,
        hash_tiles: hash_tiles.len(),
        proofs,
    })
}

fn flip_byte(path: &Path, at: usize) {
    let mut data = std::fs::read(path).expect("read a file to tamper with");
    data[at] ^= 0x01;
    std::fs::write(path, data).expect("write the tampered file");
}

// ---------------------------------------------------------------------------------------
// The published log.

#[test]
fn published_log_verifies_with_cloudflare_tlog_tiles() {
    let scratch = Scratch::new("verifies");
    let data = scratch.join("data");
    let out = scratch.join("out");
    let regions = seed(&data, true);
    jifen_ok(
        &data,
        &["log", "publish", "--out", out.to_str().expect("UTF-8 path")],
    );

    for (region, entries) in &regions {
        let verified = check_published(&out.join(region), &vkey(&data, region))
            .unwrap_or_else(|e| panic!("{region}: {e}"));
        assert_eq!(verified.size, *entries, "{region}: checkpoint size");
        if *entries == 0 {
            assert_eq!(
                verified.hash_tiles, 0,
                "{region}: the empty tree has no tiles"
            );
        } else {
            // A full tile needs 256 entries, a level-1 tile 256 level-0 tiles.
            let levels = if *entries >= TILE_WIDTH { 2 } else { 1 };
            assert!(verified.hash_tiles >= levels, "{region}: {verified:?}");
            assert!(verified.proofs >= 2, "{region}: {verified:?}");
        }
    }

    // The empty region signed the empty tree's root.
    let note = std::fs::read(out.join(EMPTY_REGION).join("checkpoint")).expect("published");
    let cp = open_checkpoint(&note, &vkey(&data, EMPTY_REGION)).expect("signed");
    assert_eq!(cp.size(), 0);
    assert_eq!(*cp.hash(), tlog_tiles::EMPTY_HASH);

    // The busy region has full and partial tiles on two levels, so both were exercised.
    let busy = regions
        .iter()
        .find(|(r, _)| r == BUSY_REGION)
        .map(|(_, n)| *n)
        .expect("seeded");
    let tiles = Tile::new_tiles(TILE_HEIGHT, 0, busy);
    assert!(
        tiles.iter().any(|t| t.level() == 1),
        "{BUSY_REGION}: {busy}"
    );
    assert!(
        tiles
            .iter()
            .any(|t| t.level() == 0 && u64::from(t.width()) == TILE_WIDTH)
    );
    if busy % TILE_WIDTH != 0 {
        assert!(tiles.iter().any(|t| c2sp_path(t).contains(".p/")));
        let mut last = *tiles.iter().rfind(|t| t.level() == 0).expect("level 0");
        last.set_is_data();
        assert!(
            out.join(BUSY_REGION).join(c2sp_path(&last)).is_file(),
            "{BUSY_REGION}: the partial entry bundle {} is missing",
            c2sp_path(&last)
        );
    }
}

#[test]
fn tampered_tiles_and_checkpoints_fail_cloudflare_checks() {
    let scratch = Scratch::new("tamper");
    let data = scratch.join("data");
    let out = scratch.join("out");
    let regions = seed(&data, false);
    jifen_ok(
        &data,
        &["log", "publish", "--out", out.to_str().expect("UTF-8 path")],
    );
    let dir = out.join(BUSY_REGION);
    let key = vkey(&data, BUSY_REGION);
    let note = std::fs::read(dir.join("checkpoint")).expect("published");
    let cp = open_checkpoint(&note, &key).expect("the untouched checkpoint verifies");
    check_published(&dir, &key).expect("the untouched log verifies");
    let size = cp.size();
    let tiles = Tile::new_tiles(TILE_HEIGHT, 0, size);

    // A hash tile whose every hash the root depends on directly: the top level's first
    // tile (its first hash is the left edge of the tree) and the partial level-0 tile
    // (no tile above covers it). One flipped bit changes the root recomputed from tiles.
    let top = *tiles.iter().max_by_key(|t| t.level()).expect("tiles");
    let mut root_tiles = vec![(top, 0usize)];
    if let Some(edge) = tiles
        .iter()
        .find(|t| t.level() == 0 && u64::from(t.width()) < TILE_WIDTH)
    {
        root_tiles.push((*edge, edge.width() as usize * 32 - 1));
    }
    for (tile, at) in root_tiles {
        let path = dir.join(c2sp_path(&tile));
        flip_byte(&path, at);
        let log = Published::new(&dir, size);
        let root = tree_hash(size, &UntrustedTiles(&log)).expect("tiles still readable");
        assert_ne!(
            root,
            *cp.hash(),
            "flipping a bit in {} left the root unchanged",
            c2sp_path(&tile)
        );
        let reader = TileHashReader::new(size, *cp.hash(), &log);
        assert!(
            matches!(
                prove_record(size, size - 1, &reader),
                Err(tlog_tiles::Error::InconsistentTile)
            ),
            "the authenticating reader accepted a tampered {}",
            c2sp_path(&tile)
        );
        let err = check_published(&dir, &key).expect_err("a tampered tile must fail");
        assert!(err.contains(&c2sp_path(&tile)), "{err}");
        flip_byte(&path, at);
    }

    // A full level-0 tile is covered by the level-1 tile above it. Entry 1's inclusion
    // proof uses leaf 0's hash, so a proof built from the tampered tile fails against the
    // checkpoint. (tlog_tiles 0.2's TileHashReader hands the tile out without checking it
    // against its parent here: its "authenticate full tiles against their parents" loop
    // starts at the number of root subtrees, not at the number of distinct tiles they lie
    // in, so the tampering is caught by check_record, not by the reader.)
    let first = tiles[0];
    assert_eq!((first.level(), u64::from(first.width())), (0, TILE_WIDTH));
    let mut first_bundle = first;
    first_bundle.set_is_data();
    let bundle = std::fs::read(dir.join(c2sp_path(&first_bundle))).expect("published");
    let leaf1 = record_hash(split_bundle(&bundle).expect("a bundle")[1]);
    let path = dir.join(c2sp_path(&first));
    flip_byte(&path, 0);
    let log = Published::new(&dir, size);
    let reader = TileHashReader::new(size, *cp.hash(), &log);
    let proved = prove_record(size, 1, &reader)
        .and_then(|proof| check_record(&proof, size, *cp.hash(), 1, leaf1));
    assert!(
        matches!(
            proved,
            Err(tlog_tiles::Error::InconsistentTile | tlog_tiles::Error::InvalidProof)
        ),
        "entry 1 proved from a tampered {}: {proved:?}",
        c2sp_path(&first)
    );
    let err = check_published(&dir, &key).expect_err("a tampered level-0 tile must fail");
    assert!(err.starts_with("entry 0:"), "{err}");
    flip_byte(&path, 0);

    // An entry changed in its bundle no longer hashes to its leaf.
    let path = dir.join(c2sp_path(&first_bundle));
    flip_byte(&path, 2);
    let err = check_published(&dir, &key).expect_err("a tampered bundle must fail");
    assert!(err.starts_with("entry 0:"), "{err}");
    flip_byte(&path, 2);
    check_published(&dir, &key).expect("restored, the log verifies again");

    // The checkpoint body changed, signature line kept: the signature no longer holds.
    let note_text = String::from_utf8(note.clone()).expect("UTF-8 note");
    let root_line = cp.hash().to_string();
    let mut other_root = cp.hash().0;
    other_root[0] ^= 0x01;
    for (what, from, to) in [
        ("size", format!("\n{size}\n"), format!("\n{}\n", size - 1)),
        ("root", root_line, Hash(other_root).to_string()),
    ] {
        assert!(note_text.contains(&from), "{what}: {note_text}");
        let forged = note_text.replacen(&from, &to, 1);
        let opened = Note::from_bytes(forged.as_bytes()).expect("still a well-formed note");
        let verifier = StandardVerifier::new(&key).expect("vkey");
        let known = VerifierList::new(vec![Box::new(verifier)]);
        assert!(
            matches!(
                opened.verify(&known),
                Err(NoteError::InvalidSignature { .. })
            ),
            "a checkpoint with its {what} changed verified"
        );
        std::fs::write(dir.join("checkpoint"), &forged).expect("write");
        let err = check_published(&dir, &key).expect_err("a forged checkpoint must fail");
        assert!(err.starts_with("checkpoint signature"), "{err}");
    }
    std::fs::write(dir.join("checkpoint"), &note).expect("restore");

    // Another region's key does not open this region's checkpoint.
    let (other, _) = regions
        .iter()
        .find(|(r, _)| r != BUSY_REGION)
        .expect("several regions");
    let err = open_checkpoint(&note, &vkey(&data, other)).expect_err("wrong key");
    assert!(err.contains("no verifiable signatures"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Receipts.

/// Checks a receipt with signed_note and tlog_tiles, not with jifen: the checkpoint's
/// signature, then the inclusion of the `extra` entry at `index`. Returns the entry.
fn check_receipt_independently(receipt: &str, vkey: &str) -> Result<(u64, Vec<u8>), String> {
    let rest = receipt
        .strip_prefix("c2sp.org/tlog-proof@v1\n")
        .ok_or("no tlog-proof@v1 header")?;
    let (line, mut rest) = rest.split_once('\n').ok_or("truncated")?;
    let entry = BASE64
        .decode(line.strip_prefix("extra ").ok_or("no extra line")?)
        .map_err(|e| format!("extra: {e}"))?;
    let (line, after) = rest.split_once('\n').ok_or("truncated")?;
    rest = after;
    let index: u64 = line
        .strip_prefix("index ")
        .and_then(|n| n.parse().ok())
        .ok_or("no index line")?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest.split_once('\n').ok_or("truncated")?;
        rest = after;
        if line.is_empty() {
            break;
        }
        proof.push(Hash::parse_hash(line).map_err(|e| format!("proof hash: {e}"))?);
    }
    let cp = open_checkpoint(rest.as_bytes(), vkey)?;
    check_record(&proof, cp.size(), *cp.hash(), index, record_hash(&entry))
        .map_err(|e| format!("inclusion: {e}"))?;
    Ok((index, entry))
}

/// The receipt with its `k`th proof hash changed in one bit.
fn with_changed_proof_hash(receipt: &str, k: usize) -> String {
    let lines: Vec<&str> = receipt.split('\n').collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("index "))
        .expect("an index line")
        + 1;
    assert!(!lines[first + k].is_empty(), "no proof hash {k}");
    let mut hash = BASE64.decode(lines[first + k]).expect("base64 hash");
    hash[31] ^= 0x01;
    let changed = BASE64.encode(hash);
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    out[first + k] = changed;
    out.join("\n")
}

#[test]
fn receipts_check_offline_and_tampered_ones_fail() {
    let scratch = Scratch::new("receipts");
    let data = scratch.join("data");
    let regions = seed(&data, false);
    let busy: Vec<&(String, u64)> = regions.iter().filter(|(_, n)| *n > 1).collect();
    assert!(busy.len() >= 2, "two regions with entries: {regions:?}");
    let file = scratch.join("receipt");
    let check = |vkey: &str, receipt: &str| {
        std::fs::write(&file, receipt).expect("write the receipt");
        jifen(
            &data,
            &[
                "log",
                "check",
                "--vkey",
                vkey,
                file.to_str().expect("UTF-8"),
            ],
        )
    };

    for (i, (region, size)) in busy.iter().enumerate() {
        let key = vkey(&data, region);
        let (other_region, _) = busy[(i + 1) % busy.len()];
        let other_key = vkey(&data, other_region);
        for seq in [0, size / 2, size - 1] {
            let receipt = jifen_ok(
                &data,
                &["log", "proof", "--entry", &format!("{region}:{seq}")],
            );

            let ok = check(&key, &receipt);
            assert!(ok.status.success(), "{region}:{seq}: {}", text(&ok));
            let said = String::from_utf8_lossy(&ok.stdout);
            assert!(
                said.starts_with(&format!("ok: entry {seq} of {region} ")),
                "{said}"
            );

            let (index, entry) = check_receipt_independently(&receipt, &key)
                .unwrap_or_else(|e| panic!("{region}:{seq}: {e}"));
            assert_eq!(index, seq);
            let entry = String::from_utf8(entry).expect("the entry is text");
            assert!(
                entry.contains(&format!("region {region}\nseq {seq}\n")),
                "{region}:{seq}: the receipt carries another entry:\n{entry}"
            );

            for k in [0, 1] {
                let forged = with_changed_proof_hash(&receipt, k);
                let failed = check(&key, &forged);
                assert_eq!(
                    failed.status.code(),
                    Some(1),
                    "{region}:{seq}: proof hash {k} changed: {}",
                    text(&failed)
                );
                assert!(text(&failed).contains("FAILED"), "{}", text(&failed));
                assert!(check_receipt_independently(&forged, &key).is_err());
            }

            let wrong = check(&other_key, &receipt);
            assert_eq!(
                wrong.status.code(),
                Some(1),
                "{region}:{seq} checked with {other_region}'s key: {}",
                text(&wrong)
            );
            assert!(check_receipt_independently(&receipt, &other_key).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tampering with the store behind jifen's back.

/// Copies a data folder (the database, its WAL if any, and the keys), leaving out
/// SQLite's shared-memory index, which the next opener rebuilds.
fn copy_data(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for item in std::fs::read_dir(from).expect("list the data folder") {
        let item = item.expect("list the data folder");
        let name = item.file_name();
        if name.to_string_lossy().ends_with("-shm") {
            continue;
        }
        let (src, dst) = (item.path(), to.join(&name));
        if src.is_dir() {
            copy_data(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy a file");
        }
    }
}

fn db(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data.join("jifen.db")).expect("open jifen.db")
}

/// Runs `jifen verify`, asserts it failed with exit code 1, returns its output.
fn verify_fails(data: &Path, case: &str) -> String {
    let out = jifen(data, &["verify"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{case}: verify said:\n{said}");
    assert!(said.contains("FAILED"), "{case}: {said}");
    assert!(said.contains(BUSY_REGION), "{case}: {said}");
    said
}

/// Whether `what` occurs in `text` as a whole token (not followed by more of a number
/// or a name).
fn names(text: &str, what: &str) -> bool {
    text.match_indices(what).any(|(at, _)| {
        !text[at + what.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn verify_names_what_was_tampered_in_the_store() {
    let scratch = Scratch::new("store");
    let seeded = scratch.join("seeded");
    let regions = seed(&seeded, false);
    let size = regions
        .iter()
        .find(|(r, _)| r == BUSY_REGION)
        .map(|(_, n)| *n)
        .expect("seeded");
    let control = jifen(&seeded, &["verify"]);
    assert!(
        control.status.success(),
        "the untouched demo must verify: {}",
        text(&control)
    );

    // (a) One entry's amount, alone: its leaf no longer matches (or its rules break).
    // (a') Amount and annual effect together, so every rule still holds: only the log can
    // tell.
    let (seq, amount, annual): (i64, i64, i64) = db(&seeded)
        .query_row(
            "SELECT seq, amount, annual_delta FROM entries WHERE region = ?1 AND seq >= ?2 \
             AND amount > 1 AND annual_delta = amount ORDER BY seq LIMIT 1",
            rusqlite::params![BUSY_REGION, i64::try_from(size / 2).expect("small")],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a credit that counts for the year");
    for (case, set_annual) in [("amount", false), ("amount and annual effect", true)] {
        let data = scratch.join(&format!("entry-{set_annual}"));
        copy_data(&seeded, &data);
        let changed = db(&data)
            .execute(
                "UPDATE entries SET amount = ?3, annual_delta = ?4 WHERE region = ?1 AND seq = ?2",
                rusqlite::params![
                    BUSY_REGION,
                    seq,
                    amount - 1,
                    if set_annual { annual - 1 } else { annual }
                ],
            )
            .expect("update");
        assert_eq!(changed, 1);
        let said = verify_fails(&data, case);
        assert!(names(&said, &format!("entry {seq}")), "{case}: {said}");
        if set_annual {
            assert!(
                said.contains("leaf"),
                "{case}: the log should catch it: {said}"
            );
        }
    }

    // (b) One stored balance.
    let data = scratch.join("balance");
    copy_data(&seeded, &data);
    let account: String = db(&data)
        .query_row(
            "SELECT account FROM balances WHERE region = ?1 AND balance <> 0 ORDER BY account LIMIT 1",
            [BUSY_REGION],
            |r| r.get(0),
        )
        .expect("a system account with a balance");
    let changed = db(&data)
        .execute(
            "UPDATE balances SET balance = balance + 7 WHERE region = ?1 AND account = ?2",
            rusqlite::params![BUSY_REGION, account],
        )
        .expect("update");
    assert_eq!(changed, 1);
    let said = verify_fails(&data, "balance");
    assert!(names(&said, &account), "balance of {account}: {said}");

    // (c) One checkpoint's note text: its root line, signature kept.
    let data = scratch.join("checkpoint");
    copy_data(&seeded, &data);
    let (cp_size, note): (i64, String) = db(&data)
        .query_row(
            "SELECT size, note FROM checkpoints WHERE region = ?1 AND size > 0 \
             ORDER BY size LIMIT 1 OFFSET 3",
            [BUSY_REGION],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a few checkpoints");
    let root_line = note.lines().nth(2).expect("a root line").to_owned();
    let first = root_line.chars().next().expect("non-empty root");
    let forged_root = format!(
        "{}{}",
        if first == 'A' { 'B' } else { 'A' },
        &root_line[1..]
    );
    let forged = note.replacen(
        &format!("\n{root_line}\n"),
        &format!("\n{forged_root}\n"),
        1,
    );
    assert_ne!(forged, note);
    let changed = db(&data)
        .execute(
            "UPDATE checkpoints SET note = ?3 WHERE region = ?1 AND size = ?2",
            rusqlite::params![BUSY_REGION, cp_size, forged],
        )
        .expect("update");
    assert_eq!(changed, 1);
    let said = verify_fails(&data, "checkpoint note");
    assert!(
        names(&said, &format!("checkpoint {cp_size}")),
        "checkpoint {cp_size}: {said}"
    );
}

// ---------------------------------------------------------------------------------------
// The live log: `jifen serve` answers /log/<region>/... with the same bytes.

/// GET over plain HTTP/1.1; returns (status, body).
fn http_get(addr: &str, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "tiles are sent whole: {head}"
    );
    (status, raw[split + 4..].to_vec())
}

#[test]
fn live_log_verifies_with_cloudflare_tlog_tiles() {
    use std::io::BufRead;
    let scratch = Scratch::new("live");
    let data = scratch.join("data");
    let regions = seed(&data, true);
    let mut child = common::jifen(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start jifen serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the banner");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // Mirror each region's log from the server exactly as a tlog-tiles client fetches
    // it (the checkpoint, then the tiles its size calls for), then check the mirror.
    let result = std::panic::catch_unwind(|| {
        for (region, entries) in &regions {
            let dir = scratch.join(&format!("live-{region}"));
            let (status, note) = http_get(&addr, &format!("/log/{region}/checkpoint"));
            assert_eq!(status, 200, "{region}: checkpoint");
            std::fs::create_dir_all(&dir).expect("mirror dir");
            std::fs::write(dir.join("checkpoint"), &note).expect("write");
            let size = open_checkpoint(&note, &vkey(&data, region))
                .expect("signed")
                .size();
            assert_eq!(size, *entries, "{region}");
            let mut wanted = Tile::new_tiles(TILE_HEIGHT, 0, size);
            let data_tiles: Vec<Tile> = wanted
                .iter()
                .filter(|t| t.level() == 0)
                .map(|t| {
                    let mut d = *t;
                    d.set_is_data();
                    d
                })
                .collect();
            wanted.extend(data_tiles);
            for t in &wanted {
                let path = c2sp_path(t);
                let (status, body) = http_get(&addr, &format!("/log/{region}/{path}"));
                assert_eq!(status, 200, "{region}: {path}");
                let file = dir.join(&path);
                std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
                std::fs::write(file, body).expect("write");
            }
            let verified = check_published(&dir, &vkey(&data, region))
                .unwrap_or_else(|e| panic!("{region}: {e}"));
            assert_eq!(verified.size, *entries);
            // A tile beyond the tree is not there.
            let (status, _) = http_get(&addr, &format!("/log/{region}/tile/0/999"));
            assert_eq!(status, 404, "{region}");
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
