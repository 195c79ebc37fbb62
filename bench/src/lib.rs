//! What the benchmark binaries share: Reconstructor started in process on a port of its own, Akto
//! batches posted to it, and percentiles of measured durations.

use std::time::Duration;

use reconstructor::config::{Config, LogFormat};
use reconstructor::startup::Application;
use reconstructor::store::DatabaseUrl;

/// Posts `records` as one Akto batch to `POST {base}/api/ingestData`; an answer other than 2xx
/// is an error.
pub async fn post_akto<T: serde::Serialize>(
    client: &reqwest::Client,
    base: &str,
    records: &[T],
) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base}/api/ingestData"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "batchData": records }).to_string())
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "ingest answered {}",
        response.status()
    );
    Ok(())
}

/// A server running in this process, over SQLite in a temporary directory or a given database.
#[derive(Debug)]
pub struct InProcess {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The configuration it runs with.
    pub config: Config,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// Starts it with `tweak` applied to a quiet default configuration.
    pub async fn start(
        database_url: Option<String>,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let mut config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().to_path_buf(),
            database: reconstructor::store::DatabaseSettings {
                url: Some(DatabaseUrl::new(url)),
                ..Default::default()
            },
            log_format: LogFormat::Text,
            log_level: "warn".to_owned(),
            ..Config::default()
        };
        tweak(&mut config);
        let app = Application::build(config.clone()).await?;
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            config,
            stop,
            task,
            _dir: dir,
        })
    }

    /// Shuts it down and waits until it has stopped.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

/// The `p` quantile (0..=1) of sorted durations; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Runs a benchmark's async body on a multi-threaded runtime.
pub fn block_on(body: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(body)
}
