//! In-memory log store for the embedded mode and tests (nothing survives a restart).

use super::log_store::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore};
use super::page::{Dir, Page, PageRequest};
use crate::StoreError;
use crate::event::{AttemptStatus, Event, LogEntry};
use crate::metrics::{AggregateQuery, AggregateRow};
use crate::time::Timestamp;
use foldhash::HashMap;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// An attempt as kept: its event is shared with the event's other attempts and its entry in
/// the event list, not copied for each (a fan-out of 20 kept 21 copies of the event's data).
struct Kept {
    attempt: crate::event::Attempt,
    event: Arc<Event>,
}

impl Kept {
    fn record(&self) -> AttemptRecord {
        AttemptRecord {
            attempt: self.attempt.clone(),
            event: Event::clone(&self.event),
        }
    }
}

#[derive(Default)]
struct Inner {
    events: BTreeMap<LogKey, Arc<Event>>,
    event_keys: HashMap<String, LogKey>,
    attempts: BTreeMap<LogKey, Kept>,
    attempt_keys: HashMap<String, LogKey>,
}

/// Events and attempts kept by default; the oldest (by time) are evicted beyond it, so a
/// long-running embedded process does not grow without bound.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A [`LogStore`] in process memory, bounded: beyond its capacity the oldest events and
/// attempts are evicted.
pub struct MemoryLogStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for MemoryLogStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryLogStore {
    /// An empty store keeping [`DEFAULT_CAPACITY`] events and attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store keeping at most `capacity` events and as many attempts.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn any(list: &[String], v: &str) -> bool {
    list.is_empty() || list.iter().any(|x| x == v)
}

/// The page `req` asks for of the values of `map` that `keep` keeps, each made an item by
/// `item`.
fn page<T, U>(
    map: &BTreeMap<LogKey, T>,
    req: &PageRequest<LogKey>,
    keep: impl Fn(&T) -> bool,
    item: impl Fn(&T) -> U,
) -> Page<U, LogKey> {
    let (dir, after) = req.scan();
    let iter: Box<dyn Iterator<Item = (&LogKey, &T)>> = match dir {
        Dir::Asc => Box::new(map.iter()),
        Dir::Desc => Box::new(map.iter().rev()),
    };
    let items: Vec<(LogKey, &T)> = iter
        .filter(|(k, _)| match (after, dir) {
            (None, _) => true,
            (Some(a), Dir::Asc) => *k > a,
            (Some(a), Dir::Desc) => *k < a,
        })
        .filter(|(_, v)| keep(v))
        .take(req.limit + 1)
        .map(|(k, v)| (k.clone(), v))
        .collect();
    let p = req.build(items, |(k, _)| k.clone());
    Page {
        items: p.items.into_iter().map(|(_, v)| item(v)).collect(),
        next: p.next,
        prev: p.prev,
    }
}

#[async_trait::async_trait]
impl LogStore for MemoryLogStore {
    async fn insert(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        let mut i = self.lock();
        for e in entries {
            let kept = i.event_keys.get(&e.event.id).and_then(|k| i.events.get(k));
            let event = match kept {
                Some(event) if **event == e.event => event.clone(),
                // An attempt keeps the event as its entry carried it, as the SQL stores do.
                Some(_) => Arc::new(e.event.clone()),
                None => {
                    let k = LogKey {
                        time_ms: e.event.time.timestamp_millis(),
                        id: e.event.id.clone(),
                    };
                    let event = Arc::new(e.event.clone());
                    i.event_keys.insert(e.event.id.clone(), k.clone());
                    i.events.insert(k, event.clone());
                    event
                }
            };
            let k = LogKey {
                time_ms: e.attempt.time.timestamp_millis(),
                id: e.attempt.id.clone(),
            };
            if let Some(old) = i.attempt_keys.insert(e.attempt.id.clone(), k.clone()) {
                i.attempts.remove(&old);
            }
            i.attempts.insert(
                k,
                Kept {
                    attempt: e.attempt.clone(),
                    event,
                },
            );
        }
        while i.events.len() > self.capacity {
            if let Some((_, old)) = i.events.pop_first() {
                i.event_keys.remove(&old.id);
            }
        }
        while i.attempts.len() > self.capacity {
            if let Some((_, old)) = i.attempts.pop_first() {
                i.attempt_keys.remove(&old.attempt.id);
            }
        }
        Ok(())
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event, LogKey>, StoreError> {
        let i = self.lock();
        Ok(page(
            &i.events,
            &q.page,
            |e| {
                any(&q.tenant_ids, &e.tenant_id)
                    && any(&q.ids, &e.id)
                    && any(&q.topics, &e.topic)
                    && (q.destination_ids.is_empty()
                        || e.matched_destination_ids
                            .iter()
                            .any(|d| q.destination_ids.contains(d)))
                    && q.time.contains(&e.time)
            },
            |e| Event::clone(e),
        ))
    }

    async fn get_event(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<Event>, StoreError> {
        let i = self.lock();
        Ok(i.event_keys
            .get(id)
            .and_then(|k| i.events.get(k))
            .filter(|e| tenant_id.is_none_or(|t| e.tenant_id == t))
            .map(|e| Event::clone(e)))
    }

    async fn list_attempts(
        &self,
        q: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError> {
        let i = self.lock();
        Ok(page(
            &i.attempts,
            &q.page,
            |r| {
                let a = &r.attempt;
                any(&q.tenant_ids, &a.tenant_id)
                    && any(&q.event_ids, &a.event_id)
                    && any(&q.destination_ids, &a.destination_id)
                    && any(&q.destination_types, &a.destination_type)
                    && q.status.is_none_or(|s| s == a.status)
                    && any(&q.topics, &r.event.topic)
                    && q.time.contains(&a.time)
            },
            Kept::record,
        ))
    }

    async fn get_attempt(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let i = self.lock();
        Ok(i.attempt_keys
            .get(id)
            .and_then(|k| i.attempts.get(k))
            .filter(|r| tenant_id.is_none_or(|t| r.attempt.tenant_id == t))
            .map(Kept::record))
    }

    async fn latest_attempt(
        &self,
        tenant_id: Option<&str>,
        event_id: &str,
        destination_id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let i = self.lock();
        Ok(i.attempts
            .values()
            .filter(|r| {
                r.attempt.event_id == event_id
                    && r.attempt.destination_id == destination_id
                    && tenant_id.is_none_or(|t| r.attempt.tenant_id == t)
            })
            .max_by_key(|r| (r.attempt.attempt_number, r.attempt.time))
            .map(Kept::record))
    }

    async fn event_aggregates(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, StoreError> {
        let i = self.lock();
        let mut groups = Groups::new();
        for e in i
            .events
            .values()
            .filter(|e| e.time >= q.start && e.time < q.end)
        {
            let dests: Vec<Option<&String>> = if q.dimensions.iter().any(|d| d == "destination_id")
            {
                e.matched_destination_ids.iter().map(Some).collect()
            } else {
                vec![None]
            };
            for dest in dests {
                let value = |dim: &str| -> Option<String> {
                    match dim {
                        "tenant_id" => Some(e.tenant_id.clone()),
                        "topic" => Some(e.topic.clone()),
                        "destination_id" => dest.cloned(),
                        _ => None,
                    }
                };
                let pass = q.filters.iter().all(|(dim, vals)| {
                    if dim == "destination_id" {
                        e.matched_destination_ids.iter().any(|d| vals.contains(d))
                    } else {
                        value(dim).is_some_and(|v| vals.contains(&v))
                    }
                });
                if !pass {
                    continue;
                }
                group_row(&mut groups, q, e.time, value).count += 1;
            }
        }
        Ok(groups.into_values().collect())
    }

    async fn attempt_aggregates(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let i = self.lock();
        let mut groups = Groups::new();
        for r in i
            .attempts
            .values()
            .filter(|r| r.attempt.time >= q.start && r.attempt.time < q.end)
        {
            let a = &r.attempt;
            let value = |dim: &str| -> Option<String> {
                Some(match dim {
                    "tenant_id" => a.tenant_id.clone(),
                    "destination_id" => a.destination_id.clone(),
                    "destination_type" => a.destination_type.clone(),
                    "topic" => r.event.topic.clone(),
                    "status" => match a.status {
                        AttemptStatus::Success => "success".into(),
                        AttemptStatus::Failed => "failed".into(),
                    },
                    "code" => a.code.clone(),
                    "manual" => a.manual.to_string(),
                    "attempt_number" => a.attempt_number.to_string(),
                    _ => return None,
                })
            };
            if !q
                .filters
                .iter()
                .all(|(dim, vals)| value(dim).is_some_and(|v| vals.contains(&v)))
            {
                continue;
            }
            let row = group_row(&mut groups, q, a.time, value);
            row.count += 1;
            match a.status {
                AttemptStatus::Success => row.successful += 1,
                AttemptStatus::Failed => row.failed += 1,
            }
            if a.attempt_number == 1 && !a.manual {
                row.first_attempt += 1;
            }
            if a.attempt_number > 1 {
                row.retry += 1;
            }
            if a.manual {
                row.manual += 1;
            }
            row.attempt_number_sum += u64::from(a.attempt_number);
            if let Some(d) = a.duration_ms {
                row.duration_count += 1;
                row.duration_sum_ms += d;
                row.duration_max_ms = row.duration_max_ms.max(d);
            }
        }
        Ok(groups.into_values().collect())
    }
}

/// Aggregate rows by (bucket start in ms, dimension values).
type Groups = BTreeMap<(Option<i64>, BTreeMap<String, String>), AggregateRow>;

/// The row of the group of a record at `time` whose dimension values `value` gives.
fn group_row<'g>(
    groups: &'g mut Groups,
    q: &AggregateQuery,
    time: Timestamp,
    value: impl Fn(&str) -> Option<String>,
) -> &'g mut AggregateRow {
    let dims: BTreeMap<String, String> = q
        .dimensions
        .iter()
        .filter_map(|d| value(d).map(|v| (d.clone(), v)))
        .collect();
    let bucket = q.granularity.map(|g| g.bucket_start(time));
    groups
        .entry((bucket.map(|b| b.timestamp_millis()), dims.clone()))
        .or_insert_with(|| AggregateRow {
            bucket,
            dims,
            ..Default::default()
        })
}
