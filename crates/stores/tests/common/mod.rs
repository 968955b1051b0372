//! What the Redis integration tests share: the settings of the Redis they run against.

use outpost_stores::RedisSettings;

/// The Redis at `TEST_REDIS_ADDR` (default the local one), database 0, no credentials.
pub fn settings() -> RedisSettings {
    let addr = outpost_test_support::redis_addr();
    let (host, port) = addr.rsplit_once(':').expect("TEST_REDIS_ADDR is host:port");
    RedisSettings {
        host: host.into(),
        port: port.parse().expect("port"),
        username: None,
        password: None,
        database: 0,
    }
}
