//! `Cogwork.cli(argv, worker_command = Cogwork::Engine::WORKER_COMMAND)`: the core's command
//! line (`cogwork_core::cli`) inside this Ruby, so that the gem's `cogwork` executable is the
//! same command as the Rust binary, its worker processes started with the gem's worker command.

use cogwork_core::WorkerCommand;
use magnus::scan_args::scan_args;
use magnus::{function, Error, Module, Object, RClass, RModule, Ruby, Value};
use tokio::sync::oneshot;

use crate::nogvl;

pub fn define(ruby: &Ruby) -> Result<(), Error> {
    ruby.define_module("Cogwork")?.define_module_function("cli", function!(cli, -1))
}

/// Runs the command line `argv` (the arguments after the program's name) and returns its exit
/// status: 0, 1 when the command failed, 2 for a usage error. The command runs on a thread of
/// its own, waited for with the GVL released; an interrupt (Ctrl-C, Thread#raise, Timeout)
/// raises here at once, and the command's thread goes on until the process exits, except that
/// `cogwork work` catches SIGINT and SIGTERM itself and stops gracefully.
fn cli(ruby: &Ruby, args: &[Value]) -> Result<i32, Error> {
    let args = scan_args::<(Vec<String>,), (Option<Vec<String>>,), (), (), (), ()>(args)?;
    let (argv,) = args.required;
    let worker = match args.optional.0 {
        Some(argv) => argv,
        None => default_worker_command(ruby)?,
    };
    let worker = WorkerCommand::from_argv(worker)
        .ok_or_else(|| Error::new(ruby.exception_arg_error(), "Cogwork.cli: worker_command must name a program"))?;

    let (status, receiver) = oneshot::channel();
    let command_line = std::iter::once("cogwork".to_owned()).chain(argv).collect::<Vec<_>>();
    std::thread::Builder::new()
        .name("cogwork-cli".into())
        .spawn(move || {
            // The receiver is gone only when the waiting Ruby thread was interrupted.
            let _ = status.send(cogwork_core::cli::main(command_line, worker));
        })
        .map_err(|error| Error::new(ruby.exception_runtime_error(), format!("Cogwork.cli: cannot start the command's thread: {error}")))?;
    nogvl::block_on(receiver)?.map_err(|_| {
        Error::new(ruby.exception_runtime_error(), "Cogwork.cli: the command panicked (its message is on stderr)")
    })
}

/// `Cogwork::Engine::WORKER_COMMAND`, which gem/lib/cogwork/engine.rb builds from this Ruby and
/// the extension's path.
fn default_worker_command(ruby: &Ruby) -> Result<Vec<String>, Error> {
    let cogwork: RModule = ruby.class_object().const_get("Cogwork")?;
    let engine: RClass = cogwork.const_get("Engine")?;
    engine.const_get("WORKER_COMMAND")
}
