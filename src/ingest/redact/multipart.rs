//! Multipart bodies: the content of parts whose name is secret; JSON parts as JSON.

use super::credentials::*;
use super::names::*;
use super::*;

impl Redactor {
    pub(super) fn redact_multipart(&self, boundary: &[u8], body: &[u8]) -> Option<Vec<u8>> {
        let finder = memchr::memmem::Finder::new(boundary);
        let mut w = Rewriter::new(body);
        let mut delimiter = find_delimiter(&finder, body, 0)?;
        loop {
            let after = delimiter + 2 + boundary.len();
            if body.get(after..after + 2) == Some(b"--") {
                break;
            }
            let Some(line_end) = memchr::memchr(b'\n', &body[after..]) else {
                break;
            };
            let Some(head) = part_head(body, after + line_end + 1) else {
                break;
            };
            let start = head.content_start;
            let next = find_delimiter(&finder, body, start);
            let end = next.map_or(body.len(), |d| line_start_before(body, d).max(start));
            let content = &body[start..end];
            if !content.is_empty() {
                let verdict = head.name.map_or(Verdict::Plain, |n| {
                    self.param_verdict(&Folded::plain(n), true)
                });
                let secret = verdict.redacts_strings()
                    || (verdict == Verdict::Plain && find_jwt(content, next.is_none()).is_some());
                if secret {
                    if content != REDACTED.as_bytes() {
                        w.replace(start, end, REDACTED.as_bytes());
                    }
                } else if head.json
                    && verdict != Verdict::Exempt
                    && let Some(redacted) = self.redact_json(content)
                {
                    w.replace(start, end, &redacted);
                }
            }
            match next {
                Some(d) => delimiter = d,
                None => break,
            }
        }
        w.finish()
    }
}

/// The boundary taken from a body that starts with a `--boundary` line.
pub(super) fn sniff_boundary(body: &[u8]) -> Option<&str> {
    let rest = body.strip_prefix(b"--")?;
    let line = &rest[..memchr::memchr(b'\n', rest)?];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let boundary = std::str::from_utf8(line).ok()?.trim_end();
    (!boundary.is_empty() && boundary.len() <= 200).then_some(boundary)
}

/// Index of the `--` of the next `--boundary` that starts a line, at or
/// after `from`.
pub(super) fn find_delimiter(
    finder: &memchr::memmem::Finder<'_>,
    body: &[u8],
    from: usize,
) -> Option<usize> {
    let haystack = body.get(from..)?;
    finder.find_iter(haystack).find_map(|k| {
        let at = (from + k).checked_sub(2)?;
        let line_start = at == 0 || body[at - 1] == b'\n';
        (at >= from && line_start && &body[at..at + 2] == b"--").then_some(at)
    })
}

/// The end of a part's content: the line break before the delimiter belongs
/// to the delimiter.
pub(super) fn line_start_before(body: &[u8], delimiter: usize) -> usize {
    if delimiter >= 2 && &body[delimiter - 2..delimiter] == b"\r\n" {
        delimiter - 2
    } else if delimiter >= 1 && body[delimiter - 1] == b'\n' {
        delimiter - 1
    } else {
        delimiter
    }
}

/// What a part's headers tell us.
pub(super) struct PartHead<'a> {
    pub(super) name: Option<&'a [u8]>,
    pub(super) json: bool,
    pub(super) content_start: usize,
}

/// Reads part headers starting at `from`; `None` if they do not end (the
/// body was cut before the part's content began).
pub(super) fn part_head(body: &[u8], from: usize) -> Option<PartHead<'_>> {
    let mut pos = from;
    let mut head = PartHead {
        name: None,
        json: false,
        content_start: 0,
    };
    loop {
        let line_end = pos + memchr::memchr(b'\n', body.get(pos..)?)?;
        let line = &body[pos..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = line_end + 1;
        if line.is_empty() {
            head.content_start = pos;
            return Some(head);
        }
        if let Some(value) = header_value(line, b"content-disposition") {
            head.name = disposition_name(value);
        } else if let Some(value) = header_value(line, b"content-type") {
            let value = String::from_utf8_lossy(value);
            head.json = contains_ignore_case(media_type(&value), "json");
        }
    }
}

pub(super) fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = &line[name.len()..];
    let colon = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (rest[colon] == b':').then(|| &rest[colon + 1..])
}

/// The `name` parameter of a `Content-Disposition` value (not `filename`).
pub(super) fn disposition_name(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'"' {
            i += 1 + memchr::memchr(b'"', &value[i + 1..]).unwrap_or(value.len());
            i += 1;
            continue;
        }
        let boundary = i == 0 || matches!(value[i - 1], b';' | b' ' | b'\t');
        if boundary
            && value
                .get(i..i + 4)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"name"))
        {
            let mut j = i + 4;
            while value.get(j).is_some_and(|b| *b == b' ' || *b == b'\t') {
                j += 1;
            }
            if value.get(j) == Some(&b'=') {
                j += 1;
                while value.get(j).is_some_and(|b| *b == b' ' || *b == b'\t') {
                    j += 1;
                }
                if value.get(j) == Some(&b'"') {
                    let rest = &value[j + 1..];
                    return Some(&rest[..memchr::memchr(b'"', rest).unwrap_or(rest.len())]);
                }
                let rest = &value[j..];
                let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
                return Some(rest[..end].trim_ascii());
            }
        }
        i += 1;
    }
    None
}
