//! The `dbsync` binary: everything happens in [`dbsync::cli`].

fn main() -> std::process::ExitCode {
    dbsync::cli::main()
}
