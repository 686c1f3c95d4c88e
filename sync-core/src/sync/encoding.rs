//! The content encoding of sync batches on the wire (`Content-Encoding: zstd`), for requests
//! and answers, handhelds and the server alike: zstd at [`COMPRESSION_LEVEL`] with reused
//! contexts (`zstd_contexts`; the frames are those of `zstd::bulk::compress`, so peers of any
//! release read them), and the bound a body may decompress to.

use crate::sync::wire::COMPRESSION_LEVEL;
use crate::zstd_contexts;
use crate::Error;
use std::io::Read;

/// A batch's encoded bytes compressed at [`COMPRESSION_LEVEL`]: the bytes of
/// `zstd::bulk::compress(raw, COMPRESSION_LEVEL)`, with a pooled context.
pub fn compress(raw: &[u8]) -> Result<Vec<u8>, Error> {
    zstd_contexts::compress(raw, COMPRESSION_LEVEL).map_err(|e| Error::Store(format!("zstd: {e}")))
}

/// A zstd body's bytes, at most `limit` of them: [`Error::BatchTooLarge`] beyond it (a frame
/// that declares more is refused before anything is decompressed), [`Error::BatchEncoding`]
/// when it is not zstd. A frame that declares its size (every frame `compress` makes) is
/// decompressed into one buffer of that size with a pooled context; any other body, or one
/// that does not decompress that way (several frames), is read as a stream, which reports the
/// error.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let declared = zstd::zstd_safe::get_frame_content_size(body).ok().flatten();
    if declared.is_some_and(|size| size > limit as u64) {
        return Err(Error::BatchTooLarge(limit));
    }
    if let Some(raw) = zstd_contexts::decompress_declared(body, limit as u64) {
        return Ok(raw);
    }
    let decoder = zstd::stream::read::Decoder::new(body)
        .map_err(|e| Error::BatchEncoding(format!("zstd: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::BatchEncoding(format!("the body is not valid zstd: {e}")))?;
    if out.len() > limit {
        return Err(Error::BatchTooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_bytes() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn frames_are_those_of_zstd_bulk_and_round_trip() {
        let raw = batch_bytes();
        let expected = zstd::bulk::compress(&raw, COMPRESSION_LEVEL).expect("zstd");
        // Twice: the second takes the pooled contexts the first gave back.
        for _ in 0..2 {
            let sent = compress(&raw).expect("compress");
            assert_eq!(sent, expected);
            assert_eq!(decompress(&sent, raw.len()).expect("decompress"), raw);
        }
    }

    #[test]
    fn a_frame_declaring_more_than_the_limit_is_refused_unread() {
        let bomb = zstd::bulk::compress(&vec![0u8; 8 << 20], 19).expect("zstd");
        assert!(matches!(
            decompress(&bomb, 1 << 20),
            Err(Error::BatchTooLarge(limit)) if limit == 1 << 20
        ));
    }

    #[test]
    fn a_stream_without_a_declared_size_is_cut_at_the_limit() {
        let raw = vec![7u8; 4 << 20];
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("encoder");
        std::io::Write::write_all(&mut encoder, &raw).expect("write");
        let streamed = encoder.finish().expect("finish");
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed)
                .ok()
                .flatten(),
            None,
            "a streamed frame declares no size"
        );
        assert!(matches!(
            decompress(&streamed, 1 << 20),
            Err(Error::BatchTooLarge(_))
        ));
        assert_eq!(decompress(&streamed, raw.len()).expect("within"), raw);
    }

    #[test]
    fn several_frames_are_read_whole_and_garbage_is_an_encoding_error() {
        let a = batch_bytes();
        let mut body = compress(&a).expect("one");
        body.extend(compress(b"and a second frame").expect("two"));
        let mut both = a.clone();
        both.extend_from_slice(b"and a second frame");
        assert_eq!(decompress(&body, both.len()).expect("both frames"), both);
        assert!(matches!(
            decompress(b"not zstd at all", 1024),
            Err(Error::BatchEncoding(_))
        ));
        let mut truncated = compress(&a).expect("compress");
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            decompress(&truncated, a.len()),
            Err(Error::BatchEncoding(_))
        ));
    }
}
