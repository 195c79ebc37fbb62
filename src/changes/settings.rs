//! The `[changes]` section of the configuration and the `[[webhooks]]` subscriptions, with their
//! defaults.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

/// Change tracking settings (`[changes]` in the configuration file).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChangesConfig {
    /// How often the leader looks for hosts whose document changed.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long a changed document must stay unchanged before it becomes a revision, so that a
    /// burst of traffic gives one revision (a document that keeps changing is recorded after
    /// ten times this).
    #[serde(with = "humantime_serde")]
    pub debounce: Duration,
    /// Revisions kept per host; older ones are deleted.
    pub max_revisions: u32,
    /// How long a receiver has to answer one delivery.
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,
    /// Attempts per delivery before it is marked failed.
    pub webhook_max_attempts: u32,
    /// Delay before the first retry; it doubles with each further attempt.
    #[serde(with = "humantime_serde")]
    pub webhook_backoff: Duration,
    /// Longest delay between two attempts.
    #[serde(with = "humantime_serde")]
    pub webhook_backoff_max: Duration,
    /// How often each replica looks for due deliveries.
    #[serde(with = "humantime_serde")]
    pub webhook_poll_interval: Duration,
}

impl Default for ChangesConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            debounce: Duration::from_secs(60),
            max_revisions: 100,
            webhook_timeout: Duration::from_secs(10),
            webhook_max_attempts: 12,
            webhook_backoff: Duration::from_secs(5),
            webhook_backoff_max: Duration::from_secs(3600),
            webhook_poll_interval: Duration::from_secs(2),
        }
    }
}

/// One webhook subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSubscription {
    /// Where events are posted (`http://` or `https://`).
    pub url: String,
    /// Event types to send (`endpoint.discovered`, `spec.revised`, `drift.detected`); all
    /// when empty.
    #[serde(default)]
    pub events: Vec<String>,
    /// The signing secret: `whsec_` and base64 (Standard Webhooks).
    pub secret: SecretString,
}
