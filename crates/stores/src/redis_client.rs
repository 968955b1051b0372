//! Connecting to Redis from the service configuration.

use fred::prelude::*;

/// What is needed to connect.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Username.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database.
    pub database: u8,
}

impl RedisSettings {
    /// Database 0 at `addr` (`host:port`) without credentials; `None` if `addr` is not that.
    pub fn at(addr: &str) -> Option<Self> {
        let (host, port) = addr.rsplit_once(':')?;
        Some(Self {
            host: host.into(),
            port: port.parse().ok()?,
            username: None,
            password: None,
            database: 0,
        })
    }
}

/// Connects a client and waits until it is ready (fails fast when Redis is unreachable).
pub async fn connect(s: &RedisSettings) -> Result<Client, Error> {
    let mut config = Config::from_url(&format!("redis://{}:{}/{}", s.host, s.port, s.database))?;
    config.username = s.username.clone();
    config.password = s.password.clone();
    config.fail_fast = true;
    let client = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = std::time::Duration::from_secs(5);
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build()?;
    client.init().await?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::RedisSettings;

    #[test]
    fn settings_at_an_address_take_its_host_and_port() {
        let s = RedisSettings::at("127.0.0.1:6380").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.database),
            ("127.0.0.1", 6380, 0)
        );
        assert!(s.username.is_none() && s.password.is_none());
        assert!(RedisSettings::at("localhost").is_none());
        assert!(RedisSettings::at("localhost:redis").is_none());
    }
}

/// A key's time to live in whole seconds for `EX`: at least one (Redis refuses `EX 0`), and
/// the largest Redis takes for a duration too long to count.
pub(crate) fn expiry_secs(ttl: std::time::Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod expiry_tests {
    use super::expiry_secs;
    use std::time::Duration;

    #[test]
    fn expiries_are_whole_seconds_of_at_least_one() {
        assert_eq!(expiry_secs(Duration::ZERO), 1);
        assert_eq!(expiry_secs(Duration::from_millis(1500)), 1);
        assert_eq!(expiry_secs(Duration::from_secs(3600)), 3600);
        assert_eq!(expiry_secs(Duration::MAX), i64::MAX);
    }
}
