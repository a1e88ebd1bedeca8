//! The `kgate` binary: parse arguments, run, exit with kgate's status (0 pass, 1 findings, 2 failure).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(kgate::main_with_args(std::env::args_os()))
}
