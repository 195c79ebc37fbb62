//! Credentials in (redacted) requests, and the OpenAPI security schemes they stand for.
//!
//! Redaction keeps names and drops values, which is all this needs: an `Authorization` header
//! keeps its scheme (`Bearer <redacted>`), cookies keep their names, API-key headers and query
//! parameters keep theirs. Each credential becomes a short key stored in summaries:
//!
//! | key | seen as | scheme |
//! |---|---|---|
//! | `bearer` | `Authorization: Bearer …` | `http`, `bearer` (`bearerFormat: JWT` when a token looked like one or was redacted as `<redacted:jwt>`) |
//! | `basic` | `Authorization: Basic …` | `http`, `basic` |
//! | `http:digest` | another IANA-registered HTTP scheme | `http` with that scheme |
//! | `authz:token` | an unregistered scheme (`Token …`), or none (`authz:`) | `apiKey` in the `Authorization` header |
//! | `header:x-api-key` | an API-key header ([`is_api_key_header`]) | `apiKey` in that header |
//! | `query:api_key` | an API-key query parameter ([`is_api_key_query`]) | `apiKey` in the query |
//! | `cookie:sessionid` | a session cookie ([`is_session_cookie`]) | `apiKey` in that cookie |
//!
//! What is a credential is never also listed as a parameter.

use serde_json::{Map, Value, json};

use super::naming::camel_case;

/// HTTP authentication schemes in the IANA registry (besides `basic` and `bearer`), which OpenAPI
/// describes as `type: http`.
const HTTP_SCHEMES: &[&str] = &[
    "digest",
    "dpop",
    "gnap",
    "hoba",
    "mutual",
    "negotiate",
    "privatetoken",
    "scram-sha-1",
    "scram-sha-256",
    "vapid",
];

/// Header names that carry an API key or a token.
const API_KEY_HEADERS: &[&str] = &[
    "x-api-key",
    "api-key",
    "apikey",
    "x-apikey",
    "x-api-token",
    "x-auth-token",
    "x-access-token",
    "x-auth-key",
    "x-token",
    "x-key",
    "x-auth",
    "x-session-token",
    "x-goog-api-key",
    "x-functions-key",
    "ocp-apim-subscription-key",
    "private-token",
    "x-user-token",
    "x-client-secret",
    "x-app-key",
    "x-application-key",
];

/// Query parameter names that carry an API key or a token.
const API_KEY_QUERY: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "apiKey",
    "key",
    "access_token",
    "accessToken",
    "token",
    "auth_token",
    "authToken",
    "api_token",
    "apiToken",
    "subscription-key",
    "client_secret",
];

/// Cookie names that hold a session or a token.
const SESSION_COOKIES: &[&str] = &[
    "sid",
    "connect.sid",
    "auth",
    "token",
    "jwt",
    "access_token",
    "auth_token",
    "id_token",
    "remember_token",
    "remember_me",
];

/// Whether a (lower-case) request header carries an API key: a known name, or a name ending in
/// `api-key`, `apikey`, `auth-token` or `access-token`.
pub(crate) fn is_api_key_header(name: &str) -> bool {
    API_KEY_HEADERS.contains(&name)
        || [
            "api-key",
            "apikey",
            "auth-token",
            "access-token",
            "api-token",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Whether a query parameter carries an API key.
pub(crate) fn is_api_key_query(name: &str) -> bool {
    API_KEY_QUERY.contains(&name)
}

/// Whether a cookie holds a session: a known name, or a name containing `session` (any case:
/// `sessionid`, `JSESSIONID`, `laravel_session`, `next-auth.session-token`) or `sessid`
/// (`PHPSESSID`).
pub(crate) fn is_session_cookie(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SESSION_COOKIES.contains(&lower.as_str())
        || lower.contains("session")
        || lower.contains("sessid")
        || lower.ends_with(".sid")
        || lower.ends_with("_sid")
}

/// The key of an `Authorization` value, and whether the token is (or was) a JWT.
pub(crate) fn authorization(value: &str) -> Option<(String, bool)> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (scheme, token) = match value.split_once([' ', '\t']) {
        Some((scheme, token)) if !super::text::is_redacted(scheme) => (scheme, token.trim()),
        _ => return Some(("authz:".to_owned(), looks_like_jwt(value))),
    };
    let scheme = scheme.to_ascii_lowercase();
    let valid = scheme.len() <= 32
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b));
    if !valid {
        return Some(("authz:".to_owned(), false));
    }
    let jwt = looks_like_jwt(token);
    Some(match scheme.as_str() {
        "bearer" => ("bearer".to_owned(), jwt),
        "basic" => ("basic".to_owned(), false),
        s if HTTP_SCHEMES.contains(&s) => (format!("http:{s}"), false),
        s => (format!("authz:{s}"), jwt),
    })
}

/// A JWT redacted with its hint, or a token shaped like one: `eyJ…` with three dot-separated
/// base64url parts.
fn looks_like_jwt(token: &str) -> bool {
    token == "<redacted:jwt>"
        || (token.starts_with("eyJ")
            && token.split('.').count() == 3
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=')))
}

/// The base name of the component for a key (made unique by the caller) and the Security Scheme
/// Object; `None` for an unknown key.
pub(crate) fn scheme(key: &str, jwt: bool) -> Option<(String, Value)> {
    let api_key =
        |location: &str, name: &str| json!({"type": "apiKey", "in": location, "name": name});
    let (base, scheme) = match key.split_once(':') {
        None if key == "bearer" => {
            let mut scheme = Map::new();
            scheme.insert("type".into(), json!("http"));
            scheme.insert("scheme".into(), json!("bearer"));
            if jwt {
                scheme.insert("bearerFormat".into(), json!("JWT"));
            }
            ("bearerAuth".to_owned(), Value::Object(scheme))
        }
        None if key == "basic" => (
            "basicAuth".to_owned(),
            json!({"type": "http", "scheme": "basic"}),
        ),
        Some(("http", s)) => (
            format!("{}Auth", camel_case(s)),
            json!({"type": "http", "scheme": s}),
        ),
        Some(("authz", "")) => (
            "authorizationHeader".to_owned(),
            api_key("header", "Authorization"),
        ),
        Some(("authz", s)) => {
            let mut scheme = api_key("header", "Authorization");
            scheme["description"] =
                json!(format!("The `Authorization` header with the `{s}` scheme."));
            (format!("{}Auth", camel_case(s)), scheme)
        }
        Some(("header", name)) => (camel_case(name), api_key("header", name)),
        Some(("query", name)) => (format!("{}Query", camel_case(name)), api_key("query", name)),
        Some(("cookie", name)) => (
            format!("{}Cookie", camel_case(name)),
            api_key("cookie", name),
        ),
        _ => return None,
    };
    let base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("auth{base}")
    } else {
        base
    };
    Some((base, scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values() {
        let cases: &[(&str, Option<(&str, bool)>)] = &[
            ("Bearer <redacted>", Some(("bearer", false))),
            ("bearer <redacted:jwt>", Some(("bearer", true))),
            (
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                Some(("bearer", true)),
            ),
            ("Basic <redacted>", Some(("basic", false))),
            ("Digest <redacted>", Some(("http:digest", false))),
            ("Token <redacted>", Some(("authz:token", false))),
            ("<redacted>", Some(("authz:", false))),
            ("", None),
        ];
        for &(value, expected) in cases {
            let got = authorization(value);
            assert_eq!(
                got.as_ref().map(|(k, j)| (k.as_str(), *j)),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn names() {
        for name in [
            "x-api-key",
            "x-auth-token",
            "ocp-apim-subscription-key",
            "x-my-apikey",
        ] {
            assert!(is_api_key_header(name), "{name}");
        }
        for name in ["x-request-id", "accept", "x-csrf-token"] {
            assert!(!is_api_key_header(name), "{name}");
        }
        for name in [
            "sessionid",
            "JSESSIONID",
            "PHPSESSID",
            "connect.sid",
            "laravel_session",
            "sid",
        ] {
            assert!(is_session_cookie(name), "{name}");
        }
        for name in ["theme", "_ga", "csrftoken", "lang"] {
            assert!(!is_session_cookie(name), "{name}");
        }
        assert!(is_api_key_query("api_key"));
        assert!(!is_api_key_query("page"));
    }

    #[test]
    fn schemes() {
        assert_eq!(
            scheme("bearer", true),
            Some((
                "bearerAuth".to_owned(),
                json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
            ))
        );
        assert_eq!(
            scheme("header:x-api-key", false),
            Some((
                "xApiKey".to_owned(),
                json!({"type": "apiKey", "in": "header", "name": "x-api-key"})
            ))
        );
        assert_eq!(
            scheme("cookie:connect.sid", false).map(|(n, _)| n),
            Some("connectSidCookie".to_owned())
        );
        assert_eq!(scheme("nonsense", false), None);
    }
}
