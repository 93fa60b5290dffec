//! `jifen serve` and `jifen demo --serve`: the HTTP service on a data folder.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use jifen_server::AppState;
use jifen_store::Store;

/// The secret that signs check-in links, kept beside the region keys.
fn link_key(data: &Path) -> Result<[u8; 32]> {
    let path = data.join("keys").join("link.key");
    match std::fs::read(&path) {
        Ok(b) => <[u8; 32]>::try_from(b.as_slice())
            .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = jifen_store::keys::random_secret()?;
            std::fs::create_dir_all(data.join("keys"))
                .with_context(|| format!("creating {}", data.display()))?;
            jifen_store::keys::write_atomic(&path, &key, true)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// What `jifen serve` witnesses: the witness's name and the logs it follows.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WitnessArgs {
    /// Be a witness (c2sp.org/tlog-witness) under this key name, e.g.
    /// witness.example.org/jifen: serve /witness/add-checkpoint for the --witness-log
    /// logs, cosigning with the key in DATA/keys/witness.cosigner.ed25519 (made on
    /// first use; `jifen witness vkey` prints its verifier key).
    #[arg(long)]
    pub witness_name: Option<String>,
    /// A log to witness: its verifier key (`jifen log vkey` of a jifen region; its
    /// name is the log's origin). Repeat for each log.
    #[arg(long = "witness-log", value_name = "VKEY")]
    pub witness_logs: Vec<String>,
}

/// The witness's key file name in `DATA/keys/` (a name no region code can have).
const WITNESS_KEY: &str = "witness.cosigner";

/// The witness's cosigner under `name`, its key made on first use.
pub fn cosigner(data: &Path, name: &str) -> Result<jifen_log::Cosigner> {
    let keys = jifen_store::keys::KeyDir::new(data)?;
    let key = match keys.load(WITNESS_KEY) {
        Ok(k) => k,
        Err(jifen_store::StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            keys.create(WITNESS_KEY)?
        }
        Err(e) => return Err(e.into()),
    };
    jifen_log::Cosigner::new(name, key).map_err(|e| anyhow::anyhow!("--witness-name: {e}"))
}

impl WitnessArgs {
    fn config(&self, data: &Path) -> Result<Option<jifen_server::witness::WitnessConfig>> {
        let Some(name) = &self.witness_name else {
            if !self.witness_logs.is_empty() {
                anyhow::bail!(
                    "--witness-log needs --witness-name: the name this witness cosigns under"
                );
            }
            return Ok(None);
        };
        let logs = self
            .witness_logs
            .iter()
            .map(|v| {
                jifen_log::NoteVerifier::from_vkey(v.trim())
                    .map_err(|e| anyhow::anyhow!("--witness-log {v:?}: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        for (i, l) in logs.iter().enumerate() {
            if logs[..i].iter().any(|o| o.name() == l.name()) {
                anyhow::bail!("--witness-log: the log {:?} is given twice", l.name());
            }
        }
        if logs.is_empty() {
            eprintln!(
                "jifen: --witness-name without --witness-log: this witness follows no log yet"
            );
        }
        Ok(Some(jifen_server::witness::WitnessConfig::new(
            cosigner(data, name)?,
            logs,
        )))
    }
}

/// Serves `store` on `listen` until Ctrl-C; `banner` is printed once listening.
pub fn serve(
    data: &Path,
    store: Store,
    listen: SocketAddr,
    witness: &WitnessArgs,
    banner: impl FnOnce(&str),
) -> Result<ExitCode> {
    let key = link_key(data)?;
    let witness = witness.config(data)?;
    for region in store.restored_regions()? {
        eprintln!(
            "jifen: region {region} was restored from a backup and takes no write until \
             `jifen log resume --region {region} --checkpoint FILE` shows it the old server's latest checkpoint"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let mut state = AppState::new(store.clone(), key, url.clone())
            .trusting_forwarded_proto(crate::trust_forwarded_proto())
            .limiting_writes(Some(crate::account_writes_per_minute()));
        if let Some(w) = witness {
            eprintln!(
                "jifen: witnessing {} logs as {} ({})",
                w.logs.len(),
                w.cosigner.name(),
                w.cosigner.vkey()
            );
            state = state.witnessing(w);
        }
        // Reservations not fulfilled in their window are cancelled and refunded.
        jifen_server::api::market::spawn_sweeper(state.clone());
        // New checkpoints go to the witnesses their regions name, after the commit.
        jifen_server::witnessing::spawn_witnessing(state.clone());
        banner(&url);
        jifen_server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
        store.close();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
