//! The delivery-service: consumes deliverymq, delivers each task to its destination, records
//! the attempt on logmq and schedules retries; also runs the retry monitor that moves due
//! retries back to deliverymq.

pub mod consumer;
pub mod deliver;
pub mod fairness;
pub mod retry_monitor;
pub mod sender;
pub mod ssrf;
pub mod tracked;
pub mod webhook;

use anyhow::Context;
use deliver::Deliverer;
use outpost_config::{Config, WebhookMode};
use outpost_core::health::Health;
use outpost_core::retry::RetryPolicy;
use outpost_core::template::Template;
use outpost_destinations::webhook::request::{
    SignatureAlgorithm, SignatureEncoding, WebhookSettings,
};
use outpost_runtime::infra::Infra;
use sender::Sender;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The webhook request settings from configuration.
pub fn webhook_settings(cfg: &Config) -> anyhow::Result<WebhookSettings> {
    let w = &cfg.webhook;
    Ok(WebhookSettings {
        standard: w.mode == WebhookMode::Standard,
        header_prefix: w.header_prefix.clone(),
        event_id_header: w.event_id_header.clone(),
        signature_header: w.signature_header.clone(),
        timestamp_header: w.timestamp_header.clone(),
        topic_header: w.topic_header.clone(),
        content_template: Template::parse(&w.signature_content_template)
            .context("DESTINATIONS_WEBHOOK_SIGNATURE_CONTENT_TEMPLATE")?,
        header_template: Template::parse(&w.signature_header_template)
            .context("DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_TEMPLATE")?,
        algorithm: if w.signature_algorithm == "hmac-sha1" {
            SignatureAlgorithm::HmacSha1
        } else {
            SignatureAlgorithm::HmacSha256
        },
        encoding: if w.signature_encoding == "base64" {
            SignatureEncoding::Base64
        } else {
            SignatureEncoding::Hex
        },
        include_millisecond_timestamp: cfg.include_millisecond_timestamp,
    })
}

/// The settings of the non-webhook senders from configuration.
pub fn sender_settings(cfg: &Config) -> outpost_senders::SenderSettings {
    outpost_senders::SenderSettings {
        include_millisecond_timestamp: cfg.include_millisecond_timestamp,
        kinesis_metadata_in_payload: cfg.kinesis_metadata_in_payload,
        user_agent: cfg.user_agent.clone(),
        hookdeck_events_url: cfg.hookdeck_events_url.clone(),
        queue_signing_secret: cfg.queue_signing_secret.clone(),
    }
}

/// The retry policy from configuration.
pub fn retry_policy(cfg: &Config) -> RetryPolicy {
    RetryPolicy {
        schedule: cfg.retry.schedule.clone(),
        interval_secs: cfg.retry.interval_secs,
        max_retries: cfg.retry.max_limit,
    }
}

/// Builds the deliverer from configuration and infrastructure.
pub fn deliverer(cfg: &Config, infra: &Infra) -> anyhow::Result<Deliverer> {
    let guard = ssrf::Guard::new(cfg.webhook.ssrf_protection, &cfg.webhook.allowed_cidrs)
        .map_err(anyhow::Error::msg)?;
    let webhook = webhook::WebhookSender::new(
        webhook_settings(cfg)?,
        guard,
        &cfg.user_agent,
        cfg.webhook.proxy_url.as_deref(),
        cfg.webhook.max_response_body_bytes,
        // As many connections as deliveries may be in flight: the slots and the slow pool.
        cfg.delivery_max_concurrency.saturating_mul(2),
    )
    .map_err(anyhow::Error::msg)?;
    let mut senders: HashMap<String, Arc<dyn Sender>> =
        outpost_senders::registry(&sender_settings(cfg));
    senders.insert("webhook".into(), Arc::new(webhook));
    Ok(Deliverer {
        store: infra.store.clone(),
        idempotency: infra.delivery_idempotency.clone(),
        idempotency_ttl: Duration::from_secs(cfg.delivery_idempotency_ttl_secs),
        scheduler: infra.scheduler.clone(),
        logmq: infra.logmq("delivery")?,
        senders,
        policy: retry_policy(cfg),
        timeout: Duration::from_secs(cfg.delivery_timeout_secs),
        idgen: cfg.idgen.clone(),
        fairness: fairness::Fairness::new(
            match cfg.delivery_slow_destination_concurrency {
                0 => fairness::Fairness::default_cap(cfg.delivery_max_concurrency),
                n => n,
            },
            cfg.delivery_max_concurrency,
        ),
        wake: Arc::default(),
        held: Default::default(),
        deferred: Default::default(),
    })
}

/// Runs the deliverymq consumer and the retry monitor until shutdown.
pub async fn run_workers(
    cfg: &Config,
    infra: &Infra,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let d = Arc::new(deliverer(cfg, infra)?);
    let deliverymq = infra.deliverymq("delivery")?;
    health.set("http-server", true);
    let policy = retry_policy(cfg);
    let max_wait = if cfg.retry.poll_backoff_ms > 0 {
        Duration::from_millis(cfg.retry.poll_backoff_ms)
    } else {
        policy.shortest_delay().min(Duration::from_secs(30))
    };
    let monitor = retry_monitor::run(
        infra.scheduler.clone(),
        retry_monitor::Lanes {
            main: deliverymq.clone(),
            busy: infra.busy_lane.clone(),
        },
        max_wait,
        Duration::from_secs(cfg.retry.visibility_timeout_secs),
        d.wake.clone(),
        health.clone(),
        shutdown.clone(),
    );
    let consumer = consumer::run(
        deliverymq,
        infra.busy_lane.as_ref().map(|b| b.queue.clone()),
        d,
        cfg.delivery_max_concurrency,
        Duration::from_secs(cfg.shutdown_grace_secs),
        health,
        shutdown,
    );
    tokio::join!(monitor, consumer);
    Ok(())
}
