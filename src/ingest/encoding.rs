//! Body bytes from what producers send.
//!
//! Producers hand us bodies in two layers that have to be peeled off before
//! anything else (redaction, schema inference) can look at them:
//!
//! 1. **Transport encoding.** Some producers (NTA) send every body as base64
//!    of the raw bytes so binary survives a JSON envelope; others send the
//!    body as plain text. [`decode_transport`] tells the two apart.
//! 2. **Content coding.** The exchange itself may have been compressed
//!    (`Content-Encoding: gzip, br, ...`). Edge runtimes often decompress the
//!    body but keep the header, so [`decompress`] only decodes bytes that
//!    really are compressed, and never produces more than a caller-chosen
//!    number of bytes, whatever the input claims.

use std::borrow::Cow;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Lenient padding: producers differ on whether they pad, and both forms are
/// unambiguous once the length is known.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Below this many base64 characters, a string that decodes to binary (not
/// text) is more likely a short raw word than an encoded body.
const MIN_BINARY_BASE64_LEN: usize = 16;

/// Upper bound on the number of content codings undone for one body, so a
/// header repeating `gzip` thousands of times cannot make us loop for long.
pub const MAX_CODINGS: usize = 8;

/// zstd frames may declare windows up to 2^31 bytes; RFC 9659 limits the
/// `zstd` content coding to 8 MiB, so anything larger is refused rather than
/// letting a hostile frame make the decoder reserve a huge window.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Output is produced through a fixed scratch buffer of this size, so the
/// only growing allocation is the capped output itself.
const CHUNK: usize = 16 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Decodes a body as a producer sent it: base64 when it is base64, the
/// string's own bytes otherwise.
///
/// Producers do not say which form they use, so the string decides:
///
/// * `""` is the empty body.
/// * The string is base64 when [`decode_base64`] accepts it (standard or
///   URL-safe alphabet, padded or not, optionally wrapped into equal-length
///   lines as MIME and PEM do) **and** the result is plausible:
///   - it is text (UTF-8 without control characters other than tab, CR, LF
///     and form feed), or
///   - it starts with a well-known binary signature (gzip, zstd, zlib, PNG,
///     JPEG, GIF, PDF, ZIP, RIFF), or
///   - the string ends with `=` padding, or
///   - the string is at least 16 characters long and is not made only of hex
///     digits and dashes (hex digests, UUIDs and numbers are raw bodies far
///     more often than they are base64).
///
/// Everything else is raw text. The remaining ambiguity is deliberate: a raw
/// body that is itself valid base64 of text (say `YWJj`) is decoded, and a
/// long raw token made only of base64 characters may be decoded as binary.
/// Callers that know their producer always base64-encodes should use
/// [`decode_base64`] directly.
pub fn decode_transport(s: &str) -> Cow<'_, [u8]> {
    if s.is_empty() {
        return Cow::Borrowed(&[]);
    }
    match decode_base64(s) {
        Some(decoded) if plausible_base64(s, &decoded) => Cow::Owned(decoded),
        _ => Cow::Borrowed(s.as_bytes()),
    }
}

/// Decodes base64 the way producers actually emit it, or says it is not
/// base64. Use it directly for producers known to always base64-encode
/// bodies, where [`decode_transport`]'s guessing is unnecessary.
///
/// Accepted: the standard (`+/`) or URL-safe (`-_`) alphabet (not both in one
/// string), with or without `=` padding, as one line or as lines of equal
/// length (a multiple of 4, the last line may be shorter) separated by LF or
/// CRLF. Rejected: any other character (spaces included), misplaced padding,
/// impossible lengths and non-canonical trailing bits. The empty string
/// decodes to the empty body.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let compact: Cow<'_, [u8]> = if memchr::memchr2(b'\n', b'\r', bytes).is_some() {
        Cow::Owned(join_base64_lines(bytes)?)
    } else {
        Cow::Borrowed(bytes)
    };
    let mut standard = false;
    let mut url_safe = false;
    let mut padding_from = None;
    for (i, &b) in compact.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'+' | b'/' => standard = true,
            b'-' | b'_' => url_safe = true,
            b'=' => {
                padding_from = Some(i);
                break;
            }
            _ => return None,
        }
    }
    if standard && url_safe {
        return None;
    }
    if let Some(start) = padding_from {
        let padding = &compact[start..];
        if padding.len() > 2 || padding.iter().any(|&b| b != b'=') {
            return None;
        }
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    engine.decode(&compact).ok()
}

/// Checks the MIME/PEM line layout and returns the lines joined together.
fn join_base64_lines(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect();
    // A single trailing line break is common; more than that is not base64.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let (last, full) = lines.split_last()?;
    let width = full.first().map_or(last.len(), |l| l.len());
    let layout_ok = width > 0
        && full.iter().all(|l| l.len() == width)
        && (full.is_empty() || width % 4 == 0)
        && !last.is_empty()
        && last.len() <= width
        && lines.iter().all(|l| !l.contains(&b'\r'));
    if !layout_ok {
        return None;
    }
    Some(lines.concat())
}

fn plausible_base64(encoded: &str, decoded: &[u8]) -> bool {
    if looks_like_text(decoded) || has_binary_signature(decoded) || encoded.ends_with('=') {
        return true;
    }
    let significant = encoded.bytes().filter(|&b| b != b'\n' && b != b'\r');
    let mut count = 0usize;
    let mut hexish = true;
    for b in significant {
        count += 1;
        hexish &= b.is_ascii_hexdigit() || b == b'-';
    }
    count >= MIN_BINARY_BASE64_LEN && !hexish
}

fn has_binary_signature(bytes: &[u8]) -> bool {
    const SIGNATURES: &[&[u8]] = &[
        &GZIP_MAGIC,
        &ZSTD_MAGIC,
        b"\x89PNG",
        b"\xff\xd8\xff",
        b"GIF8",
        b"%PDF",
        b"PK\x03\x04",
        b"RIFF",
    ];
    SIGNATURES.iter().any(|sig| bytes.starts_with(sig)) || zlib_header(bytes)
}

/// Whether the start of `bytes` reads as text: valid UTF-8 with no control
/// characters other than tab, LF, CR and form feed. Only a prefix is
/// inspected, which is enough to tell text from compressed data, whose bytes
/// look random from the first few on.
fn looks_like_text(bytes: &[u8]) -> bool {
    const PROBE: usize = 512;
    let probe = &bytes[..bytes.len().min(PROBE)];
    let valid = match std::str::from_utf8(probe) {
        Ok(s) => s.as_bytes(),
        // A multi-byte character cut by the probe boundary is still text.
        Err(e) if e.error_len().is_none() && probe.len() < bytes.len() => &probe[..e.valid_up_to()],
        Err(_) => return false,
    };
    valid
        .iter()
        .all(|&b| !(b < 0x20 || b == 0x7f) || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
}

/// Cuts `bytes` to at most `max` bytes and says whether anything was cut,
/// so bodies that needed no decoding get the same size limit (and the same
/// truncation flag) as decoded ones. Not UTF-8 aware: a cut may split a
/// character, which the stored truncation flag explains.
pub fn cap(bytes: &[u8], max: usize) -> (&[u8], bool) {
    if bytes.len() > max {
        (&bytes[..max], true)
    } else {
        (bytes, false)
    }
}

/// A body after its content codings were undone, as far as that was possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decompressed<'a> {
    /// The body; never longer than the `max` given to [`decompress`].
    /// Borrowed when nothing was decoded.
    pub bytes: Cow<'a, [u8]>,
    /// At least one coding was really undone. `false` means the input was
    /// kept as it was (plain already, an unknown coding, or undecodable).
    pub decoded: bool,
    /// `bytes` is only a prefix of the real body: the output reached the cap,
    /// or the compressed stream was cut short or damaged part-way.
    pub truncated: bool,
}

/// A content coding we know how to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// `None` for `identity`, empty list items and codings we cannot undo.
    fn parse(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
            Some(Self::Gzip)
        } else if token.eq_ignore_ascii_case("deflate") {
            Some(Self::Deflate)
        } else if token.eq_ignore_ascii_case("br") {
            Some(Self::Brotli)
        } else if token.eq_ignore_ascii_case("zstd") {
            Some(Self::Zstd)
        } else {
            None
        }
    }
}

/// Undoes the codings listed in a `Content-Encoding` value, producing at most
/// `max` bytes.
///
/// Codings are applied in the order listed, so they are undone from the last
/// one backwards. Each coding is undone only if the bytes really carry it:
///
/// * `gzip`/`x-gzip` and `zstd` need their magic numbers; `deflate` is taken
///   as zlib-wrapped when the two-byte zlib header checks out. Once the
///   format is recognised, a stream that stops early or turns corrupt still
///   yields what it decoded so far, flagged `truncated`.
/// * `br` and raw (headerless) `deflate` have no signature, so they are only
///   accepted when the decoder consumes the whole input and reaches the end
///   of the stream (or fills the cap without an error), and never for bytes
///   that read as text. A cut `br` body therefore stays as it came, unless an
///   outer coding was already cut (then its decodable prefix is kept, even
///   when that prefix is still empty).
/// * `identity`, unknown codings and codings whose bytes do not match are
///   skipped; later (inner) codings are still tried, because runtimes that
///   decode a body usually decode all of it.
///
/// At most [`MAX_CODINGS`] known codings (the outermost ones) are undone.
/// A gzip member whose CRC or length trailer does not match counts as
/// damaged (`truncated`).
///
/// The cap is hard: no intermediate or final output grows past `max`, in
/// length or in allocated capacity (a bomb costs `max` bytes, not its
/// expanded size; nested layers keep at most one layer's input and output,
/// so `2 * max`, alive at once), and input that passes through unchanged is
/// cut to `max` as well. Decoder working memory is separate and bounded:
/// deflate uses a 32 KiB window, brotli at most 16 MiB (large windows
/// refused), zstd at most 8 MiB (windows above RFC 9659's limit refused);
/// large buffers are mostly touched only as far as output is produced.
pub fn decompress<'a>(content_encoding: &str, bytes: &'a [u8], max: usize) -> Decompressed<'a> {
    let mut current = Cow::Borrowed(bytes);
    let mut decoded = false;
    let mut truncated = false;
    let codings = content_encoding.rsplit(',').filter_map(Coding::parse);
    for coding in codings.take(MAX_CODINGS) {
        if let Some(layer) = undo(coding, &current, max, truncated) {
            current = Cow::Owned(layer.bytes);
            decoded = true;
            truncated |= layer.truncated;
        }
    }
    if current.len() > max {
        truncated = true;
        match &mut current {
            Cow::Borrowed(b) => *b = &b[..max],
            Cow::Owned(v) => v.truncate(max),
        }
    }
    Decompressed {
        bytes: current,
        decoded,
        truncated,
    }
}

/// How a decoder stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The stream ended properly; `trailing` says input was left over.
    Complete { trailing: bool },
    /// The output reached the cap while more was coming.
    Capped,
    /// The input ran out before the stream ended.
    InputEnded,
    /// The decoder rejected the input.
    Corrupt,
}

/// The output of undoing one coding.
#[derive(Debug)]
struct Layer {
    bytes: Vec<u8>,
    truncated: bool,
}

fn undo(coding: Coding, input: &[u8], max: usize, input_cut: bool) -> Option<Layer> {
    match coding {
        Coding::Gzip if is_gzip(input) => {
            let mut out = Vec::new();
            let end = gunzip(input, &mut out, max);
            settle(out, end, true, input_cut)
        }
        Coding::Zstd if input.starts_with(&ZSTD_MAGIC) => {
            let mut out = Vec::new();
            let end = unzstd(input, &mut out, max);
            settle(out, end, true, input_cut)
        }
        // Bytes that a cut outer layer produced are a compressed stream's prefix even when its
        // first bytes happen to read as text.
        Coding::Deflate if !input.is_empty() && (input_cut || !looks_like_text(input)) => {
            let mut out = Vec::new();
            if zlib_header(input) {
                let (end, _) = inflate(input, true, &mut out, max);
                settle(out, end, true, input_cut)
            } else {
                let (end, _) = inflate(input, false, &mut out, max);
                settle(out, end, false, input_cut)
            }
        }
        Coding::Brotli if !input.is_empty() && (input_cut || !looks_like_text(input)) => {
            let mut out = Vec::new();
            let end = unbrotli(input, &mut out, max);
            settle(out, end, false, input_cut)
        }
        _ => None,
    }
}

/// Decides whether a decoding attempt counts. `recognised` formats were
/// identified by a signature; the others only by decoding cleanly.
fn settle(bytes: Vec<u8>, end: End, recognised: bool, input_cut: bool) -> Option<Layer> {
    let truncated = match end {
        End::Complete { trailing } => {
            if trailing && !recognised {
                return None;
            }
            false
        }
        End::Capped => true,
        // Inside a layer that was itself cut, running out of input is what a cut stream does:
        // what it decoded (possibly nothing yet) is the prefix of the body, never the
        // still-compressed bytes.
        End::InputEnded if recognised || input_cut => true,
        End::Corrupt if recognised && !bytes.is_empty() => true,
        End::InputEnded | End::Corrupt => return None,
    };
    Some(Layer { bytes, truncated })
}

/// Appends freshly decoded bytes from `chunk`, keeping `out` within `max`.
/// Returns `true` when the cap was exceeded (the excess is dropped).
///
/// Capacity grows by doubling like `Vec` does, but never past `max`, so the
/// allocation stays within the cap too.
fn push_capped(out: &mut Vec<u8>, chunk: &[u8], max: usize) -> bool {
    let room = max.saturating_sub(out.len());
    let take = chunk.len().min(room);
    let needed = out.len() + take;
    if needed > out.capacity() {
        let target = out
            .capacity()
            .saturating_mul(2)
            .clamp(needed, max.max(needed));
        out.reserve_exact(target - out.len());
    }
    out.extend_from_slice(&chunk[..take]);
    chunk.len() > room
}

/// Size of the next output window: one byte more than the remaining room, so
/// that "exactly at the cap" and "more was coming" can be told apart.
fn window(out: &[u8], max: usize) -> usize {
    CHUNK.min(max.saturating_sub(out.len()).saturating_add(1))
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC) && bytes.get(2).is_none_or(|&cm| cm == 8)
}

/// RFC 1950 header check: deflate method, a window of at most 32 KiB, no
/// preset dictionary, and the header checksum.
fn zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

enum GzipHeader {
    Complete(usize),
    Incomplete,
    Invalid,
}

/// Length of an RFC 1952 member header at the start of `b`.
fn gzip_header(b: &[u8]) -> GzipHeader {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;
    let prefix = b.len().min(3);
    if b[..prefix] != [0x1f, 0x8b, 0x08][..prefix] {
        return GzipHeader::Invalid;
    }
    if b.len() < 10 {
        return GzipHeader::Incomplete;
    }
    let flags = b[3];
    if flags & RESERVED != 0 {
        return GzipHeader::Invalid;
    }
    let mut pos = 10usize;
    if flags & FEXTRA != 0 {
        let Some(&[lo, hi]) = b.get(pos..pos + 2) else {
            return GzipHeader::Incomplete;
        };
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(nul) = b.get(pos..).and_then(|rest| memchr::memchr(0, rest)) else {
                return GzipHeader::Incomplete;
            };
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if pos > b.len() {
        GzipHeader::Incomplete
    } else {
        GzipHeader::Complete(pos)
    }
}

/// Decodes every gzip member in `input` (RFC 1952 allows concatenation).
/// Bytes after the last member that do not start another one are ignored,
/// as gzip(1) does. A member whose CRC or length check fails counts as
/// corrupt, so damaged data is flagged rather than passed off as complete.
fn gunzip(input: &[u8], out: &mut Vec<u8>, max: usize) -> End {
    const TRAILER: usize = 8;
    let mut pos = 0;
    loop {
        let header = match gzip_header(&input[pos..]) {
            GzipHeader::Complete(n) => n,
            GzipHeader::Incomplete => return End::InputEnded,
            GzipHeader::Invalid if pos == 0 => return End::Corrupt,
            GzipHeader::Invalid => return End::Complete { trailing: true },
        };
        pos += header;
        let member_start = out.len();
        let (end, used) = inflate(&input[pos..], false, out, max);
        if !matches!(end, End::Complete { .. }) {
            return end;
        }
        pos += used;
        // A missing trailer loses only the checksums; the data is complete.
        if let Some(trailer) = input.get(pos..pos + TRAILER) {
            let member = &out[member_start..];
            let mut crc = flate2::Crc::new();
            crc.update(member);
            // ISIZE is the length modulo 2^32, so the cast truncates on purpose.
            let size = member.len() as u32;
            if trailer[..4] != crc.sum().to_le_bytes() || trailer[4..] != size.to_le_bytes() {
                return End::Corrupt;
            }
        }
        pos = (pos + TRAILER).min(input.len());
        if pos == input.len() {
            return End::Complete { trailing: false };
        }
        if !is_gzip(&input[pos..]) {
            return End::Complete { trailing: true };
        }
    }
}

/// Inflates one deflate stream (zlib-wrapped when `zlib`), appending at most
/// `max - out.len()` bytes. Also returns how much input the stream used.
fn inflate(input: &[u8], zlib: bool, out: &mut Vec<u8>, max: usize) -> (End, usize) {
    let mut decoder = flate2::Decompress::new(zlib);
    let mut chunk = [0u8; CHUNK];
    let mut used = 0usize;
    loop {
        let want = window(out, max);
        let (in_before, out_before) = (decoder.total_in(), decoder.total_out());
        let status = decoder.decompress(
            &input[used..],
            &mut chunk[..want],
            flate2::FlushDecompress::None,
        );
        let read = usize::try_from(decoder.total_in() - in_before).unwrap_or(usize::MAX);
        let made = usize::try_from(decoder.total_out() - out_before).unwrap_or(usize::MAX);
        used = used.saturating_add(read).min(input.len());
        if push_capped(out, &chunk[..made.min(want)], max) {
            return (End::Capped, used);
        }
        match status {
            Err(_) => return (End::Corrupt, used),
            Ok(flate2::Status::StreamEnd) => {
                let trailing = used < input.len();
                return (End::Complete { trailing }, used);
            }
            Ok(flate2::Status::Ok | flate2::Status::BufError) if read == 0 && made == 0 => {
                let end = if used == input.len() {
                    End::InputEnded
                } else {
                    End::Corrupt
                };
                return (end, used);
            }
            Ok(_) => {}
        }
    }
}

fn is_zstd_frame_start(bytes: &[u8]) -> bool {
    // Skippable frames use magic numbers 0x184D2A50..=0x184D2A5F.
    bytes.starts_with(&ZSTD_MAGIC)
        || matches!(bytes, [b0, 0x2a, 0x4d, 0x18, ..] if b0 & 0xf0 == 0x50)
}

/// Decodes a sequence of zstd frames. Anything after a complete frame that
/// does not start another frame is ignored.
fn unzstd(input: &[u8], out: &mut Vec<u8>, max: usize) -> End {
    use zstd::stream::raw::{DParameter, Decoder, Operation as _};
    let Ok(mut decoder) = Decoder::new() else {
        return End::Corrupt;
    };
    if decoder
        .set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
        .is_err()
    {
        return End::Corrupt;
    }
    let mut chunk = [0u8; CHUNK];
    let mut used = 0usize;
    loop {
        let want = window(out, max);
        let Ok(status) = decoder.run_on_buffers(&input[used..], &mut chunk[..want]) else {
            return End::Corrupt;
        };
        used = used.saturating_add(status.bytes_read).min(input.len());
        let made = status.bytes_written.min(want);
        if push_capped(out, &chunk[..made], max) {
            return End::Capped;
        }
        if status.remaining == 0 {
            // A frame just ended and everything it held was flushed.
            if used == input.len() {
                return End::Complete { trailing: false };
            }
            if !is_zstd_frame_start(&input[used..]) {
                return End::Complete { trailing: true };
            }
        } else if status.bytes_read == 0 && made == 0 {
            return if used == input.len() {
                End::InputEnded
            } else {
                End::Corrupt
            };
        }
    }
}

fn unbrotli(input: &[u8], out: &mut Vec<u8>, max: usize) -> End {
    use brotli::enc::StandardAlloc;
    use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
    let mut state = BrotliState::new(
        StandardAlloc::default(),
        StandardAlloc::default(),
        StandardAlloc::default(),
    );
    // Large windows (up to 1 GiB) are an extension no HTTP encoder uses.
    state.large_window = false;
    let mut chunk = [0u8; CHUNK];
    let mut available_in = input.len();
    let mut input_offset = 0usize;
    loop {
        let want = window(out, max);
        let mut available_out = want;
        let mut output_offset = 0usize;
        let mut total_out = 0usize;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            &mut chunk[..want],
            &mut total_out,
            &mut state,
        );
        let made = output_offset.min(want);
        if push_capped(out, &chunk[..made], max) {
            return End::Capped;
        }
        match result {
            BrotliResult::ResultSuccess => {
                return End::Complete {
                    trailing: input_offset < input.len(),
                };
            }
            BrotliResult::NeedsMoreInput => return End::InputEnded,
            BrotliResult::NeedsMoreOutput if made > 0 => {}
            BrotliResult::NeedsMoreOutput | BrotliResult::ResultFailure => return End::Corrupt,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use base64::engine::general_purpose;
    use proptest::prelude::*;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    /// JSON that compresses only moderately, so a cut lands mid-stream.
    fn varied_json(entries: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut s = String::from("[");
        for i in 0..entries {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(r#"{{"id":{i},"v":"{:016x}"}}"#, state));
        }
        s.push(']');
        s.into_bytes()
    }

    /// A JSON document large enough to compress well and to notice cuts.
    fn sample_json() -> Vec<u8> {
        let mut s = String::from("[");
        for i in 0..400 {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(r#"{{"id":{i},"name":"user-{i}","active":true}}"#));
        }
        s.push(']');
        s.into_bytes()
    }

    fn compressor(name: &str) -> fn(&[u8]) -> Vec<u8> {
        match name {
            "gzip" | "x-gzip" => gzip,
            "deflate" => zlib,
            "br" => brotli,
            "zstd" => zstd,
            other => panic!("no compressor for {other}"),
        }
    }

    #[test]
    fn base64_variants_decode() {
        let payload: &[u8] = b"{\"a\":\"\xc3\xa9?>~\"}";
        let padded = general_purpose::STANDARD.encode(payload);
        let unpadded = general_purpose::STANDARD_NO_PAD.encode(payload);
        let url = general_purpose::URL_SAFE.encode(payload);
        let url_unpadded = general_purpose::URL_SAFE_NO_PAD.encode(payload);
        // Sanity: the sample exercises both alphabets and padding.
        assert!(padded.contains('+') || padded.contains('/'));
        assert!(url.contains('-') || url.contains('_'));
        assert!(padded.ends_with('='));
        let mime = general_purpose::STANDARD.encode(sample_json());
        let mime_lines: Vec<&str> = mime
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let cases: Vec<(String, Vec<u8>)> = vec![
            (padded, payload.to_vec()),
            (unpadded, payload.to_vec()),
            (url, payload.to_vec()),
            (url_unpadded, payload.to_vec()),
            (mime_lines.join("\r\n"), sample_json()),
            (mime_lines.join("\n"), sample_json()),
            (format!("{}\n", mime_lines.join("\n")), sample_json()),
            ("aGk=".to_owned(), b"hi".to_vec()),
            ("aGk".to_owned(), b"hi".to_vec()),
        ];
        for (input, expected) in cases {
            assert_eq!(
                decode_transport(&input).as_ref(),
                &expected[..],
                "input {input:?}"
            );
            assert_eq!(
                decode_base64(&input).as_deref(),
                Some(&expected[..]),
                "{input:?}"
            );
        }
    }

    #[test]
    fn binary_base64_decodes_when_unambiguous() {
        let gz = gzip(b"hello hello hello");
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        let random: Vec<u8> = (0u8..=40).map(|i| i.wrapping_mul(97) ^ 0xa5).collect();
        for bytes in [gz, png, random, vec![0x08, 0x01, 0x12, 0x03, 0xff]] {
            let encoded = general_purpose::STANDARD.encode(&bytes);
            assert_eq!(decode_transport(&encoded).as_ref(), &bytes[..], "{encoded}");
        }
    }

    #[test]
    fn raw_text_stays_raw() {
        let cases = [
            r#"{"user":"bob","id":12}"#,
            "[1,2,3]",
            "hello world, this is a plain text body",
            "true",
            "null",
            "1234",
            "12345678",
            "OK",
            "Forbidden",
            "Unauthorized",
            "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
            "123e4567-e89b-12d3-a456-426614174000",
            "<html><body>hi</body></html>",
            "a=1&b=2",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "line one\nline two is longer\n",
        ];
        for raw in cases {
            let out = decode_transport(raw);
            assert!(matches!(out, Cow::Borrowed(_)), "{raw:?} was decoded");
            assert_eq!(out.as_ref(), raw.as_bytes());
        }
        assert!(decode_transport("").is_empty());
    }

    #[test]
    fn base64_rejections() {
        let cases = [
            "aGk=aGk=",               // padding in the middle
            "aGk===",                 // too much padding
            "a",                      // impossible length
            "aGl+aGl_",               // mixed alphabets
            "aGk gaGk",               // spaces are not line breaks
            "aGVs\nbG8gd29y\nbGQ=",   // unequal line widths
            "aGVsbG8gd29y\r\r\nbGQ=", // stray CR
            "aGj=",                   // non-canonical trailing bits
            "YWJjZ\nGVmZ2\nhp",       // line width not a multiple of 4
        ];
        for s in cases {
            assert_eq!(decode_base64(s), None, "{s:?}");
        }
        assert_eq!(decode_base64(""), Some(Vec::new()));
    }

    #[test]
    fn each_format_round_trips() {
        let body = sample_json();
        for name in ["gzip", "x-gzip", "deflate", "br", "zstd", "GZIP", " br "] {
            let compressed = compressor(&name.trim().to_ascii_lowercase())(&body);
            let out = decompress(name, &compressed, 1 << 20);
            assert!(out.decoded, "{name}");
            assert!(!out.truncated, "{name}");
            assert_eq!(out.bytes.as_ref(), &body[..], "{name}");
        }
        let raw = raw_deflate(&body);
        let out = decompress("deflate", &raw, 1 << 20);
        assert!(out.decoded && !out.truncated);
        assert_eq!(out.bytes.as_ref(), &body[..]);
    }

    #[test]
    fn plain_bytes_under_a_coding_header_are_kept() {
        let json = br#"{"already":"decoded","n":1}"#;
        let binary: &[u8] = &[0x00, 0x01, 0x02, 0xff, 0xfe, 0x10, 0x20, 0x99];
        for name in [
            "gzip", "deflate", "br", "zstd", "gzip, br", "identity", "", "compress",
        ] {
            for body in [&json[..], binary, b"x^c is a letter", b"x^[1,2,3]"] {
                let out = decompress(name, body, 1 << 20);
                assert!(!out.decoded, "{name} {body:?}");
                assert!(!out.truncated, "{name}");
                assert!(matches!(out.bytes, Cow::Borrowed(_)), "{name}");
                assert_eq!(out.bytes.as_ref(), body, "{name}");
            }
        }
    }

    #[test]
    fn unsignatured_codings_need_a_clean_end() {
        let mut br = brotli(b"hello brotli");
        assert_eq!(
            decompress("br", &br, 1 << 20).bytes.as_ref(),
            b"hello brotli"
        );
        br.extend_from_slice(b"\x00\xfftrailing");
        let out = decompress("br", &br, 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &br[..]);
        let mut raw = raw_deflate(b"hello deflate");
        raw.extend_from_slice(b"\x00\xfftrailing");
        let out = decompress("deflate", &raw, 1 << 20);
        assert!(!out.decoded);
    }

    #[test]
    fn brotli_large_window_is_refused() {
        let params = brotli::enc::BrotliEncoderParams {
            large_window: true,
            lgwin: 30,
            ..Default::default()
        };
        let body = sample_json();
        let mut encoded = Vec::new();
        brotli::BrotliCompress(&mut &body[..], &mut encoded, &params).unwrap();
        let out = decompress("br", &encoded, 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &encoded[..]);
    }

    #[test]
    fn text_check_spans_cut_characters() {
        // Starts with a valid zlib header, and inflating it yields garbage.
        let mut text = b"x^c is a letter ".to_vec();
        text.resize(511, b'a');
        text.extend_from_slice("\u{e9}\u{e9} and more text".as_bytes());
        assert!(zlib_header(&text));
        let out = decompress("deflate", &text, 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &text[..]);
    }

    #[test]
    fn gzip_bomb_is_capped() {
        let zeros = vec![0u8; 10 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 64 << 10, "bomb is {} bytes", bomb.len());
        for cap_len in [0, 1, 1000, 64 << 10] {
            let out = decompress("gzip", &bomb, cap_len);
            assert!(out.decoded);
            assert!(out.truncated, "cap {cap_len}");
            assert_eq!(out.bytes.len(), cap_len);
            assert!(out.bytes.iter().all(|&b| b == 0));
            let Cow::Owned(owned) = &out.bytes else {
                panic!("decoded output is owned");
            };
            assert!(
                owned.capacity() <= cap_len.max(CHUNK),
                "capacity {}",
                owned.capacity()
            );
        }
    }

    #[test]
    fn nested_gzip_bomb_is_capped() {
        let inner = gzip(&vec![0u8; 10 << 20]);
        let outer = gzip(&inner);
        let out = decompress("gzip, gzip", &outer, 4096);
        assert!(out.decoded && out.truncated);
        assert_eq!(out.bytes.len(), 4096);
        assert!(out.bytes.iter().all(|&b| b == 0));
        // With one coding listed only one layer is undone, still capped.
        let once = decompress("gzip", &outer, 4096);
        assert!(once.bytes.len() <= 4096);
        assert!(is_gzip(&once.bytes));
    }

    #[test]
    fn zstd_and_brotli_bombs_are_capped() {
        let zeros = vec![0u8; 10 << 20];
        for (name, bomb) in [("zstd", zstd(&zeros)), ("br", brotli(&zeros))] {
            assert!(bomb.len() < 64 << 10, "{name} bomb is {} bytes", bomb.len());
            let out = decompress(name, &bomb, 10_000);
            assert!(out.decoded, "{name}");
            assert!(out.truncated, "{name}");
            assert_eq!(out.bytes.len(), 10_000, "{name}");
        }
    }

    #[test]
    fn exact_cap_is_not_truncation() {
        let body = sample_json();
        for name in ["gzip", "deflate", "br", "zstd"] {
            let compressed = compressor(name)(&body);
            let out = decompress(name, &compressed, body.len());
            assert!(!out.truncated, "{name}");
            assert_eq!(out.bytes.as_ref(), &body[..], "{name}");
            let short = decompress(name, &compressed, body.len() - 1);
            assert!(short.truncated, "{name}");
            assert_eq!(short.bytes.as_ref(), &body[..body.len() - 1], "{name}");
        }
    }

    #[test]
    fn cut_streams_yield_their_prefix() {
        // zstd only emits whole blocks (up to 128 KiB), so use several.
        let body = varied_json(20_000);
        for name in ["gzip", "deflate", "zstd"] {
            let compressed = compressor(name)(&body);
            let cut = &compressed[..compressed.len() * 2 / 3];
            let out = decompress(name, cut, 1 << 20);
            assert!(out.decoded, "{name}");
            assert!(out.truncated, "{name}");
            assert!(!out.bytes.is_empty(), "{name}");
            assert!(out.bytes.len() < body.len(), "{name}");
            assert!(body.starts_with(&out.bytes), "{name}");
        }
        // Brotli has no signature: a cut stream cannot be told from garbage.
        let br = brotli(&body);
        let out = decompress("br", &br[..br.len() / 2], 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &br[..br.len() / 2]);
    }

    #[test]
    fn gzip_cut_in_header_or_trailer() {
        let body = sample_json();
        let gz = gzip(&body);
        let header_only = decompress("gzip", &gz[..6], 1 << 20);
        assert!(header_only.decoded && header_only.truncated);
        assert!(header_only.bytes.is_empty());
        // Missing checksum trailer: the data itself is complete.
        let no_trailer = decompress("gzip", &gz[..gz.len() - 8], 1 << 20);
        assert!(no_trailer.decoded && !no_trailer.truncated);
        assert_eq!(no_trailer.bytes.as_ref(), &body[..]);
    }

    #[test]
    fn gzip_members_and_header_fields() {
        let mut two = gzip(b"first,");
        two.extend(gzip(b"second"));
        let out = decompress("gzip", &two, 1 << 20);
        assert_eq!(out.bytes.as_ref(), b"first,second");
        assert!(!out.truncated);

        let mut with_garbage = gzip(b"data");
        with_garbage.extend_from_slice(&[0, 0, 0, 0]);
        let out = decompress("gzip", &with_garbage, 1 << 20);
        assert_eq!(out.bytes.as_ref(), b"data");

        let mut named = Vec::new();
        {
            let mut e = flate2::GzBuilder::new()
                .filename("body.json")
                .comment("c")
                .extra(vec![1, 2, 3])
                .write(&mut named, flate2::Compression::fast());
            e.write_all(b"{\"named\":true}").unwrap();
            e.finish().unwrap();
        }
        let out = decompress("gzip", &named, 1 << 20);
        assert_eq!(out.bytes.as_ref(), b"{\"named\":true}");
    }

    #[test]
    fn multiple_codings_are_undone_in_reverse() {
        let body = sample_json();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("gzip, br", brotli(&gzip(&body))),
            ("br,gzip", gzip(&brotli(&body))),
            ("deflate, zstd", zstd(&zlib(&body))),
            ("identity, gzip, identity", gzip(&body)),
            // The runtime removed the outer coding only.
            ("gzip, zstd", gzip(&body)),
            // The runtime removed everything.
            ("gzip, br", body.clone()),
        ];
        for (header, bytes) in cases {
            let out = decompress(header, &bytes, 1 << 20);
            assert_eq!(out.bytes.as_ref(), &body[..], "{header}");
            assert!(!out.truncated, "{header}");
        }
    }

    #[test]
    fn cut_outer_layer_keeps_inner_prefix() {
        let body = sample_json();
        let layered = gzip(&brotli(&body));
        let out = decompress("br, gzip", &layered[..layered.len() - 12], 1 << 20);
        assert!(out.decoded && out.truncated);
        assert!(body.starts_with(&out.bytes));
        assert!(!out.bytes.is_empty());
    }

    #[test]
    fn cut_outer_layer_before_inner_output_is_an_empty_prefix() {
        let body = sample_json();
        let inners = [
            ("deflate", raw_deflate(&body)),
            ("deflate", zlib(&body)),
            ("br", brotli(&body)),
        ];
        for (name, inner) in inners {
            // A gzip layer of stored blocks, cut right after the first bytes of the inner
            // stream: too few for the inner decoder to produce anything.
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
            e.write_all(&inner).unwrap();
            let outer = e.finish().unwrap();
            let outer_cut = &outer[..10 + 5 + 3];
            let cut_layer = decompress("gzip", outer_cut, 1 << 20);
            assert_eq!(cut_layer.bytes.as_ref(), &inner[..3], "{name}");
            assert!(cut_layer.truncated, "{name}");
            let out = decompress(&format!("{name}, gzip"), outer_cut, 1 << 20);
            assert!(out.decoded && out.truncated, "{name}");
            assert!(out.bytes.is_empty(), "{name}: {:?}", out.bytes);
        }
    }

    #[test]
    fn passthrough_is_capped_too() {
        let out = decompress("", b"0123456789", 4);
        assert_eq!(out.bytes.as_ref(), b"0123");
        assert!(out.truncated && !out.decoded);
        assert_eq!(cap(b"0123456789", 4), (&b"0123"[..], true));
        assert_eq!(cap(b"0123", 4), (&b"0123"[..], false));
        assert_eq!(cap(b"", 0), (&b""[..], false));
    }

    #[test]
    fn corrupt_recognised_stream() {
        let body = sample_json();
        let mut gz = gzip(&body);
        let mid = gz.len() / 2;
        for b in &mut gz[mid..mid + 16] {
            *b ^= 0x5a;
        }
        let out = decompress("gzip", &gz, 1 << 20);
        assert!(out.bytes.len() <= 1 << 20);
        if out.decoded {
            assert!(out.truncated);
        }
        // Magic but nothing decodable: the input is kept.
        let junk = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let out = decompress("gzip", &junk, 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &junk[..]);
    }

    #[test]
    fn too_many_codings_are_bounded() {
        let body = b"quine-free payload".to_vec();
        let mut bytes = body.clone();
        for _ in 0..(MAX_CODINGS + 2) {
            bytes = gzip(&bytes);
        }
        let header = ["gzip"; MAX_CODINGS + 2].join(", ");
        let out = decompress(&header, &bytes, 1 << 20);
        assert!(out.decoded);
        // Two layers are left because only MAX_CODINGS are undone.
        assert!(is_gzip(&out.bytes));
        let once = decompress("gzip", &out.bytes, 1 << 20);
        assert!(is_gzip(&once.bytes));
        assert_eq!(
            decompress("gzip", &once.bytes, 1 << 20).bytes.as_ref(),
            &body[..]
        );
    }

    /// A single raw-block zstd frame with the given window log and no
    /// content size, so the decoder must honour the declared window.
    fn zstd_frame_with_window(window_log: u8, data: &[u8]) -> Vec<u8> {
        let mut frame = ZSTD_MAGIC.to_vec();
        frame.push(0x00); // no content size, not single-segment, no checksum
        frame.push((window_log - 10) << 3);
        let block_header = (u32::try_from(data.len()).unwrap() << 3) | 1; // raw, last
        frame.extend_from_slice(&block_header.to_le_bytes()[..3]);
        frame.extend_from_slice(data);
        frame
    }

    #[test]
    fn zstd_window_limit() {
        let small = zstd_frame_with_window(20, b"hello");
        let ok = decompress("zstd", &small, 1 << 20);
        assert!(ok.decoded && !ok.truncated);
        assert_eq!(ok.bytes.as_ref(), b"hello");
        let at_limit = zstd_frame_with_window(23, b"hello");
        assert_eq!(
            decompress("zstd", &at_limit, 1 << 20).bytes.as_ref(),
            b"hello"
        );
        let huge = zstd_frame_with_window(27, b"hello");
        let out = decompress("zstd", &huge, 1 << 20);
        assert!(!out.decoded);
        assert_eq!(out.bytes.as_ref(), &huge[..]);
    }

    #[test]
    fn zstd_concatenated_frames() {
        let mut two = zstd(b"first,");
        two.extend(zstd(b"second"));
        let out = decompress("zstd", &two, 1 << 20);
        assert_eq!(out.bytes.as_ref(), b"first,second");
        assert!(!out.truncated);
        let mut with_garbage = zstd(b"data");
        with_garbage.extend_from_slice(b"\0\0junk");
        let out = decompress("zstd", &with_garbage, 1 << 20);
        assert_eq!(out.bytes.as_ref(), b"data");
        assert!(!out.truncated);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            header in prop::sample::select(vec!["gzip", "deflate", "br", "zstd", "gzip, br, zstd, deflate"]),
            max in 0usize..1024,
        ) {
            let out = decompress(header, &bytes, max);
            prop_assert!(out.bytes.len() <= max);
        }

        #[test]
        fn magic_prefixed_garbage_never_panics(
            tail in proptest::collection::vec(any::<u8>(), 0..256),
            which in 0usize..3,
            max in 0usize..4096,
        ) {
            let (header, prefix): (&str, &[u8]) = match which {
                0 => ("gzip", &[0x1f, 0x8b, 0x08]),
                1 => ("zstd", &ZSTD_MAGIC),
                _ => ("deflate", &[0x78, 0x9c]),
            };
            let bytes = [prefix, &tail[..]].concat();
            let out = decompress(header, &bytes, max);
            prop_assert!(out.bytes.len() <= max);
        }

        #[test]
        fn damaged_streams_stay_capped(
            flips in prop::collection::vec((0usize..4096, any::<u8>()), 1..6),
            which in 0usize..4,
            max in 0usize..20_000,
        ) {
            let name = ["gzip", "deflate", "br", "zstd"][which];
            let mut bytes = compressor(name)(&sample_json());
            for (at, mask) in flips {
                let at = at % bytes.len();
                bytes[at] ^= mask;
            }
            let out = decompress(name, &bytes, max);
            prop_assert!(out.bytes.len() <= max);
        }

        #[test]
        fn any_prefix_of_a_real_stream_is_safe(cut in 0usize..2000, which in 0usize..4) {
            let name = ["gzip", "deflate", "br", "zstd"][which];
            let body = sample_json();
            let full = compressor(name)(&body);
            let cut = cut.min(full.len());
            let out = decompress(name, &full[..cut], 1 << 20);
            if out.decoded {
                prop_assert!(body.starts_with(&out.bytes));
                if out.bytes.len() < body.len() {
                    prop_assert!(out.truncated);
                }
                if !out.truncated {
                    prop_assert_eq!(out.bytes.as_ref(), &body[..]);
                }
            }
        }

        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..300), url in any::<bool>(), pad in any::<bool>()) {
            let engine = match (url, pad) {
                (false, true) => general_purpose::STANDARD,
                (false, false) => general_purpose::STANDARD_NO_PAD,
                (true, true) => general_purpose::URL_SAFE,
                (true, false) => general_purpose::URL_SAFE_NO_PAD,
            };
            let encoded = engine.encode(&bytes);
            prop_assert_eq!(decode_base64(&encoded), Some(bytes));
        }

        #[test]
        fn decode_transport_never_panics(s in "\\PC{0,64}") {
            let out = decode_transport(&s);
            if matches!(out, Cow::Borrowed(_)) {
                prop_assert_eq!(out.as_ref(), s.as_bytes());
            }
        }
    }
}
