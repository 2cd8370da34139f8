//! Compiled JSON Schemas. A task's schemas are compiled once when it loads and shared by
//! every run; violations come back with the JSON path of the value and the keyword.

use jsonschema::paths::LocationSegment;
use jsonschema::Validator;
use serde_json::Value;

use crate::error::SchemaViolation;

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

/// `input.items[3].at` from the segments of a JSON pointer.
fn json_path<'a>(root: &str, segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut path = root.to_string();
    for segment in segments {
        match segment {
            LocationSegment::Index(index) => path.push_str(&format!("[{index}]")),
            LocationSegment::Property(name) => {
                path.push('.');
                path.push_str(&name);
            }
        }
    }
    path
}
