//! C2SP entry bundles (c2sp.org/tlog-tiles "Log entries"): up to 256 entries, each a
//! big-endian u16 length followed by its bytes.

use crate::error::Error;

/// The largest entry a bundle can hold: its length must fit a u16.
pub const ENTRY_BYTES_MAX: usize = 65_535;
/// Entries in a full bundle, the same as hashes in a full level-0 tile.
pub const ENTRY_BUNDLE_ENTRIES_MAX: usize = 256;

/// Bytes of each entry's length prefix.
const LENGTH_BYTES: usize = 2;

/// Encodes entries as a bundle. Refuses entries over [`ENTRY_BYTES_MAX`] bytes and more
/// than [`ENTRY_BUNDLE_ENTRIES_MAX`] entries.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, Error> {
    let mut bundle = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        if index == ENTRY_BUNDLE_ENTRIES_MAX {
            return Err(Error::TooManyEntries);
        }
        let length = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLarge {
            index,
            bytes: entry.len(),
        })?;
        bundle.extend_from_slice(&length.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Decodes a bundle into its entries. Refuses a truncated bundle and one of more than
/// [`ENTRY_BUNDLE_ENTRIES_MAX`] entries. An empty bundle decodes to no entries.
pub fn decode_entry_bundle(bundle: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        if entries.len() == ENTRY_BUNDLE_ENTRIES_MAX {
            return Err(Error::TooManyEntries);
        }
        let (length, after) =
            rest.split_first_chunk::<LENGTH_BYTES>()
                .ok_or(Error::MalformedEntryBundle(
                    "it ends inside a length prefix",
                ))?;
        let length = usize::from(u16::from_be_bytes(*length));
        if after.len() < length {
            return Err(Error::MalformedEntryBundle(
                "it ends before the entry its last length prefix announces",
            ));
        }
        let (entry, after) = after.split_at(length);
        entries.push(entry.to_vec());
        rest = after;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_layout_is_u16_big_endian_length_then_bytes() {
        let entries: [&[u8]; 3] = [b"ab", b"", &[0xff; 300]];
        let bundle = encode_entry_bundle(entries).expect("small entries");
        assert_eq!(&bundle[..4], [0x00, 0x02, b'a', b'b']);
        assert_eq!(&bundle[4..6], [0x00, 0x00]);
        assert_eq!(&bundle[6..8], [0x01, 0x2c]);
        assert_eq!(bundle.len(), 8 + 300);
        assert_eq!(decode_entry_bundle(&bundle).expect("valid"), entries);
    }

    #[test]
    fn size_limits_are_enforced() {
        let largest = vec![7u8; ENTRY_BYTES_MAX];
        let bundle = encode_entry_bundle([largest.as_slice()]).expect("fits");
        assert_eq!(decode_entry_bundle(&bundle).expect("valid"), [largest]);

        let too_large = vec![7u8; ENTRY_BYTES_MAX + 1];
        assert!(matches!(
            encode_entry_bundle([b"x".as_slice(), too_large.as_slice()]),
            Err(Error::EntryTooLarge {
                index: 1,
                bytes: 65_536
            })
        ));

        let many = vec![&b"e"[..]; ENTRY_BUNDLE_ENTRIES_MAX];
        let full = encode_entry_bundle(many.iter().copied()).expect("256 fit");
        assert_eq!(decode_entry_bundle(&full).expect("valid").len(), 256);
        let too_many = vec![&b"e"[..]; ENTRY_BUNDLE_ENTRIES_MAX + 1];
        assert!(matches!(
            encode_entry_bundle(too_many.iter().copied()),
            Err(Error::TooManyEntries)
        ));
        let mut overfull = full.clone();
        overfull.extend_from_slice(&[0, 0]);
        assert!(matches!(
            decode_entry_bundle(&overfull),
            Err(Error::TooManyEntries)
        ));
    }

    #[test]
    fn truncated_bundles_are_refused() {
        assert!(decode_entry_bundle(&[0x00]).is_err());
        assert!(decode_entry_bundle(&[0x00, 0x03, b'a', b'b']).is_err());
        assert!(decode_entry_bundle(&[0x00, 0x01, b'a', 0x00]).is_err());
        assert_eq!(
            decode_entry_bundle(&[]).expect("empty"),
            Vec::<Vec<u8>>::new()
        );
    }
}
