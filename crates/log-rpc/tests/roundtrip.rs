//! End to end over loopback: `serve` backed by a `MemoryLogStore`, read through
//! `GrpcLogStore`, must answer exactly what the memory store answers directly. Also covers
//! authentication, error mapping, health and reflection.

#![allow(clippy::unwrap_used)]

use outpost_core::StoreError;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, AggregateRow, Granularity, TOO_BROAD};
use outpost_core::ports::{
    AttemptQuery, AttemptRecord, Dir, EventQuery, LogKey, LogStore, MemoryLogStore, Page,
    PageCursor, PageRequest, TimeRange,
};
use outpost_core::time::from_unix_ms;
use outpost_log_rpc::{ClientError, GrpcLogStore, ServeError, serve};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;

const T0: i64 = 1_700_000_000_000;

fn event(id: &str, tenant: &str, topic: &str, offset_ms: i64, dests: &[&str], data: &str) -> Event {
    let mut e: Event = serde_json::from_value(json!({
        "id": id, "tenant_id": tenant, "topic": topic, "eligible_for_retry": true,
        "time": "2024-01-01T00:00:00Z", "metadata": {"source": "test", "n": id},
        "matched_destination_ids": dests, "data": {},
    }))
    .unwrap();
    e.time = from_unix_ms(T0 + offset_ms);
    e.data = serde_json::value::RawValue::from_string(data.to_owned()).unwrap();
    e
}

#[allow(clippy::too_many_arguments)]
fn entry(
    ev: &Event,
    id: &str,
    dest: &str,
    dtype: &str,
    number: u32,
    status: AttemptStatus,
    offset_ms: i64,
    response_data: Option<serde_json::Value>,
) -> LogEntry {
    LogEntry {
        event: ev.clone(),
        attempt: Attempt {
            id: id.into(),
            tenant_id: ev.tenant_id.clone(),
            event_id: ev.id.clone(),
            destination_id: dest.into(),
            destination_type: dtype.into(),
            attempt_number: number,
            manual: number > 2,
            status,
            time: from_unix_ms(T0 + offset_ms),
            code: if status == AttemptStatus::Success {
                "200".into()
            } else {
                "500".into()
            },
            response_data,
            duration_ms: Some(offset_ms.unsigned_abs() / 1000 % 97 + 1),
        },
        destination: None,
        telemetry: None,
    }
}

fn entries() -> Vec<LogEntry> {
    use AttemptStatus::{Failed, Success};
    let mut e1 = event(
        "e1",
        "t1",
        "user.created",
        0,
        &["d1", "d2"],
        r#"{"b": 1,  "a":[2, 3.50], "s":"é\u00e9"}"#,
    );
    // Sub-millisecond precision must survive the trip (Timestamp carries nanoseconds).
    e1.time += chrono::Duration::nanoseconds(123_456);
    let e2 = event("e2", "t1", "user.deleted", 10, &["d1"], "[1,2,3]");
    let e3 = event(
        "e3",
        "t2",
        "user.created",
        20,
        &["d3"],
        r#""just a string""#,
    );
    let e4 = event("e4", "t1", "order.paid", 20, &["d2"], "null");
    let e5 = event("e5", "t2", "order.paid", 40, &[], "{ }");
    let body = |s: u16| Some(json!({"status": s, "body": {"ok": s == 200}}));
    vec![
        entry(&e1, "a1", "d1", "webhook", 1, Failed, 100, body(500)),
        entry(
            &e1,
            "a2",
            "d1",
            "webhook",
            2,
            Failed,
            200,
            Some(json!("timeout")),
        ),
        entry(&e1, "a3", "d1", "webhook", 3, Success, 300, body(200)),
        entry(&e1, "a4", "d2", "aws_sqs", 1, Success, 110, None),
        entry(&e2, "a5", "d1", "webhook", 1, Success, 120, body(200)),
        entry(
            &e3,
            "a6",
            "d3",
            "rabbitmq",
            1,
            Failed,
            130,
            Some(serde_json::Value::Null),
        ),
        entry(&e4, "a7", "d2", "aws_sqs", 1, Success, 130, None),
        entry(&e5, "a8", "d9", "webhook", 1, Failed, 140, body(404)),
    ]
}

struct Server {
    url: String,
    memory: Arc<MemoryLogStore>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start(
        store: Arc<dyn LogStore>,
        memory: Arc<MemoryLogStore>,
        token: Option<&str>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, store, token.map(str::to_owned), async {
            let _ = stopped.await;
        }));
        Self {
            url,
            memory,
            stop,
            task,
        }
    }

    async fn with_entries(token: Option<&str>) -> Self {
        let memory = Arc::new(MemoryLogStore::new());
        memory.insert(&entries()).await.unwrap();
        Self::start(memory.clone(), memory, token).await
    }

    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

fn page(dir: Dir, limit: usize, cursor: Option<PageCursor<LogKey>>) -> PageRequest<LogKey> {
    PageRequest { dir, limit, cursor }
}

fn event_query(page: PageRequest<LogKey>) -> EventQuery {
    EventQuery {
        tenant_ids: vec![],
        ids: vec![],
        destination_ids: vec![],
        topics: vec![],
        time: TimeRange::default(),
        page,
    }
}

fn attempt_query(page: PageRequest<LogKey>) -> AttemptQuery {
    AttemptQuery {
        tenant_ids: vec![],
        event_ids: vec![],
        destination_ids: vec![],
        destination_types: vec![],
        status: None,
        topics: vec![],
        time: TimeRange::default(),
        page,
    }
}

async fn channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn code_of(e: &StoreError) -> Option<Code> {
    match e {
        StoreError::Backend(b) => b.downcast_ref::<tonic::Status>().map(tonic::Status::code),
        _ => None,
    }
}

/// Walks all pages forward with `next`, then back with `prev`, comparing every page.
async fn assert_events_paged_alike(
    remote: &GrpcLogStore,
    memory: &MemoryLogStore,
    base: EventQuery,
) {
    let mut q = base.clone();
    let mut pages: Vec<Page<Event, LogKey>> = vec![];
    loop {
        let want = memory.list_events(&q).await.unwrap();
        let got = remote.list_events(&q).await.unwrap();
        assert_eq!(got, want, "query {q:?}");
        for (g, w) in got.items.iter().zip(&want.items) {
            assert_eq!(g.data.get(), w.data.get());
        }
        let next = got.next.clone();
        pages.push(got);
        match next {
            Some(k) => q.page.cursor = Some(PageCursor::Next(k)),
            None => break,
        }
    }
    while let Some(k) = pages.last().and_then(|p| p.prev.clone()) {
        q.page.cursor = Some(PageCursor::Prev(k));
        let want = memory.list_events(&q).await.unwrap();
        let got = remote.list_events(&q).await.unwrap();
        assert_eq!(got, want, "query {q:?}");
        pages.push(got);
        if pages.len() > 50 {
            panic!("paging back did not terminate");
        }
    }
}

async fn assert_attempts_paged_alike(
    remote: &GrpcLogStore,
    memory: &MemoryLogStore,
    base: AttemptQuery,
) {
    let mut q = base.clone();
    let mut last: Option<Page<AttemptRecord, LogKey>> = None;
    for _ in 0..50 {
        let want = memory.list_attempts(&q).await.unwrap();
        let got = remote.list_attempts(&q).await.unwrap();
        assert_eq!(got, want, "query {q:?}");
        let next = got.next.clone();
        last = Some(got);
        match next {
            Some(k) => q.page.cursor = Some(PageCursor::Next(k)),
            None => break,
        }
    }
    if let Some(k) = last.and_then(|p| p.prev) {
        q.page.cursor = Some(PageCursor::Prev(k));
        assert_eq!(
            remote.list_attempts(&q).await.unwrap(),
            memory.list_attempts(&q).await.unwrap()
        );
    }
}

#[tokio::test]
async fn events_match_the_memory_store() {
    let server = Server::with_entries(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let memory = &*server.memory;

    // Everything on one page, both directions; raw data bytes verbatim.
    for dir in [Dir::Asc, Dir::Desc] {
        let q = event_query(page(dir, 100, None));
        let got = remote.list_events(&q).await.unwrap();
        assert_eq!(got, memory.list_events(&q).await.unwrap());
        assert_eq!(got.items.len(), 5);
    }
    let all = remote
        .list_events(&event_query(page(Dir::Asc, 100, None)))
        .await
        .unwrap();
    assert_eq!(
        all.items[0].data.get(),
        r#"{"b": 1,  "a":[2, 3.50], "s":"é\u00e9"}"#
    );
    assert_eq!(
        all.items[0].time.timestamp_subsec_nanos() % 1_000_000,
        123_456
    );
    assert_eq!(all.items[4].data.get(), "{ }");

    // Pagination with next/prev keys, both directions, several page sizes.
    for dir in [Dir::Asc, Dir::Desc] {
        for limit in [1, 2, 3] {
            assert_events_paged_alike(&remote, memory, event_query(page(dir, limit, None))).await;
        }
    }
    let two = remote
        .list_events(&event_query(page(Dir::Desc, 2, None)))
        .await
        .unwrap();
    assert_eq!(
        two.next,
        Some(LogKey {
            time_ms: T0 + 20,
            id: "e4".into()
        })
    );
    assert_eq!(two.prev, None);

    // Each filter.
    let t = |ms| Some(from_unix_ms(T0 + ms));
    let filtered = [
        EventQuery {
            tenant_ids: vec!["t2".into()],
            ..event_query(page(Dir::Desc, 1, None))
        },
        EventQuery {
            ids: vec!["e1".into(), "e4".into()],
            ..event_query(page(Dir::Asc, 10, None))
        },
        EventQuery {
            destination_ids: vec!["d2".into()],
            ..event_query(page(Dir::Desc, 1, None))
        },
        EventQuery {
            topics: vec!["order.paid".into()],
            ..event_query(page(Dir::Desc, 10, None))
        },
        EventQuery {
            time: TimeRange {
                gte: t(10),
                lt: t(40),
                ..Default::default()
            },
            ..event_query(page(Dir::Desc, 2, None))
        },
        EventQuery {
            time: TimeRange {
                gt: t(10),
                lte: t(20),
                ..Default::default()
            },
            ..event_query(page(Dir::Asc, 10, None))
        },
        EventQuery {
            tenant_ids: vec!["t1".into()],
            topics: vec!["user.created".into(), "order.paid".into()],
            destination_ids: vec!["d1".into(), "d2".into()],
            ..event_query(page(Dir::Asc, 1, None))
        },
        EventQuery {
            tenant_ids: vec!["nobody".into()],
            ..event_query(page(Dir::Asc, 10, None))
        },
    ];
    for q in filtered {
        assert_events_paged_alike(&remote, memory, q).await;
    }

    // Get, with and without the tenant restriction.
    let e1 = memory.get_event(None, "e1").await.unwrap();
    assert!(e1.is_some());
    assert_eq!(remote.get_event(None, "e1").await.unwrap(), e1);
    assert_eq!(remote.get_event(Some("t1"), "e1").await.unwrap(), e1);
    assert_eq!(remote.get_event(Some("t2"), "e1").await.unwrap(), None);
    assert_eq!(remote.get_event(None, "missing").await.unwrap(), None);

    server.shutdown().await;
}

#[tokio::test]
async fn attempts_match_the_memory_store() {
    let server = Server::with_entries(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let memory = &*server.memory;

    for dir in [Dir::Asc, Dir::Desc] {
        let q = attempt_query(page(dir, 100, None));
        let got = remote.list_attempts(&q).await.unwrap();
        assert_eq!(got, memory.list_attempts(&q).await.unwrap());
        assert_eq!(got.items.len(), 8);
        // response_data: an object, a string, JSON null and absent all survive.
        let rd = |id: &str| {
            got.items
                .iter()
                .find(|r| r.attempt.id == id)
                .unwrap()
                .attempt
                .response_data
                .clone()
        };
        assert_eq!(
            rd("a1"),
            Some(json!({"status": 500, "body": {"ok": false}}))
        );
        assert_eq!(rd("a2"), Some(json!("timeout")));
        assert_eq!(rd("a4"), None);
        assert_eq!(rd("a6"), Some(serde_json::Value::Null));
        for limit in [1, 3] {
            assert_attempts_paged_alike(&remote, memory, attempt_query(page(dir, limit, None)))
                .await;
        }
    }

    let t = |ms| Some(from_unix_ms(T0 + ms));
    let filtered = [
        AttemptQuery {
            tenant_ids: vec!["t2".into()],
            ..attempt_query(page(Dir::Desc, 1, None))
        },
        AttemptQuery {
            event_ids: vec!["e1".into()],
            ..attempt_query(page(Dir::Asc, 2, None))
        },
        AttemptQuery {
            destination_ids: vec!["d2".into(), "d3".into()],
            ..attempt_query(page(Dir::Desc, 10, None))
        },
        AttemptQuery {
            destination_types: vec!["webhook".into()],
            ..attempt_query(page(Dir::Desc, 2, None))
        },
        AttemptQuery {
            status: Some(AttemptStatus::Success),
            ..attempt_query(page(Dir::Desc, 2, None))
        },
        AttemptQuery {
            status: Some(AttemptStatus::Failed),
            ..attempt_query(page(Dir::Asc, 10, None))
        },
        AttemptQuery {
            topics: vec!["order.paid".into()],
            ..attempt_query(page(Dir::Asc, 1, None))
        },
        AttemptQuery {
            time: TimeRange {
                gte: t(110),
                lte: t(200),
                ..Default::default()
            },
            ..attempt_query(page(Dir::Desc, 2, None))
        },
        AttemptQuery {
            time: TimeRange {
                gt: t(110),
                lt: t(300),
                ..Default::default()
            },
            status: Some(AttemptStatus::Failed),
            tenant_ids: vec!["t1".into()],
            ..attempt_query(page(Dir::Asc, 10, None))
        },
    ];
    for q in filtered {
        assert_attempts_paged_alike(&remote, memory, q).await;
    }

    // Get.
    let a3 = memory.get_attempt(None, "a3").await.unwrap();
    assert!(a3.is_some());
    assert_eq!(remote.get_attempt(None, "a3").await.unwrap(), a3);
    assert_eq!(remote.get_attempt(Some("t1"), "a3").await.unwrap(), a3);
    assert_eq!(remote.get_attempt(Some("t2"), "a3").await.unwrap(), None);
    assert_eq!(remote.get_attempt(None, "missing").await.unwrap(), None);

    // Latest attempt: the highest attempt number for (event, destination).
    let latest = remote.latest_attempt(None, "e1", "d1").await.unwrap();
    assert_eq!(
        latest,
        memory.latest_attempt(None, "e1", "d1").await.unwrap()
    );
    assert_eq!(latest.map(|r| r.attempt.attempt_number), Some(3));
    assert_eq!(
        remote.latest_attempt(Some("t1"), "e1", "d2").await.unwrap(),
        memory.latest_attempt(Some("t1"), "e1", "d2").await.unwrap()
    );
    assert_eq!(
        remote.latest_attempt(Some("t2"), "e1", "d1").await.unwrap(),
        None
    );
    assert_eq!(remote.latest_attempt(None, "e1", "d9").await.unwrap(), None);

    server.shutdown().await;
}

#[tokio::test]
async fn writes_and_bad_input_are_refused() {
    let server = Server::with_entries(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();

    let err = remote.insert(&entries()).await.unwrap_err();
    let StoreError::Backend(cause) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            cause.downcast_ref::<ClientError>(),
            Some(ClientError::ReadOnly)
        ),
        "{cause}"
    );
    assert!(cause.to_string().contains("read-only"));

    for limit in [0, 10_001, usize::MAX] {
        let err = remote
            .list_events(&event_query(page(Dir::Desc, limit, None)))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), Some(Code::InvalidArgument), "{err:?}");
    }

    assert!(GrpcLogStore::connect("https://example.invalid:443", None).is_err());
    assert!(GrpcLogStore::connect("127.0.0.1:1", None).is_err());
    assert!(GrpcLogStore::connect(&server.url, Some("bad\ntoken")).is_err());

    server.shutdown().await;
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let server = Server::with_entries(Some("s3cret")).await;
    let q = event_query(page(Dir::Desc, 10, None));

    let ok = GrpcLogStore::connect(&server.url, Some("s3cret")).unwrap();
    assert_eq!(ok.list_events(&q).await.unwrap().items.len(), 5);
    assert!(ok.get_event(Some("t1"), "e1").await.unwrap().is_some());

    for token in [None, Some("wrong"), Some("s3cret-but-longer")] {
        let client = GrpcLogStore::connect(&server.url, token).unwrap();
        let err = client.list_events(&q).await.unwrap_err();
        assert_eq!(
            code_of(&err),
            Some(Code::Unauthenticated),
            "{token:?}: {err:?}"
        );
        // Not mistaken for "not found".
        let err = client.get_event(None, "e1").await.unwrap_err();
        assert_eq!(code_of(&err), Some(Code::Unauthenticated));
        let err = client.latest_attempt(None, "e1", "d1").await.unwrap_err();
        assert_eq!(code_of(&err), Some(Code::Unauthenticated));
        let aq = aggregate_query(None, &[], &[]);
        let err = client.event_aggregates(&aq).await.unwrap_err();
        assert_eq!(code_of(&err), Some(Code::Unauthenticated));
        let err = client.attempt_aggregates(&aq).await.unwrap_err();
        assert_eq!(code_of(&err), Some(Code::Unauthenticated));
    }
    let aq = aggregate_query(Some("1h"), &["tenant_id"], &[]);
    assert_eq!(
        ok.event_aggregates(&aq).await.unwrap(),
        server.memory.event_aggregates(&aq).await.unwrap()
    );
    assert_eq!(
        ok.attempt_aggregates(&aq).await.unwrap(),
        server.memory.attempt_aggregates(&aq).await.unwrap()
    );

    // Health and reflection stay open.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&server.url).await);
    let resp = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        resp.into_inner().status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    server.shutdown().await;
}

/// A store whose every read fails, to check that causes stay on the server. With
/// `too_broad`, the aggregates fail instead as a store refusing a query as too large does.
struct BrokenStore {
    too_broad: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("connection to db-secret-host refused")]
struct Boom;

/// The store's refusal, wrapped in a prefix that must not reach the client.
#[derive(Debug, thiserror::Error)]
#[error("db-secret-host: {}", TOO_BROAD)]
struct TooBroad;

impl BrokenStore {
    fn aggregate_error(&self) -> StoreError {
        if self.too_broad {
            StoreError::backend(TooBroad)
        } else {
            StoreError::backend(Boom)
        }
    }
}

#[async_trait::async_trait]
impl LogStore for BrokenStore {
    async fn insert(&self, _: &[LogEntry]) -> Result<(), StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn list_events(&self, _: &EventQuery) -> Result<Page<Event, LogKey>, StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn get_event(&self, _: Option<&str>, _: &str) -> Result<Option<Event>, StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn list_attempts(
        &self,
        _: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn get_attempt(
        &self,
        _: Option<&str>,
        _: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn latest_attempt(
        &self,
        _: Option<&str>,
        _: &str,
        _: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        Err(StoreError::backend(Boom))
    }
    async fn event_aggregates(&self, _: &AggregateQuery) -> Result<Vec<AggregateRow>, StoreError> {
        Err(self.aggregate_error())
    }
    async fn attempt_aggregates(
        &self,
        _: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        Err(self.aggregate_error())
    }
}

#[tokio::test]
async fn store_errors_are_internal_without_the_cause() {
    let server = Server::start(
        Arc::new(BrokenStore { too_broad: false }),
        Arc::new(MemoryLogStore::new()),
        None,
    )
    .await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let errors = [
        remote
            .list_events(&event_query(page(Dir::Desc, 1, None)))
            .await
            .unwrap_err(),
        remote
            .list_attempts(&attempt_query(page(Dir::Desc, 1, None)))
            .await
            .unwrap_err(),
        remote.get_event(None, "e1").await.unwrap_err(),
        remote.get_attempt(None, "a1").await.unwrap_err(),
        remote.latest_attempt(None, "e1", "d1").await.unwrap_err(),
        remote
            .event_aggregates(&aggregate_query(None, &[], &[]))
            .await
            .unwrap_err(),
        remote
            .attempt_aggregates(&aggregate_query(None, &[], &[]))
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(code_of(&err), Some(Code::Internal), "{err:?}");
        let StoreError::Backend(cause) = &err else {
            unreachable!()
        };
        assert!(!cause.to_string().contains("secret"), "{cause}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_is_a_backend_error() {
    // Bind then drop to get a port nobody listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let remote = GrpcLogStore::connect(&format!("http://{addr}"), None).unwrap();
    let err = remote.get_event(None, "e1").await.unwrap_err();
    assert_eq!(code_of(&err), Some(Code::Unavailable), "{err:?}");
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    let server = Server::with_entries(Some("token")).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&server.url).await);
    for service in ["outpost.log.v1.LogQuery", ""] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            resp.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let err = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn reflection_lists_and_describes_the_service() {
    use prost::Message;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = Server::with_entries(Some("token")).await;
    let mut client = ServerReflectionClient::new(channel(&server.url).await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("outpost.log.v1.LogQuery".into()),
    ]
    .map(|m| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    });
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"outpost.log.v1.LogQuery"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors");
    };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).unwrap())
        .collect();
    let log = files
        .iter()
        .find(|f| f.name() == "outpost/log/v1/log.proto")
        .unwrap();
    let service = &log.service[0];
    assert_eq!(service.name(), "LogQuery");
    let methods: Vec<_> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "ListEvents",
            "GetEvent",
            "ListAttempts",
            "GetAttempt",
            "LatestAttempt",
            "EventAggregates",
            "AttemptAggregates"
        ]
    );
    assert_eq!(log.dependency, ["google/protobuf/timestamp.proto"]);

    drop(stream);
    server.shutdown().await;
}

// ---- aggregates ----------------------------------------------------------------------------

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

/// A query from T0 - 1h to T0 + 24h (T0 is not on an hour boundary, so buckets are cut).
fn aggregate_query(
    granularity: Option<&str>,
    dimensions: &[&str],
    filters: &[(&str, &[&str])],
) -> AggregateQuery {
    AggregateQuery {
        start: from_unix_ms(T0 - HOUR),
        end: from_unix_ms(T0 + 24 * HOUR),
        granularity: granularity.map(|g| Granularity::parse(g).unwrap()),
        dimensions: dimensions.iter().map(|d| d.to_string()).collect(),
        filters: filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[allow(clippy::too_many_arguments)]
fn agg_entry(
    ev: &Event,
    id: &str,
    dest: &str,
    dtype: &str,
    number: u32,
    manual: bool,
    code: &str,
    offset_ms: i64,
) -> LogEntry {
    let mut e = entry(
        ev,
        id,
        dest,
        dtype,
        number,
        if code == "200" {
            AttemptStatus::Success
        } else {
            AttemptStatus::Failed
        },
        offset_ms,
        None,
    );
    e.attempt.manual = manual;
    e.attempt.code = code.into();
    e
}

/// Events and attempts spread over several hours, tenants, topics, destinations, outcomes,
/// attempt numbers and manual retries.
fn aggregate_entries() -> Vec<LogEntry> {
    let g1 = event("g1", "t1", "user.created", 5 * MINUTE, &["d1", "d2"], "{}");
    let g2 = event("g2", "t1", "order.paid", 40 * MINUTE, &["d1"], "{}");
    let g3 = event(
        "g3",
        "t2",
        "user.created",
        HOUR + 10 * MINUTE,
        &["d3"],
        "{}",
    );
    let g4 = event(
        "g4",
        "t1",
        "user.created",
        2 * HOUR + 20 * MINUTE,
        &["d2"],
        "{}",
    );
    let g5 = event("g5", "t2", "order.paid", 3 * HOUR + 55 * MINUTE, &[], "{}");
    let g6 = event(
        "g6",
        "t1",
        "order.paid",
        5 * HOUR + 30 * MINUTE,
        &["d1", "d3"],
        "{}",
    );
    // Outside every query's range.
    let g7 = event("g7", "t1", "user.created", 30 * HOUR, &["d1"], "{}");
    vec![
        agg_entry(&g1, "b1", "d1", "webhook", 1, false, "500", 6 * MINUTE),
        agg_entry(&g1, "b2", "d1", "webhook", 2, false, "timeout", 36 * MINUTE),
        agg_entry(&g1, "b3", "d1", "webhook", 3, true, "200", 2 * HOUR),
        agg_entry(&g1, "b4", "d2", "aws_sqs", 1, false, "200", 6 * MINUTE),
        agg_entry(&g2, "b5", "d1", "webhook", 1, false, "200", 41 * MINUTE),
        agg_entry(
            &g3,
            "b6",
            "d3",
            "webhook",
            1,
            false,
            "404",
            HOUR + 11 * MINUTE,
        ),
        agg_entry(
            &g3,
            "b7",
            "d3",
            "webhook",
            2,
            true,
            "404",
            HOUR + 50 * MINUTE,
        ),
        agg_entry(
            &g4,
            "b8",
            "d2",
            "aws_sqs",
            1,
            false,
            "500",
            2 * HOUR + 21 * MINUTE,
        ),
        agg_entry(
            &g4,
            "b9",
            "d2",
            "aws_sqs",
            2,
            false,
            "200",
            3 * HOUR + 21 * MINUTE,
        ),
        agg_entry(
            &g5,
            "b10",
            "d9",
            "webhook",
            1,
            false,
            "500",
            3 * HOUR + 56 * MINUTE,
        ),
        agg_entry(
            &g6,
            "b11",
            "d1",
            "webhook",
            1,
            false,
            "200",
            5 * HOUR + 31 * MINUTE,
        ),
        agg_entry(
            &g6,
            "b12",
            "d3",
            "webhook",
            1,
            true,
            "200",
            5 * HOUR + 32 * MINUTE,
        ),
        agg_entry(&g7, "b13", "d1", "webhook", 1, false, "200", 30 * HOUR),
    ]
}

async fn aggregate_server(token: Option<&str>) -> Server {
    let memory = Arc::new(MemoryLogStore::new());
    memory.insert(&aggregate_entries()).await.unwrap();
    Server::start(memory.clone(), memory, token).await
}

fn total(rows: &[AggregateRow]) -> u64 {
    rows.iter().map(|r| r.count).sum()
}

#[tokio::test]
async fn event_aggregates_match_the_memory_store() {
    let server = aggregate_server(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let memory = &*server.memory;

    let queries = [
        aggregate_query(None, &[], &[]),
        aggregate_query(Some("1h"), &[], &[]),
        aggregate_query(Some("1h"), &["topic", "tenant_id"], &[]),
        aggregate_query(Some("15m"), &["destination_id"], &[]),
        aggregate_query(Some("1d"), &["tenant_id"], &[("topic", &["user.created"])]),
        aggregate_query(None, &["destination_id"], &[("destination_id", &["d1"])]),
        aggregate_query(
            Some("30m"),
            &[],
            &[("tenant_id", &["t2"]), ("destination_id", &["d3", "d9"])],
        ),
        aggregate_query(Some("1w"), &["topic"], &[("tenant_id", &["t1", "t2"])]),
        aggregate_query(Some("1M"), &["tenant_id", "topic", "destination_id"], &[]),
        // A filter without values matches nothing.
        aggregate_query(Some("1h"), &["topic"], &[("topic", &[])]),
        aggregate_query(None, &[], &[("tenant_id", &["nobody"])]),
        AggregateQuery {
            start: from_unix_ms(T0 + HOUR),
            end: from_unix_ms(T0 + 3 * HOUR),
            ..aggregate_query(Some("1h"), &["tenant_id"], &[])
        },
    ];
    for q in &queries {
        let got = remote.event_aggregates(q).await.unwrap();
        assert_eq!(got, memory.event_aggregates(q).await.unwrap(), "{q:?}");
    }

    // The comparisons above are not vacuous.
    let all = remote.event_aggregates(&queries[0]).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].bucket, all[0].count), (None, 6));
    let hourly = remote.event_aggregates(&queries[1]).await.unwrap();
    assert_eq!(total(&hourly), 6);
    assert!(hourly.len() >= 5, "{hourly:?}");
    assert!(
        hourly
            .iter()
            .all(|r| r.bucket.is_some() && r.dims.is_empty())
    );
    assert_eq!(
        hourly[0].bucket,
        Some(
            Granularity::parse("1h")
                .unwrap()
                .bucket_start(from_unix_ms(T0))
        )
    );
    let by_dest = remote.event_aggregates(&queries[3]).await.unwrap();
    assert_eq!(
        total(&by_dest),
        7,
        "one per routed destination: {by_dest:?}"
    );
    let d1 = remote.event_aggregates(&queries[5]).await.unwrap();
    assert_eq!(d1.len(), 3, "{d1:?}");
    assert!(
        remote
            .event_aggregates(&queries[9])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        remote
            .event_aggregates(&queries[10])
            .await
            .unwrap()
            .is_empty()
    );

    server.shutdown().await;
}

#[tokio::test]
async fn attempt_aggregates_match_the_memory_store() {
    let server = aggregate_server(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let memory = &*server.memory;

    let queries = [
        aggregate_query(None, &[], &[]),
        aggregate_query(Some("1h"), &["status"], &[]),
        aggregate_query(Some("1h"), &["destination_type", "code"], &[]),
        aggregate_query(
            None,
            &["manual", "attempt_number"],
            &[("status", &["failed"])],
        ),
        aggregate_query(
            Some("2h"),
            &["tenant_id", "topic"],
            &[("manual", &["true"])],
        ),
        aggregate_query(
            Some("1w"),
            &["destination_id"],
            &[("attempt_number", &["1", "2"])],
        ),
        aggregate_query(Some("15m"), &[], &[("code", &["500", "timeout"])]),
        aggregate_query(
            Some("10m"),
            &[
                "attempt_number",
                "tenant_id",
                "destination_id",
                "destination_type",
                "topic",
                "status",
                "code",
                "manual",
            ],
            &[],
        ),
        aggregate_query(None, &["status"], &[("topic", &[])]),
        AggregateQuery {
            start: from_unix_ms(T0 + HOUR),
            end: from_unix_ms(T0 + 3 * HOUR),
            ..aggregate_query(Some("30m"), &["destination_id"], &[("tenant_id", &["t1"])])
        },
    ];
    for q in &queries {
        let got = remote.attempt_aggregates(q).await.unwrap();
        assert_eq!(got, memory.attempt_aggregates(q).await.unwrap(), "{q:?}");
    }

    let all = remote.attempt_aggregates(&queries[0]).await.unwrap();
    assert_eq!(
        all,
        [AggregateRow {
            bucket: None,
            dims: BTreeMap::new(),
            count: 12,
            successful: 6,
            failed: 6,
            first_attempt: 7,
            retry: 4,
            manual: 3,
            attempt_number_sum: 17,
            // Every fixture attempt records a duration; their values travel as the memory
            // store computed them (compared above).
            duration_count: 12,
            duration_sum_ms: all[0].duration_sum_ms,
            duration_max_ms: all[0].duration_max_ms,
        }]
    );
    assert!(all[0].duration_max_ms > 0 && all[0].duration_sum_ms >= all[0].duration_max_ms);
    let by_status = remote.attempt_aggregates(&queries[1]).await.unwrap();
    assert_eq!(total(&by_status), 12);
    assert!(by_status.iter().any(|r| r.dims["status"] == "failed"));
    assert!(by_status.len() > 4, "{by_status:?}");
    let everything = remote.attempt_aggregates(&queries[7]).await.unwrap();
    assert_eq!(everything.len(), 12);
    assert!(everything.iter().all(|r| r.dims.len() == 8));
    assert!(
        remote
            .attempt_aggregates(&queries[8])
            .await
            .unwrap()
            .is_empty()
    );

    server.shutdown().await;
}

#[tokio::test]
async fn bad_aggregate_requests_are_invalid_arguments() {
    use outpost_log_rpc::pb;
    let server = aggregate_server(None).await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();

    // Dimensions and filters the aggregate does not know are refused, not passed on.
    for q in [
        aggregate_query(None, &["status"], &[]),
        aggregate_query(None, &[], &[("code", &["200"])]),
        aggregate_query(None, &["bogus"], &[]),
    ] {
        let err = remote.event_aggregates(&q).await.unwrap_err();
        assert_eq!(code_of(&err), Some(Code::InvalidArgument), "{q:?}: {err:?}");
    }
    let q = aggregate_query(None, &["tenant_id; drop table"], &[]);
    let err = remote.attempt_aggregates(&q).await.unwrap_err();
    assert_eq!(code_of(&err), Some(Code::InvalidArgument), "{err:?}");

    // Granularity text and required fields, through the raw client.
    let mut client = pb::log_query_client::LogQueryClient::new(channel(&server.url).await);
    let good = pb::AggregateQuery {
        start: Some(prost_types::Timestamp {
            seconds: T0 / 1000,
            nanos: 0,
        }),
        end: Some(prost_types::Timestamp {
            seconds: T0 / 1000 + 86_400,
            nanos: 0,
        }),
        granularity: Some("1h".into()),
        dimensions: vec!["topic".into()],
        filters: BTreeMap::new(),
    };
    let rows = client
        .event_aggregates(pb::EventAggregatesRequest {
            query: Some(good.clone()),
        })
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert!(!rows.is_empty());
    for g in ["", "1", "0h", "61m", "1y", "1H"] {
        let query = pb::AggregateQuery {
            granularity: Some(g.into()),
            ..good.clone()
        };
        let err = client
            .attempt_aggregates(pb::AttemptAggregatesRequest { query: Some(query) })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{g:?}");
        assert!(err.message().contains("granularity"), "{}", err.message());
    }
    let err = client
        .event_aggregates(pb::EventAggregatesRequest { query: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .attempt_aggregates(pb::AttemptAggregatesRequest {
            query: Some(pb::AggregateQuery {
                start: None,
                ..good.clone()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("query.start"), "{}", err.message());

    server.shutdown().await;
}

#[tokio::test]
async fn too_broad_is_an_invalid_argument_with_the_store_text() {
    let server = Server::start(
        Arc::new(BrokenStore { too_broad: true }),
        Arc::new(MemoryLogStore::new()),
        None,
    )
    .await;
    let remote = GrpcLogStore::connect(&server.url, None).unwrap();
    let q = aggregate_query(Some("1h"), &["tenant_id"], &[]);
    for err in [
        remote.event_aggregates(&q).await.unwrap_err(),
        remote.attempt_aggregates(&q).await.unwrap_err(),
    ] {
        assert_eq!(code_of(&err), Some(Code::InvalidArgument), "{err:?}");
        let StoreError::Backend(cause) = &err else {
            unreachable!()
        };
        let status = cause.downcast_ref::<tonic::Status>().unwrap();
        // The store's text from the marker on, without what precedes it.
        assert_eq!(status.message(), TOO_BROAD);
        // What the api looks for.
        assert!(format!("{err:?}").contains(TOO_BROAD), "{err:?}");
        assert!(!format!("{err:?}").contains("secret"), "{err:?}");
    }
    server.shutdown().await;
}

#[test]
fn connect_outside_a_runtime_is_an_error() {
    let err = GrpcLogStore::connect("http://127.0.0.1:1", None).unwrap_err();
    assert!(
        matches!(err, outpost_log_rpc::ConnectError::NoRuntime),
        "{err:?}"
    );
}
