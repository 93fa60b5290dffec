//! Accounts, their roles per region, bearer tokens, and stored HTTP responses
//! for idempotent retries. Password hashing is the caller's (the server's): the
//! store keeps the PHC string it is given.

use jifen_core::{MemberId, OperatorId, RegionCode, Role, SponsorCode, Timestamp};

use crate::error::{Result, StoreError};
use crate::params;
use crate::sql::{Conn, ToParam};
use crate::{Store, admin::region_must_exist};

/// An earlier write's answer under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub method: String,
    pub path: String,
    /// The digest of the request it answered (method, path, body); `None` for
    /// answers kept before digests were.
    pub request: Option<Vec<u8>>,
    pub status: u16,
    pub body: Vec<u8>,
}

/// How long an answer is kept under its idempotency key, in hours: a retry within
/// this time gets the first answer. Thirty days covers a phone that queued acts
/// offline in a village and syncs weeks later; older answers are deleted.
pub const IDEMPOTENCY_KEEP_HOURS: i64 = 30 * 24;
/// How long the kept answer to a transfer out holds its one-time code: time enough for
/// a client to retry a request whose answer it lost. Then the code is blanked there
/// (a retry still gets the transfer, not the code), so the server keeps only its hash.
pub const CODE_ANSWER_KEEP_MINUTES: i64 = 60;

/// A kept JSON answer with its `"secret"` blanked, if it holds one that is not blank
/// (the answers are the server's own compact JSON, so the field reads as written).
fn blank_secret(body: &[u8]) -> Option<Vec<u8>> {
    const FIELD: &[u8] = b"\"secret\":\"";
    let at = body.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    let len = body[at..].iter().position(|&c| c == b'"')?;
    if len == 0 {
        return None;
    }
    let mut out = body[..at].to_vec();
    out.extend_from_slice(&body[at + len..]);
    Some(out)
}

const STORED_RESPONSE_COLUMNS: &str = "method, path, request, status, body";

fn stored_response(r: &crate::sql::Row<'_>) -> Result<StoredResponse> {
    Ok(StoredResponse {
        method: r.get(0)?,
        path: r.get(1)?,
        request: r.get(2)?,
        status: r.get(3)?,
        body: r.get(4)?,
    })
}

/// How long sign-in attempts are kept, in days.
pub const SIGN_INS_KEEP_DAYS: i64 = 90;
/// Attempts read back to find a run of failures (more than the backoff can use).
const SIGN_IN_RUN_MAX: u32 = 64;

/// What a sign-in attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    Failed,
    Succeeded,
    /// An admin ended the account's run of failures.
    Unlocked,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Failed => "failed",
            SignInOutcome::Succeeded => "succeeded",
            SignInOutcome::Unlocked => "unlocked",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "failed" => Some(SignInOutcome::Failed),
            "succeeded" => Some(SignInOutcome::Succeeded),
            "unlocked" => Some(SignInOutcome::Unlocked),
            _ => None,
        }
    }
}

/// One recorded sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub time: Timestamp,
    pub outcome: SignInOutcome,
    pub address: String,
    /// For an unlock: the admin who did it.
    pub by: Option<OperatorId>,
}

/// A token row: account, kind, region, role, expiry.
type TokenRow = (i64, String, Option<String>, Option<String>, i64);

/// Longest username, in bytes.
pub const USERNAME_BYTES_MAX: usize = 64;

/// A role an account holds in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub region: RegionCode,
    pub role: Role,
    pub member: Option<MemberId>,
    pub sponsor: Option<SponsorCode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: OperatorId,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    /// Large text (适老化) on every page this account sees.
    pub large_text: bool,
    /// The language the person chose for the pages (`zh` or `en`), if they did.
    pub lang: Option<String>,
    pub grants: Vec<Grant>,
}

/// A stored bearer token's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub account: OperatorId,
    pub kind: TokenKind,
    /// For API tokens: the only region and role they act in.
    pub scope: Option<(RegionCode, Role)>,
    pub expires: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

pub fn check_username(u: &str) -> Result<()> {
    if u.is_empty()
        || u.len() > USERNAME_BYTES_MAX
        || !u
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(StoreError::rejected(format!(
            "username {u:?} must be 1 to {USERNAME_BYTES_MAX} ASCII letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

fn grants(c: &Conn, account: i64) -> Result<Vec<Grant>> {
    let mut out = Vec::new();
    c.query_each("SELECT region, role, member, sponsor FROM account_roles WHERE account = ?1 ORDER BY region, role", params![account], |r| {
        let region: String = r.get(0)?;
        let role: String = r.get(1)?;
        let member: Option<i64> = r.get(2)?;
        let sponsor: Option<String> = r.get(3)?;
        let bad = |w: &str| StoreError::Corrupt(format!("account {account}: bad {w} in a role"));
        out.push(Grant {
            region: RegionCode::parse(&region).map_err(|_| bad("region"))?,
            role: Role::parse(&role).ok_or_else(|| bad("role"))?,
            member: member
                .map(MemberId::new)
                .transpose()
                .map_err(|_| bad("member"))?,
            sponsor: sponsor
                .map(|s| SponsorCode::parse(&s))
                .transpose()
                .map_err(|_| bad("sponsor"))?,
        });
        Ok(())
    })?;
    Ok(out)
}

fn account_row(
    c: &Conn,
    where_sql: &str,
    p: &dyn ToParam,
) -> Result<Option<(Account, Option<String>)>> {
    type AccountFields = (
        i64,
        String,
        String,
        Option<String>,
        bool,
        bool,
        Option<String>,
    );
    let row: Option<AccountFields> = c
        .query_opt(
            &format!("SELECT account, username, display_name, password_hash, disabled, large_text, lang FROM accounts WHERE {where_sql}"),
            &[p],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )?;
    let Some((id, username, display_name, hash, disabled, large_text, lang)) = row else {
        return Ok(None);
    };
    let grants = grants(c, id)?;
    let id = OperatorId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some((
        Account {
            id,
            username,
            display_name,
            disabled,
            large_text,
            lang,
            grants,
        },
        hash,
    )))
}

impl Store {
    /// Creates an account; `id` None takes the next free number. Returns its id.
    pub fn create_account(
        &self,
        id: Option<OperatorId>,
        username: &str,
        display_name: &str,
        password_hash: Option<String>,
    ) -> Result<OperatorId> {
        let (username, display_name) = (username.to_owned(), display_name.to_owned());
        self.write(move |b| create_account_in(b, id, username, display_name, password_hash))
    }

    /// Gives an account a role in a region (replacing that role's member/sponsor if held).
    pub fn grant_role(&self, account: OperatorId, grant: Grant) -> Result<()> {
        self.write(move |b| grant_role_in(b, account, grant))
    }

    /// Takes a role away.
    pub fn revoke_role(&self, account: OperatorId, region: RegionCode, role: Role) -> Result<()> {
        self.write(move |b| revoke_role_in(b, account, region, role))
    }

    /// The account's own language for the pages (`zh`, `en`), or none (then the
    /// region's default or the browser's decides).
    pub fn set_lang(&self, account: OperatorId, lang: Option<String>) -> Result<()> {
        check_lang(lang.as_deref())?;
        self.write(move |b| {
            let n = b.conn().execute(
                "UPDATE accounts SET lang = ?1 WHERE account = ?2",
                params![lang, account.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("account {account}")));
            }
            Ok(())
        })
    }

    /// A region's settings: its default language, whether stations run events, and
    /// the days its reviewers have to decide a claim.
    pub fn set_region_settings(&self, region: RegionCode, settings: RegionSettings) -> Result<()> {
        check_lang(settings.default_lang.as_deref())?;
        if !REVIEW_DAYS.contains(&settings.review_days) {
            return Err(StoreError::Field {
                field: "review_days",
                detail: format!(
                    "review_days is {}: give the days reviewers have to decide a claim, from {} to {}",
                    settings.review_days,
                    REVIEW_DAYS.start(),
                    REVIEW_DAYS.end()
                ),
            });
        }
        self.write(move |b| {
            let n = b.conn().execute(
                "UPDATE regions SET default_lang = ?1, stations_run_events = ?2, review_days = ?3 WHERE region = ?4",
                params![
                    settings.default_lang,
                    i64::from(settings.stations_run_events),
                    i64::from(settings.review_days),
                    region.as_str()
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("region {region}")));
            }
            Ok(())
        })
    }

    /// A region's settings; `NotFound` for an unknown region.
    pub fn region_settings(&self, region: &RegionCode) -> Result<RegionSettings> {
        self.read(|c| {
            c.query_opt(
                "SELECT default_lang, stations_run_events, review_days FROM regions WHERE region = ?1",
                params![region.as_str()],
                |r| {
                    Ok(RegionSettings {
                        default_lang: r.get(0)?,
                        stations_run_events: r.get(1)?,
                        review_days: u32::try_from(r.get::<i64>(2)?).unwrap_or(DEFAULT_REVIEW_DAYS),
                    })
                },
            )?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}")))
        })
    }

    /// Switches large text (适老化) on or off for an account.
    pub fn set_large_text(&self, account: OperatorId, on: bool) -> Result<()> {
        self.write(move |b| {
            let n = b.conn().execute(
                "UPDATE accounts SET large_text = ?1 WHERE account = ?2",
                params![i64::from(on), account.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("account {account}")));
            }
            Ok(())
        })
    }

    /// Switches large text on or off for a resident: every account holding the
    /// resident role for that member of the region. Returns those accounts;
    /// `NotFound` when the member has none (no one signs in as them).
    pub fn set_member_large_text(
        &self,
        region: RegionCode,
        member: MemberId,
        on: bool,
    ) -> Result<Vec<OperatorId>> {
        self.write(move |b| {
            let c = b.conn();
            let ids: Vec<i64> = c.query_map(
                "SELECT account FROM account_roles WHERE region = ?1 AND role = ?2 AND member = ?3 ORDER BY account",
                params![region.as_str(), Role::Resident.as_str(), member.get()],
                |r| r.get(0),
            )?;
            if ids.is_empty() {
                return Err(StoreError::NotFound(format!(
                    "a resident account for member {member} in region {region}"
                )));
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                c.execute(
                    "UPDATE accounts SET large_text = ?1 WHERE account = ?2",
                    params![i64::from(on), id],
                )?;
                out.push(OperatorId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
            Ok(out)
        })
    }

    /// An account and its password hash, by username.
    pub fn account_by_username(&self, username: &str) -> Result<Option<(Account, Option<String>)>> {
        self.read(|c| account_row(c, "username = ?1", &username))
    }

    pub fn account(&self, id: OperatorId) -> Result<Account> {
        self.read(|c| account_row(c, "account = ?1", &id.get()))?
            .map(|(a, _)| a)
            .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
    }

    /// Accounts holding any role in the region, by id, at most `limit` from `after`.
    pub fn region_accounts(
        &self,
        region: &RegionCode,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Account>> {
        self.read(|c| {
            let ids: Vec<i64> = c
                .query_map("SELECT DISTINCT account FROM account_roles WHERE region = ?1 AND account > ?2 ORDER BY account LIMIT ?3", params![region.as_str(), after, limit], |r| r.get(0))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some((a, _)) = account_row(c, "account = ?1", &id)? {
                    out.push(a);
                }
            }
            Ok(out)
        })
    }

    pub fn put_token(&self, token_hash: [u8; 32], t: Token) -> Result<()> {
        self.write(move |b| put_token_in(b, token_hash, t))
    }

    pub fn token(&self, token_hash: &[u8; 32]) -> Result<Option<Token>> {
        self.read(|c| {
            let row: Option<TokenRow> = c.query_opt(
                "SELECT account, kind, region, role, expires_ms FROM tokens WHERE token_hash = ?1",
                params![token_hash.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let Some((account, kind, region, role, expires)) = row else {
                return Ok(None);
            };
            let bad = || StoreError::Corrupt("a stored token is malformed".into());
            let scope = match (region, role) {
                (Some(r), Some(role)) => Some((
                    RegionCode::parse(&r).map_err(|_| bad())?,
                    Role::parse(&role).ok_or_else(bad)?,
                )),
                _ => None,
            };
            Ok(Some(Token {
                account: OperatorId::new(account).map_err(|_| bad())?,
                kind: if kind == "api" {
                    TokenKind::Api
                } else {
                    TokenKind::Session
                },
                scope,
                expires: Timestamp::from_millis(expires),
            }))
        })
    }

    pub fn delete_token(&self, token_hash: [u8; 32]) -> Result<()> {
        self.write(move |b| {
            b.conn().execute(
                "DELETE FROM tokens WHERE token_hash = ?1",
                params![token_hash.as_slice()],
            )?;
            Ok(())
        })
    }

    /// Ends every session of the account (sign out everywhere); API tokens stay.
    /// Returns how many ended.
    pub fn delete_sessions(&self, account: OperatorId) -> Result<u64> {
        self.write(move |b| {
            let n = b.conn().execute(
                "DELETE FROM tokens WHERE account = ?1 AND kind = 'session'",
                params![account.get()],
            )?;
            Ok(n as u64)
        })
    }

    /// Records a sign-in attempt (or an admin's unlock, `by` the admin).
    pub fn record_sign_in(
        &self,
        account: OperatorId,
        outcome: SignInOutcome,
        address: String,
        by: Option<OperatorId>,
    ) -> Result<()> {
        self.write(move |b| {
            b.conn().execute(
                "INSERT INTO sign_ins (account, time_ms, outcome, address, by_account) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account.get(), b.now().millis(), outcome.as_str(), address, by.map(OperatorId::get)],
            )?;
            Ok(())
        })
    }

    /// The account's most recent sign-in attempts, newest first.
    pub fn sign_ins(&self, account: OperatorId, limit: u32) -> Result<Vec<SignIn>> {
        self.read(|c| {
            c.query_map(
                "SELECT time_ms, outcome, address, by_account FROM sign_ins WHERE account = ?1 \
                 ORDER BY time_ms DESC LIMIT ?2",
                params![account.get(), limit],
                |r| {
                    let outcome: String = r.get(1)?;
                    Ok(SignIn {
                        time: Timestamp::from_millis(r.get(0)?),
                        outcome: SignInOutcome::parse(&outcome).ok_or_else(|| {
                            StoreError::Corrupt(format!("sign-in outcome {outcome:?}"))
                        })?,
                        address: r.get(2)?,
                        by: r
                            .get::<Option<i64>>(3)?
                            .map(|v| {
                                OperatorId::new(v).map_err(|e| StoreError::Corrupt(e.to_string()))
                            })
                            .transpose()?,
                    })
                },
            )
        })
    }

    /// Until when the account refuses sign-ins after its wrong passwords in a row
    /// (core `signin::account_locked_until`); `None` when it takes the next attempt.
    pub fn sign_in_locked_until(&self, account: OperatorId) -> Result<Option<Timestamp>> {
        let recent = self.sign_ins(account, SIGN_IN_RUN_MAX)?;
        let run: Vec<&SignIn> = recent
            .iter()
            .take_while(|s| s.outcome == SignInOutcome::Failed)
            .collect();
        let Some(last) = run.first() else {
            return Ok(None);
        };
        let n = u32::try_from(run.len()).unwrap_or(u32::MAX);
        Ok(jifen_core::signin::account_locked_until(n, last.time))
    }

    /// Deletes sign-in attempts older than [`SIGN_INS_KEEP_DAYS`]; returns how many went.
    pub fn forget_old_sign_ins(&self) -> Result<u64> {
        self.write(|b| {
            let before = b.now().plus_days(-SIGN_INS_KEEP_DAYS).millis();
            let n = b
                .conn()
                .execute("DELETE FROM sign_ins WHERE time_ms < ?1", params![before])?;
            Ok(n as u64)
        })
    }

    /// The stored answer to an earlier write with this idempotency key, if any:
    /// (method, path, status, body).
    pub fn idempotent_response(
        &self,
        account: OperatorId,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {STORED_RESPONSE_COLUMNS} FROM http_idempotency WHERE account = ?1 AND key = ?2"),
                params![account.get(), key],
                stored_response,
            )
        })
    }

    /// Deletes the answers kept under idempotency keys for longer than
    /// [`IDEMPOTENCY_KEEP_HOURS`], and blanks the one-time code in the answers to
    /// transfers out kept for longer than [`CODE_ANSWER_KEEP_MINUTES`]; returns how
    /// many answers were deleted.
    pub fn forget_old_responses(&self) -> Result<u64> {
        self.write(|b| {
            let now = b.now().millis();
            let before = now - IDEMPOTENCY_KEEP_HOURS * 3_600_000;
            let n = b.conn().execute(
                "DELETE FROM http_idempotency WHERE created_ms < ?1",
                params![before],
            )?;
            let mut coded: Vec<(i64, String, Vec<u8>)> = Vec::new();
            b.conn().query_each(
                "SELECT account, key, body FROM http_idempotency \
                 WHERE method = 'POST' AND path LIKE '%/transfers' AND created_ms < ?1",
                params![now - CODE_ANSWER_KEEP_MINUTES * 60_000],
                |r| {
                    coded.push((r.get(0)?, r.get(1)?, r.get(2)?));
                    Ok(())
                },
            )?;
            for (account, key, body) in coded {
                if let Some(blank) = blank_secret(&body) {
                    b.conn().execute(
                        "UPDATE http_idempotency SET body = ?3 WHERE account = ?1 AND key = ?2",
                        params![account, key, blank],
                    )?;
                }
            }
            Ok(n as u64)
        })
    }
}

pub_for_tests! {
    /// Records a write's answer under its idempotency key, inside the write's own batch.
    fn record_response(
        b: &crate::Batch<'_>,
        account: OperatorId,
        key: &str,
        answer: &StoredResponse,
    ) -> Result<()> {
        let StoredResponse {
            method,
            path,
            request,
            status,
            body,
        } = answer;
        b.conn()
            .execute("INSERT INTO http_idempotency (account, key, method, path, request, status, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", params![account.get(), key, method.as_str(), path.as_str(), request.as_deref(), *status, body.as_slice(), b.now().millis()])
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!("idempotency key {key:?} was used for another request at the same time")),
                e => e,
            })?;
        Ok(())
    }
}

pub_for_tests! {
    /// The stored answer under (account, key), read inside a write's batch.
    fn lookup_response_in(
        b: &crate::Batch<'_>,
        account: OperatorId,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        b.conn().query_opt(
            &format!(
                "SELECT {STORED_RESPONSE_COLUMNS} FROM http_idempotency WHERE account = ?1 AND key = ?2"
            ),
            params![account.get(), key],
            stored_response,
        )
    }
}

/// [`Store::grant_role`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn grant_role_in(
    b: &mut crate::Batch<'_>,
    account: OperatorId,
    grant: Grant,
) -> Result<()> {
    if grant.role == Role::Resident && grant.member.is_none() {
        return Err(StoreError::rejected("a resident role must name the member"));
    }
    if grant.role == Role::Merchant && grant.sponsor.is_none() {
        return Err(StoreError::rejected(
            "a merchant role must name the sponsor",
        ));
    }
    let c = b.conn();
    region_must_exist(c, &grant.region)?;
    if let Some(m) = grant.member {
        let found: Option<i64> = c.query_opt(
            "SELECT member FROM members WHERE region = ?1 AND member = ?2",
            params![grant.region.as_str(), m.get()],
            |r| r.get(0),
        )?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!(
                "member {m} in region {}",
                grant.region
            )));
        }
    }
    c.execute(
            "INSERT INTO account_roles (region, account, role, member, sponsor) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (region, account, role) DO UPDATE SET member = excluded.member, sponsor = excluded.sponsor",
            params![
                grant.region.as_str(),
                account.get(),
                grant.role.as_str(),
                grant.member.map(MemberId::get),
                grant.sponsor.as_ref().map(SponsorCode::as_str)
            ],
        )
        .map_err(|e| match e {
            StoreError::Db(e) if e.contains("FOREIGN KEY") => {
                StoreError::NotFound(format!("account {account}"))
            }
            e => e,
        })?;
    Ok(())
}

/// [`Store::revoke_role`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn revoke_role_in(
    b: &mut crate::Batch<'_>,
    account: OperatorId,
    region: RegionCode,
    role: Role,
) -> Result<()> {
    let n = b.conn().execute(
        "DELETE FROM account_roles WHERE region = ?1 AND account = ?2 AND role = ?3",
        params![region.as_str(), account.get(), role.as_str()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "role {} of account {account} in {region}",
            role.as_str()
        )));
    }
    Ok(())
}

/// [`Store::put_token`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn put_token_in(b: &mut crate::Batch<'_>, token_hash: [u8; 32], t: Token) -> Result<()> {
    b.conn().execute(
            "INSERT INTO tokens (token_hash, account, kind, region, role, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token_hash.as_slice(),
                t.account.get(),
                t.kind.as_str(),
                t.scope.as_ref().map(|(r, _)| r.as_str()),
                t.scope.as_ref().map(|(_, role)| role.as_str()),
                b.now().millis(),
                t.expires.millis()
            ],
        )?;
    Ok(())
}

/// [`Store::create_account`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn create_account_in(
    b: &mut crate::Batch<'_>,
    id: Option<OperatorId>,
    username: String,
    display_name: String,
    password_hash: Option<String>,
) -> Result<OperatorId> {
    check_username(&username)?;
    let display_name = display_name.trim().to_owned();
    jifen_core::text::check(
        "the display name",
        &display_name,
        jifen_core::text::Lines::One,
    )
    .map_err(|e| StoreError::rejected(e.to_string()))?;
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(StoreError::rejected(
            "display name must be 1 to 64 characters",
        ));
    }
    let c = b.conn();
    let taken: Option<i64> = c.query_opt(
        "SELECT account FROM accounts WHERE username = ?1",
        params![username],
        |r| r.get(0),
    )?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "username {username} is taken"
        )));
    }
    let id = match id {
        Some(id) => id.get(),
        None => c.query_row(
            "SELECT COALESCE(MAX(account), 0) + 1 FROM accounts",
            params![],
            |r| r.get(0),
        )?,
    };
    c.execute(
            "INSERT INTO accounts (account, username, display_name, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, username, display_name, password_hash, b.now().millis()],
        )?;
    OperatorId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What a region's admin sets for its pages and staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSettings {
    /// `zh` or `en`: the region's pages come in it unless the person chose another.
    pub default_lang: Option<String>,
    /// Station staff may create events and show their check-in codes.
    pub stations_run_events: bool,
    /// The days reviewers have to decide a claim; the queue counts what is past them.
    pub review_days: u32,
}

impl Default for RegionSettings {
    fn default() -> Self {
        RegionSettings {
            default_lang: None,
            stations_run_events: false,
            review_days: DEFAULT_REVIEW_DAYS,
        }
    }
}

/// The review deadline a region starts with, in days.
pub const DEFAULT_REVIEW_DAYS: u32 = 7;
/// The review deadlines a region may set, in days.
pub const REVIEW_DAYS: std::ops::RangeInclusive<u32> = 1..=90;

/// The languages the pages come in.
pub const LANGS: [&str; 2] = ["zh", "en"];

fn check_lang(lang: Option<&str>) -> Result<()> {
    match lang {
        Some(l) if !LANGS.contains(&l) => Err(StoreError::field(
            "lang",
            format!("language {l:?} is not one of zh, en"),
        )),
        _ => Ok(()),
    }
}
