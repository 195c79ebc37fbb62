//! The web inventory in a real browser: headless Chromium, driven over WebDriver, against a
//! server on port 0 that has been sent sample traffic.
//!
//! Screenshots go to `target/ui-screenshots/` (or `UI_SCREENSHOT_DIR`).

#[path = "../api/common/mod.rs"]
mod common;

mod browser;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{Value, json};

use browser::Browser;
use common::{Db, TestApp, akto_record};

const HOST: &str = "shop.example";

/// One browser at a time: the machines that run these have few cores, and the timing test must
/// not share them with another browser.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const USERS: [&str; 10] = [
    "mojombo",
    "defunkt",
    "pjhyett",
    "wycats",
    "ezmobius",
    "ivey",
    "evanphx",
    "vanpelt",
    "wayneeseguin",
    "brynary",
];

fn record_on(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    request_body: &str,
    response_body: &str,
) -> Value {
    let mut all = vec![("host", host)];
    all.extend_from_slice(headers);
    akto_record(
        method,
        &format!("https://{host}{path}"),
        &all,
        request_body,
        200,
        "application/json",
        response_body,
    )
}

/// A small API: `/orders/{orderId}` (12), `/users/{user}/repos` (40), and a login whose request
/// carries a bearer token and a password that must never reach the page.
fn shop_traffic() -> Vec<Value> {
    let mut records = Vec::new();
    for id in 1000..1012 {
        records.push(record_on(
            HOST,
            "GET",
            &format!("/orders/{id}"),
            &[],
            "",
            &json!({"id": id, "total": 12.5, "currency": "EUR"}).to_string(),
        ));
    }
    for user in USERS {
        for _ in 0..4 {
            records.push(record_on(
                HOST,
                "GET",
                &format!("/users/{user}/repos"),
                &[],
                "",
                &json!([{"id": 1, "name": "dotfiles", "private": false}]).to_string(),
            ));
        }
    }
    records.push(record_on(
        HOST,
        "POST",
        "/login",
        &[
            ("authorization", "Bearer sk_live_51HqVeryS3cretToken"),
            ("content-type", "application/json"),
        ],
        &json!({"user": "mojombo", "password": "hunter2-correct-horse"}).to_string(),
        &json!({"session": "ok", "expires_in": 3600}).to_string(),
    ));
    records
}

async fn post_all(app: &TestApp, records: &[Value]) {
    for chunk in records.chunks(1000) {
        let response = app
            .post("/api/ingestData", json!({"batchData": chunk}).to_string())
            .await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
}

fn fast_discovery(config: &mut reconstructor::config::Config) {
    config.discovery.merge_interval = Duration::from_millis(100);
    config.discovery.refresh_interval = Duration::from_millis(100);
}

/// Polls the API until `host` lists `(method, path, hits)` among its endpoints.
async fn wait_for_endpoint(app: &TestApp, host: &str, method: &str, path: &str, hits: u64) {
    let started = Instant::now();
    loop {
        let (_, body) = app
            .get_json(&format!(
                "/api/hosts/{host}/endpoints?include_non_api=true&limit=100000"
            ))
            .await;
        let found = body["endpoints"].as_array().is_some_and(|list| {
            list.iter()
                .any(|e| e["method"] == method && e["path"] == path && e["hits"] == hits)
        });
        if found {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{method} {path} with {hits} hits never appeared: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `#/hosts/{host}/endpoint?method=…&path=…`, as the pages link it.
fn endpoint_route(host: &str, method: &str, path: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("method", method)
        .append_pair("path", path)
        .finish();
    format!("#/hosts/{host}/endpoint?{query}")
}

async fn hosts_endpoints_and_redacted_exchanges_are_shown() {
    let _one = ONE_BROWSER.lock().await;
    let browser = Browser::start().await;
    let app = TestApp::spawn(Db::Sqlite, fast_discovery).await;
    post_all(&app, &shop_traffic()).await;
    wait_for_endpoint(&app, HOST, "GET", "/users/{user}/repos", 40).await;

    // Hosts: the host, its endpoints and exchanges.
    browser.open(&app.url("/ui/")).await;
    let row = browser
        .wait_for_text("#hosts tbody tr", |t| t.contains(HOST))
        .await;
    assert!(row.contains("53"), "exchanges in {row:?}");
    assert!(row.contains("2025-11-21 04:40:00Z"), "{row:?}");
    browser.screenshot("hosts").await;

    // The list refreshes by itself while traffic arrives.
    post_all(
        &app,
        &[record_on(
            "api.other.example",
            "GET",
            "/health",
            &[],
            "",
            "{}",
        )],
    )
    .await;
    browser
        .wait_for_text("#hosts tbody", |t| t.contains("api.other.example"))
        .await;

    // Host: following the link shows the templated endpoint with its hit count.
    browser
        .eval("document.getElementById('main').removeAttribute('data-ready')")
        .await;
    browser
        .client
        .find(Locator::LinkText(HOST))
        .await
        .expect("host link")
        .click()
        .await
        .unwrap();
    browser.wait_ready().await;
    let row = r#"#endpoints tr[data-method="GET"][data-path="/users/{user}/repos"]"#;
    let hits = browser
        .wait_for_text(&format!("{row} .hits"), |_| true)
        .await;
    assert_eq!(hits, "40");
    let cells = browser.texts(&format!("{row} td, {row} th")).await;
    assert!(cells.contains(&"user: string".to_owned()), "{cells:?}");
    assert!(cells.contains(&"200 (40)".to_owned()), "{cells:?}");
    assert!(
        cells.contains(&"response: application/json".to_owned()),
        "{cells:?}"
    );
    let summary = browser.texts("#endpoint-summary").await;
    assert_eq!(
        summary,
        ["Showing 1–3 of 3 endpoints, page 1 of 1."],
        "{summary:?}"
    );
    browser.screenshot("host").await;

    // Sorting by hits puts the busiest endpoint first; filtering narrows the table.
    browser
        .client
        .find(Locator::Css(r#"button[data-key="hits"]"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let paths = browser.texts("#endpoints tbody th").await;
    assert_eq!(
        paths,
        ["/users/{user}/repos", "/orders/{orderId}", "/login"]
    );
    let sort = browser
        .client
        .find(Locator::Css(r#"th[aria-sort]"#))
        .await
        .unwrap();
    assert_eq!(
        sort.attr("aria-sort").await.unwrap().as_deref(),
        Some("descending")
    );
    browser
        .client
        .find(Locator::Id("filter"))
        .await
        .unwrap()
        .send_keys("ORDERS")
        .await
        .unwrap();
    let paths = browser.texts("#endpoints tbody th").await;
    assert_eq!(paths, ["/orders/{orderId}"]);

    // Endpoint: the stored exchange, redacted, with pretty-printed JSON, and the spec's part.
    browser.route(&endpoint_route(HOST, "POST", "/login")).await;
    let exchange = browser
        .wait_for_text("details.exchange", |t| t.contains("Request"))
        .await;
    assert!(exchange.contains("Bearer <redacted>"), "{exchange}");
    assert!(
        exchange.contains("\"password\": \"<redacted>\""),
        "{exchange}"
    );
    assert!(exchange.contains("\"expires_in\": 3600"), "{exchange}");
    let source = browser.client.source().await.unwrap();
    for secret in ["hunter2", "sk_live_51HqVeryS3cretToken", "S3cret"] {
        assert!(!source.contains(secret), "{secret} reached the page");
    }
    let operation = browser.wait_for_text("#operation", |_| true).await;
    let operation: Value = serde_json::from_str(&operation).expect("the operation is JSON");
    assert!(operation["requestBody"].is_object(), "{operation}");
    assert!(operation["responses"]["200"].is_object(), "{operation}");
    browser.screenshot("endpoint").await;

    // The OpenAPI views show the same document as the API.
    browser.route(&format!("#/hosts/{HOST}/openapi/yaml")).await;
    let yaml = browser.wait_for_text("#document", |_| true).await;
    let expected = app
        .client
        .get(app.url(&format!("/api/hosts/{HOST}/openapi.yaml")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(yaml.trim_end(), expected.trim_end());

    browser.close().await;
    app.stop().await;
}

async fn editing_rules_changes_the_endpoint_list() {
    let _one = ONE_BROWSER.lock().await;
    let browser = Browser::start().await;
    let app = TestApp::spawn(Db::Sqlite, fast_discovery).await;
    post_all(&app, &shop_traffic()).await;
    wait_for_endpoint(&app, HOST, "GET", "/users/{user}/repos", 40).await;

    browser
        .open(&app.url(&format!("/ui/#/hosts/{HOST}/rules")))
        .await;
    let list = browser.wait_for_text("#rule-endpoints", |_| true).await;
    assert!(list.contains("GET /users/{user}/repos (40 hits)"), "{list}");

    let templates = browser.client.find(Locator::Id("templates")).await.unwrap();
    let literals = browser.client.find(Locator::Id("literals")).await.unwrap();
    let save = browser
        .client
        .find(Locator::Css("#rules-form button[type=submit]"))
        .await
        .unwrap();

    // A template the server refuses: its message is shown under the templates, which are marked.
    templates.send_keys("/repos/{owner").await.unwrap();
    save.click().await.unwrap();
    let error = browser
        .wait_for_text("#templates-error", |t| !t.is_empty())
        .await;
    assert!(
        error.contains("`/repos/{owner` is not a valid template"),
        "{error}"
    );
    assert_eq!(
        templates.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    browser.screenshot("rules-error").await;

    // A literal the browser refuses before sending.
    templates.clear().await.unwrap();
    literals.send_keys("users/me").await.unwrap();
    save.click().await.unwrap();
    let error = browser
        .wait_for_text("#literals-error", |t| !t.is_empty())
        .await;
    assert!(error.contains("must start with"), "{error}");
    let (_, rules) = app.get_json(&format!("/api/hosts/{HOST}/rules")).await;
    assert_eq!(rules["stored"], json!({"templates": [], "literals": []}));

    // A valid rule: saved, the stored traffic re-read, and the list changes.
    literals.clear().await.unwrap();
    literals.send_keys("/users/mojombo").await.unwrap();
    templates.send_keys("/users/{login}/repos").await.unwrap();
    save.click().await.unwrap();
    let result = browser
        .wait_for_text("#rules-result", |t| t.starts_with("Saved"))
        .await;
    assert!(result.contains("53 exchanges re-read"), "{result}");
    let list = browser
        .wait_for_text("#rule-endpoints", |t| t.contains("{login}"))
        .await;
    assert!(
        list.contains("GET /users/{login}/repos (36 hits)"),
        "{list}"
    );
    assert!(list.contains("GET /users/mojombo/repos (4 hits)"), "{list}");
    assert!(!list.contains("{user}"), "{list}");
    assert_eq!(browser.texts("#templates-error").await, [""]);
    browser.screenshot("rules").await;

    // The host page agrees.
    browser.route(&format!("#/hosts/{HOST}")).await;
    let paths = browser.texts("#endpoints tbody th").await;
    assert!(
        paths.contains(&"/users/{login}/repos".to_owned()),
        "{paths:?}"
    );
    assert!(
        !paths.contains(&"/users/{user}/repos".to_owned()),
        "{paths:?}"
    );

    browser.close().await;
    app.stop().await;
}

async fn script_in_a_path_and_a_header_is_shown_as_text() {
    let _one = ONE_BROWSER.lock().await;
    let browser = Browser::start().await;
    let app = TestApp::spawn(Db::Sqlite, fast_discovery).await;
    let header =
        r#"<script>window.__pwned = "header"</script><img src=x onerror="window.__pwned='img'">"#;
    let record = record_on(
        HOST,
        "GET",
        "/notes/<script>window.__pwned=\"path\"</script>",
        &[("x-note", header)],
        "",
        &json!({"note": "<script>window.__pwned='body'</script>"}).to_string(),
    );
    post_all(&app, &[record]).await;
    // What the catalog made of the path is what the page must show, character for character.
    let (path, exchange_path) = {
        let started = Instant::now();
        loop {
            let (_, list) = app
                .get_json(&format!("/api/hosts/{HOST}/endpoints?include_non_api=true"))
                .await;
            let (_, exchanges) = app.get_json("/api/exchanges").await;
            if let (Some(path), Some(raw)) = (
                list["endpoints"][0]["path"].as_str(),
                exchanges["exchanges"][0]["raw_path"].as_str(),
            ) {
                break (path.to_owned(), raw.to_owned());
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{list}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(
        exchange_path.contains("<script>") || path.contains("<script>"),
        "the payload must survive ingestion for this test to mean anything: {path} {exchange_path}"
    );

    browser.open(&app.url(&format!("/ui/#/hosts/{HOST}"))).await;
    browser
        .client
        .find(Locator::Id("non-api"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = browser
        .wait_for_text("#endpoints tbody th", |t| t == path)
        .await;
    assert_eq!(shown, path);

    browser.route(&endpoint_route(HOST, "GET", &path)).await;
    let summary = browser
        .wait_for_text("details.exchange summary", |_| true)
        .await;
    assert!(summary.contains(&exchange_path), "{summary}");
    let values = browser.texts("table.headers td").await;
    assert!(values.contains(&header.to_owned()), "{values:?}");
    let body = browser
        .wait_for_text("details.exchange pre", |_| true)
        .await;
    assert!(
        body.contains("<script>window.__pwned='body'</script>"),
        "{body}"
    );

    // Nothing ran and no element was made from the payloads.
    let verdict = browser
        .eval(
            "return { pwned: window.__pwned ?? null, \
             scripts: document.querySelectorAll('main script, main img').length };",
        )
        .await;
    assert_eq!(verdict, json!({"pwned": null, "scripts": 0}));
    browser.screenshot("escaped").await;

    browser.close().await;
    app.stop().await;
}

async fn the_read_token_is_asked_once_and_kept_for_the_tab() {
    let _one = ONE_BROWSER.lock().await;
    let browser = Browser::start().await;
    let app = TestApp::spawn(Db::Sqlite, |config| {
        fast_discovery(config);
        config.read_tokens = vec!["reader-s3cret".to_owned().into()];
    })
    .await;
    post_all(&app, &shop_traffic()).await;

    browser.open(&app.url("/ui/")).await;
    browser.wait_for_css("#token").await;
    let focused = browser.eval("return document.activeElement.id;").await;
    assert_eq!(focused, "token", "the token field has the focus");

    // A wrong token is refused and not kept.
    let input = browser.client.find(Locator::Id("token")).await.unwrap();
    browser
        .eval("document.getElementById('main').removeAttribute('data-ready')")
        .await;
    input.send_keys("wrong\n").await.unwrap();
    browser.wait_ready().await;
    let alert = browser
        .wait_for_text("form.token [role=alert]", |_| true)
        .await;
    assert_eq!(alert, "That token was not accepted.");
    assert_eq!(
        browser
            .eval("return sessionStorage.length + localStorage.length;")
            .await,
        json!(0)
    );

    // The right one opens the pages; it stays in this tab's sessionStorage only.
    let input = browser.client.find(Locator::Id("token")).await.unwrap();
    browser
        .eval("document.getElementById('main').removeAttribute('data-ready')")
        .await;
    input.send_keys("reader-s3cret\n").await.unwrap();
    browser.wait_ready().await;
    browser
        .wait_for_text("#hosts tbody", |t| t.contains(HOST))
        .await;
    let storage = browser
        .eval(
            "return { session: Object.values(sessionStorage), local: localStorage.length, \
             url: location.href, cookies: document.cookie };",
        )
        .await;
    assert_eq!(storage["session"], json!(["reader-s3cret"]));
    assert_eq!(storage["local"], json!(0));
    assert_eq!(storage["cookies"], json!(""));
    assert!(
        !storage["url"].as_str().unwrap().contains("s3cret"),
        "{storage}"
    );

    // Other pages use it without asking again.
    browser.route(&format!("#/hosts/{HOST}")).await;
    browser.wait_for_css("#endpoints").await;
    assert!(
        browser.client.find(Locator::Id("token")).await.is_err(),
        "asked again"
    );

    // "Forget token" drops it and the next call asks again.
    browser
        .eval("document.getElementById('main').removeAttribute('data-ready')")
        .await;
    browser
        .client
        .find(Locator::Css("#session button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_ready().await;
    browser.wait_for_css("#token").await;
    assert_eq!(
        browser.eval("return sessionStorage.length;").await,
        json!(0)
    );

    browser.close().await;
    app.stop().await;
}

/// Two-syllable words, none a number, id or hash, so that with a high merge threshold each of
/// `/{word}/{word}{word}` stays an endpoint of its own (no two first segments share a
/// sub-resource, so the first segment does not merge either).
fn words() -> Vec<String> {
    const SYLLABLES: [&str; 10] = ["ba", "ke", "li", "mo", "nu", "ra", "se", "ti", "vo", "zu"];
    let mut words = Vec::new();
    for a in SYLLABLES {
        for b in SYLLABLES {
            words.push(format!("{a}{b}"));
        }
    }
    words
}

async fn a_host_with_ten_thousand_endpoints_renders_in_under_a_second() {
    const BIG: &str = "big.example";
    let _one = ONE_BROWSER.lock().await;
    let browser = Browser::start().await;
    let app = TestApp::spawn(Db::Sqlite, |config| {
        fast_discovery(config);
        config.discovery.min_distinct = 1_000_000;
    })
    .await;
    let words = words();
    let mut records = Vec::with_capacity(10_000);
    for a in &words {
        for b in &words {
            records.push(record_on(
                BIG,
                "GET",
                &format!("/{a}/{a}{b}"),
                &[],
                "",
                "{\"ok\":true}",
            ));
        }
    }
    post_all(&app, &records).await;
    let started = Instant::now();
    loop {
        let (_, hosts) = app.get_json("/api/hosts").await;
        if hosts["hosts"][0]["endpoints"] == 10_000 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{hosts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Warm the browser (first start of a profile, module compilation), then load the host page
    // afresh three times. Asserted: the browser's own clock from the page's route starting to
    // its first 100 rows on screen (the API calls and the rendering); printed beside it, the
    // time since the navigation began (document and modules too) and the wall time seen from
    // here (WebDriver round trips included). The rest of the list follows in the background for
    // filtering and sorting.
    browser.open(&app.url("/ui/")).await;
    let mut timings = Vec::new();
    for _ in 0..3 {
        browser.client.goto("about:blank").await.unwrap();
        let started = Instant::now();
        browser.open(&app.url(&format!("/ui/#/hosts/{BIG}"))).await;
        browser
            .wait_for_text("#endpoint-summary", |t| t.contains("10,000"))
            .await;
        let wall = started.elapsed();
        // The first page is 100 rows, or fewer when it ends before a split endpoint. The rest
        // of the list may land between two WebDriver calls, so the summary and the rows are
        // read in one script, from the same frame.
        let seen = browser
            .eval(
                "return [document.getElementById('endpoint-summary').innerText, \
                 document.querySelectorAll('#endpoints tbody tr').length];",
            )
            .await;
        let summary = seen[0].as_str().expect("the summary").to_owned();
        let rows = seen[1].as_u64().expect("a row count") as usize;
        assert!((90..=100).contains(&rows), "{rows} rows");
        assert!(
            summary.starts_with(&format!("Showing 1–{rows} of 10,000 endpoints")),
            "{summary}"
        );
        let clocks = browser
            .eval(
                "const d = document.getElementById('main').dataset; \
                 return [Number(d.renderMs), Number(d.readyAtMs)];",
            )
            .await;
        let ms = |i: usize| Duration::from_millis(clocks[i].as_u64().expect("a time in ms"));
        timings.push((ms(0), ms(1), wall));
        // The whole list arrives; the same first page stays on screen.
        browser
            .wait_for_text("#endpoint-summary", |t| {
                t == "Showing 1–100 of 10,000 endpoints, page 1 of 100."
            })
            .await;
    }
    eprintln!(
        "10,000 endpoints: (route to table, navigation start to table, wall time here): {timings:?}"
    );
    let mut render: Vec<Duration> = timings.iter().map(|(t, _, _)| *t).collect();
    render.sort();
    let median = render[1];
    assert!(
        median < Duration::from_secs(1),
        "the host page took {median:?} (median) to render: {timings:?}"
    );

    // Paging, filtering and sorting stay on the loaded list.
    browser
        .client
        .find(Locator::Css(".pager button:last-child"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let summary = browser.texts("#endpoint-summary").await;
    assert_eq!(
        summary,
        ["Showing 101–200 of 10,000 endpoints, page 2 of 100."]
    );
    browser
        .client
        .find(Locator::Id("filter"))
        .await
        .unwrap()
        .send_keys("/zuzu/")
        .await
        .unwrap();
    let summary = browser.texts("#endpoint-summary").await;
    assert_eq!(
        summary,
        ["Showing 1–100 of 100 endpoints (10,000 in all), page 1 of 1."]
    );

    browser.close().await;
    app.stop().await;
}

crate::trials! {
    browser: [hosts_endpoints_and_redacted_exchanges_are_shown, editing_rules_changes_the_endpoint_list, script_in_a_path_and_a_header_is_shown_as_text, the_read_token_is_asked_once_and_kept_for_the_tab, a_host_with_ten_thousand_endpoints_renders_in_under_a_second],
}

fn main() -> std::process::ExitCode {
    common::harness::main(&[trials])
}
