//! Working the queue: `drain` (until nothing is due) and `start`, which returns a
//! `Cogwork::Native::Worker` whose `stop` ends it gracefully. An engine opened from a
//! configuration file works as the file says: its queues, their concurrency and rate limits,
//! its schedules. The core dispatcher claims the jobs; Ruby handler jobs go to the threads
//! gem/lib/cogwork/handlers.rb owns, which pull them with `next_host_jobs`.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use cogwork_core::queue::{WorkOptions, Worker as CoreWorker};
use magnus::{method, Class, Error, Module, RClass, RModule, Ruby, Value};

use crate::engine::{wait, Engine};
use crate::{errors, records};

/// A running dispatcher; `None` once stopped.
#[magnus::wrap(class = "Cogwork::Native::Worker", free_immediately, size)]
pub struct Worker {
    worker: Mutex<Option<CoreWorker>>,
    /// The process that started it: in a forked child its dispatcher does not exist, and
    /// waiting for it would hang.
    pid: u32,
}

pub fn define(ruby: &Ruby, native: RModule, engine: RClass) -> Result<(), Error> {
    engine.define_method("drain", method!(Engine::drain, 1))?;
    engine.define_method("start", method!(Engine::start, 1))?;
    let class = native.define_class("Worker", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("stop", method!(Worker::stop, 0))?;
    Ok(())
}

impl Engine {
    /// `drain(queues_or_nil)`: runs what is due in `queues` (nil: the configuration's) until
    /// none is due and none is running, with the GVL released (Ruby handler threads run
    /// meanwhile); returns the progress.
    fn drain(ruby: &Ruby, rb_self: &Self, queues: Option<Vec<String>>) -> Result<Value, Error> {
        let engine = rb_self.engine(ruby)?;
        let progress = wait(ruby, rb_self.work(engine, queues, |options| engine.drain(options)))?;
        records::progress(ruby, &progress)
    }

    /// `start(queues_or_nil)`: a dispatcher working in the background until its `stop`.
    fn start(ruby: &Ruby, rb_self: &Self, queues: Option<Vec<String>>) -> Result<Worker, Error> {
        let engine = rb_self.engine(ruby)?;
        let worker = wait(ruby, rb_self.work(engine, queues, |options| engine.start(options)))?;
        Ok(Worker { worker: Mutex::new(Some(worker)), pid: std::process::id() })
    }

    /// Applies the configuration if due, then calls `work` (a drain or a start) with the
    /// configuration's work options for `queues`.
    async fn work<T, F>(
        &self,
        engine: &cogwork_core::Engine,
        queues: Option<Vec<String>>,
        work: impl FnOnce(WorkOptions) -> F,
    ) -> cogwork_core::Result<T>
    where
        F: Future<Output = cogwork_core::Result<T>>,
    {
        self.apply_config(engine).await?;
        work(self.work_options(queues)).await
    }

    /// The first time an engine opened from a configuration file works (its handlers
    /// registered by then, so schedules may target them), records the file's queue rate
    /// limits and adds its schedules, as `cogwork work` does. Applying twice (two threads
    /// starting at once) changes nothing.
    async fn apply_config(&self, engine: &cogwork_core::Engine) -> cogwork_core::Result<()> {
        if self.config.file.is_none() || self.configured.load(Ordering::Acquire) {
            return Ok(());
        }
        engine.apply_config(&self.config).await?;
        self.configured.store(true, Ordering::Release);
        Ok(())
    }

    /// The configuration's work options (its queues' concurrency; "default" and its queues
    /// unless `queues` are given).
    fn work_options(&self, queues: Option<Vec<String>>) -> WorkOptions {
        let mut options = self.config.work_options();
        if let Some(queues) = queues {
            options.queues = queues;
        }
        options
    }
}

impl Worker {
    /// Stops claiming, waits for running jobs (up to the stop timeout), hands back the rest;
    /// returns the progress, or nil when already stopped.
    fn stop(ruby: &Ruby, rb_self: &Self) -> Result<Option<Value>, Error> {
        if std::process::id() != rb_self.pid {
            let message = format!("this worker was started in process {} and cannot be stopped from forked process {}", rb_self.pid, std::process::id());
            return Err(errors::to_ruby(ruby, cogwork_core::Error::EngineClosed(message)));
        }
        let worker = rb_self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(worker) = worker else { return Ok(None) };
        let progress = wait(ruby, worker.stop())?;
        records::progress(ruby, &progress).map(Some)
    }
}
