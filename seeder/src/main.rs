//! lyceum-seeder: fills the Lyceum database with realistic fake data (`--help`, docs/SEEDER.md).

fn main() -> std::process::ExitCode {
    lyceum_seeder::cli::main()
}
