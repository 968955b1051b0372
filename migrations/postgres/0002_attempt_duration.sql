-- How long each attempt's send took, in milliseconds (NULL for attempts written before it was
-- recorded, and for upstream-written rows). Feeds the avg_duration_ms / max_duration_ms metrics.
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS duration_ms bigint;
