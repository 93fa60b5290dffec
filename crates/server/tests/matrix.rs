//! The role matrix: every route of the API × every role (and no one), with the
//! outcome each should get. One table, checked two ways:
//! - every (method, path) the OpenAPI document lists has a row, and every row is
//!   in the document, so a route added without deciding who may call it fails here;
//! - each cell is sent to a running server: "allowed" must answer the row's
//!   success status, "refused" exactly 401 (no one signed in) or 403 (signed in,
//!   wrong role), as problem details.
//!
//! Each role gets its own fresh app with the same seed (an entry, two claims
//! awaiting review, an open event), so a cell never depends on what another
//! role's cells wrote. Within one app the rows run in table order; rows that end
//! something (logout) come last.

mod common;
use common::*;

use std::collections::BTreeSet;

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Reviewer,
    Station,
    Merchant,
    Auditor,
    Resident,
    Anonymous,
}

use Who::*;

const EVERY: &[Who] = &[
    Admin, Reviewer, Station, Merchant, Auditor, Resident, Anonymous,
];
/// Everyone signed in: every fixture account holds a role in the village.
const SIGNED_IN: &[Who] = &[Admin, Reviewer, Station, Merchant, Auditor, Resident];
/// Staff who see and record for residents.
const STAFF: &[Who] = &[Admin, Reviewer, Station];
/// Staff, and member 1 (the fixture resident) for their own records.
const STAFF_AND_OWNER: &[Who] = &[Admin, Reviewer, Station, Resident];
const ADMIN_ONLY: &[Who] = &[Admin];
const REVIEWER_ONLY: &[Who] = &[Reviewer];
const REVIEWER_OR_ADMIN: &[Who] = &[Reviewer, Admin];
const RESIDENT_ONLY: &[Who] = &[Resident];
/// Who read a member's data: the member, the admin and the auditor.
const OWNER_ADMIN_AUDITOR: &[Who] = &[Admin, Auditor, Resident];
const AUDITOR_OR_ADMIN: &[Who] = &[Admin, Auditor];
const STATION_OR_ADMIN: &[Who] = &[Admin, Station];
/// A member's reasons in the shop: the member, and station staff.
const STATION_AND_OWNER: &[Who] = &[Station, Resident];
/// The smallest PNG there is (1×1): the seed's reward picture.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];
/// Member 1's code: the member, and station staff and admins (to print a card).
const STATION_ADMIN_OWNER: &[Who] = &[Admin, Station, Resident];

impl Who {
    fn username(self) -> Option<&'static str> {
        match self {
            Admin => Some("admin"),
            Reviewer => Some("reviewer"),
            Station => Some("station"),
            Merchant => Some("merchant"),
            Auditor => Some("auditor"),
            Resident => Some("resident"),
            Anonymous => None,
        }
    }
}

/// One route: how to call it, who may, and what "allowed" answers.
struct Row {
    method: &'static str,
    /// The path as the OpenAPI document writes it.
    template: &'static str,
    /// The same with concrete ids from the seed.
    path: String,
    body: Option<Value>,
    allowed: &'static [Who],
    /// The status an allowed caller gets.
    ok: u16,
}

fn row(
    method: &'static str,
    template: &'static str,
    path: &str,
    body: Option<Value>,
    allowed: &'static [Who],
    ok: u16,
) -> Row {
    Row {
        method,
        template,
        path: path.to_owned(),
        body,
        allowed,
        ok,
    }
}

/// What the seed made, for the rows to name.
struct Seed {
    /// Member 1's posted entry.
    entry: String,
    /// Two claims of member 3 awaiting review: one to approve, one to reject.
    to_approve: String,
    to_reject: String,
    /// A third, to decide through the committee's batch decision.
    to_decide: String,
    /// An open event's number and what its check-in link carries.
    event: i64,
    checkin: Value,
    /// A claim of member 3 on public notice, to object to.
    in_notice: String,
    /// A filed appeal of member 3 against an entry reviewer2 approved.
    appeal: String,
    /// A reward of sponsor coop (the fixture merchant's), and two reservations of
    /// member 1: one to confirm, one to cancel. 2025 is closed.
    reward: u64,
    redemption: u64,
    to_cancel: u64,
    code: String,
    /// The partner region's log key in the village's two agreements, `sz` (to set
    /// again) and `hz` (to end).
    partner_vkey: String,
}

/// The same seed in every app: an entry for member 1, two claims for member 3
/// awaiting review, and an event open now.
fn seed(app: &App) -> Seed {
    let resident = app.login("resident");
    let resident2 = app.login("resident2");
    let reviewer = app.login("reviewer");
    let claims = format!("/api/v1/regions/{VIL}/claims");
    let claim = |token: &str, member: i64| -> String {
        let r = app.post(
            &claims,
            Some(token),
            &json!({"member": member, "indicator": "TREE", "note": "seed"}),
            None,
        );
        assert_eq!(r.status, 201, "seed claim: {}", r.text());
        r.json()["id"].as_str().expect("claim id").to_owned()
    };
    let first = claim(&resident, 1);
    let r = app.post(
        &format!("/api/v1/claims/{first}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "seed approval: {}", r.text());
    let entry = r.json()["entry"].as_str().expect("entry id").to_owned();
    let to_approve = claim(&resident2, 3);
    let to_reject = claim(&resident2, 3);
    let to_decide = claim(&resident2, 3);
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/events"),
        Some(&reviewer),
        &json!({"name": "议事会", "indicator": "MEET",
                "starts_at": "2026-03-10T09:00:00+08:00", "ends_at": "2026-03-10T12:00:00+08:00"}),
        None,
    );
    assert_eq!(r.status, 201, "seed event: {}", r.text());
    let ev = r.json();
    let event: i64 = ev["id"]
        .as_str()
        .and_then(|id| id.rsplit_once(':'))
        .and_then(|(_, n)| n.parse().ok())
        .expect("event id <region>:<number>");
    let url = ev["checkin_url"].as_str().expect("checkin_url").to_owned();
    let query = url.split_once('?').expect("a query").1;
    let mut exp = None;
    let mut sig = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("exp", v)) => exp = v.parse::<i64>().ok(),
            Some(("sig", v)) => sig = Some(v.to_owned()),
            _ => {}
        }
    }
    // A claim on public notice, and an appeal waiting for a decision.
    let reviewer2 = app.login("reviewer2");
    let proposal = app.post(
        &claims,
        Some(&resident2),
        &json!({"member": 3, "indicator": "PROPOSAL", "note": "seed"}),
        None,
    );
    assert_eq!(proposal.status, 201, "seed proposal: {}", proposal.text());
    let in_notice = proposal.json()["id"].as_str().expect("claim id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{in_notice}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.json()["status"], "in-notice", "seed notice: {}", r.text());
    let tree = claim(&resident2, 3);
    let r = app.post(
        &format!("/api/v1/claims/{tree}/approve"),
        Some(&reviewer2),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "seed approval: {}", r.text());
    let appealed = r.json()["entry"].as_str().expect("entry id").to_owned();
    let r = app.post(
        &format!("/api/v1/entries/{appealed}/appeal"),
        Some(&resident2),
        &json!({"statement": "seed"}),
        None,
    );
    assert_eq!(r.status, 201, "seed appeal: {}", r.text());
    let appeal = r.json()["id"].as_str().expect("appeal id").to_owned();
    // The supermarket: a sponsor, a reward, points to spend, two reservations; 2025 closed.
    let (reward, redemption, to_cancel, code) = seed_market(app);
    let partner_vkey = jifen_log::NoteSigner::new(
        "jifen.sz/log/sz",
        ed25519_dalek::SigningKey::from_bytes(&[8; 32]),
    )
    .expect("signer")
    .vkey();
    for name in ["sz", "hz"] {
        app.store
            .put_agreement(
                jifen_core::RegionCode::parse(VIL).expect("code"),
                jifen_core::RegionCode::parse(name).expect("code"),
                jifen_core::recognition::Agreement {
                    partner_origin: "jifen.sz/log/sz".into(),
                    partner_vkey: partner_vkey.clone(),
                    send: true,
                    receive: true,
                    categories: vec![],
                    rate_num: 1,
                    rate_den: 1,
                    cap_per_member_year: jifen_core::Points::new(0),
                    valid_from: jifen_core::clock::parse_date("2026-01-01").expect("date"),
                    valid_to: None,
                    witnesses: vec![],
                    quorum: 0,
                    count_scores: false,
                },
            )
            .expect("seed agreement");
    }
    // Transfer 1: a point of member 1's to sz, for the statement's row.
    let admin = app.login("admin");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/members/1/transfers"),
        Some(&admin),
        &json!({"partner": "sz", "points": 1}),
        None,
    );
    assert_eq!(r.status, 201, "seed transfer: {}", r.text());
    Seed {
        partner_vkey,
        reward,
        redemption,
        to_cancel,
        code,
        entry,
        to_approve,
        to_reject,
        to_decide,
        event,
        in_notice,
        appeal,
        checkin: json!({"region": VIL, "event": event,
                        "exp": exp.expect("exp"), "sig": sig.expect("sig")}),
    }
}

fn seed_market(app: &App) -> (u64, u64, u64, String) {
    use jifen_core::market::{Reward, RewardKind, Sponsor, SponsorKind};
    let region = jifen_core::RegionCode::parse(VIL).expect("code");
    let coop = jifen_core::SponsorCode::parse("coop").expect("code");
    app.store
        .put_sponsor(
            region.clone(),
            Sponsor {
                code: coop.clone(),
                name: "供销社".into(),
                kind: SponsorKind::Merchant,
                budget: jifen_core::Points::new(10_000),
            },
        )
        .expect("sponsor");
    let reward = app
        .store
        .add_reward(
            region.clone(),
            Reward {
                name: "肥皂".into(),
                description: String::new(),
                kind: RewardKind::Goods,
                price: jifen_core::Points::new(1),
                stock: 100,
                min_level: None,
                limit: None,
                sponsor: coop,
                active_from: jifen_core::clock::parse_date("2026-01-01").expect("date"),
                active_to: None,
                category: None,
            },
        )
        .expect("reward");
    app.store
        .set_reward_picture(region.clone(), reward, PNG.to_vec())
        .expect("picture");
    let member = jifen_core::MemberId::new(1).expect("id");
    app.store
        .append(jifen_store::Append {
            region: region.clone(),
            entry: jifen_core::NewEntry {
                kind: jifen_core::EntryKind::BaseGrant,
                member,
                amount: jifen_core::Points::new(100),
                indicator: None,
                quantity: 1,
                reason: jifen_core::Reason::new(jifen_core::Source::Year, 2026),
                operator: jifen_core::OperatorId::new(1).expect("id"),
                reverses: None,
                sponsor: None,
                counts_annual: false,
            },
            idempotency_key: None,
        })
        .expect("points to spend");
    let reserve = || {
        app.store
            .reserve(jifen_store::market::Reserve {
                region: region.clone(),
                reward,
                member,
                by: jifen_core::OperatorId::new(7).expect("id"),
            })
            .expect("reserved")
    };
    let (a, b) = (reserve(), reserve());
    app.store
        .close_year(
            &region,
            2025,
            jifen_core::OperatorId::new(1).expect("id"),
            |_| {},
        )
        .expect("2025 closed");
    (reward, a.id, b.id, a.code.to_string())
}

/// Every route, in the order the cells run.
fn table(s: &Seed) -> Vec<Row> {
    let v = VIL;
    let ev = s.event;
    vec![
        // Public.
        row(
            "GET",
            "/api/v1/regions",
            "/api/v1/regions",
            None,
            EVERY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}",
            &format!("/api/v1/regions/{v}"),
            None,
            EVERY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/indicators",
            &format!("/api/v1/regions/{v}/indicators"),
            None,
            EVERY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/indicators/{code}/versions",
            &format!("/api/v1/regions/{v}/indicators/TREE/versions"),
            None,
            EVERY,
            200,
        ),
        // Signing in needs no token; a caller who has one may sign in again.
        row(
            "POST",
            "/api/v1/auth/login",
            "/api/v1/auth/login",
            Some(json!({"username": "auditor", "password": PASSWORD})),
            EVERY,
            200,
        ),
        row(
            "GET",
            "/api/v1/auth/me",
            "/api/v1/auth/me",
            None,
            SIGNED_IN,
            200,
        ),
        row(
            "GET",
            "/api/v1/auth/me/sign-ins",
            "/api/v1/auth/me/sign-ins",
            None,
            SIGNED_IN,
            200,
        ),
        row(
            "PUT",
            "/api/v1/auth/me/large-text",
            "/api/v1/auth/me/large-text",
            Some(json!({"on": true})),
            SIGNED_IN,
            200,
        ),
        row(
            "PUT",
            "/api/v1/auth/me/language",
            "/api/v1/auth/me/language",
            Some(json!({"lang": "en"})),
            SIGNED_IN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/settings",
            &format!("/api/v1/regions/{v}/settings"),
            None,
            EVERY,
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/settings",
            &format!("/api/v1/regions/{v}/settings"),
            Some(json!({"default_lang": "zh", "stations_run_events": false})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/witnesses",
            &format!("/api/v1/regions/{v}/witnesses"),
            None,
            EVERY,
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/witnesses",
            &format!("/api/v1/regions/{v}/witnesses"),
            Some(json!({"witnesses": [], "quorum": 0})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/agreements",
            &format!("/api/v1/regions/{v}/agreements"),
            None,
            EVERY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/agreements/{partner}",
            &format!("/api/v1/regions/{v}/agreements/sz"),
            None,
            EVERY,
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/agreements/{partner}",
            &format!("/api/v1/regions/{v}/agreements/sz"),
            Some(
                json!({"partner_origin": "jifen.sz/log/sz", "partner_vkey": s.partner_vkey,
                        "send": true, "valid_from": "2026-01-01"}),
            ),
            ADMIN_ONLY,
            200,
        ),
        row(
            "DELETE",
            "/api/v1/regions/{region}/agreements/{partner}",
            &format!("/api/v1/regions/{v}/agreements/hz"),
            None,
            ADMIN_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/members/{member}/transfers",
            &format!("/api/v1/regions/{v}/members/1/transfers"),
            Some(json!({"partner": "sz", "points": 1})),
            STATION_ADMIN_OWNER,
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/transfers",
            &format!("/api/v1/regions/{v}/members/1/transfers"),
            None,
            STATION_ADMIN_OWNER,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/transfers/{transfer}/statement",
            &format!("/api/v1/regions/{v}/transfers/1/statement"),
            None,
            STATION_ADMIN_OWNER,
            200,
        ),
        // Allowed callers get the statement refused (it is none); the rest, the caller.
        row(
            "POST",
            "/api/v1/regions/{region}/transfers-in",
            &format!("/api/v1/regions/{v}/transfers-in"),
            Some(json!({"member": 1, "statement": "none", "secret": "none"})),
            STATION_OR_ADMIN,
            422,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/transfers-in",
            &format!("/api/v1/regions/{v}/transfers-in"),
            None,
            EVERY,
            200,
        ),
        // Member 1 has no closed year: allowed callers get the statement refused.
        row(
            "POST",
            "/api/v1/regions/{region}/members/{member}/score-statements",
            &format!("/api/v1/regions/{v}/members/1/score-statements"),
            Some(json!({"partner": "sz"})),
            STATION_ADMIN_OWNER,
            422,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/recognized-scores",
            &format!("/api/v1/regions/{v}/recognized-scores"),
            Some(json!({"member": 1, "statement": "none", "secret": "none"})),
            STATION_OR_ADMIN,
            422,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/recognized-scores",
            &format!("/api/v1/regions/{v}/members/1/recognized-scores"),
            None,
            STATION_ADMIN_OWNER,
            200,
        ),
        // The seed's reward has a picture: anyone may see it; a body that is not
        // an image is refused (422) to admins, the caller to everyone else.
        row(
            "GET",
            "/api/v1/regions/{region}/rewards/{id}/picture",
            &format!("/api/v1/regions/{v}/rewards/{}/picture", s.reward),
            None,
            EVERY,
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/rewards/{id}/picture",
            &format!("/api/v1/regions/{v}/rewards/{}/picture", s.reward),
            Some(json!({"not": "an image"})),
            ADMIN_ONLY,
            422,
        ),
        row(
            "DELETE",
            "/api/v1/regions/{region}/rewards/{id}/picture",
            &format!("/api/v1/regions/{v}/rewards/{}/picture", s.reward),
            None,
            ADMIN_ONLY,
            204,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/reward-refusals",
            &format!("/api/v1/regions/{v}/members/1/reward-refusals"),
            None,
            STATION_AND_OWNER,
            200,
        ),
        // Claims.
        row(
            "POST",
            "/api/v1/regions/{region}/claims",
            &format!("/api/v1/regions/{v}/claims"),
            // Staff record it for member 1 (a station with them present); the resident, member 1, claims it.
            Some(json!({"member": 1, "indicator": "TREE", "note": "matrix", "present": true})),
            STAFF_AND_OWNER,
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/claims",
            &format!("/api/v1/regions/{v}/claims"),
            None,
            STAFF_AND_OWNER,
            200,
        ),
        // Member 3's claim: member 1 may not see it.
        row(
            "GET",
            "/api/v1/claims/{id}",
            &format!("/api/v1/claims/{}", s.to_approve),
            None,
            STAFF,
            200,
        ),
        row(
            "POST",
            "/api/v1/claims/{id}/approve",
            &format!("/api/v1/claims/{}/approve", s.to_approve),
            Some(json!({})),
            REVIEWER_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/claims/{id}/reject",
            &format!("/api/v1/claims/{}/reject", s.to_reject),
            Some(json!({})),
            REVIEWER_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/claims/decide",
            &format!("/api/v1/regions/{v}/claims/decide"),
            Some(json!({"claims": [s.to_decide], "decision": "reject", "reason": "证据不足"})),
            REVIEWER_ONLY,
            200,
        ),
        // Finding a resident, and member 1's member code.
        row(
            "GET",
            "/api/v1/regions/{region}/members/find",
            &format!("/api/v1/regions/{v}/members/find?q=1"),
            None,
            STAFF,
            200,
        ),
        // A code that finds no one: staff are told so (404); everyone else is
        // refused before the code is looked at.
        row(
            "GET",
            "/api/v1/regions/{region}/members/by-code/{code}",
            &format!("/api/v1/regions/{v}/members/by-code/2222-2222-2222-2222"),
            None,
            STAFF,
            404,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/code",
            &format!("/api/v1/regions/{v}/members/1/code"),
            None,
            STATION_ADMIN_OWNER,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/members/{member}/code/renew",
            &format!("/api/v1/regions/{v}/members/1/code/renew"),
            Some(json!({})),
            STATION_ADMIN_OWNER,
            200,
        ),
        // Entries and balances of member 1.
        row(
            "GET",
            "/api/v1/entries/{id}",
            &format!("/api/v1/entries/{}", s.entry),
            None,
            STAFF_AND_OWNER,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/balance",
            &format!("/api/v1/regions/{v}/members/1/balance"),
            None,
            STAFF_AND_OWNER,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/data-access",
            &format!("/api/v1/regions/{v}/members/1/data-access"),
            None,
            OWNER_ADMIN_AUDITOR,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/attributes",
            &format!("/api/v1/regions/{v}/members/1/attributes"),
            None,
            STAFF_AND_OWNER,
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/members/{member}/attributes",
            &format!("/api/v1/regions/{v}/members/1/attributes"),
            Some(json!({"birth_year": 1958, "residence": "migrant"})),
            STATION_OR_ADMIN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/evaluation",
            &format!("/api/v1/regions/{v}/evaluation?year=2026"),
            None,
            AUDITOR_OR_ADMIN,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/evaluation/what-if",
            &format!("/api/v1/regions/{v}/evaluation/what-if?year=2026"),
            Some(json!({"latest": true})),
            AUDITOR_OR_ADMIN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/evaluation/export",
            &format!("/api/v1/regions/{v}/evaluation/export?year=2026&k=2"),
            None,
            AUDITOR_OR_ADMIN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/data-access/summary",
            &format!("/api/v1/regions/{v}/data-access/summary"),
            None,
            AUDITOR_OR_ADMIN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members/{member}/entries",
            &format!("/api/v1/regions/{v}/members/1/entries"),
            None,
            STAFF_AND_OWNER,
            200,
        ),
        // Events and check-in.
        row(
            "POST",
            "/api/v1/regions/{region}/events",
            &format!("/api/v1/regions/{v}/events"),
            Some(json!({"name": "植树日", "indicator": "TREE",
                        "starts_at": "2026-03-10T08:00:00+08:00", "ends_at": "2026-03-10T18:00:00+08:00"})),
            REVIEWER_OR_ADMIN,
            201,
        ),
        // Anyone with a role in the region (every fixture account has one in the village).
        row(
            "GET",
            "/api/v1/regions/{region}/events/{event}",
            &format!("/api/v1/regions/{v}/events/{ev}"),
            None,
            SIGNED_IN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/events/{event}/qr.svg",
            &format!("/api/v1/regions/{v}/events/{ev}/qr.svg"),
            None,
            REVIEWER_OR_ADMIN,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/events/{event}/qr.png",
            &format!("/api/v1/regions/{v}/events/{ev}/qr.png"),
            None,
            REVIEWER_OR_ADMIN,
            200,
        ),
        row(
            "POST",
            "/api/v1/checkin",
            "/api/v1/checkin",
            Some(s.checkin.clone()),
            RESIDENT_ONLY,
            201,
        ),
        // Admin.
        row(
            "POST",
            "/api/v1/regions/{region}/households",
            &format!("/api/v1/regions/{v}/households"),
            Some(json!({"label": "9号"})),
            ADMIN_ONLY,
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/members",
            &format!("/api/v1/regions/{v}/members"),
            None,
            STAFF,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/members",
            &format!("/api/v1/regions/{v}/members"),
            Some(json!({"household": 1, "name": "新人"})),
            ADMIN_ONLY,
            201,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/members/{member}/large-text",
            &format!("/api/v1/regions/{v}/members/1/large-text"),
            Some(json!({"on": true})),
            STAFF,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/members/{member}/erase",
            &format!("/api/v1/regions/{v}/members/4/erase"),
            Some(json!({})),
            ADMIN_ONLY,
            204,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/indicators",
            &format!("/api/v1/regions/{v}/indicators"),
            Some(
                json!({"code": "BLOOD", "name": "献血", "category": "德治", "points": 20, "unit": "次",
                        "evidence": "note", "review": "one", "claimants": "residents",
                        "valid_from": "2026-01-01", "core": false, "notice_days": 0}),
            ),
            ADMIN_ONLY,
            201,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/levels",
            &format!("/api/v1/regions/{v}/levels"),
            Some(json!([{"code": "voucher", "name": "购物券", "min_score": 800}])),
            ADMIN_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/accounts",
            "/api/v1/accounts",
            Some(json!({"username": "newcomer", "display_name": "新来的"})),
            ADMIN_ONLY,
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/accounts",
            &format!("/api/v1/regions/{v}/accounts"),
            None,
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/accounts/{account}/sign-ins",
            &format!("/api/v1/regions/{v}/accounts/7/sign-ins"),
            None,
            ADMIN_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/accounts/{account}/unlock",
            &format!("/api/v1/regions/{v}/accounts/7/unlock"),
            Some(json!({})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/roles",
            &format!("/api/v1/regions/{v}/roles"),
            Some(json!({"account": 6, "role": "reviewer"})),
            ADMIN_ONLY,
            204,
        ),
        row(
            "DELETE",
            "/api/v1/regions/{region}/roles/{account}/{role}",
            &format!("/api/v1/regions/{v}/roles/3/reviewer"),
            None,
            ADMIN_ONLY,
            204,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/tokens",
            &format!("/api/v1/regions/{v}/tokens"),
            Some(json!({"account": 4, "role": "station", "days": 30})),
            ADMIN_ONLY,
            201,
        ),
        // Public notice (公示) and appeals.
        row(
            "GET",
            "/api/v1/regions/{region}/notice",
            &format!("/api/v1/regions/{v}/notice"),
            None,
            EVERY,
            200,
        ),
        row(
            "POST",
            "/api/v1/claims/{id}/object",
            &format!("/api/v1/claims/{}/object", s.in_notice),
            Some(json!({"reason": "并非本人"})),
            SIGNED_IN,
            201,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/notice/close",
            &format!("/api/v1/regions/{v}/notice/close"),
            Some(json!({})),
            REVIEWER_OR_ADMIN,
            200,
        ),
        row(
            "POST",
            "/api/v1/entries/{id}/appeal",
            &format!("/api/v1/entries/{}/appeal", s.entry),
            Some(json!({"statement": "当时不在场"})),
            RESIDENT_ONLY,
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/appeals",
            &format!("/api/v1/regions/{v}/appeals"),
            None,
            &[Admin, Reviewer, Resident],
            200,
        ),
        row(
            "POST",
            "/api/v1/appeals/{id}/decide",
            &format!("/api/v1/appeals/{}/decide", s.appeal),
            Some(json!({"decision": "uphold"})),
            REVIEWER_OR_ADMIN,
            200,
        ),
        // The points supermarket and the yearly cycle.
        row(
            "GET",
            "/api/v1/regions/{region}/policy",
            &format!("/api/v1/regions/{v}/policy"),
            None,
            &[Admin, Auditor],
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/policy",
            &format!("/api/v1/regions/{v}/policy"),
            Some(json!({"reservation_hours": 72, "base_grant": 100})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/sponsors",
            &format!("/api/v1/regions/{v}/sponsors"),
            None,
            &[Admin, Auditor],
            200,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/sponsors/{sponsor}",
            &format!("/api/v1/regions/{v}/sponsors/coop"),
            Some(json!({"name": "供销社", "kind": "merchant", "budget": 20000})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/rewards",
            &format!("/api/v1/regions/{v}/rewards"),
            None,
            SIGNED_IN,
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/rewards",
            &format!("/api/v1/regions/{v}/rewards"),
            Some(
                json!({"name": "毛巾", "kind": "goods", "price": 5, "stock": 10,
                        "sponsor": "coop", "active_from": "2026-01-01"}),
            ),
            ADMIN_ONLY,
            201,
        ),
        row(
            "PUT",
            "/api/v1/regions/{region}/rewards/{id}",
            &format!("/api/v1/regions/{v}/rewards/{}", s.reward),
            Some(
                json!({"name": "肥皂", "kind": "goods", "price": 1, "stock": 99,
                        "sponsor": "coop", "active_from": "2026-01-01"}),
            ),
            ADMIN_ONLY,
            200,
        ),
        // The resident redeems for themself, the station for member 1 who is present.
        row(
            "POST",
            "/api/v1/regions/{region}/redemptions",
            &format!("/api/v1/regions/{v}/redemptions"),
            Some(json!({"reward": s.reward, "member": 1, "present": true})),
            &[Station, Resident],
            201,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/redemptions",
            &format!("/api/v1/regions/{v}/redemptions"),
            None,
            &[Admin, Auditor, Resident],
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/redemptions/{id}",
            &format!("/api/v1/regions/{v}/redemptions/{}", s.redemption),
            None,
            &[Admin, Auditor, Resident],
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/redemptions/{id}/qr.svg",
            &format!("/api/v1/regions/{v}/redemptions/{}/qr.svg", s.redemption),
            None,
            &[Admin, Auditor, Resident],
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/redemptions/{id}/cancel",
            &format!("/api/v1/regions/{v}/redemptions/{}/cancel", s.to_cancel),
            Some(json!({})),
            &[Admin, Resident],
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/merchant/confirm",
            &format!("/api/v1/regions/{v}/merchant/confirm"),
            Some(json!({"code": s.code})),
            &[Merchant],
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/merchant/redemptions",
            &format!("/api/v1/regions/{v}/merchant/redemptions"),
            None,
            &[Merchant],
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/budget",
            &format!("/api/v1/regions/{v}/budget"),
            None,
            &[Admin, Auditor],
            200,
        ),
        row(
            "POST",
            "/api/v1/regions/{region}/years/{year}/close",
            &format!("/api/v1/regions/{v}/years/2025/close"),
            Some(json!({})),
            ADMIN_ONLY,
            200,
        ),
        row(
            "GET",
            "/api/v1/regions/{region}/years/{year}/report",
            &format!("/api/v1/regions/{v}/years/2025/report"),
            None,
            &[Admin, Auditor],
            200,
        ),
        // Last: these end the caller's session (each is sent with a fresh one).
        row(
            "POST",
            "/api/v1/auth/logout-everywhere",
            "/api/v1/auth/logout-everywhere",
            Some(json!({})),
            SIGNED_IN,
            204,
        ),
        row(
            "POST",
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            Some(json!({})),
            SIGNED_IN,
            204,
        ),
    ]
}

/// (method, path) of every operation the OpenAPI document lists.
fn documented(app: &App) -> BTreeSet<(String, String)> {
    let r = app.get("/api/openapi.json", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Sends every row as `who` to a fresh app; returns what did not match.
fn run(who: Who) -> Vec<String> {
    let app = spawn_app();
    let s = seed(&app);
    let token = who.username().map(|u| app.login(u));
    let auth = token.as_ref().map(|t| format!("Bearer {t}"));
    let mut wrong = Vec::new();
    for r in table(&s) {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        // A row that ends the session gets a session of its own to end.
        let fresh;
        let auth = match (
            r.template.starts_with("/api/v1/auth/logout"),
            who.username(),
        ) {
            (true, Some(u)) => {
                fresh = Some(format!("Bearer {}", app.login(u)));
                &fresh
            }
            _ => &auth,
        };
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let bytes = r
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).expect("json"));
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let res = app.request(r.method, &r.path, &headers, bytes.as_deref());
        let allowed = r.allowed.contains(&who);
        let expected = match (allowed, who) {
            (true, _) => r.ok,
            (false, Anonymous) => 401,
            (false, _) => 403,
        };
        let problem = res.header("content-type") == Some("application/problem+json");
        if res.status != expected || (!allowed && !problem) {
            wrong.push(format!(
                "{who:?} {} {}: expected {expected} ({}), got {}: {}",
                r.method,
                r.path,
                if allowed { "allowed" } else { "refused" },
                res.status,
                res.text().chars().take(200).collect::<String>()
            ));
        }
    }
    wrong
}

#[test]
fn every_route_has_a_row_and_every_row_a_route() {
    let app = spawn_app();
    let s = seed(&app);
    let rows: BTreeSet<(String, String)> = table(&s)
        .iter()
        .map(|r| (r.method.to_owned(), r.template.to_owned()))
        .collect();
    assert_eq!(rows.len(), table(&s).len(), "each route has one row");
    let doc = documented(&app);
    let missing: Vec<_> = doc.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&doc).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the role matrix (decide who may call them, add a row): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes the OpenAPI document does not list: {stale:?}"
    );
    // Every row's concrete path fits its template.
    for r in table(&s) {
        let t: Vec<&str> = r.template.split('/').collect();
        let path = r.path.split('?').next().unwrap_or_default();
        let p: Vec<&str> = path.split('/').collect();
        assert_eq!(t.len(), p.len(), "{} vs {}", r.template, r.path);
        for (a, b) in t.iter().zip(&p) {
            assert!(
                a.starts_with('{') || a == b,
                "{} does not fit {}",
                r.path,
                r.template
            );
        }
    }
}

#[test]
fn every_role_gets_what_the_matrix_says() {
    // One app per role, in parallel: each is its own server over its own store.
    let wrong: Vec<String> = std::thread::scope(|sc| {
        let handles: Vec<_> = EVERY
            .iter()
            .map(|who| sc.spawn(move || run(*who)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a role's cells ran"))
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "{} cell(s) of the role matrix are wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
