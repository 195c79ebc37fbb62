//! Realistic values for path parameters, chosen by schema, format, pattern, example and name.
//!
//! In order: `enum` values; a value matching a simple `pattern`; integers and decimals for
//! `integer`/`number`; the `format` (uuid, date, date-time, email, ipv4, ipv6, byte); an example
//! made of digits or hexadecimal is varied keeping its shape (`12345` → `80413`); then the name:
//! hashes and shas are hexadecimal, `*number`/`*_no`/`index` are integers, names of people,
//! organisations, projects, branches, labels, secrets, files, countries, languages and
//! currencies draw from word pools (a mix of dictionary words and handles, as in real traffic);
//! any other string is an opaque identifier in one style per API (numeric, UUID, prefixed like
//! `cus_8fJ2kLq9`, ObjectId or alphanumeric), as real APIs use one style throughout.

use serde_json::Value;

use crate::spec::{PathParam, fnv1a};

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn from_parts(parts: &[&str], seed: u64) -> Rng {
        let joined = parts.join("\u{1f}");
        Rng(fnv1a(joined.as_bytes()) ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % n).unwrap_or(0)
    }

    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub(crate) fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
}

pub(crate) const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// People's handles: a few dictionary words, mostly not.
pub(crate) const USERS: &[&str] = &[
    "octocat",
    "torvalds",
    "gaearon",
    "sindresorhus",
    "defunkt",
    "mojombo",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
    "peggy",
    "trent",
    "victor",
    "walter",
    "jdoe",
    "jsmith",
    "mjackson",
    "kentcdodds",
    "yyx990803",
    "dhh",
    "antirez",
    "fabpot",
    "taylorotwell",
    "mitchellh",
    "jessfraz",
    "bradfitz",
    "rsc",
    "tpope",
    "wycats",
    "substack",
    "isaacs",
    "addyosmani",
    "paulirish",
    "mdo",
    "fat",
    "maria-garcia",
    "chen_wei",
    "priya.sharma",
    "lukas_m",
    "sofia92",
    "dev42",
    "coder_99",
    "nightowl",
    "pixel-pusher",
    "jane-doe",
    "j.smith",
    "amir_k",
    "yuki-tanaka",
    "olga.petrova",
    "max-mustermann",
    "kwame88",
    "li.na",
    "tomasz-w",
    "bjorn",
    "anaïs",
    "noah_b",
    "emma.w",
    "liam2020",
    "zoe-dev",
    "raj_patel",
    "fatima-z",
    "ngozi",
    "pablo-r",
    "mehmet_y",
    "sara-j",
];

/// Organisations and teams.
const ORGS: &[&str] = &[
    "acme",
    "acme-corp",
    "initech",
    "globex",
    "umbrella-co",
    "hooli",
    "piedpiper",
    "rust-lang",
    "nodejs",
    "vercel",
    "hashicorp",
    "kubernetes",
    "mozilla",
    "netflix",
    "shopify",
    "openai",
    "grafana",
    "elastic",
    "cloudflare",
    "jetbrains",
    "twbs",
    "facebook",
    "microsoft",
    "google",
    "apache",
    "golang",
    "python",
    "rails",
    "django",
    "spring-projects",
    "tensorflow",
    "pytorch",
    "wayne-enterprises",
    "stark-industries",
    "wonka",
    "cyberdyne",
    "tyrell",
    "soylent",
    "platform-team",
    "infra-team",
    "core-devs",
    "frontend-guild",
    "data-eng",
    "sre",
    "mobile",
    "security",
    "design-system",
    "payments",
    "growth",
    "qa-team",
    "ml-ops",
    "devrel",
];

/// Projects, repositories, apps and sites.
const PROJECTS: &[&str] = &[
    "hello-world",
    "spoon-knife",
    "linux",
    "react",
    "vue",
    "rust",
    "tokio",
    "serde",
    "next.js",
    "express",
    "django",
    "flask",
    "rails",
    "kubernetes",
    "terraform",
    "vscode",
    "dotfiles",
    "awesome-python",
    "my-app",
    "api-server",
    "website",
    "docs",
    "blog",
    "homepage",
    "infra",
    "backend",
    "frontend",
    "mobile-app",
    "cli",
    "sdk-js",
    "design-tokens",
    "billing-service",
    "auth-service",
    "data-pipeline",
    "ml-models",
    "landing-page",
    "todo-app",
    "chat-bot",
    "shop-frontend",
    "admin-panel",
    "etl-jobs",
    "go-kit",
    "fastapi-demo",
    "webpack-config",
    "eslint-plugin-foo",
    "monorepo",
    "playground",
    "sandbox",
    "prototype-v2",
    "legacy-api",
    "portfolio",
    "notes",
    "recipes",
    "weather-app",
    "tic-tac-toe",
    "snake-game",
    "pet-store",
];

/// Branches, tags and refs.
const REFS: &[&str] = &[
    "main",
    "master",
    "develop",
    "dev",
    "staging",
    "production",
    "release-1.2",
    "release-2024-05",
    "feature-login",
    "feature-dark-mode",
    "fix-typo",
    "hotfix-1234",
    "gh-pages",
    "next",
    "canary",
    "beta",
    "wip-refactor",
    "dependabot-npm",
    "renovate-lodash",
    "bugfix-crash",
    "feat-search",
    "chore-deps",
    "docs-update",
    "perf-cache",
    "experiment-a",
    "jd-cleanup",
    "topic-auth",
    "integration",
    "qa",
    "uat",
    "sprint-42",
    "v2-migration",
    "old-ui",
    "spike",
];

/// Labels, tags, topics, categories: mostly words.
pub(crate) const LABELS: &[&str] = &[
    "bug",
    "enhancement",
    "question",
    "documentation",
    "duplicate",
    "wontfix",
    "help wanted",
    "good first issue",
    "invalid",
    "priority-high",
    "priority-low",
    "p1",
    "p2",
    "needs-triage",
    "area-api",
    "area-ui",
    "breaking-change",
    "security",
    "performance",
    "refactor",
    "chore",
    "dependencies",
    "javascript",
    "rust",
    "ci",
    "blocked",
    "in-progress",
    "ready-for-review",
    "stale",
    "regression",
    "ux",
    "backend",
    "frontend",
    "infra",
    "release",
    "hacktoberfest",
];

/// Secret, variable and key names.
const SECRETS: &[&str] = &[
    "NPM_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "DOCKER_PASSWORD",
    "SLACK_WEBHOOK_URL",
    "GH_PAT",
    "SONAR_TOKEN",
    "CODECOV_TOKEN",
    "DATABASE_URL",
    "API_KEY",
    "SENTRY_DSN",
    "GCP_SA_KEY",
    "AZURE_CREDENTIALS",
    "PYPI_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "DEPLOY_KEY",
    "SSH_PRIVATE_KEY",
    "STRIPE_SECRET",
    "TWILIO_AUTH",
    "NODE_ENV",
    "APP_ENV",
    "LOG_LEVEL",
    "FEATURE_FLAGS",
    "REDIS_URL",
    "JWT_SECRET",
    "OPENAI_API_KEY",
    "MAPBOX_TOKEN",
];

/// Generic names of things (environments, templates, configurations, files).
const NAMES: &[&str] = &[
    "production",
    "staging",
    "dev-eu",
    "us-east-1",
    "eu-west-2",
    "default-config",
    "my-template",
    "invoice-template",
    "welcome-email",
    "q3-report",
    "onboarding-flow",
    "checkout-v2",
    "nightly-build",
    "daily-backup",
    "weekly-digest",
    "test-suite-a",
    "blue-green",
    "canary-eu",
    "sandbox-01",
    "demo-env",
    "acme-prod",
    "acme-staging",
    "team-alpha",
    "project-x",
    "marketing-site",
    "docs-preview",
    "ci-runner-3",
    "gpu-pool",
    "batch-queue",
    "cron-cleanup",
    "README.md",
    "package.json",
    "main.rs",
    "index.js",
    "Dockerfile",
    "config.yaml",
    "logo.png",
    "contract-2024.pdf",
    "notes.txt",
    "data.csv",
    "schema.sql",
    "app.py",
    "styles.css",
];

const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK", "FI", "PL", "PT", "IE", "CA", "MX",
    "BR", "AR", "JP", "KR", "CN", "IN", "AU", "NZ", "ZA", "NG", "KE", "EG", "TR", "IL",
];

const LANGUAGES: &[&str] = &[
    "en", "en-US", "en-GB", "de", "de-DE", "fr", "fr-CA", "es", "es-MX", "it", "pt-BR", "ja", "ko",
    "zh-CN", "zh-TW", "ru", "pl", "nl", "sv", "tr", "ar", "hi", "he", "uk",
];

const CURRENCIES: &[&str] = &[
    "usd", "eur", "gbp", "jpy", "cad", "aud", "chf", "sek", "nok", "dkk", "pln", "brl", "mxn",
    "inr", "cny", "krw", "sgd", "hkd", "nzd", "zar",
];

/// Up to `count` distinct values (fewer when the parameter has fewer, like a short enum).
pub(crate) fn values(param: &PathParam, spec_id: &str, count: usize, rng: &mut Rng) -> Vec<String> {
    if let Some(values) = enum_list(&param.schema) {
        let mut values = values;
        values.truncate(count);
        return values;
    }
    let mut out: Vec<String> = Vec::with_capacity(count);
    let mut attempts = 0;
    while out.len() < count && attempts < count * 20 {
        attempts += 1;
        let v = one_value(param, spec_id, rng);
        if !v.is_empty() && !v.contains('/') && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

pub(crate) fn enum_list(schema: &Value) -> Option<Vec<String>> {
    let list = schema
        .get("enum")
        .or_else(|| schema.get("items").and_then(|i| i.get("enum")))?
        .as_array()?;
    let values: Vec<String> = list
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty() && !s.contains('/'))
        .collect();
    (!values.is_empty()).then_some(values)
}

fn one_value(param: &PathParam, spec_id: &str, rng: &mut Rng) -> String {
    let schema = &param.schema;
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Some(v) = from_pattern(pattern, rng)
    {
        return v;
    }
    match ty {
        "integer" => return rng.range(1, 10_000_000).to_string(),
        "number" => {
            return format!("{}.{}", rng.range(0, 1000), rng.range(1, 10_000));
        }
        _ => {}
    }
    match format {
        "uuid" | "guid" => return uuid(rng),
        "date" => return date(rng),
        "date-time" => {
            return format!(
                "{}T{:02}:{:02}:00Z",
                date(rng),
                rng.below(24),
                rng.below(60)
            );
        }
        "email" => {
            let user = rng.pick(USERS).replace(['.', '-'], "_");
            return format!("{user}@example.com");
        }
        "ipv4" => {
            return format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.range(1, 255)
            );
        }
        "ipv6" => {
            return format!(
                "2001:db8::{:x}:{:x}",
                rng.range(1, 65535),
                rng.range(1, 65535)
            );
        }
        "byte" => return format!("{}==", rng.chars(ALNUM, 22)),
        "int32" | "int64" => return rng.range(1, 10_000_000).to_string(),
        "iso-country-code" => return rng.pick(COUNTRIES).to_owned(),
        _ => {}
    }
    if let Some(example) = param.example.as_ref().and_then(example_text)
        && let Some(v) = vary_example(&example, rng)
    {
        return v;
    }
    by_name(&param.name, &param.description, spec_id, rng)
}

fn example_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Varies an example made of digits, hexadecimal or an id-like mix, keeping its shape; `None` for
/// examples that read as words (those are better drawn from a pool by name).
fn vary_example(example: &str, rng: &mut Rng) -> Option<String> {
    let digits = example.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 || example.len() > 64 {
        return None;
    }
    let hexy = example.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-');
    Some(
        example
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from(DIGITS[rng.below(10)])
                } else if hexy && c.is_ascii_hexdigit() {
                    let h = char::from(HEX[rng.below(16)]);
                    if c.is_ascii_uppercase() {
                        h.to_ascii_uppercase()
                    } else {
                        h
                    }
                } else if c.is_ascii_lowercase() && !hexy {
                    char::from(LOWER[rng.below(26)])
                } else if c.is_ascii_uppercase() && !hexy {
                    char::from(UPPER[rng.below(26)])
                } else {
                    c
                }
            })
            .collect(),
    )
    .filter(|v: &String| {
        v.bytes().any(|c| c.is_ascii_digit()) && v.parse::<u64>().map_or(true, |n| n > 0)
    })
}

fn words_of(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_ascii_uppercase()
            && i > 0
            && chars[i - 1].is_ascii_lowercase()
            && !current.is_empty()
        {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub(crate) fn by_name(name: &str, description: &str, spec_id: &str, rng: &mut Rng) -> String {
    let words = words_of(name);
    let last = words.last().map(String::as_str).unwrap_or("");
    let has = |w: &[&str]| words.iter().any(|x| w.contains(&x.as_str()));
    let description = description.to_ascii_lowercase();
    if has(&["sha", "hash", "digest", "checksum", "etag"]) || (has(&["commit"]) && !has(&["id"])) {
        return rng.chars(HEX, 40);
    }
    if has(&["uuid", "guid"]) {
        return uuid(rng);
    }
    if matches!(
        last,
        "number"
            | "num"
            | "no"
            | "index"
            | "idx"
            | "year"
            | "page"
            | "position"
            | "version"
            | "count"
            | "seq"
            | "line"
    ) {
        return rng.range(1, 100_000).to_string();
    }
    if has(&["date", "day"]) && !has(&["id"]) {
        return date(rng);
    }
    if has(&["email", "mail"]) && !has(&["id"]) {
        return format!("{}@example.com", rng.pick(USERS).replace(['.', '-'], "_"));
    }
    if has(&["country"]) && !has(&["id"]) {
        return rng.pick(COUNTRIES).to_owned();
    }
    if has(&["language", "lang", "locale"]) && !has(&["id"]) {
        return rng.pick(LANGUAGES).to_owned();
    }
    if has(&["currency"]) && !has(&["id"]) {
        return rng.pick(CURRENCIES).to_owned();
    }
    let id_like = matches!(
        last,
        "id" | "ids" | "sid" | "uid" | "key" | "token" | "code" | "ref"
    ) || name.ends_with("Id")
        || name.ends_with("ID")
        || name.ends_with("Sid");
    if has(&[
        "owner",
        "username",
        "user",
        "login",
        "author",
        "member",
        "assignee",
        "handle",
        "creator",
        "follower",
        "collaborator",
        "account",
    ]) && !id_like
    {
        return rng.pick(USERS).to_owned();
    }
    if has(&[
        "org",
        "organization",
        "organisation",
        "enterprise",
        "team",
        "group",
        "workspace",
        "namespace",
        "company",
        "tenant",
    ]) && !id_like
    {
        return rng.pick(ORGS).to_owned();
    }
    if has(&[
        "repo",
        "repository",
        "project",
        "package",
        "app",
        "application",
        "site",
        "slug",
        "codespace",
        "gist",
        "service",
        "product",
        "bucket",
        "database",
        "db",
        "channel",
        "board",
    ]) && !id_like
    {
        return rng.pick(PROJECTS).to_owned();
    }
    if has(&["branch", "ref", "tag", "basehead", "head", "base"]) {
        return rng.pick(REFS).to_owned();
    }
    if has(&["label", "topic", "category", "keyword", "tag"]) && !id_like {
        return rng.pick(LABELS).to_owned();
    }
    if has(&["secret", "variable", "var", "env"]) && !id_like {
        return rng.pick(SECRETS).to_owned();
    }
    if has(&[
        "name",
        "title",
        "path",
        "file",
        "filename",
        "environment",
        "template",
        "alias",
        "handle",
    ]) && !id_like
    {
        return rng.pick(NAMES).to_owned();
    }
    if !id_like && (description.contains(" name") || description.contains("slug")) {
        return rng.pick(NAMES).to_owned();
    }
    opaque_id(name, spec_id, rng)
}

/// An identifier in the API's style.
fn opaque_id(name: &str, spec_id: &str, rng: &mut Rng) -> String {
    match fnv1a(spec_id.as_bytes()) % 5 {
        0 => rng.range(1, 100_000_000).to_string(),
        1 => uuid(rng),
        2 => {
            let prefix: String = words_of(name)
                .into_iter()
                .find(|w| w != "id")
                .unwrap_or_else(|| "obj".to_owned())
                .chars()
                .take(4)
                .collect();
            format!("{prefix}_{}", rng.chars(ALNUM, 14))
        }
        3 => rng.chars(HEX, 24),
        _ => {
            let mut s = rng.chars(ALNUM, 12);
            // Alphanumeric ids carry digits.
            s.replace_range(3..4, &rng.chars(DIGITS, 1));
            s.replace_range(8..9, &rng.chars(DIGITS, 1));
            s
        }
    }
}

pub(crate) fn uuid(rng: &mut Rng) -> String {
    let h = rng.chars(HEX, 32);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        char::from(b"89ab"[rng.below(4)]),
        &h[17..20],
        &h[20..32]
    )
}

pub(crate) fn date(rng: &mut Rng) -> String {
    format!(
        "{}-{:02}-{:02}",
        rng.range(2015, 2026),
        rng.range(1, 13),
        rng.range(1, 29)
    )
}

/// A value for a simple regular expression: literals, escapes (`\d`, `\w`, `\.`), classes with
/// ranges, groups with alternatives, and the quantifiers `?`, `*`, `+`, `{n}`, `{n,m}`.
/// `None` for anything else.
pub(crate) fn from_pattern(pattern: &str, rng: &mut Rng) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    let mut out = String::new();
    alternatives(&chars, &mut pos, rng, &mut out, 0)?;
    (pos == chars.len() && !out.is_empty()).then_some(out)
}

fn alternatives(
    c: &[char],
    pos: &mut usize,
    rng: &mut Rng,
    out: &mut String,
    depth: usize,
) -> Option<()> {
    if depth > 8 {
        return None;
    }
    // Collect the alternatives' spans, then generate one of them.
    let mut branches = vec![*pos];
    let mut level = 0usize;
    let mut i = *pos;
    let mut in_class = false;
    while i < c.len() {
        match c[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => level += 1,
            ')' if !in_class => {
                if level == 0 {
                    break;
                }
                level -= 1;
            }
            '|' if !in_class && level == 0 => branches.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    let end = i;
    let choice = rng.below(branches.len());
    let mut p = branches[choice];
    let stop = branches.get(choice + 1).map_or(end, |&b| b - 1);
    while p < stop {
        sequence_item(c, &mut p, stop, rng, out, depth)?;
    }
    *pos = end;
    Some(())
}

enum Atom {
    Group(usize),
    Set(Vec<char>),
}

fn sequence_item(
    c: &[char],
    p: &mut usize,
    stop: usize,
    rng: &mut Rng,
    out: &mut String,
    depth: usize,
) -> Option<()> {
    let atom = match c[*p] {
        '^' | '$' => {
            *p += 1;
            return Some(());
        }
        '(' => {
            let mut inner = *p + 1;
            if c.get(inner) == Some(&'?') && c.get(inner + 1) == Some(&':') {
                inner += 2;
            }
            let mut probe = inner;
            let mut scratch = String::new();
            alternatives(c, &mut probe, &mut Rng::new(0), &mut scratch, depth + 1)?;
            if c.get(probe) != Some(&')') {
                return None;
            }
            *p = probe + 1;
            Atom::Group(inner)
        }
        '[' => {
            let (set, next) = class(c, *p + 1)?;
            *p = next;
            Atom::Set(set)
        }
        '\\' => {
            let e = *c.get(*p + 1)?;
            *p += 2;
            Atom::Set(escape_set(e))
        }
        '.' => {
            *p += 1;
            Atom::Set(ALNUM.iter().map(|&b| char::from(b)).collect())
        }
        ch if "*+?{)|".contains(ch) => return None,
        ch => {
            *p += 1;
            Atom::Set(vec![ch])
        }
    };
    // A quantifier.
    let (lo, hi) = match c.get(*p).filter(|_| *p < stop) {
        Some('?') => {
            *p += 1;
            (0, 1)
        }
        Some('*') => {
            *p += 1;
            (0, 6)
        }
        Some('+') => {
            *p += 1;
            (1, 8)
        }
        Some('{') => {
            let close = c[*p..].iter().position(|&x| x == '}')? + *p;
            let body: String = c[*p + 1..close].iter().collect();
            *p = close + 1;
            match body.split_once(',') {
                Some((a, b)) => {
                    let a: usize = a.trim().parse().ok()?;
                    let b: usize = if b.trim().is_empty() {
                        a + 6
                    } else {
                        b.trim().parse().ok()?
                    };
                    (a, b.min(a + 12).max(a))
                }
                None => {
                    let n: usize = body.trim().parse().ok()?;
                    (n, n)
                }
            }
        }
        _ => (1, 1),
    };
    if hi > 128 {
        return None;
    }
    let n = if hi > lo {
        lo + rng.below(hi - lo + 1)
    } else {
        lo
    };
    for _ in 0..n {
        match &atom {
            Atom::Group(inner) => {
                let mut q = *inner;
                alternatives(c, &mut q, rng, out, depth + 1)?;
            }
            Atom::Set(set) => out.push(set[rng.below(set.len())]),
        }
    }
    Some(())
}

fn escape_set(e: char) -> Vec<char> {
    match e {
        'd' => DIGITS.iter().map(|&b| char::from(b)).collect(),
        'w' => ALNUM.iter().map(|&b| char::from(b)).chain(['_']).collect(),
        's' => vec![' '],
        other => vec![other],
    }
}

/// A character class starting after `[`: the set and the index after `]`.
fn class(c: &[char], mut i: usize) -> Option<(Vec<char>, usize)> {
    if c.get(i) == Some(&'^') {
        return None;
    }
    let mut set = Vec::new();
    while i < c.len() && c[i] != ']' {
        let first = if c[i] == '\\' {
            i += 1;
            let e = *c.get(i)?;
            if matches!(e, 'd' | 'w' | 's') {
                set.extend(escape_set(e));
                i += 1;
                continue;
            }
            e
        } else {
            c[i]
        };
        if c.get(i + 1) == Some(&'-') && c.get(i + 2).is_some_and(|&x| x != ']') {
            let last = c[i + 2];
            if last < first {
                return None;
            }
            set.extend(first..=last);
            i += 3;
        } else {
            set.push(first);
            i += 1;
        }
    }
    (i < c.len() && !set.is_empty()).then_some((set, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let mut rng = Rng::new(7);
        let v = from_pattern("^AC[0-9a-fA-F]{32}$", &mut rng).unwrap();
        assert!(v.starts_with("AC") && v.len() == 34, "{v}");
        let v = from_pattern("^(SM|MM)[0-9a-fA-F]{32}$", &mut rng).unwrap();
        assert!(
            (v.starts_with("SM") || v.starts_with("MM")) && v.len() == 34,
            "{v}"
        );
        let v = from_pattern("^[a-z]{2}-\\d{3,5}$", &mut rng).unwrap();
        assert!(v.len() >= 6 && v.len() <= 8, "{v}");
        assert!(from_pattern("^[^/]+$", &mut rng).is_none());
    }
}
