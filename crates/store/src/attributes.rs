//! The few attributes an evaluation of fairness needs: birth year (shown only as an
//! age band) and residence status. Optional and private: never in the log or a
//! public artefact, in the member's export, deleted with the member
//! ([`Store::erase_member`]). Set at a station or by the admin ([`SetAttributes`]),
//! or by a members import's optional columns.

use jifen_core::fairness::{Residence, check_birth_year};
use jifen_core::{MemberId, RegionCode};

use crate::Store;
use crate::command::Command;
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::region_offset;
use crate::sequencer::Batch;
use crate::sql::Conn;

/// What is recorded of a member for an evaluation; `None` where nothing is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attributes {
    pub birth_year: Option<i32>,
    pub residence: Option<Residence>,
}

impl Attributes {
    pub fn is_empty(&self) -> bool {
        self.birth_year.is_none() && self.residence.is_none()
    }
}

/// Records a member's attributes, replacing what was there (both `None` removes
/// them). Answers with what is now recorded.
#[derive(Debug, Clone)]
pub struct SetAttributes {
    pub region: RegionCode,
    pub member: MemberId,
    pub attributes: Attributes,
}

impl Command for SetAttributes {
    type Output = Attributes;
    fn run(self, b: &mut Batch<'_>) -> Result<Attributes> {
        let name: Option<Option<String>> = b.conn().query_opt(
            "SELECT name FROM members WHERE region = ?1 AND member = ?2",
            params![self.region.as_str(), self.member.get()],
            |r| r.get(0),
        )?;
        match name {
            None => {
                return Err(StoreError::NotFound(format!(
                    "member {} in region {}",
                    self.member, self.region
                )));
            }
            Some(None) => {
                return Err(StoreError::rejected(format!(
                    "member {} was erased: nothing more is recorded of them",
                    self.member
                )));
            }
            Some(Some(_)) => {}
        }
        put_in(b, &self.region, self.member, &self.attributes)?;
        Ok(self.attributes)
    }
}

/// Writes `a` for `member` (removing the row when `a` is empty), after checking the
/// birth year against the region's current year.
pub(crate) fn put_in(
    b: &Batch<'_>,
    region: &RegionCode,
    member: MemberId,
    a: &Attributes,
) -> Result<()> {
    if let Some(y) = a.birth_year {
        let offset = region_offset(b.conn(), region)?;
        let this_year = b
            .now()
            .local_year(offset)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        check_birth_year(y, this_year).map_err(|e| StoreError::field("birth_year", e))?;
    }
    let tx = b.conn();
    if a.is_empty() {
        tx.execute(
            "DELETE FROM member_attributes WHERE region = ?1 AND member = ?2",
            params![region.as_str(), member.get()],
        )?;
        return Ok(());
    }
    tx.execute(
        "INSERT INTO member_attributes (region, member, birth_year, residence) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (region, member) DO UPDATE SET birth_year = excluded.birth_year, \
         residence = excluded.residence",
        params![
            region.as_str(),
            member.get(),
            a.birth_year.map(i64::from),
            a.residence.map(Residence::code)
        ],
    )?;
    Ok(())
}

/// Reads a stored residence code.
pub(crate) fn residence_col(code: Option<String>) -> Result<Option<Residence>> {
    code.map(|c| Residence::parse(&c).map_err(StoreError::Corrupt))
        .transpose()
}

pub(crate) fn attributes_in(c: &Conn, region: &RegionCode, member: MemberId) -> Result<Attributes> {
    let row: Option<(Option<i64>, Option<String>)> = c.query_opt(
        "SELECT birth_year, residence FROM member_attributes WHERE region = ?1 AND member = ?2",
        params![region.as_str(), member.get()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((birth_year, residence)) = row else {
        return Ok(Attributes::default());
    };
    Ok(Attributes {
        birth_year: birth_year
            .map(i32::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        residence: residence_col(residence)?,
    })
}

impl Store {
    /// What is recorded of `member` for an evaluation (nothing: both `None`).
    pub fn attributes(&self, region: &RegionCode, member: MemberId) -> Result<Attributes> {
        self.read(|c| attributes_in(c, region, member))
    }
}
