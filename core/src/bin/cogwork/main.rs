//! The `cogwork` binary: the command line of [`cogwork_core::cli`], which also serves as
//! its own worker program (`cogwork worker`).

use std::process::ExitCode;

use cogwork_core::WorkerCommand;

fn main() -> ExitCode {
    let worker = match WorkerCommand::current_exe() {
        Ok(worker) => worker,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let status = cogwork_core::cli::main(std::env::args_os(), worker);
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}
