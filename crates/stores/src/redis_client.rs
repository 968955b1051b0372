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
