//! Values become JSON text on their way to a worker and come back as JSON text: both
//! directions are checked here against [`MAX_DEPTH`] and [`MAX_PAYLOAD_BYTES`], with an
//! error naming the task, the limit and the path, before anything breaks further on.

use serde_json::value::RawValue;
use serde_json::Value;

use super::{Segment, ValuePath, MAX_DEPTH, MAX_PAYLOAD_BYTES};
use crate::error::{Error, Result};
use crate::task::Task;

/// `input` as the JSON text a worker receives. The task's name is built only for an error:
/// this runs on every execution.
pub(crate) fn payload_from_input(task: &Task, input: &Value) -> Result<Box<RawValue>> {
    let payload = serde_json::value::to_raw_value(input)
        .map_err(|e| Error::Protocol(format!("cannot encode the input of task `{}`: {e}", task.name())))?;
    check(task, "input", payload.get())?;
    Ok(payload)
}

/// A task's output text as a value. (Its size was checked in the worker, which refuses to
/// send more than the limit.)
pub(crate) fn output_from_payload(task: &Task, output: &RawValue) -> Result<Value> {
    check(task, "output", output.get())?;
    serde_json::from_str(output.get()).map_err(|e| Error::Protocol(format!("the output of task `{}` is not valid JSON: {e}", task.name())))
}

fn check(task: &Task, which: &str, text: &str) -> Result<()> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::ValueTooLarge { task: task.name(), which: which.to_string(), bytes: text.len(), limit: MAX_PAYLOAD_BYTES });
    }
    match too_deep_at(text, which) {
        Some(path) => Err(Error::ValueTooDeep { task: task.name(), path, limit: MAX_DEPTH }),
        None => Ok(()),
    }
}

/// One open array or object while scanning JSON text.
struct Open<'a> {
    is_array: bool,
    index: usize,
    /// The current member's key, still as JSON string text (escapes undone only on failure).
    key: &'a str,
}

/// The path of the first array or object nested deeper than `MAX_DEPTH` in valid JSON
/// `text`, rooted at `root`; `None` if there is none. One pass over the bytes, no tree.
fn too_deep_at(text: &str, root: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut open: Vec<Open> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                if expecting_key {
                    if let Some(top) = open.last_mut() {
                        top.key = &text[i..=end];
                    }
                }
                i = end;
            }
            b'{' | b'[' if open.len() == MAX_DEPTH => return Some(render(root, &open)),
            opening @ (b'{' | b'[') => {
                open.push(Open { is_array: opening == b'[', index: 0, key: "" });
                expecting_key = opening == b'{';
            }
            b'}' | b']' => {
                open.pop();
            }
            b',' => match open.last_mut() {
                Some(top) if top.is_array => top.index += 1,
                _ => expecting_key = true,
            },
            b':' => expecting_key = false,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i
}

/// Each open container names the step into the next one: its current index or key.
fn render(root: &str, open: &[Open]) -> String {
    let path: ValuePath = open
        .iter()
        .map(|container| match container.is_array {
            true => Segment::Index(container.index),
            false => Segment::Key(serde_json::from_str(container.key).unwrap_or_default()),
        })
        .collect();
    path.display(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize, key: &str) -> String {
        let key = serde_json::to_string(key).unwrap();
        (0..depth).fold("1".to_string(), |inner, _| format!("{{{key}:[0,{inner}]}}"))
    }

    #[test]
    fn brackets_inside_strings_do_not_count_as_nesting() {
        let text = format!(r#"{{"a":"{}","b":"\"[[[{{"}}"#, "[".repeat(500));
        assert_eq!(too_deep_at(&text, "input"), None);
    }

    #[test]
    fn the_path_names_each_key_and_index_down_to_the_level_past_the_limit() {
        // Each level is an object and an array: 51 levels are 102 containers.
        let path = too_deep_at(&nested(51, "k"), "output").unwrap();
        assert!(path.starts_with("output.k[1].k[1]"), "{path}");
        assert_eq!(path.matches(".k").count(), 50);
        assert_eq!(too_deep_at(&nested(50, "k"), "output"), None);
    }

    #[test]
    fn keys_that_are_not_identifiers_are_quoted_and_unescaped() {
        let path = too_deep_at(&nested(51, "a \"b\""), "input").unwrap();
        assert!(path.starts_with(r#"input["a \"b\""][1]"#), "{path}");
    }
}
