//! The `reconstructor` binary: everything lives in the library; see `reconstructor::cli`.

fn main() -> std::process::ExitCode {
    reconstructor::cli::main()
}
