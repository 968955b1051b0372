//! Ports: the traits through which the services reach storage and queues, each with an
//! in-memory implementation for the embedded mode and tests.

pub mod alert_state;
pub mod expiring;
pub mod idempotency;
pub mod log_store;
pub mod memory_log_store;
pub mod memory_tenant_store;
pub mod page;
pub mod queue;
pub mod scheduler;
pub mod sender;
pub mod tenant_store;

pub use alert_state::{AlertState, MemoryAlertState};
pub use idempotency::{Claim, Idempotency, MemoryIdempotency};
pub use log_store::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore, TimeRange};
pub use memory_log_store::MemoryLogStore;
pub use memory_tenant_store::MemoryTenantStore;
pub use page::{Dir, Page, PageCursor, PageRequest};
pub use queue::{Acker, Held, Message, Queue, QueueError, Subscription, decode_items, pack_items};
pub use scheduler::{DueRetry, MemoryScheduler, RetryScheduler, retry_id};
pub use sender::{SendResult, Sender, Unsupported};
pub use tenant_store::{DestinationLookup, TenantKey, TenantListQuery, TenantPage, TenantStore};
