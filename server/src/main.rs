//! `gridcase-server`: the central case ledger (see the library for what it serves).

use clap::Parser;
use gridcase_server::{serve, Config};

/// mimalloc instead of glibc's malloc: the sync workers are blocking threads that come and go,
/// and glibc gave each its own arena, so freed memory stayed resident (see BENCHMARKS.md).
/// The feature `system-alloc` builds with glibc's malloc instead, for heap profilers that
/// trace it (heaptrack), never for production.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3 keeps freed pages for a second before it returns them to the system. A server
/// whose load comes in bursts (hundreds of handhelds reconnecting at once) returns them at
/// once instead, so its resident memory follows what it holds.
fn return_freed_memory_at_once() {
    if cfg!(feature = "system-alloc") {
        return;
    }
    /// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (libmimalloc-sys names no constant).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        // An operator's setting (milliseconds), read by mimalloc itself.
        return;
    }
    // SAFETY: sets a process-wide allocator option, which mimalloc allows at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    // Transparent huge pages are off at build time (`no_thp` in server/Cargo.toml):
    // mimalloc asked for them on its eagerly committed arenas, and with the kernel's
    // `madvise` mode every touched 4 KiB could become 2 MiB resident (medium field day: peak
    // RSS 208-282 MB with them, 120-131 MB without; BENCHMARKS.md, "Issue 17, fourth pass").
}

/// Blocking threads at most (tokio's default is 512). Each one that runs store work gets a
/// mimalloc heap of its own, 3–4 MB resident while it lives: with 2,000 handhelds reconnecting
/// the pool grew to hundreds of threads and the server to 1.2–1.8 GB. Every kind of work
/// that takes them is bounded by turns of its own (`gridcase_server::workers`: syncs by
/// `--sync-workers`, password hashes by the cores, uploads' writes by `routes/blobs.rs`,
/// exports, and the short store work of every other request), which together stay well below
/// this cap: it is the backstop, not the bound.
const MAX_BLOCKING_THREADS: usize = 64;

fn main() -> std::process::ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("gridcase-server: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
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
