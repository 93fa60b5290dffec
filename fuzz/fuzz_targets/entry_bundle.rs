//! C2SP entry bundles (`tile/entries/...`): decoding never panics, holds at most 256
//! entries, and what decodes re-encodes to the same bytes.
#![no_main]

use jifen_log::{ENTRY_BUNDLE_ENTRIES_MAX, decode_entry_bundle, encode_entry_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = decode_entry_bundle(data) {
        assert!(entries.len() <= ENTRY_BUNDLE_ENTRIES_MAX);
        let again = encode_entry_bundle(entries.iter().map(Vec::as_slice))
            .expect("decoded entries fit a bundle");
        assert_eq!(again, data, "an entry bundle must round-trip");
    }
});
