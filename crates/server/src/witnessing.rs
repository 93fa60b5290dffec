//! Sending each region's new checkpoints to the witnesses it names, and keeping the
//! cosignatures they send back (published with the checkpoint from then on).
//!
//! This runs after the commit, on its own task: an append is acknowledged when its batch
//! is durable, whether or not any witness has answered, and a witness that is down only
//! delays its own cosignatures. Each witness is tried again with a doubling backoff
//! (1 s up to [`WITNESS_BACKOFF_MAX_MS`]); a 409 tells the size it holds, and the next
//! request starts from there. Only the latest checkpoint is sent: a consistency proof
//! spans any sizes, so the sizes in between need no cosignature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jifen_core::RegionCode;
use jifen_store::witness::RegionWitness;
use jifen_store::{Store, StoreError};
use tokio::time::Instant;

use crate::AppState;

/// How often the task looks for new checkpoints, in milliseconds.
pub const WITNESS_POLL_MS: u64 = 200;
/// How often it reads the regions' lists of witnesses again, in milliseconds.
pub const WITNESS_LIST_REFRESH_MS: u64 = 5_000;
/// The first wait after a witness failed, in milliseconds; it doubles up to the next.
pub const WITNESS_BACKOFF_FIRST_MS: u64 = 1_000;
/// The longest wait before a failed witness is tried again, in milliseconds.
pub const WITNESS_BACKOFF_MAX_MS: u64 = 60_000;
/// How long one request to a witness may take, in milliseconds.
pub const WITNESS_TIMEOUT_MS: u64 = 10_000;

#[derive(Default)]
struct Progress {
    /// The size the witness holds, as far as this server knows (none: not asked yet).
    held: Option<u64>,
    /// The largest size of ours it cosigned.
    cosigned: u64,
    retry_at: Option<Instant>,
    backoff_ms: u64,
    busy: bool,
}

type Board = Arc<Mutex<HashMap<(RegionCode, String), Progress>>>;

/// Starts the task that submits checkpoints to witnesses; it ends when the store closes.
pub fn spawn_witnessing(state: AppState) {
    tokio::spawn(async move {
        let board: Board = Arc::default();
        let mut lists: Vec<(RegionCode, Vec<RegionWitness>)> = Vec::new();
        let mut listed_at: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(WITNESS_POLL_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = Instant::now();
            if listed_at.is_none_or(|at| now - at >= Duration::from_millis(WITNESS_LIST_REFRESH_MS))
            {
                match blocking(&state, |s| {
                    let mut out = Vec::new();
                    for r in s.regions()? {
                        let w = s.witnesses(&r.region.code)?;
                        if !w.witnesses.is_empty() {
                            out.push((r.region.code, w.witnesses));
                        }
                    }
                    Ok(out)
                })
                .await
                {
                    Ok(l) => lists = l,
                    Err(StoreError::Closed) => return,
                    Err(e) => tracing::warn!(error = %e, "reading the regions' witnesses"),
                }
                listed_at = Some(now);
            }
            for (region, witnesses) in &lists {
                let code = region.clone();
                let size = match blocking(&state, move |s| Ok(s.checkpoint(&code)?.0.size)).await {
                    Ok(size) => size,
                    Err(StoreError::Closed) => return,
                    Err(_) => continue,
                };
                for w in witnesses {
                    let held = {
                        let Ok(mut b) = board.lock() else { return };
                        let p = b.entry((region.clone(), w.name.clone())).or_default();
                        if p.busy || p.cosigned >= size || p.retry_at.is_some_and(|at| now < at) {
                            continue;
                        }
                        p.busy = true;
                        p.held
                    };
                    tokio::spawn(submit(
                        state.clone(),
                        board.clone(),
                        region.clone(),
                        w.clone(),
                        held,
                    ));
                }
            }
        }
    });
}

/// Runs `f` on the blocking pool (the store is never called from an async task).
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> jifen_store::Result<T> + Send + 'static,
) -> jifen_store::Result<T> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .unwrap_or_else(|e| Err(StoreError::Unavailable(format!("the read stopped: {e}"))))
}

/// What one round with a witness came to.
enum Outcome {
    Cosigned(u64),
    Failed { held: Option<u64>, why: String },
}

async fn submit(
    state: AppState,
    board: Board,
    region: RegionCode,
    w: RegionWitness,
    held: Option<u64>,
) {
    let outcome = match tokio::time::timeout(
        Duration::from_millis(WITNESS_TIMEOUT_MS),
        round(&state, &region, &w, held),
    )
    .await
    {
        Ok(o) => o,
        Err(_) => Outcome::Failed {
            held,
            why: format!("no answer within {WITNESS_TIMEOUT_MS} ms"),
        },
    };
    let Ok(mut b) = board.lock() else { return };
    let p = b.entry((region.clone(), w.name.clone())).or_default();
    p.busy = false;
    match outcome {
        Outcome::Cosigned(size) => {
            if p.backoff_ms > 0 {
                tracing::info!(region = %region, witness = %w.name, size, "witness answers again");
            }
            p.held = Some(size);
            p.cosigned = p.cosigned.max(size);
            p.backoff_ms = 0;
            p.retry_at = None;
        }
        Outcome::Failed { held, why } => {
            p.held = held;
            if p.backoff_ms == 0 {
                tracing::warn!(region = %region, witness = %w.name, url = %w.url, why = %why, "witness did not cosign; appends go on, trying again later");
            } else {
                tracing::debug!(region = %region, witness = %w.name, why = %why, "witness still failing");
            }
            p.backoff_ms =
                (p.backoff_ms * 2).clamp(WITNESS_BACKOFF_FIRST_MS, WITNESS_BACKOFF_MAX_MS);
            p.retry_at = Some(Instant::now() + Duration::from_millis(p.backoff_ms));
        }
    }
}

/// Sends the latest checkpoint, starting from the size the witness is believed to hold;
/// a 409 corrects that belief and the request goes again (at most twice more).
async fn round(
    state: &AppState,
    region: &RegionCode,
    w: &RegionWitness,
    mut held: Option<u64>,
) -> Outcome {
    let fail = |held, why: String| Outcome::Failed { held, why };
    let (host, path) = match split_url(&w.url) {
        Some(parts) => parts,
        None => {
            return fail(
                held,
                format!("the address {:?} is not http://host[:port][/prefix]", w.url),
            );
        }
    };
    let addr = match tokio::net::lookup_host(with_port(&host))
        .await
        .map(|mut a| a.next())
    {
        Ok(Some(addr)) => addr,
        Ok(None) | Err(_) => return fail(held, format!("cannot resolve {host}")),
    };
    let mut sender = match crate::client::connect(addr).await {
        Ok(s) => s,
        Err(e) => return fail(held, e.to_string()),
    };
    for _ in 0..3 {
        let old = held.unwrap_or(0);
        let code = region.clone();
        let request = match blocking(state, move |s| s.witness_request(&code, old)).await {
            Ok(r) => r,
            Err(e) => return fail(held, e.to_string()),
        };
        let size = match request.unverified_checkpoint() {
            Ok(cp) => cp.size,
            Err(e) => return fail(held, e.to_string()),
        };
        let answer = crate::client::post_text(
            &mut sender,
            &host,
            &format!("{path}/add-checkpoint"),
            request.to_text(),
        )
        .await;
        let (status, _, body) = match answer {
            Ok(a) => a,
            Err(e) => return fail(held, e.to_string()),
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200 => {
                let code = region.clone();
                return match blocking(state, move |s| s.record_cosignatures(code, size, body)).await
                {
                    Ok(0) => fail(
                        Some(size),
                        "the answer held no cosignature by its key".to_owned(),
                    ),
                    Ok(_) => Outcome::Cosigned(size),
                    Err(e) => fail(Some(size), format!("its cosignature: {e}")),
                };
            }
            409 => match jifen_log::parse_size_body(&body) {
                Some(n) if Some(n) != held => held = Some(n),
                _ => return fail(None, format!("409 with {body:?}")),
            },
            422 => {
                tracing::error!(region = %region, witness = %w.name, answer = %body.trim_end(), "a witness says this log's checkpoint is not consistent with what it holds: it saw another history of this log");
                return fail(None, format!("422: {}", body.trim_end()));
            }
            s => return fail(held, format!("{s}: {}", body.trim_end())),
        }
    }
    fail(held, "the size it holds kept changing".to_owned())
}

/// `http://host[:port][/prefix]` → (`host[:port]`, `/prefix` without a final slash).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    (!host.is_empty()).then(|| (host.to_owned(), path.to_owned()))
}

fn with_port(host: &str) -> String {
    let bracketed_v6 = host.starts_with('[') && host.ends_with(']');
    if bracketed_v6 || !host.contains(':') {
        format!("{host}:80")
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn witness_addresses_split_into_host_and_prefix() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/witness"),
            Some(("127.0.0.1:8080".into(), "/witness".into()))
        );
        assert_eq!(
            split_url("http://w.example/"),
            Some(("w.example".into(), String::new()))
        );
        assert_eq!(split_url("https://w.example"), None);
        assert_eq!(split_url("http:///x"), None);
        assert_eq!(with_port("w.example"), "w.example:80");
        assert_eq!(with_port("[::1]"), "[::1]:80");
        assert_eq!(with_port("[::1]:9"), "[::1]:9");
    }
}
