//! The `reconstructor` binary: everything lives in the library; see `reconstructor::cli`.

/// mimalloc instead of the system allocator: ingest allocates and frees many short-lived
/// buffers per request, where glibc's malloc showed up as a tenth of the CPU and kept freed
/// memory in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reconstructor::cli::main()
}
