//! Background compaction: cases whose increments piled up are folded into one snapshot on a
//! thread of their own, off the request that noticed.

use gridcase_sync_core::store::DocStore;
use gridcase_sync_core::CaseId;
use std::collections::HashSet;
use std::sync::mpsc;
use std::thread::JoinHandle;

pub(super) struct Compactor {
    tx: Option<mpsc::Sender<CaseId>>,
    thread: Option<JoinHandle<()>>,
}

impl Compactor {
    pub(super) fn start(docs: DocStore) -> std::io::Result<Compactor> {
        let (tx, rx) = mpsc::channel::<CaseId>();
        let thread = std::thread::Builder::new()
            .name("gridcase-compact".into())
            .spawn(move || {
                let mut seen = HashSet::new();
                while let Ok(case) = rx.recv() {
                    seen.insert(case);
                    while let Ok(more) = rx.try_recv() {
                        seen.insert(more);
                    }
                    let due: Vec<CaseId> = seen.drain().collect();
                    for chunk in due.chunks(256) {
                        if let Err(e) = docs.compact_many(chunk) {
                            tracing::warn!(cases = chunk.len(), error = %e, "compaction failed");
                        }
                    }
                }
            })?;
        Ok(Compactor {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues cases for compaction; a case queued twice before its turn is compacted once.
    pub(super) fn later(&self, cases: Vec<CaseId>) {
        if let Some(tx) = &self.tx {
            for c in cases {
                let _ = tx.send(c);
            }
        }
    }
}

impl Drop for Compactor {
    /// Lets the queue drain, then waits for the thread to finish.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
