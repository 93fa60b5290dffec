//! Events and QR check-in over HTTP: a reviewer opens an event, shows its QR
//! code, residents check in with the signed link (by the API and by the page the
//! code leads to), and forged, replayed, late and anonymous check-ins are refused.

mod common;
use common::*;

use hmac::{KeyInit, Mac};
use jifen_core::Timestamp;
use serde_json::{Value, json};

const HOUR_MS: i64 = 3_600_000;

/// The value of the hidden form field `name` in a page.
fn hidden_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name} in {html}"));
    let rest = &html[at..];
    let v = &rest[rest.find("value=\"").expect("a value") + 7..];
    v[..v.find('"').expect("closed")].to_owned()
}

fn checkin_body(region: &str, event: i64, exp: i64, sig: &str) -> Value {
    json!({"region": region, "event": event, "exp": exp, "sig": sig})
}

fn event_body(name: &str, starts_at: &str, ends_at: &str) -> Value {
    json!({"name": name, "indicator": "MEET", "starts_at": starts_at, "ends_at": ends_at})
}

/// A signature made with a key that is not the server's.
fn forged_sig(region: &str, event: i64, exp: i64) -> String {
    use base64::Engine as _;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[9u8; 32]).expect("any key length");
    m.update(format!("{region}\n{event}\n{exp}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&m.finalize().into_bytes()[..])
}

fn claims_of(app: &App, token: &str, member: i64) -> Vec<Value> {
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/claims?member={member}"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().expect("items").clone()
}

#[test]
fn events_and_qr_check_in() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let resident = app.login("resident");
    let resident2 = app.login("resident2");
    let reviewer3 = app.login("reviewer3");
    let now = fixture_time().millis();
    let ends_ms = now + 2 * HOUR_MS;

    // A reviewer opens today's meeting, 09:00–12:00 China time.
    let body = event_body(
        "三月村民议事会",
        "2026-03-10T09:00:00+08:00",
        "2026-03-10T12:00:00+08:00",
    );
    let path = format!("/api/v1/regions/{VIL}/events");
    let r = app.post(&path, Some(&reviewer), &body, Some("ev-1"));
    assert_eq!(r.status, 201, "{}", r.text());
    let ev = r.json();
    assert_eq!(ev["id"], "vil:1");
    assert_eq!(ev["name"], "三月村民议事会");
    assert_eq!(ev["indicator"], "MEET");
    assert_eq!(ev["starts_at"], "2026-03-10T09:00:00+08:00");
    assert_eq!(ev["ends_at"], "2026-03-10T12:00:00+08:00");
    let url = ev["checkin_url"].as_str().expect("checkin_url").to_owned();
    let (region, event, exp, sig) = link_parts(&url);
    assert_eq!((region.as_str(), event, exp), (VIL, 1, ends_ms));
    assert_eq!(sig.len(), 43, "an HMAC-SHA256 in base64url: {sig}");
    // A retry with the same key answers the same and opens nothing new.
    let again = app.post(&path, Some(&reviewer), &body, Some("ev-1"));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), ev);

    // Anyone with a role in the region reads it; the link only staff (a resident
    // gets it by scanning the code at the event); no one else.
    let r = app.get("/api/v1/regions/vil/events/1", Some(&resident));
    assert_eq!(r.status, 200, "{}", r.text());
    let mut without_link = ev.clone();
    without_link
        .as_object_mut()
        .expect("object")
        .remove("checkin_url");
    assert_eq!(r.json(), without_link);
    assert_eq!(
        app.get("/api/v1/regions/vil/events/1", Some(&reviewer))
            .json(),
        ev
    );
    assert_eq!(app.get("/api/v1/regions/vil/events/1", None).status, 401);
    let r = app.get("/api/v1/regions/vil/events/99", Some(&reviewer));
    assert_eq!(r.status, 404, "{}", r.text());

    // The QR code, as SVG and as PNG; residents cannot fetch it.
    let r = app.get("/api/v1/regions/vil/events/1/qr.svg", Some(&reviewer));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    let svg = r.text();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    let r = app.get("/api/v1/regions/vil/events/1/qr.png", Some(&reviewer));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(&r.body[..8], b"\x89PNG\r\n\x1a\n");
    check_png_is_the_link(&r.body, &url);
    let r = app.get("/api/v1/regions/vil/events/1/qr.png", Some(&resident));
    assert_eq!(r.status, 403, "{}", r.text());

    // The resident checks in with what the link carries: a claim under MEET, from the event.
    let r = app.post(
        "/api/v1/checkin",
        Some(&resident),
        &checkin_body(&region, event, exp, &sig),
        Some("in-1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json();
    assert_eq!(claim["indicator"], "MEET");
    assert_eq!(claim["source"], "event");
    assert_eq!(claim["status"], "submitted");
    assert_eq!(claim["member"], 1);
    let listed = claims_of(&app, &reviewer, 1);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], claim["id"]);
    // A retry with the same key is the same answer; a second check-in is a conflict.
    let r = app.post(
        "/api/v1/checkin",
        Some(&resident),
        &checkin_body(&region, event, exp, &sig),
        Some("in-1"),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(r.json(), claim);
    let r = app.post(
        "/api/v1/checkin",
        Some(&resident),
        &checkin_body(&region, event, exp, &sig),
        Some("in-2"),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(claims_of(&app, &reviewer, 1).len(), 1);

    // Forged codes: another key's signature, a stretched expiry, another event, garbage.
    let not_genuine = [
        checkin_body(VIL, 1, exp, &forged_sig(VIL, 1, exp)),
        checkin_body(VIL, 1, exp + HOUR_MS, &sig),
        checkin_body(VIL, 2, exp, &sig),
        checkin_body(VIL, 1, exp, "not-a-signature"),
    ];
    for body in &not_genuine {
        let r = app.post("/api/v1/checkin", Some(&resident2), body, None);
        assert_eq!(r.status, 403, "{body}: {}", r.text());
        assert_eq!(
            r.json()["detail"],
            "the check-in code is not genuine",
            "{body}"
        );
    }
    assert!(claims_of(&app, &reviewer, 3).is_empty());

    // Creating events is for reviewers and admins; times must be RFC 3339.
    let r = app.post(
        &path,
        Some(&resident),
        &event_body(
            "x",
            "2026-03-10T09:00:00+08:00",
            "2026-03-10T12:00:00+08:00",
        ),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let bad_times = [
        ("2026-03-10 09:00", "2026-03-10T12:00:00+08:00", "starts_at"),
        ("2026-03-10T09:00:00+08:00", "tomorrow", "ends_at"),
        (
            "2026-03-10T09:00:00+08:00",
            "2026-03-10T09:00:00+08:00",
            "ends_at",
        ),
        (
            "2026-03-10T09:00:00+08:00",
            "2026-05-10T09:00:00+08:00",
            "ends_at",
        ),
    ];
    for (starts, ends, field) in bad_times {
        let r = app.post(&path, Some(&reviewer), &event_body("x", starts, ends), None);
        assert_eq!(r.status, 422, "{starts} {ends}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{starts} {ends}");
    }

    // An event that has not started yet refuses check-in with the reason.
    let r = app.post(
        &path,
        Some(&reviewer),
        &event_body(
            "下午活动",
            "2026-03-10T14:00:00+08:00",
            "2026-03-10T15:00:00+08:00",
        ),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (lr, le, lexp, lsig) = link_parts(r.json()["checkin_url"].as_str().expect("url"));
    let r = app.post(
        "/api/v1/checkin",
        Some(&resident2),
        &checkin_body(&lr, le, lexp, &lsig),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("opens at"),
        "{}",
        r.text()
    );

    // The page the QR code leads to: anonymous callers are sent to sign in.
    let r = app.get(&url, None);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        r.header("location").is_some_and(|l| l.contains("/login")),
        "{:?}",
        r.header("location")
    );
    assert!(claims_of(&app, &reviewer, 3).is_empty());
    // A signed-in resident opening it is asked to confirm; the GET checks no one in.
    let cookie = format!("jifen_session={resident2}");
    let r = app.request("GET", &url, &[("Cookie", &cookie)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    let html = r.text();
    assert!(
        html.contains(&format!("action=\"/c/{region}/{event}\"")),
        "{html}"
    );
    assert!(
        claims_of(&app, &reviewer, 3).is_empty(),
        "opening the link is not checking in"
    );
    let csrf = hidden_value(&html, "csrf");
    let confirm = |key: &str, sig: &str| {
        let body = format!("csrf={csrf}&key={key}&exp={exp}&sig={sig}");
        app.request(
            "POST",
            &format!("/c/{region}/{event}"),
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &app.url("")),
            ],
            Some(body.as_bytes()),
        )
    };
    // The button checks in.
    let r = confirm("page-1", &sig);
    assert_eq!(r.status, 303, "{}", r.text());
    let made = claims_of(&app, &reviewer, 3);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["source"], "event");
    assert_eq!(made[0]["indicator"], "MEET");
    // Pressing it again (a new press, not a retry) is refused with the reason.
    let r = confirm("page-2", &sig);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("签到过这个活动"), "{}", r.text());
    // A forged link on the page is refused too.
    let r = confirm("page-3", &forged_sig(VIL, event, exp));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(claims_of(&app, &reviewer, 3).len(), 1);

    // After the event ends, the code no longer works.
    app.clock.set(Timestamp::from_millis(ends_ms + 1));
    let r = app.post(
        "/api/v1/checkin",
        Some(&reviewer3),
        &checkin_body(&region, event, exp, &sig),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("expired"),
        "{}",
        r.text()
    );
    assert!(claims_of(&app, &reviewer, 2).is_empty());

    // The handlers are in the OpenAPI document.
    let doc = app.get("/api/openapi.json", None);
    assert_eq!(doc.status, 200);
    let paths = &doc.json()["paths"];
    for p in [
        "/api/v1/regions/{region}/events",
        "/api/v1/regions/{region}/events/{event}",
        "/api/v1/regions/{region}/events/{event}/qr.svg",
        "/api/v1/regions/{region}/events/{event}/qr.png",
        "/api/v1/checkin",
    ] {
        assert!(
            paths.get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
}

/// The PNG shows exactly the QR code of `link`: a 4-module white border and 8 pixels a module.
fn check_png_is_the_link(bytes: &[u8], link: &str) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let qr = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M)
        .expect("encodable");
    let modules = qr.width();
    let side = (modules + 8) * 8;
    assert_eq!((info.width as usize, info.height as usize), (side, side));
    let px = |x: usize, y: usize| buf[y * info.line_size + x];
    for i in 0..side {
        for (x, y) in [(i, 0), (0, i), (i, side - 1), (side - 1, i)] {
            assert_eq!(px(x, y), 255, "quiet zone at ({x}, {y})");
        }
    }
    for (i, c) in qr.to_colors().iter().enumerate() {
        let (mx, my) = (i % modules, i / modules);
        let want = if *c == qrcode::Color::Dark { 0 } else { 255 };
        for (dx, dy) in [(0, 0), (7, 7), (3, 4)] {
            let (x, y) = ((mx + 4) * 8 + dx, (my + 4) * 8 + dy);
            assert_eq!(px(x, y), want, "module ({mx}, {my}) at pixel ({x}, {y})");
        }
    }
}
