//! The `[discovery]` section of the configuration: the merge schedule, its threshold and the
//! per-host rules, with their defaults defined here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::merge::MergeSettings;
use crate::model::template::{HostRules, Template};

/// Endpoint discovery settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoverySettings {
    /// How often the leader runs the cardinality merge over hosts that changed.
    #[serde(with = "humantime_serde")]
    pub merge_interval: Duration,
    /// How often each replica reloads learned templates and stored rules.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Distinct literals at one position before it becomes a parameter.
    pub min_distinct: usize,
    /// Merges are first made on a host's early traffic. Each time its traffic has grown
    /// fourfold since its templates were last judged on all of its stored exchanges, the leader
    /// rebuilds the host's catalog from them, which splits templates the evidence no longer
    /// supports; only while the host has at most this many exchanges (a rebuild reads them all).
    /// `0` turns revisions off.
    pub revision_limit: u64,
    /// Per-host rules, keyed by host key (`api.example.com`, `api.example.com:8443`).
    pub hosts: BTreeMap<String, HostRulesConfig>,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            merge_interval: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(10),
            min_distinct: MergeSettings::default().min_distinct,
            revision_limit: 1_000_000,
            hosts: BTreeMap::new(),
        }
    }
}

impl DiscoverySettings {
    /// The per-host rules (validated at load), keyed by lower-case host key.
    pub fn host_rules(&self) -> HashMap<String, HostRules> {
        self.hosts
            .iter()
            .filter_map(|(host, rules)| Some((host.to_ascii_lowercase(), rules.to_rules().ok()?)))
            .collect()
    }

    /// The merge thresholds these settings choose.
    pub fn merge_settings(&self) -> MergeSettings {
        MergeSettings {
            min_distinct: self.min_distinct,
            ..MergeSettings::default()
        }
    }

    /// The first unacceptable setting, as `(key within [discovery], reason)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (host, rules) in &self.hosts {
            rules
                .to_rules()
                .map_err(|e| ("hosts", format!("{host}: {e}")))?;
        }
        if self.merge_interval.is_zero() || self.refresh_interval.is_zero() {
            return Err((
                "merge_interval",
                "merge and refresh intervals must be longer than zero".to_owned(),
            ));
        }
        if self.min_distinct < 2 {
            return Err(("min_distinct", "must be at least 2".to_owned()));
        }
        Ok(())
    }
}

/// Rules for one host as people write them, in the configuration file or through
/// `PUT /api/hosts/{host}/rules`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HostRulesConfig {
    /// "This is a template": `/repos/{owner}/{repo}`, optionally typed (`{id:integer}`).
    pub templates: Vec<String>,
    /// "This stays literal": `/users/me`.
    pub literals: Vec<String>,
}

impl HostRulesConfig {
    /// The rules, or the first template that does not parse.
    pub fn to_rules(&self) -> Result<HostRules, String> {
        let mut templates = Vec::with_capacity(self.templates.len());
        for text in &self.templates {
            let template =
                Template::parse(text).ok_or_else(|| format!("`{text}` is not a valid template"))?;
            templates.push(template);
        }
        for literal in &self.literals {
            if !literal.starts_with('/') || literal.contains(['{', '}']) {
                return Err(format!("`{literal}` is not a literal path"));
            }
        }
        Ok(HostRules {
            templates,
            literals: self.literals.clone(),
        })
    }
}
