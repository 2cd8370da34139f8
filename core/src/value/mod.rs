//! What the core knows about the JSON values tasks take and return, beyond serde_json: the
//! nesting and size limits every part enforces, the one way a place in a value is named,
//! the checked passage of a value to and from the JSON text that travels between host and
//! worker, equality by value, and the host-independent half of the bindings' conversions
//! (failures, numbers, durations), so that the Ruby and Python bindings only walk their
//! own objects.

mod convert;
mod equal;
mod number;
mod path;
mod payload;

pub use convert::{check_depth, ConversionError, HostTypes, Problem, ProblemClass};
pub use equal::json_equal;
pub use number::{big_integer, float, seconds, HostNumber, InvalidSeconds};
pub use path::{PathDisplay, Segment, ValuePath};
pub(crate) use payload::{output_from_payload, payload_from_input};

/// The deepest nesting of arrays and objects a value may have, everywhere: the bindings'
/// conversions, the host's check before dispatch, a task's output. serde_json refuses
/// 128 levels, and the IPC frames wrap a value in a few levels of their own.
pub const MAX_DEPTH: usize = 100;

/// The largest input or output of one execution, as JSON text. Larger data belongs in a
/// store the task fetches from, not in the job.
pub const MAX_PAYLOAD_BYTES: usize = 32 << 20;
