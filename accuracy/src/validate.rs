//! `--validate`: each reconstructed OpenAPI document is checked with openapi-spec-validator
//! (Python), so that a run shows not only how much of the API a document describes but whether
//! tools that read OpenAPI will accept it.
//!
//! The checks run one at a time on a worker thread while the next spec's traffic is generated and
//! posted: large documents (Stripe's is about 30 MB) take minutes to validate, and the rest of
//! the run need not wait for them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};

/// Reads one document on stdin and prints `valid`, or `invalid: <first error> at <JSON path>`.
/// Anything else (a missing module, a crash) exits non-zero: a broken setup, not a verdict.
const SCRIPT: &str = r#"
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
document = json.load(sys.stdin)
try:
    validate(document)
except OpenAPIValidationError as error:
    message = " ".join(str(getattr(error, "message", error)).split())[:400]
    print(f"invalid: {message} at {getattr(error, 'json_path', '?')}")
else:
    print("valid")
"#;

/// What openapi-spec-validator said about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid,
    /// The first error and where it is.
    Invalid(String),
}

/// A worker validating documents in the order they are submitted.
#[derive(Debug)]
pub(crate) struct Validator {
    jobs: Option<Sender<(String, String)>>,
    results: Receiver<(String, Result<Verdict>)>,
    pending: usize,
    worker: Option<JoinHandle<()>>,
}

impl Validator {
    /// Starts the worker; `python` is an interpreter with `openapi-spec-validator` installed.
    /// Fails at once when it cannot import the module, rather than after the first spec.
    pub(crate) fn start(python: PathBuf) -> Result<Validator> {
        let probe = Command::new(&python)
            .args(["-c", "import openapi_spec_validator"])
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if !probe.status.success() {
            bail!(
                "{} cannot import openapi_spec_validator: {}",
                python.display(),
                String::from_utf8_lossy(&probe.stderr).trim()
            );
        }
        let (jobs, inbox) = mpsc::channel::<(String, String)>();
        let (outbox, results) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            for (id, document) in inbox {
                let verdict = run(&python, &document);
                if outbox.send((id, verdict)).is_err() {
                    return;
                }
            }
        });
        Ok(Validator {
            jobs: Some(jobs),
            results,
            pending: 0,
            worker: Some(worker),
        })
    }

    /// Queues one document (its JSON text) under a spec id.
    pub(crate) fn submit(&mut self, id: String, document: String) -> Result<()> {
        let jobs = self.jobs.as_ref().context("the validator has stopped")?;
        jobs.send((id, document))
            .map_err(|_| anyhow::anyhow!("the validator thread has stopped"))?;
        self.pending += 1;
        Ok(())
    }

    /// Waits for every queued document, in submission order.
    pub(crate) fn wait(&mut self) -> Result<Vec<(String, Verdict)>> {
        let mut out = Vec::with_capacity(self.pending);
        while self.pending > 0 {
            let (id, verdict) = self
                .results
                .recv()
                .map_err(|_| anyhow::anyhow!("the validator thread has stopped"))?;
            self.pending -= 1;
            out.push((
                id.clone(),
                verdict.with_context(|| format!("validating {id}"))?,
            ));
        }
        Ok(out)
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        // Closing the queue ends the worker's loop.
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn run(python: &PathBuf, document: &str) -> Result<Verdict> {
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", python.display()))?;
    {
        let mut stdin = child.stdin.take().context("no stdin")?;
        stdin.write_all(document.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        bail!(
            "the validator failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    match stdout.strip_prefix("invalid: ") {
        Some(reason) => Ok(Verdict::Invalid(reason.to_owned())),
        None if stdout == "valid" => Ok(Verdict::Valid),
        None => bail!("unexpected validator output: {stdout}"),
    }
}
