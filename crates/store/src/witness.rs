//! Witnesses (c2sp.org/tlog-witness). Two sides:
//!
//! - This server as a witness of other logs: `witnessed_logs` holds, per origin, the
//!   largest checkpoint it cosigned. A request is checked against it and, if it passes,
//!   recorded and cosigned in one write of the writer, so two requests can never both
//!   pass against the same old state, and a restart forgets nothing.
//! - A region's own witnesses: who they are (name, key, where to send), the quorum its
//!   readers are told to require, and the cosignatures its checkpoints got back, which
//!   `read::latest_checkpoint` appends to the note wherever it is published.

use std::sync::Arc;

use jifen_core::RegionCode;
use jifen_log::{
    AddCheckpoint, CosignatureVerifier, Cosigner, NoteVerifier, VerifiedCheckpoint, WitnessRefusal,
};

use crate::Store;
use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::sql::Conn;

/// The most witnesses a region may name.
pub const REGION_WITNESSES_MAX: usize = 16;
/// The longest submission URL of a witness, in bytes.
pub const WITNESS_URL_BYTES_MAX: usize = 512;

/// A witness a region names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionWitness {
    /// The witness's key name (the vkey's first part).
    pub name: String,
    /// Its `cosignature/v1` verifier key.
    pub vkey: String,
    /// Its submission prefix: `add-checkpoint` is posted to `<url>/add-checkpoint`.
    pub url: String,
}

/// A region's witnesses and how many of them its readers are told to require.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Witnesses {
    pub witnesses: Vec<RegionWitness>,
    pub quorum: u32,
}

impl Witnesses {
    /// The verifiers of the named witnesses.
    pub fn verifiers(&self) -> Result<Vec<CosignatureVerifier>> {
        self.witnesses
            .iter()
            .map(|w| Ok(CosignatureVerifier::from_vkey(&w.vkey)?))
            .collect()
    }
}

fn field(field: &'static str, detail: String) -> StoreError {
    StoreError::Field { field, detail }
}

/// Whether two witness keys are one public key (under any names).
fn same_key(a: &CosignatureVerifier, b: &CosignatureVerifier) -> bool {
    a.public_key() == b.public_key()
}

fn check_witnesses(w: &Witnesses) -> Result<()> {
    if w.witnesses.len() > REGION_WITNESSES_MAX {
        return Err(field(
            "witnesses",
            format!(
                "{} witnesses named; a region names at most {REGION_WITNESSES_MAX}",
                w.witnesses.len()
            ),
        ));
    }
    for (i, one) in w.witnesses.iter().enumerate() {
        let v = CosignatureVerifier::from_vkey(one.vkey.trim())
            .map_err(|e| field("witnesses", format!("witness {}: its key: {e}", i + 1)))?;
        if v.name() != one.name {
            return Err(field(
                "witnesses",
                format!(
                    "witness {}: the name {:?} is not its key's name {:?}",
                    i + 1,
                    one.name,
                    v.name()
                ),
            ));
        }
        let url = one.url.as_str();
        let host = url.strip_prefix("http://").unwrap_or("");
        let authority = host.split('/').next().unwrap_or("");
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let port_ok = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((a, "")) => !a.is_empty(),
                Some((a, port)) => !a.is_empty() && port.strip_prefix(':').is_some_and(digits),
                None => false,
            },
            None => match authority.split_once(':') {
                None => !authority.is_empty(),
                Some((h, port)) => !h.is_empty() && digits(port),
            },
        };
        if url.len() > WITNESS_URL_BYTES_MAX
            || host.is_empty()
            || host.starts_with('/')
            || !port_ok
            || url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "?#@".contains(c))
        {
            return Err(field(
                "witnesses",
                format!(
                    "witness {}: the address {url:?} must be http://host[:port][/prefix], at most {WITNESS_URL_BYTES_MAX} bytes (put a TLS proxy on this machine's side for https)",
                    i + 1
                ),
            ));
        }
        if let Some(o) = w.witnesses[..i]
            .iter()
            .find(|o| CosignatureVerifier::from_vkey(o.vkey.trim()).is_ok_and(|k| same_key(&k, &v)))
        {
            return Err(field(
                "witnesses",
                format!(
                    "witnesses {:?} and {:?} have the same key: a cosignature does not name its witness, so one key must not count twice",
                    o.name, one.name
                ),
            ));
        }
        if w.witnesses[..i].iter().any(|o| o.name == one.name) {
            return Err(field(
                "witnesses",
                format!("witness {:?} is named twice", one.name),
            ));
        }
    }
    if w.quorum as usize > w.witnesses.len() {
        return Err(field(
            "quorum",
            format!(
                "a quorum of {} cannot be met by {} witnesses",
                w.quorum,
                w.witnesses.len()
            ),
        ));
    }
    Ok(())
}

/// The size and root this witness holds for `origin`, if any.
fn held_checkpoint(c: &Conn, origin: &str) -> Result<Option<(u64, [u8; 32])>> {
    let row: Option<(i64, Vec<u8>)> = c.query_opt(
        "SELECT size, root FROM witnessed_logs WHERE origin = ?1",
        params![origin],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    row.map(|(size, root)| {
        Ok((
            from_sql_u64(size)?,
            <[u8; 32]>::try_from(root.as_slice())
                .map_err(|_| StoreError::Corrupt(format!("witnessed log {origin}: root")))?,
        ))
    })
    .transpose()
}

/// The cosignature lines stored for a region's checkpoint of `size`, in witness order.
pub(crate) fn cosignature_lines(c: &Conn, region: &RegionCode, size: u64) -> Result<String> {
    let mut lines = String::new();
    c.query_each(
        "SELECT line FROM cosignatures WHERE region = ?1 AND size = ?2 ORDER BY witness",
        params![region.as_str(), sql_u64(size)?],
        |r| {
            let line: String = r.get(0)?;
            lines.push_str(&line);
            Ok(())
        },
    )?;
    Ok(lines)
}

/// A region's witnesses, read in `c`.
pub(crate) fn region_witnesses(c: &Conn, region: &RegionCode) -> Result<Witnesses> {
    let quorum: i64 = c
        .query_opt(
            "SELECT witness_quorum FROM regions WHERE region = ?1",
            params![region.as_str()],
            |r| r.get(0),
        )?
        .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
    let mut witnesses = Vec::new();
    c.query_each(
        "SELECT name, vkey, url FROM region_witnesses WHERE region = ?1 ORDER BY name",
        params![region.as_str()],
        |r| {
            witnesses.push(RegionWitness {
                name: r.get(0)?,
                vkey: r.get(1)?,
                url: r.get(2)?,
            });
            Ok(())
        },
    )?;
    Ok(Witnesses {
        witnesses,
        quorum: u32::try_from(quorum)
            .map_err(|_| StoreError::Corrupt(format!("region {region}: quorum {quorum}")))?,
    })
}

impl Store {
    /// As a witness: compares `verified` (a checkpoint the log's key signed) with what
    /// this server holds for its log and, if it extends that, records it as the largest
    /// held and cosigns it, in one write. The record is a compare-and-swap on the row
    /// read, so two servers on one PostgreSQL database cannot both move it from one
    /// state. Returns the cosignature line, or the refusal (which changes nothing).
    pub fn witness_checkpoint(
        &self,
        verified: VerifiedCheckpoint,
        cosigner: Arc<Cosigner>,
    ) -> Result<std::result::Result<String, WitnessRefusal>> {
        let now = self.clock().now().millis();
        self.write(move |b| {
            let c = b.conn();
            let origin = verified.checkpoint.origin.clone();
            let held = held_checkpoint(c, &origin)?;
            if let Err(refusal) = verified.against(held) {
                return Ok(Err(refusal));
            }
            let text = verified.text();
            let line = cosigner.cosign(&text, u64::try_from(now / 1000).unwrap_or(1).max(1))?;
            let note = format!("{}{line}", verified.kept_note);
            let size = sql_u64(verified.checkpoint.size)?;
            let root = verified.checkpoint.root.to_vec();
            let moved = match held {
                None => c.execute(
                    "INSERT INTO witnessed_logs (origin, size, root, checkpoint, updated_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (origin) DO NOTHING",
                    params![origin.as_str(), size, root, note, now],
                )?,
                Some((old_size, old_root)) => c.execute(
                    "UPDATE witnessed_logs SET size = ?2, root = ?3, checkpoint = ?4, updated_ms = ?5 \
                     WHERE origin = ?1 AND size = ?6 AND root = ?7",
                    params![origin.as_str(), size, root, note, now, sql_u64(old_size)?, old_root.to_vec()],
                )?,
            };
            if moved == 0 {
                // Another server moved it since the read: say what is held now.
                let (held, _) = held_checkpoint(c, &origin)?.unwrap_or((0, [0; 32]));
                return Ok(Err(WitnessRefusal::Conflict { held }));
            }
            Ok(Ok(line))
        })
    }

    /// As a witness: the checkpoint last cosigned for `origin` (with this witness's
    /// cosignature), if any.
    pub fn witnessed_checkpoint(&self, origin: &str) -> Result<Option<(u64, String)>> {
        let row: Option<(i64, String)> = self.read(|c| {
            c.query_opt(
                "SELECT size, checkpoint FROM witnessed_logs WHERE origin = ?1",
                params![origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        row.map(|(size, note)| Ok((from_sql_u64(size)?, note)))
            .transpose()
    }

    /// Names a region's witnesses and quorum, replacing the ones before. Cosignatures
    /// already received stay with their checkpoints.
    pub fn set_witnesses(&self, region: RegionCode, mut w: Witnesses) -> Result<()> {
        for one in &mut w.witnesses {
            one.vkey = one.vkey.trim().to_owned();
            one.url = one.url.trim().trim_end_matches('/').to_owned();
        }
        check_witnesses(&w)?;
        self.write(move |b| {
            let c = b.conn();
            let n = c.execute(
                "UPDATE regions SET witness_quorum = ?1 WHERE region = ?2",
                params![i64::from(w.quorum), region.as_str()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("region {region}")));
            }
            c.execute(
                "DELETE FROM region_witnesses WHERE region = ?1",
                params![region.as_str()],
            )?;
            for one in &w.witnesses {
                c.execute(
                    "INSERT INTO region_witnesses (region, name, vkey, url) VALUES (?1, ?2, ?3, ?4)",
                    params![region.as_str(), one.name.as_str(), one.vkey.as_str(), one.url.as_str()],
                )?;
            }
            Ok(())
        })
    }

    /// A region's witnesses and quorum; `NotFound` for an unknown region.
    pub fn witnesses(&self, region: &RegionCode) -> Result<Witnesses> {
        self.read(|c| region_witnesses(c, region))
    }

    /// Keeps the cosignatures in `lines` (signature lines, as a witness answers) that a
    /// witness the region names made on its checkpoint of `size`; each is verified
    /// against that checkpoint first. Lines by keys the region does not name are
    /// ignored; a named key's line that does not verify refuses all. Returns how many
    /// verified (kept now, or kept before: a witness asked again cosigns again).
    pub fn record_cosignatures(
        &self,
        region: RegionCode,
        size: u64,
        lines: String,
    ) -> Result<usize> {
        self.write(move |b| {
            let c = b.conn();
            let witnesses = region_witnesses(c, &region)?;
            let (note, vkey): (String, String) = c
                .query_opt(
                    "SELECT k.note, r.vkey FROM checkpoints k JOIN regions r ON r.region = k.region \
                     WHERE k.region = ?1 AND k.size = ?2",
                    params![region.as_str(), sql_u64(size)?],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("region {region}: checkpoint of size {size}"))
                })?;
            let log = NoteVerifier::from_vkey(&vkey)?;
            let text = jifen_log::open_note(&note, std::slice::from_ref(&log))?;
            let found =
                jifen_log::verify_cosignature_lines(text, &lines, &witnesses.verifiers()?)?;
            let verified = found.len();
            for cosig in found {
                c.execute(
                    "INSERT INTO cosignatures (region, size, witness, timestamp, line) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (region, size, witness) DO NOTHING",
                    params![
                        region.as_str(),
                        sql_u64(size)?,
                        cosig.witness.as_str(),
                        sql_u64(cosig.timestamp)?,
                        cosig.line.as_str()
                    ],
                )?;
            }
            Ok(verified)
        })
    }
}

impl Store {
    /// The `add-checkpoint` request that brings a witness holding `old_size` of the
    /// region's log to its latest checkpoint, with the cosignatures it already has.
    pub fn witness_request(&self, region: &RegionCode, old_size: u64) -> Result<AddCheckpoint> {
        self.read(|c| {
            let (cp, note) = crate::read::latest_checkpoint(c, region)?;
            if old_size > cp.size {
                return Err(StoreError::Conflict(format!(
                    "region {region}: a witness holds size {old_size}, larger than the log's {}; was an old backup restored?",
                    cp.size
                )));
            }
            let proof = if old_size == 0 || old_size == cp.size {
                Vec::new()
            } else {
                let mut tiles = crate::rows::SqlTiles {
                    conn: c,
                    region: region.as_str(),
                };
                jifen_log::consistency_proof(&mut tiles, old_size, cp.size)?
            };
            Ok(AddCheckpoint {
                old_size,
                proof,
                checkpoint: note,
            })
        })
    }
}

/// What `jifen verify` found of one region's cosignatures.
#[derive(Debug, Clone)]
pub struct WitnessAudit {
    pub region: RegionCode,
    /// The latest checkpoint's size.
    pub size: u64,
    /// The required witnesses (`--witness`) whose cosignature on it verified.
    pub cosigned_by: Vec<String>,
    /// Cosignatures kept for any of the region's checkpoints, each verified against the
    /// checkpoint of its size.
    pub on_record: u64,
    /// Cosignatures kept by witnesses the region no longer names and not given: their
    /// keys are unknown here, so they could not be checked.
    pub unchecked: u64,
    /// How many witnesses the region names (none, and never witnessed: it asks for no
    /// cosignature, and none is required of it).
    pub named: usize,
}

impl Store {
    /// Checks every region's kept cosignatures against its checkpoints (a cosignature
    /// that does not verify on the checkpoint of its size means a witness saw another
    /// tree of that size, or the row was changed), and that each latest checkpoint
    /// carries the cosignatures of at least `quorum` of `required`, if it names witnesses
    /// or ever had a cosignature kept.
    pub fn audit_witnesses(
        &self,
        required: &[CosignatureVerifier],
        quorum: usize,
    ) -> Result<Vec<WitnessAudit>> {
        let mut out = Vec::new();
        for r in self.regions()? {
            let region = r.region.code;
            out.push(self.read(|c| {
                let (cp, note) = crate::read::latest_checkpoint(c, &region)?;
                let mut keys = region_witnesses(c, &region)?.verifiers()?;
                let named = keys.len();
                keys.extend(required.iter().cloned());
                let log = NoteVerifier::from_vkey(&r.vkey)?;
                let mut rows: Vec<(i64, String, String)> = Vec::new();
                c.query_each(
                    "SELECT s.size, s.witness, s.line FROM cosignatures s WHERE s.region = ?1 ORDER BY s.size, s.witness",
                    params![region.as_str()],
                    |row| {
                        rows.push((row.get(0)?, row.get(1)?, row.get(2)?));
                        Ok(())
                    },
                )?;
                let (mut on_record, mut unchecked) = (0, 0);
                for (size, witness, line) in rows {
                    let Some(key) = keys.iter().find(|k| k.name() == witness) else {
                        unchecked += 1;
                        continue;
                    };
                    let signed: String = c
                        .query_opt(
                            "SELECT note FROM checkpoints WHERE region = ?1 AND size = ?2",
                            params![region.as_str(), size],
                            |row| row.get(0),
                        )?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "region {region}: a cosignature by {witness} names size {size}, which was never signed"
                            ))
                        })?;
                    let text = jifen_log::open_note(&signed, std::slice::from_ref(&log))?;
                    let found = jifen_log::verify_cosignature_lines(
                        text,
                        &line,
                        std::slice::from_ref(key),
                    )
                    .map_err(|e| {
                        StoreError::Corrupt(format!(
                            "region {region}: the cosignature by {witness} on size {size} does not verify on the checkpoint signed at that size ({e})"
                        ))
                    })?;
                    if found.is_empty() {
                        // By another key under that name (a witness's key replaced):
                        // not checkable with the keys known here.
                        unchecked += 1;
                        continue;
                    }
                    on_record += 1;
                }
                let cosigned_by: Vec<String> = jifen_log::verify_cosignatures(&note, required)?
                    .into_iter()
                    .map(|c| c.witness)
                    .collect();
                // A region that names witnesses, or was ever witnessed, owes the quorum.
                if (named > 0 || on_record + unchecked > 0) && cosigned_by.len() < quorum {
                    return Err(StoreError::Rejected(format!(
                        "region {region}: the latest checkpoint (size {}) is cosigned by {} of the witnesses required ({}), fewer than the quorum of {quorum}",
                        cp.size,
                        cosigned_by.len(),
                        if cosigned_by.is_empty() { "none".to_owned() } else { cosigned_by.join(", ") }
                    )));
                }
                Ok(WitnessAudit {
                    region: region.clone(),
                    size: cp.size,
                    cosigned_by,
                    on_record,
                    unchecked,
                    named,
                })
            })?);
        }
        Ok(out)
    }
}
