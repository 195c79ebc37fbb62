//! Which exchanges are mirrored: the exclusion lists, the status patterns and the "looks like an
//! API" classifier, as plain functions over strings so that they are tested on the host.
//!
//! The variables keep the names and meanings of the Invicti NTA Worker, without its parsing
//! mistakes: list entries are trimmed and compared case-insensitively, methods match exactly (not
//! as a substring of the whole list), and a malformed status pattern is reported instead of
//! silently matching nothing or everything.

use url::Url;

/// A comma-separated list of names compared case-insensitively after trimming each entry;
/// empty entries are ignored, so `""` and `" , "` are empty lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameList {
    names: Vec<String>,
}

impl NameList {
    /// Parses `"CONNECT, options ,TRACE"`.
    pub fn parse(raw: &str) -> Self {
        let names = raw
            .split(',')
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .collect();
        Self { names }
    }

    /// Whether `name` is one of the entries (exact, case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        let name = name.trim();
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether one of the entries occurs in `text` (case-insensitive substring).
    pub fn any_within(&self, text: &str) -> bool {
        let text = text.to_ascii_lowercase();
        self.names.iter().any(|n| text.contains(n.as_str()))
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The entries, lower-cased.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Status codes given as comma-separated three-character patterns where `x` stands for any
/// digit: `4xx` is 400–499, `20x` is 200–209, `404` is just 404.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusPatterns {
    /// Each pattern's three digits; `None` matches any digit.
    patterns: Vec<[Option<u8>; 3]>,
}

impl StatusPatterns {
    /// Parses `"1xx,3xx, 4XX ,404"`. Entries that are not three digits-or-`x` are returned
    /// separately so the caller can report them; they exclude nothing.
    pub fn parse(raw: &str) -> (Self, Vec<String>) {
        let mut patterns = Vec::new();
        let mut invalid = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match Self::parse_pattern(entry) {
                Some(pattern) => patterns.push(pattern),
                None => invalid.push(entry.to_owned()),
            }
        }
        (Self { patterns }, invalid)
    }

    fn parse_pattern(entry: &str) -> Option<[Option<u8>; 3]> {
        let bytes: [u8; 3] = entry.as_bytes().try_into().ok()?;
        let mut pattern = [None; 3];
        for (slot, byte) in pattern.iter_mut().zip(bytes) {
            *slot = match byte {
                b'0'..=b'9' => Some(byte - b'0'),
                b'x' | b'X' => None,
                _ => return None,
            };
        }
        Some(pattern)
    }

    /// Whether `status` matches one of the patterns.
    pub fn contains(&self, status: u16) -> bool {
        if !(100..=999).contains(&status) {
            return false;
        }
        // Each value is below 10, so the narrowing is exact.
        let digits = [status / 100, status / 10 % 10, status % 10].map(|d| d as u8);
        self.patterns.iter().any(|pattern| {
            pattern
                .iter()
                .zip(digits)
                .all(|(want, digit)| want.is_none_or(|w| w == digit))
        })
    }
}

/// The media type of a `Content-Type` value: lower-cased, parameters dropped.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `application/json`, `application/problem+json`, `application/vnd.api+json`, ...
fn is_json(media: &str) -> bool {
    media.starts_with("application/") && media.ends_with("json")
}

/// The request side of the Invicti Worker's "looks like an API" test, kept for parity.
///
/// A request qualifies when its URL mentions an API (`api` or `rest` in the host, path or query;
/// `v1`–`v5` or `1.0`–`5.0` in the path or query) or its body is JSON, a form or multipart (or it
/// has no `Content-Type`), and in both cases the last path segment has no `.` (so `/app.js` and
/// `/logo.png` never qualify).
pub fn looks_like_api_request(url: &Url, content_type: Option<&str>) -> bool {
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{}", url.path(), query),
        None => url.path().to_owned(),
    }
    .to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();

    const API_WORDS: [&str; 2] = ["api", "rest"];
    const VERSIONS: [&str; 10] = [
        "v1", "v2", "v3", "v4", "v5", "1.0", "2.0", "3.0", "4.0", "5.0",
    ];
    let api_like_url = API_WORDS
        .iter()
        .any(|w| path_and_query.contains(w) || host.contains(w))
        || VERSIONS.iter().any(|v| path_and_query.contains(v));

    let api_like_content = match content_type {
        None => true,
        Some(value) if value.trim().is_empty() => true,
        Some(value) => {
            let media = media_type(value);
            is_json(&media)
                || media.starts_with("application/x-www-form-urlencoded")
                || media.starts_with("multipart/form-data")
        }
    };

    let last_segment = url.path().rsplit('/').next().unwrap_or_default();
    let has_extension = last_segment.contains('.');

    (api_like_url || api_like_content) && !has_extension
}

/// The response side of the same test: JSON (`application/*json`) or no `Content-Type` at all.
pub fn looks_like_api_response(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(value) if value.trim().is_empty() => true,
        Some(value) => is_json(&media_type(value)),
    }
}

/// Whether an exchange drawn with `draw` (uniform in `[0, 1)`) is kept at sampling `rate`.
pub fn sampled(rate: f64, draw: f64) -> bool {
    rate >= 1.0 || draw < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn name_lists_are_trimmed_case_insensitive_and_exact() {
        let methods = NameList::parse("CONNECT, options ,TRACE,,");
        assert_eq!(methods.names(), ["connect", "options", "trace"]);
        for m in ["OPTIONS", "options", "Trace", "CONNECT"] {
            assert!(methods.contains(m), "{m}");
        }
        // The Invicti Worker tests the method as a substring of the whole list.
        for m in ["GET", "POST", "CON", "ACE", "OPTIONS,TRACE", ""] {
            assert!(!methods.contains(m), "{m}");
        }
        let headers = NameList::parse("X-A, X-B");
        assert!(headers.contains("x-b"));
        assert!(headers.contains("X-A"));
        assert!(!headers.contains("x-c"));
        assert!(NameList::parse("").is_empty());
        assert!(NameList::parse(" , ").is_empty());
    }

    #[test]
    fn name_lists_match_within_text_for_user_agents() {
        let agents = NameList::parse("ELB-HealthChecker,Prometheus,k8s");
        assert!(agents.any_within("ELB-HealthChecker/2.0"));
        assert!(agents.any_within("Prometheus/2.51.0"));
        assert!(agents.any_within("kube-probe/1.29 (K8S)"));
        assert!(!agents.any_within("curl/8.5.0"));
        assert!(!NameList::parse("").any_within("anything"));
    }

    #[test]
    fn status_patterns() {
        let (p, invalid) = StatusPatterns::parse("1xx,3xx, 4XX ,5xx");
        assert!(invalid.is_empty());
        for s in [100, 101, 199, 301, 304, 399, 400, 404, 499, 500, 503, 599] {
            assert!(p.contains(s), "{s}");
        }
        for s in [200, 201, 204, 299, 600, 99] {
            assert!(!p.contains(s), "{s}");
        }

        let (p, invalid) = StatusPatterns::parse("20x,404");
        assert!(invalid.is_empty());
        assert!(p.contains(200) && p.contains(209) && p.contains(404));
        assert!(!p.contains(210) && !p.contains(403) && !p.contains(405));

        let (p, invalid) = StatusPatterns::parse("4xx, 5, 5xxx, abc, 2x0, -1");
        assert_eq!(invalid, ["5", "5xxx", "abc", "-1"]);
        assert!(p.contains(404) && p.contains(250) && !p.contains(251));

        let (p, invalid) = StatusPatterns::parse("");
        assert!(invalid.is_empty());
        assert!(!p.contains(500));
    }

    #[test]
    fn api_like_requests() {
        let json = Some("application/json; charset=utf-8");
        let html = Some("text/html");
        // The URL mentions an API.
        for u in [
            "https://shop.example/api/orders",
            "https://shop.example/REST/orders",
            "https://api.shop.example/orders",
            "https://shop.example/v2/orders",
            "https://shop.example/orders?version=2.0",
            "https://shop.example/orders?kind=api",
        ] {
            assert!(looks_like_api_request(&url(u), html), "{u}");
        }
        // The body is API-like (or there is none).
        for ct in [
            None,
            Some(""),
            json,
            Some("application/vnd.api+json"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
        ] {
            assert!(
                looks_like_api_request(&url("https://shop.example/orders"), ct),
                "{ct:?}"
            );
        }
        // Neither.
        assert!(!looks_like_api_request(
            &url("https://shop.example/orders"),
            html
        ));
        assert!(!looks_like_api_request(
            &url("https://shop.example/orders"),
            Some("text/plain")
        ));
        // A file-like last segment never qualifies, whatever else.
        for u in [
            "https://api.shop.example/app.js",
            "https://shop.example/api/v1/logo.png?x=1",
        ] {
            assert!(!looks_like_api_request(&url(u), json), "{u}");
        }
        // A dot elsewhere in the path is fine.
        assert!(looks_like_api_request(
            &url("https://shop.example/api/1.0/orders"),
            None
        ));
    }

    #[test]
    fn api_like_responses() {
        for ct in [
            None,
            Some(""),
            Some("application/json"),
            Some("Application/Problem+JSON; charset=utf-8"),
        ] {
            assert!(looks_like_api_response(ct), "{ct:?}");
        }
        for ct in [
            Some("text/html"),
            Some("application/xml"),
            Some("image/png"),
            Some("text/json"),
        ] {
            assert!(!looks_like_api_response(ct), "{ct:?}");
        }
    }

    #[test]
    fn sampling() {
        assert!(sampled(1.0, 0.999));
        assert!(sampled(0.25, 0.1));
        assert!(!sampled(0.25, 0.25));
        assert!(!sampled(0.0, 0.0));
    }

    #[test]
    fn media_types() {
        assert_eq!(
            media_type(" Application/JSON ; charset=utf-8"),
            "application/json"
        );
        assert_eq!(media_type(""), "");
    }
}
