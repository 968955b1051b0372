//! Provisioning through Service Bus's management REST API (ATOM over HTTPS), which a
//! connection string with a Manage right may use: the topic, and the subscription with its lock
//! duration, max delivery count (dead-lettering past it) and dead-lettering on expiry. Upstream
//! creates entities only through Azure Resource Manager with a service principal; with a
//! connection string it creates nothing.
//!
//! Requests are signed with a SAS token for the namespace (`SharedAccessKeyName` and
//! `SharedAccessKey`), or carry the connection string's `SharedAccessSignature` as it is. An
//! entity that exists is brought up to date (`If-Match: *`). With `UseDevelopmentEmulator=true`
//! the API is plain HTTP on port 5300, as the official emulator's management port.

use crate::{emulator, endpoint, pairs};
use base64::Engine;
use hmac::{Hmac, Mac};
use outpost_core::ports::QueueError;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The management API version used.
const API_VERSION: &str = "2021-05";
/// How long one management request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Lifetime of the SAS tokens signed here.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// What a provisioned subscription gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provision {
    /// Lock duration of received messages (Service Bus allows 5 s to 5 min; renewed while held).
    pub lock: Duration,
    /// Deliveries after which Service Bus dead-letters a message.
    pub max_delivery_count: u32,
}

/// The management API's base URL for a connection string.
fn base_url(cs: &str) -> Result<String, QueueError> {
    let host = endpoint(cs)
        .and_then(|e| e.strip_prefix("sb://"))
        .map(|h| {
            h.trim_end_matches('/')
                .split([':', '/'])
                .next()
                .unwrap_or("")
        })
        .filter(|h| !h.is_empty())
        .ok_or_else(|| QueueError::Broker("Service Bus connection string: no sb:// host".into()))?;
    Ok(if emulator(cs) {
        format!("http://{host}:5300")
    } else {
        format!("https://{host}")
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A SAS token for `resource`, valid until `expiry` (seconds since the epoch).
fn sas_token(resource: &str, key_name: &str, key: &str, expiry: u64) -> Result<String, QueueError> {
    let sr = encode(&resource.to_ascii_lowercase());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|e| QueueError::Broker(format!("Service Bus key: {e}")))?;
    mac.update(format!("{sr}\n{expiry}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!(
        "SharedAccessSignature sr={sr}&sig={}&se={expiry}&skn={}",
        encode(&sig),
        encode(key_name)
    ))
}

/// The `Authorization` header for the namespace's management API.
fn authorization(cs: &str, base: &str) -> Result<String, QueueError> {
    let get = |key: &str| {
        pairs(cs)
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.to_string())
    };
    if let Some(sas) = get("SharedAccessSignature") {
        return Ok(sas);
    }
    let (Some(name), Some(key)) = (get("SharedAccessKeyName"), get("SharedAccessKey")) else {
        return Err(QueueError::Broker(
            "Service Bus connection string: no key to sign management requests".into(),
        ));
    };
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(TOKEN_TTL)
        .as_secs();
    sas_token(&format!("{base}/"), &name, &key, expiry)
}

/// An ISO-8601 duration of whole seconds (`PT60S`).
fn iso_seconds(d: Duration) -> String {
    format!("PT{}S", d.as_secs())
}

/// The ATOM entry of a topic.
fn topic_entry() -> String {
    entry(
        "TopicDescription",
        "<DefaultMessageTimeToLive>P14D</DefaultMessageTimeToLive>",
    )
}

/// The ATOM entry of a subscription (elements in the order Service Bus's schema requires).
fn subscription_entry(p: &Provision) -> String {
    let lock = p
        .lock
        .clamp(Duration::from_secs(5), Duration::from_secs(300));
    entry(
        "SubscriptionDescription",
        &format!(
            "<LockDuration>{}</LockDuration><RequiresSession>false</RequiresSession>\
             <DefaultMessageTimeToLive>P14D</DefaultMessageTimeToLive>\
             <DeadLetteringOnMessageExpiration>true</DeadLetteringOnMessageExpiration>\
             <MaxDeliveryCount>{}</MaxDeliveryCount>",
            iso_seconds(lock),
            p.max_delivery_count.max(1)
        ),
    )
}

fn entry(kind: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <entry xmlns=\"http://www.w3.org/2005/Atom\"><content type=\"application/xml\">\
         <{kind} xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns=\"http://schemas.microsoft.com/netservices/2010/10/servicebus/connect\">\
         {inner}</{kind}></content></entry>"
    )
}

/// Creates (or brings up to date) the topic and the subscription.
pub(crate) async fn provision(
    cs: &str,
    topic: &str,
    subscription: &str,
    p: &Provision,
) -> Result<(), QueueError> {
    let base = base_url(cs)?;
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| QueueError::Broker(format!("Service Bus management client: {e}")))?;
    let auth = authorization(cs, &base)?;
    put(
        &http,
        &auth,
        &format!("{base}/{topic}"),
        topic_entry(),
        false,
    )
    .await?;
    put(
        &http,
        &auth,
        &format!("{base}/{topic}/subscriptions/{subscription}"),
        subscription_entry(p),
        true,
    )
    .await
}

/// PUTs an entity; one that exists is left as it is (`update` false) or updated.
async fn put(
    http: &reqwest::Client,
    auth: &str,
    url: &str,
    body: String,
    update: bool,
) -> Result<(), QueueError> {
    let send = |if_match: bool| {
        let mut req = http
            .put(format!("{url}?api-version={API_VERSION}"))
            .header("Authorization", auth)
            .header(
                "Content-Type",
                "application/atom+xml;type=entry;charset=utf-8",
            )
            .body(body.clone());
        if if_match {
            req = req.header("If-Match", "*");
        }
        req.send()
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        QueueError::Broker(format!("Service Bus management: {what} {url}: {e}"))
    };
    let r = send(false).await.map_err(|e| fail("PUT", &e))?;
    let r = match r.status().as_u16() {
        200..=299 => return Ok(()),
        409 if !update => return Ok(()),
        409 => send(true).await.map_err(|e| fail("PUT (update)", &e))?,
        _ => r,
    };
    if r.status().is_success() {
        return Ok(());
    }
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    Err(fail(
        "PUT",
        &format!(
            "HTTP {status}: {}",
            text.chars().take(500).collect::<String>()
        ),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn management_url_follows_the_emulator_flag() {
        let cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v";
        assert_eq!(base_url(cs).unwrap(), "https://ns.servicebus.windows.net");
        let emu = "Endpoint=sb://127.0.0.2;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true";
        assert_eq!(base_url(emu).unwrap(), "http://127.0.0.2:5300");
    }

    #[test]
    fn sas_token_matches_the_documented_algorithm() {
        // HMAC-SHA256 of "<url-encoded lowercase resource>\n<expiry>" with the key, base64,
        // then url-encoded (Microsoft's documented recipe), computed independently here.
        let t = sas_token(
            "https://NS.servicebus.windows.net/",
            "Root",
            "key",
            1_700_000_000,
        )
        .unwrap();
        let sr = "https%3A%2F%2Fns.servicebus.windows.net%2F";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(format!("{sr}\n1700000000").as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(
            t,
            format!(
                "SharedAccessSignature sr={sr}&sig={}&se=1700000000&skn=Root",
                encode(&sig)
            )
        );
        let sig_field = t.split("sig=").nth(1).unwrap().split('&').next().unwrap();
        assert!(
            !sig_field.contains(['+', '/', '=']),
            "the signature is url-encoded: {sig_field}"
        );
    }

    #[test]
    fn subscription_entry_carries_lock_and_delivery_count_in_schema_order() {
        let x = subscription_entry(&Provision {
            lock: Duration::from_secs(400),
            max_delivery_count: 6,
        });
        assert!(x.contains("<LockDuration>PT300S</LockDuration>"), "{x}");
        assert!(x.contains("<MaxDeliveryCount>6</MaxDeliveryCount>"), "{x}");
        let order = [
            "LockDuration",
            "RequiresSession",
            "DefaultMessageTimeToLive",
            "DeadLetteringOnMessageExpiration",
            "MaxDeliveryCount",
        ];
        let at: Vec<usize> = order.iter().map(|e| x.find(e).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{x}");
    }
}
