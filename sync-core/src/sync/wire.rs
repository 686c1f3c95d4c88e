//! The sync batch: automerge sync messages for many cases in one body.
//!
//! # Format, version 1
//!
//! All integers are unsigned LEB128 (7 bits per byte, least significant group first, high
//! bit set on every byte but the last), at most 10 bytes.
//!
//! ```text
//! batch   = magic version flags cursor count entry*count notices
//! magic   = "GCSB"                    4 bytes
//! version = 0x01                      1 byte
//! flags   = 1 byte: bit 0 = more (the sender holds further cases for this session);
//!           other bits 0, and a reader rejects a batch with an unknown bit set
//! cursor  = uleb128                   feed position: in a request, the last one the device
//!                                     saw; in an answer, the one to ask from next time
//! count   = uleb128                   number of entries, at most MAX_ENTRIES
//! entry   = case_len case message_len message
//! notices = uleb128 count, then per notice: case_len case code_len code text_len text
//!           (UTF-8; a receiver's word on a case it refused or could not read: `code` is a
//!           stable rule name, `text` is for people; at most MAX_ENTRIES. A server also
//!           tells a device that asked for it news of a case that refuses nothing, with a
//!           code of its own: `sync::InfoCode`, e.g. `numbered`, whose text is the case's
//!           number. Devices that did not ask never receive those: older ones take every
//!           notice as a refusal)
//! case    = case id, UTF-8, 1..=MAX_CASE_ID bytes, no control characters
//! message = one automerge sync message (automerge's own encoding, `sync::Message::encode`);
//!           it may be empty: "I have nothing for this case yet, tell me what you have".
//!           Both sides read automerge's V2 messages, so a sender may offer a case to a peer
//!           it knows holds none of it as one V2 message with the whole saved document
//! ```
//!
//! Nothing follows the last entry. A case appears at most once per batch. A peer that holds no
//! state for a case answers it as automerge's sync protocol does for a fresh peer, so any
//! automerge implementation can take part by running one sync session per case.

use crate::ids::CaseId;
use crate::Error;

pub const MAGIC: &[u8; 4] = b"GCSB";
pub const VERSION: u8 = 1;
pub const MAX_ENTRIES: usize = 100_000;
pub const MAX_CASE_ID: usize = 128;
/// The zstd level a batch sent `Content-Encoding: zstd` is compressed at, by handhelds and the
/// server alike: a batch of whole documents saved uncompressed is about 11% smaller at 6 than
/// at 3 (a medium field day's feed answer, 134 KB raw: 15.2 -> 13.5 KB) for about 0.4 ms more.
/// Any zstd decoder reads any level, so peers of other releases are not concerned.
pub const COMPRESSION_LEVEL: i32 = 6;
const FLAG_MORE: u8 = 1;

/// Why a receiver did not take a case's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub case: CaseId,
    pub code: String,
    pub text: String,
}

/// One round of the sync conversation for many cases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBatch {
    pub cursor: u64,
    pub more: bool,
    pub entries: Vec<(CaseId, Vec<u8>)>,
    pub notices: Vec<Notice>,
}

impl SyncBatch {
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .entries
            .iter()
            .map(|(c, m)| c.as_str().len() + m.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(16 + size);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(if self.more { FLAG_MORE } else { 0 });
        put_uleb(&mut out, self.cursor);
        put_uleb(&mut out, self.entries.len() as u64);
        for (case, message) in &self.entries {
            put_uleb(&mut out, case.as_str().len() as u64);
            out.extend_from_slice(case.as_str().as_bytes());
            put_uleb(&mut out, message.len() as u64);
            out.extend_from_slice(message);
        }
        put_uleb(&mut out, self.notices.len() as u64);
        for n in &self.notices {
            for s in [n.case.as_str(), n.code.as_str(), n.text.as_str()] {
                put_uleb(&mut out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<SyncBatch, Error> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(Error::MalformedBatch("not a gridcase sync batch"));
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(Error::BatchVersion(version));
        }
        let flags = r.byte()?;
        if flags & !FLAG_MORE != 0 {
            return Err(Error::MalformedBatch("unknown flags"));
        }
        let cursor = r.uleb()?;
        let count = usize::try_from(r.uleb()?).map_err(|_| Error::MalformedBatch("count"))?;
        if count > MAX_ENTRIES {
            return Err(Error::MalformedBatch("too many entries"));
        }
        let mut entries = Vec::with_capacity(count.min(1024));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..count {
            let case = r.case_id()?;
            if !seen.insert(case) {
                return Err(Error::MalformedBatch("a case appears twice"));
            }
            let len = r.len()?;
            let message = r.take(len)?.to_vec();
            entries.push((CaseId::new(case), message));
        }
        let count = usize::try_from(r.uleb()?).map_err(|_| Error::MalformedBatch("count"))?;
        if count > MAX_ENTRIES {
            return Err(Error::MalformedBatch("too many notices"));
        }
        let mut notices = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let case = CaseId::new(r.case_id()?);
            let code = r.text()?.to_owned();
            let text = r.text()?.to_owned();
            notices.push(Notice { case, code, text });
        }
        if r.pos != bytes.len() {
            return Err(Error::MalformedBatch("trailing bytes"));
        }
        Ok(SyncBatch {
            cursor,
            more: flags & FLAG_MORE != 0,
            entries,
            notices,
        })
    }
}

fn put_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(Error::MalformedBatch("truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, Error> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && bits > 1 {
                return Err(Error::MalformedBatch("integer overflow"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::MalformedBatch("integer too long"))
    }

    fn case_id(&mut self) -> Result<&'a str, Error> {
        let len = self.len()?;
        if len == 0 || len > MAX_CASE_ID {
            return Err(Error::MalformedBatch("case id length"));
        }
        let case = std::str::from_utf8(self.take(len)?)
            .map_err(|_| Error::MalformedBatch("case id is not UTF-8"))?;
        if case.chars().any(char::is_control) {
            return Err(Error::MalformedBatch("case id has control characters"));
        }
        Ok(case)
    }

    fn text(&mut self) -> Result<&'a str, Error> {
        let len = self.len()?;
        std::str::from_utf8(self.take(len)?).map_err(|_| Error::MalformedBatch("text is not UTF-8"))
    }

    fn len(&mut self) -> Result<usize, Error> {
        let n = usize::try_from(self.uleb()?).map_err(|_| Error::MalformedBatch("length"))?;
        if n > self.bytes.len() - self.pos {
            return Err(Error::MalformedBatch("truncated"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SyncBatch {
        SyncBatch {
            cursor: 300,
            more: true,
            entries: vec![
                (CaseId::new("a"), vec![1, 2, 3]),
                (CaseId::new("案件-2"), Vec::new()),
            ],
            notices: vec![Notice {
                case: CaseId::new("x"),
                code: "out_of_scope".into(),
                text: "not yours".into(),
            }],
        }
    }

    #[test]
    fn round_trips() {
        let b = sample();
        assert_eq!(SyncBatch::decode(&b.encode()).expect("decodes"), b);
        let empty = SyncBatch::default();
        assert_eq!(SyncBatch::decode(&empty.encode()).expect("decodes"), empty);
    }

    #[test]
    fn layout_is_as_documented() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..4], b"GCSB");
        assert_eq!(bytes[4], 1);
        assert_eq!(bytes[5], 1);
        assert_eq!(&bytes[6..8], &[0xac, 0x02]); // 300
        assert_eq!(bytes[8], 2);
        assert_eq!(&bytes[9..14], &[1, b'a', 3, 1, 2]);
        let tail = [&[1u8, 1, b'x', 12][..], b"out_of_scope", &[9], b"not yours"].concat();
        assert!(bytes.ends_with(&tail));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(SyncBatch::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut v2 = sample().encode();
        v2[4] = 2;
        assert!(matches!(
            SyncBatch::decode(&v2),
            Err(Error::BatchVersion(2))
        ));
        let mut flags = sample().encode();
        flags[5] = 0x81;
        assert!(SyncBatch::decode(&flags).is_err());
        let mut trailing = sample().encode();
        trailing.push(0);
        assert!(SyncBatch::decode(&trailing).is_err());
        assert!(SyncBatch::decode(b"garbage!").is_err());
        let twice = SyncBatch {
            entries: vec![(CaseId::new("a"), vec![]), (CaseId::new("a"), vec![])],
            ..SyncBatch::default()
        };
        assert!(SyncBatch::decode(&twice.encode()).is_err());
        let huge_count = [b"GCSB".as_slice(), &[1, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0]].concat();
        assert!(SyncBatch::decode(&huge_count).is_err());
        let overflow = [b"GCSB".as_slice(), &[1, 0], &[0xff; 11]].concat();
        assert!(SyncBatch::decode(&overflow).is_err());
    }
}
