//! The API's error type and its mapping to Outpost's HTTP status codes and bodies
//! (`{"status","message","data"?}`, or an empty body where upstream sends one).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_core::StoreError;
use serde_json::{Value, json};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A status with an empty body (auth failures, some 404s, publish conflicts).
    #[error("{0}")]
    Empty(StatusCode),
    /// A status with `{"status","message"}` and optional `data`.
    #[error("{message}")]
    Json {
        /// HTTP status.
        status: StatusCode,
        /// Message.
        message: String,
        /// Extra detail (array of field errors or object).
        data: Option<Value>,
    },
    /// An unexpected failure: logged with its cause chain, answered with a generic 500.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A JSON error without data.
    pub fn msg(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Json {
            status,
            message: message.into(),
            data: None,
        }
    }

    /// 422 `validation error` with field messages.
    pub fn validation(fields: Vec<String>) -> Self {
        Self::Json {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "validation error".into(),
            data: Some(json!(fields)),
        }
    }

    /// 422 `validation error` with an object of query-parameter problems.
    pub fn query(param: &str, problem: &str) -> Self {
        Self::Json {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "validation error".into(),
            data: Some(json!({ param: problem })),
        }
    }

    /// 422 `invalid JSON`.
    pub fn invalid_json() -> Self {
        Self::msg(StatusCode::UNPROCESSABLE_ENTITY, "invalid JSON")
    }

    /// 422 with a raw message.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::msg(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::msg(StatusCode::BAD_REQUEST, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DestinationExists => Self::bad_request("destination already exists"),
            StoreError::MaxDestinations => {
                Self::bad_request("maximum number of destinations per tenant reached")
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<outpost_destinations::DestError> for ApiError {
    fn from(e: outpost_destinations::DestError) -> Self {
        match e {
            outpost_destinations::DestError::Validation(fields) => Self::validation(fields),
            outpost_destinations::DestError::Message(m) => Self::unprocessable(m),
        }
    }
}

/// A JSON response with the right content type.
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::Internal(Box::new(e)).into_response(),
    }
}

fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Empty(status) => status.into_response(),
            ApiError::Json {
                status,
                message,
                data,
            } => {
                let mut body = json!({ "status": status.as_u16(), "message": message });
                if let Some(d) = data {
                    body["data"] = d;
                }
                json_response(status, &body)
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %cause_chain(e.as_ref()), "Request failed.");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"status": 500, "message": "internal server error"}),
                )
            }
        }
    }
}
