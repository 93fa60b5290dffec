//! tlog-tiles paths (`/log/<region>/tile/...`): `parse_tile_path` never panics and
//! accepts only the one encoding `tile_path` / `entries_path` give; and every path
//! those give for a level, index and width parses back to them.
#![no_main]

use jifen_log::{TILE_LEVEL_MAX, TilePath, entries_path, parse_tile_path, tile_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        match parse_tile_path(path) {
            Ok(TilePath::Hashes {
                level,
                index,
                width,
            }) => assert_eq!(tile_path(level, index, width), path),
            Ok(TilePath::Entries { index, width }) => assert_eq!(entries_path(index, width), path),
            Err(_) => {}
        }
    }
    // The other direction, from the first 11 bytes: level, index, width.
    if let Some((head, _)) = data.split_first_chunk::<11>() {
        let level = head[0] % (TILE_LEVEL_MAX + 1);
        let index = u64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
        let width = u16::from_le_bytes([head[9], head[10]]) % 256 + 1;
        let hashes = tile_path(level, index, width);
        assert_eq!(
            parse_tile_path(&hashes).ok(),
            Some(TilePath::Hashes {
                level,
                index,
                width
            }),
            "{hashes}"
        );
        let entries = entries_path(index, width);
        assert_eq!(
            parse_tile_path(&entries).ok(),
            Some(TilePath::Entries { index, width }),
            "{entries}"
        );
    }
});
