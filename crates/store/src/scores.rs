//! Recognition of history without moving points: a statement of a member's annual
//! scores for past years (积分互认 of levels and honours).
//!
//! At home, [`Store::score_statement`] writes a note signed by the region's log key:
//! the two logs, the day it was made, a pseudonymous subject, the SHA-256 of a one-time
//! code shown only to the resident, and the annual score of each closed year. The
//! subject is the SHA-256 of a domain tag, the member's secret key (`member_keys`, the
//! one their public commitments are made with, never published; gone when they are
//! erased) and the partner's origin: it names nobody, only the home region can make
//! it, it differs per partner, and it cannot be matched to the member's commitments in
//! the public log. (The scores themselves are sums of public entries, so someone who
//! sums the home log per commitment and year may still find a member whose years
//! match; the statement says no more than that.) No points move, so nothing goes into
//! either log.
//!
//! At the receiving side, [`TakeScores`] (a station, the resident present with the
//! code) checks the statement offline against the half's key and keeps each year's
//! score, and its credit at the half's rate, for the member: one row per member,
//! partner and year, a newer statement replacing an older; one home subject goes to
//! one member, and one member holds one home subject's scores. Where the half's policy says so (`count_scores`), the credited score of
//! last year counts toward the level a member holds (`market::member_level`).

use jifen_core::{MemberId, OperatorId, Points, RegionCode};
use jifen_log::NoteVerifier;
use sha2::{Digest as _, Sha256};
use time::Date;

use crate::command::Command;
use crate::error::{Result, StoreError};
use crate::sequencer::Batch;
use crate::sql::Conn;
use crate::transfer::{
    STATEMENT_BYTES_MAX, hex, own_origin as region_row, partner_half, refused, sha256_hex,
    signed_as, unsigned_text,
};
use crate::{Store, params};

/// The first line of every statement of scores.
pub const SCORES_HEADER: &str = "jifen/scores/v1";
/// The most closed years a statement of scores holds (the newest).
pub const SCORE_YEARS_MAX: usize = 10;

/// What a statement of scores says, signed by the home region's log key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreStatement {
    pub from: String,
    pub to: String,
    pub made: Date,
    pub subject: String,
    pub secret_sha256: String,
    /// (year, annual score), newest first; at least one.
    pub years: Vec<(i32, Points)>,
}

impl ScoreStatement {
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{SCORES_HEADER}\nfrom {}\nto {}\nmade {}\nsubject {}\nsecret {}\n",
            self.from, self.to, self.made, self.subject, self.secret_sha256
        );
        for (y, s) in &self.years {
            text.push_str(&format!("year {y} {s}\n"));
        }
        text
    }

    /// Parses the statement's text strictly (what parses re-encodes the same).
    pub fn parse(text: &str) -> Option<ScoreStatement> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != SCORES_HEADER {
            return None;
        }
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
        let from = field("from")?.to_owned();
        let to = field("to")?.to_owned();
        let made = jifen_core::clock::parse_date(field("made")?).ok()?;
        let subject = field("subject")?.to_owned();
        let secret_sha256 = field("secret")?.to_owned();
        let years = lines
            .map(|l| {
                let (y, s) = l.strip_prefix("year ")?.split_once(' ')?;
                Some((y.parse().ok()?, Points::new(s.parse().ok()?)))
            })
            .collect::<Option<Vec<(i32, Points)>>>()?;
        if years.is_empty() || years.len() > SCORE_YEARS_MAX {
            return None;
        }
        let st = ScoreStatement {
            from,
            to,
            made,
            subject,
            secret_sha256,
            years,
        };
        (st.to_text() == text).then_some(st)
    }
}

fn today(now: jifen_core::Timestamp, offset: i32) -> Result<Date> {
    now.local_date(offset)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// At home: a statement of `member`'s annual scores of the closed years (the newest
    /// [`SCORE_YEARS_MAX`]) for the partner the half `partner` names, and the one-time
    /// code to show the resident (only its hash is in the statement).
    pub fn score_statement(
        &self,
        region: &RegionCode,
        member: MemberId,
        partner: &RegionCode,
    ) -> Result<(String, String)> {
        let now = self.clock().now();
        let secret = hex(&crate::keys::random_secret()?[..10]);
        let st = self.read(|c| {
            let (origin, offset) = region_row(c, region)?;
            let half = crate::recognition::read_one(c, region, partner)?.ok_or_else(|| {
                StoreError::NotFound(format!("region {region}: agreement {partner}"))
            })?;
            let day = today(now, offset)?;
            if !half.agreement.send || !half.agreement.in_force(day, half.ended_ms.is_some()) {
                return Err(refused(
                    "agreement-not-in-force",
                    format!(
                        "the agreement {partner} does not send to the partner today (ended, outside its dates, or receiving only)"
                    ),
                ));
            }
            crate::transfer::member_present(c, region, member)?;
            let key: Vec<u8> = c
                .query_opt(
                    "SELECT key FROM member_keys WHERE region = ?1 AND member = ?2",
                    params![region.as_str(), member.get()],
                    |r| r.get(0),
                )?
                .ok_or_else(|| {
                    refused("member-erased", format!("member {member} was erased"))
                })?;
            let mut years = Vec::new();
            c.query_each(
                "SELECT year, annual_score FROM year_scores WHERE region = ?1 AND member = ?2 \
                 ORDER BY year DESC",
                params![region.as_str(), member.get()],
                |r| {
                    if years.len() < SCORE_YEARS_MAX {
                        let y = i32::try_from(r.get::<i64>(0)?)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        years.push((y, Points::new(r.get(1)?)));
                    }
                    Ok(())
                },
            )?;
            if years.is_empty() {
                return Err(refused(
                    "no-closed-years",
                    format!("member {member} has no closed year yet: there is no score to state"),
                ));
            }
            let mut subject = Sha256::new();
            subject.update(b"jifen/subject/v1\n");
            subject.update(&key);
            subject.update(half.agreement.partner_origin.as_bytes());
            Ok(ScoreStatement {
                from: origin,
                to: half.agreement.partner_origin.clone(),
                made: day,
                subject: hex(&subject.finalize()),
                secret_sha256: sha256_hex(secret.as_bytes()),
                years,
            })
        })?;
        let doc = self.sign_note(region, &st.to_text())?;
        Ok((doc, secret))
    }
}

/// Takes a statement of scores at the receiving side's station, the resident present.
#[derive(Debug, Clone)]
pub struct TakeScores {
    pub region: RegionCode,
    pub member: MemberId,
    pub document: String,
    pub secret: String,
    pub by: OperatorId,
}

/// One year's score taken from a partner's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognizedScore {
    pub partner: String,
    pub year: i32,
    pub home_score: Points,
    /// The score at the half's rate.
    pub points: Points,
    /// Whether the half's policy counts it toward the member's level.
    pub counts: bool,
}

impl Command for TakeScores {
    type Output = Vec<RecognizedScore>;
    fn run(self, b: &mut Batch<'_>) -> Result<Vec<RecognizedScore>> {
        take_scores_in(b, self)
    }
}

fn take_scores_in(b: &mut Batch<'_>, req: TakeScores) -> Result<Vec<RecognizedScore>> {
    b.lock_region(&req.region)?;
    let TakeScores {
        region,
        member,
        document,
        secret,
        by,
    } = req;
    let now = b.now();
    let c = b.conn();
    let malformed = |why: &str| refused("statement-malformed", format!("the statement {why}"));
    if document.len() > STATEMENT_BYTES_MAX {
        return Err(malformed("is too long"));
    }
    let st = ScoreStatement::parse(&unsigned_text(&document)?)
        .ok_or_else(|| malformed("does not read as a jifen statement of scores"))?;
    let (half, offset) = partner_half(c, &region, &st.from, &st.to)?;
    let day = today(now, offset)?;
    if !half.agreement.receive || !half.agreement.in_force(day, half.ended_ms.is_some()) {
        return Err(refused(
            "agreement-not-in-force",
            format!(
                "the agreement {} does not take statements from there today (ended, outside its dates, or sending only)",
                half.partner
            ),
        ));
    }
    let key = NoteVerifier::from_vkey(&half.agreement.partner_vkey)?;
    signed_as(&document, &key, &st.from, &st, ScoreStatement::parse)?;
    if st.made > day {
        return Err(refused(
            "statement-malformed",
            format!("the statement is dated {}, after today", st.made),
        ));
    }
    if sha256_hex(secret.trim().to_ascii_lowercase().as_bytes()) != st.secret_sha256 {
        return Err(refused(
            "statement-secret",
            "the one-time code does not match this statement: ask the resident for the code they were shown",
        ));
    }
    let other: Option<i64> = c.query_opt(
        "SELECT member FROM recognized_scores WHERE region = ?1 AND home_origin = ?2 \
         AND subject = ?3 AND member <> ?4 LIMIT 1",
        params![
            region.as_str(),
            st.from.as_str(),
            st.subject.as_str(),
            member.get()
        ],
        |r| r.get(0),
    )?;
    if let Some(m) = other {
        return Err(refused(
            "statement-other-member",
            format!(
                "this resident's scores from {} were taken for member {m} already; one resident's history goes to one member",
                st.from
            ),
        ));
    }
    let own_other: Option<String> = c.query_opt(
        "SELECT subject FROM recognized_scores WHERE region = ?1 AND home_origin = ?2 \
         AND member = ?3 AND subject <> ?4 LIMIT 1",
        params![
            region.as_str(),
            st.from.as_str(),
            member.get(),
            st.subject.as_str()
        ],
        |r| r.get(0),
    )?;
    if own_other.is_some() {
        return Err(refused(
            "statement-other-resident",
            format!(
                "member {member} holds the scores of another resident of {} already: a statement is taken for the resident it states",
                st.from
            ),
        ));
    }
    crate::transfer::member_present(c, &region, member)?;
    let mut out = Vec::new();
    for (year, score) in &st.years {
        let points = half.agreement.credit(*score);
        c.execute(
            "INSERT INTO recognized_scores (region, member, partner, year, home_origin, subject, \
             home_score, points, statement, operator, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (region, member, partner, year) DO UPDATE SET \
             home_origin = excluded.home_origin, subject = excluded.subject, \
             home_score = excluded.home_score, points = excluded.points, \
             statement = excluded.statement, operator = excluded.operator, \
             created_ms = excluded.created_ms",
            params![
                region.as_str(),
                member.get(),
                half.partner.as_str(),
                i64::from(*year),
                st.from.as_str(),
                st.subject.as_str(),
                score.get(),
                points.get(),
                document.as_str(),
                by.get(),
                now.millis()
            ],
        )?;
        out.push(RecognizedScore {
            partner: half.partner.as_str().to_owned(),
            year: *year,
            home_score: *score,
            points,
            counts: half.agreement.count_scores,
        });
    }
    Ok(out)
}

/// The credited score of `year` that counts toward `member`'s level: the highest
/// taken under a half that receives, is not ended, and whose policy counts scores; 0
/// if none.
pub(crate) fn counted_score(
    c: &Conn,
    region: &RegionCode,
    member: MemberId,
    year: i32,
) -> Result<i64> {
    let best: Option<i64> = c.query_row(
        "SELECT MAX(s.points) FROM recognized_scores s JOIN recognition_agreements a \
         ON a.region = s.region AND a.partner = s.partner \
         WHERE s.region = ?1 AND s.member = ?2 AND s.year = ?3 \
         AND a.count_scores = 1 AND a.receive = 1 AND a.ended_ms IS NULL",
        params![region.as_str(), member.get(), i64::from(year)],
        |r| r.get(0),
    )?;
    Ok(best.unwrap_or(0))
}

impl Store {
    /// The scores taken for `member` from partners' statements, newest year first.
    pub fn recognized_scores(
        &self,
        region: &RegionCode,
        member: MemberId,
    ) -> Result<Vec<RecognizedScore>> {
        self.read(|c| {
            region_row(c, region)?;
            if crate::rows::member_commitment(c, region, member)?.is_none() {
                return Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                )));
            }
            let mut out = Vec::new();
            c.query_each(
                "SELECT s.partner, s.year, s.home_score, s.points, a.count_scores, a.ended_ms, a.receive \
                 FROM recognized_scores s JOIN recognition_agreements a \
                 ON a.region = s.region AND a.partner = s.partner \
                 WHERE s.region = ?1 AND s.member = ?2 ORDER BY s.year DESC, s.partner",
                params![region.as_str(), member.get()],
                |r| {
                    out.push(RecognizedScore {
                        partner: r.get(0)?,
                        year: i32::try_from(r.get::<i64>(1)?)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        home_score: Points::new(r.get(2)?),
                        points: Points::new(r.get(3)?),
                        counts: r.get::<i64>(4)? == 1
                            && r.get::<i64>(6)? == 1
                            && r.get::<Option<i64>>(5)?.is_none(),
                    });
                    Ok(())
                },
            )?;
            Ok(out)
        })
    }
}
