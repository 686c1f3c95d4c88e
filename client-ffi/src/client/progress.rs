//! What a sync tells as it goes: a [`Meter`] counts the bytes that cross the link (case
//! batches and photos, each way), keeps each stage's bytes done and to do, and hands a
//! [`SyncProgress`] to the caller's listener, at most every [`EVERY`] within a stage and always
//! when a stage begins or ends, an item ends, or the stage's bytes are all done. The sync report's
//! byte counts are the meter's, so a progress bar and the report never disagree.

use crate::views::{SyncProgress, SyncReport};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// The stages, in the order a sync goes through them (see [`SyncProgress`]).
pub mod stage {
    pub const OWN_CASES: &str = "own_cases";
    pub const OWN_PHOTOS: &str = "own_photos";
    pub const SAVED: &str = "saved";
    pub const OTHERS_CASES: &str = "others_cases";
    pub const OTHERS_PHOTOS: &str = "others_photos";
    pub const DONE: &str = "done";
}

/// The least time between two reports within a stage.
const EVERY: Duration = Duration::from_millis(100);

/// What a byte count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Of {
    Cases,
    Photos,
}

#[derive(Default)]
struct Counts {
    case_sent: u64,
    case_received: u64,
    photo_sent: u64,
    photo_received: u64,
}

struct State {
    started: Instant,
    now: SyncProgress,
    stage_started: Instant,
    /// Bytes over the link in this stage (not counting what an earlier sync moved).
    stage_moved: u64,
    last: Option<Instant>,
    counts: Counts,
    saved_at: Option<Duration>,
}

/// Counts a sync's bytes and tells its listener how it goes.
pub struct Meter<'a> {
    listener: &'a dyn Fn(&SyncProgress),
    state: RefCell<State>,
}

impl<'a> Meter<'a> {
    pub fn new(listener: &'a dyn Fn(&SyncProgress)) -> Meter<'a> {
        let now = Instant::now();
        Meter {
            listener,
            state: RefCell::new(State {
                started: now,
                now: SyncProgress::default(),
                stage_started: now,
                stage_moved: 0,
                last: None,
                counts: Counts::default(),
                saved_at: None,
            }),
        }
    }

    /// A stage begins, with the bytes and items it has to move (0: not known).
    pub(crate) fn begin(&self, stage: &str, bytes_total: u64, items_total: u32) {
        {
            let mut s = self.state.borrow_mut();
            s.now.stage = stage.to_owned();
            s.now.bytes_done = 0;
            s.now.bytes_total = bytes_total;
            s.now.items_done = 0;
            s.now.items_total = items_total;
            s.now.bytes_per_second = 0;
            s.stage_started = Instant::now();
            s.stage_moved = 0;
        }
        self.emit(true);
    }

    /// Bytes crossed the link: counted for the report and as done in the stage.
    pub(crate) fn moved(&self, of: Of, sent: u64, received: u64) {
        {
            let mut s = self.state.borrow_mut();
            match of {
                Of::Cases => {
                    s.counts.case_sent += sent;
                    s.counts.case_received += received;
                }
                Of::Photos => {
                    s.counts.photo_sent += sent;
                    s.counts.photo_received += received;
                }
            }
            s.stage_moved += sent + received;
            s.now.bytes_done += sent + received;
        }
        self.emit(false);
    }

    /// Bytes of the stage already done before this sync (a resumed photo's): done, not moved.
    pub(crate) fn credit(&self, bytes: u64) {
        self.state.borrow_mut().now.bytes_done += bytes;
        self.emit(false);
    }

    /// One item of the stage (a photo, a round) is through.
    pub(crate) fn item(&self) {
        self.state.borrow_mut().now.items_done += 1;
        self.emit(true);
    }

    /// Ends a stage: a case stage's total becomes what it moved.
    pub(crate) fn end(&self) {
        {
            let mut s = self.state.borrow_mut();
            if s.now.bytes_total == 0 {
                s.now.bytes_total = s.now.bytes_done;
            }
        }
        self.emit(true);
    }

    /// Everything this device had to send is on the server: said once, at once.
    pub(crate) fn saved(&self) {
        {
            let mut s = self.state.borrow_mut();
            if s.saved_at.is_some() {
                return;
            }
            s.saved_at = Some(s.started.elapsed());
            s.now.own_work_on_server = true;
        }
        self.begin(stage::SAVED, 0, 0);
    }

    /// The meter's counts into the report.
    pub(crate) fn fill(&self, report: &mut SyncReport) {
        let s = self.state.borrow();
        report.case_bytes_sent = s.counts.case_sent;
        report.case_bytes_received = s.counts.case_received;
        report.photo_bytes_sent = s.counts.photo_sent;
        report.photo_bytes_received = s.counts.photo_received;
        report.bytes_sent = s.counts.case_sent + s.counts.photo_sent;
        report.bytes_received = s.counts.case_received + s.counts.photo_received;
        report.own_work_on_server = s.saved_at.is_some();
        report.own_work_saved_ms = s
            .saved_at
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        report.duration_ms = u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    }

    fn emit(&self, force: bool) {
        let progress = {
            let mut s = self.state.borrow_mut();
            let now = Instant::now();
            let whole = s.now.bytes_total > 0 && s.now.bytes_done >= s.now.bytes_total;
            if !force && !whole && s.last.is_some_and(|l| now - l < EVERY) {
                return;
            }
            s.last = Some(now);
            let micros = (now - s.stage_started).as_micros().max(1);
            s.now.bytes_per_second =
                u64::try_from(u128::from(s.stage_moved) * 1_000_000 / micros).unwrap_or(u64::MAX);
            s.now.bytes_sent = s.counts.case_sent + s.counts.photo_sent;
            s.now.bytes_received = s.counts.case_received + s.counts.photo_received;
            s.now.clone()
        };
        (self.listener)(&progress);
    }
}

/// A byte count for people: `512 B`, `200 KB`, `2.9 MB` (decimal units, as links are rated).
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{} KB", bytes / 1_000),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}
