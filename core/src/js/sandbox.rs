//! Boa, the JavaScript engine, confined to one thread. A [`Sandbox`] keeps one warm
//! context per task version: the prelude and main.js are evaluated once, and every later
//! execution only calls the compiled task function (a fresh context costs ~100x a call).
//!
//! What survives between executions of one task in one worker: main.js's top-level state
//! (like a warm AWS Lambda container). Input, console and fetches are per execution.
//! Nothing else is reachable from JavaScript: no filesystem, environment, modules or timers.

use std::collections::HashMap;
use std::path::Path;

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::{js_string, Context, JsError as BoaError, JsObject, JsResult, JsValue, NativeFunction, Source};
use serde_json::Value;

use super::protocol::{ExecuteRequest, FetchRequest};
use super::worker::HostIo;
use crate::error::JsError;

/// Compiled contexts kept per worker; past this the cache starts over.
const MAX_CACHED_TASKS: usize = 64;
/// Soft bound on one loop's iterations; the hard bound is the host's timeout.
const LOOP_ITERATION_LIMIT: u64 = 1_000_000_000;

struct CompiledTask {
    context: Context,
    function: JsObject,
    /// `JSON.stringify`, captured before main.js runs: outputs follow JSON's own rules
    /// (`toJSON`, dates as strings, functions dropped, cycles and BigInts refused).
    stringify: JsObject,
}

#[derive(Default)]
pub(crate) struct Sandbox {
    tasks: HashMap<String, CompiledTask>,
}

impl Sandbox {
    /// Runs one execution. `io` is lent to the context for the duration of the call so the
    /// natives (console, fetch) can reach the host, and handed back afterwards.
    pub fn execute(&mut self, request: &ExecuteRequest, io: HostIo) -> (Result<Value, JsError>, HostIo) {
        let task = match self.compiled(request) {
            Ok(task) => task,
            Err(error) => return (Err(error), io),
        };
        task.context.insert_data(io);
        let outcome = call(task, request);
        task.context.clear_kept_objects();
        let io = *task.context.remove_data::<HostIo>().expect("the host io was lent to this context");
        (outcome, io)
    }

    fn compiled(&mut self, request: &ExecuteRequest) -> Result<&mut CompiledTask, JsError> {
        if !self.tasks.contains_key(&request.key) {
            let source = request.source.as_deref().ok_or_else(|| failure("ProtocolError", "the host sent no code for a task this worker has not compiled"))?;
            let compiled = compile(source)?;
            if self.tasks.len() >= MAX_CACHED_TASKS {
                self.tasks.clear();
            }
            self.tasks.insert(request.key.clone(), compiled);
        }
        Ok(self.tasks.get_mut(&request.key).expect("inserted above"))
    }
}

fn compile(source: &str) -> Result<CompiledTask, JsError> {
    let mut context = Context::default();
    context.runtime_limits_mut().set_loop_iteration_limit(LOOP_ITERATION_LIMIT);
    register_natives(&mut context).map_err(|e| describe(e, &mut context))?;
    context.eval(Source::from_bytes(include_str!("prelude.js")).with_path(Path::new("prelude.js"))).map_err(|e| describe(e, &mut context))?;
    let stringify = context.eval(Source::from_bytes("JSON.stringify")).map_err(|e| describe(e, &mut context))?;
    let stringify = stringify.as_callable().ok_or_else(|| failure("TypeError", "JSON.stringify is not callable"))?;
    let value = context.eval(Source::from_bytes(source).with_path(Path::new("main.js"))).map_err(|e| {
        let mut error = describe(e, &mut context);
        error.message = format!("while loading main.js: {}", error.message);
        error
    })?;
    let function = match value.as_callable() {
        Some(function) => function,
        // A script declaring `main` (function or const) instead of evaluating to a function.
        None => global_main(&mut context).ok_or_else(|| {
            failure("TypeError", "main.js must evaluate to a function (`(function(input, context) {...})`, an arrow function) or define a global `main`")
        })?,
    };
    Ok(CompiledTask { context, function, stringify })
}

fn global_main(context: &mut Context) -> Option<JsObject> {
    let value = context.eval(Source::from_bytes("typeof main === 'function' ? main : undefined")).ok()?;
    value.as_callable()
}

fn call(task: &mut CompiledTask, request: &ExecuteRequest) -> Result<Value, JsError> {
    let context = &mut task.context;
    let input = JsValue::from_json(&request.input, context).map_err(|e| describe(e, context))?;
    let info = JsValue::from_json(&request.context, context).map_err(|e| describe(e, context))?;
    let value = task.function.call(&JsValue::undefined(), &[input, info], context).map_err(|e| describe(e, context))?;
    let value = settle(value, context)?;
    let json = task.stringify.call(&JsValue::undefined(), &[value], context).map_err(|e| not_json(&describe(e, context).message))?;
    let Some(json) = json.as_string() else {
        return Err(failure("TypeError", "main.js returned undefined or a function; a task must return a JSON value (an object, array, string, number, boolean or null)"));
    };
    serde_json::from_str(&json.to_std_string_escaped()).map_err(|e| not_json(&e.to_string()))
}

fn not_json(cause: &str) -> JsError {
    failure("TypeError", &format!("main.js returned a value that is not JSON: {cause}"))
}

/// Resolves a returned Promise by running the job queue (fetch completes synchronously, and
/// there are no timers, so a promise still pending afterwards will never settle).
fn settle(value: JsValue, context: &mut Context) -> Result<JsValue, JsError> {
    let Some(promise) = value.as_object().and_then(|object| JsPromise::from_object(object.clone()).ok()) else {
        return Ok(value);
    };
    context.run_jobs().map_err(|e| describe(e, context))?;
    match promise.state() {
        PromiseState::Fulfilled(value) => Ok(value),
        PromiseState::Rejected(reason) => Err(describe(BoaError::from_opaque(reason), context)),
        PromiseState::Pending => Err(failure("TypeError", "the task's Promise never settled (it awaits something that cannot complete; timers are not available)")),
    }
}

fn register_natives(context: &mut Context) -> JsResult<()> {
    context.register_global_callable(js_string!("__cogwork_console"), 2, NativeFunction::from_fn_ptr(console))?;
    context.register_global_callable(js_string!("__cogwork_fetch"), 1, NativeFunction::from_fn_ptr(fetch))
}

fn host_io(context: &Context) -> &HostIo {
    context.get_data::<HostIo>().expect("natives run only during an execution, while the host io is lent")
}

fn console(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let level = args.first().map(|v| v.to_string(context)).transpose()?.map(|s| s.to_std_string_escaped()).unwrap_or_default();
    let message = args.get(1).map(|v| v.to_string(context)).transpose()?.map(|s| s.to_std_string_escaped()).unwrap_or_default();
    host_io(context).console(level, message);
    Ok(JsValue::undefined())
}

/// Asks the host to perform a request and blocks until it answers. Returns the response,
/// or `{error}` for a network failure or a refused host (the prelude turns that into a
/// `NetworkError`).
fn fetch(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let request = args.first().cloned().unwrap_or_default().to_json(context)?.unwrap_or(Value::Null);
    let request: FetchRequest = serde_json::from_value(request)
        .map_err(|e| boa_engine::JsNativeError::typ().with_message(format!("invalid fetch request: {e}")))?;
    let reply = match host_io(context).fetch(request) {
        Ok(response) => serde_json::to_value(response).unwrap_or(Value::Null),
        Err(error) => serde_json::json!({ "error": error }),
    };
    JsValue::from_json(&reply, context)
}

/// Name, message and stack of whatever was thrown. Engine errors (runtime limits) cannot
/// become JavaScript values and are reported by their description.
fn describe(error: BoaError, context: &mut Context) -> JsError {
    let engine_error = error.to_string();
    let Ok(value) = error.into_opaque(context) else {
        return failure("RuntimeLimitError", &engine_error);
    };
    let Some(object) = value.as_object() else {
        let shown = value.to_string(context).map(|s| s.to_std_string_escaped()).unwrap_or_default();
        return failure("Error", &format!("threw a non-Error value: {shown}"));
    };
    let mut property = |name| {
        let value = object.get(name, context).ok().filter(|v| !v.is_undefined())?;
        value.to_string(context).ok().map(|s| s.to_std_string_escaped())
    };
    JsError {
        name: property(js_string!("name")).unwrap_or_else(|| "Error".into()),
        message: property(js_string!("message")).unwrap_or_default(),
        stack: property(js_string!("stack")).map(|stack| without_prelude_frames(&stack)).filter(|s| !s.is_empty()),
        ..JsError::default()
    }
}

/// The prelude's error constructors are ours, not the task's: keep only the task's frames.
fn without_prelude_frames(stack: &str) -> String {
    stack.lines().filter(|line| !line.contains("(prelude.js:")).collect::<Vec<_>>().join("\n")
}

fn failure(name: &str, message: &str) -> JsError {
    JsError { name: name.into(), message: message.into(), ..JsError::default() }
}
