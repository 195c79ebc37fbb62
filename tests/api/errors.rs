//! The error paths a newcomer hits: each answers with the right status and a JSON body that says
//! what to do.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Db, TestApp, TestDatabase, sample};

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn rules_for_a_host_without_traffic(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let response = app
        .client
        .put(app.url("/api/hosts/never-seen.example/rules?wait=true"))
        .json(&json!({"templates": ["/items/{id}"], "literals": []}))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reprocessed_exchanges"], 0);
    assert_eq!(body["endpoints"], 0);
    assert_eq!(body["rebuild"]["state"], "done", "{body}");
    let (status, body) = app.get_json("/api/hosts/never-seen.example/rebuild").await;
    assert_eq!((status, &body["state"]), (200, &json!("done")), "{body}");
    // No rebuild was started for a host never named.
    let (status, _) = app.get_json("/api/hosts/other.example/rebuild").await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn wrong_route_and_method(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let response = app
        .client
        .get(app.url("/api/telemetry"))
        .send()
        .await
        .unwrap();
    let allow = response.headers().get("allow").cloned();
    let (status, body) = answer(response).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"], "method_not_allowed", "{body}");
    assert!(body["message"].as_str().unwrap().contains("GET"), "{body}");
    assert!(allow.is_some_and(|a| a.to_str().unwrap().contains("POST")));

    let (status, body) = app.get_json("/api/telemetri").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("/api/telemetry"),
        "{body}"
    );

    // An Akto batch on the telemetry route, and telemetry on the Akto route.
    let (status, body) = answer(
        app.post("/api/telemetry", sample("akto-batch-mixed.json"))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_route");
    assert_eq!(
        body["message"],
        "this looks like an Akto batch: send it to /api/ingestData"
    );
    let (status, body) = answer(
        app.post("/api/ingestData", sample("nta-worker-basic.json"))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "wrong_route");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("send it to /api/telemetry"),
        "{body}"
    );
    let (status, body) = answer(
        app.post(
            "/api/ingestData",
            format!("[{}]", sample("nta-worker-basic.json")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("/api/telemetry"),
        "{body}"
    );
    app.stop().await;
}

async fn misspelled_fields_are_named(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let mut telemetry: Value = serde_json::from_str(&sample("nta-worker-basic.json")).unwrap();
    let request = telemetry
        .as_object_mut()
        .unwrap()
        .remove("request")
        .unwrap();
    telemetry["reqest"] = request;
    let (status, body) = answer(app.post("/api/telemetry", telemetry.to_string()).await).await;
    assert_eq!(status, 422, "{body}");
    let message = body["rejected"][0]["error"].as_str().unwrap();
    assert!(message.contains("request is missing"), "{message}");
    assert!(message.contains("`reqest`"), "{message}");
    assert!(message.contains("did you mean `request`"), "{message}");
    assert!(!message.contains("Worker"), "{message}");

    // A misspelt envelope names what it found.
    let (status, body) = answer(app.post("/api/ingestData", r#"{"batchdata": []}"#).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`batchdata`"),
        "{body}"
    );
    app.stop().await;
}

async fn unknown_query_parameters(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    assert_eq!(
        app.post("/api/telemetry", sample("nta-worker-basic.json"))
            .await
            .status(),
        200
    );
    for path in [
        "/api/exchanges?hots=x",
        "/api/hosts?hots=x",
        "/api/hosts/example.com/endpoints?hots=x",
        "/api/hosts/example.com/openapi.json?hots=x",
        "/api/hosts/example.com/rules?hots=x",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"], "invalid_parameter", "{path}");
        assert!(
            body["message"].as_str().unwrap().contains("`hots`"),
            "{path}: {body}"
        );
    }
    let (status, body) = app.get_json("/api/exchanges?host=x&limit=5").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get_json("/api/exchanges?limit=abc").await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

crate::trials! {
    backend: [rules_for_a_host_without_traffic, wrong_route_and_method, misspelled_fields_are_named, unknown_query_parameters],
    tokio: [unreachable_postgres_is_named_at_start],
    postgres: [postgres_disk_full],
    tmpfs: [sqlite_disk_full],
}

/// Waits for `/readyz` to answer `status`.
async fn readiness_becomes(app: &TestApp, status: u16) -> Value {
    for _ in 0..50 {
        let (got, body) = app.get_json("/readyz").await;
        if got == status {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {status}");
}

async fn assert_disk_full(app: &TestApp) {
    let (status, body) = answer(
        app.post("/api/telemetry", sample("nta-worker-basic.json"))
            .await,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "disk_full", "{body}");
    assert!(body["message"].as_str().unwrap().contains("disk"), "{body}");
    let body = readiness_becomes(app, 503).await;
    assert!(body["reason"].as_str().unwrap().contains("disk"), "{body}");
}

/// Postgres raises `53100 disk_full` on insert (from a trigger, as the server itself would when
/// its volume fills): writes are refused as such and readiness follows.
async fn postgres_disk_full() {
    let app = TestApp::spawn(Db::Postgres, |_| {}).await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(app.database.url.expose())
        .await
        .unwrap();
    sqlx::Executor::execute(
        &mut conn,
        "create function full_disk() returns trigger language plpgsql as $$ begin \
         raise exception 'could not extend file: No space left on device' using errcode = '53100'; \
         end $$; \
         create trigger full_disk before insert on exchanges for each row execute function full_disk();",
    )
    .await
    .unwrap();
    assert_disk_full(&app).await;
    sqlx::Executor::execute(&mut conn, "drop trigger full_disk on exchanges")
        .await
        .unwrap();
    let (status, body) = answer(
        app.post("/api/telemetry", sample("nta-worker-basic.json"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    readiness_becomes(&app, 200).await;
    app.stop().await;
}

/// SQLite on a real full volume: a small tmpfs mounted for the test (root only).
async fn sqlite_disk_full() {
    let database = TestDatabase::new(Db::Sqlite).await;
    let volume = database.dir.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&volume)
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "a 4 MiB tmpfs at {}", volume.display());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(volume.clone());
    let mut config = database.config();
    config.database.url = Some(reconstructor::store::DatabaseUrl::new(format!(
        "sqlite://{}",
        volume.join("test.db").display()
    )));
    let app = TestApp::spawn_with(database, config).await;
    assert_eq!(
        app.post("/api/telemetry", sample("nta-worker-basic.json"))
            .await
            .status(),
        200
    );
    // Fill what is left of the volume.
    let filler = volume.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let small = vec![0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
    }
    // The first write may still fit in pages SQLite already holds; keep writing until one fails.
    let mut full = false;
    for _ in 0..200 {
        let response = app
            .post("/api/telemetry", sample("nta-worker-basic.json"))
            .await;
        if response.status() == 503 {
            full = true;
            break;
        }
    }
    assert!(full, "no write failed on a full volume");
    assert_disk_full(&app).await;
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = answer(
        app.post("/api/telemetry", sample("nta-worker-basic.json"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    readiness_becomes(&app, 200).await;
    app.stop().await;
}

async fn unreachable_postgres_is_named_at_start() {
    let database = TestDatabase::new(Db::Sqlite).await;
    let mut config = database.config();
    // Nothing listens on port 1.
    config.database.url = Some(reconstructor::store::DatabaseUrl::new(
        "postgres://app:se%3Ccret@127.0.0.1:1/reconstructor",
    ));
    config.database.acquire_timeout = Duration::from_millis(500);
    let error = reconstructor::startup::Application::build(config)
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(
        message.to_ascii_lowercase().contains("refused"),
        "{message}"
    );
    assert!(!message.contains("pool timed out"), "{message}");
    assert!(
        !message.contains("se%3Ccret") && !message.contains("%3Credacted"),
        "{message}"
    );
}
