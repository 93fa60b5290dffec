//! Who is asking: bearer tokens (from login, or API tokens for integrations
//! scoped to one region and role) and the session cookie the web pages use.
//! Passwords are Argon2id. Only a SHA-256 of a token is ever stored.

use std::collections::HashMap;
use std::sync::RwLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use jifen_core::{MemberId, OperatorId, RegionCode, Role, SponsorCode, Timestamp};
use jifen_store::accounts::{Account, Grant, Token, TokenKind};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// How long a login session lasts, in hours.
pub const SESSION_HOURS: i64 = 12;
/// Most tokens kept in the in-memory cache.
pub const TOKEN_CACHE_MAX: usize = 100_000;
/// How long a cached token and its account's roles are trusted before they are read
/// again, in seconds. A change made through this server takes effect at once (it
/// drops the cache entries); one made through another server on the same database
/// (a logout, a revoked role) within this time.
pub const TOKEN_CACHE_SECONDS: u64 = 5;
/// The cookie the web pages use for the session token.
pub const SESSION_COOKIE: &str = "jifen_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    /// API tokens act in one region and role only.
    pub scope: Option<(RegionCode, Role)>,
}

impl Principal {
    pub fn id(&self) -> OperatorId {
        self.account.id
    }

    /// The caller's grants in a region, narrowed by an API token's scope.
    pub fn grants_for<'a>(
        &'a self,
        region: &'a RegionCode,
    ) -> impl Iterator<Item = &'a Grant> + 'a {
        self.account.grants.iter().filter(move |g| {
            g.region == *region
                && self
                    .scope
                    .as_ref()
                    .is_none_or(|(r, role)| r == region && *role == g.role)
        })
    }

    pub fn has(&self, region: &RegionCode, role: Role) -> bool {
        self.grants_for(region).any(|g| g.role == role)
    }

    /// The first of `roles` the caller holds in the region, or a 403 saying what is needed.
    pub fn require<'a>(
        &'a self,
        region: &'a RegionCode,
        roles: &[Role],
    ) -> Result<&'a Grant, ApiError> {
        for role in roles {
            if let Some(g) = self.grants_for(region).find(|g| g.role == *role) {
                return Ok(g);
            }
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(format!(
            "this needs the role {} in region {region}",
            names.join(" or ")
        )))
    }

    /// The member record the caller is, in the region (for residents, and staff who live there).
    pub fn member_of(&self, region: &RegionCode) -> Option<MemberId> {
        self.grants_for(region).find_map(|g| g.member)
    }

    /// The sponsor a merchant fulfils for, in the region.
    pub fn sponsor_of(&self, region: &RegionCode) -> Option<SponsorCode> {
        self.grants_for(region).find_map(|g| g.sponsor.clone())
    }
}

/// Tokens seen recently, so most requests need no database read.
#[derive(Default)]
pub struct TokenCache {
    /// By token hash: the token, its account, and when they were read.
    map: RwLock<HashMap<[u8; 32], (Token, Account, std::time::Instant)>>,
}

impl TokenCache {
    pub fn forget(&self, hash: &[u8; 32]) {
        if let Ok(mut m) = self.map.write() {
            m.remove(hash);
        }
    }
    /// Drops everything cached for an account (after its roles change).
    pub fn forget_account(&self, account: OperatorId) {
        if let Ok(mut m) = self.map.write() {
            m.retain(|_, (t, _, _)| t.account != account);
        }
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token: 32 bytes, base64url.
pub fn new_token() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Argon2id with the crate's default (OWASP) parameters.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(ApiError::internal)?;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_owned)
        })
}

/// Looks a token up (cache first, then the store) and checks it has not expired.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let hash = token_hash(token);
    let now = state.clock().now();
    let fresh = std::time::Duration::from_secs(TOKEN_CACHE_SECONDS);
    let cached = state
        .tokens()
        .map
        .read()
        .ok()
        .and_then(|m| m.get(&hash).cloned())
        .filter(|(_, _, read)| read.elapsed() < fresh)
        .map(|(t, a, _)| (t, a));
    let (tok, account) = match cached {
        Some(c) => c,
        None => {
            let store = state.store().clone();
            let found = tokio::task::spawn_blocking(
                move || -> Result<Option<(Token, Account)>, ApiError> {
                    let Some(t) = store.token(&hash)? else {
                        return Ok(None);
                    };
                    let a = store.account(t.account)?;
                    Ok(Some((t, a)))
                },
            )
            .await
            .map_err(ApiError::internal)??;
            let found = found
                .ok_or_else(|| ApiError::unauthorized("the token is not valid; sign in again"))?;
            if let Ok(mut m) = state.tokens().map.write() {
                if m.len() >= TOKEN_CACHE_MAX {
                    m.clear();
                }
                m.insert(
                    hash,
                    (found.0.clone(), found.1.clone(), std::time::Instant::now()),
                );
            }
            found
        }
    };
    if tok.expires < now {
        state.tokens().forget(&hash);
        return Err(ApiError::unauthorized(
            "the token has expired; sign in again",
        ));
    }
    if account.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    Ok(Principal {
        account,
        scope: tok.scope,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("sign in first: send Authorization: Bearer <token>")
        })?;
        authenticate(state, &token).await
    }
}

/// A caller who may or may not be signed in (public pages and endpoints).
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(t) => Ok(MaybePrincipal(Some(authenticate(state, &t).await?))),
            None => Ok(MaybePrincipal(None)),
        }
    }
}

/// Issues a session token for an account.
pub async fn issue_session(
    state: &AppState,
    account: OperatorId,
) -> Result<(String, Timestamp), ApiError> {
    let token = new_token()?;
    let expires = Timestamp::from_millis(state.clock().now().millis() + SESSION_HOURS * 3_600_000);
    let store = state.store().clone();
    let hash = token_hash(&token);
    tokio::task::spawn_blocking(move || {
        store.put_token(
            hash,
            Token {
                account,
                kind: TokenKind::Session,
                scope: None,
                expires,
            },
        )
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((token, expires))
}
