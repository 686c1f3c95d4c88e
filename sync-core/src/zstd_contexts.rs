//! Reused zstd contexts, for the store's snapshots and the sync batches' bodies alike.
//!
//! Setting a context up costs more than compressing a case's few KB (about 140,000 and 40,000
//! instructions a snapshot), and at the batches' level 6 a context sized for a 134 KB batch is
//! 3.1 MB of tables (`CCtx::sizeof`), allocated, zeroed and handed back to the system for
//! every request and answer (the server returns freed memory at once, see
//! `server/src/main.rs`). Contexts are kept in a small pool instead: at most [`POOLED`] of
//! each level and [`POOLED`] decompressors, however many threads compress at once (a context
//! per thread would keep one for each of a server's dozens of blocking threads). A pooled
//! context makes the same frame as `zstd::bulk::compress` at its level.

use std::sync::Mutex;

/// Contexts of each kind (and level) kept for reuse; one more in use is made and dropped
/// afterwards. A server runs a few syncs at once (`--sync-workers`), a handheld one.
pub const POOLED: usize = 8;

static COMPRESSORS: Mutex<Vec<(i32, zstd::bulk::Compressor<'static>)>> = Mutex::new(Vec::new());
static DECOMPRESSORS: Mutex<Vec<zstd::bulk::Decompressor<'static>>> = Mutex::new(Vec::new());

/// `raw` compressed at `level`: the bytes of `zstd::bulk::compress(raw, level)`.
pub(crate) fn compress(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    let pooled = COMPRESSORS.lock().ok().and_then(|mut pool| {
        let at = pool.iter().position(|(l, _)| *l == level)?;
        Some(pool.swap_remove(at).1)
    });
    let mut context = match pooled {
        Some(context) => context,
        None => zstd::bulk::Compressor::new(level)?,
    };
    let out = context.compress(raw)?;
    // A context whose compression failed is not kept (the `?` above): its state is unknown.
    if let Ok(mut pool) = COMPRESSORS.lock() {
        if pool.iter().filter(|(l, _)| *l == level).count() < POOLED {
            pool.push((level, context));
        }
    }
    Ok(out)
}

/// A zstd frame that declares its decompressed size, at most `max`, decompressed into one
/// buffer of that size; `None` for any other body (no declared size, more than `max`, several
/// frames, not zstd), which the caller reads as a stream: that reports the error.
pub(crate) fn decompress_declared(bytes: &[u8], max: u64) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .filter(|n| *n <= max)?;
    let pooled = DECOMPRESSORS.lock().ok().and_then(|mut pool| pool.pop());
    let mut context = match pooled {
        Some(context) => context,
        None => zstd::bulk::Decompressor::new().ok()?,
    };
    let raw = context.decompress(bytes, size as usize).ok()?;
    if let Ok(mut pool) = DECOMPRESSORS.lock() {
        if pool.len() < POOLED {
            pool.push(context);
        }
    }
    (raw.len() as u64 == size).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_frames_are_those_of_zstd_bulk_at_each_level_and_the_pools_stay_bounded() {
        let raw: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for level in [1, 6, 1, 6] {
            let expected = zstd::bulk::compress(&raw, level).expect("zstd");
            assert_eq!(compress(&raw, level).expect("pooled"), expected);
            assert_eq!(
                decompress_declared(&expected, raw.len() as u64),
                Some(raw.clone())
            );
        }
        assert_eq!(decompress_declared(b"not zstd", 1 << 20), None);
        let pool = COMPRESSORS.lock().expect("pool");
        for level in [1, 6] {
            assert!(pool.iter().filter(|(l, _)| *l == level).count() <= POOLED);
        }
    }
}
