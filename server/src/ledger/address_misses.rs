//! Addresses the desk wrote that the address register does not know (地址库待补录): a case may
//! be placed by its grid or coordinates when the register lacks its doorplate, and the
//! register's keepers see each such address, how often it was given and its latest case, so
//! that they can add it.

use super::Ledger;
use crate::error::Result;
use gridcase_sync_core::store::{key_part as part, Batch};
use gridcase_sync_core::{limits, CaseId, Millis};
use serde::{Deserialize, Serialize};

/// Address as written (its key part) → [`AddressMiss`] as JSON.
const MISSES: &str = "ledger_address_misses";
/// The most distinct addresses kept: the keepers work through them; a flood of typos must not
/// grow the tree (and every listing) without bound.
const MISSES_MAX: usize = 10_000;

/// One address the register lacks, as the keepers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddressMiss {
    pub address: String,
    /// How many cases gave it.
    pub cases: u64,
    pub last_case: String,
    pub last_at: Millis,
}

impl Ledger {
    /// Notes that a case gave an address the register does not know. Best effort, after the
    /// case is written: losing a count costs the keepers nothing they cannot find again.
    pub fn note_address_miss(&self, address: &str, case: &CaseId, at: Millis) -> Result<()> {
        if address.trim().is_empty() || limits::too_long(address, limits::ADDRESS) {
            return Ok(());
        }
        let key = part(address.trim());
        let mut miss = match self.store.get(MISSES, &key)? {
            Some(value) => serde_json::from_slice::<AddressMiss>(&value)?,
            None if self
                .store
                .scan_prefix(MISSES, &[])
                .nth(MISSES_MAX)
                .is_some() =>
            {
                tracing::warn!(case = %case, "address misses full: not noted");
                return Ok(());
            }
            None => AddressMiss {
                address: address.trim().to_owned(),
                cases: 0,
                last_case: String::new(),
                last_at: at,
            },
        };
        miss.cases += 1;
        miss.last_case = case.to_string();
        miss.last_at = at;
        let mut batch = Batch::new();
        batch.put(MISSES, key, serde_json::to_vec(&miss)?);
        self.commit(batch, Vec::new()).map(|_| ())
    }

    /// The addresses the register lacks, most recent first, at most `limit`.
    pub fn address_misses(&self, limit: usize) -> Result<Vec<AddressMiss>> {
        let mut all = Vec::new();
        for entry in self.store.scan_prefix(MISSES, &[]).take(MISSES_MAX + 1) {
            let (_, value) = entry?;
            all.push(serde_json::from_slice::<AddressMiss>(&value)?);
        }
        all.sort_by_key(|m| std::cmp::Reverse(m.last_at));
        all.truncate(limit);
        Ok(all)
    }
}
