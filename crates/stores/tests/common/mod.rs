//! What the Redis integration tests share: the settings of the Redis they run against.

use outpost_stores::RedisSettings;

/// The Redis at `TEST_REDIS_ADDR` (default the local one), database 0, no credentials.
pub fn settings() -> RedisSettings {
    RedisSettings::at(&outpost_test_support::redis_addr()).expect("TEST_REDIS_ADDR is host:port")
}
