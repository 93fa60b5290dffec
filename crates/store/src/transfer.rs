//! Moving points between regions under a recognition agreement (积分互认).
//!
//! At home, [`TransferOut`] posts a `recognition-out` entry (the points leave, so they
//! cannot be spent twice) and gives the resident a one-time secret, kept here only as
//! its SHA-256. [`Store::statement`] writes the **statement**: a note signed by the home
//! region's log key naming the two logs, the transfer, the entry's index, the points and
//! the secret's hash, followed by the entry's receipt (c2sp.org/tlog-proof@v1, with the
//! checkpoint's witness cosignatures). It holds no name and no member number.
//!
//! At the receiving side, [`TransferIn`] (a station, the resident present with the
//! secret) checks the statement offline: the agreement's half in force, the partner's
//! signature, the receipt against the partner's key, the quorum of the witnesses the
//! half names, the leaf (a `recognition-out` of those points under that transfer), the
//! secret, that the home entry was never taken before, and the cap. Then it posts a
//! `recognition-in` entry whose row names the home log's origin, index and leaf hash.

use jifen_core::recognition::Agreement;
use jifen_core::{
    Entry, EntryKind, MemberId, NewEntry, OperatorId, Points, PublicLeaf, Reason, RegionCode,
    Source,
};
use jifen_log::{NoteVerifier, RECEIPT_HEADER, Receipt};
use sha2::{Digest, Sha256};

use crate::command::Command;
use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::sequencer::{Append, Batch};
use crate::sql::Conn;
use crate::{Store, params};

/// The first line of every statement.
pub const STATEMENT_HEADER: &str = "jifen/statement/v1";
/// The longest statement document taken, in bytes.
pub const STATEMENT_BYTES_MAX: usize = 16 * 1024;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// What a statement says, signed by the home region's log key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub from: String,
    pub to: String,
    pub transfer: u64,
    pub index: u64,
    pub points: Points,
    pub secret_sha256: String,
    /// The categories the home half counted when the points left (none: every one);
    /// a receiving half that names categories takes only points of its own.
    pub categories: Vec<String>,
}

impl Statement {
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{STATEMENT_HEADER}\nfrom {}\nto {}\ntransfer {}\nindex {}\npoints {}\nsecret {}\n",
            self.from, self.to, self.transfer, self.index, self.points, self.secret_sha256
        );
        for c in &self.categories {
            text.push_str(&format!("category {c}\n"));
        }
        text
    }

    /// Parses the statement's text strictly (what parses re-encodes the same).
    pub fn parse(text: &str) -> Option<Statement> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != STATEMENT_HEADER {
            return None;
        }
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
        let from = field("from")?.to_owned();
        let to = field("to")?.to_owned();
        let transfer = field("transfer")?.parse().ok()?;
        let index = field("index")?.parse().ok()?;
        let points = Points::new(field("points")?.parse().ok()?);
        let secret_sha256 = field("secret")?.to_owned();
        let categories = lines
            .map(|l| l.strip_prefix("category ").map(str::to_owned))
            .collect::<Option<Vec<String>>>()?;
        let st = Statement {
            from,
            to,
            transfer,
            index,
            points,
            secret_sha256,
            categories,
        };
        (st.to_text() == text).then_some(st)
    }
}

/// A statement document: the signed statement note, then the receipt.
pub fn split_document(doc: &str) -> Option<(&str, &str)> {
    let at = doc.find(&format!("\n{RECEIPT_HEADER}\n"))?;
    Some((&doc[..=at], &doc[at + 1..]))
}

pub(crate) fn refused(code: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::refused(code, detail.into())
}

/// The region's log origin and UTC offset (`NotFound` for an unknown region).
pub(crate) fn own_origin(c: &Conn, region: &RegionCode) -> Result<(String, i32)> {
    c.query_opt(
        "SELECT origin, utc_offset_minutes FROM regions WHERE region = ?1",
        params![region.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("region {region}")))
}

pub(crate) fn member_present(c: &Conn, region: &RegionCode, member: MemberId) -> Result<()> {
    let name: Option<Option<String>> = c.query_opt(
        "SELECT name FROM members WHERE region = ?1 AND member = ?2",
        params![region.as_str(), member.get()],
        |row| row.get(0),
    )?;
    match name {
        None => Err(StoreError::NotFound(format!(
            "member {member} in region {region}"
        ))),
        Some(None) => Err(refused(
            "member-erased",
            format!("member {member} was erased"),
        )),
        Some(Some(_)) => Ok(()),
    }
}

/// The local year's bounds (ms) around `now`.
fn year_bounds(now: jifen_core::Timestamp, offset: i32) -> Result<(i64, i64)> {
    let year = now
        .local_year(offset)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let start = |y: i32| -> Result<i64> {
        let d = time::Date::from_calendar_date(y, time::Month::January, 1)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(jifen_core::Timestamp::start_of(d, offset)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .millis())
    };
    Ok((start(year)?, start(year + 1)?))
}

/// The two transfer tables, each numbered per region.
#[derive(Clone, Copy)]
enum Side {
    Out,
    In,
}

impl Side {
    fn table(self) -> &'static str {
        match self {
            Side::Out => "transfers_out",
            Side::In => "transfers_in",
        }
    }
}

/// The points `member` moved under the half `partner` on `side`, created in
/// `[from, to)` (ms).
fn moved(
    c: &Conn,
    side: Side,
    region: &RegionCode,
    partner: &RegionCode,
    member: MemberId,
    (from, to): (i64, i64),
) -> Result<i64> {
    let sum: Option<i64> = c.query_row(
        &format!(
            "SELECT CAST(SUM(points) AS BIGINT) FROM {} WHERE region = ?1 AND partner = ?2 \
             AND member = ?3 AND created_ms >= ?4 AND created_ms < ?5",
            side.table()
        ),
        params![region.as_str(), partner.as_str(), member.get(), from, to],
        |r| r.get(0),
    )?;
    Ok(sum.unwrap_or(0))
}

/// The next transfer number on `side` in `region` (the caller holds the region's lock).
fn next_transfer(c: &Conn, side: Side, region: &RegionCode) -> Result<u64> {
    let max: Option<i64> = c.query_row(
        &format!(
            "SELECT MAX(transfer) FROM {} WHERE region = ?1",
            side.table()
        ),
        params![region.as_str()],
        |r| r.get(0),
    )?;
    from_sql_u64(max.unwrap_or(0) + 1)
}

/// The points `member` earned, net, under indicators (any version, of the region's
/// lineage) whose category is one of `categories`, all time.
fn earned_in(
    c: &Conn,
    region: &RegionCode,
    member: MemberId,
    categories: &[String],
) -> Result<i64> {
    let (all, _) = crate::admin::lineage_indicators(c, region)?;
    let counted: std::collections::HashSet<(String, i64)> = all
        .iter()
        .filter(|i| categories.contains(&i.category))
        .map(|i| (i.code.as_str().to_owned(), i64::from(i.version)))
        .collect();
    let mut sum = 0i64;
    c.query_each(
        "SELECT indicator, indicator_version, CAST(SUM(amount) AS BIGINT) FROM entries \
         WHERE region = ?1 AND member = ?2 AND indicator IS NOT NULL \
         GROUP BY indicator, indicator_version",
        params![region.as_str(), member.get()],
        |r| {
            if counted.contains(&(r.get::<String>(0)?, r.get::<i64>(1)?)) {
                sum = sum.saturating_add(r.get::<i64>(2)?);
            }
            Ok(())
        },
    )?;
    Ok(sum)
}

fn in_force(
    a: &crate::recognition::AgreementRow,
    now: jifen_core::Timestamp,
    offset: i32,
) -> Result<bool> {
    let today = now
        .local_date(offset)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(a.agreement.in_force(today, a.ended_ms.is_some()))
}

/// Takes points of `member` to the partner the region's agreement half `partner` names.
#[derive(Debug, Clone)]
pub struct TransferOut {
    pub region: RegionCode,
    pub member: MemberId,
    pub partner: RegionCode,
    pub points: Points,
    pub by: OperatorId,
}

/// What a transfer out made: its number, the entry, and the one-time secret (shown
/// once, to the resident; only its hash is kept).
#[derive(Debug, Clone)]
pub struct TransferredOut {
    pub transfer: u64,
    pub entry: Entry,
    pub secret: String,
}

impl Command for TransferOut {
    type Output = TransferredOut;
    fn run(self, b: &mut Batch<'_>) -> Result<TransferredOut> {
        transfer_out_in(b, self)
    }
}

fn transfer_out_in(b: &mut Batch<'_>, req: TransferOut) -> Result<TransferredOut> {
    b.lock_region(&req.region)?;
    let TransferOut {
        region,
        member,
        partner,
        points,
        by,
    } = req;
    let now = b.now();
    let c = b.conn();
    let (_, offset) = own_origin(c, &region)?;
    let half = crate::recognition::read_one(c, &region, &partner)?
        .ok_or_else(|| StoreError::NotFound(format!("region {region}: agreement {partner}")))?;
    if !half.agreement.send {
        return Err(refused(
            "agreement-no-send",
            format!("the agreement {partner} does not let residents take points there"),
        ));
    }
    if !in_force(&half, now, offset)? {
        return Err(refused(
            "agreement-not-in-force",
            format!("the agreement {partner} is not in force today (ended, or outside its dates)"),
        ));
    }
    if !points.is_positive() {
        return Err(StoreError::Field {
            field: "points",
            detail: "give the points to take, 1 or more".into(),
        });
    }
    member_present(c, &region, member)?;
    let cap = half.agreement.cap_per_member_year;
    if cap.is_positive() {
        let year = year_bounds(now, offset)?;
        let taken = moved(c, Side::Out, &region, &partner, member, year)?;
        if taken.saturating_add(points.get()) > cap.get() {
            return Err(refused(
                "agreement-cap",
                format!(
                    "the agreement {partner} lets a resident take {cap} points a year; {taken} taken already this year"
                ),
            ));
        }
    }
    let categories = half.agreement.categories.clone();
    if !categories.is_empty() {
        let earned = earned_in(c, &region, member, &categories)?;
        // What left before, to any partner: points go out once, whatever they were.
        let taken: Option<i64> = c.query_row(
            "SELECT CAST(SUM(points) AS BIGINT) FROM transfers_out WHERE region = ?1 AND member = ?2",
            params![region.as_str(), member.get()],
            |r| r.get(0),
        )?;
        let taken = taken.unwrap_or(0);
        let room = earned.saturating_sub(taken).max(0);
        if points.get() > room {
            return Err(refused(
                "agreement-categories",
                format!(
                    "the agreement {partner} counts points of {} only: member {member} earned {earned} there and took {taken} to other regions already, so at most {room} can go",
                    categories.join("、")
                ),
            ));
        }
    }
    let id = next_transfer(c, Side::Out, &region)?;
    let secret = hex(&crate::keys::random_secret()?[..10]);
    let entry = b.append(Append {
        region: region.clone(),
        entry: NewEntry {
            kind: EntryKind::RecognitionOut,
            member,
            amount: points,
            indicator: None,
            quantity: 1,
            reason: Reason::new(Source::Agreement, id),
            operator: by,
            reverses: None,
            sponsor: None,
            counts_annual: false,
        },
        idempotency_key: None,
    })?;
    b.conn().execute(
        "INSERT INTO transfers_out (region, transfer, partner, member, points, seq, secret_sha256, created_ms, categories) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            region.as_str(),
            sql_u64(id)?,
            partner.as_str(),
            member.get(),
            points.get(),
            sql_u64(entry.seq)?,
            sha256_hex(secret.as_bytes()),
            now.millis(),
            categories.join("\n")
        ],
    )?;
    Ok(TransferredOut {
        transfer: id,
        entry,
        secret,
    })
}

impl Store {
    /// The statement of transfer `transfer` out of `region`: the signed statement, then
    /// the receipt of its entry (on the newest checkpoint, or in a region that asks for
    /// witnesses, the newest one they cosigned holding it). Also its member, so the
    /// caller can check who may read it.
    pub fn statement(&self, region: &RegionCode, transfer: u64) -> Result<(MemberId, String)> {
        if i64::try_from(transfer).is_err() {
            return Err(StoreError::NotFound(format!(
                "transfer {region}:{transfer}"
            )));
        }
        let (partner, member, points, seq, secret, origin, categories): (
            String,
            i64,
            i64,
            i64,
            String,
            String,
            String,
        ) = self.read(|c| {
            c.query_opt(
                "SELECT t.partner, t.member, t.points, t.seq, t.secret_sha256, r.origin, t.categories \
                     FROM transfers_out t JOIN regions r ON r.region = t.region \
                     WHERE t.region = ?1 AND t.transfer = ?2",
                params![region.as_str(), sql_u64(transfer)?],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )?
            .ok_or_else(|| StoreError::NotFound(format!("transfer {region}:{transfer}")))
        })?;
        let partner = RegionCode::parse(&partner)
            .map_err(|e| StoreError::Corrupt(format!("transfer {transfer}: {e}")))?;
        let to = self.agreement(region, &partner)?.agreement.partner_origin;
        let st = Statement {
            from: origin,
            to,
            transfer,
            index: from_sql_u64(seq)?,
            points: Points::new(points),
            secret_sha256: secret,
            categories: categories
                .split('\n')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        let note = self.sign_note(region, &st.to_text())?;
        let (_, _, receipt) = self.receipt(region, st.index)?;
        let member = MemberId::new(member)
            .map_err(|e| StoreError::Corrupt(format!("transfer {transfer}: {e}")))?;
        Ok((member, format!("{note}{}", receipt.to_text())))
    }
}

/// Takes a statement at the receiving side's station, the resident present.
#[derive(Debug, Clone)]
pub struct TransferIn {
    pub region: RegionCode,
    pub member: MemberId,
    pub document: String,
    pub secret: String,
    pub by: OperatorId,
}

/// What a transfer in made.
#[derive(Debug, Clone)]
pub struct TransferredIn {
    pub transfer: u64,
    pub entry: Entry,
    pub home_origin: String,
    pub home_index: u64,
    pub home_points: Points,
}

impl Command for TransferIn {
    type Output = TransferredIn;
    fn run(self, b: &mut Batch<'_>) -> Result<TransferredIn> {
        transfer_in_in(b, self)
    }
}

/// The text of a signed note before its signatures, unchecked: read only to learn
/// which key checks it (then [`signed_as`]).
pub(crate) fn unsigned_text(note: &str) -> Result<String> {
    note.split_once("\n\n")
        .map(|(t, _)| format!("{t}\n"))
        .ok_or_else(|| refused("statement-malformed", "the statement is not a signed note"))
}

/// A statement's first checks at the receiving side, for either kind: made out to this
/// region, from a partner it has a half with. The half, and the region's UTC offset.
pub(crate) fn partner_half(
    c: &Conn,
    region: &RegionCode,
    from: &str,
    to: &str,
) -> Result<(crate::recognition::AgreementRow, i32)> {
    let (own, offset) = own_origin(c, region)?;
    if to != own {
        return Err(refused(
            "statement-not-for-us",
            format!("the statement is made out to {to}, not to this region ({own})"),
        ));
    }
    let half = crate::recognition::by_origin(c, region, from)?.ok_or_else(|| {
        refused(
            "no-agreement",
            format!("this region has no agreement with {from}"),
        )
    })?;
    Ok((half, offset))
}

/// Checks the note's signature by `from`'s key, and that what it signs reads as `st`
/// (what was read to find the key is what the signature covers).
pub(crate) fn signed_as<T: PartialEq>(
    note: &str,
    key: &NoteVerifier,
    from: &str,
    st: &T,
    parse: fn(&str) -> Option<T>,
) -> Result<()> {
    let signed = jifen_log::open_note(note, std::slice::from_ref(key)).map_err(|e| {
        refused(
            "statement-signature",
            format!(
                "the statement is not signed by {from}'s key ({e}): it was changed or made elsewhere"
            ),
        )
    })?;
    if parse(signed).as_ref() != Some(st) {
        return Err(refused(
            "statement-malformed",
            "the statement signs another text than the one it shows",
        ));
    }
    Ok(())
}

/// The checks of a statement against this region's half, offline. Returns the
/// statement, the home leaf and the half's name.
fn check_statement(
    c: &Conn,
    region: &RegionCode,
    document: &str,
    now: jifen_core::Timestamp,
) -> Result<(Statement, Vec<u8>, crate::recognition::AgreementRow)> {
    let malformed = |why: &str| refused("statement-malformed", format!("the statement {why}"));
    if document.len() > STATEMENT_BYTES_MAX {
        return Err(malformed("is too long"));
    }
    let (note, receipt_text) =
        split_document(document).ok_or_else(|| malformed("holds no receipt"))?;
    let st = Statement::parse(&unsigned_text(note)?)
        .ok_or_else(|| malformed("does not read as a jifen statement"))?;
    let (half, offset) = partner_half(c, region, &st.from, &st.to)?;
    let a: &Agreement = &half.agreement;
    if !a.receive {
        return Err(refused(
            "agreement-no-receive",
            format!(
                "the agreement {} does not take points from there",
                half.partner
            ),
        ));
    }
    if !in_force(&half, now, offset)? {
        return Err(refused(
            "agreement-not-in-force",
            format!(
                "the agreement {} is not in force today (ended, or outside its dates)",
                half.partner
            ),
        ));
    }
    let key = NoteVerifier::from_vkey(&a.partner_vkey)?;
    signed_as(note, &key, &st.from, &st, Statement::parse)?;
    let receipt =
        Receipt::parse(receipt_text).map_err(|e| malformed(&format!("'s receipt: {e}")))?;
    let leaf = receipt
        .extra
        .clone()
        .ok_or_else(|| malformed("'s receipt holds no entry"))?;
    let cp = receipt.verify(&leaf, &key).map_err(|e| {
        refused(
            "statement-receipt",
            format!(
                "the statement's receipt does not prove its entry in {}'s log: {e}",
                st.from
            ),
        )
    })?;
    if cp.origin != st.from {
        return Err(refused(
            "statement-receipt",
            "the receipt is of another log",
        ));
    }
    let witnesses = a
        .witnesses
        .iter()
        .map(|w| jifen_log::CosignatureVerifier::from_vkey(w))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let by =
        jifen_log::verify_cosignatures(&receipt.signed_checkpoint, &witnesses).map_err(|e| {
            refused(
                "statement-unwitnessed",
                format!("a witness's cosignature does not verify: {e}"),
            )
        })?;
    if by.len() < a.quorum as usize {
        return Err(refused(
            "statement-unwitnessed",
            format!(
                "the checkpoint in the statement is cosigned by {} of the witnesses the agreement trusts, {} needed: ask the home region for a newer statement once its witnesses have cosigned",
                by.len(),
                a.quorum
            ),
        ));
    }
    if !a.categories.is_empty()
        && (st.categories.is_empty() || st.categories.iter().any(|x| !a.counts(x)))
    {
        return Err(refused(
            "statement-categories",
            format!(
                "the agreement {} takes points of {} only; the statement's points count {}",
                half.partner,
                a.categories.join("、"),
                if st.categories.is_empty() {
                    "every category".to_owned()
                } else {
                    st.categories.join("、")
                }
            ),
        ));
    }
    let public = PublicLeaf::decode(&leaf).map_err(|e| malformed(&format!("'s entry: {e}")))?;
    if public.kind != EntryKind::RecognitionOut
        || public.amount != st.points
        || public.seq != st.index
        || receipt.index != st.index
        || public.reason != Reason::new(Source::Agreement, st.transfer)
    {
        return Err(refused(
            "statement-mismatch",
            "the statement's entry is not the transfer-out it names (kind, points, index or transfer differ)",
        ));
    }
    Ok((st, leaf, half))
}

fn transfer_in_in(b: &mut Batch<'_>, req: TransferIn) -> Result<TransferredIn> {
    b.lock_region(&req.region)?;
    let TransferIn {
        region,
        member,
        document,
        secret,
        by,
    } = req;
    let now = b.now();
    let c = b.conn();
    let (st, leaf, half) = check_statement(c, &region, &document, now)?;
    if sha256_hex(secret.trim().to_ascii_lowercase().as_bytes()) != st.secret_sha256 {
        return Err(refused(
            "statement-secret",
            "the one-time code does not match this statement: ask the resident for the code they were shown",
        ));
    }
    let taken: Option<i64> = c.query_opt(
        "SELECT transfer FROM transfers_in WHERE region = ?1 AND home_origin = ?2 AND home_index = ?3",
        params![region.as_str(), st.from.as_str(), sql_u64(st.index)?],
        |r| r.get(0),
    )?;
    if let Some(t) = taken {
        return Err(refused(
            "statement-used",
            format!(
                "this statement was taken already (transfer-in {t}); a statement is taken once"
            ),
        ));
    }
    member_present(c, &region, member)?;
    let (_, offset) = own_origin(c, &region)?;
    let credit = half.agreement.credit(st.points);
    if !credit.is_positive() {
        return Err(refused(
            "statement-too-small",
            format!(
                "{} points at this agreement's rate credit nothing",
                st.points
            ),
        ));
    }
    let cap = half.agreement.cap_per_member_year;
    if cap.is_positive() {
        let year = year_bounds(now, offset)?;
        let had = moved(c, Side::In, &region, &half.partner, member, year)?;
        if had.saturating_add(credit.get()) > cap.get() {
            return Err(refused(
                "agreement-cap",
                format!(
                    "the agreement {} credits a resident at most {cap} points a year; {had} credited already this year",
                    half.partner
                ),
            ));
        }
    }
    let id = next_transfer(c, Side::In, &region)?;
    let entry = b.append(Append {
        region: region.clone(),
        entry: NewEntry {
            kind: EntryKind::RecognitionIn,
            member,
            amount: credit,
            indicator: None,
            quantity: 1,
            reason: Reason::new(Source::Agreement, id),
            operator: by,
            reverses: None,
            sponsor: None,
            counts_annual: false,
        },
        idempotency_key: None,
    })?;
    b.conn().execute(
        "INSERT INTO transfers_in (region, transfer, partner, member, home_origin, home_index, \
         home_leaf_sha256, home_points, points, seq, statement, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            region.as_str(),
            sql_u64(id)?,
            half.partner.as_str(),
            member.get(),
            st.from.as_str(),
            sql_u64(st.index)?,
            hex(&jifen_log::leaf_hash(&leaf)),
            st.points.get(),
            credit.get(),
            sql_u64(entry.seq)?,
            document,
            now.millis()
        ],
    )?;
    Ok(TransferredIn {
        transfer: id,
        entry,
        home_origin: st.from,
        home_index: st.index,
        home_points: st.points,
    })
}

/// A transfer in as the public sees it: no member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferInRow {
    pub transfer: u64,
    pub partner: String,
    pub home_origin: String,
    pub home_index: u64,
    pub home_leaf_sha256: String,
    pub home_points: i64,
    pub points: i64,
    pub seq: u64,
}

/// A transfer out as its member (or a station) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutRow {
    pub transfer: u64,
    pub partner: String,
    pub points: i64,
    pub seq: u64,
    pub created_ms: i64,
}

/// What `jifen verify` found of a region's transfers.
#[derive(Debug, Clone)]
pub struct TransferAudit {
    pub region: RegionCode,
    pub out: u64,
    pub taken_in: u64,
}

impl Store {
    /// A member's transfers out, newest first (`NotFound` for an unknown member).
    pub fn transfers_out(
        &self,
        region: &RegionCode,
        member: MemberId,
    ) -> Result<Vec<TransferOutRow>> {
        self.read(|c| {
            if crate::rows::member_commitment(c, region, member)?.is_none() {
                return Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                )));
            }
            let mut out = Vec::new();
            c.query_each(
                "SELECT transfer, partner, points, seq, created_ms FROM transfers_out \
                 WHERE region = ?1 AND member = ?2 ORDER BY transfer DESC",
                params![region.as_str(), member.get()],
                |r| {
                    out.push(TransferOutRow {
                        transfer: from_sql_u64(r.get(0)?)?,
                        partner: r.get(1)?,
                        points: r.get(2)?,
                        seq: from_sql_u64(r.get(3)?)?,
                        created_ms: r.get(4)?,
                    });
                    Ok(())
                },
            )?;
            Ok(out)
        })
    }

    /// The region's transfers in, oldest first.
    pub fn transfers_in(&self, region: &RegionCode) -> Result<Vec<TransferInRow>> {
        self.read(|c| {
            own_origin(c, region)?;
            let mut out = Vec::new();
            c.query_each(
                "SELECT transfer, partner, home_origin, home_index, home_leaf_sha256, home_points, points, seq \
                 FROM transfers_in WHERE region = ?1 ORDER BY transfer",
                params![region.as_str()],
                |r| {
                    out.push(TransferInRow {
                        transfer: from_sql_u64(r.get(0)?)?,
                        partner: r.get(1)?,
                        home_origin: r.get(2)?,
                        home_index: from_sql_u64(r.get(3)?)?,
                        home_leaf_sha256: r.get(4)?,
                        home_points: r.get(5)?,
                        points: r.get(6)?,
                        seq: from_sql_u64(r.get(7)?)?,
                    });
                    Ok(())
                },
            )?;
            Ok(out)
        })
    }

    /// Checks each region's transfers: every `recognition-out` entry has its transfer
    /// row (same points) and every row its entry; every `recognition-in` entry has a
    /// kept statement that still checks against the agreement's key (signature,
    /// receipt, leaf hash, points) and every row its entry; so the sums per agreement
    /// balance with the entries.
    pub fn audit_transfers(&self) -> Result<Vec<TransferAudit>> {
        let mut out = Vec::new();
        for r in self.regions()? {
            let region = r.region.code;
            out.push(self.read(|c| {
                let mut entries: std::collections::BTreeMap<(bool, u64), (u64, i64)> =
                    Default::default();
                c.query_each(
                    "SELECT kind, reason, seq, amount FROM entries WHERE region = ?1 \
                     AND kind IN ('recognition-in', 'recognition-out')",
                    params![region.as_str()],
                    |row| {
                        let kind = EntryKind::parse(&row.get::<String>(0)?)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let reason = Reason::parse(&row.get::<String>(1)?)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        entries.insert(
                            (kind == EntryKind::RecognitionIn, reason.reference),
                            // Stored signed: negative where the member is debited.
                            (from_sql_u64(row.get(2)?)?, row.get::<i64>(3)?.saturating_abs()),
                        );
                        Ok(())
                    },
                )?;
                let bad = |what: String| StoreError::Corrupt(format!("region {region}: {what}"));
                let mut seen = 0usize;
                let mut rows: Vec<(i64, i64, i64)> = Vec::new();
                c.query_each(
                    "SELECT transfer, seq, points FROM transfers_out WHERE region = ?1",
                    params![region.as_str()],
                    |row| {
                        rows.push((row.get(0)?, row.get(1)?, row.get(2)?));
                        Ok(())
                    },
                )?;
                let outs = rows.len() as u64;
                for (t, seq, points) in rows {
                    match entries.get(&(false, from_sql_u64(t)?)) {
                        Some((s, amount)) if *s == from_sql_u64(seq)? && *amount == points => seen += 1,
                        _ => return Err(bad(format!("transfer-out {t} has no matching entry"))),
                    }
                }
                let mut ins: Vec<(i64, i64, i64, String, String, i64)> = Vec::new();
                c.query_each(
                    "SELECT transfer, seq, points, statement, home_leaf_sha256, home_points FROM transfers_in WHERE region = ?1",
                    params![region.as_str()],
                    |row| {
                        ins.push((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?));
                        Ok(())
                    },
                )?;
                let taken_in = ins.len() as u64;
                for (t, seq, points, statement, leaf_hash, home_points) in ins {
                    match entries.get(&(true, from_sql_u64(t)?)) {
                        Some((s, amount)) if *s == from_sql_u64(seq)? && *amount == points => seen += 1,
                        _ => return Err(bad(format!("transfer-in {t} has no matching entry"))),
                    }
                    let (note, receipt_text) = split_document(&statement)
                        .ok_or_else(|| bad(format!("transfer-in {t}: its statement holds no receipt")))?;
                    let body = note.split_once("\n\n").map(|(x, _)| format!("{x}\n")).unwrap_or_default();
                    let st = Statement::parse(&body)
                        .ok_or_else(|| bad(format!("transfer-in {t}: its statement does not parse")))?;
                    let half = crate::recognition::by_origin(c, &region, &st.from)?
                        .ok_or_else(|| bad(format!("transfer-in {t}: no agreement with {}", st.from)))?;
                    let key = NoteVerifier::from_vkey(&half.agreement.partner_vkey)?;
                    jifen_log::open_note(note, std::slice::from_ref(&key))
                        .map_err(|e| bad(format!("transfer-in {t}: its statement's signature: {e}")))?;
                    let receipt = Receipt::parse(receipt_text)?;
                    let leaf = receipt.extra.clone().unwrap_or_default();
                    receipt
                        .verify(&leaf, &key)
                        .map_err(|e| bad(format!("transfer-in {t}: its statement's receipt: {e}")))?;
                    if hex(&jifen_log::leaf_hash(&leaf)) != leaf_hash || st.points.get() != home_points {
                        return Err(bad(format!(
                            "transfer-in {t}: the home leaf or points kept differ from its statement"
                        )));
                    }
                }
                if seen != entries.len() {
                    return Err(bad(format!(
                        "{} recognition entries have no transfer row",
                        entries.len() - seen
                    )));
                }
                Ok(TransferAudit {
                    region: region.clone(),
                    out: outs,
                    taken_in,
                })
            })?);
        }
        Ok(out)
    }
}
