//! The caller register in the ledger (`crate::callers`): each case's callers, and the cases of
//! each telephone number, written in the same atomic batch as the event that names the caller.
//!
//! Records are the server's own rows but, unlike summaries, cannot be rebuilt from the
//! documents (which never hold them): like case numbers, they are kept, never derived.

use super::{Ledger, Write};
use crate::callers::CallerRecord;
use crate::error::Result;
use gridcase_sync_core::store::{key_part as part, Batch};
use gridcase_sync_core::CaseId;

/// Case (its key part), then caller id → the record as JSON.
const CALLERS: &str = "ledger_callers";
/// Phone (its key part), then the time it was recorded inverted (newest first), the case and
/// the caller → nothing: the repeat-caller lookup and the search by phone.
const BY_PHONE: &str = "ledger_caller_phone";

fn record_key(case: &CaseId, caller: &str) -> Vec<u8> {
    let mut k = part(case.as_str());
    k.extend_from_slice(caller.as_bytes());
    k
}

fn phone_key(record: &CallerRecord, phone: &str) -> Vec<u8> {
    let mut k = part(phone);
    let at = u64::try_from(record.added_at.max(0)).unwrap_or(0);
    k.extend_from_slice(&(u64::MAX - at).to_be_bytes());
    k.extend_from_slice(&part(record.case.as_str()));
    k.extend_from_slice(record.id.as_bytes());
    k
}

/// Case (its key part), then a callback form's token → nothing: callbacks already recorded.
const CALLBACK_TOKENS: &str = "ledger_callback_tokens";

/// The case of a phone entry's key, after the phone and the time: its key part (a two-byte
/// length, then the id).
fn case_in(rest: &[u8]) -> CaseId {
    let len = rest
        .get(..2)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    let id = rest.get(2..2 + len).unwrap_or_default();
    CaseId::new(String::from_utf8_lossy(id).into_owned())
}

impl Ledger {
    /// The callers the register holds for a case, in the order they were recorded.
    pub fn callers(&self, case: &CaseId) -> Result<Vec<CallerRecord>> {
        let mut records = Vec::new();
        for entry in self.store.scan_prefix(CALLERS, &part(case.as_str())) {
            let (_, value) = entry?;
            records.push(serde_json::from_slice::<CallerRecord>(&value)?);
        }
        records.sort_by(|a, b| (a.added_at, &a.id).cmp(&(b.added_at, &b.id)));
        Ok(records)
    }

    /// Whether a callback with this form token was recorded for the case.
    pub fn callback_token(&self, case: &CaseId, token: &str) -> Result<bool> {
        Ok(self
            .store
            .get(CALLBACK_TOKENS, &record_key(case, token))?
            .is_some())
    }

    /// Marks a callback form's token as recorded.
    pub fn note_callback_token(&self, case: &CaseId, token: &str) -> Result<()> {
        let mut batch = Batch::new();
        batch.put(CALLBACK_TOKENS, record_key(case, token), Vec::<u8>::new());
        self.commit(batch, Vec::new()).map(|_| ())
    }

    /// One caller record of a case.
    pub fn caller(&self, case: &CaseId, caller: &str) -> Result<Option<CallerRecord>> {
        match self.store.get(CALLERS, &record_key(case, caller))? {
            Some(value) => Ok(Some(serde_json::from_slice(&value)?)),
            None => Ok(None),
        }
    }

    /// The cases a telephone number (in its written form) called about, newest first, one
    /// entry per case however often it called. Every case of the number, whoever may see it:
    /// the caller of this checks scope.
    pub fn cases_of_phone(&self, phone: &str) -> impl Iterator<Item = Result<CaseId>> + '_ {
        let prefix = part(phone);
        let len = prefix.len();
        let mut seen = std::collections::HashSet::new();
        self.store
            .scan_prefix(BY_PHONE, &prefix)
            .filter_map(move |entry| {
                let case = entry
                    .map_err(crate::error::Error::from)
                    .map(|(k, _)| case_in(k.get(len + 8..).unwrap_or_default()));
                match case {
                    Ok(case) if !seen.insert(case.clone()) => None,
                    other => Some(other),
                }
            })
    }
}

/// Stages a caller record with its phone entry in a batch. Online writes go through
/// [`Write::add_caller`]; a bulk import that is its cases' only writer (the bench's ledger
/// fill) stages them beside its snapshots.
pub fn stage_caller(batch: &mut Batch, record: &CallerRecord) -> Result<()> {
    let value = serde_json::to_vec(record)?;
    batch.put(CALLERS, record_key(&record.case, &record.id), value);
    if let Some(phone) = &record.caller.phone {
        batch.put(BY_PHONE, phone_key(record, phone), Vec::<u8>::new());
    }
    Ok(())
}

impl Write<'_> {
    /// Stages a caller record with its phone entry, committed with the rest of this write.
    pub fn add_caller(&mut self, record: &CallerRecord) -> Result<()> {
        stage_caller(self.batch_mut(), record)
    }
}
