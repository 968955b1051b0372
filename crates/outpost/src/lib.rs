//! The all-in-one `outpost` binary: the CLI and `serve`, which runs the services selected by
//! `SERVICE` (api, delivery, log, or all in one process) on one HTTP port.

pub mod cli;
pub mod migrate;
pub mod serve;
