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

use serde::{Deserialize, Serialize};

use crate::model::exchange::boundary_param;

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

mod credentials;
mod json;
mod multipart;
mod names;
mod params;
#[cfg(test)]
mod tests;

use credentials::*;
use multipart::sniff_boundary;
use names::*;

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
