//! The client side: [`GrpcLogStore`] implements the core [`LogStore`] port by calling a remote
//! `LogQuery` server, so the api-service reads logs the same way whether the store is local
//! or behind the log service.

use crate::error::{ClientError, ConnectError};
use crate::pb;
use crate::pb::log_query_client::LogQueryClient;
use outpost_core::StoreError;
use outpost_core::event::{Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, AggregateRow};
use outpost_core::ports::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore, Page};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// How long establishing a connection may take before calls fail with `UNAVAILABLE`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Deadline of each call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest response accepted (tonic's default of 4 MiB is too small for a page of up to
/// [`crate::MAX_PAGE_LIMIT`] events with their payloads).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// A read-only [`LogStore`] backed by a remote `LogQuery` server. Cheap to clone; clones
/// share one HTTP/2 connection.
#[derive(Clone)]
pub struct GrpcLogStore {
    client: LogQueryClient<Channel>,
    authorization: Option<MetadataValue<Ascii>>,
}

impl std::fmt::Debug for GrpcLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcLogStore")
            .field("authenticated", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

impl GrpcLogStore {
    /// A client for the server at `url` (`http://host:port`), sending `token` as
    /// `authorization: Bearer <token>` when set (an empty token counts as none).
    ///
    /// Connects lazily: nothing is dialled here, the first call connects and a broken
    /// connection is re-established by later calls. Must be called within a Tokio runtime.
    pub fn connect(url: &str, token: Option<&str>) -> Result<Self, ConnectError> {
        if !url.starts_with("http://") {
            return Err(ConnectError::UnsupportedScheme(url.to_owned()));
        }
        // The lazy channel spawns its worker task right away.
        tokio::runtime::Handle::try_current().map_err(|_| ConnectError::NoRuntime)?;
        let authorization = token
            .filter(|t| !t.is_empty())
            .map(|t| {
                let mut v = MetadataValue::try_from(format!("Bearer {t}"))
                    .map_err(|_| ConnectError::InvalidToken)?;
                v.set_sensitive(true);
                Ok::<_, ConnectError>(v)
            })
            .transpose()?;
        let channel = Endpoint::from_shared(url.to_owned())
            .map_err(ConnectError::InvalidUrl)?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .connect_lazy();
        let client = LogQueryClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        Ok(Self {
            client,
            authorization,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        if let Some(v) = &self.authorization {
            req.metadata_mut().insert("authorization", v.clone());
        }
        req
    }
}

fn call_error(status: Status) -> StoreError {
    StoreError::Backend(Box::new(status))
}

fn response_error(e: crate::ConvertError) -> StoreError {
    StoreError::Backend(Box::new(ClientError::InvalidResponse(e)))
}

/// `NOT_FOUND` means "no such item" for the get calls.
fn found<T>(result: Result<tonic::Response<T>, Status>) -> Result<Option<T>, StoreError> {
    match result {
        Ok(r) => Ok(Some(r.into_inner())),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(call_error(s)),
    }
}

fn record(r: Option<pb::AttemptRecord>) -> Result<AttemptRecord, StoreError> {
    r.ok_or(crate::ConvertError::Missing { field: "record" })
        .and_then(TryInto::try_into)
        .map_err(response_error)
}

#[async_trait::async_trait]
impl LogStore for GrpcLogStore {
    /// Always fails: the log is written by the log service from logmq, never through gRPC.
    async fn insert(&self, _entries: &[LogEntry]) -> Result<(), StoreError> {
        Err(StoreError::Backend(Box::new(ClientError::ReadOnly)))
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event, LogKey>, StoreError> {
        let req = self.request(pb::ListEventsRequest::from(q));
        let resp = self
            .client
            .clone()
            .list_events(req)
            .await
            .map_err(call_error)?;
        resp.into_inner().try_into().map_err(response_error)
    }

    async fn get_event(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<Event>, StoreError> {
        let req = self.request(pb::GetEventRequest {
            tenant_id: tenant_id.map(str::to_owned),
            id: id.to_owned(),
        });
        let Some(resp) = found(self.client.clone().get_event(req).await)? else {
            return Ok(None);
        };
        let event = resp
            .event
            .ok_or(crate::ConvertError::Missing { field: "event" });
        event
            .and_then(TryInto::try_into)
            .map(Some)
            .map_err(response_error)
    }

    async fn list_attempts(
        &self,
        q: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError> {
        let req = self.request(pb::ListAttemptsRequest::from(q));
        let resp = self
            .client
            .clone()
            .list_attempts(req)
            .await
            .map_err(call_error)?;
        resp.into_inner().try_into().map_err(response_error)
    }

    async fn get_attempt(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let req = self.request(pb::GetAttemptRequest {
            tenant_id: tenant_id.map(str::to_owned),
            id: id.to_owned(),
        });
        match found(self.client.clone().get_attempt(req).await)? {
            Some(resp) => record(resp.record).map(Some),
            None => Ok(None),
        }
    }

    async fn latest_attempt(
        &self,
        tenant_id: Option<&str>,
        event_id: &str,
        destination_id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let req = self.request(pb::LatestAttemptRequest {
            tenant_id: tenant_id.map(str::to_owned),
            event_id: event_id.to_owned(),
            destination_id: destination_id.to_owned(),
        });
        match found(self.client.clone().latest_attempt(req).await)? {
            Some(resp) => record(resp.record).map(Some),
            None => Ok(None),
        }
    }

    /// A query the store refuses as too large fails with the server's `INVALID_ARGUMENT`
    /// status as the cause, whose message carries the store's `query too broad` text.
    async fn event_aggregates(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, StoreError> {
        let req = self.request(pb::EventAggregatesRequest {
            query: Some(q.into()),
        });
        let resp = self
            .client
            .clone()
            .event_aggregates(req)
            .await
            .map_err(call_error)?;
        crate::convert::aggregate_rows_from_pb(resp.into_inner().rows).map_err(response_error)
    }

    /// Errors as [`Self::event_aggregates`].
    async fn attempt_aggregates(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let req = self.request(pb::AttemptAggregatesRequest {
            query: Some(q.into()),
        });
        let resp = self
            .client
            .clone()
            .attempt_aggregates(req)
            .await
            .map_err(call_error)?;
        crate::convert::aggregate_rows_from_pb(resp.into_inner().rows).map_err(response_error)
    }
}
