//! Token checks for producers (ingest) and readers (query routes).
//!
//! Producers in the field authenticate in different ways, all accepted: `Authorization: Bearer
//! <t>`, a raw `Authorization: <t>` (Akto), `X-Api-Key: <t>`, and `X-Trace-Source-Token: <t>`
//! (APIClarity). Tokens are compared as SHA-256 digests in constant time, so neither the
//! content nor the length of a configured token leaks through timing.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// A set of accepted tokens, kept only as digests.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Builds the set from configured secrets.
    pub fn new(tokens: &[SecretString]) -> Self {
        Self {
            digests: tokens.iter().map(|t| digest(t.expose_secret())).collect(),
        }
    }

    /// True when no token is configured, i.e. the routes are open.
    pub fn is_open(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `candidate` is one of the tokens. Every configured token is compared, so the
    /// time taken does not depend on which one matched.
    pub fn accepts(&self, candidate: &str) -> bool {
        let candidate = digest(candidate);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| {
                found | d.ct_eq(&candidate)
            })
            .into()
    }

    /// Whether any credential the request carries is accepted.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        self.is_open() || presented_tokens(headers).any(|t| self.accepts(t))
    }
}

/// Every token-like value in the request, in the forms producers use.
fn presented_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let authorization = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .filter_map(|v| {
            let v = v.to_str().ok()?.trim();
            // `Bearer <t>` or a raw token (Akto sends its JWT with no scheme).
            Some(match v.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => v,
            })
        });
    let others = ["x-api-key", "x-trace-source-token"]
        .into_iter()
        .flat_map(|name| headers.get_all(name).iter())
        .filter_map(|v| v.to_str().ok().map(str::trim));
    authorization.chain(others)
}

/// Middleware: rejects requests without an accepted token with 401.
pub async fn require_token(State(tokens): State<Tokens>, request: Request, next: Next) -> Response {
    if tokens.allows(request.headers()) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn every_producer_style_is_accepted() {
        let tokens = Tokens::new(&[SecretString::from("t0k3n"), SecretString::from("other")]);
        for h in [
            headers(&[("authorization", "Bearer t0k3n")]),
            headers(&[("authorization", "bearer  t0k3n ")]),
            headers(&[("authorization", "t0k3n")]),
            headers(&[("x-api-key", "t0k3n")]),
            headers(&[("x-trace-source-token", "other")]),
            headers(&[("authorization", "Bearer wrong"), ("x-api-key", "t0k3n")]),
        ] {
            assert!(tokens.allows(&h), "{h:?}");
        }
        for h in [
            headers(&[]),
            headers(&[("authorization", "Bearer t0k3")]),
            headers(&[("authorization", "Basic t0k3n")]),
            headers(&[("x-api-key", "t0k3n0")]),
            headers(&[("cookie", "t0k3n")]),
        ] {
            assert!(!tokens.allows(&h), "{h:?}");
        }
    }

    #[test]
    fn no_tokens_means_open() {
        assert!(Tokens::default().allows(&headers(&[])));
        assert!(!format!("{:?}", Tokens::new(&[SecretString::from("abc")])).contains("abc"));
    }
}
