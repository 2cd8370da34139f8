//! The configuration file, `cogwork.yml`, and the `COGWORK_*` environment variables that
//! override it: what the CLI reads, and what the bindings may offer their users.
//!
//! The file is walked by hand rather than deserialised into structs, so that every refusal
//! names the file, the key path (`queues.mail.rate_limit`) and what was expected: serde's
//! messages say what type was wanted, not what the setting means. An unknown key is an
//! error too, since a misspelt setting silently ignored is worse than a refused one.
//!
//! ```yaml
//! database: postgres://cogwork@db.internal/jobs
//! tasks: [tasks]                 # task sources, relative to this file
//! workers: 4                     # JavaScript worker processes
//! timeout: 30s                   # one execution; "30s", "5m", "2h", "7d", "250ms" or seconds
//! lease: 30s
//! retention: 7d                  # how long finished jobs are kept
//! fetch_allow: [api.example.com]
//! queues:
//!   mail: {concurrency: 5, rate_limit: 10}   # at most 5 at once here, 10 per second everywhere
//! schedules:
//!   - {name: nightly, cron: "0 3 * * *", timezone: Europe/Paris, target: report, input: {}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use serde_json::value::RawValue;

use crate::document::{count, duration, fields, required, text_of, Place};
use crate::queue::{Schedule, WorkOptions};
use crate::store::{StoreOptions, Synchronous};
use crate::{EngineOptions, Error, Result, DEFAULT_DATABASE};

/// The file [`Config::load`] reads from the working directory when no path is given.
pub const DEFAULT_FILE: &str = "cogwork.yml";

/// Everything `cogwork.yml` and the environment can set. A setting left out is `None` (or
/// empty), so whoever applies the configuration keeps its own default.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file the settings came from, if any.
    pub file: Option<PathBuf>,
    pub database: Option<String>,
    /// Task sources; relative paths in the file are taken from the file's directory.
    pub tasks: Vec<PathBuf>,
    pub workers: Option<usize>,
    /// Wall-clock limit of one execution.
    pub timeout: Option<Duration>,
    /// How long a claimed job is held without a heartbeat.
    pub lease: Option<Duration>,
    /// How long finished jobs are kept before they may be purged.
    pub retention: Option<Duration>,
    /// SQLite: what a commit waits for (`normal` unless set).
    pub synchronous: Option<Synchronous>,
    pub fetch_allow: Vec<String>,
    pub queues: BTreeMap<String, QueueConfig>,
    /// Checked when read: their expressions and time zones parse.
    pub schedules: Vec<Schedule>,
}

/// The settings of one queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueConfig {
    /// Jobs of this queue one process runs at once.
    pub concurrency: Option<usize>,
    /// Jobs per second across all processes.
    pub rate_limit: Option<f64>,
}

const TOP_LEVEL: &[&str] =
    &["database", "synchronous", "tasks", "workers", "timeout", "lease", "retention", "fetch_allow", "queues", "schedules"];
const QUEUE: &[&str] = &["concurrency", "rate_limit"];
const SCHEDULE: &[&str] = &["name", "cron", "timezone", "target", "input", "queue", "priority", "max_attempts", "missed"];

impl Config {
    /// Reads `path`, which must exist, or else `./cogwork.yml` if there is one, then applies
    /// the `COGWORK_*` environment variables on top.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let file = match path {
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|default| default.exists()),
        };
        let mut config = match file {
            Some(file) => Config::parse(&read(&file)?, &file)?,
            None => Config::default(),
        };
        config.override_from(std::env::vars())?;
        Ok(config)
    }

    /// The settings in `text`, the YAML of `file`.
    fn parse(text: &str, file: &Path) -> Result<Config> {
        let origin = file.display().to_string();
        let document: Value = serde_norway::from_str(text)
            .map_err(|error| Error::Configuration(format!("{origin} is not valid YAML: {error}")))?;
        let mut config = Config { file: Some(file.to_path_buf()), ..Config::default() };
        if document.is_null() {
            return Ok(config); // an empty file
        }
        let root = Place::new(&origin, "", refusal);
        let base = file.parent().unwrap_or(Path::new(""));
        for (name, value) in fields(&document, &root, TOP_LEVEL)? {
            let key = root.child(name);
            match name.as_str() {
                "database" => config.database = Some(text_of(value, &key)?),
                "synchronous" => config.synchronous = Some(synchronous(value, &key)?),
                "tasks" => config.tasks = texts(value, &key)?.into_iter().map(|source| base.join(source)).collect(),
                "workers" => config.workers = Some(count(value, &key)?),
                "timeout" => config.timeout = Some(duration(value, &key)?),
                "lease" => config.lease = Some(duration(value, &key)?),
                "retention" => config.retention = Some(duration(value, &key)?),
                "fetch_allow" => config.fetch_allow = texts(value, &key)?,
                "queues" => config.queues = queues(value, &key)?,
                "schedules" => config.schedules = schedules(value, &key)?,
                _ => unreachable!("fields() admits only the known keys"),
            }
        }
        Ok(config)
    }

    /// Applies the `COGWORK_*` variables among `vars`; others, and `COGWORK_*` names that
    /// are not settings (the build's own, say), are ignored.
    fn override_from(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<()> {
        for (name, text) in vars {
            let key = Place::new("the environment", name.clone(), refusal);
            // A number in the environment is a number, as it would be in the file.
            let scalar = || serde_norway::from_str::<Value>(&text).unwrap_or_else(|_| Value::String(text.clone()));
            match name.as_str() {
                "COGWORK_DATABASE" => self.database = Some(text.clone()),
                "COGWORK_SYNCHRONOUS" => self.synchronous = Some(synchronous(&scalar(), &key)?),
                "COGWORK_TASKS" => self.tasks = list(&text).map(PathBuf::from).collect(),
                "COGWORK_WORKERS" => self.workers = Some(count(&scalar(), &key)?),
                "COGWORK_TIMEOUT" => self.timeout = Some(duration(&scalar(), &key)?),
                "COGWORK_LEASE" => self.lease = Some(duration(&scalar(), &key)?),
                "COGWORK_RETENTION" => self.retention = Some(duration(&scalar(), &key)?),
                "COGWORK_FETCH_ALLOW" => self.fetch_allow = list(&text).map(String::from).collect(),
                _ => {}
            }
        }
        Ok(())
    }

    /// The database to use: the configured one, else [`DEFAULT_DATABASE`].
    pub fn database(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_DATABASE)
    }

    /// How the store opens the configured database.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions::default().synchronous(self.synchronous.unwrap_or_default())
    }

    /// Engine options with every setting this configuration makes, over the defaults.
    pub fn engine_options(&self) -> EngineOptions {
        let mut options = EngineOptions::default()
            .database(self.database())
            .store_options(self.store_options())
            .tasks(self.tasks.clone())
            .fetch_allow(self.fetch_allow.clone());
        if let Some(lease) = self.lease {
            options = options.lease(lease);
        }
        if let Some(workers) = self.workers {
            options = options.workers(workers);
        }
        if let Some(timeout) = self.timeout {
            options = options.timeout(timeout);
        }
        options
    }

    /// Work options taking jobs from the `default` queue and every configured queue.
    pub fn work_options(&self) -> WorkOptions {
        let mut queues = vec!["default".to_owned()];
        queues.extend(self.queues.keys().filter(|queue| *queue != "default").cloned());
        let queue_concurrency =
            self.queues.iter().filter_map(|(queue, limits)| Some((queue.clone(), limits.concurrency?))).collect();
        WorkOptions { queues, queue_concurrency, ..WorkOptions::default() }
    }
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|error| Error::Configuration(format!("cannot read the configuration file {}: {error}", file.display())))
}

/// A list in one environment variable, separated by `:` or `,`.
fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split([':', ',']).map(str::trim).filter(|item| !item.is_empty())
}

/// A refusal in the configuration: a configuration error naming the file (or the
/// environment).
fn refusal(origin: &str, _step: Option<&str>, message: String) -> Error {
    Error::Configuration(format!("{origin}: {message}"))
}

/// A list of strings; a single string is a list of one.
fn texts(value: &Value, key: &Place) -> Result<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().enumerate().map(|(index, item)| text_of(item, &key.item(index))).collect(),
        _ => text_of(value, key).map(|text| vec![text]),
    }
}

/// `normal`, `full` or `off`.
fn synchronous(value: &Value, key: &Place) -> Result<Synchronous> {
    let text = value.as_str().ok_or_else(|| key.refuse("normal, full or off", value))?;
    text.parse().map_err(|_| key.refuse("normal, full or off", value))
}

/// What [`parse_duration`] accepts, for messages.
pub const DURATION_FORMS: &str = "a positive duration: seconds, or a number with a unit (250ms, 30s, 5m, 2h, 7d)";

/// A positive duration written as seconds (`30`, `0.5`) or as a number with a unit (`250ms`,
/// `30s`, `1.5m`, `2h`, `7d`), as the configuration file and the CLI take them.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    text.parse::<f64>().ok().or_else(|| seconds_with_unit(text)).and_then(positive_seconds)
}

fn seconds_with_unit(text: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 5] = [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0)];
    let (number, scale) = UNITS.iter().find_map(|(unit, scale)| text.strip_suffix(unit).map(|number| (number, *scale)))?;
    number.trim().parse::<f64>().ok().map(|number| number * scale)
}

fn positive_seconds(seconds: f64) -> Option<Duration> {
    Some(seconds).filter(|seconds| seconds.is_finite() && *seconds > 0.0).and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
}

fn queues(value: &Value, key: &Place) -> Result<BTreeMap<String, QueueConfig>> {
    let map = value.as_object().ok_or_else(|| key.refuse("a mapping of queue names to settings", value))?;
    map.iter()
        .map(|(name, settings)| {
            let key = key.child(name);
            let mut queue = QueueConfig::default();
            for (setting, value) in fields(settings, &key, QUEUE)? {
                let key = key.child(setting);
                match setting.as_str() {
                    "concurrency" => queue.concurrency = Some(count(value, &key)?),
                    "rate_limit" => queue.rate_limit = Some(rate(value, &key)?),
                    _ => unreachable!("fields() admits only the known keys"),
                }
            }
            Ok((name.clone(), queue))
        })
        .collect()
}

/// Jobs per second: a positive number.
fn rate(value: &Value, key: &Place) -> Result<f64> {
    value.as_f64().filter(|rate| rate.is_finite() && *rate > 0.0).ok_or_else(|| key.refuse("a positive number of jobs per second", value))
}

fn schedules(value: &Value, key: &Place) -> Result<Vec<Schedule>> {
    let items = value.as_array().ok_or_else(|| key.refuse("a list of schedules", value))?;
    items.iter().enumerate().map(|(index, item)| schedule(item, &key.item(index))).collect()
}

fn schedule(value: &Value, key: &Place) -> Result<Schedule> {
    let map = fields(value, key, SCHEDULE)?;
    let text = |name: &str| text_of(required(map, name, key)?, &key.child(name));
    let input = map.get("input").map_or_else(|| "{}".to_owned(), Value::to_string);
    let mut schedule = Schedule::new(text("name")?, text("cron")?, text("target")?, RawValue::from_string(input).expect("JSON text of a value"));
    for (name, value) in map {
        let key = key.child(name);
        match name.as_str() {
            "timezone" => schedule.timezone = text_of(value, &key)?,
            "queue" => schedule.queue = text_of(value, &key)?,
            "priority" => schedule.priority = value.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| key.refuse("a whole number", value))?,
            "max_attempts" => schedule.max_attempts = i32::try_from(count(value, &key)?).map_err(|_| key.refuse("a whole number of at least 1", value))?,
            "missed" => schedule.missed = value.as_str().and_then(|name| name.parse().ok()).ok_or_else(|| key.refuse("skip, run_once or run_all", value))?,
            _ => {} // name, cron, target and input, read above
        }
    }
    // A bad expression or time zone is refused now, not at the first tick.
    schedule.timetable().map_err(|error| match error {
        Error::Configuration(message) => key.fail(format_args!("is refused: {message}")),
        other => other,
    })?;
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::MissedTicks;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/srv/app/cogwork.yml"))
    }

    fn refusal(text: &str) -> String {
        parse(text).expect_err("refused").to_string()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    #[test]
    fn every_setting_is_read_from_the_file() {
        let config = parse(
            "database: postgres://app@db/jobs\nsynchronous: full\ntasks: [tasks, /opt/shared]\nworkers: 4\ntimeout: 5m\nlease: 20\n\
             retention: 7d\nfetch_allow: api.example.com\nqueues:\n  mail: {concurrency: 5, rate_limit: 2.5}\n  bulk: {}\n\
             schedules:\n  - {name: nightly, cron: '0 3 * * *', timezone: Europe/Paris, target: report, input: {n: 1}, missed: run_once}\n  - {name: tick, cron: '* * * * *', target: ping}\n",
        )
        .unwrap();
        assert_eq!(config.database(), "postgres://app@db/jobs");
        assert_eq!(config.synchronous, Some(Synchronous::Full));
        assert_eq!(config.work_options().queue_concurrency, [("mail".to_owned(), 5)].into());
        assert_eq!(config.tasks, [PathBuf::from("/srv/app/tasks"), PathBuf::from("/opt/shared")]);
        assert_eq!(config.workers, Some(4));
        assert_eq!(config.timeout, Some(Duration::from_secs(300)));
        assert_eq!(config.lease, Some(Duration::from_secs(20)));
        assert_eq!(config.retention, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(config.fetch_allow, ["api.example.com"]);
        assert_eq!(config.queues["mail"], QueueConfig { concurrency: Some(5), rate_limit: Some(2.5) });
        assert_eq!(config.queues["bulk"], QueueConfig::default());
        assert_eq!(config.work_options().queues, ["default", "bulk", "mail"]);
        let nightly = &config.schedules[0];
        assert_eq!((nightly.name.as_str(), nightly.cron.as_str(), nightly.target.as_str()), ("nightly", "0 3 * * *", "report"));
        assert_eq!((nightly.timezone.as_str(), nightly.input.get(), nightly.missed), ("Europe/Paris", r#"{"n":1}"#, MissedTicks::RunOnce));
        let defaults = &config.schedules[1];
        assert_eq!((defaults.timezone.as_str(), defaults.queue.as_str(), defaults.missed), ("UTC", "default", MissedTicks::Skip));
        assert_eq!(defaults.input.get(), "{}");
    }

    #[test]
    fn an_empty_file_sets_nothing_and_the_database_defaults_to_sqlite() {
        let config = parse("").unwrap();
        assert_eq!(config.file, Some(PathBuf::from("/srv/app/cogwork.yml")));
        assert!(config.database.is_none() && config.workers.is_none() && config.timeout.is_none() && config.tasks.is_empty());
        assert!(config.queues.is_empty() && config.schedules.is_empty());
        assert_eq!(config.database(), DEFAULT_DATABASE);
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        let key = Place::new("test", "timeout", super::refusal);
        let cases = [("250ms", 0.25), ("30s", 30.0), ("1.5m", 90.0), ("2h", 7200.0), ("7d", 604_800.0), (" 10 s ", 10.0)];
        for (text, seconds) in cases {
            assert_eq!(duration(&Value::String(text.into()), &key).unwrap(), Duration::from_secs_f64(seconds), "{text}");
        }
        assert_eq!(duration(&serde_json::json!(0.5), &key).unwrap(), Duration::from_millis(500));
        for bad in [serde_json::json!("soon"), serde_json::json!("5 weeks"), serde_json::json!(0), serde_json::json!(-3), serde_json::json!("1e400s"), serde_json::json!(true)] {
            assert!(duration(&bad, &key).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unknown_key_is_named_with_its_path_and_the_known_keys() {
        let message = refusal("queues:\n  mail:\n    rate: 5\n");
        assert!(message.contains("/srv/app/cogwork.yml: `queues.mail.rate` is not a known key; the keys here are concurrency, rate_limit"), "{message}");
        let message = refusal("worker: 2\n");
        assert!(message.contains("`worker` is not a known key") && message.contains("workers"), "{message}");
        let message = refusal("schedules:\n  - {name: a, cron: '* * * * *', target: t, every: 5}\n");
        assert!(message.contains("`schedules[0].every` is not a known key"), "{message}");
    }

    #[test]
    fn a_bad_value_is_named_with_its_path_and_what_is_expected() {
        let message = refusal("queues:\n  mail: {rate_limit: fast}\n");
        assert!(message.contains("/srv/app/cogwork.yml: `queues.mail.rate_limit` must be a positive number of jobs per second, not \"fast\""), "{message}");
        assert!(refusal("workers: 0\n").contains("`workers` must be a whole number of at least 1, not 0"));
        assert!(refusal("timeout: forever\n").contains("`timeout` must be a positive duration"));
        assert!(refusal("tasks: [a, 3]\n").contains("`tasks[1]` must be a string, not 3"));
        assert!(refusal("schedules:\n  - {name: a, target: t}\n").contains("`schedules[0]` needs a `cron`"));
        assert!(refusal("schedules:\n  - {name: a, cron: '* * * * *', target: t, missed: sometimes}\n").contains("`schedules[0].missed` must be skip, run_once or run_all"));
        let message = refusal("schedules:\n  - {name: a, cron: '* * * * *', target: t}\n  - {name: nightly, cron: '0 25 * * *', target: t}\n");
        assert!(message.contains("/srv/app/cogwork.yml: `schedules[1]` is refused: ") && message.contains("nightly") && message.contains("25"), "{message}");
        assert!(refusal("- just\n- a list\n").contains("the document must be a mapping"));
        assert!(refusal("workers: [\n").contains("/srv/app/cogwork.yml is not valid YAML"));
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let mut config = parse("database: sqlite://file.db\nworkers: 2\ntasks: [tasks]\n").unwrap();
        let vars = env(&[
            ("COGWORK_DATABASE", "postgres://db/jobs"),
            ("COGWORK_WORKERS", "8"),
            ("COGWORK_TIMEOUT", "45s"),
            ("COGWORK_LEASE", "12"),
            ("COGWORK_TASKS", "/a:/b,/c"),
            ("COGWORK_FETCH_ALLOW", "api.example.com,*.example.org"),
            ("COGWORK_PROFILE", "release"), // the build's own variable: not a setting
            ("PATH", "/usr/bin"),
        ]);
        config.override_from(vars).unwrap();
        assert_eq!(config.database(), "postgres://db/jobs");
        assert_eq!(config.workers, Some(8));
        assert_eq!(config.timeout, Some(Duration::from_secs(45)));
        assert_eq!(config.lease, Some(Duration::from_secs(12)));
        assert_eq!(config.tasks, [PathBuf::from("/a"), PathBuf::from("/b"), PathBuf::from("/c")]);
        assert_eq!(config.fetch_allow, ["api.example.com", "*.example.org"]);
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let message = Config::default().override_from(env(&[("COGWORK_WORKERS", "many")])).unwrap_err().to_string();
        assert!(message.contains("the environment: `COGWORK_WORKERS` must be a whole number of at least 1, not \"many\""), "{message}");
    }

    #[test]
    fn an_explicit_file_must_exist() {
        let message = Config::load(Some(Path::new("/nonexistent/cogwork.yml"))).unwrap_err().to_string();
        assert!(message.contains("cannot read the configuration file /nonexistent/cogwork.yml"), "{message}");
    }
}
