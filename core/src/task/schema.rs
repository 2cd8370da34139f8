//! Compiled JSON Schemas. A task's schemas are compiled once when it loads and shared by
//! every run; violations come back with the JSON path of the value and the keyword.

use jsonschema::paths::LocationSegment;
use jsonschema::Validator;
use serde_json::Value;

use crate::error::SchemaViolation;
use crate::value::{Segment, ValuePath};

pub struct Schema {
    validator: Validator,
}

impl Schema {
    /// Compiles `schema`; the error says why it is not a valid JSON Schema.
    pub fn compile(schema: &Value) -> Result<Schema, String> {
        if let Err(error) = jsonschema::meta::validate(schema) {
            return Err(format!("not a valid JSON Schema at {}: {error}", pointer_or_root(&error.instance_path().to_string())));
        }
        let validator = jsonschema::validator_for(schema).map_err(|error| error.to_string())?;
        Ok(Schema { validator })
    }

    /// Every way `value` breaks the schema; paths start at `root` (`input`, `output`).
    pub fn violations(&self, value: &Value, root: &str) -> Vec<SchemaViolation> {
        self.validator
            .iter_errors(value)
            .map(|error| SchemaViolation {
                path: json_path(root, error.instance_path().segments()),
                keyword: error.kind().keyword().to_string(),
                message: error.to_string(),
            })
            .collect()
    }
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "the root" } else { pointer }
}

/// `input.items[3].at` from the segments of a JSON pointer, named as every path is named.
fn json_path<'a>(root: &str, segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let path: ValuePath = segments
        .map(|segment| match segment {
            LocationSegment::Index(index) => Segment::Index(index),
            LocationSegment::Property(name) => Segment::Key(name.into_owned()),
        })
        .collect();
    path.display(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_paths_quote_keys_that_are_not_identifiers() {
        let schema = Schema::compile(&serde_json::json!({
            "properties": {"odd key": {"type": "integer"}, "items": {"items": {"properties": {"at": {"type": "string"}}}}}
        }))
        .unwrap();
        let value = serde_json::json!({"odd key": "x", "items": [{}, {"at": 1}]});
        let mut paths: Vec<String> = schema.violations(&value, "input").into_iter().map(|v| v.path).collect();
        paths.sort();
        assert_eq!(paths, ["input.items[1].at", r#"input["odd key"]"#]);
    }
}
