//! Progress on stderr (stdout carries only the figures): a line as each step begins, and for a
//! long phase a bar (indicatif) when stderr is a terminal. Where it is not (a log file, CI), a
//! bar would leave only its last state, so the phase says a line every so many steps instead.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};

/// Says what the benchmark does next.
pub fn progress(msg: &str) {
    eprintln!("[gridcase-bench] {msg}");
}

/// A long phase of `len` steps, counted from any thread.
pub struct Phase {
    bar: ProgressBar,
    what: &'static str,
    /// Without a terminal, a line every this many steps (0: none).
    every: u64,
    done: AtomicU64,
}

impl Phase {
    pub fn new(what: &'static str, len: u64, every: u64) -> Phase {
        let bar = ProgressBar::new(len);
        // The template is a constant: it only fails to parse if it is edited wrongly, and the
        // default style is then as good.
        let style = ProgressStyle::with_template(
            "[gridcase-bench] {msg}: {wide_bar} {pos}/{len} ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(what);
        Phase {
            bar,
            what,
            every,
            done: AtomicU64::new(0),
        }
    }

    /// Counts `n` more steps done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if self.every > 0 && self.bar.is_hidden() && (done - n) / self.every != done / self.every {
            progress(&format!(
                "{}: {done} / {}",
                self.what,
                self.bar.length().unwrap_or(0)
            ));
        }
    }

    /// Ends the phase; the bar leaves the terminal.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
