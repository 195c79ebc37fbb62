//! Query strings of the read routes: a parameter the route does not take is an error that names
//! it (`?hots=x` would otherwise silently return everything), never ignored.

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The query parameters a route takes.
pub(super) trait QueryParams: DeserializeOwned {
    /// Every parameter name the route accepts.
    const NAMES: &'static [&'static str];
}

/// For routes that take no query parameters.
#[derive(Debug, Deserialize)]
pub(super) struct NoParams {}

impl QueryParams for NoParams {
    const NAMES: &'static [&'static str] = &[];
}

/// Extracts `T` from the query string, answering 400 for unknown names and bad values.
#[derive(Debug)]
pub(super) struct Strict<T>(pub(super) T);

impl<S: Send + Sync, T: QueryParams> FromRequestParts<S> for Strict<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or_default()).map(Strict)
    }
}

fn parse<T: QueryParams>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::InvalidParameter(format!("the query string cannot be read: {e}")))?;
    let unknown: BTreeSet<&str> = pairs
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !T::NAMES.contains(name))
        .collect();
    if !unknown.is_empty() {
        let listed = |names: &mut dyn Iterator<Item = &str>| {
            names
                .take(10)
                .map(|n| format!("`{}`", n.chars().take(64).collect::<String>()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let takes = if T::NAMES.is_empty() {
            "this route takes no query parameters".to_owned()
        } else {
            format!("this route takes {}", listed(&mut T::NAMES.iter().copied()))
        };
        return Err(ApiError::InvalidParameter(format!(
            "unknown query parameter{} {}: {takes}",
            if unknown.len() == 1 { "" } else { "s" },
            listed(&mut unknown.into_iter()),
        )));
    }
    serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::InvalidParameter(format!("invalid query parameter: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Two {
        host: Option<String>,
        flag: Option<bool>,
    }

    impl QueryParams for Two {
        const NAMES: &'static [&'static str] = &["host", "flag"];
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn known_parameters_parse() {
        let two: Two = parse("host=a.example&flag=true").unwrap();
        assert_eq!(two.host.as_deref(), Some("a.example"));
        assert_eq!(two.flag, Some(true));
        let empty: Two = parse("").unwrap();
        assert!(empty.host.is_none() && empty.flag.is_none());
        parse::<NoParams>("").unwrap();
    }

    #[test]
    fn unknown_parameters_are_named() {
        let m = message(parse::<Two>("hots=x&host=y&zz=1"));
        assert!(m.contains("unknown query parameters `hots`, `zz`"), "{m}");
        assert!(m.contains("`host`, `flag`"), "{m}");
        let m = message(parse::<NoParams>("pretty=1"));
        assert!(
            m.contains("`pretty`") && m.contains("takes no query parameters"),
            "{m}"
        );
    }

    #[test]
    fn hostile_query_strings_are_refused_cleanly() {
        let m = message(parse::<Two>("flag=maybe"));
        assert!(m.contains("invalid query parameter"), "{m}");
        let long = format!("{}=1", "a".repeat(10_000));
        let m = message(parse::<Two>(&long));
        assert!(m.len() < 400, "{}", m.len());
        assert!(parse::<Two>("%ZZ=1&&&=").is_err());
    }
}
