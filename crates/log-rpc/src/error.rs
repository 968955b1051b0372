//! The crate's errors: malformed messages (either direction), client set-up, client-side call
//! failures, and server start-up. Each converts to what its caller speaks: `tonic::Status`
//! on the server, `StoreError` in the client.

use tonic::Status;

/// A message that cannot be converted between the wire types and the core types.
///
/// On the server it becomes `INVALID_ARGUMENT`; in the client (a malformed response) it is
/// reported as a backend error through [`ClientError::InvalidResponse`].
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A required message field is unset.
    #[error("missing required field `{field}`")]
    Missing {
        /// Path of the field, such as `page` or `attempt.time`.
        field: &'static str,
    },
    /// A timestamp outside the representable range or with negative nanoseconds.
    #[error("field `{field}` is not a valid timestamp")]
    Timestamp {
        /// Path of the field.
        field: &'static str,
    },
    /// A JSON text field that does not parse.
    #[error("field `{field}` is not valid JSON")]
    Json {
        /// Path of the field.
        field: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An enum number this version does not know, or `UNSPECIFIED` where a value is required.
    #[error("field `{field}` has invalid enum value {value}")]
    Enum {
        /// Path of the field.
        field: &'static str,
        /// The number received.
        value: i32,
    },
    /// A granularity that [`Granularity::parse`](outpost_core::metrics::Granularity::parse)
    /// refuses.
    #[error("field `query.granularity`: {0}")]
    Granularity(String),
    /// A dimension (to group or filter by) that the aggregate does not know.
    #[error("field `{field}` names unknown dimension {name:?}")]
    Dimension {
        /// Path of the field: `query.dimensions` or `query.filters`.
        field: &'static str,
        /// The name received.
        name: String,
    },
    /// A page size of zero or above [`crate::MAX_PAGE_LIMIT`].
    #[error("field `page.limit` must be between 1 and {max}, got {value}", max = crate::MAX_PAGE_LIMIT)]
    Limit {
        /// The size received.
        value: u32,
    },
}

impl From<ConvertError> for Status {
    fn from(e: ConvertError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

/// Why [`crate::GrpcLogStore::connect`] refused its arguments.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL does not parse.
    #[error("invalid log service URL")]
    InvalidUrl(#[source] tonic::transport::Error),
    /// The URL is not `http://host:port` (TLS is not supported by this client).
    #[error("unsupported log service URL `{0}`: expected http://host:port (TLS is not supported)")]
    UnsupportedScheme(String),
    /// The token contains characters not allowed in a gRPC metadata value.
    #[error("the log service token contains characters not allowed in a header")]
    InvalidToken,
    /// Called outside a Tokio runtime (the channel's worker task needs one).
    #[error("GrpcLogStore::connect must be called within a Tokio runtime")]
    NoRuntime,
}

/// Failures of [`crate::GrpcLogStore`] other than the call's own `tonic::Status`, reported as
/// the cause of `StoreError::Backend`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `insert` was called: entries reach the log store only through logmq and the log service.
    #[error("the log store is read-only through gRPC: entries are written by the log service")]
    ReadOnly,
    /// The server answered with a message that does not convert to the core types.
    #[error("invalid response from the log service")]
    InvalidResponse(#[source] ConvertError),
}

/// Why [`crate::serve`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the embedded descriptor set.
    #[error("building the gRPC reflection service failed")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server failed.
    #[error("gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}
