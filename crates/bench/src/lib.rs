//! Benchmarks that print figures. `logs`: loads attempts into a fresh Postgres log database and
//! measures the latency of the common log queries through the store the log service uses.

pub mod logs;

/// Command-line options.
#[derive(Debug, clap::Parser)]
#[command(name = "outpost-bench", about = "Log query benchmark on PostgreSQL")]
pub struct Args {
    /// Attempts to load (two attempts per event).
    #[arg(long, default_value_t = 1_000_000)]
    pub attempts: usize,
    /// Tenants the load is spread over.
    #[arg(long, default_value_t = 100)]
    pub tenants: usize,
    /// Destinations per tenant.
    #[arg(long, default_value_t = 10)]
    pub destinations: usize,
    /// Runs of each query.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// PostgreSQL server URL (a fresh database is created on it and dropped at the end).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Keep the benchmark database.
    #[arg(long)]
    pub keep: bool,
    /// The p99 target in milliseconds (the table marks queries over it).
    #[arg(long, default_value_t = 50.0)]
    pub target_ms: f64,
}
