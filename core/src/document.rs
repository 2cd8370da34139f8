//! Reading a parsed YAML or JSON document (the configuration file, a workflow template)
//! value by value, knowing where each value sits, so that every refusal names the document,
//! the key path (`queues.mail.rate_limit`, `steps[2].retry`) and what was expected. Each
//! kind of document turns a refusal into its own error ([`Refusal`]).

use std::fmt::Display;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::{parse_duration, DURATION_FORMS};
use crate::{Error, Result};

/// Makes the error of a refusal: the document's origin, the workflow step if any, and the
/// message (which starts with where: `` `queues.mail` must be ... ``).
pub(crate) type Refusal = fn(origin: &str, step: Option<&str>, message: String) -> Error;

/// Where a value sits in a document.
pub(crate) struct Place<'a> {
    pub origin: &'a str,
    /// The workflow step the value belongs to, once its name is known.
    pub step: Option<&'a str>,
    pub path: String,
    refusal: Refusal,
}

impl<'a> Place<'a> {
    /// The value at `path` (empty: the whole document) of the document `origin`.
    pub fn new(origin: &'a str, path: impl Into<String>, refusal: Refusal) -> Place<'a> {
        Place { origin, step: None, path: path.into(), refusal }
    }

    /// The same place, as part of a workflow step.
    pub fn in_step(&self, step: Option<&'a str>) -> Place<'a> {
        Place { step, path: self.path.clone(), ..*self }
    }

    pub fn child(&self, name: &str) -> Place<'a> {
        let path = if self.path.is_empty() { name.to_owned() } else { format!("{}.{name}", self.path) };
        Place { path, ..*self }
    }

    pub fn item(&self, index: usize) -> Place<'a> {
        Place { path: format!("{}[{index}]", self.path), ..*self }
    }

    /// The error for this place: `` `path` `` (or "the document") followed by `reason`.
    pub fn fail(&self, reason: impl Display) -> Error {
        let at = if self.path.is_empty() { "the document".to_owned() } else { format!("`{}`", self.path) };
        (self.refusal)(self.origin, self.step, format!("{at} {reason}"))
    }

    pub fn refuse(&self, expected: &str, found: &Value) -> Error {
        self.fail(format!("must be {expected}, not {found}"))
    }
}

/// The entries of a mapping whose keys must all be among `known`: a misspelt setting
/// silently ignored is worse than one refused.
pub(crate) fn fields<'v>(value: &'v Value, place: &Place, known: &[&str]) -> Result<&'v Map<String, Value>> {
    let map = value.as_object().ok_or_else(|| place.refuse("a mapping", value))?;
    match map.keys().find(|name| !known.contains(&name.as_str())) {
        Some(unknown) => Err(place.child(unknown).fail(format!("is not a known key; the keys here are {}", known.join(", ")))),
        None => Ok(map),
    }
}

pub(crate) fn required<'v>(map: &'v Map<String, Value>, name: &str, place: &Place) -> Result<&'v Value> {
    map.get(name).ok_or_else(|| place.fail(format!("needs a `{name}`")))
}

pub(crate) fn text_of(value: &Value, place: &Place) -> Result<String> {
    value.as_str().map(str::to_owned).ok_or_else(|| place.refuse("a string", value))
}

/// A whole number of at least 1.
pub(crate) fn count(value: &Value, place: &Place) -> Result<usize> {
    value.as_u64().filter(|&n| n >= 1).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| place.refuse("a whole number of at least 1", value))
}

/// A positive duration: seconds as a number, or text as [`parse_duration`] reads it.
pub(crate) fn duration(value: &Value, place: &Place) -> Result<Duration> {
    let parsed = match value {
        Value::Number(number) => parse_duration(&number.to_string()),
        Value::String(text) => parse_duration(text),
        _ => None,
    };
    parsed.ok_or_else(|| place.refuse(DURATION_FORMS, value))
}
