//! The error type of the storage ports: what a store can report to the services above it, and
//! [`chain_text`], the one way an error and its causes are written into a log line or a response.

/// Failure of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A destination with that id already exists for the tenant.
    #[error("destination already exists")]
    DestinationExists,
    /// The tenant already has `MAX_DESTINATIONS_PER_TENANT` destinations.
    #[error("maximum number of destinations per tenant reached")]
    MaxDestinations,
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The backend (Redis, ...) failed.
    #[error("store backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error, keeping it as the cause.
    pub fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Self::Backend(Box::new(e))
    }
}

/// An error's message with its sources, `: `-separated, skipping a source whose text is
/// already there.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
}
