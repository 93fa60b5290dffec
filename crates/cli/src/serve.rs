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

/// Serves `store` on `listen` until Ctrl-C; `banner` is printed once listening.
pub fn serve(
    data: &Path,
    store: Store,
    listen: SocketAddr,
    banner: impl FnOnce(&str),
) -> Result<ExitCode> {
    let key = link_key(data)?;
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
        let state = AppState::new(store.clone(), key, url.clone())
            .trusting_forwarded_proto(crate::trust_forwarded_proto())
            .limiting_writes(Some(crate::account_writes_per_minute()));
        // Reservations not fulfilled in their window are cancelled and refunded.
        jifen_server::api::market::spawn_sweeper(state.clone());
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
