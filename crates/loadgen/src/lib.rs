//! The load generator (`outpost-loadgen`, `make bench`) and the fault-injection suite
//! (`outpost-faults`, `make faults`): both run the real `outpost` binary as separate processes on
//! the local Redis, RabbitMQ and PostgreSQL, publish to it, and count what arrives at an
//! in-process HTTP sink.

pub mod args;
pub mod bench;
pub mod faults;
pub mod infra;
pub mod procs;
pub mod publish;
pub mod report;
pub mod services;
pub mod sink;
