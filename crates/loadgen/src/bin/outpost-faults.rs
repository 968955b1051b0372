//! `outpost-faults`: the fault-injection suite (see `outpost_loadgen::faults`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = outpost_loadgen::faults::FaultArgs::parse();
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
    match rt.block_on(outpost_loadgen::faults::run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
