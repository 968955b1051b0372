//! Redis-backed implementations of the storage ports: the tenant store with Outpost's key
//! layout (so an existing Outpost Redis is read unchanged) and AES-GCM encrypted credentials.
#![warn(missing_docs)]

pub mod cipher;
pub mod destination_cache;
pub mod keys;
pub mod redis_alert_state;
pub mod redis_client;
pub mod redis_idempotency;
pub mod redis_scheduler;
mod redis_set_batch;
mod redis_tenant_codec;
pub mod redis_tenant_store;

pub use cipher::Cipher;
pub use destination_cache::DestinationCache;
pub use redis_alert_state::RedisAlertState;
pub use redis_client::{RedisSettings, connect};
pub use redis_idempotency::RedisIdempotency;
pub use redis_scheduler::RedisScheduler;
pub use redis_tenant_store::RedisTenantStore;
