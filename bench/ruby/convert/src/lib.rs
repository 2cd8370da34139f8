//! `CogworkConvertBench`: the gem's conversions alone, for `bench/ruby/bench.rb convert`.

use magnus::{function, Error, Ruby, Value};

// The very module the gem compiles; the benchmark calls the two walks it measures.
#[allow(dead_code)]
#[path = "../../../../bindings-ruby/src/convert.rs"]
mod convert;

/// Converts `value` into a core value and drops it: the way in.
fn into_core(ruby: &Ruby, value: Value) -> Result<(), Error> {
    convert::from_ruby(ruby, value, "value").map(drop)
}

/// Converts `value` into a core value and back into Ruby objects: in and out.
fn round_trip(ruby: &Ruby, value: Value) -> Result<Value, Error> {
    convert::to_ruby(ruby, &convert::from_ruby(ruby, value, "value")?)
}

#[magnus::init(name = "cogwork_convert_bench")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let module = ruby.define_module("CogworkConvertBench")?;
    module.define_module_function("into_core", function!(into_core, 1))?;
    module.define_module_function("round_trip", function!(round_trip, 1))?;
    Ok(())
}
