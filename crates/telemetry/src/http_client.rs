//! The HTTP client of the OTLP/HTTP exporters: the SDK's batch processors export from their
//! own threads, outside the Tokio runtime, so each request is run on the runtime that
//! [`crate::init`] was called in, and awaited from wherever the exporter is.

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::HttpError;
use std::time::Duration;

/// reqwest on a captured runtime handle.
#[derive(Debug, Clone)]
pub struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl RuntimeClient {
    /// A client bound to the current runtime (errors outside one).
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "OpenTelemetry must be started inside the Tokio runtime".to_string())?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))?;
        Ok(Self { client, runtime })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let request = reqwest::Request::try_from(request)?;
        let task = self.runtime.spawn(async move {
            let resp = client.execute(request).await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = task.await??;
        Ok(Response::builder().status(status).body(body)?)
    }
}
