//! What a step's job receives. Without a mapping, a step gets `{"context": …, "results":
//! {parent: result, …}}`: the run's context and its parents' results by step name. A
//! mapping builds the input instead, key by key: a string starting with `$.` is a path into
//! that same document (`$.context.user.id`, `$.results.square.result`, `$.results.list.0`
//! for an array item), anything else is taken as written.
//!
//! A handler step's job also gets the mapped input under `input`, next to `context` and
//! `results`, so a handler sees all three.

use serde_json::{Map, Value};

use super::template::{Step, Target};
use crate::document::Place;
use crate::error::Result;

/// The start of a path in a mapping.
const PATH: &str = "$.";

/// The input of `step`'s job, from the run's context and its parents' results.
pub(crate) fn step_input(step: &Step, context: &Value, results: Map<String, Value>) -> Value {
    let document = Value::Object(Map::from_iter([("context".to_owned(), context.clone()), ("results".to_owned(), Value::Object(results))]));
    let Some(mapping) = &step.input else { return document };
    let mapped: Map<String, Value> = mapping.iter().map(|(key, value)| (key.clone(), resolve(value, &document))).collect();
    match step.target {
        Target::Task(_) => Value::Object(mapped),
        Target::Handler(_) => {
            let Value::Object(mut document) = document else { unreachable!("built as an object") };
            document.insert("input".to_owned(), Value::Object(mapped));
            Value::Object(document)
        }
    }
}

/// A mapping value: a path's value (null where the path leads nowhere), or the literal.
fn resolve(value: &Value, document: &Value) -> Value {
    let Some(path) = value.as_str().and_then(|text| text.strip_prefix(PATH)) else { return value.clone() };
    let mut at = document;
    for segment in path.split('.') {
        let next = match at {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|index| items.get(index)),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return Value::Null,
        }
    }
    at.clone()
}

/// Refuses a mapping path that can never lead anywhere: one that starts neither with
/// `$.context` nor with `$.results.` and a parent of the step.
pub(super) fn check_mapping(mapping: &Map<String, Value>, parents: &[String], place: &Place) -> Result<()> {
    for (key, value) in mapping {
        let Some(path) = value.as_str().and_then(|text| text.strip_prefix(PATH)) else { continue };
        let mut segments = path.split('.');
        let fine = match (segments.next(), segments.next()) {
            (Some("context"), _) => true,
            (Some("results"), Some(parent)) => parents.iter().any(|known| known == parent),
            _ => false,
        };
        if !fine {
            let parents = match parents.is_empty() {
                true => "this step has no parents, so only `$.context…` paths apply".to_owned(),
                false => format!("its parents are {}", parents.join(", ")),
            };
            return Err(place.child(key).fail(format!(
                "the path `{}` leads nowhere: a path starts with `$.context` or with `$.results.` and a parent step's name; {parents}",
                value.as_str().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(target: Target, input: Option<Value>) -> Step {
        Step {
            name: "s".into(),
            target,
            depends_on: vec!["square".into()],
            retry: Default::default(),
            timeout: None,
            queue: None,
            input: input.map(|value| value.as_object().unwrap().clone()),
        }
    }

    #[test]
    fn without_a_mapping_a_step_gets_the_context_and_its_parents_results() {
        let results = json!({"square": {"result": 36}}).as_object().unwrap().clone();
        let input = step_input(&step(Target::Task("t".into()), None), &json!({"n": 6}), results);
        assert_eq!(input, json!({"context": {"n": 6}, "results": {"square": {"result": 36}}}));
    }

    #[test]
    fn a_mapping_picks_paths_and_keeps_literals() {
        let mapping = json!({"x": "$.results.square.result", "n": "$.context.n", "first": "$.context.list.0", "gone": "$.context.nope", "unit": "cm"});
        let results = json!({"square": {"result": 36}}).as_object().unwrap().clone();
        let input = step_input(&step(Target::Task("t".into()), Some(mapping)), &json!({"n": 6, "list": [7, 8]}), results);
        assert_eq!(input, json!({"x": 36, "n": 6, "first": 7, "gone": null, "unit": "cm"}));
    }

    #[test]
    fn a_handler_step_gets_the_mapped_input_beside_context_and_results() {
        let input = step_input(&step(Target::Handler("h".into()), Some(json!({"n": "$.context.n"}))), &json!({"n": 6}), Map::new());
        assert_eq!(input, json!({"context": {"n": 6}, "results": {}, "input": {"n": 6}}));
    }
}
