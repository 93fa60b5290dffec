//! The data access log (PIPL): who among staff read which member's personal data,
//! when, and through which route. Written by [`RecordAccess`] in the writer, as
//! every write is; read by the member ([`Store::data_accesses`]) and the auditor
//! ([`Store::data_access_counts`]); erased with the member.

use jifen_core::{MemberId, OperatorId, RegionCode, Timestamp};

use crate::Store;
use crate::command::Command;
use crate::error::{Result, StoreError};
use crate::params;
use crate::sequencer::Batch;

/// Longest `what` kept, in bytes (a route, not a URL with its query).
pub const ACCESS_WHAT_BYTES_MAX: usize = 200;

/// Records that `account` read the personal data of each of `members` through `what`.
#[derive(Debug, Clone)]
pub struct RecordAccess {
    pub region: RegionCode,
    pub account: OperatorId,
    pub members: Vec<MemberId>,
    pub what: String,
}

impl Command for RecordAccess {
    type Output = ();
    fn run(self, b: &mut Batch<'_>) -> Result<()> {
        if self.what.is_empty() || self.what.len() > ACCESS_WHAT_BYTES_MAX {
            return Err(StoreError::rejected(format!(
                "an access is named by a route of 1 to {ACCESS_WHAT_BYTES_MAX} bytes"
            )));
        }
        let now = b.now().millis();
        let tx = b.conn();
        for m in &self.members {
            // The same read at the same moment is one access.
            tx.execute(
                "INSERT INTO data_access (region, member, time_ms, account, what) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    self.region.as_str(),
                    m.get(),
                    now,
                    self.account.get(),
                    self.what.as_str()
                ],
            )?;
        }
        Ok(())
    }
}

/// One read of a member's data, as the member is shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAccess {
    pub time: Timestamp,
    pub account: OperatorId,
    /// The staff account's display name (staff act under their names).
    pub account_name: String,
    pub what: String,
}

/// How much of the members' data one staff account read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCount {
    pub account: OperatorId,
    pub account_name: String,
    /// Reads of one member's data, in all.
    pub reads: u64,
    /// Members whose data it read.
    pub members: u64,
}

fn operator(v: i64) -> Result<OperatorId> {
    OperatorId::new(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Who read `member`'s data, newest first, at most `limit`.
    pub fn data_accesses(
        &self,
        region: &RegionCode,
        member: MemberId,
        limit: u32,
    ) -> Result<Vec<DataAccess>> {
        self.read(|c| {
            c.query_map(
                "SELECT d.time_ms, d.account, a.display_name, d.what FROM data_access d \
                 JOIN accounts a ON a.account = d.account \
                 WHERE d.region = ?1 AND d.member = ?2 ORDER BY d.time_ms DESC, d.what LIMIT ?3",
                params![region.as_str(), member.get(), limit],
                |r| {
                    Ok(DataAccess {
                        time: Timestamp::from_millis(r.get(0)?),
                        account: operator(r.get(1)?)?,
                        account_name: r.get(2)?,
                        what: r.get(3)?,
                    })
                },
            )
        })
    }

    /// Reads of members' data per staff account since `since`, most reads first.
    pub fn data_access_counts(
        &self,
        region: &RegionCode,
        since: Timestamp,
    ) -> Result<Vec<AccessCount>> {
        self.read(|c| {
            c.query_map(
                "SELECT d.account, a.display_name, COUNT(*), COUNT(DISTINCT d.member) \
                 FROM data_access d JOIN accounts a ON a.account = d.account \
                 WHERE d.region = ?1 AND d.time_ms >= ?2 \
                 GROUP BY d.account, a.display_name ORDER BY COUNT(*) DESC, d.account",
                params![region.as_str(), since.millis()],
                |r| {
                    Ok(AccessCount {
                        account: operator(r.get(0)?)?,
                        account_name: r.get(1)?,
                        reads: u64::try_from(r.get::<i64>(2)?).unwrap_or(0),
                        members: u64::try_from(r.get::<i64>(3)?).unwrap_or(0),
                    })
                },
            )
        })
    }
}
