//! Finding a resident at the counter: search as staff type (name, pinyin
//! initials, household, number), and the member code a resident carries (a QR on
//! their page, a printed card) that staff scan to open them. The code only finds
//! the member for staff already signed in to the region; it grants nothing, and
//! the resident can renew it, after which the old one finds no one.
//!
//! A search reads the region's members and ranks them in memory: its cost grows
//! with the region's members (a village's few hundred take well under a
//! millisecond; `docs/performance.md`).

use jifen_core::search::Searchable;
use jifen_core::{MemberId, RegionCode};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::params;
use crate::read::MemberView;

/// The most matches a search returns.
pub const FOUND_MAX: u32 = 50;

/// Characters of a member code, as printed: four groups of four, no 0/O or 1/I.
const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A fresh member code, `XXXX-XXXX-XXXX-XXXX` (80 random bits).
fn fresh_code() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io {
        path: "random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut out = String::with_capacity(19);
    for (i, x) in b.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(CODE_ALPHABET[usize::from(x & 31)]));
    }
    Ok(out)
}

/// A typed or scanned code made comparable: uppercase, without spaces, and with
/// its dashes where they belong; `None` when it cannot be a member code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let bare: Vec<u8> = typed
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if bare.len() != 16 || !bare.iter().all(|b| CODE_ALPHABET.contains(b)) {
        return None;
    }
    let mut out = String::with_capacity(19);
    for (i, b) in bare.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(*b));
    }
    Some(out)
}

impl Store {
    /// The member's code, made on first asking.
    pub fn member_code(&self, region: &RegionCode, member: MemberId) -> Result<String> {
        if let Some(code) = self.read(|c| {
            c.query_opt(
                "SELECT code FROM member_codes WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
                |r| r.get::<String>(0),
            )
        })? {
            return Ok(code);
        }
        self.set_member_code(region.clone(), member, false)
    }

    /// A new code for the member; the old one finds no one from now on.
    pub fn renew_member_code(&self, region: RegionCode, member: MemberId) -> Result<String> {
        self.set_member_code(region, member, true)
    }

    fn set_member_code(&self, region: RegionCode, member: MemberId, renew: bool) -> Result<String> {
        let code = fresh_code()?;
        self.write(move |b| {
            let tx = b.conn();
            let known = tx.query_opt(
                "SELECT m.member, k.code FROM members m LEFT JOIN member_codes k \
                 ON k.region = m.region AND k.member = m.member \
                 WHERE m.region = ?1 AND m.member = ?2 AND m.name IS NOT NULL",
                params![region.as_str(), member.get()],
                |r| r.get::<Option<String>>(1),
            )?;
            match known {
                None => Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                ))),
                // Asked for twice at once: the first one made it.
                Some(Some(old)) if !renew => Ok(old),
                Some(_) => {
                    tx.execute(
                        "DELETE FROM member_codes WHERE region = ?1 AND member = ?2",
                        params![region.as_str(), member.get()],
                    )?;
                    tx.execute(
                        "INSERT INTO member_codes (region, member, code, created_ms) VALUES (?1, ?2, ?3, ?4)",
                        params![region.as_str(), member.get(), code.as_str(), b.now().millis()],
                    )?;
                    Ok(code)
                }
            }
        })
    }

    /// The member a code finds. An unknown code, and one that was renewed, find
    /// no one: `NotFound` says so without telling which.
    pub fn member_by_code(&self, region: &RegionCode, typed: &str) -> Result<MemberId> {
        let not_found = || {
            StoreError::NotFound(format!(
                "member code {:?} in region {region} (it may have been renewed: the resident's page shows the current one)",
                typed.trim()
            ))
        };
        let code = normalize_code(typed).ok_or_else(not_found)?;
        let id = self.read(|c| {
            c.query_opt(
                "SELECT member FROM member_codes WHERE region = ?1 AND code = ?2",
                params![region.as_str(), code.as_str()],
                |r| r.get::<i64>(0),
            )
        })?;
        id.and_then(|m| MemberId::new(m).ok()).ok_or_else(not_found)
    }

    /// The region's members that match what was typed, best first (then by
    /// number), at most `limit` (up to [`FOUND_MAX`]). Erased members are not found.
    pub fn find_members(
        &self,
        region: &RegionCode,
        query: &str,
        limit: u32,
    ) -> Result<Vec<MemberView>> {
        let limit = limit.clamp(1, FOUND_MAX) as usize;
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<(u8, MemberView)> = Vec::new();
        self.read(|c| {
            c.query_each(
                "SELECT m.member, m.household, h.label, m.name FROM members m JOIN households h \
                 ON h.region = m.region AND h.household = m.household \
                 WHERE m.region = ?1 AND m.name IS NOT NULL ORDER BY m.member",
                params![region.as_str()],
                |r| {
                    let id: i64 = r.get(0)?;
                    let label: String = r.get(2)?;
                    let name: String = r.get::<Option<String>>(3)?.unwrap_or_default();
                    if let Some(rank) = Searchable::new(&name, &label, id).rank(q) {
                        found.push((
                            rank,
                            MemberView {
                                id: MemberId::new(id)
                                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                                household: jifen_core::HouseholdId::new(r.get(1)?)
                                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                                household_label: label,
                                name: Some(name),
                            },
                        ));
                    }
                    Ok(())
                },
            )
        })?;
        found.sort_by_key(|(rank, m)| (*rank, m.id.get()));
        Ok(found.into_iter().take(limit).map(|(_, m)| m).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_back_as_typed() {
        let c = fresh_code().expect("random");
        assert_eq!(c.len(), 19);
        assert_eq!(normalize_code(&c).as_deref(), Some(c.as_str()));
        let typed = c.replace('-', " ").to_lowercase();
        assert_eq!(normalize_code(&typed).as_deref(), Some(c.as_str()));
        assert_eq!(normalize_code("0000-0000-0000-0000"), None, "no zeros");
        assert_eq!(normalize_code("ABCD"), None);
    }
}
