//! The stored row of one case: [`CaseFacts`] in a compact binary form (fixed-width numbers,
//! one-byte codes, length-prefixed strings), behind the slot it holds in the table.
//!
//! Rows stay on disk across releases, so every byte they hold is fixed here: a status or a
//! satisfaction is written as an explicit code ([`status_code`], [`satisfaction_code`]), never
//! as an enum's position, so reordering or extending an enum cannot change what a stored row
//! means. A code this release does not know reads as no value.

use crate::summary::CaseSummary;
use gridcase_sync_core::event::Satisfaction;
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
            unit: s.unit.clone().or_else(|| s.units.last().cloned()),
            units: s.units.clone(),
            category: s.category.clone(),
            call: CallFacts {
                answered_directly: s.answered_directly,
                public_satisfaction: s.public_satisfaction,
                public_solved: s.public_solved,
                ever_dissatisfied: s.ever_dissatisfied,
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
        // byte what it was.
        if self.call != CallFacts::default() {
            out.extend_from_slice(&self.call.encode());
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
        let call = match r.take(2) {
            Some(&[flags, satisfaction]) => CallFacts::decode([flags, satisfaction]),
            _ => CallFacts::default(),
        };
        Some(CaseFacts {
            call,
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
    }
}
