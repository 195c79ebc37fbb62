//! Classification of one path segment: a typed value (a parameter at once), a protected literal
//! (never a parameter) or an unprotected literal (a parameter only when the cardinality merge in
//! `discovery::merge` sees many of them at one position).
//!
//! [`classify`] takes the segment as it appears in a normalized path, that is still
//! percent-encoded: it decodes `%XX` sequences itself before looking at the text (so `%40me` is
//! `@me` and `alice%40example.com` is an e-mail address). Invalid escapes are kept as they are.
//!
//! The rules, in the order they are tried:
//! 1. built-in literals (`me`, `@me`, `self`, `current`, `new`, `search`, `list`, `all`, `latest`,
//!    `count`, `export`, …), `api`/`rest`/`graphql` and versions (`v1`, `v2beta1`, `V3`, `1.0`,
//!    `2.1.0`) are protected;
//! 2. typed values become parameters: integers, decimal numbers (a dotted pair of short numbers
//!    such as `1.5` is taken for a version instead), date-times, dates, UUIDs (any version, with or
//!    without dashes), ULIDs, ObjectIds, hexadecimal strings (16 characters or more, or 8 or more
//!    with digits and letters), e-mail addresses, IPv4 and IPv6 addresses, prefixed IDs
//!    (`cus_8fJ2kLq9`, `ord-88231`, `SKU-88231`) and random-looking tokens (base64 with padding,
//!    digits scattered among letters, case flipping with no word in it, long high-entropy text);
//!    a typed value followed by a file extension (`123.json`) is typed too;
//! 3. English words and compounds of words (`notification_preferences`, `IncomingPhoneNumbers`,
//!    `check-runs`, `index.html`, `oauth2`) are protected; the vocabulary is an embedded list of
//!    about 40,000 common English words plus a short list of API terms (see `words/`);
//! 4. anything else (`alice`, `octocat`, `hello-wrld`) is an unprotected literal.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// The type of a path parameter, from the values seen at its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamType {
    /// Decimal digits, optionally signed: `123`.
    Integer,
    /// A decimal number: `3.14159`, `-0.25`.
    Number,
    /// A UUID of any version, with or without dashes.
    Uuid,
    /// A hexadecimal string: a hash, a commit id.
    Hex,
    /// A 24-character hexadecimal MongoDB ObjectId.
    ObjectId,
    /// A ULID: 26 characters of Crockford base32.
    Ulid,
    /// A calendar date: `2024-05-01`.
    Date,
    /// A date and time: `2024-05-01T10:00:00Z`.
    DateTime,
    /// An e-mail address.
    Email,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An identifier made of a short prefix and a body: `cus_8fJ2kLq9`, `SKU-88231`.
    PrefixedId,
    /// A random-looking token: base64, mixed letters and digits.
    Token,
    /// Free text: a slug or a name, promoted to a parameter by the cardinality merge or a rule.
    String,
}

impl ParamType {
    /// Every type, in declaration order.
    pub const ALL: [ParamType; 14] = [
        ParamType::Integer,
        ParamType::Number,
        ParamType::Uuid,
        ParamType::Hex,
        ParamType::ObjectId,
        ParamType::Ulid,
        ParamType::Date,
        ParamType::DateTime,
        ParamType::Email,
        ParamType::Ipv4,
        ParamType::Ipv6,
        ParamType::PrefixedId,
        ParamType::Token,
        ParamType::String,
    ];

    /// The OpenAPI schema `type`: `"integer"`, `"number"` or `"string"`.
    pub fn openapi_type(self) -> &'static str {
        match self {
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            _ => "string",
        }
    }

    /// The OpenAPI schema `format`, where OpenAPI or JSON Schema defines one.
    pub fn format(self) -> Option<&'static str> {
        match self {
            ParamType::Integer => Some("int64"),
            ParamType::Number => Some("double"),
            ParamType::Uuid => Some("uuid"),
            ParamType::Date => Some("date"),
            ParamType::DateTime => Some("date-time"),
            ParamType::Email => Some("email"),
            ParamType::Ipv4 => Some("ipv4"),
            ParamType::Ipv6 => Some("ipv6"),
            ParamType::Hex
            | ParamType::ObjectId
            | ParamType::Ulid
            | ParamType::PrefixedId
            | ParamType::Token
            | ParamType::String => None,
        }
    }

    /// A short stable name: `"integer"`, `"uuid"`, `"prefixed-id"`, … (the inverse of
    /// [`ParamType::from_name`]); used in annotated templates such as `{userId:integer}`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Uuid => "uuid",
            ParamType::Hex => "hex",
            ParamType::ObjectId => "objectid",
            ParamType::Ulid => "ulid",
            ParamType::Date => "date",
            ParamType::DateTime => "date-time",
            ParamType::Email => "email",
            ParamType::Ipv4 => "ipv4",
            ParamType::Ipv6 => "ipv6",
            ParamType::PrefixedId => "prefixed-id",
            ParamType::Token => "token",
            ParamType::String => "string",
        }
    }

    /// The type named by [`ParamType::as_str`].
    pub fn from_name(name: &str) -> Option<ParamType> {
        ParamType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether values of this type identify a record (an id), as opposed to a date, an address or
    /// free text; such parameters are named after their collection (`{orderId}`).
    pub fn is_identifier(self) -> bool {
        matches!(
            self,
            ParamType::Integer
                | ParamType::Uuid
                | ParamType::Hex
                | ParamType::ObjectId
                | ParamType::Ulid
                | ParamType::PrefixedId
                | ParamType::Token
        )
    }

    /// The type of a parameter that takes values of both types.
    pub fn unify(self, other: ParamType) -> ParamType {
        match (self, other) {
            (a, b) if a == b => a,
            (ParamType::Integer, ParamType::Number) | (ParamType::Number, ParamType::Integer) => {
                ParamType::Number
            }
            (ParamType::Hex, ParamType::ObjectId) | (ParamType::ObjectId, ParamType::Hex) => {
                ParamType::Hex
            }
            (ParamType::Date, ParamType::DateTime) | (ParamType::DateTime, ParamType::Date) => {
                ParamType::DateTime
            }
            _ => ParamType::String,
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one path segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentClass {
    /// An unprotected literal (`alice`, `octocat`): stays literal, but may become a parameter when
    /// many distinct ones share a position (the cardinality merge).
    Literal,
    /// A version, `api`/`rest`, a built-in literal (`me`, `search`, `latest`…) or English words:
    /// never a parameter by itself.
    Protected,
    /// A typed value: a parameter at once.
    Param(ParamType),
}

/// Why a segment is what it is; finer than [`SegmentClass`], for the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A built-in literal such as `me` or `search`.
    Builtin,
    /// `api`, `rest`, `graphql`…
    ApiPrefix,
    /// `v1`, `v2beta1`, `1.0`.
    Version,
    /// English words.
    Word,
    /// A typed value.
    Typed(ParamType),
    /// Anything else.
    Literal,
}

impl Kind {
    pub(crate) fn class(self) -> SegmentClass {
        match self {
            Kind::Builtin | Kind::ApiPrefix | Kind::Version | Kind::Word => SegmentClass::Protected,
            Kind::Typed(t) => SegmentClass::Param(t),
            Kind::Literal => SegmentClass::Literal,
        }
    }
}

/// Classifies one path segment as it appears in a normalized (still percent-encoded) path; see
/// the module documentation for the rules.
pub fn classify(segment: &str) -> SegmentClass {
    kind(segment).class()
}

/// [`classify`] with the reason for protection kept.
pub(crate) fn kind(segment: &str) -> Kind {
    let decoded = percent_decode(segment);
    kind_decoded(&decoded)
}

fn kind_decoded(s: &str) -> Kind {
    if s.is_empty() {
        return Kind::Literal;
    }
    // Longer text is none of the built-in literals or prefixes (the longest has 12 bytes).
    let mut buffer = [0u8; 16];
    if let Some(lower) = ascii_lowercase_in(s, &mut buffer) {
        if BUILTIN_LITERALS.contains(&lower) {
            return Kind::Builtin;
        }
        if API_PREFIXES.contains(&lower) {
            return Kind::ApiPrefix;
        }
    }
    if is_version(s) {
        return Kind::Version;
    }
    if let Some(t) = typed(s) {
        return Kind::Typed(t);
    }
    if let Some((stem, _suffix)) = split_suffix(s)
        && let Some(t) = typed(stem)
    {
        return Kind::Typed(t);
    }
    if is_words(s) {
        return Kind::Word;
    }
    Kind::Literal
}

/// Literals that are never parameters, whatever surrounds them: they name a fixed resource next to
/// a parameter (`/users/me` next to `/users/{userId}`).
const BUILTIN_LITERALS: &[&str] = &[
    "me",
    "@me",
    "my",
    "mine",
    "self",
    "current",
    "new",
    "search",
    "list",
    "all",
    "latest",
    "count",
    "export",
    "import",
    "default",
    "first",
    "last",
    "next",
    "previous",
    "prev",
    "recent",
    "random",
    "batch",
    "bulk",
    "find",
    "lookup",
    "query",
    "filter",
    "suggest",
    "autocomplete",
    "validate",
    "verify",
    "preview",
    "settings",
    "stats",
    "summary",
    "status",
    "health",
    "ping",
    "info",
    "version",
    "versions",
    "schema",
    "metadata",
    "config",
    "public",
    "private",
    "owned",
    "starred",
    "shared",
    "archived",
    "deleted",
    "active",
    "pending",
    "upcoming",
    "today",
    "popular",
    "trending",
    "featured",
    "options",
    "exists",
    "login",
    "logout",
    "signup",
    "refresh",
    "revoke",
    "callback",
    "upload",
    "download",
    "sync",
];

/// Prefixes that mark the start of an API rather than a resource.
const API_PREFIXES: &[&str] = &[
    "api", "apis", "rest", "restapi", "graphql", "rpc", "jsonrpc", "xmlrpc", "odata",
];

/// `v1`, `V2`, `v2beta1`, `v1alpha`, `v1p1beta1`, `v1.2`, `v2_1`, `1.0`, `2.1.0`.
pub(crate) fn is_version(s: &str) -> bool {
    let b = s.as_bytes();
    if (b.first() == Some(&b'v') || b.first() == Some(&b'V'))
        && b.get(1).is_some_and(u8::is_ascii_digit)
    {
        let rest = &s[1..];
        // Date versions: `v20190101`, `v2019-01-01`.
        if is_compact_date(rest) || parse_date(rest).is_some_and(|len| len == rest.len()) {
            return true;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 4 {
            return false;
        }
        let tail = &rest[digits..];
        // v1, v1.2, v1.2.3, v2_1
        if tail.is_empty()
            || (tail.len() > 1
                && matches!(tail.as_bytes()[0], b'.' | b'_')
                && tail[1..].split(['.', '_']).all(|p| {
                    !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit())
                }))
        {
            return true;
        }
        // v2beta1, v1alpha, v3rc2, v1-beta, and Google's point releases v1p1beta1: one or two
        // tags, each with a short number.
        let mut tail = tail.strip_prefix('-').unwrap_or(tail);
        for _ in 0..2 {
            let letters = tail.bytes().take_while(u8::is_ascii_lowercase).count();
            let tag = &tail[..letters];
            if !matches!(
                tag,
                "alpha" | "beta" | "rc" | "preview" | "dev" | "p" | "b" | "a"
            ) {
                return false;
            }
            let number = tail[letters..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if number > 3 {
                return false;
            }
            tail = &tail[letters + number..];
            if tail.is_empty() {
                return true;
            }
        }
        return false;
    }
    is_dotted_version(s)
}

/// `20190101`: eight digits that read as a plausible calendar date (years 1990–2099).
fn is_compact_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let number = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    (1990..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// `1.0`, `2.1`, `2.1.0`: two or three dotted numbers of at most three digits.
fn is_dotted_version(s: &str) -> bool {
    let mut parts = 0;
    for p in s.split('.') {
        parts += 1;
        if parts > 3 || p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    parts >= 2
}

/// A date or a small number that stands for an API version when it opens a path
/// (`/2010-04-01/Accounts`, `/2/files`, `/rest/api/3/issue`).
pub(crate) fn is_version_like_at_start(segment: &str) -> bool {
    let s = percent_decode(segment);
    is_version(&s)
        || parse_date(&s).is_some_and(|len| len == s.len())
        || (!s.is_empty() && s.len() <= 3 && s.bytes().all(|c| c.is_ascii_digit()))
}

/// The constant suffix of a segment whose stem (not the whole text) is a typed value: `.json` for
/// `123.json`, `:cancel` for `8f2kLq9Xw3:cancel`, `None` for `123`, `1.5.0` or `index.html`.
pub(crate) fn typed_suffix(segment: &str) -> Option<&str> {
    let decoded = percent_decode(segment);
    if typed(&decoded).is_some() {
        return None;
    }
    let (stem, _) = split_suffix(&decoded)?;
    typed(stem)?;
    split_suffix(segment).map(|(_, suffix)| suffix)
}

/// Splits a segment into a stem and a constant suffix: a custom method (`:cancel`,
/// `:batchGet`, as Google's APIs write them) or else a file extension (`.json`). The suffix keeps
/// its separator.
pub(crate) fn split_suffix(s: &str) -> Option<(&str, &str)> {
    if let Some((stem, _)) = split_verb(s) {
        return Some((stem, &s[stem.len()..]));
    }
    split_extension(s).map(|(stem, _)| (stem, &s[stem.len()..]))
}

/// `abc123:cancel` → (`abc123`, `cancel`): a custom method after a resource, letters only,
/// starting lowercase (`:setIamPolicy`); the stem holds no other colon.
pub(crate) fn split_verb(s: &str) -> Option<(&str, &str)> {
    let (stem, verb) = s.rsplit_once(':')?;
    let ok = !stem.is_empty()
        && !stem.contains(':')
        && verb.len() >= 2
        && verb.as_bytes()[0].is_ascii_lowercase()
        && verb.bytes().all(|c| c.is_ascii_alphabetic());
    ok.then_some((stem, verb))
}

/// The type of a value, if it has one.
fn typed(s: &str) -> Option<ParamType> {
    let b = s.as_bytes();
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|c| c.is_ascii_digit()) {
        return Some(ParamType::Integer);
    }
    if is_number(s) {
        return Some(ParamType::Number);
    }
    if let Some(len) = parse_date(s) {
        if len == s.len() {
            return Some(ParamType::Date);
        }
        if is_time_suffix(&s[len..]) {
            return Some(ParamType::DateTime);
        }
    }
    if is_dashed_uuid(s) {
        return Some(ParamType::Uuid);
    }
    let all_hex = !b.is_empty() && b.iter().all(u8::is_ascii_hexdigit);
    let one_case = !(b.iter().any(u8::is_ascii_lowercase) && b.iter().any(u8::is_ascii_uppercase));
    if all_hex && one_case {
        if b.len() == 24 {
            return Some(ParamType::ObjectId);
        }
        if b.len() == 32 && is_uuid_bits(b) {
            return Some(ParamType::Uuid);
        }
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        if b.len() >= 16 || (b.len() >= 7 && digits >= 2 && digits < b.len()) {
            return Some(ParamType::Hex);
        }
    }
    if is_ulid(b) {
        return Some(ParamType::Ulid);
    }
    if is_email(s) {
        return Some(ParamType::Email);
    }
    if s.contains('.') && s.parse::<Ipv4Addr>().is_ok() {
        return Some(ParamType::Ipv4);
    }
    if s.contains(':') && s.parse::<Ipv6Addr>().is_ok() {
        return Some(ParamType::Ipv6);
    }
    if is_prefixed_id(s) {
        return Some(ParamType::PrefixedId);
    }
    if is_token(s) {
        return Some(ParamType::Token);
    }
    if is_numeric_code(s) {
        return Some(ParamType::Token);
    }
    None
}

/// `3.14159`, `-0.5`, `1e10`: a number that is not a short dotted version.
fn is_number(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return false;
    }
    if let Some(e) = exponent
        && !digits(e.strip_prefix(['-', '+']).unwrap_or(e))
    {
        return false;
    }
    // A short positive dotted pair without exponent reads as a version: `1.5`, `2.0`.
    !(s == unsigned && exponent.is_none() && is_dotted_version(s))
}

/// The length of a leading `YYYY-MM-DD` with a plausible month and day.
fn parse_date(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    let year = s[0..4].parse::<u32>().ok()?;
    let month = s[5..7].parse::<u32>().ok()?;
    let day = s[8..10].parse::<u32>().ok()?;
    ((1000..=2999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day))
        .then_some(10)
}

/// `T10:00`, `T10:00:00Z`, `T10:00:00.123+02:00`, ` 10:00:00` after a date.
fn is_time_suffix(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 6 || !matches!(b[0], b'T' | b't' | b' ' | b'_') {
        return false;
    }
    let b = &b[1..];
    let two = |i: usize| b.len() >= i + 2 && b[i].is_ascii_digit() && b[i + 1].is_ascii_digit();
    if !(two(0) && b.get(2) == Some(&b':') && two(3)) {
        return false;
    }
    let mut i = 5;
    if b.get(i) == Some(&b':') && two(i + 1) {
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            i += n;
        }
    }
    let zone = &b[i..];
    match zone {
        [] | [b'Z'] | [b'z'] => true,
        [b'+' | b'-', rest @ ..] => {
            let mut digits = rest.iter().filter(|&&c| c != b':');
            let len = digits.clone().count();
            (len == 2 || len == 4) && digits.all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn is_dashed_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A 32-digit hexadecimal string whose version and variant digits are those of a UUID.
fn is_uuid_bits(b: &[u8]) -> bool {
    matches!(b[12], b'1'..=b'8') && matches!(b[16].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

fn is_ulid(b: &[u8]) -> bool {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    b.len() == 26
        && matches!(b[0], b'0'..=b'7')
        && b.iter()
            .all(|c| CROCKFORD.contains(&c.to_ascii_uppercase()))
        && (b.iter().all(|c| !c.is_ascii_lowercase()) || b.iter().all(|c| !c.is_ascii_uppercase()))
        && b.iter().filter(|c| c.is_ascii_digit()).count() >= 4
        && b.iter().any(u8::is_ascii_alphabetic)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._%+-'".contains(&c));
    // At least two labels, all valid, the last a top-level domain.
    let domain_ok = domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// `cus_8fJ2kLq9`, `ord-88231`, `SKU-88231`, `ch_1Hh1aB2eZvKYlo2C`, `acct_1032D82eZvKYlo2C`,
/// `attachment-8572459742233`, `core-network-0a1b2c3d4e`.
fn is_prefixed_id(s: &str) -> bool {
    // A prefix of one or more words before a long number or hex run (AWS-style ids): eight
    // digits or more are no name's version (`release-2024`, `sprint-42` are names).
    if let Some(sep) = s.rfind(['-', '_']) {
        let (prefix, body) = (&s[..sep], &s[sep + 1..]);
        let words = !prefix.is_empty()
            && prefix
                .bytes()
                .all(|c| c.is_ascii_alphabetic() || c == b'-' || c == b'_')
            && prefix
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic());
        let digits = body.bytes().filter(u8::is_ascii_digit).count();
        let long_run = body.len() >= 8
            && body.bytes().all(|c| c.is_ascii_hexdigit())
            && (digits == body.len() || digits >= 2);
        if words && long_run {
            return true;
        }
    }
    let Some(sep) = s.find(['_', '-']) else {
        return false;
    };
    let (prefix, body) = (&s[..sep], &s[sep + 1..]);
    if prefix.is_empty()
        || prefix.len() > 12
        || !prefix.bytes().all(|c| c.is_ascii_alphabetic())
        || body.is_empty()
        || !body.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    if digits == body.len() {
        // `ord-88231`, `SKU-88231`; `release-2024` and `sprint-42` are names.
        return body.len() >= 4 && prefix.len() <= 5;
    }
    let hexish = body.len() >= 8 && body.bytes().all(|c| c.is_ascii_hexdigit()) && digits >= 2;
    hexish || is_token(body) || (body.len() >= 6 && digits >= 2 && letter_digit_runs(body) >= 3)
}

/// How many maximal runs of letters and of digits: `abc123` has 2, `a1b2` has 4.
fn letter_digit_runs(s: &str) -> usize {
    let mut runs = 0;
    let mut last = None;
    for c in s.chars() {
        let class = if c.is_ascii_digit() {
            Some(0)
        } else if c.is_alphabetic() {
            Some(1)
        } else {
            None
        };
        if class.is_some() && class != last {
            runs += 1;
        }
        last = class;
    }
    runs
}

/// A random-looking token: base64 with padding, digits scattered among letters, case flipping
/// that spells no words, or long text with high entropy.
fn is_token(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 6 {
        return false;
    }
    // Padded base64: `dGVzdA==`.
    if b.len() >= 8 && b.len().is_multiple_of(4) && s.ends_with('=') {
        let body = s.trim_end_matches('=');
        if s.len() - body.len() <= 2
            && body
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+/-_".contains(&c))
        {
            return true;
        }
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b"-_+~".contains(c))
    {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = letters - upper;
    if letters == 0 {
        return false;
    }
    // One pass over the pieces: the letters in alphabetic pieces, in those that are words (of
    // two letters or more), in words of three letters or more, and how many alphabetic pieces.
    let (mut alpha_chars, mut word_chars, mut long_word_chars, mut alpha_parts) = (0, 0, 0, 0);
    for p in word_parts(s) {
        if !p.chars().all(char::is_alphabetic) {
            continue;
        }
        alpha_chars += p.len();
        alpha_parts += 1;
        if p.len() >= 2 && is_word(p) {
            word_chars += p.len();
            if p.len() >= 3 {
                long_word_chars += p.len();
            }
        }
    }
    let wordy = alpha_chars > 0 && word_chars * 10 >= alpha_chars * 7;
    // Digits among letters (Akto's "alphanumeric id"): at least three digits, split into several
    // runs or next to letters that are not words: `a1b2c3d4`, `8fJ2kLq9`, `x7k9p2`.
    if digits >= 3 && letters >= 1 && b.len() >= 6 {
        let runs = letter_digit_runs(s);
        if runs >= 4 || (!wordy && runs >= 2) {
            return true;
        }
    }
    if b.len() < 8 {
        return false;
    }
    // Letter-heavy generated ids: a digit or two inside long runs of letters that are not
    // words (`Phn4uqzk1seu`, `OGF5KHIO1qWA`, `SJY6ZQZU5QTV`). Words of three letters or more
    // make the text a name (`ipv4address`, `oauth2callback`).
    let few_words = long_word_chars * 10 < alpha_chars * 3;
    if b.len() >= 10
        && b.iter().all(u8::is_ascii_alphanumeric)
        && digits >= 1
        && digits * 2 <= b.len()
        && letter_digit_runs(s) >= 3
        && few_words
    {
        return true;
    }
    // Case flipping with short pieces that are not words: `aZbQxRtYkP`, `QwErTyUiOpAs` (pieces
    // of two letters say nothing about words: `Er`, `As`).
    if upper >= 3
        && lower >= 3
        && (!wordy || few_words)
        && alpha_parts > 0
        && alpha_chars / alpha_parts < 3
    {
        return true;
    }
    // Mixed-case alphanumerics with digits or few vowels and no words: `dQw4w9WgXcQ`,
    // `NrvpOWnppwrpSv`.
    if b.len() >= 10 && upper >= 2 && lower >= 2 && !wordy {
        let vowels = b.iter().filter(|c| b"aeiouAEIOU".contains(c)).count();
        if digits >= 1 || vowels * 10 < letters * 3 {
            return true;
        }
    }
    // Long text mixing character classes with high entropy and few words.
    let classes = usize::from(digits > 0) + usize::from(upper > 0) + usize::from(lower > 0);
    b.len() >= 16 && classes >= 2 && !wordy && entropy(b) >= 3.5 && (digits > 0 || upper > 1)
}

/// Digits with separators that are not a date, a version or an address: `555-0100`, `12-34-56`.
fn is_numeric_code(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    digits >= 4
        && s.bytes()
            .all(|c| c.is_ascii_digit() || b"-_.:+".contains(&c))
        && s.as_bytes()[0].is_ascii_digit()
}

/// Shannon entropy in bits per character.
fn entropy(b: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &c in b {
        counts[usize::from(c)] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Splits `name.ext` where `ext` is a short file extension: 1 to 5 alphanumeric characters with a
/// letter first (`json`, `xml`, `html`, `mp4`).
pub(crate) fn split_extension(s: &str) -> Option<(&str, &str)> {
    let (stem, ext) = s.rsplit_once('.')?;
    let ok = !stem.is_empty()
        && (1..=5).contains(&ext.len())
        && ext.as_bytes()[0].is_ascii_alphabetic()
        && ext.bytes().all(|c| c.is_ascii_alphanumeric());
    ok.then_some((stem, ext))
}

/// Splits text into lowercase-insensitive pieces at separators, case changes
/// (`IncomingPhoneNumbers`, `HTTPServer`) and letter/digit boundaries.
fn word_parts(s: &str) -> WordParts<'_> {
    WordParts {
        chunks: s.split(is_separator as fn(char) -> bool),
        chunk: "",
    }
}

fn is_separator(c: char) -> bool {
    !c.is_alphanumeric()
}

/// The pieces of [`word_parts`], found one at a time.
#[derive(Clone)]
struct WordParts<'a> {
    /// The alphanumeric runs not reached yet.
    chunks: std::str::Split<'a, fn(char) -> bool>,
    /// What is left of the current run; it starts a piece.
    chunk: &'a str,
}

impl<'a> Iterator for WordParts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while self.chunk.is_empty() {
            self.chunk = self.chunks.next()?;
        }
        let chunk = self.chunk;
        let mut chars = chunk.char_indices().peekable();
        let (_, mut prev) = chars.next()?;
        while let Some((pos, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase()
                    && c.is_uppercase()
                    && next.is_some_and(char::is_lowercase))
                || (prev.is_ascii_digit() != c.is_ascii_digit());
            if boundary {
                self.chunk = &chunk[pos..];
                return Some(&chunk[..pos]);
            }
            prev = c;
        }
        self.chunk = "";
        Some(chunk)
    }
}

/// Whether the segment is made of English words (and short numbers between them):
/// `notification_preferences`, `IncomingPhoneNumbers`, `oauth2`, `index.html`, `copy_v2`.
pub(crate) fn is_words(s: &str) -> bool {
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~ +".contains(c))
    {
        return false;
    }
    let mut parts = word_parts(s).peekable();
    let mut words = 0;
    // Short pieces outside the dictionary (`Dfs`, `Lineups`, `Stats`): a name of several words
    // (`DfsSlatesByDate`, `StartingLineupsByDate`) may hold an abbreviation or a word the
    // dictionary lacks; a value does not read as three words or more.
    let mut unknown = 0;
    while let Some(part) = parts.next() {
        if part.bytes().all(|c| c.is_ascii_digit()) {
            if part.len() > 4 {
                return false;
            }
            continue;
        }
        // `v2` inside a compound (`copy_v2`).
        let version = (part == "v" || part == "V")
            && parts
                .peek()
                .is_some_and(|n| n.bytes().all(|c| c.is_ascii_digit()));
        if version {
            continue;
        }
        if is_word(part) {
            words += 1;
        } else if part.len() <= MAX_UNKNOWN_PART && part.bytes().all(|c| c.is_ascii_alphabetic()) {
            unknown += 1;
        } else {
            return false;
        }
    }
    words > 0 && (unknown == 0 || (words >= 3 && unknown * 3 <= words))
}

/// Longest piece outside the dictionary that a name of several words may hold (see
/// [`is_words`]).
const MAX_UNKNOWN_PART: usize = 7;

/// Whether one piece is a dictionary word or an API term (a plural of an API term counts).
pub(crate) fn is_word(part: &str) -> bool {
    let mut buffer = [0u8; 64];
    match ascii_lowercase_in(part, &mut buffer) {
        Some(lower) => is_lowercase_word(lower),
        None => is_lowercase_word(&part.to_ascii_lowercase()),
    }
}

fn is_lowercase_word(lower: &str) -> bool {
    let dict = dictionary();
    if dict.english.contains(lower) || dict.terms.contains(lower) {
        return true;
    }
    let singular = lower
        .strip_suffix("es")
        .filter(|s| s.ends_with(['s', 'x', 'z']) || s.ends_with("ch") || s.ends_with("sh"))
        .or_else(|| lower.strip_suffix('s'));
    singular.is_some_and(|s| dict.terms.contains(s))
}

/// `s` lower-cased as [`str::to_ascii_lowercase`] does, written into `buffer`; `None` when it
/// does not fit.
fn ascii_lowercase_in<'b>(s: &str, buffer: &'b mut [u8]) -> Option<&'b str> {
    let out = buffer.get_mut(..s.len())?;
    out.copy_from_slice(s.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

struct Dictionary {
    english: HashSet<&'static str, WordHash>,
    terms: HashSet<&'static str, WordHash>,
}

/// The dictionary's hash: its sets are fixed and looked up with short words on every new path,
/// where the standard library's DoS-resistant hash costs more than the lookup itself.
type WordHash = BuildHasherDefault<WordHasher>;

/// A multiply-rotate hash over eight bytes at a time (the scheme of rustc's `FxHasher`).
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        // The multiplication mixes into the high bits; hash tables index with the low ones.
        self.0.rotate_left(26)
    }
}

const ENGLISH_WORDS: &str = include_str!("words/english.txt");
const API_TERMS: &str = include_str!("words/api-terms.txt");

fn dictionary() -> &'static Dictionary {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        let lines = |text: &'static str| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect::<HashSet<_, WordHash>>()
        };
        Dictionary {
            english: lines(ENGLISH_WORDS),
            terms: lines(API_TERMS),
        }
    })
}

/// Decodes `%XX` escapes; invalid escapes are kept, invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('%') {
        return std::borrow::Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| {
                char::from(c)
                    .to_digit(16)
                    .and_then(|d| u8::try_from(d).ok())
            };
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SegmentClass = SegmentClass::Protected;
    const L: SegmentClass = SegmentClass::Literal;
    const INT: SegmentClass = SegmentClass::Param(ParamType::Integer);
    const NUM: SegmentClass = SegmentClass::Param(ParamType::Number);
    const UUID: SegmentClass = SegmentClass::Param(ParamType::Uuid);
    const HEX: SegmentClass = SegmentClass::Param(ParamType::Hex);
    const OID: SegmentClass = SegmentClass::Param(ParamType::ObjectId);
    const ULID: SegmentClass = SegmentClass::Param(ParamType::Ulid);
    const DATE: SegmentClass = SegmentClass::Param(ParamType::Date);
    const DT: SegmentClass = SegmentClass::Param(ParamType::DateTime);
    const EMAIL: SegmentClass = SegmentClass::Param(ParamType::Email);
    const IP4: SegmentClass = SegmentClass::Param(ParamType::Ipv4);
    const IP6: SegmentClass = SegmentClass::Param(ParamType::Ipv6);
    const PID: SegmentClass = SegmentClass::Param(ParamType::PrefixedId);
    const TOK: SegmentClass = SegmentClass::Param(ParamType::Token);

    #[test]
    fn letter_heavy_ids_are_tokens() {
        for id in [
            "QwErTyUiOpAs",
            "Phn4uqzk1seu",
            "OGF5KHIO1qWA",
            "SJY6ZQZU5QTV",
            "NPv3FETW7EVV",
        ] {
            assert_eq!(classify(id), TOK, "{id}");
        }
        // Names with digits and real words stay what they were.
        for name in [
            "ipv4address",
            "oauth2callback",
            "IncomingPhoneNumbers",
            "Accounts",
        ] {
            assert_ne!(classify(name), TOK, "{name}");
        }
        assert_ne!(classify(""), TOK);
        assert_ne!(classify("a1"), TOK);
    }

    #[test]
    fn names_of_several_words_may_hold_an_abbreviation() {
        for name in [
            "DfsSlatesByDate",
            "StartingLineupsByDate",
            "PlayerSeasonProjectionStatsByTeam",
            "get_user_stats_by_id",
        ] {
            assert!(is_words(name), "{name}");
        }
        // Too few words around the unknown piece, too many unknown pieces, or one too long.
        for value in [
            "DfsSlates",
            "XyzQvkByDate",
            "QwErTyUiOpAs",
            "acme-zorblax",
            "PlayerZorblaxicon",
            "ByDateQ7",
        ] {
            assert!(!is_words(value), "{value}");
        }
    }

    #[test]
    fn date_versions_are_constants() {
        for v in ["v20190101", "V20231130", "v2019-01-01"] {
            assert!(is_version(v), "{v}");
            assert_eq!(classify(v), P, "{v}");
        }
        // Not a date: a month 13, or too many digits.
        assert!(!is_version("v20191301"));
        assert!(!is_version("v201901011"));
        assert!(!is_compact_date(""));
    }

    /// The traps of the issue and a few hundred more.
    const TABLE: &[(&str, SegmentClass)] = &[
        // Traps.
        ("v2", P),
        ("2024-05-01", DATE),
        ("facade", P),
        ("decade", P),
        ("notification_preferences", P),
        ("me", P),
        ("SKU-88231", PID),
        ("alice", L),
        ("dGVzdA==", TOK),
        ("aGVsbG8gd29ybGQ=", TOK),
        ("deadbeefdeadbeef", HEX),
        ("123", INT),
        ("1.5", P),
        ("index.html", P),
        ("@me", P),
        ("%40me", P),
        // Versions.
        ("v1", P),
        ("V1", P),
        ("v3", P),
        ("v10", P),
        ("v2beta1", P),
        ("v1beta", P),
        ("v1alpha", P),
        ("v1alpha2", P),
        ("v3rc2", P),
        ("v1.2", P),
        ("v1.2.3", P),
        ("v2_1", P),
        ("v1-beta", P),
        ("v1p1beta1", P),
        ("v3p1beta1", P),
        ("v1p2alpha", P),
        ("1.0", P),
        ("2.0", P),
        ("3.1", P),
        ("2.1.0", P),
        ("10.4.1", P),
        // API prefixes and built-in literals.
        ("api", P),
        ("API", P),
        ("rest", P),
        ("graphql", P),
        ("restapi", P),
        ("self", P),
        ("current", P),
        ("new", P),
        ("search", P),
        ("list", P),
        ("all", P),
        ("latest", P),
        ("count", P),
        ("export", P),
        ("import", P),
        ("mine", P),
        ("my", P),
        ("default", P),
        ("batch", P),
        ("bulk", P),
        ("lookup", P),
        ("autocomplete", P),
        ("preview", P),
        ("settings", P),
        ("status", P),
        ("health", P),
        ("metadata", P),
        ("public", P),
        ("starred", P),
        ("upcoming", P),
        // English words and compounds.
        ("users", P),
        ("orders", P),
        ("customers", P),
        ("categories", P),
        ("addresses", P),
        ("people", P),
        ("repos", P),
        ("orgs", P),
        ("webhooks", P),
        ("issues", P),
        ("pulls", P),
        ("comments", P),
        ("followers", P),
        ("following", P),
        ("favourite", P),
        ("color", P),
        ("colour", P),
        ("payment_intents", P),
        ("check-runs", P),
        ("check_suites", P),
        ("IncomingPhoneNumbers", P),
        ("AvailablePhoneNumbers", P),
        ("Accounts", P),
        ("chat.postMessage", P),
        ("users.list", P),
        ("conversations.history", P),
        ("oauth2", P),
        ("copy_v2", P),
        ("list_folder", P),
        ("hello%20world", P),
        ("hello-world", P),
        ("top-100", P),
        ("sha256", P),
        ("report.pdf", P),
        ("robots.txt", P),
        ("Local.json", P),
        ("bob", P),
        ("feed", P),
        ("dead", P),
        ("beef", P),
        ("bead", P),
        ("added", P),
        ("faced", P),
        ("accede", P),
        ("defaced", P),
        ("effaced", L),
        ("login", P),
        ("signup", P),
        ("timeline", P),
        ("playlists", P),
        ("getUserProfile", P),
        ("HTTPServer", P),
        ("vulnerability-alerts", P),
        ("private-vulnerability-reporting", P),
        ("interaction-limits", P),
        ("registration-token", P),
        ("remove-token", P),
        ("tarball", P),
        ("zipball", P),
        ("readme", P),
        ("codespaces", P),
        ("ssh_signing_keys", P),
        ("gpg_keys", P),
        ("docker-credentials", P),
        ("garbage-collection", P),
        ("create_from_calculation", P),
        ("instance_sizes", P),
        ("defaultValue", P),
        ("issuetype", L),
        ("terminate_sessions", P),
        ("upload_sessions", P),
        ("shield_information_barriers", P),
        // Unprotected literals: names, handles, slugs.
        ("octocat", L),
        ("torvalds", L),
        ("jdoe", L),
        ("gaearon", L),
        ("sindresorhus", L),
        ("user12345", L),
        ("john_smith42", L),
        ("hello-wrld", L),
        ("my-repo-xyz", L),
        ("dotfiles", L),
        ("rust-lang", L),
        ("deadbeef", L),
        ("tok_visa", L),
        ("utf-8", L),
        ("acme-corp", L),
        ("ACME", L),
        ("alice.smith", L),
        ("x", L),
        ("kubernetes", L),
        ("tokio", L),
        ("serde_json", L),
        ("ffmpeg", L),
        ("nginx", L),
        // Integers and numbers.
        ("0", INT),
        ("1", INT),
        ("42", INT),
        ("007", INT),
        ("1234567", INT),
        ("9999999999", INT),
        ("-5", INT),
        ("20240501", INT),
        ("1700000000000", INT),
        ("3.14159", NUM),
        ("-0.5", NUM),
        ("51.5074", NUM),
        ("-0.1278", NUM),
        ("2.5e3", NUM),
        ("1234.56", NUM),
        // UUIDs, hex, ObjectIds, ULIDs.
        ("550e8400-e29b-41d4-a716-446655440000", UUID),
        ("550E8400-E29B-41D4-A716-446655440000", UUID),
        ("00000000-0000-0000-0000-000000000000", UUID),
        ("6fd4ff89-8fc1-42cf-8b29-1890dedd26d7", UUID),
        ("01890a5d-ac96-774b-bcce-b302099a8057", UUID),
        ("550e8400e29b41d4a716446655440000", UUID),
        ("d41d8cd98f00b204e9800998ecf8427e", HEX),
        ("0123456789abcdef", HEX),
        ("DEADBEEFDEADBEEF", HEX),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", HEX),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            HEX,
        ),
        ("a1b2c3d4", HEX),
        ("abc1234", HEX),
        ("3f9e2c1", HEX),
        ("507f1f77bcf86cd799439011", OID),
        ("5f8d0d55b54764421b7156c9", OID),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", ULID),
        ("01h9x7k2m3n4p5q6r7s8t9v0w1", ULID),
        // Dates and date-times.
        ("1999-12-31", DATE),
        ("2010-04-01", DATE),
        ("2024-05-01T10:00:00Z", DT),
        ("2024-05-01T10:00Z", DT),
        ("2024-05-01T10:00:00.123+02:00", DT),
        ("2024-05-01T10:00:00-0500", DT),
        ("2024-05-01T10%3A00%3A00Z", DT),
        ("2024-05-01%2010:00:00", DT),
        // E-mail and IP addresses.
        ("alice@example.com", EMAIL),
        ("alice%40example.com", EMAIL),
        ("first.last+tag@sub.example.co.uk", EMAIL),
        ("192.168.1.1", IP4),
        ("10.0.0.255", IP4),
        ("8.8.8.8", IP4),
        ("::1", IP6),
        ("2001:db8::1", IP6),
        ("2001%3Adb8%3A%3A1", IP6),
        ("fe80::1ff:fe23:4567:890a", IP6),
        // Prefixed ids.
        ("cus_8fJ2kLq9", PID),
        ("ord-88231", PID),
        ("ch_1Hh1aB2eZvKYlo2C", PID),
        ("acct_1032D82eZvKYlo2C", PID),
        ("pi_3MtwBwLkdIwHu7ix28a3tqPa", PID),
        ("in_1MtHbELkdIwHu7ixl4OzzPMv", PID),
        ("inv-2024", PID),
        ("usr_01h9x7k2", PID),
        ("INC-10042", PID),
        ("PROJ-1234", PID),
        ("txn_5d8f9a7b3c", PID),
        ("proj_NrvpOWnppwrpSv", PID),
        ("obj_nejbyelI6bFnoq", PID),
        ("release-2024", P),
        ("contract-2024", P),
        ("hotfix-1234", P),
        ("rls-2024", PID),
        ("attachment-8572459742233", PID),
        ("core-network-6134465819", PID),
        ("core-network-0a1b2c3d4e", PID),
        // Tokens.
        ("8fJ2kLq9", TOK),
        ("x7k9p2q4", TOK),
        ("aZbQxRtYkP", TOK),
        ("eyJhbGciOiJIUzI1NiJ9", TOK),
        ("AC0123456789abcdef0123456789abcdef", TOK),
        ("Zm9vYmFyYmF6cXV4", TOK),
        ("a8F-3kLm_9QzX2", TOK),
        ("555-0100", TOK),
        ("q1w2e3", TOK),
        ("dQw4w9WgXcQ", TOK),
        ("gGH3vtbu0ftb", TOK),
        // More resources, actions and vocabulary.
        ("accounts", P),
        ("invoices", P),
        ("subscriptions", P),
        ("charges", P),
        ("refunds", P),
        ("disputes", P),
        ("payouts", P),
        ("products", P),
        ("prices", P),
        ("coupons", P),
        ("projects", P),
        ("tasks", P),
        ("workspaces", P),
        ("teams", P),
        ("members", P),
        ("memberships", P),
        ("collaborators", P),
        ("branches", P),
        ("commits", P),
        ("releases", P),
        ("tags", P),
        ("labels", P),
        ("milestones", P),
        ("hooks", P),
        ("keys", P),
        ("deployments", P),
        ("environments", P),
        ("secrets", P),
        ("variables", P),
        ("artifacts", P),
        ("runners", P),
        ("workflows", P),
        ("droplets", P),
        ("volumes", P),
        ("snapshots", P),
        ("regions", P),
        ("sizes", P),
        ("images", P),
        ("domains", P),
        ("records", P),
        ("certificates", P),
        ("firewalls", P),
        ("playlists", P),
        ("tracks", P),
        ("albums", P),
        ("artists", P),
        ("player", P),
        ("devices", P),
        ("recommendations", P),
        ("folders", P),
        ("files", P),
        ("collaborations", P),
        ("comments", P),
        ("thumbnail.png", P),
        ("content", P),
        ("versions", P),
        ("trash", P),
        ("addFollowers", P),
        ("removeMembers", P),
        ("setParent", P),
        ("duplicate", P),
        ("saveAsTemplate", P),
        ("postMessage", P),
        ("reactions.add", P),
        ("files.upload", P),
        ("admin.users.list", P),
        ("tax_ids", P),
        ("bank_accounts", P),
        ("external_accounts", P),
        ("login_links", P),
        ("required_status_checks", P),
        ("enforce_admins", P),
        ("dependency-graph", P),
        ("merge-upstream", P),
        ("dispatches", P),
        ("pages", P),
        ("traffic", P),
        ("clones", P),
        ("popular", P),
        ("referrers", P),
        ("insights", P),
        ("IncomingPhoneNumbers.json", P),
        ("Calls.json", P),
        ("Recordings", P),
        ("Conferences", P),
        ("Participants", P),
        ("issuetypescreenscheme", L),
        ("fieldconfigurationscheme", L),
        ("jql", L),
        // More values.
        ("12", INT),
        ("99", INT),
        ("100000", INT),
        ("18446744073709551615", INT),
        ("0.1278", NUM),
        ("45.5017", NUM),
        ("c9a646d3-9c61-4cb7-bfcd-ee2522c8f633", UUID),
        ("C9A646D39C614CB7BFCDEE2522C8F633", UUID),
        ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", UUID),
        (
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            HEX,
        ),
        ("1a2b3c4d5e6f7a8b", HEX),
        ("000000000000000000000000", INT),
        ("01HZX3Y7Q8W9E0R1T2Y3U4I5O6", TOK),
        ("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", L),
        ("2023-02-28", DATE),
        ("2023-13-01", TOK),
        ("bob@example.io", EMAIL),
        ("not@an", L),
        ("255.255.255.255", IP4),
        ("1.2.3", P),
        ("cus_NffrFeUfNV2Hib", PID),
        ("sub_1MowQVLkdIwHu7ixeRlqHVzs", PID),
        ("evt_1NG8Du2eZvKYlo2CUI79vXWy", PID),
        ("prod_NWjs8kKbJWmuuc", PID),
        ("ORD-2024-0001", TOK),
        ("a1b2c3", TOK),
        ("XyZ12aBc", TOK),
        // Typed values with a file extension.
        ("123.json", INT),
        ("550e8400-e29b-41d4-a716-446655440000.xml", UUID),
        ("AC0123456789abcdef0123456789abcdef.json", TOK),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for &(segment, expected) in TABLE {
            let got = classify(segment);
            if got != expected {
                failures.push(format!("{segment:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(TABLE.len() >= 250, "{}", TABLE.len());
    }
}
