//! The load generator (`outpost-loadgen`, `make bench`) and the fault-injection suite
//! (`outpost-faults`, `make faults`): both run the real `outpost` binary as separate processes on
//! the local Redis, RabbitMQ and PostgreSQL, publish to it, and count what arrives at an
//! in-process HTTP sink.

pub mod args;
pub mod bench;
pub mod faults;
pub mod figures;
pub mod infra;
pub mod procs;
pub mod publish;
pub mod report;
pub mod services;
pub mod sink;

/// Runs `main` on a multi-threaded runtime: exit 0 when it returns `Ok(true)`, 2 on
/// `Ok(false)` (the run found a problem), 1 with the error chain on `Err`.
pub fn run_main(
    main: impl std::future::Future<Output = anyhow::Result<bool>>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(main) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
