//! JSON bodies through the real extractor, `ApiJson`, for the request type of every
//! route that takes one: the first byte picks the type, the second the Content-Type,
//! the rest is the body. It never panics and refuses only as json.rs promises: 415 when
//! the Content-Type is not JSON, 400 for what is not JSON, 422 for a wrong, missing or
//! unknown field, and what it takes is valid JSON.
#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use jifen_server::api::{admin, appeals, events, market, notice, wire};
use jifen_server::json::ApiJson;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
});

/// Content types a client sends: JSON ones, and some that are not.
const CONTENT_TYPES: [(Option<&str>, bool); 6] = [
    (Some("application/json"), true),
    (Some("application/json; charset=utf-8"), true),
    (Some("application/problem+json"), true),
    (Some("text/plain"), false),
    (Some("application/x-www-form-urlencoded"), false),
    (None, false),
];

/// The extractor's answer for type `T`: taken, or the refusal's status.
fn extract<T: DeserializeOwned>(req: Request) -> Result<(), StatusCode> {
    RUNTIME
        .block_on(ApiJson::<T>::from_request(req, &()))
        .map(|_| ())
        .map_err(|e| {
            if e.status == StatusCode::UNPROCESSABLE_ENTITY {
                assert!(!e.detail.is_empty());
            }
            e.status
        })
}

fuzz_target!(|data: &[u8]| {
    let [kind, ct, body @ ..] = data else {
        return;
    };
    let (content_type, is_json) = CONTENT_TYPES[usize::from(*ct) % CONTENT_TYPES.len()];
    let mut req = Request::builder().method("POST").uri("/");
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let req = req
        .body(Body::from(body.to_vec()))
        .expect("a valid request");
    let answer = match kind % 20 {
        0 => extract::<wire::LoginIn>(req),
        1 => extract::<wire::ClaimIn>(req),
        2 => extract::<admin::LargeTextIn>(req),
        3 => extract::<admin::HouseholdIn>(req),
        4 => extract::<admin::MemberIn>(req),
        5 => extract::<admin::IndicatorIn>(req),
        6 => extract::<Vec<admin::LevelIn>>(req),
        7 => extract::<admin::AccountIn>(req),
        8 => extract::<admin::RoleIn>(req),
        9 => extract::<admin::TokenIn>(req),
        10 => extract::<appeals::AppealIn>(req),
        11 => extract::<appeals::DecisionIn>(req),
        12 => extract::<events::EventIn>(req),
        13 => extract::<events::CheckinIn>(req),
        14 => extract::<notice::ObjectionIn>(req),
        15 => extract::<market::PolicyIo>(req),
        16 => extract::<market::SponsorIn>(req),
        17 => extract::<market::RewardIn>(req),
        18 => extract::<market::ReserveIn>(req),
        _ => extract::<market::ConfirmIn>(req),
    };
    let valid_json = serde_json::from_slice::<serde_json::Value>(body).is_ok();
    match answer {
        Ok(()) => {
            assert!(is_json, "taken without a JSON Content-Type");
            assert!(valid_json, "taken but not valid JSON");
        }
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE) => assert!(!is_json),
        Err(StatusCode::BAD_REQUEST) => {
            assert!(is_json);
            assert!(!valid_json, "valid JSON refused as malformed");
        }
        Err(StatusCode::UNPROCESSABLE_ENTITY) => assert!(is_json),
        Err(other) => panic!("ApiJson answered {other}"),
    }
});
