//! The stored row of one case: [`CaseFacts`] in a compact binary form (fixed-width numbers,
//! one-byte codes, length-prefixed strings), behind the slot it holds in the table.
//!
//! Rows stay on disk across releases, so every byte they hold is fixed here: a status or a
//! satisfaction is written as an explicit code ([`status_code`], [`satisfaction_code`]), never
//! as an enum's position, so reordering or extending an enum cannot change what a stored row
//! means. A code this release does not know reads as no value.
//!
//! Facts added in later releases are tails, appended in order after the units and written only
//! when there is something to say: the hotline's ([`CallFacts`], two bytes), then the chain of
//! units ([`ChainFacts`]), then the work's ([`WorkFacts`]: the responsible person and the
//! verifications). A tail is written whenever one after it is (the hotline's two bytes and an
//! empty chain's two bytes then say nothing), so a release reads the tails it knows and
//! ignores the bytes after them, and a row from before a tail reads with its defaults.

use crate::summary::CaseSummary;
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::fold::UnitLink;
use gridcase_sync_core::{Millis, Status};

/// What the indicators need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub status: Option<Status>,
    pub created_at: Millis,
    pub filed_at: Option<Millis>,
    pub deadline: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub extensions: u32,
    pub rework_count: u32,
    pub satisfaction: Option<Satisfaction>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    /// The unit it is counted against: the one it is dispatched to, else the last one named.
    pub unit: Option<String>,
    /// Every unit ever named in filing or dispatch (a unit's scope).
    pub units: Vec<String>,
    pub category: Option<String>,
    /// What the callback found (社会公众外评价) and the first-contact resolution; stored after
    /// the units as [`CallFacts::encode`], absent (all default) in rows written before them.
    pub call: CallFacts,
    /// The chain of units (派遣链) and the missed deadline; stored after the hotline's tail
    /// as [`ChainFacts::encode`], absent (no chain, nothing missed) in rows written before it.
    pub chain: ChainFacts,
    /// The responsible person and the verifications; stored after the chain's tail as
    /// [`WorkFacts::encode`], absent (nobody, none) in rows written before it.
    pub work: WorkFacts,
}

/// What the responsible person's indicators and the rework rate need of a case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkFacts {
    /// 责任人: the responsible person the current dispatch names.
    pub responsible: Option<String>,
    /// Verifications (核查) made, passed or failed: the rework rate's denominator.
    pub verifications: u32,
}

impl WorkFacts {
    /// Whether there is anything to store: a row without it stays what it was before.
    fn is_empty(&self) -> bool {
        *self == WorkFacts::default()
    }

    /// The responsible person as a length-prefixed string (`ffff` for none), then the
    /// verifications as a little-endian `u32`.
    fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, self.responsible.as_deref());
        out.extend_from_slice(&self.verifications.to_le_bytes());
    }

    /// `None` for a truncated tail.
    fn decode(r: &mut Reader<'_>) -> Option<WorkFacts> {
        let responsible = r.str()?;
        let verifications = r.u32()?;
        Some(WorkFacts {
            responsible,
            verifications,
        })
    }
}

/// What the units' indicators (response 响应, returns 退回) need of a case: its dispatches, and
/// whether a deadline in force passed while it was open (an overdue that happened stays).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainFacts {
    /// A deadline in force passed while the case was open, even if a later dispatch or
    /// extension replaced it (`CaseSummary::deadline_missed`).
    pub deadline_missed: bool,
    /// The last [`ChainFacts::MAX_LINKS`] dispatches, in the fold's order.
    pub links: Vec<LinkFacts>,
}

/// One dispatch of the chain of units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub unit: String,
    pub dispatched_at: Millis,
    /// The unit sent the case back (退回).
    pub returned: bool,
    /// 签收: its acknowledgement, or its first handling, feedback or return.
    pub acknowledged_at: Option<Millis>,
    /// When it had to be acknowledged by (响应时限); `None`: not judged.
    pub response_due: Option<Millis>,
}

impl LinkFacts {
    fn of(link: &UnitLink) -> LinkFacts {
        LinkFacts {
            unit: link.unit.to_string(),
            dispatched_at: link.dispatched_at,
            returned: link.returned_at.is_some(),
            acknowledged_at: link.acknowledged_at,
            response_due: link.response_due,
        }
    }
}

impl ChainFacts {
    /// The most dispatches a row keeps: the last ones. A case bounced more often than this is
    /// a case for the center, and its oldest dispatches drop out of the units' indicators.
    pub const MAX_LINKS: usize = 32;
    const MISSED: u8 = 1;
    const RETURNED: u8 = 1;

    /// Whether there is anything to store: a row without it stays what it was before.
    fn is_empty(&self) -> bool {
        *self == ChainFacts::default()
    }

    /// The flags (bit 0: deadline missed; the others 0, ignored on reading), the number of
    /// links (at most [`ChainFacts::MAX_LINKS`]), then each link: its unit as a length-prefixed
    /// string, `dispatched_at`, `acknowledged_at` and `response_due` as little-endian `i64`
    /// ([`NONE`] for none), and its flags (bit 0: returned; the others 0, ignored on reading).
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(if self.deadline_missed {
            Self::MISSED
        } else {
            0
        });
        let skip = self.links.len().saturating_sub(Self::MAX_LINKS);
        let links = &self.links[skip..];
        out.push(links.len() as u8);
        for l in links {
            put_str(out, Some(&l.unit));
            for t in [Some(l.dispatched_at), l.acknowledged_at, l.response_due] {
                out.extend_from_slice(&t.unwrap_or(NONE).to_le_bytes());
            }
            out.push(if l.returned { Self::RETURNED } else { 0 });
        }
    }

    /// `None` for a truncated tail; more links than [`ChainFacts::MAX_LINKS`] are refused, as
    /// bytes this format never writes.
    fn decode(r: &mut Reader<'_>) -> Option<ChainFacts> {
        let flags = r.take(1)?[0];
        let n = usize::from(r.take(1)?[0]);
        if n > Self::MAX_LINKS {
            return None;
        }
        let mut links = Vec::with_capacity(n);
        for _ in 0..n {
            let unit = r.str()??;
            let mut time = || Some(i64::from_le_bytes(r.take(8)?.try_into().ok()?));
            let (dispatched_at, acknowledged_at, response_due) = (time()?, time()?, time()?);
            let some = |t: i64| (t != NONE).then_some(t);
            links.push(LinkFacts {
                unit,
                dispatched_at,
                acknowledged_at: some(acknowledged_at),
                response_due: some(response_due),
                returned: r.take(1)?[0] & Self::RETURNED != 0,
            });
        }
        Some(ChainFacts {
            deadline_missed: flags & Self::MISSED != 0,
            links,
        })
    }
}

/// What the hotline adds to a case's facts: whether it was answered at intake (直接答复), and
/// the public evaluation of its callbacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallFacts {
    pub answered_directly: bool,
    /// The last callback that reached a caller since the case was last closed.
    pub public_satisfaction: Option<Satisfaction>,
    pub public_solved: Option<bool>,
    /// Any callback, in any round, found the caller dissatisfied or the problem not solved.
    pub ever_dissatisfied: bool,
}

impl CallFacts {
    const ANSWERED: u8 = 1;
    const DISSATISFIED: u8 = 2;
    const SOLVED_KNOWN: u8 = 4;
    const SOLVED: u8 = 8;

    /// Two bytes: the flags above, then the public satisfaction's code.
    pub(super) fn encode(self) -> [u8; 2] {
        let mut flags = 0;
        if self.answered_directly {
            flags |= Self::ANSWERED;
        }
        if self.ever_dissatisfied {
            flags |= Self::DISSATISFIED;
        }
        if let Some(solved) = self.public_solved {
            flags |= Self::SOLVED_KNOWN;
            if solved {
                flags |= Self::SOLVED;
            }
        }
        [
            flags,
            self.public_satisfaction.map_or(NO_CODE, satisfaction_code),
        ]
    }

    pub(super) fn decode(bytes: [u8; 2]) -> CallFacts {
        let [flags, satisfaction] = bytes;
        CallFacts {
            answered_directly: flags & Self::ANSWERED != 0,
            ever_dissatisfied: flags & Self::DISSATISFIED != 0,
            public_solved: (flags & Self::SOLVED_KNOWN != 0).then_some(flags & Self::SOLVED != 0),
            public_satisfaction: satisfaction_of_code(satisfaction),
        }
    }
}

/// The version byte every encoded row starts with.
const FORMAT: u8 = 1;

/// An absent time, stored and held in memory.
pub(super) const NONE: i64 = i64::MIN;

/// An absent status or satisfaction, stored and held in memory.
pub(super) const NO_CODE: u8 = u8::MAX;

/// The stored code of a status. The numbers are part of the stored format: a new status takes
/// a new number, and none is ever reused.
pub(super) const fn status_code(s: Status) -> u8 {
    match s {
        Status::Reported => 0,
        Status::AwaitingConfirmation => 1,
        Status::Filed => 2,
        Status::Declined => 3,
        Status::Dispatched => 4,
        Status::InProgress => 5,
        Status::AwaitingVerification => 6,
        Status::Verified => 7,
        Status::Rework => 8,
        Status::Held => 9,
        Status::Closed => 10,
        Status::Evaluated => 11,
        Status::Voided => 12,
    }
}

/// The stored code of a satisfaction answer; fixed like [`status_code`].
pub(super) const fn satisfaction_code(s: Satisfaction) -> u8 {
    match s {
        Satisfaction::Satisfied => 0,
        Satisfaction::Basic => 1,
        Satisfaction::Dissatisfied => 2,
    }
}

/// The value each code names, made at compile time from the code function over every value, so
/// that reading cannot disagree with writing; building it fails to compile if two values share
/// a code or one takes [`NO_CODE`]. A lookup, since every query reads it once a case.
macro_rules! by_code {
    ($ty:ty, $code:ident) => {{
        let mut table: [Option<$ty>; 256] = [None; 256];
        let mut i = 0;
        while i < <$ty>::ALL.len() {
            let value = <$ty>::ALL[i];
            let code = $code(value);
            assert!(code != NO_CODE, "a value takes the code of no value");
            assert!(table[code as usize].is_none(), "two values share a code");
            table[code as usize] = Some(value);
            i += 1;
        }
        table
    }};
}

const STATUS_BY_CODE: [Option<Status>; 256] = by_code!(Status, status_code);
const SATISFACTION_BY_CODE: [Option<Satisfaction>; 256] = by_code!(Satisfaction, satisfaction_code);

/// The status a stored code names; `None` for [`NO_CODE`] and for a code this release does not
/// know (a later release's status).
pub(super) fn status_of_code(code: u8) -> Option<Status> {
    STATUS_BY_CODE[usize::from(code)]
}

/// The satisfaction a stored code names; `None` for [`NO_CODE`] and unknown codes.
pub(super) fn satisfaction_of_code(code: u8) -> Option<Satisfaction> {
    SATISFACTION_BY_CODE[usize::from(code)]
}

impl CaseFacts {
    /// The facts of a case, read from its summary: the summary is the stored form of the
    /// case's outline (`sync_core::outline`, where each value is derived), and rows are also
    /// rebuilt from stored summaries alone (`ledger::facts::ensure_rows`), so one constructor
    /// serves both. What the facts add is the unit a case is counted against: the one it is
    /// dispatched to, else the last of the units named (in order of id).
    pub fn of(s: &CaseSummary) -> CaseFacts {
        CaseFacts {
            status: s.status,
            created_at: s.created_at,
            filed_at: s.filed_at,
            deadline: s.deadline,
            closed_at: s.closed_at,
            extensions: s.extensions,
            rework_count: s.rework_count,
            satisfaction: s.satisfaction,
            street: s.street.clone(),
            community: s.community.clone(),
            grid: s.grid.clone(),
            unit: s.counted_unit().map(str::to_owned),
            units: s.units.clone(),
            category: s.category.clone(),
            call: CallFacts {
                answered_directly: s.answered_directly,
                public_satisfaction: s.public_satisfaction,
                public_solved: s.public_solved,
                ever_dissatisfied: s.ever_dissatisfied,
            },
            chain: ChainFacts {
                deadline_missed: s.deadline_missed,
                links: s.chain[s.chain.len().saturating_sub(ChainFacts::MAX_LINKS)..]
                    .iter()
                    .map(LinkFacts::of)
                    .collect(),
            },
            work: WorkFacts {
                responsible: s.responsible.clone(),
                verifications: s.verifications,
            },
        }
    }

    /// A compact binary form: fixed-width numbers, then length-prefixed strings.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(FORMAT);
        for t in [
            Some(self.created_at),
            self.filed_at,
            self.deadline,
            self.closed_at,
        ] {
            out.extend_from_slice(&t.unwrap_or(NONE).to_le_bytes());
        }
        out.push(self.status.map_or(NO_CODE, status_code));
        out.push(self.satisfaction.map_or(NO_CODE, satisfaction_code));
        out.extend_from_slice(&self.extensions.to_le_bytes());
        out.extend_from_slice(&self.rework_count.to_le_bytes());
        for s in [
            &self.street,
            &self.community,
            &self.grid,
            &self.unit,
            &self.category,
        ] {
            put_str(&mut out, s.as_deref());
        }
        out.extend_from_slice(&(self.units.len() as u32).to_le_bytes());
        for u in &self.units {
            put_str(&mut out, Some(u));
        }
        // Appended, and only when there is something to say, not a new format: a release
        // before these fields reads the row and ignores its tail, this release reads a row
        // without the tail as defaults, and every row without callback facts stays byte for
        // byte what it was. The chain's tail comes after the hotline's, so a row with a chain
        // carries the hotline's two bytes even when they say nothing: a release that knows
        // only the hotline's tail reads them as such and ignores the rest.
        // The work's tail comes after the chain's, which is then written even when empty (its
        // two bytes, no flag and no link, read as no chain by the releases that know it).
        let work = !self.work.is_empty();
        if self.call != CallFacts::default() || !self.chain.is_empty() || work {
            out.extend_from_slice(&self.call.encode());
        }
        if !self.chain.is_empty() || work {
            self.chain.encode(&mut out);
        }
        if work {
            self.work.encode(&mut out);
        }
        out
    }

    /// The inverse of [`CaseFacts::encode`]; `None` for bytes it did not write.
    pub fn decode(bytes: &[u8]) -> Option<CaseFacts> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != FORMAT {
            return None;
        }
        let mut time = || {
            let t = i64::from_le_bytes(r.take(8)?.try_into().ok()?);
            Some((t != NONE).then_some(t))
        };
        let created_at = time()?.unwrap_or(0);
        let (filed_at, deadline, closed_at) = (time()?, time()?, time()?);
        let status = status_of_code(r.take(1)?[0]);
        let satisfaction = satisfaction_of_code(r.take(1)?[0]);
        let extensions = r.u32()?;
        let rework_count = r.u32()?;
        let (street, community, grid) = (r.str()?, r.str()?, r.str()?);
        let (unit, category) = (r.str()?, r.str()?);
        let n = r.u32()?;
        let mut units = Vec::new();
        for _ in 0..n {
            units.push(r.str()??);
        }
        // Each tail is read when present; bytes after the last tail this release knows are a
        // later release's, and ignored.
        let call = match r.take(2) {
            Some(&[flags, satisfaction]) => CallFacts::decode([flags, satisfaction]),
            _ => CallFacts::default(),
        };
        let chain = if r.0.is_empty() {
            ChainFacts::default()
        } else {
            ChainFacts::decode(&mut r)?
        };
        let work = if r.0.is_empty() {
            WorkFacts::default()
        } else {
            WorkFacts::decode(&mut r)?
        };
        Some(CaseFacts {
            call,
            chain,
            work,
            status,
            created_at,
            filed_at,
            deadline,
            closed_at,
            extensions,
            rework_count,
            satisfaction,
            street,
            community,
            grid,
            unit,
            units,
            category,
        })
    }
}

/// The stored form of one case's row: its slot, then its facts.
pub fn stored(slot: u32, facts: &CaseFacts) -> Vec<u8> {
    let mut out = slot.to_le_bytes().to_vec();
    out.extend_from_slice(&facts.encode());
    out
}

/// The slot a stored row names.
pub fn slot_of(stored: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(stored.get(..4)?.try_into().ok()?))
}

/// The slot and facts of a stored row; `None` for bytes [`stored`] did not write.
pub(super) fn read_stored(stored: &[u8]) -> Option<(u32, CaseFacts)> {
    slot_of(stored).zip(stored.get(4..).and_then(CaseFacts::decode))
}

fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.extend_from_slice(&u16::MAX.to_le_bytes()),
        Some(s) => {
            let b = &s.as_bytes()[..s.len().min(usize::from(u16::MAX - 1))];
            out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    /// `Some(None)` for an absent string, `None` for truncated bytes.
    fn str(&mut self) -> Option<Option<String>> {
        let n = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
        if n == u16::MAX {
            return Some(None);
        }
        let b = self.take(usize::from(n))?;
        Some(Some(String::from_utf8_lossy(b).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::facts;
    use super::*;

    #[test]
    fn facts_survive_their_stored_form_and_truncation_is_refused() {
        let mut f = facts("g1", Some("u1"), Some(12_000));
        f.call.public_satisfaction = Some(Satisfaction::Satisfied);
        let bytes = stored(7, &f);
        assert_eq!(slot_of(&bytes), Some(7));
        assert_eq!(CaseFacts::decode(&bytes[4..]), Some(f.clone()));
        // Cut anywhere before the hotline's tail, a row is refused; without its tail (a row
        // from before it), it reads with the tail's defaults.
        let tail = 2;
        for cut in 0..bytes.len() - 4 - tail {
            assert_eq!(CaseFacts::decode(&bytes[4..4 + cut]), None, "cut at {cut}");
        }
        assert_eq!(
            CaseFacts::decode(&bytes[4..bytes.len() - tail]),
            Some(CaseFacts {
                call: CallFacts::default(),
                ..f.clone()
            })
        );
        let mut bare = facts("g1", None, None);
        bare.street = None;
        bare.status = None;
        assert_eq!(CaseFacts::decode(&bare.encode()), Some(bare));
    }

    /// A chain of two dispatches, the first returned: what the fixtures' chained cases carry.
    fn chained() -> CaseFacts {
        let mut f = facts("g1", Some("u2"), None);
        f.chain = ChainFacts {
            deadline_missed: true,
            links: vec![
                LinkFacts {
                    unit: "u1".into(),
                    dispatched_at: 3_000,
                    returned: true,
                    acknowledged_at: Some(3_500),
                    response_due: Some(4_000),
                },
                LinkFacts {
                    unit: "u2".into(),
                    dispatched_at: 5_000,
                    returned: false,
                    acknowledged_at: None,
                    response_due: None,
                },
            ],
        };
        f
    }

    /// Rows written before the chain's tail read as no chain; a row with it round-trips, with
    /// the hotline's two bytes written even when they say nothing, and a cut tail is refused.
    #[test]
    fn the_chain_tail_round_trips_and_rows_without_it_read_as_no_chain() {
        let without = facts("g1", Some("u1"), Some(12_000));
        let old = without.encode();
        let read = CaseFacts::decode(&old).expect("an old row reads");
        assert_eq!(read.chain, ChainFacts::default());
        assert_eq!(read, without, "and the row without a chain is what it was");

        let f = chained();
        let bytes = f.encode();
        assert_eq!(CaseFacts::decode(&bytes), Some(f.clone()));
        assert_eq!(
            &bytes[old.len()..old.len() + 2],
            &CallFacts::default().encode(),
            "the hotline's tail, saying nothing, before the chain's"
        );
        // What a release that knows only the hotline's tail reads: the row without the chain.
        let hotline_only = &bytes[..old.len() + 2];
        let read = CaseFacts::decode(hotline_only).expect("reads");
        assert_eq!(
            read,
            CaseFacts {
                chain: ChainFacts::default(),
                ..f.clone()
            }
        );
        for cut in old.len() + 3..bytes.len() {
            assert_eq!(CaseFacts::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        // A later release's tail after the work's is ignored.
        let mut worked = f.clone();
        worked.work.verifications = 1;
        let mut later = worked.encode();
        later.extend_from_slice(&[7, 7, 7]);
        assert_eq!(CaseFacts::decode(&later), Some(worked));
        // A missed deadline alone is stored too.
        let mut missed = without.clone();
        missed.chain.deadline_missed = true;
        assert_eq!(CaseFacts::decode(&missed.encode()), Some(missed));
    }

    /// The work's tail (responsible person, verifications) comes after the chain's: a row
    /// without it reads as nobody and none; with it but no chain, the hotline's and the
    /// chain's tails are written saying nothing, and a release that knows only them reads the
    /// row as it was; a cut tail is refused.
    #[test]
    fn the_work_tail_round_trips_after_empty_tails() {
        let without = facts("g1", Some("u1"), Some(12_000));
        let old = without.encode();
        let mut f = without.clone();
        f.work = WorkFacts {
            responsible: Some("王".into()),
            verifications: 3,
        };
        let bytes = f.encode();
        assert_eq!(CaseFacts::decode(&bytes), Some(f.clone()));
        assert_eq!(&bytes[..old.len()], &old[..], "only appended");
        assert_eq!(
            &bytes[old.len()..old.len() + 4],
            &[0, NO_CODE, 0, 0],
            "the hotline's and the chain's tails, saying nothing"
        );
        // What the releases that know only the earlier tails read: the row without the work.
        for known in [old.len() + 2, old.len() + 4] {
            let read = CaseFacts::decode(&bytes[..known]).expect("reads");
            assert_eq!(read, without);
        }
        for cut in old.len() + 5..bytes.len() {
            assert_eq!(CaseFacts::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        // With a chain, the work follows it.
        let mut chained = chained();
        chained.work.verifications = 2;
        let bytes = chained.encode();
        assert_eq!(CaseFacts::decode(&bytes), Some(chained.clone()));
        let before = CaseFacts {
            work: WorkFacts::default(),
            ..chained
        };
        assert_eq!(&bytes[..bytes.len() - 6], &before.encode()[..]);
    }

    /// At most [`ChainFacts::MAX_LINKS`] dispatches are stored: the last ones.
    #[test]
    fn a_long_chain_keeps_its_last_dispatches() {
        let mut f = facts("g1", Some("u1"), None);
        f.chain.links = (0..40)
            .map(|i| LinkFacts {
                unit: format!("u{i}"),
                dispatched_at: i,
                returned: true,
                acknowledged_at: Some(i),
                response_due: Some(i),
            })
            .collect();
        let read = CaseFacts::decode(&f.encode()).expect("reads");
        assert_eq!(read.chain.links.len(), ChainFacts::MAX_LINKS);
        assert_eq!(read.chain.links[..], f.chain.links[8..]);
        let mut bytes = f.encode();
        // After the row, the hotline's two bytes and the chain's flags: the count.
        let count = facts("g1", Some("u1"), None).encode().len() + 3;
        assert_eq!(bytes[count], 32);
        bytes[count] = 33;
        assert_eq!(CaseFacts::decode(&bytes), None, "more links than written");
    }

    /// The codes rows on disk carry: changing one would make every stored row of that status
    /// or satisfaction read as another.
    #[test]
    fn status_and_satisfaction_codes_are_pinned() {
        let statuses = [
            (Status::Reported, 0),
            (Status::AwaitingConfirmation, 1),
            (Status::Filed, 2),
            (Status::Declined, 3),
            (Status::Dispatched, 4),
            (Status::InProgress, 5),
            (Status::AwaitingVerification, 6),
            (Status::Verified, 7),
            (Status::Rework, 8),
            (Status::Held, 9),
            (Status::Closed, 10),
            (Status::Evaluated, 11),
            (Status::Voided, 12),
        ];
        assert_eq!(statuses.len(), Status::ALL.len(), "every status is pinned");
        for (status, code) in statuses {
            assert_eq!(status_code(status), code, "{status:?}");
            assert_eq!(status_of_code(code), Some(status), "{code}");
        }
        let satisfactions = [
            (Satisfaction::Satisfied, 0),
            (Satisfaction::Basic, 1),
            (Satisfaction::Dissatisfied, 2),
        ];
        assert_eq!(satisfactions.len(), Satisfaction::ALL.len());
        for (satisfaction, code) in satisfactions {
            assert_eq!(satisfaction_code(satisfaction), code, "{satisfaction:?}");
            assert_eq!(satisfaction_of_code(code), Some(satisfaction), "{code}");
        }
        for unknown in [13, 100, NO_CODE] {
            assert_eq!(status_of_code(unknown), None, "{unknown}");
            assert_eq!(satisfaction_of_code(unknown), None, "{unknown}");
        }
        assert_eq!(satisfaction_of_code(3), None);
    }

    /// A row as this format writes it, byte for byte: what is on disk today must read the same.
    #[test]
    fn a_stored_row_is_pinned_byte_for_byte() {
        let f = CaseFacts {
            status: Some(Status::Held),
            created_at: 1,
            filed_at: Some(2),
            deadline: None,
            closed_at: Some(-3),
            extensions: 4,
            rework_count: 5,
            satisfaction: Some(Satisfaction::Dissatisfied),
            street: Some("s".into()),
            community: None,
            grid: Some("g".into()),
            unit: Some("u".into()),
            units: vec!["u".into(), "v".into()],
            category: Some("E0101".into()),
            call: CallFacts {
                answered_directly: true,
                public_satisfaction: Some(Satisfaction::Basic),
                public_solved: Some(false),
                ever_dissatisfied: true,
            },
            chain: ChainFacts::default(),
            work: WorkFacts::default(),
        };
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[9, 0, 0, 0][..],                  // slot 9
            &[1],                               // format version
            &[1, 0, 0, 0, 0, 0, 0, 0],          // created_at
            &[2, 0, 0, 0, 0, 0, 0, 0],          // filed_at
            &[0, 0, 0, 0, 0, 0, 0, 0x80],       // deadline: none (i64::MIN)
            &[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // closed_at -3
            &[9],                               // status: held
            &[2],                               // satisfaction: dissatisfied
            &[4, 0, 0, 0],                      // extensions
            &[5, 0, 0, 0],                      // rework_count
            &[1, 0, b's'],                      // street
            &[0xff, 0xff],                      // community: none
            &[1, 0, b'g'],                      // grid
            &[1, 0, b'u'],                      // unit
            &[5, 0, b'E', b'0', b'1', b'0', b'1'], // category
            &[2, 0, 0, 0],                      // two units
            &[1, 0, b'u'],
            &[1, 0, b'v'],
            &[0b0111],                          // answered, dissatisfied, solved known: no
            &[1],                               // public satisfaction: basic
        ]
        .concat();
        assert_eq!(stored(9, &f), expected);
        assert_eq!(read_stored(&expected), Some((9, f.clone())));
        // A row written before the callback's facts: its tail is absent, and reads as none.
        let before = &expected[..expected.len() - 2];
        let read = read_stored(before).map(|(_, f)| f.call);
        assert_eq!(read, Some(CallFacts::default()));
        let mut bare = expected.clone();
        bare[4 + 1 + 32] = NO_CODE;
        bare[4 + 1 + 33] = NO_CODE;
        let read = read_stored(&bare).map(|(_, f)| (f.status, f.satisfaction));
        assert_eq!(read, Some((None, None)));

        // The chain's tail, after the hotline's.
        let chained = CaseFacts {
            chain: ChainFacts {
                deadline_missed: true,
                links: vec![
                    LinkFacts {
                        unit: "u".into(),
                        dispatched_at: 6,
                        returned: true,
                        acknowledged_at: Some(7),
                        response_due: Some(8),
                    },
                    LinkFacts {
                        unit: "v".into(),
                        dispatched_at: 9,
                        returned: false,
                        acknowledged_at: None,
                        response_due: None,
                    },
                ],
            },
            ..f
        };
        #[rustfmt::skip]
        let tail: Vec<u8> = [
            &[0b1][..],                         // chain flags: deadline missed
            &[2],                               // two links
            &[1, 0, b'u'],                      // unit
            &[6, 0, 0, 0, 0, 0, 0, 0],          // dispatched_at
            &[7, 0, 0, 0, 0, 0, 0, 0],          // acknowledged_at
            &[8, 0, 0, 0, 0, 0, 0, 0],          // response_due
            &[0b1],                             // returned
            &[1, 0, b'v'],
            &[9, 0, 0, 0, 0, 0, 0, 0],
            &[0, 0, 0, 0, 0, 0, 0, 0x80],       // not acknowledged (i64::MIN)
            &[0, 0, 0, 0, 0, 0, 0, 0x80],       // no response limit
            &[0],                               // not returned
        ]
        .concat();
        let expected = [expected, tail].concat();
        assert_eq!(stored(9, &chained), expected);
        assert_eq!(read_stored(&expected), Some((9, chained.clone())));

        // The work's tail, after the chain's.
        let worked = CaseFacts {
            work: WorkFacts {
                responsible: Some("w".into()),
                verifications: 0x0102,
            },
            ..chained
        };
        #[rustfmt::skip]
        let tail: Vec<u8> = [
            &[1, 0, b'w'][..],                  // responsible
            &[2, 1, 0, 0],                      // verifications
        ]
        .concat();
        let expected = [expected, tail].concat();
        assert_eq!(stored(9, &worked), expected);
        assert_eq!(read_stored(&expected), Some((9, worked.clone())));
        // Verified, nobody responsible: the absent string.
        let nobody = CaseFacts {
            work: WorkFacts {
                responsible: None,
                verifications: 1,
            },
            ..worked
        };
        assert_eq!(
            &stored(9, &nobody)[expected.len() - 7..],
            &[0xff, 0xff, 1, 0, 0, 0]
        );
    }
}
