-- outpost-rs log store, initial schema (PostgreSQL >= 13).
--
-- Mirrors the final upstream schema (Hookdeck Outpost pglogstore, migrations 000001..000010),
-- with these deliberate differences:
--   * id columns use COLLATE "C" so keyset pagination on (time, id) orders ids bytewise, exactly
--     like the in-memory store, whatever the database's default collation is;
--   * events carries destination_id (the optional publish target) so an Event round-trips whole;
--   * times are written at millisecond precision (the precision of cursors and of every store).
-- Both tables are PARTITIONED BY RANGE (time): daily partitions events_pYYYYMMDD /
-- attempts_pYYYYMMDD are created ahead of time by the partition manager; rows without a daily
-- partition land in the *_default partitions. Retention drops whole daily partitions.
--
-- Lookups by id (GET /events/:id, /attempts/:id) use the per-partition (id) indexes: with
-- daily partitions and a retention of weeks that is a few dozen index probes, so no separate
-- id -> time lookup table is kept (it would need row-by-row deletes on retention).

CREATE TABLE events (
    id text COLLATE "C" NOT NULL,
    tenant_id text NOT NULL,
    destination_id text NOT NULL DEFAULT '',
    time timestamptz NOT NULL,
    topic text NOT NULL DEFAULT '',
    eligible_for_retry boolean NOT NULL DEFAULT false,
    data text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    matched_destination_ids text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (time, id)
) PARTITION BY RANGE (time);

CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE INDEX idx_events_tenant_time ON events (tenant_id, time DESC, id DESC);
CREATE INDEX idx_events_tenant_topic_time ON events (tenant_id, topic, time DESC, id DESC);
CREATE INDEX idx_events_id ON events (id);
CREATE INDEX idx_events_matched_destination_ids ON events USING gin (matched_destination_ids);

CREATE TABLE attempts (
    id text COLLATE "C" NOT NULL,
    event_id text NOT NULL,
    destination_id text NOT NULL,
    status text NOT NULL,
    time timestamptz NOT NULL,
    code text NOT NULL DEFAULT '',
    response_data text,
    manual boolean NOT NULL DEFAULT false,
    attempt_number integer NOT NULL,
    tenant_id text NOT NULL,
    topic text NOT NULL DEFAULT '',
    event_time timestamptz NOT NULL,
    eligible_for_retry boolean NOT NULL DEFAULT false,
    event_data text NOT NULL,
    event_metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    destination_type text NOT NULL DEFAULT '',
    PRIMARY KEY (time, id)
) PARTITION BY RANGE (time);

CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;

CREATE INDEX idx_attempts_tenant_time ON attempts (tenant_id, time DESC, id DESC);
CREATE INDEX idx_attempts_tenant_destination_time ON attempts (tenant_id, destination_id, time DESC, id DESC);
CREATE INDEX idx_attempts_tenant_status_time ON attempts (tenant_id, status, time DESC, id DESC);
CREATE INDEX idx_attempts_tenant_topic_time ON attempts (tenant_id, topic, time DESC, id DESC);
CREATE INDEX idx_attempts_tenant_destination_type_time ON attempts (tenant_id, destination_type, time DESC, id DESC);
CREATE INDEX idx_attempts_event_time ON attempts (event_id, time DESC, id DESC);
CREATE INDEX idx_attempts_event_destination_number ON attempts (event_id, destination_id, attempt_number DESC);
CREATE INDEX idx_attempts_destination_time ON attempts (destination_id, time DESC, id DESC);
CREATE INDEX idx_attempts_id ON attempts (id);
