//! The central case ledger: axum over the sync-core store.

use axum::{routing::get, Router};
use clap::Parser;
use gridcase_sync_core::store::{DocStore, SledStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Start-up configuration; every flag is also an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "gridcase-server",
    version,
    about = "The central case ledger of gridcase"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "GRIDCASE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded ledger (sled).
    #[arg(long, env = "GRIDCASE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ledger: {0}")]
    Ledger(#[from] gridcase_sync_core::Error),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

/// Shared state of the running server.
#[derive(Clone)]
pub struct AppState {
    pub ledger: DocStore,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .with_state(state)
}

/// Opens the ledger and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), Error> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = SledStore::open(&config.data_dir)?;
    let state = AppState {
        ledger: DocStore::new(Arc::new(store)),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "gridcase-server listening");
    println!("gridcase-server listening on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    tracing::info!("gridcase-server stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
