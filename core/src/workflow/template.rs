//! A workflow template: `namespace`, `name`, `version` (semver), an optional `description`
//! and `context_schema`, and `steps`. It is read from YAML, JSON or a native value by
//! walking the JSON value by hand rather than through serde derives, so that every refusal
//! names the file, the step and the key path (`steps[2].retry.backoff.base`) and says what
//! was expected; an unknown key is refused too, since a misspelt setting silently ignored
//! is worse than a refused one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{dag, input};
use crate::document::{count, duration, fields, required, text_of, Place};
use crate::error::{Error, Result};
use crate::queue::Backoff;
use crate::task::{Schema, Version};

const TEMPLATE: &[&str] = &["namespace", "name", "version", "description", "context_schema", "steps"];
const STEP: &[&str] = &["name", "handler", "task", "depends_on", "retry", "timeout", "queue", "input"];
const RETRY: &[&str] = &["max_attempts", "backoff"];
const BACKOFF: &[&str] = &["base", "cap"];

/// A loaded, checked template: its steps form a DAG and its context schema is compiled.
pub struct Template {
    pub namespace: String,
    pub name: String,
    /// The version as written; [`Template::id`] and lookups use it.
    pub version: String,
    pub description: Option<String>,
    /// In the order the template lists them.
    pub steps: Vec<Step>,
    /// The file it came from, or `template ns/name@version` for a native value.
    pub origin: String,
    pub(super) precedence: Version,
    context_schema: Option<Arc<Schema>>,
    snapshot: Value,
    /// Step positions, each after its parents.
    order: Vec<usize>,
    /// By step position: the positions of its parents, and of its children.
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({} from {})", self.id(), self.origin)
    }
}

/// One step: what it runs, what it waits for, and how it is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub target: Target,
    /// The steps whose results this one needs; it becomes ready when all completed.
    pub depends_on: Vec<String>,
    pub retry: Retry,
    pub timeout: Option<Duration>,
    pub queue: Option<String>,
    /// Picks the step's input from the context and parent results (`"$.context.x"`,
    /// `"$.results.square.result"`); kept as written, evaluated when the step runs.
    pub input: Option<Map<String, Value>>,
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A handler the host registered (Rust, Ruby or Python).
    Handler(String),
    /// A JavaScript task, by label or `label@version`.
    Task(String),
}

/// A step's retry policy; what is left out falls back to the queue's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retry {
    pub max_attempts: Option<u32>,
    pub backoff: Option<Backoff>,
}

impl Template {
    /// Reads a template from a `.yaml`, `.yml` or `.json` file.
    pub fn load(file: &Path) -> Result<Template> {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|error| Error::io(format!("cannot read the workflow template {origin}"), error))?;
        let is_json = file.extension().is_some_and(|extension| extension == "json");
        let value: Value = match is_json {
            true => serde_json::from_str(&text).map_err(|error| error.to_string()),
            false => serde_norway::from_str(&text).map_err(|error| error.to_string()),
        }
        .map_err(|error| Error::InvalidTemplate { origin: origin.clone(), step: None, reason: format!("not valid {}: {error}", if is_json { "JSON" } else { "YAML" }) })?;
        Template::from_value(value, origin)
    }

    /// Builds a template from a native value, as the bindings pass a Hash or dict; `origin`
    /// names it in errors (`template ns/name@1.0.0`, or the file it was read from).
    pub fn from_value(value: Value, origin: impl Into<String>) -> Result<Template> {
        let origin = origin.into();
        let root = Place::new(&origin, "", refusal);
        let map = fields(&value, &root, TEMPLATE)?;
        let text = |name: &str| text_of(required(map, name, &root)?, &root.child(name));
        let namespace = identifier(&text("namespace")?, &root.child("namespace"))?;
        let name = identifier(&text("name")?, &root.child("name"))?;
        let version = text("version")?;
        let precedence = Version::parse(&version).map_err(|reason| {
            root.child("version").fail(format!("{version:?} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0 or 2.1.0-beta.1, see semver.org): {reason}"))
        })?;
        let description = map.get("description").map(|value| text_of(value, &root.child("description"))).transpose()?;
        let context_schema = map.get("context_schema").map(|schema| context_schema(schema, &root.child("context_schema"))).transpose()?;
        let steps = steps(required(map, "steps", &root)?, &root.child("steps"))?;
        let order = dag::check(&steps, &origin)?;
        let position = |name: &String| steps.iter().position(|step| &step.name == name).expect("dependencies were checked");
        let parents: Vec<Vec<usize>> = steps.iter().map(|step| step.depends_on.iter().map(position).collect()).collect();
        let mut children = vec![Vec::new(); steps.len()];
        for (child, parents) in parents.iter().enumerate() {
            for &parent in parents {
                children[parent].push(child);
            }
        }
        Ok(Template { namespace, name, version, description, steps, origin, precedence, context_schema, snapshot: value, order, parents, children })
    }

    /// `namespace/name@version`, the name that identifies it unambiguously.
    pub fn id(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.name, self.version)
    }

    /// `namespace/name`, which names every version of it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The position of the step called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|step| step.name == name)
    }

    /// Step positions, each after its parents.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The positions of the parents of the step at `step`.
    pub fn parents(&self, step: usize) -> &[usize] {
        &self.parents[step]
    }

    /// The positions of the children of the step at `step`.
    pub fn children(&self, step: usize) -> &[usize] {
        &self.children[step]
    }

    /// The step at `step` and every step that depends on it, directly or not, parents first.
    pub fn descendants(&self, step: usize) -> Vec<usize> {
        let mut inside = vec![false; self.steps.len()];
        inside[step] = true;
        for &position in &self.order {
            if self.parents[position].iter().any(|&parent| inside[parent]) {
                inside[position] = true;
            }
        }
        self.order.iter().copied().filter(|&position| inside[position]).collect()
    }

    /// The template as it was given, which a run stores so that a later version of the
    /// template never changes it.
    pub fn snapshot(&self) -> &Value {
        &self.snapshot
    }

    /// Checks a run's context against `context_schema` (anything passes without one); the
    /// error lists each failing path, `context.user.id` and the like.
    pub fn validate_context(&self, context: &Value) -> Result<()> {
        let Some(schema) = &self.context_schema else { return Ok(()) };
        let violations = schema.violations(context, "context");
        if violations.is_empty() {
            return Ok(());
        }
        let listed: String = violations.iter().map(|violation| format!("\n  - {violation}")).collect();
        Err(Error::InvalidTemplate { origin: self.origin.clone(), step: None, reason: format!("the context does not match `context_schema` of {}:{listed}", self.id()) })
    }
}

/// A namespace or name: non-empty, and free of the `/` and `@` that references split on.
fn identifier(text: &str, place: &Place) -> Result<String> {
    match text.trim().is_empty() || text.contains(['/', '@']) {
        true => Err(place.refuse("a non-empty string without `/` or `@`", &Value::String(text.to_owned()))),
        false => Ok(text.to_owned()),
    }
}

/// A step name: ASCII letters, digits, `_` and `-`, since input mappings address results
/// by dotted paths (`$.results.square.result`).
fn step_name(value: &Value, place: &Place) -> Result<String> {
    let name = text_of(value, place)?;
    match !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        true => Ok(name),
        false => Err(place.refuse("a non-empty name of ASCII letters, digits, `_` or `-`", value)),
    }
}

fn context_schema(schema: &Value, place: &Place) -> Result<Arc<Schema>> {
    Schema::compile(schema).map(Arc::new).map_err(|reason| place.fail(reason))
}

fn steps(value: &Value, place: &Place) -> Result<Vec<Step>> {
    let items = value.as_array().filter(|items| !items.is_empty()).ok_or_else(|| place.refuse("a non-empty list of steps", value))?;
    items.iter().enumerate().map(|(index, item)| step(item, &place.item(index))).collect()
}

fn step(value: &Value, place: &Place) -> Result<Step> {
    let name = value.get("name").map(|name| step_name(name, &place.child("name"))).transpose()?;
    let place = place.in_step(name.as_deref());
    let map = fields(value, &place, STEP)?;
    let Some(name) = name.as_deref() else { return Err(place.fail("needs a `name`")) };
    let text = |key: &str| map.get(key).map(|value| text_of(value, &place.child(key))).transpose();
    let target = match (text("handler")?, text("task")?) {
        (Some(handler), None) => Target::Handler(handler),
        (None, Some(task)) => Target::Task(task),
        (None, None) => return Err(place.fail("has no target; give it a `handler:` (a host handler) or a `task:` (a JavaScript task)")),
        (Some(_), Some(_)) => return Err(place.fail("has both a `handler:` and a `task:`; a step runs one of them")),
    };
    let depends_on = match map.get("depends_on") {
        Some(value) => texts(value, &place.child("depends_on"))?,
        None => Vec::new(),
    };
    Ok(Step {
        target,
        retry: map.get("retry").map(|value| retry(value, &place.child("retry"))).transpose()?.unwrap_or_default(),
        timeout: map.get("timeout").map(|value| duration(value, &place.child("timeout"))).transpose()?,
        queue: text("queue")?,
        input: map.get("input").map(|value| mapping(value, &depends_on, &place.child("input"))).transpose()?,
        depends_on,
        name: name.to_owned(),
    })
}

fn mapping(value: &Value, parents: &[String], place: &Place) -> Result<Map<String, Value>> {
    let mapping = value.as_object().ok_or_else(|| place.refuse("a mapping of input keys to values or `$.` paths", value))?;
    input::check_mapping(mapping, parents, place)?;
    Ok(mapping.clone())
}

fn retry(value: &Value, place: &Place) -> Result<Retry> {
    let map = fields(value, place, RETRY)?;
    let max_attempts = map.get("max_attempts").map(|value| {
        let place = place.child("max_attempts");
        u32::try_from(count(value, &place)?).map_err(|_| place.refuse("a whole number of at least 1", value))
    });
    Ok(Retry { max_attempts: max_attempts.transpose()?, backoff: map.get("backoff").map(|value| backoff(value, &place.child("backoff"))).transpose()? })
}

fn backoff(value: &Value, place: &Place) -> Result<Backoff> {
    let map = fields(value, place, BACKOFF)?;
    let base = duration(required(map, "base", place)?, &place.child("base"))?;
    // Without a cap, the queue's default cap, or the base if that is longer.
    let cap = match map.get("cap") {
        Some(value) => duration(value, &place.child("cap"))?,
        None => Backoff::default().cap.max(base),
    };
    if cap < base {
        return Err(place.child("cap").fail("is shorter than `base`; the cap bounds the growing delay from above"));
    }
    Ok(Backoff { base, cap })
}

/// A refusal in a template: an invalid template naming its origin and step.
fn refusal(origin: &str, step: Option<&str>, message: String) -> Error {
    Error::InvalidTemplate { origin: origin.to_owned(), step: step.map(str::to_owned), reason: message }
}

fn texts(value: &Value, place: &Place) -> Result<Vec<String>> {
    let items = value.as_array().ok_or_else(|| place.refuse("a list of step names", value))?;
    items.iter().enumerate().map(|(index, item)| text_of(item, &place.item(index))).collect()
}

