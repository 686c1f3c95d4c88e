//! `gridcase-server`: the central case ledger. This is the skeleton the server issue fills in:
//! it opens the ledger on disk and answers health checks.

use clap::Parser;
use gridcase_server::{serve, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::parse();
    match serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("gridcase-server: {e}");
            eprintln!("gridcase-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
