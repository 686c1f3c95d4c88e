//! One request at a time per key: a case id being opened, a caller or a callback form being
//! recorded. A double click sends a form twice at once; both would find their key free and
//! write twice, so the second waits for the first and then finds what it wrote. One table per
//! process serves every ledger a process runs, since the keys are unique ids.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, PoisonError};

/// The keys being worked on now, and the signal that one is done.
pub(super) struct Turns<K: Ord + Clone + 'static> {
    busy: Mutex<BTreeSet<K>>,
    done: Condvar,
}

impl<K: Ord + Clone + 'static> Turns<K> {
    pub(super) const fn new() -> Turns<K> {
        Turns {
            busy: Mutex::new(BTreeSet::new()),
            done: Condvar::new(),
        }
    }

    /// Waits until no one else holds `key`, then holds it until the turn is dropped (written,
    /// refused or panicking).
    pub(super) fn take(&'static self, key: K) -> Turn<K> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        while busy.contains(&key) {
            busy = self.done.wait(busy).unwrap_or_else(PoisonError::into_inner);
        }
        busy.insert(key.clone());
        Turn { turns: self, key }
    }
}

/// A key held, given back when dropped.
pub(super) struct Turn<K: Ord + Clone + 'static> {
    turns: &'static Turns<K>,
    key: K,
}

impl<K: Ord + Clone + 'static> Drop for Turn<K> {
    fn drop(&mut self) {
        self.turns
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.turns.done.notify_all();
    }
}
