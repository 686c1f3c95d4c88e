//! The 综合评价 indicators (`GET /v1/stats`) over a table of per-case facts held in memory.
//!
//! Stats must answer over a whole district's ledger in well under a second, and decoding a
//! million JSON summaries takes seconds. So every case also has a small fixed-width row: the
//! handful of times and codes the indicators count, with its strings interned. The rows live
//! in their own store tree, written by the commit thread in the same atomic batch as the
//! summary (so they are never out of step with it), and in a [`Table`] in memory (about 64
//! bytes a case, and 32 more for each dispatch of its chain of units) that the commit thread
//! updates after each durable commit. A query is one pass over that table.
//!
//! - [`row`]: a case's facts ([`CaseFacts`]) and their stored form, with fixed codes.
//! - [`table`]: the facts of every case in memory, and the pass that groups and counts them.
//! - [`formulas`]: what a case counts for in a period, and the rates ([`Indicators`]).
//! - [`score`]: the composite score and grade of a group ([`Weights`], [`Grade`]).
//! - [`live`]: the table as the server holds it, loaded in the background ([`LiveTable`]).

pub mod formulas;
pub mod live;
pub mod row;
pub mod score;
pub mod table;

pub use formulas::{outside_due_cohort, Cohort, Indicators, Period, RATE_PARTS};
pub use live::LiveTable;
pub use row::{slot_of, stored, CallFacts, CaseFacts, ChainFacts, LinkFacts, WorkFacts};
pub use score::{Grade, Weights};
pub use table::{GroupBy, Table, NO_GROUP};

/// The store tree of encoded facts, keyed by case.
pub const TREE: &str = "ledger_indicator_facts";

/// What the tests of the submodules build their tables from.
#[cfg(test)]
mod fixtures {
    use super::{CaseFacts, Period};
    use gridcase_sync_core::event::Satisfaction;
    use gridcase_sync_core::{Millis, Status};

    /// A filed case in `grid` with a deadline at 10 s; closed (dissatisfied) at `closed`.
    pub fn facts(grid: &str, unit: Option<&str>, closed: Option<Millis>) -> CaseFacts {
        CaseFacts {
            status: Some(if closed.is_some() {
                Status::Closed
            } else {
                Status::Dispatched
            }),
            created_at: 1_000,
            filed_at: Some(2_000),
            deadline: Some(10_000),
            closed_at: closed,
            extensions: 1,
            rework_count: 2,
            satisfaction: closed.map(|_| Satisfaction::Dissatisfied),
            street: Some("s1".into()),
            community: Some("c1".into()),
            grid: Some(grid.into()),
            unit: unit.map(Into::into),
            units: unit.into_iter().map(Into::into).collect(),
            category: Some("E0101".into()),
            call: Default::default(),
            chain: Default::default(),
            work: Default::default(),
        }
    }

    pub const ALL_TIME: Period = Period {
        from: 0,
        to: 100_000,
        now: 50_000,
    };
}
