//! What the core knows about the JSON values tasks take and return, beyond serde_json:
//! the one nesting limit every part enforces, and equality by value.

mod equal;

pub use equal::json_equal;

/// The deepest nesting of arrays and objects a value may have, everywhere: the bindings'
/// conversions, the host's check before dispatch, a task's output. serde_json refuses
/// 128 levels, and the IPC frames wrap a value in a few levels of their own.
pub const MAX_DEPTH: usize = 100;
