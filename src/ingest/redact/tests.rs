//! The redactor's tests: headers, queries, JSON, forms, multipart, text, configuration, and
//! properties over generated JSON.

use proptest::prelude::*;

use super::credentials::*;
use super::json::*;
use super::names::*;
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
