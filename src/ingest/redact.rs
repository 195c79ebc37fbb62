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

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The text that replaces a secret value, so readers of stored data can tell
/// a redacted value from a real one.
pub const REDACTED: &str = "<redacted>";

/// What replaces a credential that was a JWT, so that the spec can still say `bearerFormat: JWT`
/// (the token's shape is kept, never its content).
pub const REDACTED_JWT: &str = "<redacted:jwt>";

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
                && self.groups[usize::from(slot) - 1].iter().any(|f| {
                    // A byte loop that stops at the first mismatch (usually
                    // the second byte) beats a `memcmp` call per fragment.
                    let rest = &name[i..];
                    rest.len() >= f.len() && rest.iter().zip(f.iter()).all(|(a, b)| a == b)
                })
        })
    }
}

/// A set of folded names, looked up by a hash computed once per name. Names
/// are short and sets small, so a sorted vector of hashes beats both hashing
/// with `HashSet` (SipHash per lookup) and binary search on the bytes (a
/// `memcmp` per step).
#[derive(Debug)]
struct NameSet(Vec<(u64, Box<[u8]>)>);

impl NameSet {
    fn new<I: IntoIterator<Item = Box<[u8]>>>(names: I) -> Self {
        let mut names: Vec<(u64, Box<[u8]>)> =
            names.into_iter().map(|n| (name_hash(&n), n)).collect();
        names.sort_unstable();
        names.dedup();
        Self(names)
    }

    fn contains(&self, hash: u64, name: &[u8]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let first = self.0.partition_point(|(h, _)| *h < hash);
        self.0[first..]
            .iter()
            .take_while(|(h, _)| *h == hash)
            .any(|(_, n)| n.as_ref() == name)
    }
}

/// FNV-1a: tiny, fast on short keys, and good enough for a set we build
/// ourselves (collisions only cost a byte comparison).
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn builtin(names: &'static [&'static str]) -> impl Iterator<Item = Box<[u8]>> {
    names.iter().map(|n| fold_owned(n))
}

fn fragments_of(names: &'static [&'static str]) -> Fragments {
    Fragments::new(builtin(names))
}

fn configured(names: &[String]) -> impl Iterator<Item = Box<[u8]>> + '_ {
    names
        .iter()
        .map(|n| fold_owned(n))
        .filter(|n| !n.is_empty())
}

/// The rules for one kind of name, in order of precedence.
#[derive(Debug)]
struct NameRules {
    /// Configured additions: always secret.
    forced_exact: NameSet,
    forced_fragments: Fragments,
    /// Configured exemptions and built-in benign names.
    exempt: NameSet,
    /// Built-in rules.
    exact: NameSet,
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
            return Verdict::Plain;
        }
        let hash = name_hash(n);
        if self.forced_exact.contains(hash, n) || self.forced_fragments.found_in(n) {
            Verdict::All
        } else if self.exempt.contains(hash, n) {
            Verdict::Exempt
        } else if self.exact.contains(hash, n) || self.fragments.found_in(n) {
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
        let headers = NameRules {
            forced_exact: NameSet::new(configured(&config.headers)),
            forced_fragments: no_fragments(),
            exempt: NameSet::new(builtin(HEADER_BENIGN).chain(configured(&config.exempt_headers))),
            exact: NameSet::new(builtin(HEADER_EXACT)),
            fragments: fragments_of(HEADER_FRAGMENTS),
            string_fragments: no_fragments(),
        };

        let query = NameRules {
            forced_exact: NameSet::new(configured(&config.query_params)),
            forced_fragments: no_fragments(),
            exempt: NameSet::new(
                builtin(FIELD_BENIGN).chain(configured(&config.exempt_query_params)),
            ),
            exact: NameSet::new(builtin(FIELD_EXACT).chain(builtin(QUERY_EXACT))),
            fragments: fragments_of(FIELD_FRAGMENTS),
            string_fragments: fragments_of(FIELD_STRING_FRAGMENTS),
        };

        let fields = NameRules {
            forced_exact: NameSet::new(std::iter::empty()),
            forced_fragments: Fragments::new(configured(&config.body_fields)),
            exempt: NameSet::new(
                builtin(FIELD_BENIGN).chain(configured(&config.exempt_body_fields)),
            ),
            exact: NameSet::new(builtin(FIELD_EXACT)),
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
        let verdict = self.headers.classify(&Folded::plain(lower_name.as_bytes()));
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
    ///   shaped like `a=b&c=d`): as [`Redactor::query`]. Mislabelled bodies
    ///   are followed by their shape: a form-labelled body starting with `{`
    ///   is scanned as JSON (`curl -d '{...}'` does that), a JSON-labelled
    ///   body shaped like `a=b&c=d` as a form.
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
        // Redaction rewrites text. Bytes that are not UTF-8 (an image or a protobuf under a JSON
        // label) are neither JSON nor a form, whatever the label says, and are stored exactly.
        // Multipart bodies may carry binary parts; their own scanner copes with them.
        if !starts_with_ignore_case(media, "multipart/") && !is_text(body) {
            return None;
        }
        let json_like = starts_like_json(body);
        let form_like = looks_like_form(body);
        // Labels lie in both directions: `curl -d '{...}'` sends JSON as a
        // form, and some clients label forms as JSON.
        if contains_ignore_case(media, "json") {
            if !json_like && form_like {
                return self.redact_form(body);
            }
            return self.redact_json(body);
        }
        if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            if json_like {
                return self.redact_json(body);
            }
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
        if json_like {
            return self.redact_json(body);
        }
        if content_type.is_none() && form_like {
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
            // A bare token as a whole parameter: `?eyJ...`.
            if has_jwt(pair) {
                w.replace(start, end, REDACTED.as_bytes());
            }
            return;
        };
        let value_start = start + eq + 1;
        if value_start >= end {
            return;
        }
        let value = &input[value_start..end];
        let verdict = self.param_verdict(&Folded::percent_decoded(&pair[..eq]), form);
        if verdict.redacts_strings() || (verdict == Verdict::Plain && has_jwt(value)) {
            if value != REDACTED.as_bytes() {
                w.replace(value_start, end, REDACTED.as_bytes());
            }
            return;
        }
        if verdict == Verdict::Exempt {
            return;
        }
        // Some servers also split parameters on `;`: `a=1;password=x`.
        let mut seg = value_start;
        while let Some(semi) = memchr::memchr(b';', &input[seg..end]) {
            let seg_start = seg + semi + 1;
            let seg_end =
                memchr::memchr(b';', &input[seg_start..end]).map_or(end, |i| seg_start + i);
            if let Some(eq) = memchr::memchr(b'=', &input[seg_start..seg_end]) {
                let name = Folded::percent_decoded(&input[seg_start..seg_start + eq]);
                let value_start = seg_start + eq + 1;
                let value = &input[value_start.min(seg_end)..seg_end];
                if !value.is_empty()
                    && value != REDACTED.as_bytes()
                    && self.param_verdict(&name, form).redacts_strings()
                {
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
                            || (verdict == Verdict::Plain
                                && find_jwt(content, !terminated).is_some());
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
                        let marker: &[u8] =
                            if number.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
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
                    i += input[i..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphabetic())
                        .count();
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
            String::from_utf8(v)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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

/// `eyJ` is base64url for `{"`, the start of every JWT header. The searcher
/// is built once: building one per call costs more than searching a header.
static JWT_START: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"eyJ"));

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
    JWT_START.find_iter(s).find_map(|pos| {
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

/// UTF-8 text, allowing a character cut off at the end (bodies are capped by bytes).
fn is_text(body: &[u8]) -> bool {
    match std::str::from_utf8(body) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

fn starts_like_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// `a=b&c=d`: printable ASCII without spaces, and every pair's name made of
/// characters that form encoders leave in names (so `<p>a=b</p>` is not a
/// form).
fn looks_like_form(body: &[u8]) -> bool {
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || b"_.-~%+[]".contains(b);
    memchr::memchr(b'=', body).is_some()
        && body.iter().all(u8::is_ascii_graphic)
        && body.split(|&b| b == b'&').all(|pair| {
            let name = pair.split(|&b| b == b'=').next().unwrap_or(pair);
            pair.is_empty() || (!name.is_empty() && name.iter().all(name_byte))
        })
}

/// The `boundary` parameter of a `Content-Type` value (quotes removed).
pub(crate) fn boundary_param(content_type: &str) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn redactor() -> Redactor {
        Redactor::default()
    }

    fn body_str(r: &Redactor, content_type: Option<&str>, body: &str) -> Option<String> {
        r.body(content_type, body.as_bytes())
            .map(|b| String::from_utf8(b).expect("redacted body stays UTF-8"))
    }

    #[test]
    fn headers() {
        let r = redactor();
        let jwt_header = format!("x-debug: {JWT}");
        let jwt_path = format!("https://a.example/verify/{JWT}");
        let bearer_jwt = format!("Bearer {JWT}");
        let bearer_jwt_and_more = format!("Bearer {JWT}x!");
        let cases: Vec<(&str, &str, Option<&str>)> = vec![
            ("authorization", "Bearer abc.def", Some("Bearer <redacted>")),
            (
                "authorization",
                "Basic dXNlcjpwYXNz",
                Some("Basic <redacted>"),
            ),
            (
                "authorization",
                "  bearer   tok  ",
                Some("bearer <redacted>"),
            ),
            ("authorization", JWT, Some("<redacted:jwt>")),
            ("authorization", &bearer_jwt, Some("Bearer <redacted:jwt>")),
            // Only a whole JWT is marked as one.
            (
                "authorization",
                &bearer_jwt_and_more,
                Some("Bearer <redacted>"),
            ),
            ("authorization", "Bearer <redacted:jwt>", None),
            ("authorization", "Bearer", Some("<redacted>")),
            ("authorization", "Bearer <redacted>", None),
            ("Authorization", "Token t", Some("Token <redacted>")),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/s3/aws4_request, Signature=ab",
                Some("AWS4-HMAC-SHA256 <redacted>"),
            ),
            ("authorization", "sk-live:abc def", Some("<redacted>")),
            (
                "proxy-authorization",
                "Digest username=\"u\", response=\"x\"",
                Some("Digest <redacted>"),
            ),
            ("authorization", "", None),
            (
                "cookie",
                "sid=abc; theme=dark",
                Some("sid=<redacted>; theme=<redacted>"),
            ),
            (
                "cookie",
                "sid=abc;theme=dark",
                Some("sid=<redacted>;theme=<redacted>"),
            ),
            ("cookie", "lonely", Some("<redacted>")),
            (
                "cookie",
                "a=\"x;y\"; b=2",
                Some("a=<redacted>; b=<redacted>"),
            ),
            ("cookie", "empty=; b=2", Some("empty=; b=<redacted>")),
            (
                "set-cookie",
                "sid=abc; HttpOnly; Secure; Path=/",
                Some("sid=<redacted>; HttpOnly; Secure; Path=/"),
            ),
            (
                "set-cookie",
                "id=a3fWa; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Max-Age=3600; SameSite=Lax",
                Some(
                    "id=<redacted>; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Max-Age=3600; SameSite=Lax",
                ),
            ),
            (
                "set-cookie",
                "a=1; Path=/, b=2; Domain=x.com",
                Some("a=<redacted>; Path=/, b=<redacted>; Domain=x.com"),
            ),
            ("set-cookie", "sid=; Max-Age=0; Path=/", None),
            (
                "set-cookie",
                "sid=x; Custom=leak",
                Some("sid=<redacted>; Custom=<redacted>"),
            ),
            ("x-api-key", "k-123", Some("<redacted>")),
            ("X-API-KEY", "k-123", Some("<redacted>")),
            ("api-key", "k", Some("<redacted>")),
            ("apikey", "k", Some("<redacted>")),
            ("x-auth-token", "t", Some("<redacted>")),
            ("x-csrf-token", "t", Some("<redacted>")),
            ("x-xsrf-token", "t", Some("<redacted>")),
            ("x-amz-security-token", "t", Some("<redacted>")),
            ("x-goog-api-key", "t", Some("<redacted>")),
            ("ocp-apim-subscription-key", "t", Some("<redacted>")),
            ("x-trace-source-token", "t", Some("<redacted>")),
            ("cf-access-client-secret", "t", Some("<redacted>")),
            ("x-goog-iap-jwt-assertion", "t", Some("<redacted>")),
            ("x-honeycomb-team", "t", Some("<redacted>")),
            ("x-session-id", "t", Some("<redacted>")),
            ("content-type", "application/json", None),
            ("user-agent", "curl/8", None),
            ("www-authenticate", "Bearer realm=\"api\"", None),
            ("access-control-allow-credentials", "true", None),
            ("content-security-policy", "default-src 'self'", None),
            ("x-request-id", "abc", None),
            ("x-debug", JWT, Some("<redacted>")),
            ("x-debug", &jwt_header, Some("<redacted>")),
            ("x-debug", "eyJub3QiOiJqd3QifQ", None),
            (
                "location",
                "https://app.example/cb?code=abc&state=xyz",
                Some("https://app.example/cb?code=<redacted>&state=xyz"),
            ),
            (
                "location",
                "https://app.example/cb#access_token=abc&token_type=bearer&expires_in=3600",
                Some(
                    "https://app.example/cb#access_token=<redacted>&token_type=bearer&expires_in=3600",
                ),
            ),
            ("referer", "https://a.example/p?q=1#top", None),
            ("referer", &jwt_path, Some("<redacted>")),
            ("x-api-key", "", None),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                r.header(name, value).as_deref(),
                expected,
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn queries() {
        let r = redactor();
        let jwt_state = format!("state={JWT}&x=1");
        let bare_jwt = format!("a=1&{JWT}");
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("a=1&token=abc&b=2", Some("a=1&token=<redacted>&b=2")),
            ("access_token=abc", Some("access_token=<redacted>")),
            ("A%63cess_Token=abc", Some("A%63cess_Token=<redacted>")),
            ("api%5Fkey=abc&q=x", Some("api%5Fkey=<redacted>&q=x")),
            ("accessToken=abc", Some("accessToken=<redacted>")),
            (
                "id_token=a&refresh_token=b",
                Some("id_token=<redacted>&refresh_token=<redacted>"),
            ),
            ("key=AIza&alt=json", Some("key=<redacted>&alt=json")),
            ("code=abc&state=x", Some("code=<redacted>&state=x")),
            ("sig=abc&sv=2020", Some("sig=<redacted>&sv=2020")),
            (
                "client_secret=s&client_id=c",
                Some("client_secret=<redacted>&client_id=c"),
            ),
            ("password=p&user=u", Some("password=<redacted>&user=u")),
            ("auth=x", Some("auth=<redacted>")),
            ("signature=x", Some("signature=<redacted>")),
            (
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2024&X-Amz-Signature=ab&X-Amz-Security-Token=tt",
                Some(
                    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>&X-Amz-Security-Token=<redacted>",
                ),
            ),
            (
                "user%5Bpassword%5D=hunter2",
                Some("user%5Bpassword%5D=<redacted>"),
            ),
            ("pass+word=x", Some("pass+word=<redacted>")),
            ("?token=x", Some("?token=<redacted>")),
            ("?key=x", Some("?key=<redacted>")),
            ("a=1;password=x&b=2", Some("a=1;password=<redacted>&b=2")),
            (&jwt_state, Some("state=<redacted>&x=1")),
            ("q=hello+world&sort=asc", None),
            ("a&&b", None),
            ("key", None),
            (&bare_jwt, Some("a=1&<redacted>")),
            ("token=", None),
            ("token=&a=1", None),
            ("", None),
            ("&", None),
            ("=x", None),
            ("token_type=bearer", None),
            ("author=me&keyword=x&monkey=1", None),
            ("page=2&per_page=50", None),
            ("token=%E2%9C%93&x=%ZZ", Some("token=<redacted>&x=%ZZ")),
            ("token=<redacted>&a=1;password=<redacted>", None),
        ];
        for (query, expected) in cases {
            assert_eq!(r.query(query).as_deref(), expected, "{query}");
        }
    }

    #[test]
    fn json_bodies() {
        let r = redactor();
        let jwt_value = format!(r#"{{"data":"{JWT}","n":1}}"#);
        let bearer_value = format!(r#"{{"header":"Bearer {JWT}"}}"#);
        let cases: Vec<(&str, Option<&str>)> = vec![
            (
                r#"{"password":"hunter2","user":"bob"}"#,
                Some(r#"{"password":"<redacted>","user":"bob"}"#),
            ),
            (
                r#"{"token":"eyJabc","ok":true}"#,
                Some(r#"{"token":"<redacted>","ok":true}"#),
            ),
            (
                r#"{"pin":1234,"rate":0.5,"secret_ratio":0.25,"apiKey":-1e3}"#,
                Some(r#"{"pin":0,"rate":0.5,"secret_ratio":0.0,"apiKey":0.0}"#),
            ),
            (r#"{"password":null,"secret":true,"pin":0}"#, None),
            (
                r#"{"credentials":{"user":"a","n":5,"list":[1.5,"x",{"k":"v"},null,false]},"ok":"y"}"#,
                Some(
                    r#"{"credentials":{"user":"<redacted>","n":0,"list":[0.0,"<redacted>",{"k":"<redacted>"},null,false]},"ok":"y"}"#,
                ),
            ),
            (
                r#"{"usage":{"total_tokens":42,"max_tokens":8},"access_token":"abc","tokens":[1,"a"]}"#,
                Some(
                    r#"{"usage":{"total_tokens":42,"max_tokens":8},"access_token":"<redacted>","tokens":[1,"<redacted>"]}"#,
                ),
            ),
            (
                r#"{"tokens":{"count":3,"password":7,"inner":{"secret":{"n":1}},"s":"x"},"after":9}"#,
                Some(
                    r#"{"tokens":{"count":3,"password":0,"inner":{"secret":{"n":0}},"s":"<redacted>"},"after":9}"#,
                ),
            ),
            (r#"{"token_type":"Bearer","expires_in":3600}"#, None),
            (&jwt_value, Some(r#"{"data":"<redacted>","n":1}"#)),
            (&bearer_value, Some(r#"{"header":"<redacted>"}"#)),
            (
                r#"{"pass\u0077ord":"x"}"#,
                Some(r#"{"pass\u0077ord":"<redacted>"}"#),
            ),
            (
                r#"{"password":"a\"b\\","z":1}"#,
                Some(r#"{"password":"<redacted>","z":1}"#),
            ),
            (
                r#"{ "password" : "x" , "b" : [ 1 ] }"#,
                Some(r#"{ "password" : "<redacted>" , "b" : [ 1 ] }"#),
            ),
            (
                r#"[{"secret":"a"},{"secret":"b"}]"#,
                Some(r#"[{"secret":"<redacted>"},{"secret":"<redacted>"}]"#),
            ),
            (
                r#"{"secret":[1,2],"after":3}"#,
                Some(r#"{"secret":[0,0],"after":3}"#),
            ),
            (
                r#"{"key":"abc","keys":["k"]}"#,
                Some(r#"{"key":"<redacted>","keys":["k"]}"#),
            ),
            (
                r#"{"author":"x","footprint":3,"businessName":"y","pinned":true,"publicKey":"p"}"#,
                None,
            ),
            (
                r#"{"card_number":"4111","cvv2":"123","ssn":"1","SSN":"2"}"#,
                Some(
                    r#"{"card_number":"<redacted>","cvv2":"<redacted>","ssn":"<redacted>","SSN":"<redacted>"}"#,
                ),
            ),
            (r#"{"password":"<redacted>"}"#, None),
            (
                "{\"a\":1}\n{\"password\":\"x\"}\n",
                Some("{\"a\":1}\n{\"password\":\"<redacted>\"}\n"),
            ),
            (r#"["password","x"]"#, None),
            (r#"{"a":"password","b":"x"}"#, None),
            (r#"{"password" "x"}"#, Some(r#"{"password" "<redacted>"}"#)),
            (
                "\u{feff}{\"secret\":\"x\"}",
                Some("\u{feff}{\"secret\":\"<redacted>\"}"),
            ),
            (
                r#"{"ünïcödé_password":"x"}"#,
                Some(r#"{"ünïcödé_password":"<redacted>"}"#),
            ),
        ];
        for (body, expected) in cases {
            for ct in [
                Some("application/json"),
                Some("application/json; charset=utf-8"),
                None,
            ] {
                assert_eq!(body_str(&r, ct, body).as_deref(), expected, "{ct:?} {body}");
            }
        }
    }

    #[test]
    fn truncated_json() {
        let r = redactor();
        let cut_jwt = format!(r#"{{"data":"{}"#, &JWT[..60]);
        let cases: Vec<(&str, Option<&str>)> = vec![
            (r#"{"password":"hun"#, Some(r#"{"password":"<redacted>""#)),
            (r#"{"password":"hu\"#, Some(r#"{"password":"<redacted>""#)),
            (
                r#"{"password":"hu\u00"#,
                Some(r#"{"password":"<redacted>""#),
            ),
            (r#"{"password":""#, Some(r#"{"password":"<redacted>""#)),
            (r#"{"pin":12"#, Some(r#"{"pin":0"#)),
            (r#"{"pin":12.5e"#, Some(r#"{"pin":0.0"#)),
            (r#"{"pin":-"#, Some(r#"{"pin":0"#)),
            (r#"{"password":"#, None),
            (r#"{"password""#, None),
            (r#"{"passw"#, None),
            (
                r#"{"secret":{"a":"xy"#,
                Some(r#"{"secret":{"a":"<redacted>""#),
            ),
            (r#"{"secret":[1,2"#, Some(r#"{"secret":[0,0"#)),
            (r#"{"secret":tr"#, None),
            (&cut_jwt, Some(r#"{"data":"<redacted>""#)),
            (r#"{"a":"eyJhbGciOiJIUzI1"#, None),
        ];
        for (body, expected) in cases {
            assert_eq!(
                body_str(&r, Some("application/json"), body).as_deref(),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn json_content_types() {
        let r = redactor();
        let body = r#"{"secret":"x"}"#;
        let redacted = Some(r#"{"secret":"<redacted>"}"#);
        for ct in [
            "application/json",
            "APPLICATION/JSON",
            "application/vnd.api+json",
            "application/problem+json; charset=utf-8",
            "text/json",
            "application/x-amz-json-1.1",
            "text/plain",
            "application/octet-stream",
        ] {
            assert_eq!(body_str(&r, Some(ct), body).as_deref(), redacted, "{ct}");
        }
        assert_eq!(
            body_str(&r, None, "  \n\t[{\"secret\":1}]").as_deref(),
            Some("  \n\t[{\"secret\":0}]")
        );
        // Labelled JSON that is not JSON at all passes through.
        assert_eq!(
            body_str(&r, Some("application/json"), "<html>password=x</html>"),
            None
        );
        assert_eq!(
            body_str(&r, Some("application/json"), "not json at all"),
            None
        );
        assert_eq!(body_str(&r, None, "<p>password=x</p>"), None);
        assert_eq!(
            body_str(&r, None, "a=1&&password=x").as_deref(),
            Some("a=1&&password=<redacted>")
        );
        assert_eq!(body_str(&r, None, "=1&password=x"), None, "nameless pair");
    }

    #[test]
    fn deep_nesting_is_fine() {
        let r = redactor();
        let depth = 200_000;
        let mut body = "[".repeat(depth);
        body.push_str(r#"{"password":"x"}"#);
        body.push_str(&"]".repeat(depth));
        let out = body_str(&r, Some("application/json"), &body).unwrap();
        assert_eq!(out.len(), body.len() + "<redacted>".len() - 1);
        assert!(out.contains(r#"{"password":"<redacted>"}"#));
        // Deep nesting under a secret key, then back out to a plain key.
        let mut body = String::from(r#"{"secret":"#);
        body.push_str(&"[".repeat(1000));
        body.push('7');
        body.push_str(&"]".repeat(1000));
        body.push_str(r#","plain":7}"#);
        let out = body_str(&r, None, &body).unwrap();
        assert!(out.contains("[0]"));
        assert!(out.ends_with(r#","plain":7}"#));
        // Unbalanced garbage: only opening brackets.
        let body = "{[".repeat(100_000);
        assert_eq!(r.body(None, body.as_bytes()), None);
    }

    /// Patterns that would take quadratic time in a naive scanner. At 1 MiB
    /// each, a quadratic pass would not finish in any reasonable test run.
    #[test]
    fn adversarial_inputs_finish() {
        let r = redactor();
        let started = std::time::Instant::now();
        let mib = 1 << 20;
        let pattern = |p: &str| p.repeat(mib / p.len());
        let json_like = [
            pattern("eyJ"),
            pattern(".eyJaaaaaaaaaa"),
            pattern("eyJaaaaaaaaaa.b"),
            pattern("\"\\"),
            pattern("{\"password\":"),
            pattern("[\"a\","),
            format!("{{\"a\":\"{}", pattern("\\\"")),
        ];
        for body in &json_like {
            let _ = r.body(Some("application/json"), body.as_bytes());
            let _ = r.body(Some("text/plain"), body.as_bytes());
        }
        let multipart = pattern("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n");
        let _ = r.body(
            Some("multipart/form-data; boundary=b"),
            multipart.as_bytes(),
        );
        let _ = r.body(
            Some("multipart/form-data; boundary=b"),
            pattern("b\n--").as_bytes(),
        );
        let _ = r.query(&pattern("a=1;"));
        let _ = r.query(&pattern("password=;"));
        let _ = r.header("cookie", &pattern("a=\";"));
        let _ = r.header("set-cookie", &pattern("a=b,"));
        let _ = r.header("x-debug", &pattern(".eyJaaaaaaaaaa"));
        // Linear passes take well under a second even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn nesting_bits_survive_spills() {
        let mut n = Nesting::default();
        let pattern = |i: usize| i.is_multiple_of(3) || i.is_multiple_of(7);
        for i in 0..300 {
            n.push(pattern(i));
            assert_eq!(n.top_is_object(), pattern(i), "push {i}");
        }
        for i in (0..300).rev() {
            assert_eq!(n.top_is_object(), pattern(i), "pop {i}");
            n.pop();
        }
        assert!(!n.top_is_object());
        n.pop();
        assert_eq!(n.depth(), 0);
    }

    #[test]
    fn form_bodies() {
        let r = redactor();
        let ct = Some("application/x-www-form-urlencoded");
        let cases: Vec<(Option<&str>, &str, Option<&str>)> = vec![
            (
                ct,
                "user=bob&password=hunter2",
                Some("user=bob&password=<redacted>"),
            ),
            (
                ct,
                "grant_type=refresh_token&refresh_token=abc&client_secret=s",
                Some("grant_type=refresh_token&refresh_token=<redacted>&client_secret=<redacted>"),
            ),
            (ct, "user=bob&remember=1", None),
            (ct, "newPassword=x", Some("newPassword=<redacted>")),
            (
                ct,
                "cvv=123&card_number=4111",
                Some("cvv=<redacted>&card_number=<redacted>"),
            ),
            (
                None,
                "user=bob&password=hunter2",
                Some("user=bob&password=<redacted>"),
            ),
            (Some("text/plain"), "user=bob&password=hunter2", None),
            (ct, "user=bob&password=<redacted>", None),
            (
                ct,
                r#"{"password":"x"}"#,
                Some(r#"{"password":"<redacted>"}"#),
            ),
            (
                Some("application/json"),
                "user=bob&password=hunter2",
                Some("user=bob&password=<redacted>"),
            ),
        ];
        for (ct, body, expected) in cases {
            assert_eq!(body_str(&r, ct, body).as_deref(), expected, "{ct:?} {body}");
        }
    }

    #[test]
    fn multipart_bodies() {
        let r = redactor();
        let body = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"user\"\r\n\r\n\
            bob\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"password\"\r\n\r\n\
            hunter2\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"meta\"\r\n\
            Content-Type: application/json\r\n\r\n\
            {\"api_key\":\"k\",\"n\":1}\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"password.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            file contents\r\n\
            --XyZ--\r\n";
        let expected = body
            .replace("hunter2", "<redacted>")
            .replace("\"k\"", "\"<redacted>\"");
        for ct in [
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data; boundary=\"XyZ\"",
            "multipart/form-data",
        ] {
            assert_eq!(
                body_str(&r, Some(ct), body).as_deref(),
                Some(expected.as_str()),
                "{ct}"
            );
        }
        // Cut inside the secret part: everything after the part headers goes.
        let cut = &body[..body.find("hunter2").unwrap() + 3];
        let out = body_str(&r, Some("multipart/form-data; boundary=XyZ"), cut).unwrap();
        assert!(
            out.ends_with("name=\"password\"\r\n\r\n<redacted>"),
            "{out}"
        );
        // Cut inside the part headers: nothing secret has been sent yet.
        let cut = &body[..body.find("name=\"pass").unwrap() + 8];
        assert_eq!(
            body_str(&r, Some("multipart/form-data; boundary=XyZ"), cut),
            None
        );
        // Nothing secret at all.
        let plain = "--b\nContent-Disposition: form-data; name=\"a\"\n\nx\n--b--\n";
        assert_eq!(
            body_str(&r, Some("multipart/form-data; boundary=b"), plain),
            None
        );
        // LF-only line breaks and an unquoted name.
        let lf = "--b\nContent-Disposition: form-data; name=token\n\nsecret-value\n--b--\n";
        assert_eq!(
            body_str(&r, Some("multipart/form-data; boundary=b"), lf).as_deref(),
            Some("--b\nContent-Disposition: form-data; name=token\n\n<redacted>\n--b--\n")
        );
    }

    #[test]
    fn text_and_binary_bodies() {
        let r = redactor();
        let html = format!("<script>var t = \"{JWT}\";</script>");
        assert_eq!(
            body_str(&r, Some("text/html"), &html).as_deref(),
            Some("<script>var t = \"<redacted>\";</script>")
        );
        let cut = format!("token: {}", &JWT[..50]);
        assert_eq!(
            body_str(&r, None, &cut).as_deref(),
            Some("token: <redacted>")
        );
        assert_eq!(
            body_str(&r, Some("text/plain"), "password=x but just text"),
            None
        );
        assert_eq!(r.body(Some("image/png"), JWT.as_bytes()), None);
        assert_eq!(
            r.body(Some("application/octet-stream"), b"\x00\x01password"),
            None
        );
        assert_eq!(r.body(Some("application/json"), b""), None);
    }

    #[test]
    fn disabled_does_nothing() {
        let r = Redactor::new(&RedactionConfig {
            enabled: false,
            ..RedactionConfig::default()
        });
        assert!(!r.is_enabled());
        assert_eq!(r.header("authorization", "Bearer x"), None);
        assert_eq!(r.header("cookie", "a=b"), None);
        assert_eq!(r.query("token=x"), None);
        assert_eq!(
            r.body(Some("application/json"), br#"{"password":"x"}"#),
            None
        );
        assert_eq!(r.body(None, JWT.as_bytes()), None);
        assert!(redactor().is_enabled());
    }

    #[test]
    fn configured_additions_and_exemptions() {
        let config: RedactionConfig = serde_json::from_value(serde_json::json!({
            "headers": ["X-Tenant"],
            "query_params": ["tenant_id"],
            "body_fields": ["iban"],
            "exempt_headers": ["x-csrf-token"],
            "exempt_query_params": ["code"],
            "exempt_body_fields": ["session", "publicSignature"],
        }))
        .unwrap();
        assert!(config.enabled, "enabled defaults to true");
        let r = Redactor::new(&config);
        assert_eq!(r.header("x-tenant", "acme").as_deref(), Some("<redacted>"));
        assert_eq!(r.header("x_tenant", "acme").as_deref(), Some("<redacted>"));
        assert_eq!(r.header("x-csrf-token", "t"), None);
        assert_eq!(r.header("x-csrf-token", JWT), None);
        assert_eq!(r.header("x-api-key", "k").as_deref(), Some("<redacted>"));
        assert_eq!(
            r.query("tenantId=a&code=US").as_deref(),
            Some("tenantId=<redacted>&code=US")
        );
        assert_eq!(r.query("tenant_id_x=a"), None);
        assert_eq!(
            body_str(
                &r,
                None,
                r#"{"payerIBAN":"DE00","session":"s","publicSignature":"p","signature":"q"}"#
            )
            .as_deref(),
            Some(
                r#"{"payerIBAN":"<redacted>","session":"s","publicSignature":"p","signature":"<redacted>"}"#
            )
        );
        // A form field is checked against both query and body rules.
        assert_eq!(
            body_str(
                &r,
                Some("application/x-www-form-urlencoded"),
                "iban=1&tenant_id=2&code=3"
            )
            .as_deref(),
            Some("iban=<redacted>&tenant_id=<redacted>&code=3")
        );
    }

    #[test]
    fn config_serde() {
        let default: RedactionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(default, RedactionConfig::default());
        assert!(default.enabled);
        assert!(serde_json::from_str::<RedactionConfig>(r#"{"enabeld":false}"#).is_err());
        let off: RedactionConfig = serde_json::from_str(r#"{"enabled":false}"#).unwrap();
        assert!(!off.enabled);
        let round: RedactionConfig =
            serde_json::from_str(&serde_json::to_string(&off).unwrap()).unwrap();
        assert_eq!(round, off);
    }

    #[test]
    fn names_fold() {
        assert_eq!(Folded::plain(b"X-Api_Key.v 2").as_bytes(), b"xapikeyv2");
        assert_eq!(Folded::percent_decoded(b"a%5Fb+c%2").as_bytes(), b"abc%2");
        assert_eq!(
            Folded::json_key(br#"P\u0061ss\"w\\"#).as_bytes(),
            b"pass\"w\\"
        );
        assert_eq!(Folded::json_key(br#"\u00e9x"#).as_bytes(), b"\xffx");
        assert!(Folded::plain(&[b'a'; NAME_CAP + 1]).overflow);
        let r = redactor();
        let long_key = format!(r#"{{"{}":"v"}}"#, "a".repeat(200));
        assert!(
            r.body(None, long_key.as_bytes()).is_some(),
            "overlong names are treated as secret"
        );
    }

    #[test]
    fn jwt_detection() {
        let cases: Vec<(&str, bool, bool)> = vec![
            (JWT, true, true),
            ("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", true, true),
            ("xeyJhbGciOiJIUzI1NiJ9.eyJz.sig", false, false),
            ("eyJhbGciOiJIUzI1NiJ9", false, false),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", false, true),
            ("eyJhbGciOiJIUzI1NiJ9.", false, true),
            ("eyJhbG.eyJz.sig", false, false),
            (
                "prefix eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig suffix",
                true,
                true,
            ),
        ];
        for (s, complete, cut) in cases {
            assert_eq!(find_jwt(s.as_bytes(), false).is_some(), complete, "{s}");
            assert_eq!(find_jwt(s.as_bytes(), true).is_some(), cut, "{s} (cut)");
        }
    }

    /// Strategy for JSON documents whose secret values all start with `QZ`,
    /// and whose other content never contains `Q` or `Z`.
    fn json_with_secrets() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let plain_key = "[a-y]{1,6}".prop_filter("not secret", |k| {
            let f = Folded::plain(k.as_bytes());
            redactor().fields.classify(&f) == Verdict::Plain
        });
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-y0-9 ]{0,8}".prop_map(Value::String),
        ];
        let secret_key = prop::sample::select(vec![
            "password",
            "apiKey",
            "client_secret",
            "pin",
            "Authorization",
        ]);
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        plain_key.clone(),
                        inner.clone(),
                        secret_key.clone(),
                        "[a-y0-9]{0,10}",
                        any::<bool>()
                    ),
                    0..4
                )
                .prop_map(|entries| {
                    let mut map = serde_json::Map::new();
                    for (k, v, sk, secret, use_secret) in entries {
                        if use_secret {
                            map.insert(sk.to_owned(), Value::String(format!("QZ{secret}")));
                        } else {
                            map.insert(k, v);
                        }
                    }
                    Value::Object(map)
                }),
            ]
        })
    }

    /// The JSON type tree, with integers and other numbers told apart.
    fn shape(v: &serde_json::Value) -> String {
        use serde_json::Value;
        match v {
            Value::Null => "n".into(),
            Value::Bool(_) => "b".into(),
            Value::Number(n) if n.is_f64() => "f".into(),
            Value::Number(_) => "i".into(),
            Value::String(_) => "s".into(),
            Value::Array(a) => format!("[{}]", a.iter().map(shape).collect::<Vec<_>>().join(",")),
            Value::Object(o) => format!(
                "{{{}}}",
                o.iter()
                    .map(|(k, v)| format!("{k}:{}", shape(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    proptest! {
        #[test]
        fn body_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            ct in prop::sample::select(vec![
                None,
                Some("application/json"),
                Some("application/x-www-form-urlencoded"),
                Some("multipart/form-data; boundary=b"),
                Some("multipart/form-data"),
                Some("text/plain"),
            ]),
        ) {
            let r = redactor();
            let _ = r.body(ct, &bytes);
        }

        #[test]
        fn json_like_noise_never_panics(s in r#"[\[\]{}":,\\0-9a-z \-.eEtfnu]{0,300}"#) {
            let r = redactor();
            let with_key = format!("{{\"password\":{s}");
            let _ = r.body(Some("application/json"), s.as_bytes());
            if let Some(out) = r.body(Some("application/json"), with_key.as_bytes()) {
                prop_assert!(out.starts_with(br#"{"password":"#), "prefix lost");
            }
        }

        #[test]
        fn multipart_noise_never_panics(s in "(--b|\r\n|\n|name=\"password\"|Content-Disposition: form-data; |Content-Type: application/json|[a-z{}\":]){0,40}") {
            let r = redactor();
            let _ = r.body(Some("multipart/form-data; boundary=b"), s.as_bytes());
        }

        #[test]
        fn headers_and_queries_never_panic(name in "[a-zA-Z-]{0,20}", value in "\\PC{0,80}") {
            let r = redactor();
            let _ = r.header(&name, &value);
            let _ = r.query(&value);
            let _ = r.header("cookie", &value);
            let _ = r.header("set-cookie", &value);
            let _ = r.header("authorization", &value);
            let _ = r.header("location", &value);
        }

        #[test]
        fn secrets_never_survive_any_cut(doc in json_with_secrets(), cut in 0usize..2000) {
            let r = redactor();
            let text = serde_json::to_string(&doc).unwrap();
            let cut = cut.min(text.len());
            let prefix = &text.as_bytes()[..cut];
            let out = r.body(Some("application/json"), prefix).unwrap_or_else(|| prefix.to_vec());
            prop_assert!(!out.windows(2).any(|w| w == b"QZ"), "leak in {}", String::from_utf8_lossy(&out));
            prop_assert!(!out.contains(&b'Q'), "partial leak in {}", String::from_utf8_lossy(&out));
        }

        #[test]
        fn complete_json_keeps_its_shape(doc in json_with_secrets()) {
            let r = redactor();
            let text = serde_json::to_string_pretty(&doc).unwrap();
            let out = r.body(Some("application/json"), text.as_bytes());
            let has_secret = text.contains("QZ");
            prop_assert_eq!(out.is_some(), has_secret);
            if let Some(out) = out {
                let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
                prop_assert_eq!(shape(&parsed), shape(&doc));
                prop_assert!(!String::from_utf8(out).unwrap().contains("QZ"));
            }
        }

        #[test]
        fn queries_keep_everything_else(
            pairs in prop::collection::vec(("[a-z]{0,5}", prop::option::of("[a-z0-9%+=]{0,6}"), any::<bool>()), 0..6),
        ) {
            let r = redactor();
            let parts: Vec<String> = pairs
                .iter()
                .map(|(name, value, secret)| {
                    let name = if *secret { "access_token" } else { name.as_str() };
                    match value {
                        Some(v) => format!("{name}={v}"),
                        None => name.to_owned(),
                    }
                })
                .collect();
            let query = parts.join("&");
            let out = r.query(&query).unwrap_or_else(|| query.clone());
            if parts.is_empty() {
                prop_assert_eq!(out, "");
                return Ok(());
            }
            let out_parts: Vec<&str> = out.split('&').collect();
            prop_assert_eq!(out_parts.len(), parts.len());
            for (before, after) in parts.iter().zip(out_parts) {
                let secret_with_value = before.starts_with("access_token=") && before.len() > "access_token=".len();
                let keeps = !secret_with_value && r.query(before).is_none();
                if keeps {
                    prop_assert_eq!(before.as_str(), after);
                } else {
                    let (name, _) = before.split_once('=').unwrap();
                    prop_assert_eq!(after, format!("{name}=<redacted>"));
                }
            }
        }
    }

    #[test]
    fn binary_bodies_are_never_rewritten() {
        let redactor = Redactor::new(&RedactionConfig::default());
        // Not UTF-8, yet full of things the text scanners would touch.
        let mut body = b"{\"password\":\"hunter2\",\"t\":\"eyJhbGciOiJIUzI1NiJ9.e30.x\"}".to_vec();
        body.extend_from_slice(&[0xff, 0xfe, 0x00, 0x80]);
        for content_type in [
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            assert_eq!(redactor.body(content_type, &body), None, "{content_type:?}");
        }
        // Text cut in the middle of a character is still text, and still redacted.
        let cut = "{\"password\":\"hunter2\",\"name\":\"Jos\u{e9}\"}".as_bytes();
        let cut = &cut[..cut.len() - 3];
        let redacted = redactor
            .body(Some("application/json"), cut)
            .expect("redacted");
        assert!(!String::from_utf8_lossy(&redacted).contains("hunter2"));
    }
}
