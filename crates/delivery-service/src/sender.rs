//! Destination senders: the port lives in `outpost-core`, the implementations of every type
//! but the webhook in `outpost-senders`.

pub use outpost_core::ports::sender::{SendResult, Sender, Unsupported};
