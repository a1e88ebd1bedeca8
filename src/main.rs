//! The `kgate` binary: parse arguments, run, exit with kgate's status (0 pass, 1 findings, 2 failure).

use std::process::ExitCode;

/// Loading builds many small trees (YAML nodes, JSON values) from several threads at once:
/// mimalloc's per-thread heaps make that allocation-heavy work markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // regorus reports an undefined builtin result as an `anyhow` error, which captures a
    // backtrace whenever RUST_BACKTRACE is set (common in CI images): that alone made policy
    // evaluation about a third slower. Panics still print their backtrace; only the library
    // capture is turned off, and only if the user did not choose otherwise. Set before any
    // thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    ExitCode::from(kgate::main_with_args(std::env::args_os()))
}
