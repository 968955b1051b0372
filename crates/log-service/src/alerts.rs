//! Alerts evaluated on every persisted attempt (spec §4.8, §9): attempt events, consecutive
//! failures at 50/70/90/100 % of the threshold, auto-disable at 100 %, exhausted retries once
//! per window. A replay gate keeps redelivered log entries from alerting twice.

use outpost_core::alerts::consecutive_alert;
use outpost_core::destination::Destination;
use outpost_core::event::{AttemptStatus, LogEntry};
use outpost_core::ports::{AlertState, DestinationLookup, TenantStore};
use outpost_core::time::{format_rfc3339_nano, now_ms};
use outpost_opevents::Emitter;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Alert settings.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Consecutive failures threshold (`None` disables).
    pub consecutive_failure_count: Option<u32>,
    /// Disable destinations at 100 %.
    pub auto_disable: bool,
    /// Exhausted-retries suppression window (`None` disables the alert).
    pub exhausted_window: Option<Duration>,
    /// `MAX_RETRY_LIMIT` (or the schedule length).
    pub max_retries: u32,
}

/// Evaluates alerts.
pub struct Alerter {
    /// Settings.
    pub settings: AlertSettings,
    /// Bookkeeping.
    pub state: Arc<dyn AlertState>,
    /// Destinations (auto-disable).
    pub store: Arc<dyn TenantStore>,
    /// Where events go.
    pub emitter: Emitter,
}

/// An alert evaluation failed; the log entries are redelivered and re-evaluated.
#[derive(Debug, thiserror::Error)]
#[error("alert evaluation failed: {0}")]
pub struct AlertError(String);

fn err(e: impl std::fmt::Display) -> AlertError {
    AlertError(e.to_string())
}

/// `AlertDestination`: the destination without credentials.
pub fn alert_destination(d: &Destination) -> Value {
    json!({
        "id": d.id,
        "tenant_id": d.tenant_id,
        "type": d.kind,
        "topics": d.topics,
        "config": d.config,
        "created_at": format_rfc3339_nano(&d.created_at),
        "disabled_at": d.disabled_at.as_ref().map(format_rfc3339_nano),
    })
}

fn event_json(e: &LogEntry) -> Value {
    serde_json::to_value(&e.event).unwrap_or(Value::Null)
}

fn attempt_json(e: &LogEntry) -> Value {
    serde_json::to_value(&e.attempt).unwrap_or(Value::Null)
}

impl Alerter {
    /// Whether any alert or attempt event can fire (otherwise evaluation is skipped).
    pub fn active(&self) -> bool {
        self.settings.consecutive_failure_count.is_some()
            || self.settings.exhausted_window.is_some()
            || self.emitter.enabled("attempt.success")
            || self.emitter.enabled("attempt.failed")
    }

    /// Evaluates a persisted batch in order. A destination's failure count is reset once for
    /// a run of successes (a second reset with no failure in between changes nothing), so a
    /// batch of a healthy destination's successes costs one Redis round trip, not one each.
    pub async fn evaluate_batch(&self, entries: &[LogEntry]) -> Result<(), AlertError> {
        let success_events = self.emitter.enabled("attempt.success");
        let mut reset: HashSet<(&str, &str)> = HashSet::new();
        for entry in entries {
            let a = &entry.attempt;
            let key = (a.tenant_id.as_str(), a.destination_id.as_str());
            match a.status {
                AttemptStatus::Success if !success_events => {
                    if reset.insert(key) && self.settings.consecutive_failure_count.is_some() {
                        self.state
                            .reset(&a.tenant_id, &a.destination_id)
                            .await
                            .map_err(err)?;
                    }
                }
                AttemptStatus::Success => {
                    reset.insert(key);
                    self.evaluate(entry).await?;
                }
                AttemptStatus::Failed => {
                    reset.remove(&key);
                    self.evaluate(entry).await?;
                }
            }
        }
        Ok(())
    }

    /// Evaluates one persisted entry.
    pub async fn evaluate(&self, entry: &LogEntry) -> Result<(), AlertError> {
        let a = &entry.attempt;
        // Only failures are gated (as upstream): a replayed success just resets again, which
        // saves a Redis round trip on every successful attempt.
        if a.status == AttemptStatus::Failed && self.state.is_processed(&a.id).await.map_err(err)? {
            return Ok(());
        }
        let dest = entry
            .destination
            .as_ref()
            .map(alert_destination)
            .unwrap_or(Value::Null);
        let base = json!({
            "tenant_id": a.tenant_id,
            "event": event_json(entry),
            "attempt": attempt_json(entry),
            "destination": dest,
        });
        let tenant = Some(a.tenant_id.as_str());
        match a.status {
            AttemptStatus::Success => {
                self.emitter
                    .emit("attempt.success", tenant, base)
                    .await
                    .map_err(err)?;
                if self.settings.consecutive_failure_count.is_some() {
                    self.state
                        .reset(&a.tenant_id, &a.destination_id)
                        .await
                        .map_err(err)?;
                }
                // Successes are not gated: resetting twice is harmless.
                return Ok(());
            }
            AttemptStatus::Failed => {
                self.emitter
                    .emit("attempt.failed", tenant, base.clone())
                    .await
                    .map_err(err)?;
            }
        }
        if let Some(threshold) = self.settings.consecutive_failure_count {
            let count = self
                .state
                .record_failure(&a.tenant_id, &a.destination_id, &a.id)
                .await
                .map_err(err)?;
            if let Some(level) = consecutive_alert(count, threshold) {
                let mut data = base.clone();
                data["consecutive_failures"] =
                    json!({"current": count, "max": threshold, "threshold": level});
                self.emitter
                    .emit("alert.destination.consecutive_failure", tenant, data)
                    .await
                    .map_err(err)?;
                if level == 100 && self.settings.auto_disable {
                    self.disable(entry, &base).await?;
                }
            }
        }
        if let Some(window) = self.settings.exhausted_window
            && entry.event.eligible_for_retry
            && self.settings.max_retries > 0
            && a.attempt_number > self.settings.max_retries
            && self
                .state
                .claim_exhausted_window(&a.tenant_id, &a.destination_id, window)
                .await
                .map_err(err)?
        {
            self.emitter
                .emit("alert.attempt.exhausted_retries", tenant, base)
                .await
                .map_err(err)?;
        }
        self.state.mark_processed(&a.id).await.map_err(err)
    }

    async fn disable(&self, entry: &LogEntry, base: &Value) -> Result<(), AlertError> {
        let a = &entry.attempt;
        let DestinationLookup::Found(d) = self
            .store
            .get_destination(&a.tenant_id, &a.destination_id)
            .await
            .map_err(err)?
        else {
            return Ok(());
        };
        if d.disabled_at.is_some() {
            return Ok(());
        }
        let mut d = std::sync::Arc::unwrap_or_clone(d);
        let now = now_ms();
        d.disabled_at = Some(now);
        self.store.update_destination(&d).await.map_err(err)?;
        tracing::info!(tenant_id = %a.tenant_id, destination_id = %a.destination_id, "Destination disabled after consecutive failures.");
        let data = json!({
            "tenant_id": a.tenant_id,
            "destination": alert_destination(&d),
            "disabled_at": format_rfc3339_nano(&now),
            "reason": "consecutive_failure",
            "event": base["event"],
            "attempt": base["attempt"],
        });
        self.emitter
            .emit("alert.destination.disabled", Some(&a.tenant_id), data)
            .await
            .map_err(err)
    }
}
