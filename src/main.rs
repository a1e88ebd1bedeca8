//! The `kgate` binary: parse arguments, run, exit with kgate's status (0 pass, 1 findings, 2 failure).

use std::process::ExitCode;

/// Loading builds many small trees (YAML nodes, JSON values) from several threads at once:
/// mimalloc's per-thread heaps make that allocation-heavy work markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options, by their index in the `mi_option_e` enum of the mimalloc C sources that
/// libmimalloc-sys 0.1.49 builds (`c_src/mimalloc/v3/include/mimalloc.h`; a test pins that
/// version, so an upgrade re-checks the indices).
const MI_OPTION_ARENA_EAGER_COMMIT: std::os::raw::c_int = 4;
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;

extern "C" {
    fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
}

/// A check streams files: each is parsed, judged and freed. By default mimalloc keeps freed pages
/// for a while and commits whole arenas up front, so the resident set grew with the repository
/// although live memory did not (20,000 files: 111 MB resident, 66 MB with these two options,
/// same CPU time). A user's own `MIMALLOC_*` settings win.
fn tune_allocator() {
    for (option, env, value) in [
        (MI_OPTION_PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
        (
            MI_OPTION_ARENA_EAGER_COMMIT,
            "MIMALLOC_ARENA_EAGER_COMMIT",
            0,
        ),
    ] {
        if std::env::var_os(env).is_none() {
            // SAFETY: mi_option_set only stores an option value (atomically); it has no
            // preconditions and an index outside the enum is ignored by mimalloc.
            unsafe { mi_option_set(option, value) };
        }
    }
}

fn main() -> ExitCode {
    tune_allocator();
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

#[cfg(test)]
mod tests {
    /// The option indices above were read from the mimalloc sources of this libmimalloc-sys
    /// version: an upgrade must read them again.
    #[test]
    fn mimalloc_option_indices_match_the_pinned_sources() {
        let lock = include_str!("../Cargo.lock");
        let pinned = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"libmimalloc-sys\""))
            .expect("libmimalloc-sys in Cargo.lock");
        assert!(pinned.contains("version = \"0.1.49\""), "{pinned}");
    }
}
