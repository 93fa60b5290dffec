//! Regions: creation, refusals, listing, and the empty signed log each starts with.

use jifen_log::{Checkpoint, NoteVerifier, empty_root, open_note};

use crate::common::{CITY, Expect, VIL, check, rc, region_spec, spawn_store};

#[test]
fn a_new_region_is_listed_with_an_empty_signed_log() {
    let ts = spawn_store();
    let city_vkey = ts.add_region(CITY, None);
    let vil_vkey = ts.add_region(VIL, Some(CITY));
    assert_ne!(city_vkey, vil_vkey, "each region has its own key");

    let regions = ts.regions().expect("regions listed");
    let codes: Vec<&str> = regions.iter().map(|r| r.region.code.as_str()).collect();
    assert_eq!(codes, [CITY, VIL]);
    let vil = &regions[1];
    assert_eq!(vil.region.parent, Some(rc(CITY)));
    assert_eq!(vil.vkey, vil_vkey);
    assert_eq!(vil.origin, "jifen.test/log/vil");
    assert_eq!((vil.size, vil.members), (0, 0));

    for info in &regions {
        let (cp, note) = ts.checkpoint(&info.region.code).expect("checkpoint");
        assert_eq!(cp.size, 0);
        assert_eq!(cp.root, empty_root());
        let verifier = NoteVerifier::from_vkey(&info.vkey).expect("vkey parses");
        let text = open_note(&note, std::slice::from_ref(&verifier)).expect("note verifies");
        let signed = Checkpoint::parse(text).expect("checkpoint body");
        assert_eq!(signed, cp);
        assert_eq!(signed.origin, info.origin);
    }
    // A region's note does not verify under another region's key.
    let (_, city_note) = ts.checkpoint(&rc(CITY)).expect("checkpoint");
    let vil_verifier = NoteVerifier::from_vkey(&vil_vkey).expect("vkey parses");
    assert!(open_note(&city_note, std::slice::from_ref(&vil_verifier)).is_err());
}

#[test]
fn region_creation_refusals() {
    let ts = spawn_store();
    ts.add_region(CITY, None);
    let bad_prefix = {
        let mut s = region_spec("spaced", None);
        s.origin_prefix = "has space".into();
        s
    };
    let cases = [
        (
            "a duplicate code",
            region_spec(CITY, None),
            Expect::Conflict("exists already"),
        ),
        (
            "an unknown parent",
            region_spec("ghost", Some("nowhere")),
            Expect::NotFound("nowhere"),
        ),
        (
            "a bad origin prefix",
            bad_prefix,
            Expect::Rejected("origin prefix"),
        ),
        ("a known parent", region_spec(VIL, Some(CITY)), Expect::Ok),
    ];
    for (label, spec, expect) in cases {
        check(label, &ts.create_region(spec), expect);
    }
    let codes: Vec<String> = ts
        .regions()
        .expect("listed")
        .iter()
        .map(|r| r.region.code.as_str().to_owned())
        .collect();
    assert_eq!(codes, [CITY, VIL], "refused regions are not stored");
    // A refused region leaves no key behind, so it can be created once its parent exists.
    assert!(!ts.dir.path().join("keys/ghost.ed25519").exists());
    ts.add_region("nowhere", None);
    ts.add_region("ghost", Some("nowhere"));
}

#[test]
fn households_members_and_levels_refusals() {
    let ts = crate::common::spawn_village();
    let member = |id: Option<i64>, household: i64, name: &str| {
        ts.add_member(jifen_store::admin::NewMember {
            region: rc(VIL),
            id: id.map(crate::common::mid),
            household: crate::common::hid(household),
            name: name.into(),
        })
    };
    check(
        "a duplicate member",
        &member(Some(1), 1, "重名"),
        Expect::Conflict("member 1 exists already"),
    );
    check(
        "an unknown household",
        &member(None, 9, "新人"),
        Expect::NotFound("household 9"),
    );
    check(
        "an empty name",
        &member(None, 1, "  "),
        Expect::Rejected("member name"),
    );
    let next = member(None, 2, "新人");
    check("the next free id", &next, Expect::Ok);
    assert_eq!(next.ok().map(|m| m.get()), Some(4));
    let dup = ts.add_household(rc(VIL), Some(crate::common::hid(1)), "又一户");
    check(
        "a duplicate household",
        &dup,
        Expect::Conflict("household 1 exists already"),
    );
    check(
        "a household in an unknown region",
        &ts.add_household(rc("nowhere"), None, "户"),
        Expect::NotFound("nowhere"),
    );
    check(
        "levels of an unknown region",
        &ts.set_levels(rc("nowhere"), crate::common::levels(&[("a", 1)])),
        Expect::NotFound("nowhere"),
    );
    check(
        "an indicator of an unknown region",
        &ts.put_indicator(crate::common::indicator("nowhere", "X", 1)),
        Expect::NotFound("nowhere"),
    );
    assert_eq!(ts.region(&rc(VIL)).expect("region").members, 4);
}
