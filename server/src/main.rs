//! `gridcase-server`: the central case ledger (see the library for what it serves).

use clap::Parser;
use gridcase_server::{serve, Config};

/// mimalloc instead of glibc's malloc: the sync workers are blocking threads that come and go,
/// and glibc gave each its own arena, so freed memory stayed resident (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3 keeps freed pages for a second before it returns them to the system. A server
/// whose load comes in bursts (hundreds of handhelds reconnecting at once) returns them at
/// once instead, so its resident memory follows what it holds.
fn return_freed_memory_at_once() {
    /// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (libmimalloc-sys names no constant).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide allocator option, which mimalloc allows at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    return_freed_memory_at_once();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
