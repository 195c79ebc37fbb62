//! End-to-end tests: exchanges in, OpenAPI documents out.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::exchange::{CapturedBody, Exchange, Message, Producer, Scheme, SourceFormat};
use crate::model::template::{HostRules, Template, templatize};

/// A request to build an exchange from.
#[derive(Debug, Clone)]
struct Call<'a> {
    method: &'a str,
    target: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a str,
    status: Option<u16>,
    response_type: Option<&'a str>,
    response: &'a str,
}

impl<'a> Call<'a> {
    fn new(method: &'a str, target: &'a str) -> Self {
        Call {
            method,
            target,
            headers: Vec::new(),
            body: "",
            status: Some(200),
            response_type: None,
            response: "",
        }
    }

    fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn json_body(mut self, body: &'a str) -> Self {
        self.headers.push(("content-type", "application/json"));
        self.body = body;
        self
    }

    fn respond(mut self, status: u16, content_type: Option<&'a str>, body: &'a str) -> Self {
        self.status = Some(status);
        self.response_type = content_type;
        self.response = body;
        self
    }

    fn no_response(mut self) -> Self {
        self.status = None;
        self
    }

    fn exchange(&self) -> Exchange {
        let (path, query) = match self.target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (self.target, None),
        };
        let response = self.status.map(|_| Message {
            headers: self
                .response_type
                .map(|t| vec![("content-type".to_owned(), t.to_owned())])
                .unwrap_or_default(),
            body: CapturedBody {
                bytes: self.response.as_bytes().to_vec(),
                truncated: false,
            },
        });
        Exchange {
            observed_at: at(0),
            source: SourceFormat::Nta,
            scheme: Scheme::Https,
            host: "api.example.com".to_owned(),
            port: 443,
            method: self.method.to_owned(),
            raw_path: path.to_owned(),
            path: path.to_owned(),
            query,
            status: self.status,
            request: Message {
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                body: CapturedBody {
                    bytes: self.body.as_bytes().to_vec(),
                    truncated: false,
                },
            },
            response,
            client_address: None,
            producer: Producer::default(),
        }
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_714_557_600 + seconds, 0).unwrap()
}

/// Groups calls into operations the way the catalog would: by method and template.
fn host(calls: &[Call<'_>]) -> HostSpec {
    let limits = SummaryLimits::default();
    let mut operations: BTreeMap<(String, String), OperationSpec> = BTreeMap::new();
    for (i, call) in calls.iter().enumerate() {
        let exchange = call.exchange();
        let template = templatize(&exchange.path, &HostRules::default());
        let op = operations
            .entry((template.as_str().to_owned(), call.method.to_owned()))
            .or_insert_with(|| OperationSpec {
                method: call.method.to_owned(),
                template: template.clone(),
                hits: 0,
                first_seen: at(i as i64),
                last_seen: at(i as i64),
                status_codes: BTreeMap::new(),
                summary: EndpointSummary::default(),
            });
        op.hits += 1;
        op.last_seen = at(i as i64);
        if let Some(status) = exchange.status {
            *op.status_codes.entry(status).or_default() += 1;
        }
        op.summary.observe(&exchange, &template, &limits);
    }
    HostSpec {
        host: "api.example.com".to_owned(),
        hostname: "api.example.com".to_owned(),
        port: 443,
        schemes: vec![Scheme::Https],
        operations: operations.into_values().collect(),
    }
}

const USER_1: &str = r#"{"id": 1, "name": "Ada", "email": "ada@example.com", "created_at": "2024-05-01T10:00:00Z", "nickname": null}"#;
const USER_2: &str = r#"{"id": 2, "name": "Grace", "email": "grace@example.com", "created_at": "2024-05-02T11:00:00Z", "nickname": "amazing"}"#;
const BEARER: &str = "Bearer <redacted:jwt>";

fn sample_calls() -> Vec<Call<'static>> {
    let users = Box::leak(format!("[{USER_1}, {USER_2}]").into_boxed_str());
    vec![
        Call::new("GET", "/users/1?fields=name&expand=team")
            .header("authorization", BEARER)
            .header("x-tenant-id", "42")
            .header("user-agent", "curl/8")
            .header("x-forwarded-for", "10.0.0.1")
            .respond(200, Some("application/json"), USER_1),
        Call::new("GET", "/users/2?fields=email")
            .header("authorization", BEARER)
            .header("x-tenant-id", "42")
            .respond(200, Some("application/json; charset=utf-8"), USER_2),
        Call::new("GET", "/users/3?fields=name")
            .header("authorization", BEARER)
            .respond(
                404,
                Some("application/json"),
                r#"{"error": "not found", "code": 404}"#,
            ),
        Call::new("GET", "/users?page=1&limit=10")
            .header("authorization", BEARER)
            .respond(200, Some("application/json"), users),
        Call::new("GET", "/users?page=2")
            .header("authorization", BEARER)
            .header("cookie", "theme=<redacted>; sessionid=<redacted>")
            .respond(200, Some("application/json"), "[]"),
        Call::new("POST", "/users")
            .header("x-api-key", "<redacted>")
            .json_body(r#"{"name": "Ada", "email": "ada@example.com", "admin": false}"#)
            .respond(201, Some("application/json"), USER_1),
        Call::new("POST", "/users")
            .header("x-api-key", "<redacted>")
            .json_body(r#"{"name": "Grace", "email": "<redacted>"}"#)
            .no_response(),
        Call::new("DELETE", "/users/1")
            .header("authorization", BEARER)
            .respond(204, None, ""),
        Call::new("GET", "/files/550e8400-e29b-41d4-a716-446655440000").respond(
            200,
            Some("image/png"),
            "\u{89}PNG",
        ),
    ]
}

#[test]
fn renders_a_small_host() {
    let document = render(&host(&sample_calls()), &RenderOptions::default());

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "api.example.com");
    assert_eq!(
        document["servers"],
        json!([{"url": "https://api.example.com"}])
    );
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/files/{fileId}", "/users", "/users/{userId}"]);

    // Path, query and header parameters.
    let get_user = &document["paths"]["/users/{userId}"]["get"];
    assert_eq!(get_user["operationId"], "getUsersByUserId");
    assert_eq!(get_user["summary"], "Get user");
    assert_eq!(get_user["tags"], json!(["users"]));
    assert_eq!(
        document["tags"],
        json!([
            {"name": "files", "description": "Operations under the path segment `files` (1 observed)."},
            {"name": "users", "description": "Operations under the path segment `users` (4 observed)."}
        ])
    );
    assert!(document["info"].get("license").is_none());
    assert_eq!(
        get_user["parameters"],
        json!([
            {"name": "userId", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
            {"name": "expand", "in": "query", "schema": {"type": "string"}},
            {"name": "fields", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "x-tenant-id", "in": "header", "schema": {"type": "integer"}}
        ])
    );
    let file = &document["paths"]["/files/{fileId}"]["get"];
    assert_eq!(
        file["parameters"][0]["schema"],
        json!({"type": "string", "format": "uuid"})
    );
    assert_eq!(
        file["responses"]["200"]["content"]["image/png"]["schema"],
        json!({"type": "string", "format": "binary"})
    );
    // Seen only without credentials: stated as such.
    assert_eq!(file["security"], json!([]));
    assert_eq!(file["x-reconstructor-security"], "inferred-from-traffic");
    let list = &document["paths"]["/users"]["get"];
    assert_eq!(list["operationId"], "getUsers");
    assert_eq!(list["summary"], "List users");
    assert_eq!(file["summary"], "Get file");
    assert_eq!(
        list["parameters"],
        json!([
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "page", "in": "query", "required": true, "schema": {"type": "integer"}},
            {"name": "theme", "in": "cookie", "schema": {"type": "string"}}
        ])
    );

    // Security schemes, applied where they were seen.
    assert_eq!(
        document["components"]["securitySchemes"],
        json!({
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "sessionidCookie": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            "xApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}
        })
    );
    assert_eq!(get_user["security"], json!([{"bearerAuth": []}]));
    assert_eq!(
        list["security"],
        json!([{"bearerAuth": []}, {"bearerAuth": [], "sessionidCookie": []}])
    );
    let create = &document["paths"]["/users"]["post"];
    assert_eq!(create["security"], json!([{"xApiKey": []}]));

    // The user object is shared by three responses: a component, with formats and nullability.
    let user = json!({
        "type": "object",
        "properties": {
            "created_at": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "nickname": {"type": ["string", "null"]}
        },
        "required": ["created_at", "email", "id", "name", "nickname"]
    });
    assert_eq!(document["components"]["schemas"], json!({"User": user}));
    let reference = json!({"$ref": "#/components/schemas/User"});
    assert_eq!(
        get_user["responses"]["200"]["content"]["application/json"]["schema"],
        reference
    );
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": reference})
    );
    assert_eq!(
        get_user["responses"]["200"]["content"]["application/json"]["example"]["name"],
        "Grace"
    );
    assert_eq!(
        get_user["responses"]["404"],
        json!({
            "description": "Not Found",
            "content": {"application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"code": {"type": "integer"}, "error": {"type": "string"}},
                    "required": ["code", "error"]
                },
                "example": {"error": "not found", "code": 404}
            }},
            "x-reconstructor-hits": 1
        })
    );

    // The request body: required (every request had one), `admin` optional, the redacted e-mail
    // not held against the format.
    assert_eq!(create["requestBody"]["required"], true);
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"],
        json!({
            "type": "object",
            "properties": {
                "admin": {"type": "boolean"},
                "email": {"type": "string", "format": "email"},
                "name": {"type": "string"}
            },
            "required": ["email", "name"]
        })
    );
    // The request-only exchange counts for the request side only.
    assert_eq!(create["x-reconstructor-hits"], 2);
    assert_eq!(create["responses"]["201"]["x-reconstructor-hits"], 1);

    // A response without a body is just a description.
    assert_eq!(
        document["paths"]["/users/{userId}"]["delete"]["responses"],
        json!({"204": {"description": "No Content", "x-reconstructor-hits": 1}})
    );
    assert_eq!(
        get_user["x-reconstructor-first-seen"],
        "2024-05-01T10:00:00Z"
    );

    assert_valid(&document);
    export("small-host", &document);

    // More headers can be left out.
    let options = RenderOptions {
        drop_headers: vec!["X-Tenant-*".to_owned()],
        ..RenderOptions::default()
    };
    let document = render(&host(&sample_calls()), &options);
    let parameters = document["paths"]["/users/{userId}"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(parameters.iter().all(|p| p["in"] != "header"));
}

/// Writes a document to `$RECONSTRUCTOR_SPEC_DIR/<name>.json` when that is set: `.ci/speclint`
/// lints the documents these tests produce and generates a typed client from one.
fn export(name: &str, document: &Value) {
    if let Some(dir) = std::env::var_os("RECONSTRUCTOR_SPEC_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), to_json(document)).unwrap();
    }
}

/// Checks what a validator checks and more: the document parses with `oas3`, every `$ref`
/// resolves, every path parameter is declared, operation ids are unique, response keys are
/// status codes.
fn assert_valid(document: &Value) {
    let text = serde_json::to_string(document).unwrap();
    let spec = oas3::from_json(&text).expect("oas3 parses the document");
    let mut ids = std::collections::BTreeSet::new();
    for (path, _method, operation) in spec.operations() {
        let id = operation.operation_id.clone().expect("operation id");
        assert!(ids.insert(id.clone()), "duplicate {id}");
        let mut declared = Vec::new();
        for parameter in &operation.parameters {
            let parameter = parameter.resolve(&spec).expect("parameter resolves");
            if parameter.location == oas3::spec::ParameterIn::Path {
                declared.push(parameter.name);
            }
        }
        // Every `{name}` in the path is a declared path parameter.
        for name in path.split('{').skip(1) {
            let name = name.split('}').next().unwrap();
            assert!(declared.iter().any(|d| d == name), "{path} {name}");
        }
        if let Some(body) = operation
            .request_body(&spec)
            .expect("request body resolves")
        {
            for media in body.content.values() {
                if let Some(schema) = &media.schema {
                    schema.resolve(&spec).expect("request schema resolves");
                }
            }
        }
        for (code, response) in operation.responses.iter().flatten() {
            assert!(
                code == "default" || (code.len() == 3 && code.parse::<u16>().is_ok()),
                "{code}"
            );
            let response = response.resolve(&spec).expect("response resolves");
            for media in response.content.values() {
                if let Some(schema) = &media.schema {
                    schema.resolve(&spec).expect("response schema resolves");
                }
            }
        }
    }
    // Every `$ref` points at a component that exists.
    let mut refs = Vec::new();
    collect_refs(document, &mut refs);
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{reference}"
        );
    }
    if let Some(components) = document.get("components") {
        assert!(!components.as_object().unwrap().is_empty());
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn yaml_and_json_keep_the_conventional_order() {
    let document = render(&host(&sample_calls()), &RenderOptions::default());
    let yaml = to_yaml(&document);
    assert!(
        yaml.starts_with(
            "openapi: \"3.1.0\"\ninfo:\n  title: api.example.com\n  version: \"1.0.0\"\n"
        ),
        "{yaml}"
    );
    // Strings that a YAML 1.1 reader would take for timestamps or comments are quoted.
    assert!(yaml.contains("x-reconstructor-first-seen: \"2024-05-01T10:00:00Z\"\n"));
    assert!(yaml.contains("$ref: \"#/components/schemas/User\"\n"));
    let servers = yaml.find("\nservers:").unwrap();
    let paths = yaml.find("\npaths:").unwrap();
    let components = yaml.find("\ncomponents:").unwrap();
    assert!(servers < paths && paths < components);
    assert!(yaml.contains("      - name: userId\n        in: path\n        required: true\n"));
    // Both forms read back as the same document.
    let from_yaml: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, document);
    let from_json: Value = serde_json::from_str(&to_json(&document)).unwrap();
    assert_eq!(from_json, document);
}

mod yaml {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::to_yaml;

    fn json_value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            prop::sample::select(vec![
                "",
                "yes",
                "No",
                "ON",
                "null",
                "~",
                "true",
                "1.0",
                "007",
                "2024-05-01",
                "2024-05-01T10:00:00Z",
                "a: b",
                "a #b",
                "#x",
                "- x",
                "? x",
                "&a",
                "*a",
                "!t",
                "|",
                ">",
                "'q'",
                "\"q\"",
                "<redacted>",
                "x ",
                " x",
                "a\nb",
                "tab\tin",
                "\u{7f}",
                "\u{85}",
                "\u{2028}",
                "a\u{2029}b",
                "\u{feff}",
                "\u{fffe}",
                "café",
                "日本",
                "/users/{id}",
                "$ref",
                "=",
                "<<",
                "1e3",
                ".inf",
                "0x1f",
                "+1",
                "-",
                "--- x",
                "...",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,12}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            text.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(text.clone(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn yaml_reads_back_as_the_same_value(value in json_value()) {
            let yaml = to_yaml(&value);
            let back: Value = serde_yaml_ng::from_str(&yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
            prop_assert_eq!(back, value, "{}", yaml);
        }
    }
}

#[test]
fn optional_credentials_and_odd_status_codes() {
    let calls = vec![
        Call::new("GET", "/feed").header("authorization", "Basic <redacted>"),
        Call::new("GET", "/feed"),
        Call::new("GET", "/admin").header("authorization", "Token <redacted>"),
        // Refused without credentials: no `{}`.
        Call::new("GET", "/admin").respond(401, None, ""),
        Call::new("GET", "/odd").respond(999, None, ""),
        Call::new("GET", "/odd").respond(0, None, ""),
        Call::new("GET", "/quiet").no_response(),
        Call::new("PROPFIND", "/feed"),
    ];
    let document = render(&host(&calls), &RenderOptions::default());
    let paths = &document["paths"];
    assert_eq!(
        paths["/feed"]["get"]["security"],
        json!([{"basicAuth": []}, {}])
    );
    assert_eq!(
        paths["/admin"]["get"]["security"],
        json!([{"tokenAuth": []}])
    );
    assert_eq!(
        document["components"]["securitySchemes"]["tokenAuth"]["name"],
        "Authorization"
    );
    assert_eq!(
        paths["/odd"]["get"]["responses"]["default"]["x-reconstructor-hits"],
        2
    );
    assert_eq!(
        paths["/quiet"]["get"]["responses"],
        json!({"default": {"description": "No response was observed."}})
    );
    assert_eq!(paths["/feed"].as_object().unwrap().len(), 1, "no PROPFIND");
    // Refused without credentials and never seen with any: nothing was observed to require.
    assert_eq!(paths["/odd"]["get"]["security"], json!([]));
    assert_valid(&document);
    export("credentials-and-odd-status-codes", &document);
}

#[test]
fn colliding_paths_and_operation_ids() {
    let limits = SummaryLimits::default();
    let op = |method: &str, template: &str| OperationSpec {
        method: method.to_owned(),
        template: Template::parse(template).unwrap(),
        hits: 1,
        first_seen: at(0),
        last_seen: at(0),
        status_codes: BTreeMap::from([(200, 1)]),
        summary: EndpointSummary::default(),
    };
    let mut with_summary = op("GET", "/a/{y:integer}");
    with_summary.summary.observe(
        &Call::new("GET", "/a/5?q=1").exchange(),
        &with_summary.template,
        &limits,
    );
    let host = HostSpec {
        host: "[::1]:8080".to_owned(),
        hostname: "::1".to_owned(),
        port: 8080,
        schemes: vec![Scheme::Http, Scheme::Https, Scheme::Http],
        operations: vec![
            with_summary,
            op("get", "/a/{x:integer}"),
            op("POST", "/a/{z:uuid}"),
            op("GET", "/a-b"),
            op("GET", "/a/b"),
            op("GET", "/"),
            op("GET", "/calls/{callId}.json"),
        ],
    };
    let document = render(&host, &RenderOptions::default());
    assert_eq!(
        document["servers"],
        json!([{"url": "https://[::1]:8080"}, {"url": "http://[::1]:8080"}])
    );
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        ["/", "/a-b", "/a/b", "/a/{x}", "/calls/{callId}.json"]
    );
    let get = &paths["/a/{x}"]["get"];
    assert_eq!(get["x-reconstructor-hits"], 2);
    assert_eq!(get["parameters"][0]["name"], "x");
    assert_eq!(get["parameters"][1]["name"], "q");
    let post = &paths["/a/{x}"]["post"];
    assert_eq!(post["parameters"][0]["schema"]["format"], "uuid");
    assert_eq!(paths["/"]["get"]["operationId"], "getRoot");
    assert_eq!(
        paths["/calls/{callId}.json"]["get"]["operationId"],
        "getCallsByCallIdJson"
    );
    // `/a-b` and `/a/b` both read `getAB`.
    assert_eq!(paths["/a-b"]["get"]["operationId"], "getAB");
    assert_eq!(paths["/a/b"]["get"]["operationId"], "getAB2");
    assert_valid(&document);
    export("colliding-paths", &document);
    // The same operations in another order give the same document.
    let mut reversed = host.clone();
    reversed.operations.reverse();
    assert_eq!(
        serde_json::to_string(&render(&reversed, &RenderOptions::default())).unwrap(),
        serde_json::to_string(&document).unwrap()
    );
}

#[test]
fn free_text_path_parameters_can_be_enums() {
    let limits = SummaryLimits::default();
    let template = Template::parse("/reports/{period}/{id:integer}").unwrap();
    let mut summary = EndpointSummary::default();
    for (i, period) in ["daily", "weekly", "daily", "weekly", "daily"]
        .iter()
        .enumerate()
    {
        let path = format!("/reports/{period}/{i}");
        summary.observe(&Call::new("GET", &path).exchange(), &template, &limits);
    }
    // Typed values are not kept.
    assert_eq!(summary.path.keys().collect::<Vec<_>>(), ["period"]);
    let host = HostSpec {
        host: "h".to_owned(),
        hostname: "h".to_owned(),
        port: 80,
        schemes: vec![Scheme::Http],
        operations: vec![OperationSpec {
            method: "GET".to_owned(),
            template,
            hits: 5,
            first_seen: at(0),
            last_seen: at(4),
            status_codes: BTreeMap::from([(200, 5)]),
            summary,
        }],
    };
    let document = render(&host, &RenderOptions::default());
    let parameters = &document["paths"]["/reports/{period}/{id}"]["get"]["parameters"];
    assert_eq!(
        parameters[0]["schema"],
        json!({"type": "string", "enum": ["daily", "weekly"]})
    );
    assert_eq!(
        parameters[1]["schema"],
        json!({"type": "integer", "format": "int64"})
    );
    assert_valid(&document);
    export("path-enums", &document);
}

/// Paths a client cannot tell apart (a literal value where another path has its parameter, and
/// the other way round) become one; a word beside a parameter stays an endpoint of its own.
#[test]
fn ambiguous_paths_are_joined() {
    let limits = SummaryLimits::default();
    let op = |method: &str, template: &str, target: &str| {
        let template = Template::parse(template).unwrap();
        let mut summary = EndpointSummary::default();
        summary.observe(&Call::new(method, target).exchange(), &template, &limits);
        OperationSpec {
            method: method.to_owned(),
            template,
            hits: 1,
            first_seen: at(0),
            last_seen: at(0),
            status_codes: BTreeMap::from([(200, 1)]),
            summary,
        }
    };
    let host = HostSpec {
        host: "api.example.com".to_owned(),
        hostname: "api.example.com".to_owned(),
        port: 443,
        schemes: vec![Scheme::Https],
        operations: vec![
            op(
                "GET",
                "/users/alice/repos/{repoId:integer}",
                "/users/alice/repos/12",
            ),
            op(
                "GET",
                "/users/{userId:integer}/repos/4021",
                "/users/77/repos/4021",
            ),
            op(
                "DELETE",
                "/users/{id:integer}/repos/{repo:integer}",
                "/users/5/repos/6",
            ),
            // Three ways round: the first pair is joined, and the third is then a concrete path
            // beside the joined template, which is not ambiguous.
            op("GET", "/a/x1/{b}/{c}", "/a/x1/y/z"),
            op("GET", "/a/{a}/y2/{c}", "/a/x/y2/z"),
            op("GET", "/a/{a}/{b}/z3", "/a/x/y/z3"),
            // The same name on both sides: made unique.
            op("GET", "/n/{id:integer}/m/5501", "/n/1/m/5501"),
            op("GET", "/n/6601/m/{id:integer}", "/n/6601/m/2"),
            // `me` and `search` are endpoints, not values.
            op(
                "GET",
                "/users/me/stars/{starId:integer}",
                "/users/me/stars/1",
            ),
            op(
                "GET",
                "/users/{userId:integer}/stars/search",
                "/users/1/stars/search",
            ),
            // Different lengths, or a concrete path beside its template, are not ambiguous.
            op("GET", "/users/{userId:integer}", "/users/1"),
            op("GET", "/users/alice", "/users/alice"),
        ],
    };
    let document = render(&host, &RenderOptions::default());
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        [
            "/a/{a}/{b}/z3",
            "/a/{a}/{b}/{c}",
            "/n/{id}/m/{id2}",
            "/users/alice",
            "/users/me/stars/{starId}",
            "/users/{id}/repos/{repo}",
            "/users/{userId}",
            "/users/{userId}/stars/search",
        ]
    );
    // The joined path has the shape of the DELETE's: one path, named (like any two templates
    // of one shape) after the first by text.
    let repos = &paths["/users/{id}/repos/{repo}"];
    let get = &repos["get"];
    assert_eq!(get["x-reconstructor-hits"], 2);
    // `alice` and integers: free text; integers on both sides stay integers.
    assert_eq!(
        get["parameters"],
        json!([
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "repo", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}
        ])
    );
    assert_eq!(repos["delete"]["x-reconstructor-hits"], 1);
    assert_eq!(paths["/a/{a}/{b}/{c}"]["get"]["x-reconstructor-hits"], 2);
    assert_eq!(
        paths["/n/{id}/m/{id2}"]["get"]["parameters"][1],
        json!({"name": "id2", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}})
    );
    assert_valid(&document);
    let mut reversed = host.clone();
    reversed.operations.reverse();
    assert_eq!(
        serde_json::to_string(&render(&reversed, &RenderOptions::default())).unwrap(),
        serde_json::to_string(&document).unwrap()
    );
}

/// What Redocly's recommended rules ask of every operation, on a host with every kind of
/// credential evidence: a summary, declared security, described tags.
#[test]
fn every_operation_is_summarised_and_declares_security() {
    let calls = vec![
        Call::new("GET", "/v1/orders").header("authorization", BEARER),
        Call::new("GET", "/v1/orders"),
        Call::new("POST", "/v1/orders")
            .header("authorization", BEARER)
            .json_body(r#"{"sku": "A-1", "quantity": 2}"#)
            .respond(201, Some("application/json"), r#"{"id": 7}"#),
        Call::new("GET", "/v1/orders/7/items").header("x-api-key", "<redacted>"),
        Call::new("POST", "/v1/orders/7/cancel").respond(401, None, ""),
        Call::new("GET", "/v1/people/12"),
        Call::new("PATCH", "/v1/people/12")
            .header("cookie", "sessionid=<redacted>")
            .json_body(r#"{"name": "Ada"}"#)
            .respond(200, Some("application/json"), r#"{"id": 12}"#),
        Call::new("GET", "/"),
    ];
    let document = render(&host(&calls), &RenderOptions::default());
    let mut summaries = BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            summaries.insert(
                format!("{method} {path}"),
                operation["summary"].as_str().unwrap().to_owned(),
            );
            assert!(operation["security"].is_array(), "{method} {path}");
            assert_eq!(
                operation["x-reconstructor-security"], "inferred-from-traffic",
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        summaries,
        BTreeMap::from([
            ("get /".to_owned(), "Get root".to_owned()),
            ("get /v1/orders".to_owned(), "List orders".to_owned()),
            ("post /v1/orders".to_owned(), "Create order".to_owned()),
            (
                "get /v1/orders/{orderId}/items".to_owned(),
                "Get order items".to_owned()
            ),
            (
                "post /v1/orders/{orderId}/cancel".to_owned(),
                "Cancel order".to_owned()
            ),
            (
                "get /v1/people/{peopleId}".to_owned(),
                "Get person".to_owned()
            ),
            (
                "patch /v1/people/{peopleId}".to_owned(),
                "Update person".to_owned()
            ),
        ])
    );
    let paths = &document["paths"];
    assert_eq!(
        paths["/v1/orders"]["get"]["security"],
        json!([{"bearerAuth": []}, {}])
    );
    assert_eq!(
        paths["/v1/orders/{orderId}/cancel"]["post"]["security"],
        json!([])
    );
    assert_eq!(paths["/v1/people/{peopleId}"]["get"]["security"], json!([]));
    assert_eq!(
        paths["/v1/people/{peopleId}"]["patch"]["security"],
        json!([{"sessionidCookie": []}])
    );
    let tags: Vec<&Value> = document["tags"].as_array().unwrap().iter().collect();
    assert_eq!(
        tags,
        [
            &json!({"name": "orders", "description": "Operations under the path segment `orders` (4 observed)."}),
            &json!({"name": "people", "description": "Operations under the path segment `people` (2 observed)."}),
        ]
    );
    assert_valid(&document);
    export("summaries-and-security", &document);
}

#[test]
fn merge_commutes_when_rendered() {
    let limits = SummaryLimits::default();
    let calls = sample_calls();
    let all = host(&calls);
    // Split every operation's exchanges in two halves, summarised apart.
    let halves = |pick: usize| {
        let chosen: Vec<Call<'_>> = calls
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == pick)
            .map(|(_, c)| c.clone())
            .collect();
        host(&chosen)
    };
    let (a, b) = (halves(0), halves(1));
    let combine = |first: &HostSpec, second: &HostSpec| {
        let mut combined = all.clone();
        for op in &mut combined.operations {
            let find = |h: &HostSpec| {
                h.operations
                    .iter()
                    .find(|o| o.method == op.method && o.template == op.template)
                    .map(|o| o.summary.clone())
                    .unwrap_or_default()
            };
            let mut summary = find(first);
            summary.merge(&find(second), &limits);
            op.summary = summary;
        }
        serde_json::to_string(&render(&combined, &RenderOptions::default())).unwrap()
    };
    let ab = combine(&a, &b);
    let ba = combine(&b, &a);
    assert_eq!(ab, ba);
    // And merging halves is the same as observing everything at once.
    assert_eq!(
        ab,
        serde_json::to_string(&render(&all, &RenderOptions::default())).unwrap()
    );
}

#[test]
fn summaries_stay_bounded() {
    let limits = SummaryLimits::default();
    let template = Template::parse("/search").unwrap();
    let mut summary = EndpointSummary::default();
    for round in 0..40 {
        // Thousands of query parameters, headers and cookies.
        let query: Vec<String> = (0..1000).map(|i| format!("p{round}_{i}={i}")).collect();
        let target = format!("/search?{}", query.join("&"));
        let header_names: Vec<String> = (0..300).map(|i| format!("x-h{round}-{i}")).collect();
        let cookie: Vec<String> = (0..300)
            .map(|i| format!("c{round}_{i}=<redacted>"))
            .collect();
        let cookie = cookie.join("; ");
        // A body with key explosion and deep nesting.
        let mut body = String::from("{");
        for i in 0..200 {
            body.push_str(&format!(
                r#""k{round}_{i}": {{"a{round}": [{{"b{i}": "{}"}}]}},"#,
                "v".repeat(100)
            ));
        }
        body.push_str(&format!(
            r#""deep": {}1{}}}"#,
            "[".repeat(500),
            "]".repeat(500)
        ));
        let mut call = Call::new("POST", &target)
            .json_body(&body)
            .header("cookie", &cookie);
        for name in &header_names {
            call = call.header(name, "some value");
        }
        let status = 200 + (round % 30) as u16;
        call = call.respond(
            status,
            Some(if round % 2 == 0 {
                "application/json"
            } else {
                "text/plain"
            }),
            &body,
        );
        summary.observe(&call.exchange(), &template, &limits);
        let size = serde_json::to_string(&summary).unwrap().len();
        assert!(size < 512 * 1024, "round {round}: {size} bytes");
    }
    assert!(summary.schema_nodes() <= limits.max_summary_nodes);
    assert!(summary.query.len() <= limits.max_params);
    assert!(summary.headers.len() <= limits.max_params);
    assert!(summary.cookies.len() <= limits.max_params);
    assert!(summary.responses.len() <= limits.max_statuses);
    let stored = serde_json::to_string(&summary).unwrap();
    let back: EndpointSummary = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, summary);
    // Merging a bounded summary into itself stays bounded.
    let mut merged = summary.clone();
    for _ in 0..5 {
        merged.merge(&summary, &limits);
    }
    assert!(serde_json::to_string(&merged).unwrap().len() < 512 * 1024);
    assert!(merged.schema_nodes() <= limits.max_summary_nodes);
    let document = render(
        &HostSpec {
            host: "h".to_owned(),
            hostname: "h".to_owned(),
            port: 80,
            schemes: vec![Scheme::Http],
            operations: vec![OperationSpec {
                method: "POST".to_owned(),
                template,
                hits: 40,
                first_seen: at(0),
                last_seen: at(1),
                status_codes: BTreeMap::new(),
                summary: merged,
            }],
        },
        &RenderOptions::default(),
    );
    assert_eq!(document["servers"], json!([{"url": "http://h"}]));
    assert_valid(&document);
}

#[test]
fn a_typical_summary_is_small() {
    let summary = &host(&sample_calls()).operations;
    for op in summary {
        let size = serde_json::to_string(&op.summary).unwrap().len();
        assert!(size < 2048, "{} {}: {size} bytes", op.method, op.template);
    }
}

/// Timings in an optimised build: `cargo test --release --lib spec::tests::timings -- --ignored
/// --nocapture`.
#[test]
#[ignore = "a benchmark; run it in a release build"]
fn timings() {
    let limits = SummaryLimits::default();
    // Observing an exchange with a ~1 KB JSON body.
    let item = r#"{"id": 12345, "name": "Widget", "price": 19.99, "tags": ["a", "b"], "created_at": "2024-05-01T10:00:00Z", "owner": {"id": 7, "email": "o@example.com"}}"#;
    let body = format!("[{}]", [item; 6].join(","));
    assert!(body.len() > 900, "{}", body.len());
    let exchange = Call::new("GET", "/items/5?page=2&limit=10")
        .header("authorization", BEARER)
        .header("accept", "application/json")
        .respond(200, Some("application/json"), &body)
        .exchange();
    let template = Template::parse("/items/{itemId:integer}").unwrap();
    let mut summary = EndpointSummary::default();
    let n = 100_000;
    let started = Instant::now();
    for _ in 0..n {
        summary.observe(&exchange, &template, &limits);
    }
    let observing = started.elapsed() / n;
    // Only the first bodies are read; measure reading too.
    let unlimited = SummaryLimits {
        max_bodies: u64::MAX,
        ..limits
    };
    let started = Instant::now();
    for _ in 0..n {
        summary.observe(&exchange, &template, &unlimited);
    }
    let reading = started.elapsed() / n;

    // The JSON reader alone.
    let mut schema = schema::Schema::default();
    let started = Instant::now();
    for _ in 0..n {
        schema.observe_json(body.as_bytes(), false, &limits);
    }
    let walking = started.elapsed() / n;

    // Rendering a host of 1,000 endpoints.
    let mut operations = Vec::new();
    for i in 0..1000 {
        let template =
            Template::parse(&format!("/r{}/{{id:integer}}/s{}", i / 10, i % 10)).unwrap();
        operations.push(OperationSpec {
            method: "GET".to_owned(),
            template,
            hits: 100,
            first_seen: at(0),
            last_seen: at(1),
            status_codes: BTreeMap::from([(200, 100), (404, 3)]),
            summary: summary.clone(),
        });
    }
    let host = HostSpec {
        host: "h".to_owned(),
        hostname: "h".to_owned(),
        port: 443,
        schemes: vec![Scheme::Https],
        operations,
    };
    let started = Instant::now();
    let document = render(&host, &RenderOptions::default());
    let rendering = started.elapsed();
    let started = Instant::now();
    let yaml = to_yaml(&document);
    let writing = started.elapsed();
    eprintln!(
        "observe: {observing:?} per exchange (reading every body: {reading:?}, of which the JSON reader: {walking:?}); render 1000 endpoints: {rendering:?}; YAML: {writing:?} ({} bytes)",
        yaml.len()
    );
}
