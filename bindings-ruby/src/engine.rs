//! `Cogwork::Native::Engine`: the Ruby handle on a core `Engine`. Each method converts its
//! arguments while holding the GVL, waits on the core with the GVL released (`nogvl`), and
//! converts the result back. The idiomatic surface is `Cogwork::Engine` in gem/lib.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cogwork_core::config::Config;
use cogwork_core::value;
use cogwork_core::{Error as CoreError, EngineOptions, HttpMock, RunOptions, WorkerCommand};
use magnus::scan_args::get_kwargs;
use magnus::value::{LazyId, ReprValue};
use magnus::{function, method, Error, Module, Object, RHash, RModule, Ruby, Value};

use crate::{clock, convert, errors, events, jobs, nogvl, schedules, worker, workflows};

#[magnus::wrap(class = "Cogwork::Native::Engine", free_immediately, size)]
pub struct Engine {
    engine: cogwork_core::Engine,
    /// The clock the job store reads: the system's, or a manual one tests move.
    pub(crate) clock: clock::EngineClock,
    /// Set by `close`: the core refuses runs after it, but the job store would fail with a
    /// database error, so every call checks this first.
    closed: AtomicBool,
    /// What the configuration file sets for working: its queues' concurrency, and the rate
    /// limits and schedules applied when the engine first works (worker.rs).
    pub(crate) config: Config,
    /// Set once `config` was applied (or from the start, for `apply_config: false`): a
    /// schedule removed afterwards stays removed.
    pub(crate) configured: AtomicBool,
}

pub fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Engine", ruby.class_object())?;
    class.define_singleton_method("open", function!(Engine::open, 3))?;
    class.define_method("execute", method!(Engine::execute, 4))?;
    class.define_method("close", method!(Engine::close, 0))?;
    class.define_method("warnings", method!(Engine::warnings, 0))?;
    class.define_method("check", method!(Engine::check, 0))?;
    class.define_method("set_http_mocks", method!(Engine::set_http_mocks, 1))?;
    jobs::define(class)?;
    worker::define(ruby, native, class)?;
    workflows::define(class)?;
    events::define(ruby, native, class)?;
    schedules::define(class)?;
    clock::define(class)?;
    Ok(())
}

static WORKER_COMMAND: LazyId = LazyId::new("worker_command");
static TASKS: LazyId = LazyId::new("tasks");
static WORKERS: LazyId = LazyId::new("workers");
static TIMEOUT: LazyId = LazyId::new("timeout");
static FETCH_ALLOW: LazyId = LazyId::new("fetch_allow");
static MEMORY_LIMIT: LazyId = LazyId::new("memory_limit");
static RECYCLE_AFTER: LazyId = LazyId::new("recycle_after");
static WATCH: LazyId = LazyId::new("watch");
static FETCH_MAX_RESPONSE_BYTES: LazyId = LazyId::new("fetch_max_response_bytes");
static CONSOLE_MAX_BYTES: LazyId = LazyId::new("console_max_bytes");
static APPLY_CONFIG: LazyId = LazyId::new("apply_config");
static DATABASE: LazyId = LazyId::new("database");
static NODE: LazyId = LazyId::new("node");
static LEASE: LazyId = LazyId::new("lease");
static CLOCK: LazyId = LazyId::new("clock");

impl Engine {
    /// `open(options, queue, config)`: loads the tasks and starts the workers. The base is
    /// what the configuration file (`config`, a path, else ./cogwork.yml when present) and
    /// the `COGWORK_*` variables set, through the core's `Config`; every option given and not
    /// nil overrides it, except that `memory_limit: nil` and `recycle_after: nil` mean no
    /// limit. `worker_command` is an Array (program, then arguments), or nil to run
    /// JavaScript on threads of this process. `queue` holds the job settings: `database` (a
    /// URL), `node`, `lease` (seconds), `clock` ("manual" for a clock that moves only when
    /// `advance` says), `apply_config` (false leaves the file's rate limits and schedules
    /// out of the database), each optional.
    fn open(ruby: &Ruby, options: RHash, queue: RHash, config: Option<PathBuf>) -> Result<Self, Error> {
        type Optional = (
            Option<Option<Vec<PathBuf>>>,
            Option<Option<usize>>,
            Option<Option<f64>>,
            Option<Option<Vec<String>>>,
            Option<Option<u64>>,
            Option<Option<u64>>,
            Option<bool>,
            Option<Option<usize>>,
            Option<Option<usize>>,
        );
        let args = get_kwargs::<_, (Option<Vec<String>>,), Optional, ()>(
            options,
            &[*WORKER_COMMAND],
            &[*TASKS, *WORKERS, *TIMEOUT, *FETCH_ALLOW, *MEMORY_LIMIT, *RECYCLE_AFTER, *WATCH, *FETCH_MAX_RESPONSE_BYTES, *CONSOLE_MAX_BYTES],
        )?;
        let (worker_command,) = args.required;
        let (tasks, workers, timeout, fetch_allow, memory_limit, recycle_after, watch, fetch_max_response_bytes, console_max_bytes) =
            args.optional;

        let config = Config::load(config.as_deref()).map_err(|e| errors::to_ruby(ruby, e))?;
        let mut options = config.engine_options();
        options = match worker_command {
            Some(argv) => options.worker_command(command(ruby, argv)?),
            None => options.in_process(),
        };
        if let Some(tasks) = tasks.flatten() {
            options = options.tasks(tasks);
        }
        if let Some(fetch_allow) = fetch_allow.flatten() {
            options = options.fetch_allow(fetch_allow);
        }
        if let Some(workers) = workers.flatten() {
            options = options.workers(workers);
        }
        if let Some(timeout) = timeout.flatten() {
            options = options.timeout(seconds(ruby, timeout, "timeout")?);
        }
        if let Some(memory_limit) = memory_limit {
            options = options.memory_limit(memory_limit);
        }
        if let Some(recycle_after) = recycle_after {
            options = options.recycle_after(recycle_after);
        }
        if let Some(watch) = watch {
            options = options.watch(watch);
        }
        if let Some(bytes) = fetch_max_response_bytes.flatten() {
            options = options.fetch_max_response_bytes(bytes);
        }
        if let Some(bytes) = console_max_bytes.flatten() {
            options = options.console_max_bytes(bytes);
        }

        let (options, clock, apply_config) = queue_options(ruby, options, &config, queue)?;
        let engine = wait(ruby, cogwork_core::Engine::open(options))?;
        // An engine told not to apply the file counts as having applied it.
        let configured = AtomicBool::new(!apply_config);
        Ok(Engine { engine, clock, closed: AtomicBool::new(false), config, configured })
    }

    /// `execute(task, input, timeout_seconds_or_nil, mocks_or_nil)` → `[output, console,
    /// worker, duration_seconds]`, the output as plain Ruby objects and console lines as
    /// `{level:, message:}` Hashes.
    fn execute(ruby: &Ruby, rb_self: &Self, task: String, input: Value, timeout: Option<f64>, mocks: Value) -> Result<Value, Error> {
        let engine = rb_self.engine(ruby)?;
        let input = convert::from_ruby(ruby, input, "input")?;
        let options = RunOptions { timeout: timeout.map(|t| seconds(ruby, t, "timeout")).transpose()?, mocks: http_mocks(ruby, mocks)?, ..RunOptions::default() };
        let execution = wait(ruby, engine.run(&task, input, options))?;
        let record = [
            convert::to_ruby(ruby, &execution.output)?,
            convert::console_to_ruby(ruby, &execution.console)?,
            ruby.integer_from_u64(execution.worker).as_value(),
            ruby.float_from_f64(execution.duration.as_secs_f64()).as_value(),
        ];
        Ok(ruby.ary_new_from_values(&record).as_value())
    }

    /// Stops the workers once runs under way have finished; later calls raise
    /// `Cogwork::EngineClosedError`, and closing again does nothing.
    fn close(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        if rb_self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let engine = rb_self.engine(ruby)?;
        rb_self.closed.store(true, Ordering::Release);
        nogvl::block_on(engine.close())
    }

    /// What loading the tasks noticed but did not refuse (duplicates, for instance).
    fn warnings(ruby: &Ruby, rb_self: &Self) -> Result<Vec<String>, Error> {
        Ok(rb_self.engine(ruby)?.warnings())
    }

    /// `set_http_mocks(mocks)`: what every JavaScript fetch of jobs and runs that bring no
    /// mocks of their own is answered with, replacing what was set; nil or [] clears them.
    fn set_http_mocks(ruby: &Ruby, rb_self: &Self, mocks: Value) -> Result<(), Error> {
        let engine = rb_self.engine(ruby)?;
        engine.set_http_mocks(http_mocks(ruby, mocks)?);
        Ok(())
    }

    /// Raises `Cogwork::EngineClosedError` when the engine is closed or this is a fork: for
    /// the Ruby methods that start threads before their first native call.
    fn check(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        rb_self.engine(ruby).map(|_| ())
    }

    /// The core engine, unless it was closed or this is a forked child of the process that
    /// opened it.
    pub(crate) fn engine(&self, ruby: &Ruby) -> Result<&cogwork_core::Engine, Error> {
        if self.closed.load(Ordering::Acquire) {
            let closed = CoreError::EngineClosed("the engine is closed; open a new Cogwork::Engine".into());
            return Err(errors::to_ruby(ruby, closed));
        }
        self.engine.check_process().map_err(|e| errors::to_ruby(ruby, e))?;
        Ok(&self.engine)
    }
}

fn command(ruby: &Ruby, argv: Vec<String>) -> Result<WorkerCommand, Error> {
    WorkerCommand::from_argv(argv).ok_or_else(|| Error::new(ruby.exception_arg_error(), "worker_command must name a program"))
}

/// A duration given in seconds; `option` names it in the error.
pub(crate) fn seconds(ruby: &Ruby, seconds: f64, option: &str) -> Result<Duration, Error> {
    value::seconds(seconds, option).map_err(|e| Error::new(ruby.exception_arg_error(), e.to_string()))
}

/// Waits for a core call with the GVL released and maps its error onto `Cogwork::Error`.
pub(crate) fn wait<T>(ruby: &Ruby, call: impl Future<Output = cogwork_core::Result<T>>) -> Result<T, Error> {
    nogvl::block_on(call)?.map_err(|e| errors::to_ruby(ruby, e))
}

/// The job settings of `open`, over those of `config`, the clock the store reads, and
/// whether to apply `config` when the engine first works.
fn queue_options(ruby: &Ruby, options: EngineOptions, config: &Config, queue: RHash) -> Result<(EngineOptions, clock::EngineClock, bool), Error> {
    type Optional = (Option<Option<String>>, Option<Option<String>>, Option<Option<f64>>, Option<Option<String>>, Option<Option<bool>>);
    let args = get_kwargs::<_, (), Optional, ()>(queue, &[], &[*DATABASE, *NODE, *LEASE, *CLOCK, *APPLY_CONFIG])?;
    let (database, node, lease, clock, apply_config) = args.optional;
    let clock = clock::EngineClock::named(ruby, clock.flatten().as_deref())?;
    let mut options = options.store_options(config.store_options().clock(clock.shared()));
    if let Some(database) = database.flatten() {
        options = options.database(database);
    }
    if let Some(node) = node.flatten() {
        options = options.node(node);
    }
    if let Some(lease) = lease.flatten() {
        options = options.lease(seconds(ruby, lease, "lease")?);
    }
    Ok((options, clock, apply_config.flatten().unwrap_or(true)))
}

/// Mocks arrive as a Hash, an Array of Hashes (`url`, `method`, `status`, `headers`,
/// `response`) or nil.
fn http_mocks(ruby: &Ruby, mocks: Value) -> Result<Vec<HttpMock>, Error> {
    HttpMock::list_from_json(convert::from_ruby(ruby, mocks, "mocks")?).map_err(|e| Error::new(ruby.exception_arg_error(), e))
}
