//! The all-in-one `outpost` binary: `outpost serve`, `outpost config`, `outpost version`.

/// mimalloc instead of glibc's malloc: allocation and free were about a fifth of the delivery
/// service's CPU time under load (`perf`), mostly glibc's arena bookkeeping. Its arenas are not
/// committed eagerly (`.cargo/config.toml`), which keeps resident memory as with glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    outpost::cli::main()
}
