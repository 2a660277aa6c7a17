//! The `dbsync` binary: everything happens in [`dbsync::cli`].

/// mimalloc rather than glibc's malloc: a sync run decodes and frees thousands of small
/// values per batch from both runtime threads, where glibc spent about 40% of the run's
/// CPU (measured on a 12-column table). Costs about 10–20 MiB more resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dbsync::cli::main()
}
