//! Staff reads of members' personal data (names, histories, claims) are recorded in
//! the store's access log (PIPL) before the answer goes out: no record, no answer.
//! A member reading their own data is not recorded. The member sees the log at
//! `GET /api/v1/regions/{region}/members/{member}/data-access` (and in their export);
//! the auditor sees counts per staff account at `.../data-access/summary`.

use jifen_core::{MemberId, RegionCode};
use jifen_store::access::RecordAccess;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::write::read;

/// Records that `who` read the data of `members` through the route `what`
/// (`"GET /api/v1/..."`, the route's template, never its query).
pub async fn record(
    state: &AppState,
    who: &Principal,
    region: &RegionCode,
    members: impl IntoIterator<Item = MemberId>,
    what: &'static str,
) -> Result<(), ApiError> {
    let own = who.member_of(region);
    let mut members: Vec<MemberId> = members.into_iter().filter(|m| Some(*m) != own).collect();
    members.sort_unstable_by_key(|m| m.get());
    members.dedup();
    if members.is_empty() {
        return Ok(());
    }
    let cmd = RecordAccess {
        region: region.clone(),
        account: who.id(),
        members,
        what: what.to_owned(),
    };
    read(state, move |s| Ok(s.run(cmd)?)).await
}
