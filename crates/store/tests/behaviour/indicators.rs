//! Indicators: "10+X" inheritance of core indicators, and versions.

use jifen_core::{EntryKind, IndicatorRef, PublicLeaf, Source};
use jifen_store::workflow::NewClaim;

use crate::common::{
    CITY, Expect, VIL, append_req, award, check, code, indicator, mid, op, rc, spawn_village,
};

#[test]
fn a_child_region_sees_its_parents_core_indicators_only() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "CORE", 5)
    });
    ts.put(indicator(CITY, "CITY-ONLY", 5));
    ts.put(indicator(VIL, "OWN", 2));

    let seen: Vec<String> = ts
        .visible_indicators(&rc(VIL))
        .expect("visible")
        .iter()
        .map(|i| i.code.as_str().to_owned())
        .collect();
    assert_eq!(seen, ["CORE", "OWN"]);

    let cases = [
        (
            "parent's core indicator",
            award(1, "CORE", 5, 1),
            Expect::Ok,
        ),
        ("own indicator", award(1, "OWN", 2, 1), Expect::Ok),
        (
            "parent's non-core indicator",
            award(1, "CITY-ONLY", 5, 1),
            Expect::NotFound("CITY-ONLY"),
        ),
    ];
    for (label, e, expect) in cases {
        check(label, &ts.append(append_req(VIL, e)), expect);
    }
    let claim = ts.submit_claim(NewClaim {
        region: rc(VIL),
        member: mid(1),
        indicator: code("CITY-ONLY"),
        quantity: 1,
        note: String::new(),
        source: Source::Claim,
        submitted_by: op(1),
        by_staff: false,
    });
    check(
        "claim under parent's non-core indicator",
        &claim,
        Expect::NotFound("CITY-ONLY"),
    );
    assert_eq!(ts.entry_count(VIL), 2);
}

#[test]
fn redefining_an_inherited_core_code_is_refused() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "CORE", 5)
    });
    let local = ts.put_indicator(indicator(VIL, "CORE", 50));
    check("local CORE", &local, Expect::Rejected("core"));
    // Still the parent's definition: 5 a unit.
    check(
        "award at the parent's rate",
        &ts.append(append_req(VIL, award(1, "CORE", 5, 1))),
        Expect::Ok,
    );
    check(
        "award at the refused local rate",
        &ts.append(append_req(VIL, award(1, "CORE", 50, 1))),
        Expect::Rejected("does not match"),
    );
}

/// The other order: the village has its own `X` first, then the city makes `X` core.
/// The rule "a region may not define a code an ancestor defines as core" must hold
/// either way, or the village silently shadows the city's core indicator.
#[test]
fn a_core_code_a_child_already_defines_is_refused() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "X", 50));
    let core = ts.put_indicator(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "X", 5)
    });
    assert!(
        core.is_err(),
        "a core indicator whose code a descendant region already defines must be refused, got {core:?}"
    );
}

#[test]
fn a_second_definition_makes_version_two_and_entries_name_it() {
    let ts = spawn_village();
    assert_eq!(ts.put(indicator(VIL, "MEET", 5)), 1);
    let v2 = ts.put(jifen_core::Indicator {
        review: jifen_core::ReviewPolicy::Auto,
        ..indicator(VIL, "MEET", 8)
    });
    assert_eq!(v2, 2);
    let latest = ts.visible_indicators(&rc(VIL)).expect("visible");
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].version, latest[0].points.get()), (2, 8));

    let mut e2 = award(1, "MEET", 8, 1);
    e2.indicator = Some(IndicatorRef {
        code: code("MEET"),
        version: 2,
    });
    let posted = ts.append_ok(VIL, e2);
    assert_eq!(posted.indicator.as_ref().map(|i| i.version), Some(2));
    // Version 1 is kept: an entry may still name it, at its own rate.
    let v1 = ts.append_ok(VIL, award(1, "MEET", 5, 1));
    assert_eq!(v1.indicator.as_ref().map(|i| i.version), Some(1));
    let mut wrong = award(1, "MEET", 5, 1);
    wrong.indicator = Some(IndicatorRef {
        code: code("MEET"),
        version: 2,
    });
    check(
        "version 2 at version 1's rate",
        &ts.append(append_req(VIL, wrong)),
        Expect::Rejected("does not match"),
    );

    // A claim takes the latest version (auto review here, so it posts at once).
    let claim = ts
        .submit_claim(NewClaim {
            region: rc(VIL),
            member: mid(1),
            indicator: code("MEET"),
            quantity: 2,
            note: String::new(),
            source: Source::Claim,
            submitted_by: op(1),
            by_staff: false,
        })
        .expect("claim posts");
    let e = claim.entry.expect("posted entry");
    assert_eq!((e.kind, e.amount.get()), (EntryKind::Award, 16));
    assert_eq!(e.indicator.as_ref().map(|i| i.version), Some(2));

    // The public leaf names the version too.
    let (_, leaf, _) = ts.receipt(&rc(VIL), e.seq).expect("receipt");
    let decoded = PublicLeaf::decode(&leaf).expect("leaf decodes");
    assert_eq!(decoded.indicator.map(|i| i.version), Some(2));
    assert!(String::from_utf8_lossy(&leaf).contains("indicator MEET/2\n"));
}

#[test]
fn a_new_version_of_a_parents_core_indicator_reaches_a_busy_child() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "CORE", 5)
    });
    // The village's sequencer is loaded and caches what it sees.
    ts.append_ok(VIL, award(1, "CORE", 5, 1));
    assert_eq!(
        ts.put(jifen_core::Indicator {
            core: true,
            ..indicator(CITY, "CORE", 7)
        }),
        2
    );
    let mut v2 = award(1, "CORE", 7, 1);
    v2.indicator = Some(IndicatorRef {
        code: code("CORE"),
        version: 2,
    });
    let e = ts.append_ok(VIL, v2);
    assert_eq!(e.indicator.map(|i| i.version), Some(2));
    ts.audit(|_, _| {}).expect("audit passes");
}

/// A parent that makes a new, non-core version of a core indicator stops passing
/// it down: the region's listing drops it, and the sequencer must agree and refuse
/// entries under the non-core version (it decides visibility over every version,
/// so the old core one keeps the code visible).
#[test]
fn a_non_core_version_is_not_inherited() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "CORE", 5)
    });
    assert_eq!(ts.put(indicator(CITY, "CORE", 5)), 2, "version 2, not core");
    let seen: Vec<String> = ts
        .visible_indicators(&rc(VIL))
        .expect("visible")
        .iter()
        .map(|i| i.code.as_str().to_owned())
        .collect();
    assert!(seen.is_empty(), "the village no longer sees CORE: {seen:?}");
    let mut v2 = award(1, "CORE", 5, 1);
    v2.indicator = Some(IndicatorRef {
        code: code("CORE"),
        version: 2,
    });
    check(
        "an award under the non-core version",
        &ts.append(append_req(VIL, v2)),
        Expect::NotFound("CORE"),
    );
}
