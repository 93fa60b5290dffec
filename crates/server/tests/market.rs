//! The points supermarket over HTTP: the whole redemption path, the race for the
//! last item, merchant isolation, refunds on timeout, budgets, and the yearly
//! close with its report.

mod common;
use common::*;

use serde_json::{Value, json};

fn put(app: &App, path: &str, token: &str, body: &Value) -> Res {
    let auth = format!("Bearer {token}");
    let bytes = serde_json::to_vec(body).expect("json");
    app.request(
        "PUT",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&bytes),
    )
}

/// A stocked shelf: sponsor coop (the fixture merchant's) with `budget`, a reward
/// of `price` with `stock` items, and 100 points for members 1 and 3.
fn shelf(app: &App, budget: i64, price: i64, stock: i64) -> (String, u64) {
    let admin = app.login("admin");
    let r = put(
        app,
        &format!("/api/v1/regions/{VIL}/sponsors/coop"),
        &admin,
        &json!({"name": "供销社", "kind": "merchant", "budget": budget}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/rewards"),
        Some(&admin),
        &json!({"name": "大米 5kg", "description": "东北大米", "kind": "goods", "price": price,
                "stock": stock, "sponsor": "coop", "active_from": "2026-01-01"}),
        Some("reward-1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let reward = r.json()["id"].as_u64().expect("id");
    let grant = |m: i64| {
        app.store
            .append(jifen_store::Append {
                region: jifen_core::RegionCode::parse(VIL).expect("code"),
                entry: jifen_core::NewEntry {
                    kind: jifen_core::EntryKind::BaseGrant,
                    member: jifen_core::MemberId::new(m).expect("id"),
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
            .expect("grant")
    };
    grant(1);
    grant(3);
    (admin, reward)
}

fn spendable(app: &App, token: &str, member: i64) -> i64 {
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/members/{member}/balance"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["spendable"].as_i64().expect("spendable")
}

fn reserve(app: &App, token: &str, reward: u64, member: i64) -> Res {
    app.post(
        &format!("/api/v1/regions/{VIL}/redemptions"),
        Some(token),
        &json!({"reward": reward, "member": member}),
        None,
    )
}

#[test]
fn a_resident_redeems_and_the_merchant_confirms() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 10_000, 30, 5);
    let resident = app.login("resident");
    let merchant = app.login("merchant");

    let list = app.get(&format!("/api/v1/regions/{VIL}/rewards"), Some(&resident));
    assert_eq!(list.status, 200);
    assert_eq!(list.json()[0]["name"], "大米 5kg");

    // A double tap with the same key reserves once.
    let path = format!("/api/v1/regions/{VIL}/redemptions");
    let body = json!({"reward": reward, "member": 1});
    let first = app.post(&path, Some(&resident), &body, Some("tap-1"));
    assert_eq!(first.status, 201, "{}", first.text());
    let again = app.post(&path, Some(&resident), &body, Some("tap-1"));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let d = first.json();
    assert_eq!(d, again.json());
    assert_eq!(d["status"], "reserved");
    assert_eq!(spendable(&app, &resident, 1), 70);
    let code = d["code"].as_str().expect("code").to_owned();
    let id = d["id"].as_u64().expect("id");

    // The resident's QR code; someone else's redemption reads as absent.
    let qr = app.get(
        &format!("/api/v1/regions/{VIL}/redemptions/{id}/qr.svg"),
        Some(&resident),
    );
    assert_eq!(qr.status, 200);
    assert!(qr.text().contains("<svg"));
    let resident2 = app.login("resident2");
    let theirs = app.get(
        &format!("/api/v1/regions/{VIL}/redemptions/{id}"),
        Some(&resident2),
    );
    assert_eq!(theirs.status, 404, "{}", theirs.text());

    // The merchant's pending list shows the code and item, nothing about the resident.
    let pending = app.get(
        &format!("/api/v1/regions/{VIL}/merchant/redemptions?status=reserved"),
        Some(&merchant),
    );
    assert_eq!(pending.status, 200);
    let item = &pending.json()["items"][0];
    assert_eq!(item["code"], code.as_str());
    assert!(item.get("member").is_none(), "{item}");

    // Typed in lower case with spaces, the code still confirms.
    let typed = code.to_lowercase().replace('-', " ");
    let confirm = format!("/api/v1/regions/{VIL}/merchant/confirm");
    let r = app.post(&confirm, Some(&merchant), &json!({"code": typed}), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "fulfilled");
    assert!(r.json().get("member").is_none());
    let r = app.post(&confirm, Some(&merchant), &json!({"code": code}), None);
    assert_eq!(r.status, 409, "{}", r.text());
    let r = app.post(&confirm, Some(&merchant), &json!({"code": "no such"}), None);
    assert_eq!((r.status, r.json()["field"].as_str()), (422, Some("code")));

    // A fulfilled redemption cannot be cancelled; the ledger verifies.
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/redemptions/{id}/cancel"),
        Some(&resident),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    let mine = app.get(
        &format!("/api/v1/regions/{VIL}/redemptions"),
        Some(&resident),
    );
    assert_eq!(mine.json()["items"][0]["status"], "fulfilled");
    let budget = app.get(&format!("/api/v1/regions/{VIL}/budget"), Some(&admin));
    assert_eq!(budget.status, 200);
    let b = budget.json();
    assert_eq!(b["sponsors"][0]["sponsor"]["used"], 30);
    assert_eq!(b["sponsors"][0]["sponsor"]["left"], 9_970);
    app.store.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn two_residents_race_for_the_last_item() {
    let app = spawn_app();
    let (_, reward) = shelf(&app, 10_000, 10, 1);
    let tokens = [app.login("resident"), app.login("resident2")];
    let results: Vec<(i64, u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = [(0, 1), (1, 3)]
            .into_iter()
            .map(|(t, m)| {
                let (app, tokens) = (&app, &tokens);
                s.spawn(move || {
                    let r = reserve(app, &tokens[t], reward, m);
                    (m, r.status, r.json())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let won: Vec<_> = results.iter().filter(|r| r.1 == 201).collect();
    let lost: Vec<_> = results.iter().filter(|r| r.1 == 422).collect();
    assert_eq!((won.len(), lost.len()), (1, 1), "{results:?}");
    assert!(
        lost[0].2["detail"]
            .as_str()
            .is_some_and(|d| d.contains("out of stock")),
        "{results:?}"
    );
    let admin = app.login("admin");
    assert_eq!(spendable(&app, &admin, won[0].0), 90);
    assert_eq!(spendable(&app, &admin, lost[0].0), 100);
    app.store.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_merchant_sees_and_confirms_only_its_own_sponsors_redemptions() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 10_000, 10, 5);
    // A second merchant, for another sponsor.
    let r = put(
        &app,
        &format!("/api/v1/regions/{VIL}/sponsors/bank"),
        &admin,
        &json!({"name": "农商银行", "kind": "merchant", "budget": 1000}),
    );
    assert_eq!(r.status, 201);
    let r = app.post(
        "/api/v1/accounts",
        Some(&admin),
        &json!({"username": "bank", "display_name": "农商银行", "password": PASSWORD}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let bank_id = r.json()["id"].as_i64().expect("id");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/roles"),
        Some(&admin),
        &json!({"account": bank_id, "role": "merchant", "sponsor": "bank"}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let bank = app.login("bank");
    let resident = app.login("resident");
    let d = reserve(&app, &resident, reward, 1).json();
    let code = d["code"].as_str().expect("code");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/merchant/confirm"),
        Some(&bank),
        &json!({"code": code}),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let list = app.get(
        &format!("/api/v1/regions/{VIL}/merchant/redemptions"),
        Some(&bank),
    );
    assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(0));
    // Merchants do not list residents' redemptions or see a resident's one.
    let r = app.get(&format!("/api/v1/regions/{VIL}/redemptions"), Some(&bank));
    assert_eq!(r.status, 403);
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/redemptions/{}", d["id"]),
        Some(&bank),
    );
    assert_eq!(r.status, 403);
}

#[test]
fn reservations_not_fulfilled_in_time_are_refunded() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 10_000, 25, 2);
    let r = put(
        &app,
        &format!("/api/v1/regions/{VIL}/policy"),
        &admin,
        &json!({"reservation_hours": 24, "base_grant": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let resident = app.login("resident");
    let resident2 = app.login("resident2");

    let a = reserve(&app, &resident, reward, 1).json();
    let b = reserve(&app, &resident2, reward, 3).json();
    assert_eq!(spendable(&app, &admin, 1), 75);
    let now = app.store.clock().now();
    app.clock.set(jifen_core::Timestamp::from_millis(
        now.millis() + 25 * 3_600_000,
    ));
    // The sweep the server runs every minute.
    let swept = app.store.expire_reservations().expect("sweep");
    assert_eq!(swept.len(), 2);
    // A day later, sessions have ended: sign in again.
    let (admin, resident, resident2, merchant) = (
        app.login("admin"),
        app.login("resident"),
        app.login("resident2"),
        app.login("merchant"),
    );
    for (token, m, d) in [(&resident, 1, &a), (&resident2, 3, &b)] {
        let r = app.get(
            &format!("/api/v1/regions/{VIL}/redemptions/{}", d["id"]),
            Some(token),
        );
        let v = r.json();
        assert_eq!(v["status"], "expired");
        assert!(v["refund_entry"].is_string(), "{v}");
        assert_eq!(spendable(&app, &admin, m), 100);
    }
    // The stock is back, and a stale code is refused with the reason.
    let list = app.get(&format!("/api/v1/regions/{VIL}/rewards"), Some(&resident));
    assert_eq!(list.json()[0]["stock"], 2);
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/merchant/confirm"),
        Some(&merchant),
        &json!({"code": a["code"]}),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    app.store.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn bad_input_is_named() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 100, 10, 5);
    let rewards = format!("/api/v1/regions/{VIL}/rewards");
    let cases = [
        (
            json!({"name": "x", "kind": "car", "price": 1, "stock": 1, "sponsor": "coop", "active_from": "2026-01-01"}),
            "kind",
        ),
        (
            json!({"name": "x", "kind": "goods", "price": 0, "stock": 1, "sponsor": "coop", "active_from": "2026-01-01"}),
            "price",
        ),
        (
            json!({"name": "x", "kind": "goods", "price": 1, "stock": -1, "sponsor": "coop", "active_from": "2026-01-01"}),
            "stock",
        ),
        (
            json!({"name": "x", "kind": "goods", "price": 1, "stock": 1, "sponsor": "coop", "active_from": "2026-13-01"}),
            "active_from",
        ),
        (
            json!({"name": "x", "kind": "goods", "price": 1, "stock": 1, "sponsor": "coop", "active_from": "2026-01-01", "limit_count": 1}),
            "limit_period",
        ),
        (
            json!({"name": "", "kind": "goods", "price": 1, "stock": 1, "sponsor": "coop", "active_from": "2026-01-01"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&rewards, Some(&admin), &body, None);
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}");
    }
    let r = app.post(
        &rewards,
        Some(&admin),
        &json!({"name": "x", "kind": "goods", "price": 1, "stock": 1, "sponsor": "nobody", "active_from": "2026-01-01"}),
        None,
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("sponsor nobody"), "{}", r.text());
    let r = put(
        &app,
        &format!("/api/v1/regions/{VIL}/policy"),
        &admin,
        &json!({"reservation_hours": 0, "base_grant": 0}),
    );
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("reservation_hours"))
    );
    // Five items in stock: the sixth is refused.
    let resident = app.login("resident");
    for _ in 0..5 {
        assert_eq!(reserve(&app, &resident, reward, 1).status, 201);
    }
    let station = app.login("station");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/redemptions"),
        Some(&station),
        &json!({"reward": reward, "member": 3}),
        None,
    );
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("present"))
    );
    let r = reserve(&app, &resident, reward, 1);
    assert_eq!(r.status, 422);
    assert!(r.text().contains("out of stock"), "{}", r.text());
    let r = reserve(&app, &resident, reward, 3);
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn the_year_closes_once_over_http_and_reports() {
    let app = spawn_app();
    let admin = app.login("admin");
    let auditor = app.login("auditor");
    let r = put(
        &app,
        &format!("/api/v1/regions/{VIL}/policy"),
        &admin,
        &json!({"reservation_hours": 72, "base_grant": 100, "model_household_score": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let close = |year: i32| {
        app.post(
            &format!("/api/v1/regions/{VIL}/years/{year}/close"),
            Some(&admin),
            &json!({}),
            None,
        )
    };
    let r = close(2026);
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("has not ended"));
    let r = close(2025);
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(first["status"], "closed");
    assert_eq!(first["already"], false);
    // The fixture's members all joined in 2026: none has a 2025 score to freeze,
    // but every member gets 2026's base grant.
    let members = first["members"].as_u64().expect("members");
    assert_eq!(members, 0, "{first}");
    let granted_members = first["granted_members"].as_i64().expect("granted_members");
    assert!(granted_members >= 3, "{first}");
    assert_eq!(first["granted"].as_i64(), Some(100 * granted_members));
    let again = close(2025).json();
    assert_eq!(again["already"], true);
    assert_eq!(again["granted"], first["granted"]);
    let resident = app.login("resident");
    assert_eq!(spendable(&app, &resident, 1), 100, "granted once");

    let report = format!("/api/v1/regions/{VIL}/years/2025/report");
    let r = app.get(&report, Some(&auditor));
    assert_eq!(r.status, 200, "{}", r.text());
    let csv = app.get(&format!("{report}?format=csv"), Some(&admin));
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.text()
            .starts_with("section,code,name,category,count,points\n")
    );
    assert!(
        csv.text()
            .contains(&format!("summary,members,,,{members},\n")),
        "{}",
        csv.text()
    );
    let r = app.get(&format!("{report}?format=xml"), Some(&admin));
    assert_eq!(r.status, 422);
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/years/2024/report"),
        Some(&admin),
    );
    assert_eq!(r.status, 404);
    app.store.audit(|_, _| {}).expect("audit passes");
}

/// A 1×1 PNG, and the same bytes padded past the limit.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn put_picture(app: &App, token: &str, reward: u64, bytes: &[u8], key: &str) -> Res {
    let auth = format!("Bearer {token}");
    app.request(
        "PUT",
        &format!("/api/v1/regions/{VIL}/rewards/{reward}/picture"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "image/png"),
            ("Idempotency-Key", key),
        ],
        Some(bytes),
    )
}

#[test]
fn a_rewards_picture_is_checked_kept_and_served_with_caching() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 1000, 10, 5);
    // Not an image, and too large: refused, nothing kept.
    let r = put_picture(&app, &admin, reward, b"GIF89a not ours", "p1");
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["field"], "picture");
    let mut big = PNG.to_vec();
    big.resize(jifen_core::market::PICTURE_BYTES_MAX + 1, 0);
    let r = put_picture(&app, &admin, reward, &big, "p2");
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("at most 204800"), "{}", r.text());
    let mut huge = PNG.to_vec();
    huge.resize(jifen_core::market::PICTURE_BYTES_MAX + 64 * 1024, 0);
    let r = put_picture(&app, &admin, reward, &huge, "p3");
    assert_eq!(r.status, 413, "{}", r.text());
    let picture = format!("/api/v1/regions/{VIL}/rewards/{reward}/picture");
    assert_eq!(app.get(&picture, None).status, 404);
    // A reward number past what the store holds is one that does not exist.
    let far = app.get(
        &format!("/api/v1/regions/{VIL}/rewards/9223372036854775808/picture"),
        None,
    );
    assert_eq!(far.status, 404, "{}", far.text());
    let far = app.get(
        &format!("/api/v1/regions/{VIL}/redemptions/9223372036854775808"),
        Some(&admin),
    );
    assert_eq!(far.status, 404, "{}", far.text());
    // A resident may not set one.
    let r = put_picture(&app, &app.login("resident"), reward, PNG, "p4");
    assert_eq!(r.status, 403, "{}", r.text());
    // The admin's: served to anyone, its path in the list, cached by its ETag.
    let r = put_picture(&app, &admin, reward, PNG, "p5");
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = r.json()["picture"].as_str().expect("path").to_owned();
    assert!(listed.starts_with(&format!("{picture}?v=")), "{listed}");
    let list = app.get(
        &format!("/api/v1/regions/{VIL}/rewards"),
        Some(&app.login("resident")),
    );
    assert_eq!(list.json()[0]["picture"], listed.as_str());
    let got = app.get(&listed, None);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.body, PNG);
    assert!(
        got.header("cache-control")
            .unwrap_or("")
            .contains("immutable"),
        "{:?}",
        got.headers
    );
    // Without the path that names these bytes it is checked again each time.
    let plain = app.get(&picture, None);
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    let etag = got.header("etag").expect("etag").to_owned();
    let again = app.request("GET", &picture, &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // Removed: gone from the list and the address.
    let auth = format!("Bearer {admin}");
    let r = app.request(
        "DELETE",
        &picture,
        &[("Authorization", &auth), ("Idempotency-Key", "p6")],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(app.get(&picture, None).status, 404);
}

#[test]
fn the_shop_says_before_the_click_when_the_level_or_the_limit_stops_a_member() {
    let app = spawn_app();
    let (admin, _) = shelf(&app, 10_000, 1, 50);
    let add = |body: Value, key: &str| {
        let r = app.post(
            &format!("/api/v1/regions/{VIL}/rewards"),
            Some(&admin),
            &body,
            Some(key),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_u64().expect("id")
    };
    // The fixture's one level, "voucher", starts at 800 points: nobody holds it yet.
    let high = add(
        json!({"name": "荣誉证书", "kind": "goods", "price": 1, "stock": 5, "sponsor": "coop",
               "active_from": "2026-01-01", "min_level": "voucher", "category": "荣誉"}),
        "r-level",
    );
    let once = add(
        json!({"name": "电影票", "kind": "voucher", "price": 1, "stock": 5, "sponsor": "coop",
               "active_from": "2026-01-01", "limit_count": 1, "limit_period": "month", "category": "购物券"}),
        "r-limit",
    );
    let resident = app.login("resident");
    let r = reserve(&app, &resident, once, 1);
    assert_eq!(r.status, 201, "{}", r.text());
    let refusals = app.get(
        &format!("/api/v1/regions/{VIL}/members/1/reward-refusals"),
        Some(&resident),
    );
    assert_eq!(refusals.status, 200, "{}", refusals.text());
    let list = refusals.json();
    let code_of = |id: u64| {
        list.as_array()
            .and_then(|l| l.iter().find(|x| x["reward"] == id))
            .map(|x| x["code"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(code_of(once).as_deref(), Some("limit-reached"), "{list}");
    assert_eq!(code_of(high).as_deref(), Some("level-too-low"), "{list}");
    // The same reasons the reservation gives.
    let r = reserve(&app, &resident, once, 1);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "limit-reached");
    // Member 3 has not redeemed it: nothing stops them but the level.
    let other = app.get(
        &format!("/api/v1/regions/{VIL}/members/3/reward-refusals"),
        Some(&app.login("resident2")),
    );
    assert!(
        other
            .json()
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["reward"] != once)),
        "{}",
        other.text()
    );
    // Nobody else's reasons.
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/members/3/reward-refusals"),
        Some(&resident),
    );
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn the_budget_gives_what_residents_held_at_each_months_end() {
    let app = spawn_app();
    let (admin, reward) = shelf(&app, 1000, 10, 5);
    let r = reserve(&app, &app.login("resident"), reward, 1);
    assert_eq!(r.status, 201, "{}", r.text());
    let b = app.get(&format!("/api/v1/regions/{VIL}/budget"), Some(&admin));
    assert_eq!(b.status, 200, "{}", b.text());
    let b = b.json();
    let months = b["months"].as_array().expect("months");
    let last = months.last().expect("this month");
    // 100 + 100 granted this month, 10 redeemed: 190 held now, nothing before.
    assert_eq!(last["outstanding"], 190, "{b}");
    assert_eq!(b["outstanding"], 190, "{b}");
    assert!(
        months[..months.len() - 1]
            .iter()
            .all(|m| m["outstanding"] == 0),
        "{b}"
    );
}
