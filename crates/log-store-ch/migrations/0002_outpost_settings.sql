-- Settings the store keeps about itself, one value per key (the latest written wins):
-- `log_retention_ttl_days`, the retention last applied as a table TTL.
CREATE TABLE IF NOT EXISTS `{db}`.`{dp}outpost_settings`
(
    key String,
    value String,
    updated_at DateTime64(9, 'UTC') DEFAULT now64(9)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key;
