//! The server side: [`LogQueryService`] answers `outpost.log.v1.LogQuery` from any
//! [`LogStore`], and [`serve`] runs it with the standard health and reflection services.

use crate::convert::aggregate_query_from_pb;
use crate::error::ServeError;
use crate::pb;
use crate::pb::log_query_server::{LogQuery, LogQueryServer};
use outpost_core::StoreError;
use outpost_core::metrics::{ATTEMPT_DIMENSIONS, EVENT_DIMENSIONS};
use outpost_core::ports::{AttemptQuery, EventQuery, LogStore};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The `LogQuery` service over a [`LogStore`], optionally guarded by a bearer token.
pub struct LogQueryService {
    store: Arc<dyn LogStore>,
    token: Option<String>,
}

impl LogQueryService {
    /// Serves `store`. With `Some(token)` every call must carry `authorization: Bearer <token>`;
    /// an empty token counts as none (no authentication).
    pub fn new(store: Arc<dyn LogStore>, token: Option<String>) -> Self {
        Self {
            store,
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// Wraps the service in the generated tonic server, ready for `Server::add_service`.
    pub fn into_server(self) -> LogQueryServer<Self> {
        LogQueryServer::new(self)
    }

    /// Checks the bearer token. Both sides are hashed first so that the comparison is
    /// constant-time in the token's length as well as its content.
    fn authorize(&self, metadata: &MetadataMap) -> Result<(), Status> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        let equal =
            Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes()));
        if bool::from(equal) {
            Ok(())
        } else {
            Err(Status::unauthenticated("invalid bearer token"))
        }
    }
}

/// How a store's refusal of an aggregate query as too large begins
/// ([`outpost_core::metrics::TOO_BROAD`]).
const TOO_BROAD_MARKER: &str = "query too broad";

/// Maps a store failure to `INTERNAL`, logging the cause chain (which the client never sees).
///
/// The exception is a refusal of a query as too large (an error in the chain whose text
/// contains [`TOO_BROAD_MARKER`]): the caller's fault, so `INVALID_ARGUMENT` with that text,
/// from the marker on, letting the api answer 400 with it.
fn store_status(rpc: &'static str, e: StoreError) -> Status {
    let mut cause = String::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = next {
        let text = err.to_string();
        if let Some(at) = text.find(TOO_BROAD_MARKER) {
            tracing::debug!(rpc, error = %text, "Log store refused a query as too broad.");
            return Status::invalid_argument(&text[at..]);
        }
        if !cause.is_empty() {
            cause.push_str(": ");
        }
        cause.push_str(&text);
        next = err.source();
    }
    tracing::error!(rpc, error = %cause, "Log store query failed.");
    Status::internal("log store query failed")
}

#[tonic::async_trait]
impl LogQuery for LogQueryService {
    async fn list_events(
        &self,
        req: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        self.authorize(req.metadata())?;
        let q = EventQuery::try_from(req.into_inner())?;
        let page = self
            .store
            .list_events(&q)
            .await
            .map_err(|e| store_status("ListEvents", e))?;
        Ok(Response::new((&page).into()))
    }

    async fn get_event(
        &self,
        req: Request<pb::GetEventRequest>,
    ) -> Result<Response<pb::GetEventResponse>, Status> {
        self.authorize(req.metadata())?;
        let r = req.into_inner();
        let event = self
            .store
            .get_event(r.tenant_id.as_deref(), &r.id)
            .await
            .map_err(|e| store_status("GetEvent", e))?
            .ok_or_else(|| Status::not_found("event not found"))?;
        Ok(Response::new(pb::GetEventResponse {
            event: Some((&event).into()),
        }))
    }

    async fn list_attempts(
        &self,
        req: Request<pb::ListAttemptsRequest>,
    ) -> Result<Response<pb::ListAttemptsResponse>, Status> {
        self.authorize(req.metadata())?;
        let q = AttemptQuery::try_from(req.into_inner())?;
        let page = self
            .store
            .list_attempts(&q)
            .await
            .map_err(|e| store_status("ListAttempts", e))?;
        Ok(Response::new((&page).into()))
    }

    async fn get_attempt(
        &self,
        req: Request<pb::GetAttemptRequest>,
    ) -> Result<Response<pb::GetAttemptResponse>, Status> {
        self.authorize(req.metadata())?;
        let r = req.into_inner();
        let record = self
            .store
            .get_attempt(r.tenant_id.as_deref(), &r.id)
            .await
            .map_err(|e| store_status("GetAttempt", e))?
            .ok_or_else(|| Status::not_found("attempt not found"))?;
        Ok(Response::new(pb::GetAttemptResponse {
            record: Some((&record).into()),
        }))
    }

    async fn latest_attempt(
        &self,
        req: Request<pb::LatestAttemptRequest>,
    ) -> Result<Response<pb::LatestAttemptResponse>, Status> {
        self.authorize(req.metadata())?;
        let r = req.into_inner();
        let record = self
            .store
            .latest_attempt(r.tenant_id.as_deref(), &r.event_id, &r.destination_id)
            .await
            .map_err(|e| store_status("LatestAttempt", e))?
            .ok_or_else(|| Status::not_found("no attempt for this event and destination"))?;
        Ok(Response::new(pb::LatestAttemptResponse {
            record: Some((&record).into()),
        }))
    }

    async fn event_aggregates(
        &self,
        req: Request<pb::EventAggregatesRequest>,
    ) -> Result<Response<pb::EventAggregatesResponse>, Status> {
        self.authorize(req.metadata())?;
        let q = aggregate_query_from_pb(req.into_inner().query, &EVENT_DIMENSIONS)?;
        let rows = self
            .store
            .event_aggregates(&q)
            .await
            .map_err(|e| store_status("EventAggregates", e))?;
        Ok(Response::new(pb::EventAggregatesResponse {
            rows: rows.iter().map(Into::into).collect(),
        }))
    }

    async fn attempt_aggregates(
        &self,
        req: Request<pb::AttemptAggregatesRequest>,
    ) -> Result<Response<pb::AttemptAggregatesResponse>, Status> {
        self.authorize(req.metadata())?;
        let q = aggregate_query_from_pb(req.into_inner().query, &ATTEMPT_DIMENSIONS)?;
        let rows = self
            .store
            .attempt_aggregates(&q)
            .await
            .map_err(|e| store_status("AttemptAggregates", e))?;
        Ok(Response::new(pb::AttemptAggregatesResponse {
            rows: rows.iter().map(Into::into).collect(),
        }))
    }
}

/// Serves `LogQuery` over `store` on `listener` until `shutdown` resolves, together with the
/// standard gRPC health service (reporting `SERVING` for `outpost.log.v1.LogQuery` and for the
/// server as a whole) and server reflection (v1 and v1alpha), so that `grpcurl` works without the .proto.
///
/// `token` guards `LogQuery` only (see [`LogQueryService::new`]); health and reflection are
/// open so that probes and tooling work.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn LogStore>,
    token: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<LogQueryServer<LogQueryService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // Older clients (grpcio's reflection database, some grpcurl builds) speak v1alpha.
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    // Small request/response exchanges: without TCP_NODELAY each call can stall ~40 ms on
    // Nagle's algorithm meeting delayed ACKs.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(LogQueryService::new(store, token).into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
