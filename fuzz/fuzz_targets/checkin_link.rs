//! The event QR payload: a scanned or typed check-in link through `scanned_path` (the
//! `/scan` page), then its signature through `genuine` (`POST /api/v1/checkin`).
//! Neither panics; a link the scanner accepts leads to the check-in page, or to a
//! resident's member-code page with a well-formed code, and is accepted again as it is; only the one signature the link key gives is genuine. And the other
//! way: every link the server prints for a region, event and expiry scans, and carries
//! a genuine signature.
#![no_main]

use jifen_core::{RegionCode, Timestamp};
use jifen_server::api::events::{checkin_link, genuine};
use jifen_server::web::resident::scanned_path;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [7; 32];

/// The `sig` of the link the server would print for (region, event, exp).
fn signature(region: &RegionCode, event: i64, exp: i64) -> String {
    let link = checkin_link(&KEY, "", region, event, Timestamp::from_millis(exp));
    let (_, sig) = link
        .rsplit_once("&sig=")
        .expect("a link ends in its signature");
    sig.to_owned()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(link) = std::str::from_utf8(data)
        && let Some(path) = scanned_path(link)
    {
        assert_eq!(scanned_path(&path).as_deref(), Some(path.as_str()));
        if let Some(member) = path.strip_prefix("/r/") {
            // A resident's member code: a valid region and the code as printed.
            let (region, code) = member.split_once("/m/").expect("a member-code page");
            RegionCode::parse(region).expect("scanned_path checked the region");
            assert_eq!(
                jifen_store::find::normalize_code(code).as_deref(),
                Some(code),
                "the code as printed"
            );
            return;
        }
        let rest = path.strip_prefix("/c/").expect("the check-in page");
        let (route, query) = rest.split_once('?').expect("a query");
        let (region, event) = route.split_once('/').expect("region and event");
        let region = RegionCode::parse(region).expect("scanned_path checked the region");
        let event: u64 = event.parse().expect("scanned_path checked the event");
        let mut exp = None;
        let mut sig = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v.parse::<i64>().ok(),
                Some(("sig", v)) => sig = Some(v),
                _ => {}
            }
        }
        if let (Ok(event), Some(exp), Some(sig)) = (i64::try_from(event), exp, sig)
            && genuine(&KEY, &region, event, exp, sig)
        {
            assert_eq!(sig.trim(), signature(&region, event, exp));
        }
    }
    // The other way: a region code of up to 8 bytes, an event and an expiry.
    if let Some((head, tail)) = data.split_first_chunk::<16>() {
        let n = usize::from(head[0] % 9);
        let Some(code) = tail.get(..n).and_then(|c| std::str::from_utf8(c).ok()) else {
            return;
        };
        let Ok(region) = RegionCode::parse(code) else {
            return;
        };
        let event = i64::from(u32::from_le_bytes(head[1..5].try_into().expect("4"))) + 1;
        let exp = i64::from_le_bytes(head[5..13].try_into().expect("8"));
        let link = checkin_link(
            &KEY,
            "https://jf.example",
            &region,
            event,
            Timestamp::from_millis(exp),
        );
        let path = scanned_path(&link).unwrap_or_else(|| panic!("{link} does not scan"));
        assert!(path.starts_with(&format!("/c/{region}/{event}?exp={exp}&sig=")));
        let sig = signature(&region, event, exp);
        assert!(genuine(&KEY, &region, event, exp, &sig));
    }
});
