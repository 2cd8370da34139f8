//! What the workflow commands print: a run's `--json` shape (documented in the README, kept
//! stable), a run or a template drawn as a tree of its steps, and Graphviz for either.
//!
//! A DAG is not a tree: a step with several parents is drawn in full under its first parent
//! and named under each other parent with a pointer to it, so every step appears once with
//! its details and every edge is still visible.

use std::time::SystemTime;

use crate::store::{StepRecord, Transition};
use crate::workflow::Target;
use crate::{RunRecord, RunState, StepState, Template};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::output::{optional_time, table, time, when};

/// A run in the shape `status --json` prints: its steps, and every transition.
pub fn run(record: &RunRecord) -> Value {
    let mut run = listed_run(record);
    run["transitions"] = record.transitions.iter().map(transition).collect();
    run
}

/// A run without its transitions, as `list --runs --json` prints each.
pub fn listed_run(record: &RunRecord) -> Value {
    json!({
        "id": record.id,
        "workflow": record.workflow,
        "version": record.version,
        "state": record.state.as_str(),
        "reason": record.reason,
        "progress": record.progress(),
        "context": record.context,
        "idempotency_key": record.idempotency_key,
        "created_at": time(record.created_at),
        "updated_at": time(record.updated_at),
        "finished_at": optional_time(record.finished_at),
        "steps": record.steps.iter().map(step).collect::<Vec<_>>(),
    })
}

fn step(record: &StepRecord) -> Value {
    let (kind, target) = target(&record.target);
    let duration_ms = record.started_at.zip(record.finished_at).map(|(start, end)| (end - start) as f64 / 1e3);
    json!({
        "name": record.name,
        "kind": kind,
        "target": target,
        "depends_on": record.depends_on,
        "state": record.state.as_str(),
        "reason": record.reason,
        "job_id": record.job_id,
        "attempts": record.attempts,
        "result": record.result,
        "error": record.error,
        "started_at": optional_time(record.started_at),
        "finished_at": optional_time(record.finished_at),
        "duration_ms": duration_ms,
    })
}

fn transition(record: &Transition) -> Value {
    json!({"step": record.step, "from": record.from, "to": record.to, "at": time(record.at), "reason": record.reason, "attempt": record.attempt})
}

/// `task` or `handler`, and its name.
fn target(target: &Target) -> (&'static str, &str) {
    match target {
        Target::Task(task) => ("task", task),
        Target::Handler(handler) => ("handler", handler),
    }
}

/// A run for people: a line for the run, its steps as a tree (state, duration, attempts),
/// then the error of each failed step.
pub fn run_tree(record: &RunRecord) -> String {
    let completed = record.steps.iter().filter(|step| step.state == StepState::Completed).count();
    let reason = record.reason.as_deref().map_or_else(String::new, |reason| format!(" ({reason})"));
    let mut lines = vec![format!(
        "workflow run {} of {}@{}: {}{reason}, {:.0}% done ({completed} of {} steps)",
        record.id,
        record.workflow,
        record.version,
        record.state.as_str(),
        record.progress(),
        record.steps.len()
    )];
    let dag = Dag { names: record.steps.iter().map(|step| step.name.as_str()).collect(), parents: record.steps.iter().map(|step| step.depends_on.as_slice()).collect() };
    lines.push(dag.draw(&["STEP", "STATE", "DURATION", "ATTEMPTS"], |position| {
        let step = &record.steps[position];
        vec![step.state.as_str().to_owned(), step_duration(step), step.attempts.to_string()]
    }));
    lines.extend(record.steps.iter().filter(|step| step.state == StepState::Failed).map(|step| format!("step `{}` failed: {}", step.name, failure(step))));
    lines.join("\n")
}

/// A template for people: its id and description, then its steps as a tree with their targets.
pub fn template_tree(template: &Template) -> String {
    let mut lines = vec![template.id()];
    lines.extend(template.description.clone());
    let dag = Dag { names: template.steps.iter().map(|step| step.name.as_str()).collect(), parents: template.steps.iter().map(|step| step.depends_on.as_slice()).collect() };
    lines.push(dag.draw(&["STEP", "TARGET"], |position| {
        let (kind, name) = target(&template.steps[position].target);
        vec![format!("{kind} {name}")]
    }));
    lines.join("\n")
}

/// Why a failed step failed: `TypeError: x is undefined (attempt 3)`.
pub fn failure(step: &StepRecord) -> String {
    let error = step.error.as_deref().map_or_else(|| step.reason.clone().unwrap_or_default(), error_text);
    format!("{error} (attempt {})", step.attempts)
}

/// A stored error (`{"kind": "js", "name", "message"}`, `{"kind": "host", "class", "message"}`,
/// `{"kind": "engine", "name", "message"}`) as `Name: message`; anything else as its JSON.
fn error_text(error: &RawValue) -> String {
    let value: Value = serde_json::from_str(error.get()).unwrap_or(Value::Null);
    let name = value.get("name").or_else(|| value.get("class")).and_then(Value::as_str);
    match (name, value.get("message").and_then(Value::as_str)) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => error.get().to_owned(),
    }
}

/// How long a step ran: from its start to its end, or until now while it runs.
fn step_duration(step: &StepRecord) -> String {
    let Some(started) = step.started_at else { return "-".to_owned() };
    match step.finished_at {
        Some(finished) => micros_text(finished - started),
        None => format!("{} so far", micros_text(now_micros() - started)),
    }
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_micros() as i64)
}

/// A duration to a sensible precision: `850µs`, `12.3ms`, `4.56s`, `3m07s`.
fn micros_text(micros: i64) -> String {
    let micros = micros.max(0);
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{:.1}ms", micros as f64 / 1e3),
        1_000_000..60_000_000 => format!("{:.2}s", micros as f64 / 1e6),
        _ => format!("{}m{:02}s", micros / 60_000_000, micros % 60_000_000 / 1_000_000),
    }
}

/// Runs as a table, one line each.
pub fn run_table(records: &[RunRecord]) -> String {
    let rows = records
        .iter()
        .map(|record| {
            let completed = record.steps.iter().filter(|step| step.state == StepState::Completed).count();
            vec![
                record.id.to_string(),
                format!("{}@{}", record.workflow, record.version),
                record.state.as_str().to_owned(),
                format!("{:.0}% ({completed}/{})", record.progress(), record.steps.len()),
                when(record.created_at),
            ]
        })
        .collect();
    table(&["ID", "WORKFLOW", "STATE", "PROGRESS", "CREATED"], rows)
}

/// The steps of a run or a template: names, and each step's parents by name.
struct Dag<'a> {
    names: Vec<&'a str>,
    parents: Vec<&'a [String]>,
}

impl Dag<'_> {
    /// A table whose first column draws the tree and whose other columns are `cells` of
    /// each step (under `headers`).
    fn draw(&self, headers: &[&str], cells: impl Fn(usize) -> Vec<String>) -> String {
        let mut rows = Vec::new();
        for root in (0..self.names.len()).filter(|&step| self.parents[step].is_empty()) {
            self.draw_step(root, None, &cells, &mut rows);
        }
        table(headers, rows)
    }

    /// The row of `step` and, below it, its subtree; `branch` is the prefix of its children
    /// and whether it is its parent's last child (none for a root).
    fn draw_step(&self, step: usize, branch: Option<(&str, bool)>, cells: &impl Fn(usize) -> Vec<String>, rows: &mut Vec<Vec<String>>) {
        let (line, below) = match branch {
            None => (String::new(), String::new()),
            Some((prefix, last)) => (format!("{prefix}{}", if last { "└─ " } else { "├─ " }), format!("{prefix}{}", if last { "   " } else { "│  " })),
        };
        let mut row = vec![format!("{line}{}", self.names[step])];
        row.extend(cells(step));
        rows.push(row);
        let children: Vec<usize> = (0..self.names.len()).filter(|&child| self.parents[child].iter().any(|parent| parent == self.names[step])).collect();
        for (index, &child) in children.iter().enumerate() {
            let last = index + 1 == children.len();
            let home = &self.parents[child][0];
            if home == self.names[step] {
                self.draw_step(child, Some((&below, last)), cells, rows);
            } else {
                let connector = if last { "└─ " } else { "├─ " };
                rows.push(vec![format!("{below}{connector}{}", self.names[child]), format!("(under {home})")]);
            }
        }
    }
}

/// A run as Graphviz: each step a box filled with the colour of its state.
pub fn run_dot(record: &RunRecord) -> String {
    let title = format!("workflow run {} of {}@{}: {}", record.id, record.workflow, record.version, record.state.as_str());
    let nodes = record.steps.iter().map(|step| {
        let attempts = if step.attempts == 1 { "1 attempt".to_owned() } else { format!("{} attempts", step.attempts) };
        (step.name.as_str(), vec![step.name.clone(), format!("{} · {attempts}", step.state.as_str())], state_colour(step.state), step.depends_on.as_slice())
    });
    dot(&title, run_colour(record.state), nodes)
}

/// A template as Graphviz: each step a box naming its target.
pub fn template_dot(template: &Template) -> String {
    let nodes = template.steps.iter().map(|step| {
        let (kind, name) = target(&step.target);
        (step.name.as_str(), vec![step.name.clone(), format!("{kind} {name}")], "white", step.depends_on.as_slice())
    });
    dot(&template.id(), "black", nodes)
}

/// A `digraph` of `nodes` (name, label lines, fill colour, parents), parents above children.
fn dot<'a>(title: &str, title_colour: &str, nodes: impl Iterator<Item = (&'a str, Vec<String>, &'static str, &'a [String])>) -> String {
    let mut lines = vec![
        format!("digraph {} {{", quote(title)),
        format!("  label={}; labelloc=t; fontcolor={title_colour};", quote(title)),
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];".to_owned(),
    ];
    let mut edges = Vec::new();
    for (name, label, colour, parents) in nodes {
        let label: Vec<String> = label.iter().map(|line| escape(line)).collect();
        lines.push(format!("  {} [label=\"{}\", fillcolor={colour}];", quote(name), label.join("\\n")));
        edges.extend(parents.iter().map(|parent| format!("  {} -> {};", quote(parent), quote(name))));
    }
    lines.extend(edges);
    lines.push("}".to_owned());
    lines.join("\n")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The fill of a step: white while it waits, blue while under way, green done, red failed,
/// greys for steps that will not run.
fn state_colour(state: StepState) -> &'static str {
    match state {
        StepState::Waiting => "white",
        StepState::Ready => "lightyellow",
        StepState::Running => "lightblue",
        StepState::Retrying => "orange",
        StepState::Completed => "palegreen",
        StepState::Failed => "salmon",
        StepState::Blocked => "lightgrey",
        StepState::Cancelled => "grey",
    }
}

fn run_colour(state: RunState) -> &'static str {
    match state {
        RunState::Running => "blue",
        RunState::Completed => "darkgreen",
        RunState::Failed => "red",
        RunState::Cancelled => "grey40",
    }
}
