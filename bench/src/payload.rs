//! Deterministic, varied request bodies for both wire formats.
//!
//! Everything is generated once, before any load is sent, into a pool of [`Bytes`] that the
//! connections clone (a reference-count increment) for every request.

use base64::Engine as _;
use bytes::Bytes;
use fastrand::Rng;
use serde_json::{Map, Value, json};

/// Pre-generated bodies for each scenario.
#[derive(Debug)]
pub(crate) struct Pool {
    /// One NTA telemetry object per body (`POST /api/telemetry`).
    pub(crate) nta: Vec<Bytes>,
    /// Akto `{"batchData": [...]}` bodies of `batch` records each (`POST /api/ingestData`).
    pub(crate) akto: Vec<Bytes>,
}

/// How the pool is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    pub(crate) seed: u64,
    /// Distinct exchanges generated (each becomes one NTA body).
    pub(crate) exchanges: usize,
    /// Distinct Akto batch bodies, each drawing `batch` records from the exchanges.
    pub(crate) akto_batches: usize,
    pub(crate) batch: usize,
    /// Mean size of a JSON request/response body before base64.
    pub(crate) body_bytes: usize,
}

impl Pool {
    pub(crate) fn generate(settings: PoolSettings) -> Pool {
        let mut rng = Rng::with_seed(settings.seed);
        let hosts = make_hosts(&mut rng);
        let exchanges: Vec<Exchange> = (0..settings.exchanges.max(1))
            .map(|i| Exchange::generate(&mut rng, &hosts, i as u64, settings.body_bytes))
            .collect();
        let nta = exchanges
            .iter()
            .map(|e| Bytes::from(serde_json::to_vec(&e.to_nta(&mut rng)).expect("JSON")))
            .collect();
        let akto = (0..settings.akto_batches.max(1))
            .map(|_| {
                let records: Vec<Value> = (0..settings.batch.max(1))
                    .map(|_| exchanges[rng.usize(..exchanges.len())].to_akto(&mut rng))
                    .collect();
                Bytes::from(serde_json::to_vec(&json!({ "batchData": records })).expect("JSON"))
            })
            .collect();
        Pool { nta, akto }
    }
}

/// Mean length of the bodies, for the report.
pub(crate) fn mean_len(bodies: &[Bytes]) -> usize {
    if bodies.is_empty() {
        return 0;
    }
    bodies.iter().map(Bytes::len).sum::<usize>() / bodies.len()
}

#[derive(Debug)]
struct Host {
    name: String,
    /// A port in the URL (`api.x.example:8443`), which the Worker reports as `host:8443:443`.
    port: Option<u16>,
}

#[derive(Debug)]
struct Exchange {
    host_name: String,
    port: Option<u16>,
    method: &'static str,
    /// Path plus query string, as the Worker sends it.
    path: String,
    request_headers: Vec<(String, String)>,
    request_body: Vec<u8>,
    status: u16,
    response_headers: Vec<(String, String)>,
    response_body: Vec<u8>,
    client_ip: String,
    time_ms: u64,
    elapsed_ms: u64,
}

const BRANDS: &[&str] = &[
    "shop", "bank", "travel", "media", "health", "fleet", "games", "learn", "crm", "pay", "maps",
    "chat", "stream", "food", "jobs", "cloud",
];
const PREFIXES: &[&str] = &[
    "api",
    "rest",
    "api-v2",
    "gateway",
    "mobile-api",
    "partner-api",
];
const WORDS: &[&str] = &[
    "alpha", "amber", "arctic", "autumn", "basil", "birch", "blue", "bold", "cedar", "coral",
    "crisp", "dawn", "delta", "ember", "fern", "frost", "golden", "granite", "harbor", "hazel",
    "indigo", "ivory", "jade", "juniper", "lemon", "linen", "lunar", "maple", "meadow", "mint",
    "nova", "oak", "olive", "onyx", "pearl", "pine", "quartz", "river", "sage", "silver", "slate",
    "solar", "spruce", "storm", "tidal", "velvet", "willow", "zephyr",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
    "shop-app/3.2 (Android 15)",
    "python-requests/2.32.3",
    "axios/1.7.7",
    "Go-http-client/2.0",
];
const COLOS: &[&str] = &[
    "AMS", "FRA", "LHR", "CDG", "IAD", "SJC", "NRT", "SIN", "GRU", "SYD",
];
const COUNTRIES: &[&str] = &["NL", "DE", "GB", "FR", "US", "US", "JP", "SG", "BR", "AU"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Query {
    None,
    Paging,
    Search,
    Expand,
    Token,
}

#[derive(Debug)]
struct Route {
    path: &'static str,
    query: Query,
    methods: &'static [&'static str],
    /// A collection (list responses) rather than one item.
    collection: bool,
}

const ROUTES: &[Route] = &[
    Route {
        path: "/api/v1/users",
        query: Query::Paging,
        methods: &["GET", "GET", "POST"],
        collection: true,
    },
    Route {
        path: "/api/v1/users/{num}",
        query: Query::None,
        methods: &["GET", "GET", "GET", "PUT", "PATCH", "DELETE"],
        collection: false,
    },
    Route {
        path: "/api/v1/users/{num}/orders",
        query: Query::Paging,
        methods: &["GET", "POST"],
        collection: true,
    },
    Route {
        path: "/api/v2/orders/{uuid}",
        query: Query::Expand,
        methods: &["GET", "GET", "PATCH"],
        collection: false,
    },
    Route {
        path: "/api/v2/orders/{uuid}/items/{num}",
        query: Query::None,
        methods: &["GET", "PUT", "DELETE"],
        collection: false,
    },
    Route {
        path: "/v1/products/{slug}",
        query: Query::None,
        methods: &["GET"],
        collection: false,
    },
    Route {
        path: "/v1/categories/{slug}/products",
        query: Query::Paging,
        methods: &["GET"],
        collection: true,
    },
    Route {
        path: "/api/v1/search",
        query: Query::Search,
        methods: &["GET"],
        collection: true,
    },
    Route {
        path: "/rest/accounts/{num}/invoices/{hex}",
        query: Query::Token,
        methods: &["GET"],
        collection: false,
    },
    Route {
        path: "/api/v3/tenants/{slug}/projects/{uuid}/members",
        query: Query::None,
        methods: &["GET", "POST"],
        collection: true,
    },
    Route {
        path: "/api/v1/sessions",
        query: Query::None,
        methods: &["POST"],
        collection: false,
    },
    Route {
        path: "/api/v2/payments",
        query: Query::None,
        methods: &["POST"],
        collection: false,
    },
    Route {
        path: "/api/v1/devices/{hex}/telemetry",
        query: Query::None,
        methods: &["POST"],
        collection: false,
    },
    Route {
        path: "/v2/carts/{uuid}/checkout",
        query: Query::None,
        methods: &["POST"],
        collection: false,
    },
];

fn make_hosts(rng: &mut Rng) -> Vec<Host> {
    let mut hosts = Vec::new();
    for (i, brand) in BRANDS.iter().enumerate() {
        for prefix in PREFIXES.iter().skip(i % 3).step_by(2) {
            let name = if i % 4 == 0 {
                format!("{prefix}.{brand}{}.example", i + 1)
            } else {
                format!("{prefix}.{brand}.example")
            };
            let port = (rng.u8(..) < 20).then_some(8443);
            hosts.push(Host { name, port });
        }
    }
    hosts
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn uuid(rng: &mut Rng) -> String {
    let v = rng.u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (v >> 96) as u32,
        (v >> 80) as u16,
        (v >> 68) as u16 & 0xfff,
        8 + ((v >> 64) as u8 & 3),
        (v >> 48) as u16 & 0xfff,
        v as u64 & 0xffff_ffff_ffff
    )
}

fn hex(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
        .collect()
}

fn slug(rng: &mut Rng) -> String {
    let n = rng.usize(2..4);
    let mut words: Vec<&str> = (0..n).map(|_| pick(rng, WORDS)).collect();
    if rng.bool() {
        let num = rng.u32(1..999).to_string();
        return format!("{}-{num}", words.join("-"));
    }
    words.dedup();
    words.join("-")
}

fn token(rng: &mut Rng) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..rng.usize(24..40))
        .map(|_| alphabet[rng.usize(..alphabet.len())] as char)
        .collect()
}

fn jwt(rng: &mut Rng) -> String {
    format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
        token(rng),
        token(rng)
    )
}

fn client_ip(rng: &mut Rng) -> String {
    match rng.u8(..10) {
        0 => format!("2001:db8::{:x}:{:x}", rng.u16(..), rng.u16(1..)),
        1..=3 => format!("198.51.100.{}", rng.u8(1..255)),
        4..=6 => format!("203.0.113.{}", rng.u8(1..255)),
        _ => format!("192.0.2.{}", rng.u8(1..255)),
    }
}

fn expand(rng: &mut Rng, pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 40);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').unwrap_or(rest.len() - open - 1);
        match &rest[open + 1..close] {
            "num" => out.push_str(&rng.u32(1..2_000_000).to_string()),
            "uuid" => out.push_str(&uuid(rng)),
            "slug" => out.push_str(&slug(rng)),
            "hex" => out.push_str(&hex(rng, 24)),
            other => out.push_str(other),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn query(rng: &mut Rng, kind: Query) -> String {
    match kind {
        Query::None => String::new(),
        Query::Paging => format!(
            "?page={}&limit={}&sort={}",
            rng.u8(1..30),
            [10, 20, 50, 100][rng.usize(..4)],
            pick(rng, &["created_at", "-created_at", "name", "updated_at"])
        ),
        Query::Search => format!(
            "?q={}+{}&category={}&page={}",
            pick(rng, WORDS),
            pick(rng, WORDS),
            pick(rng, WORDS),
            rng.u8(1..5)
        ),
        Query::Expand => format!(
            "?expand={}",
            pick(rng, &["items", "customer", "items,customer"])
        ),
        Query::Token => format!("?format=pdf&access_token={}", token(rng)),
    }
}

fn iso_time(rng: &mut Rng) -> String {
    format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.u8(1..13),
        rng.u8(1..29),
        rng.u8(..24),
        rng.u8(..60),
        rng.u8(..60),
        rng.u16(..1000)
    )
}

/// Between `words / 2` and `words * 3 / 2` words.
fn sentence(rng: &mut Rng, words: usize) -> String {
    let words = rng.usize(words / 2..=words * 3 / 2).max(1);
    (0..words)
        .map(|_| pick(rng, WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One entity of a JSON document: a user, an order line, a product...
fn entity(rng: &mut Rng) -> Value {
    match rng.u8(..4) {
        0 => json!({
            "id": rng.u32(1..2_000_000),
            "email": format!("{}.{}@{}.example", pick(rng, WORDS), pick(rng, WORDS), pick(rng, BRANDS)),
            "name": format!("{} {}", pick(rng, WORDS), pick(rng, WORDS)),
            "role": pick(rng, &["admin", "member", "viewer", "owner"]),
            "verified": rng.bool(),
            "created_at": iso_time(rng),
        }),
        1 => json!({
            "sku": format!("{}-{}", pick(rng, &["A", "B", "SKU", "P"]), rng.u32(100..99_999)),
            "quantity": rng.u8(1..10),
            "unit_price": f64::from(rng.u32(99..99_999)) / 100.0,
            "currency": pick(rng, &["EUR", "USD", "GBP", "JPY"]),
            "description": sentence(rng, 6),
        }),
        2 => json!({
            "id": uuid(rng),
            "slug": slug(rng),
            "title": sentence(rng, 3),
            "tags": (0..rng.usize(1..4)).map(|_| pick(rng, WORDS)).collect::<Vec<_>>(),
            "rating": f64::from(rng.u8(10..50)) / 10.0,
            "in_stock": rng.bool(),
        }),
        _ => json!({
            "event": pick(rng, &["login", "view", "purchase", "logout", "refund"]),
            "at": iso_time(rng),
            "ip": client_ip(rng),
            "device": { "os": pick(rng, &["ios", "android", "windows", "macos", "linux"]), "version": format!("{}.{}", rng.u8(1..20), rng.u8(..10)) },
        }),
    }
}

/// A JSON object of about `target` bytes; with `secrets`, fields the server must redact.
fn document(rng: &mut Rng, target: usize, collection: bool, secrets: bool) -> Vec<u8> {
    let mut top = Map::new();
    if !collection {
        top.insert("id".into(), json!(rng.u32(1..2_000_000)));
        top.insert(
            "status".into(),
            json!(pick(rng, &["active", "pending", "created", "shipped"])),
        );
        top.insert("updated_at".into(), json!(iso_time(rng)));
    }
    if secrets {
        match rng.u8(..3) {
            0 => top.insert("password".into(), json!(token(rng))),
            1 => top.insert("api_key".into(), json!(format!("sk_live_{}", token(rng)))),
            _ => top.insert(
                "card_number".into(),
                json!(format!("4111 1111 1111 {:04}", rng.u16(..10_000))),
            ),
        };
    }
    let mut items = Vec::new();
    let mut size = 64;
    while size < target {
        let item = entity(rng);
        size += serde_json::to_string(&item).map_or(64, |s| s.len()) + 1;
        items.push(item);
    }
    if collection {
        top.insert("page".into(), json!(rng.u8(1..30)));
        top.insert("total".into(), json!(rng.u32(..100_000)));
        top.insert("data".into(), Value::Array(items));
    } else {
        top.insert("items".into(), Value::Array(items));
    }
    serde_json::to_vec(&Value::Object(top)).expect("JSON")
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Service Unavailable",
    }
}

impl Exchange {
    fn generate(rng: &mut Rng, hosts: &[Host], index: u64, body_bytes: usize) -> Exchange {
        let host = rng.usize(..hosts.len());
        let route = &ROUTES[rng.usize(..ROUTES.len())];
        let method = pick(rng, route.methods);
        let mut path = expand(rng, route.path);
        if method == "GET" {
            path.push_str(&query(rng, route.query));
        } else if route.query == Query::Token {
            path.push_str(&query(rng, Query::Token));
        }
        let has_request_body = matches!(method, "POST" | "PUT" | "PATCH");
        let around = |rng: &mut Rng| rng.usize(body_bytes / 4..=body_bytes * 7 / 4 + 1);
        let request_body = if has_request_body {
            let secrets = route.path.contains("sessions")
                || route.path.contains("payments")
                || rng.u8(..10) == 0;
            let target = around(rng);
            document(rng, target, false, secrets)
        } else {
            Vec::new()
        };
        let mut status = match method {
            "POST" if route.path.ends_with("sessions") || route.path.ends_with("checkout") => 200,
            "POST" => 201,
            "DELETE" => 204,
            _ => 200,
        };
        let roll = rng.u8(..100);
        if roll < 6 {
            status = [400, 401, 403, 404, 409, 422, 429][rng.usize(..7)];
        } else if roll < 7 {
            status = [500, 502, 503][rng.usize(..3)];
        }
        let response_body = match status {
            204 => Vec::new(),
            200..=299 => {
                let target = around(rng);
                let secrets = rng.u8(..20) == 0;
                document(rng, target, route.collection && method == "GET", secrets)
            }
            _ => serde_json::to_vec(&json!({
                "error": status_text(status).to_ascii_lowercase().replace(' ', "_"),
                "message": sentence(rng, 6),
                "request_id": uuid(rng),
            }))
            .expect("JSON"),
        };

        let ip = client_ip(rng);
        let host_value = match hosts[host].port {
            Some(port) => format!("{}:{port}", hosts[host].name),
            None => hosts[host].name.clone(),
        };
        let mut request_headers: Vec<(String, String)> = vec![
            ("accept".into(), "application/json".into()),
            ("accept-encoding".into(), "gzip, br".into()),
            ("cdn-loop".into(), "cloudflare".into()),
            ("cf-connecting-ip".into(), ip.clone()),
            ("cf-ipcountry".into(), pick(rng, COUNTRIES).into()),
            (
                "cf-ray".into(),
                format!("{}-{}", hex(rng, 16), pick(rng, COLOS)),
            ),
            ("cf-visitor".into(), "{\"scheme\":\"https\"}".into()),
            ("host".into(), host_value),
            ("user-agent".into(), pick(rng, USER_AGENTS).into()),
            ("x-forwarded-proto".into(), "https".into()),
            ("x-real-ip".into(), ip.clone()),
        ];
        if rng.u8(..10) < 8 {
            request_headers.push(("authorization".into(), format!("Bearer {}", jwt(rng))));
        }
        if rng.u8(..10) < 4 {
            request_headers.push((
                "cookie".into(),
                format!(
                    "sid={}; theme={}; _ga=GA1.2.{}",
                    token(rng),
                    pick(rng, &["dark", "light"]),
                    rng.u32(..)
                ),
            ));
        }
        if rng.u8(..10) == 0 {
            request_headers.push(("x-api-key".into(), format!("k_live_{}", hex(rng, 20))));
        }
        if rng.u8(..4) == 0 {
            request_headers.push(("accept-language".into(), "en-US,en;q=0.9".into()));
        }
        if has_request_body {
            request_headers.push(("content-length".into(), request_body.len().to_string()));
            request_headers.push(("content-type".into(), "application/json".into()));
        }
        request_headers.sort();

        let mut response_headers: Vec<(String, String)> = vec![
            ("cache-control".into(), "no-store".into()),
            ("x-request-id".into(), uuid(rng)),
        ];
        if !response_body.is_empty() {
            response_headers.push((
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ));
            if rng.bool() {
                response_headers.push(("content-encoding".into(), "gzip".into()));
            }
        }
        if route.path.ends_with("sessions") || rng.u8(..10) == 0 {
            response_headers.push((
                "set-cookie".into(),
                format!("sid={}; Path=/; HttpOnly; Secure", token(rng)),
            ));
            response_headers.push((
                "set-cookie".into(),
                "consent=1; Path=/; Max-Age=31536000".into(),
            ));
        }
        response_headers.sort();

        Exchange {
            host_name: hosts[host].name.clone(),
            port: hosts[host].port,
            method,
            path,
            request_headers,
            request_body,
            status,
            response_headers,
            response_body,
            client_ip: ip,
            time_ms: 1_763_700_000_000 + index * 37 + rng.u64(..37),
            elapsed_ms: rng.u64(2..400),
        }
    }

    /// The object the Invicti NTA Worker posts for this exchange.
    fn to_nta(&self, rng: &mut Rng) -> Value {
        let b64 = base64::engine::general_purpose::STANDARD;
        let headers = |h: &[(String, String)]| -> Value {
            h.iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect()
        };
        let (host, destination) = match self.port {
            Some(port) => (
                format!("{}:{port}", self.host_name),
                format!("{}:{port}:443", self.host_name),
            ),
            None => (self.host_name.to_owned(), format!("{}:443", self.host_name)),
        };
        json!({
            "requestID": if rng.u8(..10) == 0 { uuid(rng) } else { String::new() },
            "scheme": "https",
            "destinationAddress": destination,
            "destinationNamespace": "",
            "sourceAddress": self.client_ip,
            "request": {
                "method": self.method,
                "path": self.path,
                "host": host,
                "common": {
                    "version": "1.1",
                    "headers": headers(&self.request_headers),
                    "truncatedBody": false,
                    "body": b64.encode(&self.request_body),
                    "time": self.time_ms,
                }
            },
            "response": {
                "statusCode": self.status.to_string(),
                "common": {
                    "version": "1.1",
                    "headers": headers(&self.response_headers),
                    "truncatedBody": false,
                    "body": b64.encode(&self.response_body),
                    "time": self.time_ms + self.elapsed_ms,
                }
            }
        })
    }

    /// One record of an Akto `batchData` for this exchange.
    fn to_akto(&self, rng: &mut Rng) -> Value {
        // Akto keeps one value per header name (the last `set-cookie` wins).
        let map = |h: &[(String, String)]| -> String {
            let map: Map<String, Value> = h
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            serde_json::to_string(&map).expect("JSON")
        };
        // The Cloudflare worker sends the pathname only; Akto's mirroring agent a full URL.
        let path = if rng.u8(..5) == 0 {
            match self.port {
                Some(port) => format!("https://{}:{port}{}", self.host_name, self.path),
                None => format!("https://{}{}", self.host_name, self.path),
            }
        } else {
            self.path.split('?').next().unwrap_or("/").to_owned()
        };
        json!({
            "path": path,
            "method": self.method,
            "requestHeaders": map(&self.request_headers),
            "responseHeaders": map(&self.response_headers),
            "requestPayload": String::from_utf8_lossy(&self.request_body),
            "responsePayload": String::from_utf8_lossy(&self.response_body),
            "ip": self.client_ip,
            "time": (self.time_ms / 1000).to_string(),
            "statusCode": self.status.to_string(),
            "type": "HTTP/1.1",
            "status": status_text(self.status),
            "akto_account_id": "1000000",
            "akto_vxlan_id": "0",
            "is_pending": "false",
            "source": "MIRRORING",
            "tag": "{\"service\":\"cloudflare\"}",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Pool {
        Pool::generate(PoolSettings {
            seed: 7,
            exchanges: 64,
            akto_batches: 2,
            batch: 10,
            body_bytes: 1024,
        })
    }

    #[test]
    fn deterministic() {
        let (a, b) = (small(), small());
        assert_eq!(a.nta, b.nta);
        assert_eq!(a.akto, b.akto);
    }

    #[test]
    fn shapes_parse_and_vary() {
        let pool = small();
        let mut hosts = std::collections::BTreeSet::new();
        for body in &pool.nta {
            let v: Value = serde_json::from_slice(body).unwrap();
            assert!(v["request"]["common"]["headers"].is_array());
            hosts.insert(v["request"]["host"].as_str().unwrap().to_owned());
        }
        assert!(hosts.len() > 10, "{hosts:?}");
        let v: Value = serde_json::from_slice(&pool.akto[0]).unwrap();
        let records = v["batchData"].as_array().unwrap();
        assert_eq!(records.len(), 10);
        let headers: Map<String, Value> =
            serde_json::from_str(records[0]["requestHeaders"].as_str().unwrap()).unwrap();
        assert!(headers.contains_key("host"));
        let mean = mean_len(&pool.nta);
        assert!((1500..8000).contains(&mean), "mean NTA body {mean}");
    }

    #[test]
    fn uuid_shape() {
        let mut rng = Rng::with_seed(1);
        let u = uuid(&mut rng);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
