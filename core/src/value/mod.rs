//! What the core knows about the JSON values tasks take and return, beyond serde_json: the
//! one nesting limit every part enforces, the one way a place in a value is named, and the
//! host-independent half of the bindings' conversions (failures, numbers, durations), so
//! that the Ruby and Python bindings only walk their own objects.

mod convert;
mod number;
mod path;

pub use convert::{check_depth, ConversionError, HostTypes, Problem, ProblemClass};
pub use number::{big_integer, float, seconds, HostNumber, InvalidSeconds};
pub use path::{PathDisplay, Segment, ValuePath};

/// The deepest nesting of arrays and objects a value may have, everywhere: the bindings'
/// conversions, the host's check before dispatch, a task's output. serde_json refuses
/// 128 levels, and the IPC frames wrap a value in a few levels of their own.
pub const MAX_DEPTH: usize = 100;
