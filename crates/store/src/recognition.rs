//! Recognition agreements between regions (积分互认): each region's own half, under a
//! short name its admin gives the partner (`sz-nanshan`), checked when set (the
//! domain's rules in core `recognition.rs`; the keys here, where the log crate is).
//! Ending a half keeps it, marked ended, and it stays ended.

use jifen_core::recognition::Agreement;
use jifen_core::{Points, RegionCode};
use jifen_log::{CosignatureVerifier, NoteVerifier};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::params;
use crate::sql::{Conn, Row};

/// A region's half of an agreement, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRow {
    /// The name this region gives the partner (a region-code-like slug).
    pub partner: RegionCode,
    pub agreement: Agreement,
    pub updated_ms: i64,
    /// When this side ended it, if it did.
    pub ended_ms: Option<i64>,
}

fn field(field: &'static str, detail: String) -> StoreError {
    StoreError::Field { field, detail }
}

/// The checks that need the log crate: the partner's key names its origin, the
/// witnesses' keys parse and are distinct.
fn check_keys(a: &Agreement) -> Result<()> {
    let log = NoteVerifier::from_vkey(a.partner_vkey.trim())
        .map_err(|e| field("partner_vkey", format!("the partner's log key: {e}")))?;
    if log.name() != a.partner_origin {
        return Err(field(
            "partner_vkey",
            format!(
                "the key is named {:?}, not the partner's origin {:?}",
                log.name(),
                a.partner_origin
            ),
        ));
    }
    let mut keys: Vec<CosignatureVerifier> = Vec::new();
    for (i, w) in a.witnesses.iter().enumerate() {
        let k = CosignatureVerifier::from_vkey(w.trim())
            .map_err(|e| field("witnesses", format!("witness {}: {e}", i + 1)))?;
        if keys
            .iter()
            .any(|o| o.public_key() == k.public_key() || o.name() == k.name())
        {
            return Err(field(
                "witnesses",
                format!("witness {} is named twice (by its name or its key)", i + 1),
            ));
        }
        keys.push(k);
    }
    Ok(())
}

const COLUMNS: &str = "partner, partner_origin, partner_vkey, send, receive, categories, \
    rate_num, rate_den, cap_per_member_year, valid_from, valid_to, witnesses, quorum, \
    updated_ms, ended_ms, count_scores";

fn from_row(r: &Row<'_>) -> Result<AgreementRow> {
    let partner: String = r.get(0)?;
    let date = |s: String| {
        jifen_core::clock::parse_date(&s)
            .map_err(|e| StoreError::Corrupt(format!("agreement {partner}: date {s:?}: {e}")))
    };
    let list = |s: String, sep: char| -> Vec<String> {
        s.split(sep)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let term = |v: i64| {
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("agreement {partner}: {v}")))
    };
    Ok(AgreementRow {
        partner: RegionCode::parse(&partner)
            .map_err(|e| StoreError::Corrupt(format!("agreement {partner:?}: {e}")))?,
        agreement: Agreement {
            partner_origin: r.get(1)?,
            partner_vkey: r.get(2)?,
            send: r.get::<i64>(3)? != 0,
            receive: r.get::<i64>(4)? != 0,
            categories: list(r.get(5)?, '\n'),
            rate_num: term(r.get(6)?)?,
            rate_den: term(r.get(7)?)?,
            cap_per_member_year: Points::new(r.get(8)?),
            valid_from: date(r.get(9)?)?,
            valid_to: r.get::<Option<String>>(10)?.map(date).transpose()?,
            witnesses: list(r.get(11)?, ' '),
            quorum: term(r.get(12)?)?,
            count_scores: r.get::<i64>(15)? != 0,
        },
        updated_ms: r.get(13)?,
        ended_ms: r.get(14)?,
    })
}

pub(crate) fn read_one(
    c: &Conn,
    region: &RegionCode,
    partner: &RegionCode,
) -> Result<Option<AgreementRow>> {
    let mut found = None;
    c.query_each(
        &format!("SELECT {COLUMNS} FROM recognition_agreements WHERE region = ?1 AND partner = ?2"),
        params![region.as_str(), partner.as_str()],
        |r| {
            found = Some(from_row(r)?);
            Ok(())
        },
    )?;
    Ok(found)
}

/// The region's half with the partner whose log is `origin`, if any (the newest-set
/// one in force first if there are several names for one partner).
pub(crate) fn by_origin(
    c: &Conn,
    region: &RegionCode,
    origin: &str,
) -> Result<Option<AgreementRow>> {
    let mut found: Vec<AgreementRow> = Vec::new();
    c.query_each(
        &format!(
            "SELECT {COLUMNS} FROM recognition_agreements WHERE region = ?1 AND partner_origin = ?2 \
             ORDER BY ended_ms IS NOT NULL, updated_ms DESC"
        ),
        params![region.as_str(), origin],
        |r| {
            found.push(from_row(r)?);
            Ok(())
        },
    )?;
    Ok(found.into_iter().next())
}

impl Store {
    /// Sets this region's half of the agreement it calls `partner`, replacing what it
    /// said before. An ended half stays ended: agree again under another name.
    pub fn put_agreement(
        &self,
        region: RegionCode,
        partner: RegionCode,
        mut a: Agreement,
    ) -> Result<AgreementRow> {
        a.partner_vkey = a.partner_vkey.trim().to_owned();
        a.partner_origin = a.partner_origin.trim().to_owned();
        for w in &mut a.witnesses {
            *w = w.trim().to_owned();
        }
        for c in &mut a.categories {
            *c = c.trim().to_owned();
        }
        a.check().map_err(|e| field(e.field, e.detail))?;
        check_keys(&a)?;
        let now = self.clock().now().millis();
        self.write(move |b| {
            let c = b.conn();
            let own: Option<String> = c.query_opt(
                "SELECT origin FROM regions WHERE region = ?1",
                params![region.as_str()],
                |r| r.get(0),
            )?;
            let Some(own) = own else {
                return Err(StoreError::NotFound(format!("region {region}")));
            };
            if own == a.partner_origin {
                return Err(field(
                    "partner_origin",
                    "that is this region's own log: an agreement is with another region".into(),
                ));
            }
            if let Some(was) = read_one(c, &region, &partner)?
                && was.ended_ms.is_some()
            {
                return Err(StoreError::Conflict(format!(
                    "the agreement {partner} was ended; agree again under another name"
                )));
            }
            c.execute(
                "INSERT INTO recognition_agreements (region, partner, partner_origin, partner_vkey, \
                 send, receive, categories, rate_num, rate_den, cap_per_member_year, valid_from, \
                 valid_to, witnesses, quorum, updated_ms, ended_ms, count_scores) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, NULL, ?16) \
                 ON CONFLICT (region, partner) DO UPDATE SET partner_origin = excluded.partner_origin, \
                 partner_vkey = excluded.partner_vkey, send = excluded.send, receive = excluded.receive, \
                 categories = excluded.categories, rate_num = excluded.rate_num, \
                 rate_den = excluded.rate_den, cap_per_member_year = excluded.cap_per_member_year, \
                 valid_from = excluded.valid_from, valid_to = excluded.valid_to, \
                 witnesses = excluded.witnesses, quorum = excluded.quorum, updated_ms = excluded.updated_ms, \
                 count_scores = excluded.count_scores",
                params![
                    region.as_str(),
                    partner.as_str(),
                    a.partner_origin.as_str(),
                    a.partner_vkey.as_str(),
                    i64::from(a.send),
                    i64::from(a.receive),
                    a.categories.join("\n"),
                    i64::from(a.rate_num),
                    i64::from(a.rate_den),
                    a.cap_per_member_year.get(),
                    a.valid_from.to_string(),
                    a.valid_to.map(|d| d.to_string()),
                    a.witnesses.join(" "),
                    i64::from(a.quorum),
                    now,
                    i64::from(a.count_scores)
                ],
            )?;
            read_one(c, &region, &partner)?
                .ok_or_else(|| StoreError::Corrupt(format!("agreement {partner} not kept")))
        })
    }

    /// Ends this region's half of the agreement `partner` (again: nothing changes).
    pub fn end_agreement(&self, region: RegionCode, partner: RegionCode) -> Result<AgreementRow> {
        let now = self.clock().now().millis();
        self.write(move |b| {
            let c = b.conn();
            c.execute(
                "UPDATE recognition_agreements SET ended_ms = ?3 \
                 WHERE region = ?1 AND partner = ?2 AND ended_ms IS NULL",
                params![region.as_str(), partner.as_str(), now],
            )?;
            read_one(c, &region, &partner)?.ok_or_else(|| {
                StoreError::NotFound(format!("region {region}: agreement {partner}"))
            })
        })
    }

    /// This region's halves, by partner name; `NotFound` for an unknown region.
    pub fn agreements(&self, region: &RegionCode) -> Result<Vec<AgreementRow>> {
        self.read(|c| {
            c.query_opt(
                "SELECT region FROM regions WHERE region = ?1",
                params![region.as_str()],
                |r| r.get::<String>(0),
            )?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
            let mut out = Vec::new();
            c.query_each(
                &format!(
                    "SELECT {COLUMNS} FROM recognition_agreements WHERE region = ?1 ORDER BY partner"
                ),
                params![region.as_str()],
                |r| {
                    out.push(from_row(r)?);
                    Ok(())
                },
            )?;
            Ok(out)
        })
    }

    /// One half; `NotFound` if this region has none by that name.
    pub fn agreement(&self, region: &RegionCode, partner: &RegionCode) -> Result<AgreementRow> {
        self.read(|c| read_one(c, region, partner))?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}: agreement {partner}")))
    }
}
