//! The Ruby binding of cogwork, loaded as `cogwork/cogwork.so`: a thin adapter that converts
//! Ruby values, calls `cogwork-core`, converts back and maps errors. It defines the internal
//! `Cogwork::Native` module; the public API, `Cogwork::Error` hierarchy included, is the
//! idiomatic layer in gem/lib.

mod cli;
mod clock;
mod convert;
mod engine;
mod errors;
mod events;
mod jobs;
mod nogvl;
mod records;
mod schedules;
mod worker;
mod workflows;

use cogwork_core::ErrorKind;
use magnus::value::ReprValue;
use magnus::{function, Error, Module, Ruby};

#[magnus::init(name = "cogwork")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let native = ruby.define_module("Cogwork")?.define_module("Native")?;
    native.define_module_function("worker_main", function!(worker_main, 0))?;
    // The exception classes gem/lib/cogwork/errors.rb must define, one per kind of core error.
    let classes = ruby.ary_from_iter(ErrorKind::ALL.iter().map(|kind| kind.class_name()));
    classes.freeze();
    native.const_set("ERROR_CLASSES", classes)?;
    // The deepest nesting a value may have, for callers that check before they call.
    native.const_set("MAX_DEPTH", cogwork_core::value::MAX_DEPTH)?;
    engine::define(ruby, native)?;
    cli::define(ruby)?;
    Ok(())
}

/// Hands the process to the core's worker loop, which serves executions over fd 3 and never
/// returns to Ruby. Worker processes run `ruby -e` with a one-liner that loads this extension
/// and calls this, so the gem needs no executable of its own.
fn worker_main() {
    cogwork_core::js::worker_main()
}
