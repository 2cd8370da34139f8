//! What the core knows about the JSON values tasks take and return, beyond serde_json:
//! the nesting and size limits every part enforces, the checked passage of a value to and
//! from the JSON text that travels between host and worker, and equality by value.

mod equal;
mod payload;

pub use equal::json_equal;
pub(crate) use payload::{output_from_payload, payload_from_input};

/// The deepest nesting of arrays and objects a value may have, everywhere: the bindings'
/// conversions, the host's check before dispatch, a task's output. serde_json refuses
/// 128 levels, and the IPC frames wrap a value in a few levels of their own.
pub const MAX_DEPTH: usize = 100;

/// The largest input or output of one execution, as JSON text. Larger data belongs in a
/// store the task fetches from, not in the job.
pub const MAX_PAYLOAD_BYTES: usize = 32 << 20;

/// Appends `.key`, or `["key"]` when the key is not an identifier, to a value path.
pub(crate) fn push_key(path: &mut String, key: &str) {
    let mut chars = key.chars();
    let identifier = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    match identifier {
        true => {
            path.push('.');
            path.push_str(key);
        }
        false => path.push_str(&format!("[{key:?}]")),
    }
}
