//! The `dbsync` binary: everything happens in [`dbsync::cli`].

/// mimalloc rather than glibc's malloc: a sync run decodes and frees thousands of small
/// values per batch from both runtime threads, where glibc's malloc took a fifth to a
/// quarter of the run's CPU; with mimalloc the run needs about 40% less CPU (12-column
/// table, measured). Costs about 10 MiB more resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dbsync::cli::main()
}
