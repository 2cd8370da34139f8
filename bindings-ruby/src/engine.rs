//! `Cogwork::Native::Engine`: the Ruby handle on a core `Engine`. Each method converts its
//! arguments while holding the GVL, waits on the core with the GVL released (`nogvl`), and
//! converts the result back. The idiomatic surface is `Cogwork::Engine` in gem/lib.

use std::path::PathBuf;
use std::time::Duration;

use cogwork_core::{EngineOptions, HttpMock, RunOptions, WorkerCommand};
use magnus::scan_args::get_kwargs;
use magnus::{function, method, Error, Module, Object, RHash, RModule, Ruby, Value};

use crate::{convert, errors, nogvl};

#[magnus::wrap(class = "Cogwork::Native::Engine", free_immediately, size)]
pub struct Engine {
    engine: cogwork_core::Engine,
}

pub fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Engine", ruby.class_object())?;
    class.define_singleton_method("open", function!(Engine::open, 1))?;
    class.define_method("run", method!(Engine::run, 4))?;
    class.define_method("close", method!(Engine::close, 0))?;
    class.define_method("warnings", method!(Engine::warnings, 0))?;
    Ok(())
}

impl Engine {
    /// `open(options)`: loads the tasks and starts the workers. `worker_command` (an Array:
    /// program, then arguments) is required; the other keys override the core's defaults
    /// unless nil, except that `memory_limit: nil` and `recycle_after: nil` mean no limit.
    fn open(ruby: &Ruby, options: RHash) -> Result<Self, Error> {
        type Optional = (
            Option<Option<Vec<PathBuf>>>,
            Option<Option<usize>>,
            Option<Option<f64>>,
            Option<bool>,
            Option<Option<Vec<String>>>,
            Option<Option<u64>>,
            Option<Option<u64>>,
            Option<bool>,
        );
        let args = get_kwargs::<_, (Vec<String>,), Optional, ()>(
            options,
            &["worker_command"],
            &["tasks", "workers", "timeout", "in_process", "fetch_allow", "memory_limit", "recycle_after", "watch"],
        )?;
        let (worker_command,) = args.required;
        let (tasks, workers, timeout, in_process, fetch_allow, memory_limit, recycle_after, watch) = args.optional;

        let mut options = EngineOptions::default()
            .worker_command(command(ruby, worker_command)?)
            .tasks(tasks.flatten().unwrap_or_default())
            .fetch_allow(fetch_allow.flatten().unwrap_or_default());
        if in_process == Some(true) {
            options = options.in_process();
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

        let engine = nogvl::block_on(cogwork_core::Engine::open(options))?.map_err(|e| errors::to_ruby(ruby, e))?;
        Ok(Engine { engine })
    }

    /// `run(task, input, timeout_seconds_or_nil, mocks_array_or_nil)` → the output, as plain
    /// Ruby objects.
    fn run(ruby: &Ruby, rb_self: &Self, task: String, input: Value, timeout: Option<f64>, mocks: Value) -> Result<Value, Error> {
        let engine = rb_self.engine(ruby)?;
        let input = convert::from_ruby(ruby, input, "input")?;
        let options = RunOptions {
            timeout: timeout.map(|t| seconds(ruby, t, "timeout")).transpose()?,
            mocks: http_mocks(ruby, mocks)?,
        };
        let execution = nogvl::block_on(engine.run(&task, input, options))?.map_err(|e| errors::to_ruby(ruby, e))?;
        convert::to_ruby(ruby, &execution.output)
    }

    /// Stops the workers once runs under way have finished; later runs raise
    /// `Cogwork::EngineClosedError`.
    fn close(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        nogvl::block_on(rb_self.engine(ruby)?.close())
    }

    /// What loading the tasks noticed but did not refuse (duplicates, for instance).
    fn warnings(ruby: &Ruby, rb_self: &Self) -> Result<Vec<String>, Error> {
        Ok(rb_self.engine(ruby)?.warnings())
    }

    /// The core engine, unless this is a forked child of the process that opened it.
    fn engine(&self, ruby: &Ruby) -> Result<&cogwork_core::Engine, Error> {
        self.engine.check_process().map_err(|e| errors::to_ruby(ruby, e))?;
        Ok(&self.engine)
    }
}

fn command(ruby: &Ruby, argv: Vec<String>) -> Result<WorkerCommand, Error> {
    WorkerCommand::from_argv(argv).ok_or_else(|| Error::new(ruby.exception_arg_error(), "worker_command must name a program"))
}

fn seconds(ruby: &Ruby, seconds: f64, name: &str) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| Error::new(ruby.exception_arg_error(), format!("{name} must be a non-negative number of seconds, got {seconds}")))
}

/// Mocks arrive as a Hash, an Array of Hashes (`url`, `method`, `status`, `headers`,
/// `response`) or nil.
fn http_mocks(ruby: &Ruby, mocks: Value) -> Result<Vec<HttpMock>, Error> {
    HttpMock::list_from_json(convert::from_ruby(ruby, mocks, "mocks")?).map_err(|e| Error::new(ruby.exception_arg_error(), e))
}
