//! Internal queue backends behind the [`outpost_core::ports::Queue`] port: in memory (embedded
//! mode, tests) and RabbitMQ (quorum queues with dead-lettering, publisher confirms).

pub mod memory;
pub mod rabbitmq;

pub use memory::MemoryQueue;
