//! The job methods of `Cogwork::Native::Engine`: enqueue, inspect, cancel and retry jobs,
//! and the pull interface Ruby handler threads use (`next_host_jobs`, then one
//! `report_host_results` per batch). gem/lib/cogwork/engine.rs turns times and durations
//! into seconds before they get here, and records into `Cogwork::Job`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cogwork_core::{HandlerOptions, JobOptions, JobSpec};
use cogwork_core::queue::{HostError, HostJob, HostResult};
use cogwork_core::store::JobFilter;
use cogwork_core::{JobRecord, JobState};
use magnus::scan_args::get_kwargs;
use magnus::value::{LazyId, ReprValue};
use magnus::error::ErrorType;
use magnus::{method, Error, IntoValue, Module, RArray, RClass, RHash, Ruby, Value};

use crate::engine::{seconds, wait, Engine};
use crate::{convert, records};

pub fn define(class: RClass) -> Result<(), Error> {
    class.define_method("enqueue_all", method!(Engine::enqueue_all, 1))?;
    class.define_method("job", method!(Engine::job, 1))?;
    class.define_method("jobs", method!(Engine::jobs, 1))?;
    class.define_method("cancel", method!(Engine::cancel, 1))?;
    class.define_method("retry", method!(Engine::retry, 1))?;
    class.define_method("stats", method!(Engine::stats, 1))?;
    class.define_method("register_handler", method!(Engine::register_handler, 1))?;
    class.define_method("next_host_jobs", method!(Engine::next_host_jobs, 2))?;
    class.define_method("report_host_results", method!(Engine::report_host_results, 2))?;
    class.define_method("wake_host_threads", method!(Engine::wake_host_threads, 0))?;
    Ok(())
}

pub(crate) static QUEUE: LazyId = LazyId::new("queue");
pub(crate) static PRIORITY: LazyId = LazyId::new("priority");
static RUN_AT: LazyId = LazyId::new("run_at");
static DELAY: LazyId = LazyId::new("delay");
pub(crate) static MAX_ATTEMPTS: LazyId = LazyId::new("max_attempts");
static TIMEOUT: LazyId = LazyId::new("timeout");
static UNIQUE_KEY: LazyId = LazyId::new("unique_key");
static CONCURRENCY_KEY: LazyId = LazyId::new("concurrency_key");
static CONCURRENCY_LIMIT: LazyId = LazyId::new("concurrency_limit");
static STATE: LazyId = LazyId::new("state");
static TARGET: LazyId = LazyId::new("target");
static LIMIT: LazyId = LazyId::new("limit");

impl Engine {
    /// `enqueue_all([[target, input, options], ...])` → the jobs' records, in order, from one
    /// transaction (no second query). Options are the keywords of `Engine#enqueue`, with
    /// `run_at` as epoch seconds and `delay` and `timeout` as seconds.
    fn enqueue_all(ruby: &Ruby, rb_self: &Self, jobs: RArray) -> Result<RArray, Error> {
        let mut specs = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.into_iter().enumerate() {
            let (target, input, options): (String, Value, RHash) = magnus::TryConvert::try_convert(job)?;
            let input = convert::from_ruby(ruby, input, &format!("jobs[{index}].input"))?;
            specs.push(JobSpec { target, input, options: job_options(ruby, options)? });
        }
        let engine = rb_self.engine(ruby)?;
        let jobs = wait(ruby, engine.enqueue_returning(specs))?;
        job_records(ruby, &jobs)
    }

    /// `job(id)` → the job's record (see records.rs).
    fn job(ruby: &Ruby, rb_self: &Self, id: i64) -> Result<Value, Error> {
        let job = wait(ruby, rb_self.engine(ruby)?.job(id))?;
        records::job(ruby, &job)
    }

    /// `jobs({state:, queue:, target:, limit:})` → records, newest first.
    fn jobs(ruby: &Ruby, rb_self: &Self, filter: RHash) -> Result<RArray, Error> {
        let args = get_kwargs::<_, (), (Option<Vec<String>>, Option<String>, Option<String>, Option<usize>), ()>(
            filter,
            &[],
            &[*STATE, *QUEUE, *TARGET, *LIMIT],
        )?;
        let (states, queue, target, limit) = args.optional;
        let states = states.unwrap_or_default().iter().map(|state| job_state(ruby, state)).collect::<Result<_, _>>()?;
        let filter = JobFilter { states, queue, target, limit: limit.unwrap_or(JobFilter::default().limit), ..JobFilter::default() };
        let jobs = wait(ruby, rb_self.engine(ruby)?.jobs(&filter))?;
        job_records(ruby, &jobs)
    }

    fn cancel(ruby: &Ruby, rb_self: &Self, id: i64) -> Result<(), Error> {
        wait(ruby, rb_self.engine(ruby)?.cancel(id))
    }

    fn retry(ruby: &Ruby, rb_self: &Self, id: i64) -> Result<(), Error> {
        wait(ruby, rb_self.engine(ruby)?.retry(id))
    }

    /// `stats(window_seconds)` → counts by state and by queue, and the window's attempts.
    fn stats(ruby: &Ruby, rb_self: &Self, window: f64) -> Result<Value, Error> {
        let window = seconds(ruby, window, "window")?;
        let stats = wait(ruby, rb_self.engine(ruby)?.stats(window))?;
        records::stats(ruby, &stats)
    }

    /// Jobs for `name` are run by Ruby threads, which pull them with `next_host_jobs`.
    fn register_handler(ruby: &Ruby, rb_self: &Self, name: String) -> Result<(), Error> {
        let engine = rb_self.engine(ruby)?;
        engine.register_handler(&name, HandlerOptions::default()).map_err(|e| crate::errors::to_ruby(ruby, e))
    }

    /// `next_host_jobs(max, wait_seconds)` → up to `max` claimed jobs, each
    /// `[id, attempt, target, input, queue, max_attempts, run_id, step]` (the last two nil
    /// for a plain job), waiting with the GVL released; `wake_host_threads` (or an
    /// interrupt) ends the wait early.
    fn next_host_jobs(ruby: &Ruby, rb_self: &Self, max: usize, wait: f64) -> Result<RArray, Error> {
        let engine = rb_self.engine(ruby)?;
        let wait = seconds(ruby, wait, "wait")?;
        let jobs = crate::nogvl::call(|| engine.next_host_jobs(max, wait), || engine.wake_host_threads())?;
        let array = ruby.ary_new_capa(jobs.len());
        for job in &jobs {
            array.push(host_job(ruby, job)?)?;
        }
        Ok(array)
    }

    /// `report_host_results(completed, failed)`: `completed` holds `[id, attempt, output]`,
    /// `failed` holds `[id, attempt, class, message, backtrace]`; one call per batch. An
    /// output Ruby cannot convert fails its attempt with a TypeError naming the path.
    fn report_host_results(ruby: &Ruby, rb_self: &Self, completed: RArray, failed: RArray) -> Result<(), Error> {
        let mut results = Vec::with_capacity(completed.len() + failed.len());
        for entry in completed {
            let (id, attempt, output): (i64, i32, Value) = magnus::TryConvert::try_convert(entry)?;
            let outcome = convert::from_ruby_raw(ruby, output, "output").map_err(|error| host_error(&error));
            results.push(HostResult { id, attempt, outcome });
        }
        for entry in failed {
            let (id, attempt, class, message, backtrace): (i64, i32, String, String, Option<Vec<String>>) =
                magnus::TryConvert::try_convert(entry)?;
            let error = HostError { class, message, backtrace: backtrace.unwrap_or_default(), retryable: None };
            results.push(HostResult { id, attempt, outcome: Err(error) });
        }
        rb_self.engine(ruby)?.report_host_results(results);
        Ok(())
    }

    /// Makes every thread waiting in `next_host_jobs` return now (to stop).
    fn wake_host_threads(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        rb_self.engine(ruby)?.wake_host_threads();
        Ok(())
    }
}

fn job_records(ruby: &Ruby, jobs: &[JobRecord]) -> Result<RArray, Error> {
    let array = ruby.ary_new_capa(jobs.len());
    for job in jobs {
        array.push(records::job(ruby, job)?)?;
    }
    Ok(array)
}

/// A conversion's exception as the failure of the attempt whose output it was.
fn host_error(error: &Error) -> HostError {
    let (class, message) = match error.error_type() {
        ErrorType::Error(class, message) => (class.to_string(), message.to_string()),
        ErrorType::Exception(exception) => (exception.class().to_string(), exception.to_string()),
        ErrorType::Jump(_) => ("LocalJumpError".into(), "a handler's output jumped out of its conversion".into()),
    };
    HostError { class, message, ..HostError::default() }
}

fn host_job(ruby: &Ruby, job: &HostJob) -> Result<Value, Error> {
    let step = job.step.as_ref();
    let fields = [
        job.id.into_value_with(ruby),
        job.attempt.into_value_with(ruby),
        job.target.as_str().into_value_with(ruby),
        convert::raw_to_ruby(ruby, &job.input)?,
        job.queue.as_str().into_value_with(ruby),
        job.max_attempts.into_value_with(ruby),
        step.map(|step| step.run_id).into_value_with(ruby),
        step.map(|step| step.name.as_str()).into_value_with(ruby),
    ];
    Ok(ruby.ary_new_from_values(&fields).as_value())
}

fn job_options(ruby: &Ruby, options: RHash) -> Result<JobOptions, Error> {
    type Optional = (
        Option<String>,
        Option<i32>,
        Option<i64>,
        Option<f64>,
        Option<u32>,
        Option<f64>,
        Option<String>,
        Option<String>,
        Option<u32>,
    );
    let args = get_kwargs::<_, (), Optional, ()>(
        options,
        &[],
        &[*QUEUE, *PRIORITY, *RUN_AT, *DELAY, *MAX_ATTEMPTS, *TIMEOUT, *UNIQUE_KEY, *CONCURRENCY_KEY, *CONCURRENCY_LIMIT],
    )?;
    let (queue, priority, run_at, delay, max_attempts, timeout, unique_key, concurrency_key, concurrency_limit) = args.optional;
    Ok(JobOptions {
        queue,
        priority: priority.unwrap_or_default(),
        run_at: run_at.map(|at| epoch(ruby, at)).transpose()?,
        delay: delay.map(|delay| seconds(ruby, delay, "delay")).transpose()?,
        max_attempts,
        timeout: timeout.map(|timeout| seconds(ruby, timeout, "timeout")).transpose()?,
        unique_key,
        concurrency_key,
        concurrency_limit,
        backoff: None,
    })
}

/// Microseconds since the epoch as a time (exact, where epoch seconds as a Float would round
/// a microsecond away); before 1970 is refused.
fn epoch(ruby: &Ruby, micros: i64) -> Result<SystemTime, Error> {
    u64::try_from(micros)
        .ok()
        .and_then(|micros| UNIX_EPOCH.checked_add(Duration::from_micros(micros)))
        .ok_or_else(|| Error::new(ruby.exception_arg_error(), format!("run_at must be a time after 1970, not {micros} µs since the epoch")))
}

fn job_state(ruby: &Ruby, name: &str) -> Result<JobState, Error> {
    JobState::ALL.into_iter().find(|state| state.as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = JobState::ALL.iter().map(|state| state.as_str()).collect();
        Error::new(ruby.exception_arg_error(), format!("unknown job state `{name}`; states are {}", names.join(", ")))
    })
}
