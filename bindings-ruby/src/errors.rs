//! The `Cogwork::Error` hierarchy and the one function mapping a core `Error` onto it.
//!
//! Each exception keeps the core's message (which says what, where and what to do) and
//! carries the details a caller may act on as instance variables (`@task`, `@violations`,
//! `@js_name`, ...); gem/lib/cogwork/errors.rb documents them and defines their readers.

use std::sync::OnceLock;

use cogwork_core::{Error as CoreError, SchemaViolation};
use magnus::value::{Opaque, ReprValue};
use magnus::{Class, Error, ExceptionClass, IntoValue, Module, Object, RModule, RObject, Ruby, Value};

struct Classes {
    invalid_task: Opaque<ExceptionClass>,
    task_not_found: Opaque<ExceptionClass>,
    invalid_input: Opaque<ExceptionClass>,
    invalid_output: Opaque<ExceptionClass>,
    task_failed: Opaque<ExceptionClass>,
    timeout: Opaque<ExceptionClass>,
    worker_crashed: Opaque<ExceptionClass>,
    interrupted: Opaque<ExceptionClass>,
    configuration: Opaque<ExceptionClass>,
    engine_closed: Opaque<ExceptionClass>,
    io: Opaque<ExceptionClass>,
    protocol: Opaque<ExceptionClass>,
}

/// Set once at init; the classes are constants, so the GC never moves or frees them.
static CLASSES: OnceLock<Classes> = OnceLock::new();

/// Defines `Cogwork::Error < StandardError` and its subclasses.
pub fn define(ruby: &Ruby, cogwork: RModule) -> Result<(), Error> {
    let base = cogwork.define_error("Error", ruby.exception_standard_error())?;
    let sub = |name: &str| cogwork.define_error(name, base).map(Opaque::from);
    let classes = Classes {
        invalid_task: sub("InvalidTaskError")?,
        task_not_found: sub("TaskNotFoundError")?,
        invalid_input: sub("InvalidInputError")?,
        invalid_output: sub("InvalidOutputError")?,
        task_failed: sub("TaskFailedError")?,
        timeout: sub("TimeoutError")?,
        worker_crashed: sub("WorkerCrashedError")?,
        interrupted: sub("InterruptedError")?,
        configuration: sub("ConfigurationError")?,
        engine_closed: sub("EngineClosedError")?,
        io: sub("IOError")?,
        protocol: sub("ProtocolError")?,
    };
    let _ = CLASSES.set(classes);
    Ok(())
}

/// Maps a core error to its `Cogwork::Error` subclass.
pub fn to_ruby(ruby: &Ruby, error: CoreError) -> Error {
    let c = classes();
    let message = error.to_string();
    let str = |s: &str| ruby.str_new(s).as_value();
    let task = |name: &str| ("@task", str(name));
    let (class, ivars) = match &error {
        CoreError::InvalidTask { path, .. } => (c.invalid_task, vec![("@path", str(&path.display().to_string()))]),
        CoreError::TaskNotFound { name, .. } => (c.task_not_found, vec![task(name)]),
        CoreError::InvalidInput { task: name, violations } => {
            (c.invalid_input, vec![task(name), ("@violations", violations_to_ruby(ruby, violations))])
        }
        CoreError::InvalidOutput { task: name, violations } => {
            (c.invalid_output, vec![task(name), ("@violations", violations_to_ruby(ruby, violations))])
        }
        CoreError::TaskFailed { task: name, error: js, .. } => (
            c.task_failed,
            vec![
                task(name),
                ("@js_name", str(&js.name)),
                ("@js_message", str(&js.message)),
                ("@js_stack", js.stack.as_deref().map(str).into_value_with(ruby)),
            ],
        ),
        CoreError::Timeout { task: name, after } => {
            (c.timeout, vec![task(name), ("@after", after.as_secs_f64().into_value_with(ruby))])
        }
        CoreError::WorkerCrashed { task: name, .. } => (c.worker_crashed, vec![task(name)]),
        CoreError::Interrupted { task: name } => (c.interrupted, vec![task(name)]),
        CoreError::Configuration(_) => (c.configuration, Vec::new()),
        CoreError::EngineClosed(_) => (c.engine_closed, Vec::new()),
        CoreError::Io { .. } => (c.io, Vec::new()),
        CoreError::Protocol(_) => (c.protocol, Vec::new()),
        _ => (c.protocol, Vec::new()),
    };
    raise(ruby, class, message, ivars)
}

/// Violations as Hashes with Symbol keys: `{path: "input.num1", keyword: "type", message: "..."}`.
fn violations_to_ruby(ruby: &Ruby, violations: &[SchemaViolation]) -> Value {
    let array = ruby.ary_new_capa(violations.len());
    for violation in violations {
        let hash = ruby.hash_new();
        for (key, value) in [("path", &violation.path), ("keyword", &violation.keyword), ("message", &violation.message)] {
            // Cannot fail: a fresh Hash with Symbol keys.
            let _ = hash.aset(ruby.to_symbol(key), ruby.str_new(value));
        }
        let _ = array.push(hash);
    }
    array.as_value()
}

fn raise(ruby: &Ruby, class: Opaque<ExceptionClass>, message: String, ivars: Vec<(&str, Value)>) -> Error {
    let build = || {
        let exception = ruby.get_inner(class).new_instance((message,))?;
        let object = RObject::from_value(exception.as_value()).expect("an exception is a plain object");
        for (name, value) in ivars {
            object.ivar_set(name, value)?;
        }
        Ok(exception)
    };
    match build() {
        Ok(exception) => exception.into(),
        Err(error) => error,
    }
}

fn classes() -> &'static Classes {
    CLASSES.get().expect("Cogwork errors are defined when the extension loads")
}
