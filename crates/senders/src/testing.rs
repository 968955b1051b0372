//! Test fixtures shared by the senders' unit tests.

use outpost_core::destination::Destination;
use outpost_core::time::now_ms;

/// A destination `id` of type `kind` with these config and credential pairs.
pub fn destination(
    kind: &str,
    id: &str,
    config: &[(&str, &str)],
    creds: &[(&str, &str)],
) -> Destination {
    let now = now_ms();
    let map = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    Destination {
        id: id.into(),
        tenant_id: "t".into(),
        kind: kind.into(),
        topics: vec!["*".into()],
        filter: None,
        config: map(config),
        credentials: map(creds),
        delivery_metadata: None,
        metadata: None,
        created_at: now,
        updated_at: now,
        disabled_at: None,
    }
}
