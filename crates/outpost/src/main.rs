//! The all-in-one `outpost` binary: `outpost serve`, `outpost config`, `outpost version`.

fn main() -> std::process::ExitCode {
    outpost::cli::main()
}
