//! Sign in and out.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use jifen_core::Timestamp;
use jifen_core::signin::retry_after_secs;
use jifen_store::accounts::{Account, SignInOutcome};

use super::wire::{AccountOut, LoginIn, LoginOut, SignInsOut, rfc3339};
use crate::AppState;
use crate::auth::{Principal, SESSION_COOKIE, issue_session, token_hash, verify_password};
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::metrics::SignInCount;
use crate::throttle::ClientAddr;

/// Signs in with a username and password; returns a bearer token (and sets the session cookie).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(body): ApiJson<LoginIn>,
) -> ApiResult<Response> {
    let now = state.clock().now();
    if let Some(until) = state.sign_in_failures().locked_until(&addr, now) {
        state.metrics().sign_in(SignInCount::AddressThrottled);
        let secs = retry_after_secs(until, now);
        return Err(ApiError::too_many(
            "address-throttled",
            format!(
                "too many wrong passwords from your address; try again in {} min",
                secs.div_ceil(60)
            ),
            secs,
        ));
    }
    if body.username.is_empty() || body.username.len() > 64 || body.password.len() > 1024 {
        state.sign_in_failures().failed(&addr, now);
        state.metrics().sign_in(SignInCount::Wrong);
        return Err(ApiError::unauthorized("wrong username or password"));
    }
    enum Outcome {
        Wrong,
        Locked(Timestamp),
        Right(Box<Account>),
    }
    let store = state.store().clone();
    let from = addr.0.clone();
    let outcome = tokio::task::spawn_blocking(move || -> ApiResult<Outcome> {
        let Some((account, hash)) = store.account_by_username(&body.username)? else {
            // Spend the same time as a real check, so timing does not tell which usernames exist.
            let _ = verify_password(&body.password, dummy_hash());
            return Ok(Outcome::Wrong);
        };
        // While the account refuses, not even the right password is checked.
        if let Some(until) = store.sign_in_locked_until(account.id)?
            && until > now
        {
            return Ok(Outcome::Locked(until));
        }
        let ok = hash.is_some_and(|h| verify_password(&body.password, &h)) && !account.disabled;
        let outcome = if ok {
            SignInOutcome::Succeeded
        } else {
            SignInOutcome::Failed
        };
        store.record_sign_in(account.id, outcome, from, None)?;
        Ok(if ok {
            Outcome::Right(Box::new(account))
        } else {
            Outcome::Wrong
        })
    })
    .await
    .map_err(ApiError::internal)??;
    let account = match outcome {
        Outcome::Right(a) => *a,
        Outcome::Wrong => {
            state.sign_in_failures().failed(&addr, now);
            state.metrics().sign_in(SignInCount::Wrong);
            return Err(ApiError::unauthorized("wrong username or password"));
        }
        Outcome::Locked(until) => {
            state.metrics().sign_in(SignInCount::AccountLocked);
            let secs = retry_after_secs(until, now);
            return Err(ApiError::too_many(
                "account-locked",
                format!(
                    "this account takes no sign-in for {} min after too many wrong passwords; an admin of its region can unlock it",
                    secs.div_ceil(60)
                ),
                secs,
            ));
        }
    };
    let (token, expires) = issue_session(&state, account.id).await?;
    let out = LoginOut {
        token: token.clone(),
        expires_at: rfc3339(expires, 480),
        account: AccountOut::from(&account),
    };
    let mut res = axum::Json(out).into_response();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        crate::auth::SESSION_HOURS * 3600
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// A real Argon2id hash of a random password, made once, so refusing an unknown
/// username costs what checking a known one does.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let pw = crate::auth::new_token().unwrap_or_else(|_| "x".repeat(43));
        crate::auth::hash_password(&pw).unwrap_or_default()
    })
}

/// Ends the session whose token is sent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    _who: Principal,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_owned()))
        .or_else(|| {
            headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.split(';').find_map(|c| {
                        c.trim()
                            .strip_prefix(SESSION_COOKIE)
                            .and_then(|r| r.strip_prefix('='))
                            .map(str::to_owned)
                    })
                })
        })
        .ok_or_else(|| ApiError::unauthorized("no token"))?;
    let hash = token_hash(&token);
    state.tokens().forget(&hash);
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.delete_token(hash))
        .await
        .map_err(ApiError::internal)??;
    Ok(signed_out())
}

/// 204, and the session cookie cleared.
fn signed_out() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("jifen_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    res
}

/// Ends every session of the signed-in account, on every device (API tokens stay;
/// an admin revokes those). Signing out everywhere twice changes nothing.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout_everywhere(State(state): State<AppState>, who: Principal) -> ApiResult<Response> {
    let id = who.id();
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.delete_sessions(id))
        .await
        .map_err(ApiError::internal)??;
    state.tokens().forget_account(id);
    Ok(signed_out())
}

/// The signed-in account's recent sign-in attempts, newest first, and until when
/// it refuses sign-ins, if it does: someone guessing the password shows here.
#[utoipa::path(get, path = "/api/v1/auth/me/sign-ins", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SignInsOut), (status = 401, body = Problem)))]
async fn my_sign_ins(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<axum::Json<SignInsOut>> {
    Ok(axum::Json(SignInsOut::read(&state, who.id()).await?))
}

/// The signed-in account and its roles.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AccountOut), (status = 401, body = Problem)))]
async fn me(who: Principal) -> axum::Json<AccountOut> {
    axum::Json(AccountOut::from(&who.account))
}

/// Switches large text (适老化) on or off for the signed-in account, on every
/// device it signs in on. Idempotent by nature.
#[utoipa::path(put, path = "/api/v1/auth/me/large-text", tag = "auth", security(("bearer" = [])),
    request_body = super::admin::LargeTextIn,
    responses((status = 200, body = AccountOut), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn my_large_text(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(body): ApiJson<super::admin::LargeTextIn>,
) -> ApiResult<axum::Json<AccountOut>> {
    let id = who.id();
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.set_large_text(id, body.on))
        .await
        .map_err(ApiError::internal)??;
    state.tokens().forget_account(id);
    let mut account = who.account.clone();
    account.large_text = body.on;
    Ok(axum::Json(AccountOut::from(&account)))
}

/// Sets the signed-in person's own language for the pages (`zh`, `en`, or null for
/// none), on every device they sign in on.
#[utoipa::path(put, path = "/api/v1/auth/me/language", tag = "auth", security(("bearer" = [])),
    request_body = super::admin::LangIo,
    responses((status = 200, body = AccountOut), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn my_language(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(body): ApiJson<super::admin::LangIo>,
) -> ApiResult<axum::Json<AccountOut>> {
    let id = who.id();
    let store = state.store().clone();
    let lang = body.lang.clone();
    tokio::task::spawn_blocking(move || store.set_lang(id, lang))
        .await
        .map_err(ApiError::internal)??;
    state.tokens().forget_account(id);
    let mut account = who.account.clone();
    account.lang = body.lang;
    Ok(axum::Json(AccountOut::from(&account)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(logout_everywhere))
        .routes(routes!(my_sign_ins))
        .routes(routes!(me))
        .routes(routes!(my_large_text))
        .routes(routes!(my_language))
}
