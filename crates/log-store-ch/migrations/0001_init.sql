-- Events and delivery attempts (upstream's chlogstore schema, plus our columns: the event's
-- destination_id, the attempt's duration_ms, and the attempts' version column inserted_at).
-- {db} is the database and {dp} the deployment prefix (`<DEPLOYMENT_ID>_` or empty), both
-- validated identifiers. Every statement is idempotent: ClickHouse has no transactional DDL, so
-- a migration interrupted half-way is completed by running it again.

-- One row per event: the insert skips ids already stored, reads drop exact duplicates.
CREATE TABLE IF NOT EXISTS `{db}`.`{dp}events`
(
    event_id String,
    tenant_id String,
    destination_id String,
    topic String,
    eligible_for_retry Bool,
    event_time DateTime64(3, 'UTC'),
    metadata String,
    data String,
    matched_destination_ids Array(String),
    INDEX idx_tenant_id tenant_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_topic topic TYPE bloom_filter GRANULARITY 1,
    INDEX idx_matched_destination_ids matched_destination_ids TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_time, event_id);

-- One row per version of an attempt: a status update is a new row with a later inserted_at;
-- merges keep the latest, reads pick it without FINAL.
CREATE TABLE IF NOT EXISTS `{db}`.`{dp}attempts`
(
    event_id String,
    tenant_id String,
    destination_id String,
    topic String,
    eligible_for_retry Bool,
    event_time DateTime64(3, 'UTC'),
    metadata String,
    data String,
    attempt_id String,
    status String,
    attempt_time DateTime64(3, 'UTC'),
    code String,
    response_data String,
    manual Bool,
    attempt_number UInt32,
    destination_type String,
    duration_ms Nullable(UInt64),
    inserted_at DateTime64(9, 'UTC') DEFAULT now64(9),
    INDEX idx_tenant_id tenant_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_destination_id destination_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_attempt_id attempt_id TYPE bloom_filter GRANULARITY 1,
    INDEX idx_topic topic TYPE bloom_filter GRANULARITY 1,
    INDEX idx_status status TYPE set(100) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(attempt_time)
ORDER BY (attempt_time, attempt_id);
