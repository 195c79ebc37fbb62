//! Secrets out before anything is stored.
//!
//! Mirrored traffic carries credentials: `Authorization` headers, session
//! cookies, `?access_token=` parameters, passwords in login bodies, JWTs in
//! token responses. None of that may reach storage, logs or the generated
//! specs, so every header, query string and body passes through a
//! [`Redactor`] first. Redaction is on by default.
//!
//! Redaction replaces *values* and keeps *structure*: names of headers,
//! parameters, cookies and JSON keys stay, JSON values keep their type, and
//! everything that is not secret is kept byte for byte. That keeps the
//! stored exchanges useful for reconstructing API specs.
//!
//! The redactor sits on the ingest hot path, so it uses no regular
//! expressions, precomputes its name tables once, and does not allocate when
//! there is nothing to redact.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The text that replaces a secret value, so readers of stored data can tell
/// a redacted value from a real one.
pub const REDACTED: &str = "<redacted>";

/// The JSON string that replaces a secret string value.
const REDACTED_JSON: &[u8] = b"\"<redacted>\"";

/// Longest folded name compared exactly; longer names are treated as secret
/// (nobody names an ordinary field with 128+ characters, and being wrong
/// that way only costs an example value).
const NAME_CAP: usize = 128;

/// What gets redacted, as read from the server configuration.
///
/// The built-in name lists (see [`Redactor`]) always apply unless a name is
/// listed in one of the `exempt_*` lists; the other lists only add names.
/// Names are compared case-insensitively with `_`, `-`, `.` and spaces
/// ignored, so `X-Api-Key`, `x_api_key` and `xapikey` are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionConfig {
    /// Master switch. When off, nothing is redacted: only for deployments
    /// whose traffic is known to carry no secrets.
    pub enabled: bool,
    /// Extra header names whose whole value is a secret (API-key style).
    pub headers: Vec<String>,
    /// Extra query parameter names (exact names) whose values are secret.
    /// Also applied to form and multipart fields.
    pub query_params: Vec<String>,
    /// Extra body field name fragments: a JSON key (or form field) is
    /// secret when its folded name *contains* one of these, like the
    /// built-in fragments.
    pub body_fields: Vec<String>,
    /// Header names never redacted, even if built-in rules match them. Use
    /// for a header that only looks secret (say `x-session-region`).
    pub exempt_headers: Vec<String>,
    /// Query parameter names never redacted by the built-in rules (say `code`
    /// when it is a country code rather than an OAuth code).
    pub exempt_query_params: Vec<String>,
    /// JSON keys (exact folded names) never redacted by the built-in rules.
    pub exempt_body_fields: Vec<String>,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            headers: Vec::new(),
            query_params: Vec::new(),
            body_fields: Vec::new(),
            exempt_headers: Vec::new(),
            exempt_query_params: Vec::new(),
            exempt_body_fields: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Built-in name lists. All entries are folded: lower case, no `_ - . space`.
// ---------------------------------------------------------------------------

/// Headers that are secret by exact name (beyond what the fragments catch).
const HEADER_EXACT: &[&str] = &[
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "key",
    "xkey",
    "xauth",
    "xhoneycombteam",
    "xsentryauth",
    "xamznoidcdata",
    "xwpnonce",
];

/// Header names containing one of these are secret: `x-api-key`,
/// `x-auth-token`, `ocp-apim-subscription-key`, `cf-access-client-secret`,
/// `x-goog-iap-jwt-assertion`, `x-csrf-token`, ...
const HEADER_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "apikey",
    "password",
    "passwd",
    "passcode",
    "credential",
    "session",
    "sessid",
    "signature",
    "authorization",
    "authkey",
    "accesskey",
    "privatekey",
    "subscriptionkey",
    "licensekey",
    "applicationkey",
    "appkey",
    "clientkey",
    "masterkey",
    "adminkey",
    "functionskey",
    "csrf",
    "xsrf",
    "cookie",
    "jwt",
    "bearer",
    "assertion",
];

/// Headers that match a fragment but carry nothing secret.
const HEADER_BENIGN: &[&str] = &["accesscontrolallowcredentials"];

/// Field names (JSON keys, query and form parameters) that are secret only
/// as a whole name: as fragments they would match ordinary words (`pin` in
/// `pinned`, `ssn` in `businessName`, `otp` in `footprint`).
const FIELD_EXACT: &[&str] = &[
    "key", "pin", "otp", "ssn", "pan", "sid", "session", "auth", "pass", "pw", "salt",
];

/// Query and form parameters that are secret by exact name: OAuth codes,
/// URL signatures, CAS tickets, SAML messages.
const QUERY_EXACT: &[&str] = &[
    "code",
    "sig",
    "ticket",
    "assertion",
    "hmac",
    "samlresponse",
    "samlrequest",
];

/// Field names containing one of these are secret, whatever the value's
/// type: `password`, `newPassword`, `client_secret`, `x-api-key`,
/// `credentials`, `card_number`, `cvv2`, ...
const FIELD_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "secret",
    "apikey",
    "authorization",
    "authkey",
    "authcode",
    "credential",
    "privatekey",
    "accesskey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "sessionkey",
    "sessionid",
    "sessid",
    "cookie",
    "bearer",
    "jwt",
    "signature",
    "cardnumber",
    "creditcard",
    "ccnumber",
    "cvv",
    "cvc",
    "securitycode",
    "socialsecurity",
    "mnemonic",
    "seedphrase",
    "recoverycode",
    "backupcode",
    "verificationcode",
    "otpcode",
    "mfacode",
    "totp",
];

/// Field names containing one of these have their *string* values redacted
/// but keep numbers: `access_token` and `refresh_token` hold strings, while
/// `max_tokens` and `total_tokens` (LLM APIs) are counts worth keeping.
const FIELD_STRING_FRAGMENTS: &[&str] = &["token"];

/// Field names that match a fragment but carry nothing secret. `token_type`
/// is `Bearer` in every OAuth token response, and useful for specs.
const FIELD_BENIGN: &[&str] = &["tokentype"];

/// Set-Cookie attributes (RFC 6265 and older) that are kept verbatim.
const COOKIE_ATTRIBUTES: &[&str] = &[
    "expires",
    "max-age",
    "domain",
    "path",
    "secure",
    "httponly",
    "samesite",
    "partitioned",
    "priority",
    "version",
    "comment",
    "commenturl",
    "port",
    "discard",
];

/// How secret a name says its value is. Ordered: a stronger verdict wins
/// when several rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// Nothing known; values are still checked for JWTs.
    Plain,
    /// Configured as not secret: kept as is, no JWT check either.
    Exempt,
    /// Redact string values only.
    Strings,
    /// Redact every scalar value.
    All,
}

impl Verdict {
    fn redacts_strings(self) -> bool {
        self >= Self::Strings
    }
}

/// A name folded for matching into a fixed buffer, so matching never
/// allocates.
struct Folded {
    buf: [u8; NAME_CAP],
    len: usize,
    overflow: bool,
}

impl Folded {
    fn empty() -> Self {
        Self {
            buf: [0; NAME_CAP],
            len: 0,
            overflow: false,
        }
    }

    fn push(&mut self, b: u8) {
        if matches!(b, b'_' | b'-' | b'.' | b' ' | b'\t') {
            return;
        }
        if self.len == NAME_CAP {
            self.overflow = true;
        } else {
            self.buf[self.len] = b.to_ascii_lowercase();
            self.len += 1;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// A header, multipart or configured name.
    fn plain(name: &[u8]) -> Self {
        let mut f = Self::empty();
        for &b in name {
            f.push(b);
        }
        f
    }

    /// A query or form name: `+` is a space and `%XX` is decoded, so
    /// `access%5Ftoken` is `access_token`.
    fn percent_decoded(name: &[u8]) -> Self {
        let mut f = Self::empty();
        let mut i = 0;
        while i < name.len() {
            match name[i] {
                b'+' => f.push(b' '),
                b'%' => {
                    if let Some(byte) = name.get(i + 1..i + 3).and_then(hex_pair) {
                        f.push(byte);
                        i += 2;
                    } else {
                        f.push(b'%');
                    }
                }
                b => f.push(b),
            }
            i += 1;
        }
        f
    }

    /// The raw bytes between the quotes of a JSON key, escapes decoded, so
    /// `pass\u0077ord` is `password`. Non-ASCII escapes become a byte that
    /// no rule contains.
    fn json_key(raw: &[u8]) -> Self {
        let mut f = Self::empty();
        let mut i = 0;
        while i < raw.len() {
            let b = raw[i];
            if b != b'\\' {
                f.push(b);
                i += 1;
                continue;
            }
            match raw.get(i + 1) {
                Some(b'u') => {
                    let code = raw.get(i + 2..i + 6).and_then(|h| {
                        let hi = hex_pair(&h[..2])?;
                        let lo = hex_pair(&h[2..])?;
                        Some(u16::from_be_bytes([hi, lo]))
                    });
                    match code {
                        Some(c) => {
                            f.push(u8::try_from(c).ok().filter(u8::is_ascii).unwrap_or(0xff));
                            i += 6;
                        }
                        None => break,
                    }
                }
                Some(&e) => {
                    f.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        other => other,
                    });
                    i += 2;
                }
                None => break,
            }
        }
        f
    }
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    match pair {
        [h, l] => u8::try_from(digit(*h)? * 16 + digit(*l)?).ok(),
        _ => None,
    }
}

fn fold_owned(name: &str) -> Box<[u8]> {
    name.bytes()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' ' | b'\t'))
        .map(|b| b.to_ascii_lowercase())
        .collect()
}

/// Substring matcher for a set of name fragments, grouped by first byte so
/// each position of a name is checked against only the fragments that can
/// start there.
#[derive(Debug)]
struct Fragments {
    /// `first[b]` is 1 + the index in `groups` of fragments starting with `b`.
    first: [u16; 256],
    groups: Vec<Vec<Box<[u8]>>>,
}

impl Fragments {
    fn new<I: IntoIterator<Item = Box<[u8]>>>(fragments: I) -> Self {
        let mut first = [0u16; 256];
        let mut groups: Vec<Vec<Box<[u8]>>> = Vec::new();
        for fragment in fragments {
            let Some(&b) = fragment.first() else { continue };
            let slot = &mut first[usize::from(b)];
            if *slot == 0 {
                groups.push(Vec::new());
                *slot = u16::try_from(groups.len()).unwrap_or(u16::MAX);
            }
            if let Some(group) = groups.get_mut(usize::from(*slot) - 1) {
                group.push(fragment);
            }
        }
        Self { first, groups }
    }

    fn found_in(&self, name: &[u8]) -> bool {
        if self.groups.is_empty() {
            return false;
        }
        name.iter().enumerate().any(|(i, &b)| {
            let slot = self.first[usize::from(b)];
            slot != 0
                && self.groups[usize::from(slot) - 1]
                    .iter()
                    .any(|f| name[i..].starts_with(f))
        })
    }
}

fn set_of(names: &[&str]) -> HashSet<Box<[u8]>> {
    names.iter().map(|n| fold_owned(n)).collect()
}

fn fragments_of(names: &[&str]) -> Fragments {
    Fragments::new(names.iter().map(|n| fold_owned(n)))
}

fn configured(names: &[String]) -> impl Iterator<Item = Box<[u8]>> + '_ {
    names.iter().map(|n| fold_owned(n)).filter(|n| !n.is_empty())
}

/// The rules for one kind of name, in order of precedence.
#[derive(Debug)]
struct NameRules {
    /// Configured additions: always secret.
    forced_exact: HashSet<Box<[u8]>>,
    forced_fragments: Fragments,
    /// Configured exemptions and built-in benign names.
    exempt: HashSet<Box<[u8]>>,
    /// Built-in rules.
    exact: HashSet<Box<[u8]>>,
    fragments: Fragments,
    string_fragments: Fragments,
}

impl NameRules {
    fn classify(&self, name: &Folded) -> Verdict {
        if name.overflow {
            return Verdict::All;
        }
        let n = name.as_bytes();
        if n.is_empty() {
            Verdict::Plain
        } else if self.forced_exact.contains(n) || self.forced_fragments.found_in(n) {
            Verdict::All
        } else if self.exempt.contains(n) {
            Verdict::Exempt
        } else if self.exact.contains(n) || self.fragments.found_in(n) {
            Verdict::All
        } else if self.string_fragments.found_in(n) {
            Verdict::Strings
        } else {
            Verdict::Plain
        }
    }
}

/// Replaces secrets in headers, query strings and bodies.
///
/// Built from a [`RedactionConfig`] once and shared (it is immutable, so an
/// `Arc<Redactor>` serves every request). Every method returns `None` when
/// the input can be stored as it is, and `Some(replacement)` otherwise.
///
/// Built-in rules, on folded names (lower case, `_ - .` and spaces removed):
///
/// * **Headers**: `Authorization`, `Proxy-Authorization`, `Cookie`,
///   `Set-Cookie`, and names containing `token`, `secret`, `apikey`,
///   `password`, `credential`, `session`, `signature`, `csrf`/`xsrf`, `jwt`,
///   `assertion`, `authkey`, `accesskey`, `subscriptionkey`, ... Any other
///   header whose value contains a JWT is redacted whole; `Location`,
///   `Content-Location` and `Referer` get their query and fragment
///   parameters redacted like query strings.
/// * **Query, form and multipart fields**: the field rules below, plus the
///   exact names `code`, `sig`, `ticket`, `assertion`, `hmac`,
///   `SAMLResponse`, `SAMLRequest`; values containing a JWT are redacted.
/// * **JSON keys**: names containing `password`, `passwd`, `secret`,
///   `apikey`, `authorization`, `credential`, `privatekey`, `accesskey`,
///   `cookie`, `signature`, `jwt`, `cardnumber`, `creditcard`, `cvv`, `cvc`,
///   `mnemonic`, ... (every scalar redacted); names containing `token` (only
///   strings redacted, so `max_tokens: 512` survives); exact names `key`,
///   `pin`, `otp`, `ssn`, `pan`, `sid`, `session`, `auth`, `pass`, `pw`,
///   `salt`. `token_type` is not secret. Any JSON string value that contains
///   a JWT is redacted whatever its key, since tokens turn up under keys
///   nobody can list in advance (`data`, `result`, `value`).
#[derive(Debug)]
pub struct Redactor {
    enabled: bool,
    headers: NameRules,
    query: NameRules,
    fields: NameRules,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(&RedactionConfig::default())
    }
}

impl Redactor {
    /// Builds the lookup tables for `config`, so the per-record methods only
    /// do lookups.
    pub fn new(config: &RedactionConfig) -> Self {
        let no_fragments = || Fragments::new(std::iter::empty());
        let mut header_exempt = set_of(HEADER_BENIGN);
        header_exempt.extend(configured(&config.exempt_headers));
        let headers = NameRules {
            forced_exact: configured(&config.headers).collect(),
            forced_fragments: no_fragments(),
            exempt: header_exempt,
            exact: set_of(HEADER_EXACT),
            fragments: fragments_of(HEADER_FRAGMENTS),
            string_fragments: no_fragments(),
        };

        let mut query_exempt = set_of(FIELD_BENIGN);
        query_exempt.extend(configured(&config.exempt_query_params));
        let mut query_exact = set_of(FIELD_EXACT);
        query_exact.extend(set_of(QUERY_EXACT));
        let query = NameRules {
            forced_exact: configured(&config.query_params).collect(),
            forced_fragments: no_fragments(),
            exempt: query_exempt,
            exact: query_exact,
            fragments: fragments_of(FIELD_FRAGMENTS),
            string_fragments: fragments_of(FIELD_STRING_FRAGMENTS),
        };

        let mut field_exempt = set_of(FIELD_BENIGN);
        field_exempt.extend(configured(&config.exempt_body_fields));
        let fields = NameRules {
            forced_exact: HashSet::new(),
            forced_fragments: Fragments::new(configured(&config.body_fields)),
            exempt: field_exempt,
            exact: set_of(FIELD_EXACT),
            fragments: fragments_of(FIELD_FRAGMENTS),
            string_fragments: fragments_of(FIELD_STRING_FRAGMENTS),
        };

        Self {
            enabled: config.enabled,
            headers,
            query,
            fields,
        }
    }

    /// Whether redaction is on; when off every method returns `None`.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The value to store for header `lower_name` (case does not actually
    /// matter), or `None` to store `value` as it is.
    ///
    /// * `Authorization`/`Proxy-Authorization` keep only the scheme:
    ///   `Bearer <redacted>`; a value without a scheme (a bare JWT or key)
    ///   becomes `<redacted>`.
    /// * `Cookie` keeps cookie names: `sid=<redacted>; theme=<redacted>`.
    /// * `Set-Cookie` keeps the name and attributes:
    ///   `sid=<redacted>; HttpOnly; Secure; Path=/` (several cookies folded
    ///   into one value with commas are each redacted).
    /// * Other secret headers become `<redacted>`.
    pub fn header(&self, lower_name: &str, value: &str) -> Option<String> {
        if !self.enabled || value.trim().is_empty() {
            return None;
        }
        let verdict = self
            .headers
            .classify(&Folded::plain(lower_name.as_bytes()));
        let name_is = |n: &str| lower_name.eq_ignore_ascii_case(n);
        let replacement = match verdict {
            Verdict::Exempt => return None,
            Verdict::Plain => {
                if name_is("location") || name_is("content-location") || name_is("referer") {
                    self.redact_url(value)?
                } else if find_jwt(value.as_bytes(), false).is_some() {
                    REDACTED.to_owned()
                } else {
                    return None;
                }
            }
            Verdict::Strings | Verdict::All => {
                if name_is("authorization") || name_is("proxy-authorization") {
                    redact_credentials(value)
                } else if name_is("cookie") {
                    redact_cookies(value, false)?
                } else if name_is("set-cookie") {
                    redact_cookies(value, true)?
                } else {
                    REDACTED.to_owned()
                }
            }
        };
        (replacement != value).then_some(replacement)
    }

    /// The query string to store, or `None` to store `raw_query` as it is.
    ///
    /// `raw_query` is the part after `?` (a leading `?` is tolerated). Values
    /// of secret parameters become `<redacted>`; everything else (order,
    /// percent-encoding, empty pairs like `a&&b`, keys without `=`) is kept
    /// byte for byte. Parameter names are percent-decoded and case-folded
    /// for matching only. Empty values are kept: they hide nothing.
    pub fn query(&self, raw_query: &str) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let bytes = raw_query.as_bytes();
        let mut w = Rewriter::new(bytes);
        let start = usize::from(bytes.first() == Some(&b'?'));
        self.params_into(&mut w, bytes, start, bytes.len(), false);
        w.finish_string()
    }

    /// The body to store, or `None` to store `body` as it is.
    ///
    /// * JSON (`application/json`, `*+json`, any media type containing
    ///   `json`, or any other body whose first non-blank byte is `{` or `[`):
    ///   values of secret keys are replaced by a marker of the same JSON type
    ///   (strings by `"<redacted>"`, integers by `0`, other numbers by `0.0`;
    ///   booleans and `null` are kept, as they hide at most one bit and
    ///   changing them would mislead the schema), containers under a secret
    ///   key have every scalar inside redacted, and string values containing
    ///   a JWT are redacted under any key. Works on truncated and malformed
    ///   JSON: an unfinished secret value at the end is replaced by a
    ///   complete marker, never left partly in place.
    /// * `application/x-www-form-urlencoded` (or no content type and a body
    ///   shaped like `a=b&c=d`): as [`Redactor::query`].
    /// * `multipart/*`: the content of a part whose `name` is secret becomes
    ///   `<redacted>`; JSON parts are redacted as JSON.
    /// * Other textual bodies (`text/*`, XML, JavaScript, or no content
    ///   type): JWTs inside are replaced by `<redacted>`.
    /// * Anything else passes through unchanged.
    pub fn body(&self, content_type: Option<&str>, body: &[u8]) -> Option<Vec<u8>> {
        if !self.enabled || body.is_empty() {
            return None;
        }
        let media = content_type.map_or("", media_type);
        if contains_ignore_case(media, "json") {
            return self.redact_json(body);
        }
        if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return self.redact_form(body);
        }
        if starts_with_ignore_case(media, "multipart/") {
            let boundary = content_type
                .and_then(boundary_param)
                .or_else(|| sniff_boundary(body));
            if let Some(boundary) = boundary {
                return self.redact_multipart(boundary.as_bytes(), body);
            }
        }
        if starts_like_json(body) {
            return self.redact_json(body);
        }
        if content_type.is_none() && looks_like_form(body) {
            return self.redact_form(body);
        }
        if content_type.is_none() || is_textual(media) {
            return redact_jwt_spans(body);
        }
        None
    }

    /// Verdict for a query (`form == false`) or form/multipart field name.
    /// Form fields are body data too, so the body field rules also apply.
    fn param_verdict(&self, name: &Folded, form: bool) -> Verdict {
        let verdict = self.query.classify(name);
        if form {
            verdict.max(self.fields.classify(name))
        } else {
            verdict
        }
    }

    /// Redacts the `&`-separated parameters in `input[from..to]`.
    fn params_into(&self, w: &mut Rewriter<'_>, input: &[u8], from: usize, to: usize, form: bool) {
        let mut start = from;
        while start < to {
            let end = memchr::memchr(b'&', &input[start..to]).map_or(to, |i| start + i);
            self.pair_into(w, input, start, end, form);
            start = end + 1;
        }
    }

    fn pair_into(&self, w: &mut Rewriter<'_>, input: &[u8], start: usize, end: usize, form: bool) {
        let pair = &input[start..end];
        let Some(eq) = memchr::memchr(b'=', pair) else {
            return;
        };
        let value_start = start + eq + 1;
        if value_start >= end {
            return;
        }
        let verdict = self.param_verdict(&Folded::percent_decoded(&pair[..eq]), form);
        if verdict.redacts_strings() || (verdict == Verdict::Plain && has_jwt(&input[value_start..end])) {
            w.replace(value_start, end, REDACTED.as_bytes());
            return;
        }
        if verdict == Verdict::Exempt {
            return;
        }
        // Some servers also split parameters on `;`: `a=1;password=x`.
        let mut seg = value_start;
        while let Some(semi) = memchr::memchr(b';', &input[seg..end]) {
            let seg_start = seg + semi + 1;
            let seg_end = memchr::memchr(b';', &input[seg_start..end]).map_or(end, |i| seg_start + i);
            if let Some(eq) = memchr::memchr(b'=', &input[seg_start..seg_end]) {
                let name = Folded::percent_decoded(&input[seg_start..seg_start + eq]);
                let value_start = seg_start + eq + 1;
                if value_start < seg_end && self.param_verdict(&name, form).redacts_strings() {
                    w.replace(value_start, seg_end, REDACTED.as_bytes());
                }
            }
            seg = seg_end;
        }
    }

    fn redact_form(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut w = Rewriter::new(body);
        self.params_into(&mut w, body, 0, body.len(), true);
        w.finish()
    }

    /// Redacts the query and fragment parameters of a URL-valued header
    /// (`#access_token=` is how the OAuth implicit flow returns tokens), then
    /// the whole value if a JWT is still left (say in the path).
    fn redact_url(&self, value: &str) -> Option<String> {
        let bytes = value.as_bytes();
        let hash = memchr::memchr(b'#', bytes);
        let question = memchr::memchr(b'?', &bytes[..hash.unwrap_or(bytes.len())]);
        let mut w = Rewriter::new(bytes);
        if let Some(q) = question {
            self.params_into(&mut w, bytes, q + 1, hash.unwrap_or(bytes.len()), false);
        }
        if let Some(h) = hash {
            self.params_into(&mut w, bytes, h + 1, bytes.len(), false);
        }
        let rewritten = w.finish_string();
        let current = rewritten.as_deref().unwrap_or(value);
        if has_jwt(current.as_bytes()) {
            return Some(REDACTED.to_owned());
        }
        rewritten
    }

    /// The tolerant JSON scanner: one pass, copying input to output, that
    /// tracks nesting and object keys and replaces values after secret keys.
    ///
    /// It never validates and never fails: bytes that are not JSON tokens are
    /// copied, unbalanced brackets are ignored, and input may stop anywhere.
    /// Nesting lives in a bit stack, not the call stack, so depth is only
    /// limited by memory (one bit per level).
    fn redact_json(&self, input: &[u8]) -> Option<Vec<u8>> {
        let len = input.len();
        let mut w = Rewriter::new(input);
        let mut nesting = Nesting::default();
        // Inside an object, right after `{` or `,`: the next string is a key.
        let mut expect_key = false;
        // Verdict of the key whose value comes next.
        let mut pending = Verdict::Plain;
        // Depth of the outermost container under a secret key, per strength.
        let mut zone_all: Option<usize> = None;
        let mut zone_strings: Option<usize> = None;
        let mut i = 0;
        while i < len {
            let zone = if zone_all.is_some() {
                Verdict::All
            } else if zone_strings.is_some() {
                Verdict::Strings
            } else {
                Verdict::Plain
            };
            match input[i] {
                open @ (b'{' | b'[') => {
                    nesting.push(open == b'{');
                    let depth = nesting.depth();
                    match pending {
                        Verdict::All if zone_all.is_none() => zone_all = Some(depth),
                        Verdict::Strings if zone == Verdict::Plain => zone_strings = Some(depth),
                        _ => {}
                    }
                    pending = Verdict::Plain;
                    expect_key = open == b'{';
                    i += 1;
                }
                b'}' | b']' => {
                    nesting.pop();
                    let depth = nesting.depth();
                    if zone_all.is_some_and(|z| depth < z) {
                        zone_all = None;
                    }
                    if zone_strings.is_some_and(|z| depth < z) {
                        zone_strings = None;
                    }
                    pending = Verdict::Plain;
                    expect_key = false;
                    i += 1;
                }
                b',' => {
                    expect_key = nesting.top_is_object();
                    pending = Verdict::Plain;
                    i += 1;
                }
                b'"' => {
                    let (content_end, end) = json_string_end(input, i + 1);
                    let content = &input[i + 1..content_end];
                    if expect_key && nesting.top_is_object() {
                        pending = self.fields.classify(&Folded::json_key(content));
                        expect_key = false;
                    } else {
                        let verdict = pending.max(zone);
                        let terminated = content_end < len;
                        let secret = verdict.redacts_strings()
                            || (verdict == Verdict::Plain && find_jwt(content, !terminated).is_some());
                        let already = terminated && content == REDACTED.as_bytes();
                        if secret && !already {
                            w.replace(i, end, REDACTED_JSON);
                        }
                        pending = Verdict::Plain;
                    }
                    i = end;
                }
                b'-' | b'0'..=b'9' => {
                    let end = i + input[i..]
                        .iter()
                        .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .count();
                    if pending.max(zone) == Verdict::All {
                        let number = &input[i..end];
                        let marker: &[u8] = if number.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                            b"0.0"
                        } else {
                            b"0"
                        };
                        if number != marker {
                            w.replace(i, end, marker);
                        }
                    }
                    pending = Verdict::Plain;
                    i = end;
                }
                b't' | b'f' | b'n' => {
                    i += input[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
                    pending = Verdict::Plain;
                }
                _ => i += 1,
            }
        }
        w.finish()
    }

    fn redact_multipart(&self, boundary: &[u8], body: &[u8]) -> Option<Vec<u8>> {
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
                let verdict = head
                    .name
                    .map_or(Verdict::Plain, |n| self.param_verdict(&Folded::plain(n), true));
                if verdict.redacts_strings()
                    || (verdict == Verdict::Plain && find_jwt(content, next.is_none()).is_some())
                {
                    w.replace(start, end, REDACTED.as_bytes());
                } else if head.json && verdict != Verdict::Exempt {
                    if let Some(redacted) = self.redact_json(content) {
                        w.replace(start, end, &redacted);
                    }
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

/// Copy-on-write output: nothing is allocated until the first replacement,
/// then untouched stretches are copied between replacements.
struct Rewriter<'a> {
    input: &'a [u8],
    out: Option<Vec<u8>>,
    copied: usize,
}

impl<'a> Rewriter<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            out: None,
            copied: 0,
        }
    }

    /// Replaces `input[start..end]`; calls must come in increasing order.
    fn replace(&mut self, start: usize, end: usize, with: &[u8]) {
        let input = self.input;
        let start = start.clamp(self.copied, input.len());
        let end = end.clamp(start, input.len());
        let out = self
            .out
            .get_or_insert_with(|| Vec::with_capacity(input.len() + with.len()));
        out.extend_from_slice(&input[self.copied..start]);
        out.extend_from_slice(with);
        self.copied = end;
    }

    fn finish(self) -> Option<Vec<u8>> {
        let mut out = self.out?;
        out.extend_from_slice(&self.input[self.copied..]);
        Some(out)
    }

    /// For `&str` input. Replacements only ever cut at ASCII bytes, so the
    /// result stays UTF-8; the lossy fallback only guards that reasoning.
    fn finish_string(self) -> Option<String> {
        self.finish().map(|v| {
            String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }
}

/// A stack of "is this level an object?" bits: the first 64 levels live
/// inline, deeper ones spill to the heap (one bit per level).
#[derive(Default)]
struct Nesting {
    depth: usize,
    low: u64,
    high: Vec<u64>,
}

impl Nesting {
    fn depth(&self) -> usize {
        self.depth
    }

    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, self.depth % 64);
        let slot = if word == 0 {
            &mut self.low
        } else {
            if self.high.len() < word {
                self.high.push(0);
            }
            match self.high.get_mut(word - 1) {
                Some(slot) => slot,
                None => return,
            }
        };
        if object {
            *slot |= 1 << bit;
        } else {
            *slot &= !(1 << bit);
        }
        self.depth += 1;
    }

    fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn top_is_object(&self) -> bool {
        let Some(level) = self.depth.checked_sub(1) else {
            return false;
        };
        let word = if level < 64 {
            self.low
        } else {
            self.high.get(level / 64 - 1).copied().unwrap_or(0)
        };
        (word >> (level % 64)) & 1 == 1
    }
}

/// Finds the end of a JSON string whose content starts at `from`. Returns
/// the index of the closing quote and the index after it; both are the input
/// length when the string is unterminated.
fn json_string_end(input: &[u8], from: usize) -> (usize, usize) {
    let len = input.len();
    let mut j = from;
    while j < len {
        match memchr::memchr2(b'"', b'\\', &input[j..]) {
            None => break,
            Some(k) if input[j + k] == b'"' => return (j + k, j + k + 1),
            Some(k) => j += k + 2,
        }
    }
    (len, len)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Length of a JWT (or JWE) at the start of `s`, which begins with `eyJ`
/// (base64url of `{"`): a header segment of at least 10 characters, a dot, a
/// payload of at least 2, a dot, then anything base64url or dotted. With
/// `allow_cut`, a token cut inside its payload at the end of `s` counts too.
fn jwt_len(s: &[u8], allow_cut: bool) -> Option<usize> {
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
fn find_jwt(s: &[u8], allow_cut: bool) -> Option<(usize, usize)> {
    memchr::memmem::find_iter(s, b"eyJ").find_map(|pos| {
        if pos > 0 && is_base64url(s[pos - 1]) {
            return None;
        }
        jwt_len(&s[pos..], allow_cut).map(|len| (pos, pos + len))
    })
}

fn has_jwt(s: &[u8]) -> bool {
    find_jwt(s, false).is_some()
}

/// Replaces every JWT in a text body, including one cut at the end.
fn redact_jwt_spans(body: &[u8]) -> Option<Vec<u8>> {
    let mut w = Rewriter::new(body);
    let mut from = 0;
    while let Some((start, end)) = find_jwt(&body[from..], true) {
        w.replace(from + start, from + end, REDACTED.as_bytes());
        from += end;
    }
    w.finish()
}

/// `Authorization`-style values: keep a plausible scheme name, drop the rest.
fn redact_credentials(value: &str) -> String {
    let v = value.trim();
    if let Some((scheme, rest)) = v.split_once([' ', '\t']) {
        let is_scheme = (1..=32).contains(&scheme.len())
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.bytes().all(is_tchar);
        if is_scheme && !rest.trim().is_empty() {
            return format!("{scheme} {REDACTED}");
        }
    }
    REDACTED.to_owned()
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Redacts cookie values, keeping names, separators and (for `Set-Cookie`)
/// attributes. Segments are split on `;` and `,`, which also handles several
/// `Set-Cookie` values folded into one header; a quoted value may contain
/// either separator.
fn redact_cookies(value: &str, set_cookie: bool) -> Option<String> {
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
        let ws = bytes[scan..].iter().take_while(|b| b.is_ascii_whitespace()).count();
        if bytes.get(scan + ws) == Some(&b'"') {
            scan = memchr::memchr(b'"', &bytes[scan + ws + 1..]).map_or(bytes.len(), |q| scan + ws + 1 + q + 1);
        }
        let end = memchr::memchr2(b';', b',', &bytes[scan..]).map_or(bytes.len(), |p| scan + p);
        let is_cookie = match eq {
            Some(p) => {
                let name = String::from_utf8_lossy(&bytes[name_start..p]);
                let name = name.trim();
                !set_cookie || first || !COOKIE_ATTRIBUTES.iter().any(|a| name.eq_ignore_ascii_case(a))
            }
            // A nameless value in a Cookie header, or the first segment of a
            // Set-Cookie; later ones are flags or the rest of an Expires date.
            None => !set_cookie || first,
        };
        let has_value = bytes[value_start..end].iter().any(|b| !b.is_ascii_whitespace());
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

fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn is_textual(media: &str) -> bool {
    starts_with_ignore_case(media, "text/")
        || ["xml", "javascript", "graphql", "yaml"]
            .iter()
            .any(|t| contains_ignore_case(media, t))
}

fn starts_like_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// `a=b&c=d` without spaces or control bytes.
fn looks_like_form(body: &[u8]) -> bool {
    body.first().is_some_and(|&b| b != b'=' && b != b'&')
        && memchr::memchr(b'=', body).is_some()
        && body.iter().all(|&b| b.is_ascii_graphic())
}

fn boundary_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then_some(value)
    })
}

/// The boundary taken from a body that starts with a `--boundary` line.
fn sniff_boundary(body: &[u8]) -> Option<&str> {
    let rest = body.strip_prefix(b"--")?;
    let line = &rest[..memchr::memchr(b'\n', rest)?];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let boundary = std::str::from_utf8(line).ok()?.trim_end();
    (!boundary.is_empty() && boundary.len() <= 200).then_some(boundary)
}

/// Index of the `--` of the next `--boundary` that starts a line, at or
/// after `from`.
fn find_delimiter(finder: &memchr::memmem::Finder<'_>, body: &[u8], from: usize) -> Option<usize> {
    let haystack = body.get(from..)?;
    finder.find_iter(haystack).find_map(|k| {
        let at = (from + k).checked_sub(2)?;
        let line_start = at == 0 || body[at - 1] == b'\n';
        (at >= from && line_start && &body[at..at + 2] == b"--").then_some(at)
    })
}

/// The end of a part's content: the line break before the delimiter belongs
/// to the delimiter.
fn line_start_before(body: &[u8], delimiter: usize) -> usize {
    if delimiter >= 2 && &body[delimiter - 2..delimiter] == b"\r\n" {
        delimiter - 2
    } else if delimiter >= 1 && body[delimiter - 1] == b'\n' {
        delimiter - 1
    } else {
        delimiter
    }
}

/// What a part's headers tell us.
struct PartHead<'a> {
    name: Option<&'a [u8]>,
    json: bool,
    content_start: usize,
}

/// Reads part headers starting at `from`; `None` if they do not end (the
/// body was cut before the part's content began).
fn part_head(body: &[u8], from: usize) -> Option<PartHead<'_>> {
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

fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = &line[name.len()..];
    let colon = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (rest[colon] == b':').then(|| &rest[colon + 1..])
}

/// The `name` parameter of a `Content-Disposition` value (not `filename`).
fn disposition_name(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'"' {
            i += 1 + memchr::memchr(b'"', &value[i + 1..]).unwrap_or(value.len());
            i += 1;
            continue;
        }
        let boundary = i == 0 || matches!(value[i - 1], b';' | b' ' | b'\t');
        if boundary && value.get(i..i + 4).is_some_and(|n| n.eq_ignore_ascii_case(b"name")) {
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
