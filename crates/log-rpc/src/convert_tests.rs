//! Tests of the conversions: every record and query survives the round trip through its
//! protobuf message, and malformed messages are refused with the field they got wrong.

use super::*;
use outpost_core::time::from_unix_ms;

fn event() -> Event {
    serde_json::from_str(
            r#"{"id":"e1","tenant_id":"t1","destination_id":"d0","matched_destination_ids":["d1","d2"],
                "topic":"user.created","eligible_for_retry":true,"time":"2024-01-01T00:00:00.123456789Z",
                "metadata":{"a":"1","b":"2"},"data":{"z": 1,  "a":[2, 3.50]}}"#,
        )
        .unwrap()
}

fn attempt(response_data: Option<serde_json::Value>) -> Attempt {
    Attempt {
        id: "a1".into(),
        tenant_id: "t1".into(),
        event_id: "e1".into(),
        destination_id: "d1".into(),
        destination_type: "webhook".into(),
        attempt_number: 3,
        manual: true,
        status: AttemptStatus::Failed,
        time: from_unix_ms(1_700_000_000_123),
        code: "500".into(),
        response_data,
        duration_ms: Some(42),
    }
}

#[test]
fn event_round_trips_with_raw_data() {
    let e = event();
    let back = Event::try_from(pb::Event::from(&e)).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.data.get(), r#"{"z": 1,  "a":[2, 3.50]}"#);
}

#[test]
fn attempt_round_trips_with_and_without_response_data() {
    for rd in [
        None,
        Some(serde_json::Value::Null),
        Some(serde_json::json!({"status": 500, "body": "x"})),
    ] {
        let a = attempt(rd);
        assert_eq!(Attempt::try_from(pb::Attempt::from(&a)).unwrap(), a);
    }
}

#[test]
fn queries_round_trip() {
    let t = from_unix_ms(1_700_000_000_000);
    let q = AttemptQuery {
        tenant_ids: vec!["t1".into()],
        event_ids: vec!["e1".into(), "e2".into()],
        destination_ids: vec!["d1".into()],
        destination_types: vec!["webhook".into()],
        status: Some(AttemptStatus::Success),
        topics: vec!["x".into()],
        time: TimeRange {
            gte: Some(t),
            lt: Some(t),
            ..Default::default()
        },
        page: PageRequest {
            dir: Dir::Asc,
            limit: 7,
            cursor: Some(PageCursor::Prev(LogKey {
                time_ms: 5,
                id: "a".into(),
            })),
        },
    };
    assert_eq!(
        AttemptQuery::try_from(pb::ListAttemptsRequest::from(&q)).unwrap(),
        q
    );
    let q = EventQuery {
        tenant_ids: vec![],
        ids: vec!["e".into()],
        destination_ids: vec![],
        topics: vec![],
        time: TimeRange::default(),
        page: PageRequest {
            dir: Dir::Desc,
            limit: 1,
            cursor: Some(PageCursor::Next(LogKey {
                time_ms: -1,
                id: "b".into(),
            })),
        },
    };
    assert_eq!(
        EventQuery::try_from(pb::ListEventsRequest::from(&q)).unwrap(),
        q
    );
}

#[test]
fn bad_input_is_rejected_with_the_field_named() {
    let mut e = pb::Event::from(&event());
    e.data = "{not json".into();
    let err = Event::try_from(e).unwrap_err();
    assert!(err.to_string().contains("event.data"), "{err}");

    let mut a = pb::Attempt::from(&attempt(None));
    a.status = 0;
    assert!(matches!(
        Attempt::try_from(a.clone()),
        Err(ConvertError::Enum { .. })
    ));
    a.status = 1;
    a.time = Some(prost_types::Timestamp {
        seconds: 0,
        nanos: -1,
    });
    assert!(matches!(
        Attempt::try_from(a.clone()),
        Err(ConvertError::Timestamp { .. })
    ));
    a.time = None;
    assert!(matches!(
        Attempt::try_from(a),
        Err(ConvertError::Missing {
            field: "attempt.time"
        })
    ));

    let req = pb::ListEventsRequest::default();
    assert!(matches!(
        EventQuery::try_from(req),
        Err(ConvertError::Missing { field: "page" })
    ));
    for limit in [0, MAX_PAGE_LIMIT + 1] {
        let req = pb::ListEventsRequest {
            page: Some(pb::PageRequest {
                limit,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches!(
            EventQuery::try_from(req),
            Err(ConvertError::Limit { .. })
        ));
    }
    let req = pb::ListAttemptsRequest {
        status: 9,
        page: Some(pb::PageRequest {
            limit: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = tonic::Status::from(AttemptQuery::try_from(req).unwrap_err());
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("status"), "{}", status.message());
}

#[test]
fn aggregate_queries_and_rows_round_trip() {
    use outpost_core::metrics::{ATTEMPT_DIMENSIONS, EVENT_DIMENSIONS};
    let mut q = AggregateQuery {
        start: from_unix_ms(1_700_000_000_123),
        end: from_unix_ms(1_700_003_600_000),
        granularity: Some(Granularity::parse("15m").unwrap()),
        dimensions: vec!["topic".into(), "tenant_id".into()],
        filters: [
            ("tenant_id".to_string(), vec!["t1".into(), "t2".into()]),
            ("destination_id".to_string(), vec![]),
        ]
        .into(),
    };
    let back = |q: &AggregateQuery| {
        aggregate_query_from_pb(Some(pb::AggregateQuery::from(q)), &EVENT_DIMENSIONS)
    };
    assert_eq!(back(&q).unwrap(), q);
    q.granularity = None;
    assert_eq!(back(&q).unwrap(), q);

    let row = AggregateRow {
        bucket: Some(from_unix_ms(1_700_000_000_000)),
        dims: [("status".to_string(), "failed".to_string())].into(),
        count: u64::MAX,
        successful: 1,
        failed: 2,
        first_attempt: 3,
        retry: 4,
        manual: 5,
        attempt_number_sum: 6,
        duration_count: 7,
        duration_sum_ms: 8,
        duration_max_ms: 9,
    };
    assert_eq!(
        AggregateRow::try_from(pb::AggregateRow::from(&row)).unwrap(),
        row
    );
    let row = AggregateRow::default();
    assert_eq!(
        AggregateRow::try_from(pb::AggregateRow::from(&row)).unwrap(),
        row
    );

    // Invalid input is named.
    let good = pb::AggregateQuery::from(&q);
    for bad in ["", "0h", "25h", "1y", "h"] {
        let mut p = good.clone();
        p.granularity = Some(bad.into());
        let err = aggregate_query_from_pb(Some(p), &EVENT_DIMENSIONS).unwrap_err();
        assert!(matches!(err, ConvertError::Granularity(_)), "{bad}: {err}");
        let status = tonic::Status::from(err);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().contains("granularity"),
            "{}",
            status.message()
        );
    }
    let mut p = good.clone();
    p.dimensions.push("status".into());
    assert!(aggregate_query_from_pb(Some(p.clone()), &ATTEMPT_DIMENSIONS).is_ok());
    let err = aggregate_query_from_pb(Some(p), &EVENT_DIMENSIONS).unwrap_err();
    assert!(err.to_string().contains("\"status\""), "{err}");
    let mut p = good.clone();
    p.filters
        .insert("bogus".into(), pb::FilterValues::default());
    assert!(matches!(
        aggregate_query_from_pb(Some(p), &ATTEMPT_DIMENSIONS),
        Err(ConvertError::Dimension {
            field: "query.filters",
            ..
        })
    ));
    let mut p = good.clone();
    p.end = None;
    assert!(matches!(
        aggregate_query_from_pb(Some(p), &EVENT_DIMENSIONS),
        Err(ConvertError::Missing { field: "query.end" })
    ));
    assert!(matches!(
        aggregate_query_from_pb(None, &EVENT_DIMENSIONS),
        Err(ConvertError::Missing { field: "query" })
    ));
}

#[test]
fn unspecified_dir_is_descending() {
    let p = PageRequest::try_from(pb::PageRequest {
        limit: 3,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        p,
        PageRequest {
            dir: Dir::Desc,
            limit: 3,
            cursor: None
        }
    );
}
