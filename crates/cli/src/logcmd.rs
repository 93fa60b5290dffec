//! `jifen log`: publish the tiles, print verifier keys and receipts, check a receipt offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use jifen_core::{PublicLeaf, RegionCode};
use jifen_log::{NoteVerifier, Receipt, TILE_WIDTH};

use crate::open_existing;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Write each region's log as static files in the C2SP tlog-tiles layout:
    /// DIR/<region>/checkpoint and DIR/<region>/tile/...
    Publish {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a region's verifier key (signed-note vkey: name+hash+base64).
    Vkey {
        #[arg(long)]
        region: String,
    },
    /// Print an entry's receipt in the C2SP tlog-proof@v1 format. ID is <region>:<seq>.
    Proof {
        #[arg(long)]
        entry: String,
    },
    /// Let a region restored from a backup sign again: show it the latest checkpoint
    /// the old server published (a signed note, e.g. its /log/<region>/checkpoint).
    /// It must be the one the region was restored at; a larger one is refused.
    Resume {
        #[arg(long)]
        region: String,
        /// The checkpoint file; - for standard input.
        #[arg(long)]
        checkpoint: PathBuf,
    },
    /// Check a receipt offline against a verifier key, and print what it proves.
    Check {
        /// The region's verifier key (from `jifen log vkey`).
        #[arg(long)]
        vkey: String,
        /// The receipt file (from `jifen log proof`); - for standard input.
        receipt: PathBuf,
        /// Require a cosignature by this witness (its cosignature/v1 vkey) on the
        /// receipt's checkpoint. Repeat for each witness.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// How many of the --witness keys must have cosigned (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
}

/// Parses an entry id `<region>:<seq>`.
pub fn parse_entry_id(s: &str) -> Result<(RegionCode, u64)> {
    let (r, n) = s.rsplit_once(':').ok_or_else(|| {
        anyhow!("entry id {s:?} must be <region>:<sequence number>, e.g. tongxiang-gaoqiao:41")
    })?;
    let region = RegionCode::parse(r).map_err(|e| anyhow!("entry id {s:?}: {e}"))?;
    let seq = n
        .parse()
        .map_err(|_| anyhow!("entry id {s:?}: {n:?} is not a sequence number"))?;
    Ok((region, seq))
}

pub fn run(data: &Path, cmd: LogCommand) -> Result<ExitCode> {
    match cmd {
        LogCommand::Publish { out } => {
            let store = open_existing(data)?;
            for r in store.regions()? {
                let (size, files) = publish_region(&store, &r.region.code, &out)?;
                println!(
                    "{}: {size} entries, {files} files in {}",
                    r.region.code,
                    out.join(r.region.code.as_str()).display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Resume { region, checkpoint } => {
            let region = crate::parse_region(&region)?;
            let note = if checkpoint.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .context("reading the checkpoint from standard input")?;
                s
            } else {
                std::fs::read_to_string(&checkpoint)
                    .with_context(|| format!("reading {}", checkpoint.display()))?
            };
            let store = open_existing(data)?;
            let resumed = store.resume_signing(&region, &note);
            store.close();
            match resumed? {
                jifen_store::backup::Resumed::NotRestored => {
                    println!("region {region} is not marked restored; it signs as it is");
                }
                jifen_store::backup::Resumed::Resumed { size } => {
                    println!(
                        "region {region}: the checkpoint shown is the restored one ({size} entries); it signs again"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Vkey { region } => {
            let store = open_existing(data)?;
            let info = store.region(&crate::parse_region(&region)?)?;
            println!("{}", info.vkey);
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Proof { entry } => {
            let (region, seq) = parse_entry_id(&entry)?;
            let store = open_existing(data)?;
            let (_, _, receipt) = store.receipt(&region, seq)?;
            print!("{}", receipt.to_text());
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Check {
            vkey,
            receipt,
            witnesses,
            quorum,
        } => {
            let witnesses = crate::witness_verifiers(&witnesses)?;
            let quorum = quorum.unwrap_or(witnesses.len());
            if quorum > witnesses.len() {
                anyhow::bail!(
                    "--quorum {quorum} is more than the {} --witness keys given",
                    witnesses.len()
                );
            }
            let text = if receipt.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&receipt)
                    .with_context(|| format!("reading {}", receipt.display()))?
            };
            let verifier =
                NoteVerifier::from_vkey(vkey.trim()).map_err(|e| anyhow!("--vkey: {e}"))?;
            let receipt = Receipt::parse(&text).map_err(|e| anyhow!("receipt: {e}"))?;
            let leaf = receipt.extra.clone().ok_or_else(|| {
                anyhow!("the receipt carries no entry (its extra line is missing)")
            })?;
            let witnessed = receipt.verify(&leaf, &verifier).and_then(|cp| {
                let by = jifen_log::verify_cosignatures(&receipt.signed_checkpoint, &witnesses)?;
                Ok((cp, by))
            });
            match witnessed {
                Ok((_, by)) if by.len() < quorum => {
                    let names: Vec<&str> = by.iter().map(|c| c.witness.as_str()).collect();
                    println!(
                        "FAILED: the receipt's checkpoint is cosigned by {} of the witnesses required ({}), fewer than the quorum of {quorum}; a checkpoint no trusted witness saw may be a split view",
                        by.len(),
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    );
                    Ok(ExitCode::from(1))
                }
                Ok((cp, by)) => {
                    for c in &by {
                        println!("cosigned by witness {} at {}", c.witness, c.timestamp);
                    }
                    let decoded = PublicLeaf::decode(&leaf)
                        .map_err(|e| anyhow!("the entry in the receipt: {e}"))?;
                    println!(
                        "ok: entry {} of {} is in the log signed by {} at tree size {}",
                        receipt.index, decoded.region, cp.origin, cp.size
                    );
                    print!("{}", String::from_utf8_lossy(&leaf));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

/// Writes one region's checkpoint, hash tiles and entry bundles, all from one
/// snapshot so they agree. Returns the tree size and how many files were written.
fn publish_region(
    store: &jifen_store::Store,
    region: &RegionCode,
    out: &Path,
) -> Result<(u64, u64)> {
    let dir = out.join(region.as_str());
    store
        .log_view(region, |log| {
            let (cp, note) = (&log.checkpoint, &log.note);
            let mut files = 0u64;
            let width = TILE_WIDTH;
            for level in 0u8.. {
                let nodes = cp.size >> (8 * u32::from(level));
                if nodes == 0 || level > jifen_log::TILE_LEVEL_MAX {
                    break;
                }
                for index in 0..nodes.div_ceil(width) {
                    let w = (nodes - index * width).min(width);
                    let blob = log.tile(level, index)?.unwrap_or_default();
                    let bytes = usize::try_from(w).unwrap_or(usize::MAX) * 32;
                    if blob.len() < bytes {
                        return Err(jifen_store::StoreError::Corrupt(format!(
                            "tile {level}/{index} holds {} hashes, {w} needed",
                            blob.len() / 32
                        )));
                    }
                    let path = dir.join(jifen_log::tile_path(
                        level,
                        index,
                        u16::try_from(w).unwrap_or(256),
                    ));
                    write_file(&path, &blob[..bytes]).map_err(|e| jifen_store::StoreError::Io {
                        path: path.display().to_string(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                    files += 1;
                    if level == 0 {
                        let leaves = log.leaves(index * width, index * width + w)?;
                        let bundle = jifen_log::encode_entry_bundle(
                            leaves.iter().map(|(_, l)| l.as_slice()),
                        )?;
                        let path = dir.join(jifen_log::entries_path(
                            index,
                            u16::try_from(w).unwrap_or(256),
                        ));
                        write_file(&path, &bundle).map_err(|e| jifen_store::StoreError::Io {
                            path: path.display().to_string(),
                            source: std::io::Error::other(e.to_string()),
                        })?;
                        files += 1;
                    }
                }
            }
            // The checkpoint goes last: a reader who sees it finds every tile it names.
            let path = dir.join("checkpoint");
            write_file(&path, note.as_bytes()).map_err(|e| jifen_store::StoreError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
            Ok((cp.size, files + 1))
        })
        .with_context(|| format!("publishing region {region}"))
}
