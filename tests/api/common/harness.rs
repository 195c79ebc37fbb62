//! The test binaries' own harness (libtest-mimic): the same command line and output as libtest,
//! plus what libtest cannot do, namely skip a test at run time with a reason and say at the end
//! what was skipped and how to run it.
//!
//! Some checks need setup the README's test command cannot assume: a Postgres server, the
//! OpenAPI validator, a browser, root for a tmpfs. Without it they are reported as `ignored`
//! with the reason, counted, and summed up after the results. Under `CI` nothing skips: a
//! missing requirement fails the test instead.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::Db;

/// What a test body returns once started.
pub type TestFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Setup a check needs beyond `cargo test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A Postgres server whose role may create databases, at `TEST_DATABASE_URL`.
    Postgres,
    /// Python with `openapi-spec-validator`, at `OPENAPI_VALIDATOR_PYTHON` or `python3`.
    Validator,
    /// Debian's `chromium` and `chromium-driver` (or `CHROMIUM` and `CHROMEDRIVER`).
    Browser,
    /// Root, to mount a small tmpfs that can be filled.
    Tmpfs,
}

const NEEDS: [Need; 4] = [Need::Postgres, Need::Validator, Need::Browser, Need::Tmpfs];

impl Need {
    fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Need::Postgres => "Postgres tests",
            Need::Validator => "OpenAPI validations",
            Need::Browser => "browser tests",
            Need::Tmpfs => "disk-full tests on a tmpfs",
        }
    }

    /// How to make the checks run.
    fn remedy(self) -> &'static str {
        match self {
            Need::Postgres => {
                "set TEST_DATABASE_URL=postgres://user:password@127.0.0.1:5432/postgres (a role \
                 with CREATEDB; .ci/run creates one)"
            }
            Need::Validator => {
                "pip install 'openapi-spec-validator>=0.7,<1', or point OPENAPI_VALIDATOR_PYTHON \
                 at a Python that has it (.ci/run installs it into .work/venv)"
            }
            Need::Browser => {
                "apt install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER"
            }
            Need::Tmpfs => "run the tests as root (they mount a 4 MiB tmpfs)",
        }
    }

    /// Whether the setup is there, probed once per process; the reason when it is not.
    pub fn missing(self) -> Option<&'static str> {
        static PROBED: [OnceLock<Option<&'static str>>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        *PROBED[self.index()].get_or_init(|| match self {
            Need::Postgres => super::postgres_admin_url()
                .is_none()
                .then_some("TEST_DATABASE_URL is not set"),
            Need::Validator => {
                (!validator_available()).then_some("openapi-spec-validator cannot be imported")
            }
            Need::Browser => (browser_binaries().is_none())
                .then_some("chromium or chromedriver is not installed"),
            Need::Tmpfs => (!can_mount_tmpfs()).then_some("a tmpfs cannot be mounted (not root)"),
        })
    }

    /// Records one check of this kind: run, or skipped. Under `CI` a missing requirement is a
    /// failure, never a skip.
    pub fn check(self) -> Result<(), &'static str> {
        match self.missing() {
            None => {
                RAN[self.index()].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Some(reason) if std::env::var_os("CI").is_some() => panic!(
                "CI is set but {reason}: the {} must run in CI ({})",
                self.label(),
                self.remedy()
            ),
            Some(reason) => {
                SKIPPED[self.index()].fetch_add(1, Ordering::Relaxed);
                Err(reason)
            }
        }
    }
}

static RAN: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
static SKIPPED: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// The Python the OpenAPI validations use.
pub fn validator_python() -> String {
    std::env::var("OPENAPI_VALIDATOR_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn validator_available() -> bool {
    std::process::Command::new(validator_python())
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Chromium and chromedriver, when both are found.
pub fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_binary(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )?;
    let driver = find_binary("CHROMEDRIVER", &["chromedriver"])?;
    Some((chromium, driver))
}

fn can_mount_tmpfs() -> bool {
    let Ok(dir) = tempfile::tempdir() else {
        return false;
    };
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let _ = std::process::Command::new("umount")
            .arg(dir.path())
            .status();
    }
    mounted
}

/// `api::discovery` → `discovery`: trial names keep the paths libtest gave them.
pub fn module_name(path: &'static str) -> &'static str {
    path.split_once("::").map_or("", |(_, rest)| rest)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn named(module: &str, parts: &[&str]) -> String {
    std::iter::once(module)
        .chain(parts.iter().copied())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("::")
}

/// An async test on a two-worker runtime, run only when `need` is met.
pub fn tokio(module: &str, name: &str, need: Option<Need>, body: fn() -> TestFuture) -> Trial {
    Trial::ignorable_test(named(module, &[name]), move || {
        if let Some(need) = need
            && let Err(reason) = need.check()
        {
            return Ok(Completion::ignored_with(reason));
        }
        runtime().block_on(body());
        Ok::<_, Failed>(Completion::Completed)
    })
}

/// A plain test.
pub fn sync(module: &str, name: &str, body: fn()) -> Trial {
    Trial::test(named(module, &[name]), move || {
        body();
        Ok(())
    })
}

/// The same test once per store: `<module>::sqlite::<name>` and `<module>::postgres::<name>`.
pub fn backend(module: &str, name: &str, body: fn(Db) -> TestFuture) -> [Trial; 2] {
    let run = move |db: Db| {
        move || {
            if db == Db::Postgres
                && let Err(reason) = Need::Postgres.check()
            {
                return Ok(Completion::ignored_with(reason));
            }
            runtime().block_on(body(db));
            Ok::<_, Failed>(Completion::Completed)
        }
    };
    [
        Trial::ignorable_test(named(module, &["sqlite", name]), run(Db::Sqlite)),
        Trial::ignorable_test(named(module, &["postgres", name]), run(Db::Postgres)),
    ]
}

/// Declares a module's tests, by kind, as its `trials()`:
///
/// ```ignore
/// trials! {
///     backend: [ingests_a_batch],      // async fn(Db), once per store
///     tokio: [serves_http2],           // async fn()
///     postgres: [survives_an_outage],  // async fn() that needs Postgres
///     sync: [parses_flags],            // fn()
/// }
/// ```
#[macro_export]
macro_rules! trials {
    ($($kind:ident: [$($name:ident),* $(,)?]),* $(,)?) => {
        #[allow(clippy::vec_init_then_push)]
        pub(crate) fn trials() -> Vec<::libtest_mimic::Trial> {
            let module = $crate::common::harness::module_name(module_path!());
            let mut trials = Vec::new();
            $($(
                $crate::trial!(trials, module, $kind, $name);
            )*)*
            trials
        }
    };
}

/// One entry of [`trials!`].
#[macro_export]
macro_rules! trial {
    ($trials:ident, $module:ident, backend, $name:ident) => {
        $trials.extend($crate::common::harness::backend(
            $module,
            stringify!($name),
            |db| Box::pin($name(db)),
        ))
    };
    ($trials:ident, $module:ident, sync, $name:ident) => {
        $trials.push($crate::common::harness::sync(
            $module,
            stringify!($name),
            $name,
        ))
    };
    ($trials:ident, $module:ident, tokio, $name:ident) => {
        $trials.push($crate::common::harness::tokio(
            $module,
            stringify!($name),
            None,
            || Box::pin($name()),
        ))
    };
    ($trials:ident, $module:ident, postgres, $name:ident) => {
        $trials.push($crate::common::harness::tokio(
            $module,
            stringify!($name),
            Some($crate::common::harness::Need::Postgres),
            || Box::pin($name()),
        ))
    };
    ($trials:ident, $module:ident, browser, $name:ident) => {
        $trials.push($crate::common::harness::tokio(
            $module,
            stringify!($name),
            Some($crate::common::harness::Need::Browser),
            || Box::pin($name()),
        ))
    };
    ($trials:ident, $module:ident, tmpfs, $name:ident) => {
        $trials.push($crate::common::harness::tokio(
            $module,
            stringify!($name),
            Some($crate::common::harness::Need::Tmpfs),
            || Box::pin($name()),
        ))
    };
}

/// Runs the binary's trials with libtest's arguments, then says what needed setup: how many
/// such checks ran, how many were skipped, why, and how to run them.
pub fn main(modules: &[fn() -> Vec<Trial>]) -> ExitCode {
    let (argv, filters) = split_filters(std::env::args());
    let args = Arguments::from_iter(argv);
    let mut trials: Vec<Trial> = modules.iter().flat_map(|trials| trials()).collect();
    if !filters.is_empty() {
        // Like libtest, several filters select the tests that match any of them.
        trials.retain(|trial| {
            filters.iter().any(|f| match args.exact {
                true => trial.name() == f,
                false => trial.name().contains(f.as_str()),
            })
        });
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        report();
    }
    conclusion.exit_code()
}

#[allow(clippy::print_stdout)]
fn report() {
    let counts: Vec<(Need, usize, usize)> = NEEDS
        .iter()
        .map(|&need| {
            let ran = RAN[need.index()].load(Ordering::Relaxed);
            let skipped = SKIPPED[need.index()].load(Ordering::Relaxed);
            (need, ran, skipped)
        })
        .filter(|&(_, ran, skipped)| ran + skipped > 0)
        .collect();
    if counts.is_empty() {
        return;
    }
    println!("checks that need setup:");
    for &(need, ran, skipped) in &counts {
        println!("  {:<28} {ran} ran, {skipped} skipped", need.label());
    }
    for &(need, _, skipped) in &counts {
        if skipped > 0 {
            let reason = need.missing().unwrap_or("not available");
            println!(
                "SKIPPED {skipped} {}: {reason}. To run them: {}.",
                need.label(),
                need.remedy()
            );
        }
    }
    println!();
}

/// Splits the name filters off libtest's command line when there are several (libtest-mimic
/// takes one); a single filter stays where it is.
fn split_filters(args: impl Iterator<Item = String>) -> (Vec<String>, Vec<String>) {
    const WITH_VALUE: &[&str] = &[
        "--test-threads",
        "--skip",
        "--format",
        "--color",
        "--logfile",
        "-Z",
    ];
    let mut argv = Vec::new();
    let mut filters = Vec::new();
    let mut value_next = false;
    for (i, arg) in args.enumerate() {
        if i == 0 || value_next || arg.starts_with('-') {
            value_next = WITH_VALUE.contains(&arg.as_str());
            argv.push(arg);
        } else {
            filters.push(arg);
        }
    }
    if filters.len() == 1 {
        argv.append(&mut filters);
    }
    (argv, filters)
}
