//! Name rules: which header, parameter and field names say their value is secret, matched on
//! folded names (lower case, `_ - .` and spaces removed) without allocating.

use super::*;

// ---------------------------------------------------------------------------
// Built-in name lists. All entries are folded: lower case, no `_ - . space`.
// ---------------------------------------------------------------------------

/// Headers that are secret by exact name (beyond what the fragments catch).
pub(super) const HEADER_EXACT: &[&str] = &[
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
pub(super) const HEADER_FRAGMENTS: &[&str] = &[
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
pub(super) const HEADER_BENIGN: &[&str] = &["accesscontrolallowcredentials"];

/// Field names (JSON keys, query and form parameters) that are secret only
/// as a whole name: as fragments they would match ordinary words (`pin` in
/// `pinned`, `ssn` in `businessName`, `otp` in `footprint`).
pub(super) const FIELD_EXACT: &[&str] = &[
    "key", "pin", "otp", "ssn", "pan", "sid", "session", "auth", "pass", "pw", "salt",
];

/// Query and form parameters that are secret by exact name: OAuth codes,
/// URL signatures, CAS tickets, SAML messages.
pub(super) const QUERY_EXACT: &[&str] = &[
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
pub(super) const FIELD_FRAGMENTS: &[&str] = &[
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
pub(super) const FIELD_STRING_FRAGMENTS: &[&str] = &["token"];

/// Field names that match a fragment but carry nothing secret. `token_type`
/// is `Bearer` in every OAuth token response, and useful for specs.
pub(super) const FIELD_BENIGN: &[&str] = &["tokentype"];

/// Set-Cookie attributes (RFC 6265 and older) that are kept verbatim.
pub(super) const COOKIE_ATTRIBUTES: &[&str] = &[
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
pub(super) enum Verdict {
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
    pub(super) fn redacts_strings(self) -> bool {
        self >= Self::Strings
    }
}

/// A name folded for matching into a fixed buffer, so matching never
/// allocates.
pub(super) struct Folded {
    pub(super) buf: [u8; NAME_CAP],
    pub(super) len: usize,
    pub(super) overflow: bool,
}

impl Folded {
    pub(super) fn empty() -> Self {
        Self {
            buf: [0; NAME_CAP],
            len: 0,
            overflow: false,
        }
    }

    pub(super) fn push(&mut self, b: u8) {
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

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// A header, multipart or configured name.
    pub(super) fn plain(name: &[u8]) -> Self {
        let mut f = Self::empty();
        for &b in name {
            f.push(b);
        }
        f
    }

    /// A query or form name: `+` is a space and `%XX` is decoded, so
    /// `access%5Ftoken` is `access_token`.
    pub(super) fn percent_decoded(name: &[u8]) -> Self {
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
    pub(super) fn json_key(raw: &[u8]) -> Self {
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

pub(super) fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    match pair {
        [h, l] => u8::try_from(digit(*h)? * 16 + digit(*l)?).ok(),
        _ => None,
    }
}

pub(super) fn fold_owned(name: &str) -> Box<[u8]> {
    name.bytes()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' ' | b'\t'))
        .map(|b| b.to_ascii_lowercase())
        .collect()
}

/// Substring matcher for a set of name fragments, grouped by first byte so
/// each position of a name is checked against only the fragments that can
/// start there.
#[derive(Debug)]
pub(super) struct Fragments {
    /// `first[b]` is 1 + the index in `groups` of fragments starting with `b`.
    pub(super) first: [u16; 256],
    pub(super) groups: Vec<Vec<Box<[u8]>>>,
}

impl Fragments {
    pub(super) fn new<I: IntoIterator<Item = Box<[u8]>>>(fragments: I) -> Self {
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

    pub(super) fn found_in(&self, name: &[u8]) -> bool {
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
pub(super) struct NameSet(Vec<(u64, Box<[u8]>)>);

impl NameSet {
    pub(super) fn new<I: IntoIterator<Item = Box<[u8]>>>(names: I) -> Self {
        let mut names: Vec<(u64, Box<[u8]>)> =
            names.into_iter().map(|n| (name_hash(&n), n)).collect();
        names.sort_unstable();
        names.dedup();
        Self(names)
    }

    pub(super) fn contains(&self, hash: u64, name: &[u8]) -> bool {
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
pub(super) fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(super) fn builtin(names: &'static [&'static str]) -> impl Iterator<Item = Box<[u8]>> {
    names.iter().map(|n| fold_owned(n))
}

pub(super) fn fragments_of(names: &'static [&'static str]) -> Fragments {
    Fragments::new(builtin(names))
}

pub(super) fn configured(names: &[String]) -> impl Iterator<Item = Box<[u8]>> + '_ {
    names
        .iter()
        .map(|n| fold_owned(n))
        .filter(|n| !n.is_empty())
}

/// The rules for one kind of name, in order of precedence.
#[derive(Debug)]
pub(super) struct NameRules {
    /// Configured additions: always secret.
    pub(super) forced_exact: NameSet,
    pub(super) forced_fragments: Fragments,
    /// Configured exemptions and built-in benign names.
    pub(super) exempt: NameSet,
    /// Built-in rules.
    pub(super) exact: NameSet,
    pub(super) fragments: Fragments,
    pub(super) string_fragments: Fragments,
}

impl NameRules {
    pub(super) fn classify(&self, name: &Folded) -> Verdict {
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
