//! Credentials in headers (`Authorization` keeps its scheme), cookies (names and attributes
//! kept) and JWTs anywhere in text.

use std::sync::LazyLock;

use super::names::*;
use super::*;

/// `eyJ` is base64url for `{"`, the start of every JWT header. The searcher
/// is built once: building one per call costs more than searching a header.
pub(super) static JWT_START: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"eyJ"));

pub(super) fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Length of a JWT (or JWE) at the start of `s`, which begins with `eyJ`
/// (base64url of `{"`): a header segment of at least 10 characters, a dot, a
/// payload of at least 2, a dot, then anything base64url or dotted. With
/// `allow_cut`, a token cut inside its payload at the end of `s` counts too.
pub(super) fn jwt_len(s: &[u8], allow_cut: bool) -> Option<usize> {
    let header = s.iter().take_while(|&&b| is_base64url(b)).count();
    if header < 10 || s.get(header) != Some(&b'.') {
        return None;
    }
    let rest = &s[header + 1..];
    let payload = rest.iter().take_while(|&&b| is_base64url(b)).count();
    if allow_cut && payload == rest.len() {
        return Some(s.len());
    }
    if payload < 2 || rest.get(payload) != Some(&b'.') {
        return None;
    }
    let mut end = header + 1 + payload + 1;
    end += s[end..]
        .iter()
        .take_while(|&&b| is_base64url(b) || b == b'.')
        .count();
    Some(end)
}

/// The span of the first JWT in `s`.
pub(super) fn find_jwt(s: &[u8], allow_cut: bool) -> Option<(usize, usize)> {
    JWT_START.find_iter(s).find_map(|pos| {
        if pos > 0 && is_base64url(s[pos - 1]) {
            return None;
        }
        jwt_len(&s[pos..], allow_cut).map(|len| (pos, pos + len))
    })
}

pub(super) fn has_jwt(s: &[u8]) -> bool {
    find_jwt(s, false).is_some()
}

/// Replaces every JWT in a text body, including one cut at the end.
pub(super) fn redact_jwt_spans(body: &[u8]) -> Option<Vec<u8>> {
    let mut w = Rewriter::new(body);
    let mut from = 0;
    while let Some((start, end)) = find_jwt(&body[from..], true) {
        w.replace(from + start, from + end, REDACTED.as_bytes());
        from += end;
    }
    w.finish()
}

/// `Authorization`-style values: keep a plausible scheme name, drop the rest.
pub(super) fn redact_credentials(value: &str) -> String {
    let v = value.trim();
    let marker = |credential: &str| {
        let c = credential.trim().as_bytes();
        if c == REDACTED_JWT.as_bytes()
            || find_jwt(c, false).is_some_and(|(start, end)| start == 0 && end == c.len())
        {
            REDACTED_JWT
        } else {
            REDACTED
        }
    };
    if let Some((scheme, rest)) = v.split_once([' ', '\t']) {
        let is_scheme = (1..=32).contains(&scheme.len())
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.bytes().all(is_tchar);
        if is_scheme && !rest.trim().is_empty() {
            return format!("{scheme} {}", marker(rest));
        }
    }
    marker(v).to_owned()
}

/// RFC 9110 token characters.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Redacts cookie values, keeping names, separators and (for `Set-Cookie`)
/// attributes. Segments are split on `;` and `,`, which also handles several
/// `Set-Cookie` values folded into one header; a quoted value may contain
/// either separator.
pub(super) fn redact_cookies(value: &str, set_cookie: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let mut w = Rewriter::new(bytes);
    let mut start = 0;
    let mut first = true;
    while start < bytes.len() {
        let lead = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let name_start = start + lead;
        let eq = bytes[name_start..]
            .iter()
            .position(|&b| matches!(b, b'=' | b';' | b','))
            .map(|p| name_start + p)
            .filter(|&p| bytes[p] == b'=');
        // Where the value starts, and where it ends (quotes respected).
        let value_start = eq.map_or(name_start, |p| p + 1);
        let mut scan = value_start;
        let ws = bytes[scan..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if bytes.get(scan + ws) == Some(&b'"') {
            scan = memchr::memchr(b'"', &bytes[scan + ws + 1..])
                .map_or(bytes.len(), |q| scan + ws + 1 + q + 1);
        }
        let end = memchr::memchr2(b';', b',', &bytes[scan..]).map_or(bytes.len(), |p| scan + p);
        let is_cookie = match eq {
            Some(p) => {
                let name = String::from_utf8_lossy(&bytes[name_start..p]);
                let name = name.trim();
                !set_cookie
                    || first
                    || !COOKIE_ATTRIBUTES
                        .iter()
                        .any(|a| name.eq_ignore_ascii_case(a))
            }
            // A nameless value in a Cookie header, or the first segment of a
            // Set-Cookie; later ones are flags or the rest of an Expires date.
            None => !set_cookie || first,
        };
        let has_value = bytes[value_start..end]
            .iter()
            .any(|b| !b.is_ascii_whitespace());
        if name_start < end {
            if is_cookie && has_value {
                w.replace(value_start, end, REDACTED.as_bytes());
            }
            first = false;
        }
        start = end + 1;
    }
    w.finish_string()
}
