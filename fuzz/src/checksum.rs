//! Automerge chunks carry a checksum (the first 4 bytes of a SHA-256 over the chunk type, its
//! length and its data), checked after parsing and before anything else. A mutated chunk almost
//! never matches it, so without help the fuzzer would test the parser and never what comes
//! after (applying changes, the case reader, inspection, the session). The automerge targets
//! therefore set the checksum of every chunk found in the input (a deterministic rewrite, so a
//! crash reproduces from the saved input), as any peer can: the checksum guards against
//! corruption, not against a sender.

use sha2::{Digest, Sha256};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Document, change and bundle chunks; a compressed change (2) is checked against the change
/// it inflates to, which this does not rebuild.
const REPAIRED: [u8; 3] = [0, 1, 3];

fn uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
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

/// `data` with the checksum of every chunk header in it set to match the chunk: the last ones
/// first, so a chunk nested in another's data is set before the outer one is hashed.
pub fn with_valid_checksums(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let starts: Vec<usize> = out
        .windows(MAGIC.len())
        .enumerate()
        .filter_map(|(i, w)| (w == MAGIC).then_some(i))
        .collect();
    for &at in starts.iter().rev() {
        let Some(&kind) = out.get(at + 8) else {
            continue;
        };
        if !REPAIRED.contains(&kind) {
            continue;
        }
        let Some((len, width)) = out.get(at + 9..).and_then(uleb) else {
            continue;
        };
        let start = at + 9 + width;
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= out.len())
        else {
            continue;
        };
        let mut header = vec![kind];
        put_uleb(&mut header, len);
        let hash = Sha256::new()
            .chain_update(&header)
            .chain_update(&out[start..end])
            .finalize();
        out[at + 4..at + 8].copy_from_slice(&hash[..4]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_chunks_are_left_as_they_are() {
        for i in 0..3 {
            let mut doc = crate::fixtures::doc(i).clone();
            for bytes in [doc.save(), doc.save_nocompress(), doc.save_after(&[])] {
                assert_eq!(with_valid_checksums(&bytes), bytes);
            }
        }
    }

    #[test]
    fn a_changed_chunk_loads_again() {
        let mut doc = crate::fixtures::doc(0).clone();
        let mut bytes = doc.save_nocompress();
        bytes[4] ^= 0xff;
        assert!(automerge::AutoCommit::load(&bytes).is_err());
        assert!(automerge::AutoCommit::load(&with_valid_checksums(&bytes)).is_ok());
    }
}
