//! The sync door: how many syncs run at once, and who is told to come back later.
//!
//! A sync's work (decompress, merge, fold, commit) runs with one of a few turns (twice the
//! cores). When thousands of handhelds reconnect at once the rest wait, each holding its body and
//! a connection. A wait longer than the client will sit through is wasted: the request times out
//! on both sides, and its work is done again on the next try. So the door estimates each newcomer's
//! wait from the queue ahead of it and the mean time of a sync, and past [`Door::max_wait`] answers
//! at once `503 busy` with a `Retry-After` spread over the time the queue needs, so the retries
//! come back as the queue drains instead of all together. A request that got in but waited for its
//! turn past the same bound is answered the same way before any work.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The mean time of a sync assumed before one has been measured.
const FIRST_GUESS: Duration = Duration::from_millis(50);

/// The longest `Retry-After` the door names: a handheld told to wait longer would rather be told
/// again.
const LONGEST_RETRY: u64 = 120;

pub struct Door {
    turns: Arc<Semaphore>,
    count: usize,
    waiting: AtomicUsize,
    /// An exponentially weighted mean of a sync's time with its turn, in microseconds.
    mean_micros: AtomicU64,
    max_wait: Duration,
}

/// A sync's turn: held while its work runs (moved onto the blocking thread with the work, so a
/// request that times out does not give it away), and timing that work when it ends.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    door: Arc<Door>,
    started: Instant,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.door.learn(self.started.elapsed());
    }
}

impl Door {
    /// `turns` syncs at once; a newcomer whose wait would pass `max_wait` is told to come back.
    pub fn new(turns: usize, max_wait: Duration) -> Arc<Door> {
        Arc::new(Door {
            turns: Arc::new(Semaphore::new(turns.max(1))),
            count: turns.max(1),
            waiting: AtomicUsize::new(0),
            mean_micros: AtomicU64::new(FIRST_GUESS.as_micros() as u64),
            max_wait,
        })
    }

    /// How long a newcomer would wait: with one turn free, nothing; else the queue ahead of it
    /// shared among the turns, at the mean time of a sync, plus half a sync for the ones under
    /// way (on average half done).
    fn expected_wait(&self, ahead: usize) -> Duration {
        if self.turns.available_permits() > 0 {
            return Duration::ZERO;
        }
        let half_rounds = (2 * (ahead / self.count) + 1) as u64;
        Duration::from_micros(
            half_rounds.saturating_mul(self.mean_micros.load(Ordering::Relaxed)) / 2,
        )
    }

    /// Waits for a turn, or refuses with [`Error::Busy`] when the wait would pass the bound (or
    /// did).
    pub async fn enter(self: &Arc<Door>) -> Result<Turn> {
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leaving = Leaving(&self.waiting);
        let expected = self.expected_wait(ahead);
        if expected > self.max_wait {
            return Err(self.busy(expected));
        }
        match tokio::time::timeout(self.max_wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: permit,
                door: self.clone(),
                started: Instant::now(),
            }),
            Ok(Err(_)) => Err(Error::Internal("the server is shutting down".into())),
            Err(_) => {
                let ahead = self.waiting.load(Ordering::Acquire);
                Err(self.busy(self.expected_wait(ahead).max(self.max_wait)))
            }
        }
    }

    /// The refusal for a wait of `expected`: come back somewhere between half of it and all of
    /// it (at least a second), so the queue's retries spread out as it drains.
    fn busy(&self, expected: Duration) -> Error {
        let secs = expected.as_secs().clamp(1, LONGEST_RETRY);
        let mut byte = [0u8; 1];
        let jitter = match getrandom::fill(&mut byte) {
            Ok(()) => u64::from(byte[0]),
            Err(_) => 128,
        };
        let retry_after_secs = (secs / 2 + (secs / 2 + 1) * jitter / 256).max(1);
        tracing::debug!(
            expected_ms = expected.as_millis() as u64,
            retry_after_secs,
            "sync refused: busy"
        );
        Error::Busy { retry_after_secs }
    }

    /// Folds one sync's time into the mean (weight 1/16: a few dozen syncs follow a change).
    fn learn(&self, took: Duration) {
        let took = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self
            .mean_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(mean - mean / 16 + took / 16)
            });
    }

    /// Syncs waiting for a turn now (`gridcase_sync_waiting` in `/metrics`).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Takes a newcomer off the waiting count however `enter` ends (a dropped request included).
struct Leaving<'a>(&'a AtomicUsize);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_newcomer_behind_a_long_queue_is_told_to_come_back_later() {
        let door = Door::new(1, Duration::from_secs(10));
        // Syncs are learnt to take 2 s each.
        for _ in 0..200 {
            door.learn(Duration::from_secs(2));
        }
        let first = door.enter().await.expect("a free turn");
        // Five waiting behind the held turn: the next newcomer expects 5.5 × 2 s.
        let queued: Vec<_> = (0..5)
            .map(|_| {
                let door = door.clone();
                tokio::spawn(async move { door.enter().await.map(drop) })
            })
            .collect();
        while door.waiting() < 5 {
            tokio::task::yield_now().await;
        }
        match door.enter().await {
            Err(Error::Busy { retry_after_secs }) => {
                assert!((5..=11).contains(&retry_after_secs), "{retry_after_secs}")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("let in behind a 10 s queue"),
        }
        drop(first);
        for q in queued {
            q.await.expect("task").expect("a turn in time");
        }
        assert_eq!(door.waiting(), 0);
    }

    #[tokio::test]
    async fn a_wait_that_passes_the_bound_ends_busy_before_any_work() {
        let door = Door::new(1, Duration::from_millis(200));
        let _held = door.enter().await.expect("a free turn");
        match door.enter().await {
            Err(Error::Busy { retry_after_secs }) => assert!(retry_after_secs >= 1),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("two turns out of one"),
        }
        assert_eq!(door.waiting(), 0);
    }
}
