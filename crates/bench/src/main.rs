//! `outpost-bench`: benchmarks that print figures (see `make bench-logs`).

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = outpost_bench::Args::parse();
    tokio::runtime::Runtime::new()?.block_on(outpost_bench::logs::run(args))
}
