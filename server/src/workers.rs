//! The blocking threads, and how many of them each kind of work may hold at once.
//!
//! Store and CPU work runs on tokio's blocking threads so that the async workers keep serving.
//! Unbounded, a burst of requests starts a thread for each (hundreds once, and 1.2–1.8 GB, with
//! 2,000 handhelds reconnecting; `main.rs` caps the pool as a backstop). Every kind of work is
//! therefore bounded by turns of its own: syncs by the sync door (`--sync-workers`), argon2 hashes by the password permits,
//! uploads' writes by `routes/blobs.rs`, exports by theirs, and everything else (the short store
//! work of ordinary requests: a case, a list, a feed page, a token, each step of a photo's
//! download) by [`short`]'s turns here.
//! A lower cap for the whole pool instead made those reads queue behind syncs and uploads
//! (BENCHMARKS.md, "Issue 17, fourth pass"). Fewer threads did not lower the peak RSS at 2,000
//! handhelds (BENCHMARKS.md, "The blocking threads, each kind bounded").

use crate::error::{Error, Result};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Short store work at once: twice the cores, and never fewer than 8, so that on PostgreSQL
/// (where such work mostly waits on the network) a few slow statements do not hold up the rest.
static SHORT_TURNS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(short_turns()));

fn short_turns() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).max(8)
}

/// Runs short store work of an ordinary request on a blocking thread, with one of the short
/// turns; a panic there is an internal error, not a dropped connection.
pub async fn short<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    on_short_turn(f).await?
}

/// [`short`] for work whose answer is not this crate's `Result` (Open311's failures, a
/// download's I/O): `f`'s value as it is, or an internal error when it panicked.
pub async fn on_short_turn<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    with_turn_of(&SHORT_TURNS, f).await
}

/// Runs `f` on a blocking thread with one of `turns`, which goes with the work onto its thread
/// (work that runs on after its request was abandoned still counts) and comes back when it
/// ends, panic or not.
async fn with_turn_of<R: Send + 'static>(
    turns: &'static Semaphore,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R> {
    let turn = turns.acquire().await.map_err(Error::internal)?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        f()
    })
    .await
    .map_err(Error::internal)
}

/// Runs work that already holds a turn of its own kind (a sync's, a password permit) on a
/// blocking thread, without taking a short turn: such work is bounded where its turn is given.
pub async fn on_own_turn<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_work_never_runs_more_at_once_than_its_turns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        static TURNS: Semaphore = Semaphore::const_new(3);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(with_turn_of(&TURNS, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.expect("joined").expect("ran");
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= 3, "{most} at once");
        assert!(most > 1, "the turns let work run side by side");
    }

    #[tokio::test]
    async fn a_panic_in_short_work_is_an_internal_error_and_gives_its_turn_back() {
        static TURNS: Semaphore = Semaphore::const_new(1);
        let outcome: Result<()> = with_turn_of(&TURNS, || panic!("boom")).await;
        assert!(matches!(outcome, Err(Error::Internal(_))), "{outcome:?}");
        assert_eq!(TURNS.available_permits(), 1);
        let after: Result<u8> = with_turn_of(&TURNS, || 7).await;
        assert_eq!(after.expect("ran"), 7);
    }
}
