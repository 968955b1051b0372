//! Internal queue backends behind the [`outpost_core::ports::Queue`] port: in memory (embedded
//! mode, tests) and RabbitMQ (quorum queues with dead-lettering, publisher confirms), and
//! [`Combining`], which packs concurrent publishes into fewer broker messages on any of them.

pub mod combine;
pub mod memory;
pub mod rabbitmq;

pub use combine::{CombineLimits, Combining};
pub use memory::MemoryQueue;
