//! Entries with their proofs, members' balances and histories.

use axum::Json;
use axum::extract::{Path, Query, State};
use jifen_core::{MemberId, PublicLeaf, RegionCode, Role};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{BalanceOut, EntryOut, LevelOut, NextLevelOut, Paged, ProvenEntryOut, b64};
use super::{Page, region, scoped_id};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::write::read;

/// Residents see their own; reviewers, station operators and admins see their region's.
fn may_see_member(who: &Principal, region: &RegionCode, member: MemberId) -> Result<(), ApiError> {
    if [Role::Reviewer, Role::Station, Role::Admin]
        .iter()
        .any(|r| who.has(region, *r))
    {
        return Ok(());
    }
    if who.has(region, Role::Resident) && who.member_of(region) == Some(member) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "only the member, or staff of the region, see a member's points",
    ))
}

/// An entry, its public leaf, and an inclusion proof against the latest signed checkpoint.
#[utoipa::path(get, path = "/api/v1/entries/{id}", tag = "entries", security(("bearer" = [])),
    params(("id" = String, Path, description = "entry id, <region>:<seq>")),
    responses((status = 200, body = ProvenEntryOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn entry(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ProvenEntryOut>> {
    let (code, seq) = scoped_id("entry", &id)?;
    let seq = u64::try_from(seq).map_err(|_| ApiError::not_found(format!("entry {id}")))?;
    let c2 = code.clone();
    let (entry, leaf, receipt, offset) = read(&state, move |s| {
        let (e, l, r) = s.receipt(&c2, seq)?;
        Ok((e, l, r, s.region_offset(&c2)?))
    })
    .await?;
    may_see_member(&who, &code, entry.member)?;
    debug_assert!(
        PublicLeaf::decode(&leaf).is_ok(),
        "stored leaves are canonical"
    );
    // The note's text is the checkpoint, newline included, before the blank line.
    let body = receipt
        .signed_checkpoint
        .split_once("\n\n")
        .map_or(receipt.signed_checkpoint.as_str(), |(text, _)| text);
    let tree_size = jifen_log::Checkpoint::parse(&format!("{body}\n"))
        .map_err(ApiError::internal)?
        .size;
    Ok(Json(ProvenEntryOut {
        entry: EntryOut::from_entry(&entry, offset),
        leaf: String::from_utf8_lossy(&leaf).into_owned(),
        leaf_base64: b64(&leaf),
        index: receipt.index,
        tree_size,
        inclusion_proof: receipt.proof.iter().map(|h| b64(h)).collect(),
        checkpoint: receipt.signed_checkpoint.clone(),
        receipt: receipt.to_text(),
    }))
}

pub(super) fn member_path(r: &str, m: i64) -> Result<(RegionCode, MemberId), ApiError> {
    Ok((
        region(r)?,
        MemberId::new(m).map_err(|_| ApiError::not_found(format!("member {m}")))?,
    ))
}

/// A member's annual score (年度积分), spendable balance (可用积分) and level, this year.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/balance", tag = "entries", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id")),
    responses((status = 200, body = BalanceOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn balance(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<BalanceOut>> {
    let (code, member) = member_path(&r, m)?;
    may_see_member(&who, &code, member)?;
    let now = state.clock().now();
    let c2 = code.clone();
    let (b, next) = read(&state, move |s| {
        let offset = s.region_offset(&c2)?;
        let year = now.local_year(offset).map_err(ApiError::internal)?;
        let b = s.balance(&c2, member, year)?;
        let levels = s.levels(&c2)?;
        let next = levels
            .next_after(b.annual_score)
            .map(|(l, gap)| NextLevelOut {
                code: l.code.clone(),
                name: l.name.clone(),
                min_score: l.min_score.get(),
                missing: gap.get(),
            });
        Ok((b, next))
    })
    .await?;
    crate::access::record(
        &state,
        &who,
        &code,
        [member],
        "GET /api/v1/regions/{region}/members/{member}/balance",
    )
    .await?;
    Ok(Json(BalanceOut {
        region: code.to_string(),
        member: member.get(),
        year: b.year,
        annual_score: b.annual_score.get(),
        spendable: b.spendable.get(),
        level: b.level.map(|l| LevelOut {
            code: l.code,
            name: l.name,
            min_score: l.min_score.get(),
        }),
        next_level: next,
    }))
}

/// A member's entries, newest first.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/entries", tag = "entries", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id"), Page),
    responses((status = 200, body = Paged<EntryOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn history(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Paged<EntryOut>>> {
    let (code, member) = member_path(&r, m)?;
    may_see_member(&who, &code, member)?;
    let limit = page.limit()?;
    let before = page.after.filter(|a| *a > 0).map(|a| a as u64);
    let c2 = code.clone();
    let (entries, offset) = read(&state, move |s| {
        s.member(&c2, member)?;
        Ok((
            s.member_entries_before(&c2, member, before, limit)?,
            s.region_offset(&c2)?,
        ))
    })
    .await?;
    crate::access::record(
        &state,
        &who,
        &code,
        [member],
        "GET /api/v1/regions/{region}/members/{member}/entries",
    )
    .await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq as i64))
        .flatten();
    Ok(Json(Paged {
        items: entries
            .iter()
            .map(|e| EntryOut::from_entry(e, offset))
            .collect(),
        next,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(entry))
        .routes(routes!(balance))
        .routes(routes!(history))
}
