//! CSV imports: the same text through `jifen import members` and `jifen import entries`
//! (jifen-store's `members_from_csv`, `entries_from_csv`) and the admin page's member
//! import (`check_members_csv`). None panics; rows keep their file order with line
//! numbers inside the file; the page marks exactly the rows without an error good, and
//! never lets a taken or repeated member number through.
#![no_main]

use std::collections::HashSet;

use jifen_core::MemberId;
use jifen_server::web::admin::{IMPORT_ROWS_MAX as PAGE_ROWS_MAX, check_members_csv};
use jifen_server::web::i18n::Lang;
use jifen_store::{IMPORT_ROWS_MAX, entries_from_csv, members_from_csv};
use libfuzzer_sys::fuzz_target;

/// Lines as a spreadsheet counts them: "\n", "\r\n" or a lone "\r" ends one.
fn lines_in(text: &str) -> u64 {
    let b = text.as_bytes();
    let ends = (0..b.len())
        .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count();
    u64::try_from(ends).expect("fits") + 1
}

#[track_caller]
fn check_lines(lines: impl Iterator<Item = Option<u64>>, total: u64) {
    let mut last = 1;
    for line in lines {
        let line = line.expect("an imported row names its line");
        assert!(
            line > last && line <= total,
            "line {line} after {last}, of {total}"
        );
        last = line;
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let total = lines_in(text);
    if let Ok(rows) = members_from_csv(text) {
        assert!(rows.len() <= IMPORT_ROWS_MAX);
        check_lines(rows.iter().map(|r| r.line), total);
        for r in &rows {
            assert!(!r.name.is_empty() && r.name.trim() == r.name);
        }
    }
    if let Ok(rows) = entries_from_csv(text) {
        assert!(rows.len() <= IMPORT_ROWS_MAX);
        check_lines(rows.iter().map(|r| r.line), total);
    }
    let taken: HashSet<i64> = [1, 2].into();
    for lang in Lang::ALL {
        let Ok((rows, good)) = check_members_csv(lang, text, &taken) else {
            continue;
        };
        assert!(!rows.is_empty() && rows.len() <= PAGE_ROWS_MAX);
        assert_eq!(rows.len(), good.len());
        let mut seen = HashSet::new();
        for (i, (row, g)) in rows.iter().zip(&good).enumerate() {
            assert_eq!(row.error.is_empty(), *g == Some(i), "row {i}");
            if row.error.is_empty() {
                assert!(!row.name.is_empty() && !row.household.is_empty());
                if !row.member.is_empty() {
                    let m = MemberId::parse(&row.member).expect("a good row's member parses");
                    assert!(!taken.contains(&m.get()), "member {m} is taken");
                    assert!(seen.insert(m.get()), "member {m} twice");
                }
            }
        }
    }
});
