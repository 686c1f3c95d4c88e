//! `gridcase-server`: the central case ledger (see the library for what it serves).

use clap::Parser;
use gridcase_server::{serve, Config};

/// mimalloc instead of glibc's malloc: the sync workers are blocking threads that come and go,
/// and glibc gave each its own arena, so freed memory stayed resident (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
