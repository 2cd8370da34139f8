//! Schedules: named cron entries that enqueue a job at each tick, and the arithmetic of
//! ticks — which times an expression names in its time zone, and which of the ticks that
//! fell while nothing was running are still enqueued (the [`MissedTicks`] policy).
//!
//! Expressions have 5 fields (minute hour day-of-month month day-of-week) or 6 (a leading
//! second), and are evaluated by `croner` in an IANA time zone from `chrono-tz`, so a
//! "09:00 Europe/Paris" schedule fires at 09:00 local time on both sides of a DST change.
//! A bad expression is refused when the schedule is added, with the field that failed.
//!
//! Ticks fall on whole seconds; times here are microseconds since the epoch, like the
//! store's.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde_json::value::RawValue;

use crate::store::NewJob;
use crate::{Error, Result};

/// A named cron entry: at each tick it enqueues `target` with `input`.
/// [`Schedule::new`] fills in the defaults; change fields as needed.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Unique: adding a schedule with a taken name replaces that schedule.
    pub name: String,
    /// 5 fields (minute hour day-of-month month day-of-week) or 6 (a leading second).
    pub cron: String,
    /// The IANA time zone the expression is read in (`UTC` by default).
    pub timezone: String,
    pub target: String,
    /// The input of every job, stored exactly as given.
    pub input: Box<RawValue>,
    pub queue: String,
    pub priority: i32,
    pub max_attempts: i32,
    pub missed: MissedTicks,
    /// A disabled schedule enqueues nothing; enabling it again starts from its next tick.
    pub enabled: bool,
}

/// What happens to ticks that fell while no scheduler ran (every node down, or the
/// schedule's scheduler stuck for longer than a tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTicks {
    /// Missed ticks are dropped; only a tick at most [`SKIP_GRACE`] late is enqueued, so a
    /// scheduler that wakes a little late loses nothing. The default, because it is what
    /// Sidekiq-cron (its `reschedule_grace_period`), Solid Queue and GoodJob do: a periodic
    /// job is usually a sweep whose next run covers what a missed one would have done.
    #[default]
    Skip,
    /// However many ticks were missed, one job is enqueued, for the latest of them.
    RunOnce,
    /// Every missed tick gets a job, oldest first, up to the latest [`MISSED_TICKS_CAP`]:
    /// for jobs that each own one period (a daily report for each day).
    RunAll,
}

/// How late a tick may be enqueued under [`MissedTicks::Skip`] (Sidekiq-cron's default).
pub const SKIP_GRACE: Duration = Duration::from_secs(60);

/// The most jobs [`MissedTicks::RunAll`] enqueues for one schedule after an outage: the
/// latest 1,000 ticks. That covers six weeks of an hourly schedule or 16 hours of a
/// per-minute one, while a week-long outage of a per-second schedule still enqueues 1,000
/// jobs, not 604,800.
pub const MISSED_TICKS_CAP: usize = 1_000;

impl MissedTicks {
    pub const ALL: [MissedTicks; 3] = [MissedTicks::Skip, MissedTicks::RunOnce, MissedTicks::RunAll];

    pub fn as_str(self) -> &'static str {
        match self {
            MissedTicks::Skip => "skip",
            MissedTicks::RunOnce => "run_once",
            MissedTicks::RunAll => "run_all",
        }
    }
}

impl FromStr for MissedTicks {
    type Err = Error;

    /// `skip`, `run_once` or `run_all`, as [`MissedTicks::as_str`] spells them.
    fn from_str(text: &str) -> Result<Self> {
        MissedTicks::ALL.into_iter().find(|policy| policy.as_str() == text).ok_or_else(|| {
            Error::Configuration(format!("unknown missed-tick policy `{text}`: use skip, run_once or run_all"))
        })
    }
}

impl Schedule {
    /// An enabled schedule in UTC that skips missed ticks, whose jobs have the defaults of
    /// [`NewJob::new`] (queue `default`, priority 0, 3 attempts).
    pub fn new(name: impl Into<String>, cron: impl Into<String>, target: impl Into<String>, input: Box<RawValue>) -> Self {
        let job = NewJob::new(target, input);
        Schedule {
            name: name.into(),
            cron: cron.into(),
            timezone: "UTC".into(),
            target: job.target,
            input: job.input,
            queue: job.queue,
            priority: job.priority,
            max_attempts: job.max_attempts,
            missed: MissedTicks::default(),
            enabled: true,
        }
    }

    /// The schedule's expression, parsed in its time zone; a clear error if either is bad.
    pub fn timetable(&self) -> Result<Timetable> {
        Timetable::new(&self.name, &self.cron, &self.timezone)
    }

    /// The job of the tick at `at`: its `run_at` is the tick, so jobs of missed ticks run
    /// oldest first, and its unique key names the schedule and the tick
    /// (`schedule:nightly@2027-01-15T02:00:00Z`), so an operator sees where a job came from
    /// and a tick enqueued again while its job is unfinished adds nothing.
    pub(crate) fn job(&self, at: i64) -> NewJob {
        let tick = DateTime::<Utc>::from_timestamp_micros(at)
            .map_or_else(|| at.to_string(), |tick| tick.to_rfc3339_opts(SecondsFormat::Secs, true));
        NewJob {
            queue: self.queue.clone(),
            priority: self.priority,
            run_at: Some(at),
            max_attempts: self.max_attempts,
            unique_key: Some(format!("schedule:{}@{tick}", self.name)),
            ..NewJob::new(self.target.clone(), self.input.clone())
        }
    }
}

/// A schedule as stored: its definition and where its ticks stand.
#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub schedule: Schedule,
    /// The earliest tick not yet handled (enqueued or skipped).
    pub next_tick: i64,
    /// The latest tick that was enqueued.
    pub last_tick: Option<i64>,
    pub created_at: i64,
    /// When the definition last changed.
    pub updated_at: i64,
}

/// A job enqueued for one tick of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub schedule: String,
    /// The tick's time, which is also the job's `run_at`.
    pub at: i64,
    pub job_id: i64,
    /// The job's target and queue, as the schedule set them.
    pub target: String,
    pub queue: String,
}

/// A parsed cron expression in its time zone: computes ticks.
#[derive(Debug, Clone)]
pub struct Timetable {
    cron: Cron,
    zone: Tz,
    /// `schedule `name`: cron `expr``, the start of every message about it.
    label: String,
}

/// Accepts 5 or 6 fields: no year field (a croner extension other cron implementations
/// reject), `?` and `L`/`W`/`#` as croner reads them.
static PARSER: LazyLock<CronParser> =
    LazyLock::new(|| CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build());

/// The name and range of each field of a 6-field expression; a 5-field one lacks the first.
const FIELDS: [(&str, u32, u32); 6] = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

impl Timetable {
    /// Parses `cron` in `timezone`. The error names the schedule, the expression, and the
    /// field that failed with its position (from 1). An expression that parses but names
    /// no date that exists (`0 0 30 2 *`) is refused by [`Timetable::next_after`].
    pub fn new(schedule: &str, cron: &str, timezone: &str) -> Result<Timetable> {
        let label = format!("schedule `{schedule}`: cron `{cron}`");
        let zone = Tz::from_str(timezone).map_err(|_| {
            Error::Configuration(format!(
                "schedule `{schedule}`: time zone `{timezone}` is not an IANA time zone name such as `UTC` or `Europe/Paris`"
            ))
        })?;
        let cron = parse(cron).map_err(|reason| Error::Configuration(format!("{label}: {reason}")))?;
        Ok(Timetable { cron, zone, label })
    }

    /// The first tick strictly after `micros`.
    pub fn next_after(&self, micros: i64) -> Result<i64> {
        let found = self.cron.find_next_occurrence(&self.local(micros)?, false);
        found.map(|tick| tick.timestamp_micros()).map_err(|error| self.no_tick("after", micros, error))
    }

    /// The latest tick at or before `micros`.
    fn latest_at(&self, micros: i64) -> Result<i64> {
        let found = self.cron.find_previous_occurrence(&self.local(micros)?, true);
        found.map(|tick| tick.timestamp_micros()).map_err(|error| self.no_tick("at or before", micros, error))
    }

    /// The ticks to enqueue, oldest first, when the ticks from `next_tick` to `now` are due.
    pub(crate) fn due(&self, missed: MissedTicks, next_tick: i64, now: i64) -> Result<Vec<i64>> {
        let latest = self.latest_at(now)?;
        if latest < next_tick {
            return Ok(Vec::new());
        }
        Ok(match missed {
            MissedTicks::Skip if now - latest <= SKIP_GRACE.as_micros() as i64 => vec![latest],
            MissedTicks::Skip => Vec::new(),
            MissedTicks::RunOnce => vec![latest],
            MissedTicks::RunAll => self.latest_ticks(latest, next_tick)?,
        })
    }

    /// Up to [`MISSED_TICKS_CAP`] ticks from `next_tick` to `latest`, walked back from
    /// `latest` so an outage of any length costs at most the cap.
    fn latest_ticks(&self, latest: i64, next_tick: i64) -> Result<Vec<i64>> {
        let mut ticks = vec![latest];
        while ticks.len() < MISSED_TICKS_CAP {
            let previous = self.latest_at(ticks[ticks.len() - 1] - 1)?;
            if previous < next_tick {
                break;
            }
            ticks.push(previous);
        }
        ticks.reverse();
        Ok(ticks)
    }

    fn local(&self, micros: i64) -> Result<DateTime<Tz>> {
        let utc = DateTime::<Utc>::from_timestamp_micros(micros)
            .ok_or_else(|| Error::Configuration(format!("{}: {micros} µs since the epoch is not a representable time", self.label)))?;
        Ok(utc.with_timezone(&self.zone))
    }

    fn no_tick(&self, which: &str, micros: i64, error: CronError) -> Error {
        let time = DateTime::<Utc>::from_timestamp_micros(micros).map_or_else(|| micros.to_string(), |time| time.to_rfc3339());
        let label = &self.label;
        let reason = reason(&error);
        Error::Configuration(format!("{label}: no tick {which} {time} ({reason}); does the expression name a date that exists?"))
    }
}

/// Parses a 5- or 6-field expression or a nickname; the reason it fails names the field.
fn parse(cron: &str) -> std::result::Result<Cron, String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if let [nickname] = fields[..] {
        if nickname.starts_with('@') {
            return PARSER.parse(cron).map_err(|_| {
                format!("unknown nickname `{nickname}`: use @yearly, @annually, @monthly, @weekly, @daily or @hourly")
            });
        }
    }
    if !(5..=6).contains(&fields.len()) {
        return Err(format!(
            "has {} fields; write 5 (minute hour day-of-month month day-of-week) or 6 (second first)",
            fields.len()
        ));
    }
    PARSER.parse(cron).map_err(|error| blame(&fields, error))
}

/// Which field made croner refuse the expression: each field is parsed alone (the others
/// `*`), and the first that fails is named; croner's own message says what is wrong in it.
fn blame(fields: &[&str], error: CronError) -> String {
    let described = &FIELDS[FIELDS.len() - fields.len().min(FIELDS.len())..];
    for (index, (&field, &(name, low, high))) in fields.iter().zip(described).enumerate() {
        let mut probe = vec!["*"; fields.len()];
        probe[index] = field;
        let Err(alone) = PARSER.parse(&probe.join(" ")) else { continue };
        let position = index + 1;
        let what = match (out_of_range(field, low, high), alone) {
            (Some(value), _) => return format!("{name} {value} out of range {low}–{high} (field {position})"),
            (None, CronError::IllegalCharacters(_)) => "has a character that is not a digit, `*`, `,`, `-`, `/`, or a name".to_owned(),
            (None, alone) => reason(&alone),
        };
        return format!("{name} `{field}`: {what} (field {position})");
    }
    reason(&error)
}

/// The first number in a field (not a step after `/`, nor an nth after `#`) outside
/// `low..=high`.
fn out_of_range(field: &str, low: u32, high: u32) -> Option<u32> {
    field
        .split(',')
        .flat_map(|part| part.split(['/', '#']).next().unwrap_or_default().split('-'))
        .filter_map(|value| value.parse::<u32>().ok())
        .find(|value| !(low..=high).contains(value))
}

/// croner's message as a clause: no prefix, no capital, no final period.
fn reason(error: &CronError) -> String {
    let text = match error {
        CronError::InvalidPattern(text) | CronError::IllegalCharacters(text) | CronError::ComponentError(text) => text.clone(),
        CronError::TimeSearchLimitExceeded => "none within the search limit".to_owned(),
        other => other.to_string(),
    };
    let mut chars = text.trim_end_matches('.').chars();
    chars.next().map_or_else(String::new, |first| first.to_lowercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(cron: &str) -> String {
        Timetable::new("nightly", cron, "UTC").unwrap_err().to_string()
    }

    #[test]
    fn a_bad_field_is_named_with_its_position() {
        assert_eq!(message("0 25 * * *"), "configuration error: schedule `nightly`: cron `0 25 * * *`: hour 25 out of range 0–23 (field 2)");
        assert!(message("61 * * * * *").ends_with(": second 61 out of range 0–59 (field 1)"));
        assert!(message("* * * 13 *").ends_with(": month 13 out of range 1–12 (field 4)"));
        assert!(message("* * * * 1-9").ends_with(": day of week 9 out of range 0–7 (field 5)"));
        assert!(message("*/0 * * * *").ends_with(": minute `*/0`: step cannot be zero (field 1)"));
        assert!(message("0 * x * * *").ends_with(": hour `x`: has a character that is not a digit, `*`, `,`, `-`, `/`, or a name (field 3)"));
        assert!(message("* * * * MON#6").ends_with(": day of week `MON#6`: nth specifier out of bounds (field 5)"));
    }

    #[test]
    fn a_wrong_number_of_fields_or_an_unknown_nickname_is_refused_with_the_forms_that_work() {
        assert!(message("* * * *").ends_with(": has 4 fields; write 5 (minute hour day-of-month month day-of-week) or 6 (second first)"));
        assert!(message("0 0 0 * * * 2030").contains(": has 7 fields;"));
        assert!(message("@dayly").ends_with(": unknown nickname `@dayly`: use @yearly, @annually, @monthly, @weekly, @daily or @hourly"));
        assert_eq!(Timetable::new("nightly", "@daily", "UTC").unwrap().next_after(0).unwrap(), 86_400_000_000);
    }

    #[test]
    fn an_unknown_time_zone_is_refused() {
        let error = Timetable::new("nightly", "0 9 * * *", "Europe/Pariss").unwrap_err().to_string();
        assert!(error.ends_with("schedule `nightly`: time zone `Europe/Pariss` is not an IANA time zone name such as `UTC` or `Europe/Paris`"));
    }

    #[test]
    fn an_expression_naming_no_real_date_has_no_next_tick() {
        let error = Timetable::new("nightly", "0 0 30 2 *", "UTC").unwrap().next_after(0).unwrap_err().to_string();
        assert!(error.ends_with(": no tick after 1970-01-01T00:00:00+00:00 (none within the search limit); does the expression name a date that exists?"));
    }

    /// Catching up walks back from now; running live walks forward from each tick. Both
    /// must name the same ticks, also where a DST change skips or repeats an hour.
    #[test]
    fn a_catch_up_enqueues_the_ticks_live_ticking_would_have_across_dst_changes() {
        use chrono::TimeZone;
        let day = |month, day| Utc.with_ymd_and_hms(2027, month, day, 12, 0, 0).unwrap().timestamp_micros();
        for cron in ["30 2 * * *", "0 30 * * * *", "*/20 1-3 * * *"] {
            let timetable = Timetable::new("dst", cron, "Europe/Paris").unwrap();
            for (from, to) in [(day(3, 26), day(3, 30)), (day(10, 29), day(11, 2))] {
                let mut live = vec![timetable.next_after(from).unwrap()];
                while let Ok(tick) = timetable.next_after(live[live.len() - 1]) {
                    if tick > to {
                        break;
                    }
                    live.push(tick);
                }
                assert_eq!(timetable.due(MissedTicks::RunAll, live[0], to).unwrap(), live, "{cron} from {from}");
            }
        }
    }

    #[test]
    fn missed_tick_policies_read_back_from_their_names() {
        for policy in MissedTicks::ALL {
            assert_eq!(policy.as_str().parse::<MissedTicks>().unwrap(), policy);
        }
        assert!("sometimes".parse::<MissedTicks>().unwrap_err().to_string().contains("use skip, run_once or run_all"));
    }
}
