//! The `kgate` binary: parse arguments, run, exit with kgate's status (0 pass, 1 findings, 2 failure).

use std::process::ExitCode;

/// Loading builds many small trees (YAML nodes, JSON values) from several threads at once:
/// mimalloc's per-thread heaps make that allocation-heavy work markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(kgate::main_with_args(std::env::args_os()))
}
