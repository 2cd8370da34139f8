//! Boa, the JavaScript engine, confined to one thread. A [`Sandbox`] keeps one warm
//! context per task version: the prelude and main.js are evaluated once, and every later
//! execution only calls the compiled task function (a fresh context costs ~100x a call).
//!
//! What survives between executions of one task in one worker: main.js's top-level state
//! (like a warm AWS Lambda container). Input, console and fetches are per execution, and
//! the job queue is drained after every call, so no promise callback of one execution can
//! run inside the next. Nothing else is reachable from JavaScript: no filesystem,
//! environment, modules or timers. Which tasks stay compiled is the host's decision
//! (`forget`), never the worker's, so host and worker always agree on it.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::{js_string, Context, JsError as BoaError, JsObject, JsResult, JsValue, NativeFunction, Source};
use serde_json::value::RawValue;
use serde_json::Value;

use super::protocol::{ExecuteFrame, Failure, FetchRequest};
use super::worker::HostIo;
use crate::error::JsError;
use crate::value::MAX_PAYLOAD_BYTES;

/// Soft bound on one loop's iterations; the hard bound is the host's timeout.
const LOOP_ITERATION_LIMIT: u64 = 1_000_000_000;

struct CompiledTask {
    context: Context,
    function: JsObject,
    /// `JSON.stringify`, captured before main.js runs: outputs follow JSON's own rules
    /// (`toJSON`, dates as strings, functions dropped, cycles and BigInts refused).
    stringify: JsObject,
    /// How long its last execution took.
    last_run: Option<Duration>,
}

#[derive(Default)]
pub(crate) struct Sandbox {
    tasks: HashMap<String, CompiledTask>,
}

impl Sandbox {
    /// Runs one execution. `io` is lent to the context for the duration of the call so the
    /// natives (console, fetch) can reach the host, and handed back afterwards. The flag
    /// says whether the task is now compiled here.
    pub fn execute(&mut self, request: &ExecuteFrame, io: HostIo) -> (Result<Box<RawValue>, Failure>, bool, HostIo) {
        let task = match self.compiled(request) {
            Ok(task) => task,
            Err(error) => return (Err(Failure::Threw(error)), false, io),
        };
        task.context.insert_data(io);
        let started = Instant::now();
        let outcome = call(task, request);
        task.last_run = Some(started.elapsed());
        task.context.clear_kept_objects();
        let io = *task.context.remove_data::<HostIo>().expect("the host io was lent to this context");
        (outcome, true, io)
    }

    /// How long the last execution of the task compiled under `key` took.
    pub fn last_run(&self, key: &str) -> Option<Duration> {
        self.tasks.get(key).and_then(|task| task.last_run)
    }

    /// Drops a compiled task, as the host asked.
    pub fn forget(&mut self, key: &str) {
        self.tasks.remove(key);
    }

    fn compiled(&mut self, request: &ExecuteFrame) -> Result<&mut CompiledTask, Box<JsError>> {
        if !self.tasks.contains_key(&request.key) {
            let source = request.source.as_deref().ok_or_else(|| failure("ProtocolError", "the host sent no code for a task this worker has not compiled"))?;
            self.tasks.insert(request.key.clone(), compile(source)?);
        }
        Ok(self.tasks.get_mut(&request.key).expect("inserted above"))
    }
}

fn compile(source: &str) -> Result<CompiledTask, Box<JsError>> {
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
    Ok(CompiledTask { context, function, stringify, last_run: None })
}

fn global_main(context: &mut Context) -> Option<JsObject> {
    let value = context.eval(Source::from_bytes("typeof main === 'function' ? main : undefined")).ok()?;
    value.as_callable()
}

fn call(task: &mut CompiledTask, request: &ExecuteFrame) -> Result<Box<RawValue>, Failure> {
    let returned = call_function(task, request);
    // Whatever the call left queued (a `.then` of a promise it did not return) runs now,
    // inside this execution, and never in the next one.
    let drained = task.context.run_jobs().map_err(|e| Failure::Threw(describe(e, &mut task.context)));
    let value = settle(returned?, &mut task.context)?;
    drained?;
    let json = task.stringify.call(&JsValue::undefined(), &[value], &mut task.context).map_err(|e| not_json(&describe(e, &mut task.context).message))?;
    let Some(json) = json.as_string() else {
        return Err(Failure::Threw(failure("TypeError", "main.js returned undefined or a function; a task must return a JSON value (an object, array, string, number, boolean or null)")));
    };
    let json = json.to_std_string_escaped();
    if json.len() > MAX_PAYLOAD_BYTES {
        return Err(Failure::OutputTooLarge { bytes: json.len() });
    }
    RawValue::from_string(json).map_err(|e| not_json(&e.to_string()))
}

/// Input arrives as JSON text: serde parses it and Boa takes the tree, several times
/// faster than Boa's own `JSON.parse`, which compiles the text as a script (bench/values).
fn call_function(task: &mut CompiledTask, request: &ExecuteFrame) -> Result<JsValue, Failure> {
    let context = &mut task.context;
    let mut enter = |text: &RawValue| {
        let value: Value = serde_json::from_str(text.get()).map_err(|e| Failure::Threw(failure("TypeError", &format!("the host sent invalid JSON: {e}"))))?;
        JsValue::from_json(&value, context).map_err(|e| Failure::Threw(describe(e, context)))
    };
    let input = enter(&request.input)?;
    let info = enter(&request.context)?;
    task.function.call(&JsValue::undefined(), &[input, info], context).map_err(|e| Failure::Threw(describe(e, context)))
}

fn not_json(cause: &str) -> Failure {
    Failure::Threw(failure("TypeError", &format!("main.js returned a value that is not JSON: {cause}")))
}

/// The value of a returned Promise, once the job queue has run (fetch completes
/// synchronously, and there are no timers, so a promise still pending then never settles).
fn settle(value: JsValue, context: &mut Context) -> Result<JsValue, Failure> {
    let Some(promise) = value.as_object().and_then(|object| JsPromise::from_object(object.clone()).ok()) else {
        return Ok(value);
    };
    match promise.state() {
        PromiseState::Fulfilled(value) => Ok(value),
        PromiseState::Rejected(reason) => Err(Failure::Threw(describe(BoaError::from_opaque(reason), context))),
        PromiseState::Pending => Err(Failure::Threw(failure(
            "TypeError",
            "the task's Promise never settled (it awaits something that cannot complete; timers are not available)",
        ))),
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
        Err(failure) => serde_json::json!({ "error": failure.message, "retryable": failure.retryable }),
    };
    JsValue::from_json(&reply, context)
}

/// Name, message and stack of whatever was thrown. Engine errors (runtime limits) cannot
/// become JavaScript values and are reported by their description.
fn describe(error: BoaError, context: &mut Context) -> Box<JsError> {
    let engine_error = error.to_string();
    let Ok(value) = error.into_opaque(context) else {
        return failure("RuntimeLimitError", &engine_error);
    };
    let Some(object) = value.as_object() else {
        let shown = value.to_string(context).map(|s| s.to_std_string_escaped()).unwrap_or_default();
        return failure("Error", &format!("threw a non-Error value: {shown}"));
    };
    let mut property = |name| object.get(name, context).ok().filter(|v| !v.is_undefined());
    let (name, message, stack) = (property(js_string!("name")), property(js_string!("message")), property(js_string!("stack")));
    let (status, retryable, data) = (property(js_string!("status")), property(js_string!("retryable")), property(js_string!("data")));
    let mut text = |value: Option<JsValue>| value.and_then(|v| v.to_string(context).ok()).map(|s| s.to_std_string_escaped());
    Box::new(JsError {
        name: text(name).unwrap_or_else(|| "Error".into()),
        message: text(message).unwrap_or_default(),
        stack: text(stack).map(|stack| without_prelude_frames(&stack)).filter(|s| !s.is_empty()),
        status: status.and_then(|v| v.as_number()).filter(|n| n.fract() == 0.0 && (0.0..=999.0).contains(n)).map(|n| n as u16),
        retryable: retryable.and_then(|v| v.as_boolean()),
        data: data.and_then(|v| v.to_json(context).ok().flatten()),
    })
}

/// The prelude's error constructors are ours, not the task's: keep only the task's frames.
fn without_prelude_frames(stack: &str) -> String {
    stack.lines().filter(|line| !line.contains("(prelude.js:")).collect::<Vec<_>>().join("\n")
}

fn failure(name: &str, message: &str) -> Box<JsError> {
    Box::new(JsError { name: name.into(), message: message.into(), ..JsError::default() })
}
