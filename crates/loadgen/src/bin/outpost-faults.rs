//! `outpost-faults`: the fault-injection suite and the soak run (see `outpost_loadgen::faults`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = outpost_loadgen::faults::FaultArgs::parse();
    outpost_loadgen::run_main(outpost_loadgen::faults::run(args))
}
