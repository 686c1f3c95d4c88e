//! The table as the server holds it ([`LiveTable`]): loaded from the store in the background
//! after start-up while commits go on, and updated by the commit thread after each durable
//! commit.

use super::formulas::{Indicators, Period};
use super::row::CaseFacts;
use super::table::{GroupBy, Table};
use gridcase_sync_core::Scope;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, PoisonError, RwLock};

/// The table as the server holds it: loaded from the store in the background after start-up
/// (a million rows take about a second), while commits go on. Commits that arrive while it
/// loads are kept and applied after the loaded rows, which they are newer than; queries wait
/// until it is ready.
pub struct LiveTable {
    state: RwLock<Live>,
    ready: (Mutex<bool>, Condvar),
}

enum Live {
    Loading(Vec<(u32, CaseFacts)>),
    Ready(Box<Table>),
    Failed(String),
}

impl LiveTable {
    pub fn loading() -> LiveTable {
        LiveTable {
            state: RwLock::new(Live::Loading(Vec::new())),
            ready: (Mutex::new(false), Condvar::new()),
        }
    }

    /// Applies the rows of a durable commit, in commit order.
    pub fn apply(&self, rows: Vec<(u32, CaseFacts)>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            Live::Loading(pending) => pending.extend(rows),
            Live::Ready(table) => {
                for (slot, f) in rows {
                    table.put(slot, &f);
                }
            }
            Live::Failed(_) => {}
        }
    }

    /// Ends the load: the loaded table, then what was committed meanwhile.
    pub fn finish(&self, loaded: Result<Table, String>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let pending = match std::mem::replace(&mut *state, Live::Failed(String::new())) {
            Live::Loading(pending) => pending,
            _ => Vec::new(),
        };
        *state = match loaded {
            Ok(mut table) => {
                for (slot, f) in pending {
                    table.put(slot, &f);
                }
                Live::Ready(Box::new(table))
            }
            Err(e) => Live::Failed(e),
        };
        drop(state);
        let (flag, wake) = &self.ready;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    /// Whether the load has ended.
    pub fn is_ready(&self) -> bool {
        *self.ready.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Table::compute`], once the table is loaded; the error names why it could not load.
    pub fn compute(
        &self,
        scope: &Scope,
        by: GroupBy,
        period: Period,
    ) -> Result<(BTreeMap<String, Indicators>, Indicators), String> {
        let (flag, wake) = &self.ready;
        let mut ready = flag.lock().unwrap_or_else(PoisonError::into_inner);
        while !*ready {
            ready = wake.wait(ready).unwrap_or_else(PoisonError::into_inner);
        }
        drop(ready);
        match &*self.state.read().unwrap_or_else(PoisonError::into_inner) {
            Live::Ready(table) => Ok(table.compute(scope, by, period)),
            Live::Failed(e) => Err(e.clone()),
            Live::Loading(_) => Err("the indicator table is still loading".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{facts, ALL_TIME};
    use super::*;

    #[test]
    fn commits_made_while_the_table_loads_win_over_the_rows_it_read() {
        let live = std::sync::Arc::new(LiveTable::loading());
        assert!(!live.is_ready());
        let asked = {
            let live = live.clone();
            std::thread::spawn(move || live.compute(&Scope::District, GroupBy::Grid, ALL_TIME))
        };
        // Slot 0 was read open by the loader, then closed by a commit during the load.
        live.apply(vec![(0, facts("g1", Some("u1"), Some(9_000)))]);
        let mut read = Table::default();
        read.put(0, &facts("g1", Some("u1"), None));
        read.put(1, &facts("g2", Some("u2"), None));
        live.finish(Ok(read));
        let (_, total) = asked.join().expect("the query waited").expect("ready");
        assert_eq!((total.filed, total.closed), (2, 1));
        live.apply(vec![(2, facts("g3", None, None))]);
        let (groups, _) = live
            .compute(&Scope::District, GroupBy::Grid, ALL_TIME)
            .expect("ready");
        assert!(
            groups.contains_key("g3"),
            "commits after the load apply at once"
        );

        let failed = LiveTable::loading();
        failed.finish(Err("disk on fire".into()));
        let err = failed
            .compute(&Scope::District, GroupBy::Grid, ALL_TIME)
            .expect_err("a failed load is an error, not empty figures");
        assert!(err.contains("disk on fire"));
    }
}
