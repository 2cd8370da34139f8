//! The Ruby binding of cogwork, loaded as `cogwork/cogwork.so`: a thin adapter that converts
//! Ruby values, calls `cogwork-core`, converts back and maps errors. It defines the internal
//! `Cogwork::Native` module and the `Cogwork::Error` hierarchy; the public API is the
//! idiomatic layer in gem/lib.

mod convert;
mod engine;
mod errors;
mod nogvl;

use magnus::{function, Error, Module, Ruby};

#[magnus::init(name = "cogwork")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let cogwork = ruby.define_module("Cogwork")?;
    errors::define(ruby, cogwork)?;
    let native = cogwork.define_module("Native")?;
    native.define_module_function("worker_main", function!(worker_main, 0))?;
    engine::define(ruby, native)?;
    Ok(())
}

/// Hands the process to the core's worker loop, which serves executions over fd 3 and never
/// returns to Ruby. Worker processes run `ruby -e` with a one-liner that loads this extension
/// and calls this, so the gem needs no executable of its own.
fn worker_main() {
    cogwork_core::js::worker_main()
}
