//! `jifen bench witness`: what witnessing costs, in one process on loopback.
//!
//! 1. One witness (a jifen server with `WitnessConfig`, on a fresh store) takes
//!    `add-checkpoint` requests from `--logs` outside logs at once, each sending its next
//!    checkpoint (one leaf larger, with its consistency proof) as soon as the previous
//!    cosignature is back, over keep-alive HTTP/1.1. Printed: checkpoints witnessed per
//!    second, and each request's p50/p99. The request bodies are made before the clock
//!    starts.
//! 2. A log server (a second fresh store, its own runtime) takes award requests from
//!    `--clients` connections, first with no witness named, then with that witness
//!    named (its submitter sending each new checkpoint after the commit), the same
//!    number of requests each time. Printed: both runs' acknowledgement p50/p99 and
//!    rate, side by side, then a third run with the witness no longer named (so an effect
//!    of the order shows apart), and how long after the last acknowledgement of the
//!    witnessed run its last checkpoint was cosigned. The witness shares the machine's
//!    cores here; deployed, it is another machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ed25519_dalek::SigningKey;
use hyper::{Method, StatusCode};
use jifen_core::{RegionCode, Role, Timestamp};
use jifen_log::{Appender, Checkpoint, Cosigner, NoteSigner, TileReader};
use jifen_store::Store;
use jifen_store::accounts::{Grant, Token, TokenKind};
use jifen_store::witness::{RegionWitness, Witnesses};

use crate::http::{call, connect};

pub struct Args {
    pub logs: usize,
    pub checkpoints: usize,
    pub clients: usize,
    pub requests: u64,
    pub members: u64,
    pub dir: Option<PathBuf>,
}

const WITNESS: &str = "bench.witness/w1";
const TOKEN: &str = "bench-witness-token-0123456789abcdef";

/// Tiles an [`Appender`] handed out, kept in memory for the bench's proofs.
#[derive(Default)]
struct Tiles(std::collections::HashMap<(u8, u64), Vec<u8>>);
impl TileReader for Tiles {
    type Error = std::io::Error;
    fn read_tile(
        &mut self,
        level: u8,
        index: u64,
    ) -> std::result::Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.0.get(&(level, index)).cloned())
    }
}

/// An outside log's `checkpoints` successive requests, each one leaf larger.
fn outside_log(i: usize, checkpoints: usize) -> Result<(NoteSigner, Vec<String>)> {
    let origin = format!("bench.example/log/{i}");
    let seed: [u8; 32] = std::array::from_fn(|b| (b as u8) ^ (i as u8).wrapping_add(1));
    let signer = NoteSigner::new(&origin, SigningKey::from_bytes(&seed))?;
    let (mut tree, mut tiles) = (Appender::new(), Tiles::default());
    let mut bodies = Vec::with_capacity(checkpoints);
    for n in 0..checkpoints {
        tree.append(jifen_log::leaf_hash(format!("log {i} leaf {n}").as_bytes()));
        for t in tree.take_dirty_tiles() {
            tiles.0.insert((t.level, t.index), t.hashes);
        }
        let size = tree.size();
        let cp = Checkpoint {
            origin: origin.clone(),
            size,
            root: tree.root(),
            extensions: vec![],
        };
        let old = size - 1;
        let proof = if old == 0 {
            vec![]
        } else {
            jifen_log::consistency_proof(&mut tiles, old, size)?
        };
        let request = jifen_log::AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: signer.sign(&cp.to_text())?,
        };
        bodies.push(request.to_text());
    }
    Ok((signer, bodies))
}

fn percentile_ms(sorted_ns: &[u64], permille: usize) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = (sorted_ns.len() * permille).div_ceil(1000).max(1);
    sorted_ns[rank - 1] as f64 / 1e6
}

/// Serves `state` on a free loopback port on `rt`; the address and a stop switch.
fn serve_on(
    rt: &tokio::runtime::Runtime,
    state: jifen_server::AppState,
) -> Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("listening on 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(jifen_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Ok((addr, stop))
}

pub fn run(a: Args) -> Result<ExitCode> {
    if a.logs == 0 || a.checkpoints == 0 || a.clients == 0 || a.requests == 0 || a.members == 0 {
        bail!("--logs, --checkpoints, --clients, --requests and --members must be at least 1");
    }
    let tmp = super::temp_dir("witness")?;
    let base = a.dir.clone().unwrap_or_else(|| tmp.0.clone());
    let (_, witness_store, _) = super::fresh_store(&base.join("witness"))?;
    let (_, log_store, region) = super::fresh_store(&base.join("log"))?;
    super::api::seed(&log_store, &region, a.members)?;
    let account = log_store.create_account(None, "bench-reviewer", "bench reviewer", None)?;
    log_store.grant_role(
        account,
        Grant {
            region: region.clone(),
            role: Role::Reviewer,
            member: None,
            sponsor: None,
        },
    )?;
    log_store.put_token(
        jifen_server::auth::token_hash(TOKEN),
        Token {
            account,
            kind: TokenKind::Api,
            scope: Some((region.clone(), Role::Reviewer)),
            expires: Timestamp::from_millis(i64::MAX / 2),
        },
    )?;

    eprintln!(
        "making {} logs' {} checkpoints each ...",
        a.logs, a.checkpoints
    );
    let mut verifiers = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..a.logs {
        let (signer, b) = outside_log(i, a.checkpoints)?;
        verifiers.push(signer.verifier());
        bodies.push(b);
    }
    verifiers.push(jifen_log::NoteVerifier::from_vkey(
        &log_store.region(&region)?.vkey,
    )?);
    let cosigner = Cosigner::new(
        WITNESS,
        SigningKey::from_bytes(&jifen_store::keys::random_secret()?),
    )?;
    let witness_vkey = cosigner.vkey();

    // The witness and the log each get a runtime of their own, as two servers would.
    let witness_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("jifen-witness")
        .build()?;
    let witness_state = jifen_server::AppState::new(
        witness_store.clone(),
        jifen_store::keys::random_secret()?,
        "http://127.0.0.1".into(),
    )
    .witnessing(jifen_server::witness::WitnessConfig::new(
        cosigner, verifiers,
    ));
    let (witness_addr, stop_witness) = serve_on(&witness_rt, witness_state)?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("jifen-bench-client")
        .build()?;

    // 1. One witness, many logs at once.
    let (latencies, secs) = client_rt.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|log| {
                tokio::spawn(async move {
                    let host = witness_addr.to_string();
                    let mut sender = connect(witness_addr).await?;
                    let mut lat = Vec::with_capacity(log.len());
                    for body in log {
                        let at = Instant::now();
                        let (status, _, answer) = jifen_server::client::post_text(
                            &mut sender,
                            &host,
                            "/witness/add-checkpoint",
                            body,
                        )
                        .await?;
                        if status != StatusCode::OK {
                            bail!(
                                "the witness answered {status}: {}",
                                String::from_utf8_lossy(&answer)
                            );
                        }
                        lat.push(u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX));
                    }
                    Ok::<_, anyhow::Error>(lat)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| anyhow!("a client task: {e}"))??);
        }
        Ok::<_, anyhow::Error>((all, started.elapsed().as_secs_f64()))
    })?;
    let mut latencies = latencies;
    latencies.sort_unstable();
    let witnessed = latencies.len();
    println!(
        "witness: {witnessed} checkpoints from {} logs at once in {secs:.2} s: {:.0} checkpoints witnessed/s; per request p50 {:.2} ms, p99 {:.2} ms",
        a.logs,
        witnessed as f64 / secs,
        percentile_ms(&latencies, 500),
        percentile_ms(&latencies, 990),
    );

    // 2. Award acknowledgements, without and then with the witness named.
    let log_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("jifen-server")
        .build()?;
    let log_state = jifen_server::AppState::new(
        log_store.clone(),
        jifen_store::keys::random_secret()?,
        "http://127.0.0.1".into(),
    );
    let (log_addr, stop_log) = serve_on(&log_rt, log_state.clone())?;
    {
        let _enter = log_rt.enter();
        jifen_server::witnessing::spawn_witnessing(log_state);
    }
    let mut next = 0u64;
    let plain = client_rt.block_on(awards(
        log_addr, &region, a.clients, a.requests, a.members, &mut next,
    ))?;
    log_store.set_witnesses(
        region.clone(),
        Witnesses {
            witnesses: vec![RegionWitness {
                name: WITNESS.into(),
                vkey: witness_vkey,
                url: format!("http://{witness_addr}/witness"),
            }],
            quorum: 1,
        },
    )?;
    // The submitter reads the lists again within its refresh; wait for its first cosignature.
    let named_at = Instant::now();
    wait_cosigned(&log_store, &region, Duration::from_secs(30))?;
    eprintln!(
        "the witness cosigned the log's checkpoint {:.1} s after it was named (the submitter reads the regions' witnesses every {} s)",
        named_at.elapsed().as_secs_f64(),
        jifen_server::witnessing::WITNESS_LIST_REFRESH_MS / 1000
    );
    let witnessed_run = client_rt.block_on(awards(
        log_addr, &region, a.clients, a.requests, a.members, &mut next,
    ))?;
    let done_at = Instant::now();
    wait_cosigned(&log_store, &region, Duration::from_secs(30))?;
    let lag = done_at.elapsed();
    let cosigned = log_store
        .audit_witnesses(&[], 0)?
        .into_iter()
        .find(|w| w.region == region)
        .map_or(0, |w| w.on_record);
    // Then without again, so an effect of the run's order (a larger store, a warmer cache)
    // shows apart from witnessing's.
    log_store.set_witnesses(region.clone(), Witnesses::default())?;
    std::thread::sleep(Duration::from_millis(
        jifen_server::witnessing::WITNESS_LIST_REFRESH_MS + 500,
    ));
    let after = client_rt.block_on(awards(
        log_addr, &region, a.clients, a.requests, a.members, &mut next,
    ))?;
    for (what, run) in [
        ("no witness", &plain),
        ("witnessed", &witnessed_run),
        ("no witness again", &after),
    ] {
        println!(
            "awards, {what:<16}: {} requests on {} connections in {:.2} s: {:.0} acknowledged/s; acknowledgement p50 {:.2} ms, p99 {:.2} ms",
            run.latencies.len(),
            a.clients,
            run.secs,
            run.latencies.len() as f64 / run.secs,
            percentile_ms(&run.latencies, 500),
            percentile_ms(&run.latencies, 990),
        );
    }
    println!(
        "witnessing after the commit: {cosigned} of the log's checkpoints were cosigned; the last one {:.0} ms after the last acknowledgement",
        lag.as_secs_f64() * 1e3
    );
    let _ = stop_log.send(());
    let _ = stop_witness.send(());
    drop(log_rt);
    drop(witness_rt);
    log_store.close();
    witness_store.close();
    Ok(ExitCode::SUCCESS)
}

/// What one run of awards did: each acknowledgement's latency and the wall time.
struct Run {
    latencies: Vec<u64>,
    secs: f64,
}

/// `requests` awards over `clients` keep-alive connections, each waiting for its answer
/// before sending the next; idempotency keys go on from `next`.
async fn awards(
    addr: SocketAddr,
    region: &RegionCode,
    clients: usize,
    requests: u64,
    members: u64,
    next: &mut u64,
) -> Result<Run> {
    let path = format!("/api/v1/regions/{region}/claims");
    let first = *next;
    *next += requests;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(first));
    let end = first + requests;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (path, counter) = (path.clone(), counter.clone());
            tokio::spawn(async move {
                let host = addr.to_string();
                let mut sender = connect(addr).await?;
                let bearer = format!("Bearer {TOKEN}");
                let mut lat = Vec::new();
                loop {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= end {
                        break;
                    }
                    let body = format!(
                        r#"{{"member":{},"indicator":"VOLUNTEER","quantity":1}}"#,
                        n % members + 1
                    );
                    let at = Instant::now();
                    let (status, answer) = call(
                        &mut sender,
                        &host,
                        Method::POST,
                        &path,
                        Some(&bearer),
                        Some(&format!("bench-witness-{n}")),
                        Some(body.into_bytes()),
                    )
                    .await?;
                    if status != StatusCode::CREATED {
                        bail!(
                            "an award answered {status}: {}",
                            String::from_utf8_lossy(&answer)
                        );
                    }
                    lat.push(u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX));
                }
                Ok::<_, anyhow::Error>(lat)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.map_err(|e| anyhow!("a client task: {e}"))??);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(Run { latencies, secs })
}

/// Waits until the region's latest checkpoint carries a cosignature.
fn wait_cosigned(store: &Store, region: &RegionCode, within: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let (_, note) = store.checkpoint(region)?;
        if note.contains(&format!("\u{2014} {WITNESS} ")) {
            return Ok(());
        }
        if start.elapsed() > within {
            bail!("the witness did not cosign the latest checkpoint within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
