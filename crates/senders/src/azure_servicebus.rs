//! `azure_servicebus` destinations (spec §5.8): send the event data to the queue or topic
//! `config.name` over AMQP 1.0, as upstream's Go SDK does, with the `azservicebus` client.
//! The message body is the raw data, content type `application/json`, message id = event id, and
//! the merged metadata goes in the application properties.
//!
//! `credentials.connection_string` is a Service Bus connection string
//! (`Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=..;SharedAccessKey=..`, or
//! `SharedAccessSignature=..`, optionally `EntityPath=`). It is checked before any I/O. With
//! `UseDevelopmentEmulator=true` (the official emulator's flag) the connection is plain AMQP on
//! port 5672; otherwise AMQP over TLS on 5671. Either way the client authenticates with a SAS
//! token on the `$cbs` node, and Service Bus clients ignore any port in `Endpoint`.
//!
//! One client and sender link is cached per destination config; a send that fails on the
//! transport drops it so the next attempt reconnects. Failures are `ERR` with the SDK's
//! message (as upstream), except transport failures, which carry their network class.

use crate::SenderSettings;
use crate::cache::ClientCache;
use crate::classify;
use azservicebus::primitives::service_bus_retry_options::ServiceBusRetryOptions;
use azservicebus::{
    ServiceBusClient, ServiceBusClientOptions, ServiceBusMessage, ServiceBusSender,
    ServiceBusSenderOptions,
};
use fe2o3_amqp_types::messaging::ApplicationProperties;
use fe2o3_amqp_types::primitives::SimpleValue;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long one connect, attach or send may take before the SDK gives up on it.
const TRY_TIMEOUT: Duration = Duration::from_secs(15);
/// Retries the SDK makes on transient failures within one attempt.
const SDK_RETRIES: u32 = 1;
/// Longest wait for a connection and its sender link.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Where an `azure_servicebus` destination sends, and how it authenticates.
#[derive(Clone, PartialEq)]
pub struct Target {
    /// The queue or topic (`config.name`).
    pub entity: String,
    /// The namespace host from `Endpoint`.
    pub host: String,
    /// The connection string as given.
    pub connection_string: String,
    /// `UseDevelopmentEmulator=true`: plain AMQP instead of TLS.
    pub emulator: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("entity", &self.entity)
            .field("host", &self.host)
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

/// The `key=value` pairs of a connection string (keys case-sensitive, as the SDK reads them).
fn pairs(cs: &str) -> Result<BTreeMap<&str, &str>, String> {
    let mut out = BTreeMap::new();
    for part in cs.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not key=value"))?;
        let (k, v) = (k.trim(), v.trim());
        if !k.is_empty() && !v.is_empty() {
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// Reads the destination's config and checks the connection string.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let entity = dest
        .config
        .get("name")
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    if entity.is_empty() {
        return Err("config.name is required".into());
    }
    let cs = dest
        .credentials
        .get("connection_string")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    if cs.is_empty() {
        return Err("credentials.connection_string is required".into());
    }
    let p = pairs(&cs).map_err(|e| format!("credentials.connection_string: {e}"))?;
    let endpoint = p
        .get("Endpoint")
        .ok_or("credentials.connection_string has no Endpoint=sb://<namespace>/")?;
    let host = endpoint
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!(
            "credentials.connection_string: Endpoint {endpoint:?} is not sb://<namespace host>/"
        ));
    }
    let key = p.contains_key("SharedAccessKeyName") && p.contains_key("SharedAccessKey");
    let sas = p.contains_key("SharedAccessSignature");
    if key == sas {
        return Err(if key {
            "credentials.connection_string has both a shared access key and a shared access \
             signature; give one"
                .into()
        } else {
            "credentials.connection_string needs SharedAccessKeyName and SharedAccessKey (or \
             SharedAccessSignature)"
                .into()
        });
    }
    if let Some(path) = p.get("EntityPath")
        && !path.eq_ignore_ascii_case(&entity)
    {
        return Err(format!(
            "credentials.connection_string is scoped to entity {path:?} (EntityPath) but \
             config.name is {entity:?}"
        ));
    }
    let emulator = p
        .get("UseDevelopmentEmulator")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(Target {
        entity,
        host: host.to_string(),
        connection_string: cs,
        emulator,
    })
}

/// The message of one attempt.
pub fn message(
    data: &[u8],
    event_id: &str,
    metadata: &BTreeMap<String, String>,
) -> Result<ServiceBusMessage, String> {
    let mut m = ServiceBusMessage::new(data.to_vec());
    m.set_message_id(event_id.to_string())
        .map_err(|e| format!("message id {event_id:?}: {e}"))?;
    m.set_content_type("application/json".to_string());
    let mut props = ApplicationProperties::builder();
    for (k, v) in metadata {
        props = props.insert(k.clone(), SimpleValue::String(v.clone()));
    }
    *m.application_properties_mut() = Some(props.build());
    Ok(m)
}

/// The attempt code of an SDK error: its network class, else `ERR`.
pub fn error_code(e: &(dyn std::error::Error + 'static)) -> &'static str {
    classify::network_code(e).unwrap_or("ERR")
}

/// A connected client and its sender link to the entity.
pub struct Conn {
    client: ServiceBusClient<azservicebus::core::BasicRetryPolicy>,
    sender: ServiceBusSender,
}

impl Conn {
    async fn connect(t: &Target) -> Result<Self, azure_core::Error> {
        let options = ServiceBusClientOptions {
            retry_options: ServiceBusRetryOptions {
                max_retries: SDK_RETRIES,
                try_timeout: TRY_TIMEOUT,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut client = if t.emulator {
            ServiceBusClient::unsecured()
                .new_from_connection_string(t.connection_string.as_str(), options)
                .await?
        } else {
            crate::ensure_crypto_provider();
            ServiceBusClient::new_from_connection_string(t.connection_string.as_str(), options)
                .await?
        };
        match client
            .create_sender(t.entity.as_str(), ServiceBusSenderOptions::default())
            .await
        {
            Ok(sender) => Ok(Self { client, sender }),
            Err(e) => {
                let _ = client.dispose().await;
                Err(e)
            }
        }
    }

    /// Closes the link and the connection, in the background and bounded in time.
    fn close(self) {
        tokio::spawn(async move {
            let close = async {
                let _ = self.sender.dispose().await;
                let _ = self.client.dispose().await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
        });
    }
}

/// One destination's connection; `None` once it failed and was closed.
pub type Client = Mutex<Option<Conn>>;

/// Sends to Azure Service Bus queues and topics.
pub struct AzureServiceBusSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl AzureServiceBusSender {
    /// A sender with an empty connection cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }

    async fn client(&self, dest: &Destination, t: &Target) -> Result<Arc<Client>, ConnectError> {
        let connect = || async {
            // Opening the connection, `$cbs` and the sender link are not all bounded by the
            // SDK's try timeout; a stuck handshake must fail this attempt, not the next ones.
            match tokio::time::timeout(CONNECT_TIMEOUT, Conn::connect(t)).await {
                Ok(r) => r.map(|c| Mutex::new(Some(c))).map_err(|e| ConnectError {
                    code: error_code(&e),
                    message: format!(
                        "connect to {} on {}: {}",
                        t.entity,
                        t.host,
                        classify::chain_text(&e)
                    ),
                }),
                Err(_) => Err(ConnectError {
                    code: "timeout",
                    message: format!(
                        "connect to {} on {}: no answer within {} s",
                        t.entity,
                        t.host,
                        CONNECT_TIMEOUT.as_secs()
                    ),
                }),
            }
        };
        let c = self.clients.get_or_try_init(dest, connect).await?;
        if c.lock().await.is_some() {
            return Ok(c);
        }
        // Closed after a transport failure of a concurrent attempt: start over.
        self.clients.evict(dest);
        self.clients.get_or_try_init(dest, connect).await
    }
}

/// Why no sender link could be opened: the attempt code and the message.
#[derive(Debug)]
pub struct ConnectError {
    /// Attempt code (`ERR` or a network class).
    pub code: &'static str,
    /// What failed.
    pub message: String,
}

#[async_trait::async_trait]
impl Sender for AzureServiceBusSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let msg = match message(event.data.get().as_bytes(), &event.id, &metadata) {
            Ok(m) => m,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = match self.client(dest, &t).await {
            Ok(c) => c,
            Err(e) => return SendResult::failed(e.code, e.message),
        };
        let mut guard = client.lock().await;
        let Some(conn) = guard.as_mut() else {
            return SendResult::failed("ERR", "the connection was closed; retrying reconnects");
        };
        match conn.sender.send_message(msg).await {
            Ok(()) => SendResult::ok(json!({})),
            Err(e) => {
                let code = error_code(&e);
                if code != "ERR"
                    && let Some(c) = guard.take()
                {
                    c.close();
                    self.clients.evict(dest);
                }
                SendResult::failed(
                    code,
                    format!("send to {}: {}", t.entity, classify::chain_text(&e)),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CS: &str = "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=a2V5PQ==";

    fn dest(name: &str, cs: &str) -> Destination {
        crate::testing::destination(
            "azure_servicebus",
            "des_1",
            &[("name", name)],
            &[("connection_string", cs)],
        )
    }

    #[test]
    fn target_reads_namespace_entity_and_emulator_flag() {
        let t = target(&dest("orders", CS)).unwrap();
        assert_eq!(
            (t.entity.as_str(), t.host.as_str(), t.emulator),
            ("orders", "ns1.servicebus.windows.net", false)
        );
        assert!(
            !format!("{t:?}").contains("a2V5"),
            "the key stays out of Debug"
        );
        let cs = "Endpoint = sb://127.0.0.2:5672;SharedAccessKeyName=k; SharedAccessKey=v;\
                  EntityPath=Orders;UseDevelopmentEmulator=True;";
        let t = target(&dest("orders", cs)).unwrap();
        assert_eq!((t.host.as_str(), t.emulator), ("127.0.0.2", true));
        let sas = "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=k";
        assert!(target(&dest("orders", sas)).is_ok());
    }

    #[test]
    fn target_rejects_unusable_connection_strings_before_any_io() {
        for (name, cs, want) in [
            ("", CS, "config.name is required"),
            ("q", "", "connection_string is required"),
            ("q", "garbage", "is not key=value"),
            (
                "q",
                "SharedAccessKeyName=k;SharedAccessKey=v",
                "no Endpoint",
            ),
            (
                "q",
                "Endpoint=ns1;SharedAccessKeyName=k;SharedAccessKey=v",
                "is not sb://",
            ),
            (
                "q",
                "Endpoint=sb://ns1/;SharedAccessKeyName=k",
                "needs SharedAccessKeyName and SharedAccessKey",
            ),
            (
                "q",
                "Endpoint=sb://ns1/;SharedAccessKeyName=k;SharedAccessKey=v;SharedAccessSignature=s",
                "both",
            ),
            (
                "q",
                "Endpoint=sb://ns1/;SharedAccessKeyName=k;SharedAccessKey=v;EntityPath=other",
                "scoped to entity \"other\"",
            ),
        ] {
            let err = target(&dest(name, cs)).unwrap_err();
            assert!(err.contains(want), "{cs:?}: {err}");
        }
    }

    #[test]
    fn message_carries_body_id_content_type_and_metadata() {
        let md = BTreeMap::from([
            ("event-id".to_string(), "evt_1".to_string()),
            ("topic".to_string(), "user.created".to_string()),
        ]);
        let m = message(br#"{"a":1}"#, "evt_1", &md).unwrap();
        assert_eq!(m.body(), br#"{"a":1}"#);
        assert_eq!(m.message_id().as_deref(), Some("evt_1"));
        assert_eq!(m.content_type(), Some("application/json"));
        let props = m.application_properties().unwrap();
        assert_eq!(props.len(), 2);
        assert_eq!(
            props.get("topic"),
            Some(&SimpleValue::String("user.created".into()))
        );
        let too_long = "x".repeat(200);
        assert!(
            message(b"{}", &too_long, &md).is_err(),
            "ids over 128 chars"
        );
    }

    #[tokio::test]
    async fn unreachable_namespace_is_connection_refused() {
        // Service Bus clients always dial 5672 (plain, emulator) or 5671 (TLS); nothing
        // listens on 127.0.0.3.
        for flag in [";UseDevelopmentEmulator=true", ""] {
            let cs =
                format!("Endpoint=sb://127.0.0.3;SharedAccessKeyName=k;SharedAccessKey=v{flag}");
            let t = target(&dest("q", &cs)).unwrap();
            assert_eq!(t.emulator, !flag.is_empty());
            let err = match Conn::connect(&t).await {
                Ok(_) => panic!("nothing listens on 127.0.0.3 ({cs})"),
                Err(e) => e,
            };
            assert_eq!(
                error_code(&err),
                "connection_refused",
                "{cs}: {}",
                classify::chain_text(&err)
            );
        }
    }
}
