//! lyceum-loadtest: the goose load generator and failover drill (`--help`, docs/LOADTEST.md).

fn main() -> std::process::ExitCode {
    lyceum_loadtest::cli::main()
}
