//! Webhook delivery from the outbox, signed the Standard Webhooks way.
//!
//! Every replica runs a [`Deliverer`]: it claims due deliveries for a lease (so each goes to one
//! replica at a time), posts them, and records the outcome: delivered on 2xx, else retried with
//! exponential backoff until the last attempt. It shares nothing with ingest but the database
//! pool, so a slow or failing receiver costs ingest nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::settings::{ChangesConfig, WebhookSubscription};
use crate::store::changes::{AttemptOutcome, DeliveryRow, DeliveryStatus};
use crate::store::{Store, StoreError};

/// The events a subscription can ask for.
pub const EVENT_TYPES: [&str; 3] = ["endpoint.discovered", "spec.revised", "drift.detected"];

/// Deliveries claimed per round.
const CLAIM: u32 = 32;
/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 500;

/// Decodes a `whsec_…` secret into its key bytes.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").ok_or_else(|| {
        "must start with `whsec_` followed by base64 (Standard Webhooks)".to_owned()
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|e| format!("the part after `whsec_` is not base64: {e}"))?;
    if !(16..=64).contains(&key.len()) {
        return Err(format!(
            "the key must be 16 to 64 bytes, this one is {}",
            key.len()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Delay before attempt `attempts + 1`: `base · 2^(attempts − 1)`, at most `max`.
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(max)
}

#[derive(Debug)]
struct Target {
    url: String,
    key: Vec<u8>,
}

/// Delivers the outbox.
#[derive(Debug)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    targets: Vec<Target>,
    settings: ChangesConfig,
    wake: Arc<Notify>,
}

impl Deliverer {
    /// A deliverer for the configured subscriptions; `wake` hurries it when events are recorded.
    pub fn new(
        store: Arc<dyn Store>,
        subscriptions: &[WebhookSubscription],
        settings: &ChangesConfig,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.webhook_timeout)
            .connect_timeout(settings.webhook_timeout)
            // A receiver's redirect is not followed: the signature was made for this URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("reconstructor/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let targets = subscriptions
            .iter()
            .map(|s| {
                Ok(Target {
                    url: s.url.clone(),
                    key: secret_key(s.secret.expose_secret()).map_err(anyhow::Error::msg)?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Deliverer {
            store,
            client,
            targets,
            settings: settings.clone(),
            wake,
        })
    }

    /// One round: claims what is due and attempts each; returns the number attempted.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let lease = self.settings.webhook_timeout * 2 + Duration::from_secs(5);
        let claimed = self
            .store
            .changes()
            .claim_deliveries(Utc::now(), lease, CLAIM)
            .await?;
        let attempts = claimed.iter().map(|d| self.attempt(d));
        let outcomes = futures_util::future::join_all(attempts).await;
        for (delivery, outcome) in claimed.iter().zip(outcomes) {
            let label = match &outcome {
                AttemptOutcome::Delivered(_) => "delivered",
                AttemptOutcome::Retry { .. } => "retry",
                AttemptOutcome::GiveUp { .. } => "failed",
            };
            metrics::counter!(
                crate::observability::names::WEBHOOK_ATTEMPTS,
                "event" => delivery.event_type.clone(),
                "outcome" => label
            )
            .increment(1);
            if let AttemptOutcome::Retry { error, .. } | AttemptOutcome::GiveUp { error, .. } =
                &outcome
            {
                tracing::warn!(
                    url = %delivery.url,
                    message_id = %delivery.message_id,
                    attempts = delivery.attempts,
                    error = %error,
                    "webhook delivery failed"
                );
            }
            self.store
                .changes()
                .finish_delivery(delivery.id, Utc::now(), &outcome)
                .await?;
        }
        Ok(claimed.len())
    }

    async fn attempt(&self, delivery: &DeliveryRow) -> AttemptOutcome {
        let failed = |status: Option<u16>, error: String| {
            let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
            if delivery.attempts >= self.settings.webhook_max_attempts {
                AttemptOutcome::GiveUp { status, error }
            } else {
                let delay = backoff(
                    self.settings.webhook_backoff,
                    self.settings.webhook_backoff_max,
                    delivery.attempts,
                );
                AttemptOutcome::Retry {
                    at: Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                    status,
                    error,
                }
            }
        };
        let Some(target) = self.targets.iter().find(|t| t.url == delivery.url) else {
            // The subscription was removed from the configuration since the event was recorded.
            return AttemptOutcome::GiveUp {
                status: None,
                error: "no subscription with this URL is configured any more".to_owned(),
            };
        };
        let timestamp = Utc::now().timestamp();
        let signature = sign(
            &target.key,
            &delivery.message_id,
            timestamp,
            delivery.payload.as_bytes(),
        );
        let started = Instant::now();
        let sent = self
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        metrics::histogram!(crate::observability::names::WEBHOOK_DELIVERY_DURATION)
            .record(started.elapsed().as_secs_f64());
        match sent {
            Ok(response) if response.status().is_success() => {
                AttemptOutcome::Delivered(response.status().as_u16())
            }
            Ok(response) => {
                let status = response.status().as_u16();
                failed(Some(status), format!("the receiver answered {status}"))
            }
            Err(e) => failed(None, format!("{e}")),
        }
    }

    /// Delivers until `cancel`: polls every `webhook_poll_interval`, or at once when woken.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let attempted = match self.round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed");
                    0
                }
            };
            if let Ok(counts) = self.store.changes().delivery_counts().await {
                for status in [
                    DeliveryStatus::Pending,
                    DeliveryStatus::Delivered,
                    DeliveryStatus::Failed,
                ] {
                    let n = counts
                        .iter()
                        .find(|(s, _)| *s == status)
                        .map_or(0, |(_, n)| *n);
                    metrics::gauge!(crate::observability::names::WEBHOOK_DELIVERIES, "status" => status.as_str())
                        .set(n as f64);
                }
            }
            if attempted as u32 == CLAIM {
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.webhook_poll_interval) => {}
            }
        }
    }
}

/// A `webhook-id`: unique per event, the same for every receiver of it.
pub fn message_id(host: &str, event_type: &str, subject: &str, at: DateTime<Utc>) -> String {
    use sha2::Digest;
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let digest = Sha256::digest(format!(
        "{host}\n{event_type}\n{subject}\n{}\n{n}\n{}",
        at.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id()
    ));
    format!("msg_{}", &super::surface::hex(&digest)[..32])
}

/// The subscription URLs that want `event_type`.
pub fn subscribers(subscriptions: &[WebhookSubscription], event_type: &str) -> Vec<String> {
    subscriptions
        .iter()
        .filter(|s| s.events.is_empty() || s.events.iter().any(|e| e == event_type))
        .map(|s| s.url.clone())
        .collect()
}

/// A secret for tests and examples: `whsec_` and the base64 of `key`.
pub fn encode_secret(key: &[u8]) -> SecretString {
    SecretString::from(format!("whsec_{}", STANDARD.encode(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn refuses_secrets_that_are_not_whsec_base64() {
        assert!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key("whsec_not base64!").is_err());
        assert!(secret_key("whsec_").is_err());
        assert!(secret_key("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=6).map(|n| backoff(base, max, n).as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 60, 60]);
        assert_eq!(backoff(base, max, u32::MAX), max);
    }

    #[test]
    fn message_ids_are_unique_and_well_formed() {
        let at = Utc::now();
        let a = message_id("h", "spec.revised", "1", at);
        let b = message_id("h", "spec.revised", "1", at);
        assert_ne!(a, b);
        assert!(a.starts_with("msg_") && a.len() == 36);
    }
}
