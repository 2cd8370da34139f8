//! Why a host value (a Ruby Hash, a Python dict...) could not become a core value, and
//! where: the failure half of the bindings' conversions, shared so that both languages
//! report the same problems with the same words and the same paths.
//!
//! A binding walks the host value itself (that part is host-specific) and, when something
//! cannot be carried, returns a [`ConversionError`]; each level it unwinds through adds its
//! [`Segment`]. Successful conversions never build a path.

use std::fmt;

use super::path::{Segment, ValuePath};
use super::MAX_DEPTH;

/// What was wrong with the value.
#[derive(Debug)]
pub enum Problem<H> {
    /// A value of a type tasks cannot take; the host's name for the type.
    Unsupported(String),
    /// An object key that is not a string; the host's name for its type.
    KeyType(String),
    /// NaN or an infinity: JSON has no such number.
    NotFinite(f64),
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A string whose bytes are not UTF-8; the host's name for its encoding.
    Encoding(String),
    /// The host itself failed while the value was read (a Hash changed during the walk...).
    Host(H),
}

/// The host exception a problem calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemClass {
    /// `TypeError` in both languages.
    Type,
    /// `ArgumentError` in Ruby, `ValueError` in Python; also for the host's own failures,
    /// which the message quotes (and Python chains as the cause).
    Value,
    /// `EncodingError` in Ruby, `UnicodeError` in Python.
    Encoding,
}

/// How a host names what it can pass, for the remedy a message suggests.
#[derive(Debug, Clone, Copy)]
pub struct HostTypes {
    /// e.g. "a Hash, Array, String, Symbol, Integer, Float, true, false or nil".
    pub values: &'static str,
    /// e.g. "String or Symbol".
    pub keys: &'static str,
}

/// A problem and the path to the value that has it.
#[derive(Debug)]
pub struct ConversionError<H> {
    pub problem: Problem<H>,
    pub path: ValuePath,
}

impl<H> ConversionError<H> {
    /// A problem with the value being converted; [`within`](Self::within) places it.
    pub fn new(problem: Problem<H>) -> Self {
        ConversionError { problem, path: ValuePath::root() }
    }

    /// The same error, seen from the enclosing array or object.
    pub fn within(mut self, segment: Segment) -> Self {
        self.path = self.path.within(segment);
        self
    }

    pub fn class(&self) -> ProblemClass {
        match self.problem {
            Problem::Unsupported(_) | Problem::KeyType(_) => ProblemClass::Type,
            Problem::NotFinite(_) | Problem::TooDeep | Problem::Host(_) => ProblemClass::Value,
            Problem::Encoding(_) => ProblemClass::Encoding,
        }
    }
}

impl<H: fmt::Display> ConversionError<H> {
    /// What went wrong and where, for a value named `root` (`input`, `mocks`), with the
    /// remedy in the host's words.
    pub fn message(&self, root: &str, host: &HostTypes) -> String {
        let path = self.path.display(root);
        match &self.problem {
            Problem::Unsupported(type_name) => {
                format!("{path} is of type {type_name}, which a task cannot take; use {}", host.values)
            }
            Problem::KeyType(type_name) => format!("{path} has a key of type {type_name}; keys must be {}", host.keys),
            Problem::NotFinite(f) => format!("{path} is {f:?}, which JSON cannot represent"),
            Problem::TooDeep => {
                format!("{path} is nested more than {MAX_DEPTH} levels deep, the most a value may have; does it contain itself?")
            }
            Problem::Encoding(encoding) => format!("{path} is a string in {encoding} that does not convert to UTF-8"),
            Problem::Host(error) => format!("{path} cannot be converted: {error}"),
        }
    }
}

/// So that `?` on a host call inside a conversion yields a [`Problem::Host`].
impl<H> From<H> for ConversionError<H> {
    fn from(error: H) -> Self {
        ConversionError::new(Problem::Host(error))
    }
}

/// Checks that an array or object enclosed by `depth` others is within [`MAX_DEPTH`]: a
/// value exactly at the limit converts, one level deeper does not.
pub fn check_depth<H>(depth: usize) -> Result<(), ConversionError<H>> {
    match depth < MAX_DEPTH {
        true => Ok(()),
        false => Err(ConversionError::new(Problem::TooDeep)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: HostTypes = HostTypes { values: "a dict or list", keys: "str" };

    fn at_items_3(problem: Problem<String>) -> String {
        let error = ConversionError::new(problem).within(Segment::Index(3)).within(Segment::Key("items".into()));
        error.message("input", &HOST)
    }

    #[test]
    fn messages_name_the_path_and_the_remedy() {
        assert_eq!(
            at_items_3(Problem::Unsupported("set".into())),
            "input.items[3] is of type set, which a task cannot take; use a dict or list"
        );
        assert_eq!(at_items_3(Problem::KeyType("int".into())), "input.items[3] has a key of type int; keys must be str");
        assert_eq!(at_items_3(Problem::NotFinite(f64::NAN)), "input.items[3] is NaN, which JSON cannot represent");
        assert!(at_items_3(Problem::TooDeep).contains("nested more than 100 levels"));
        assert_eq!(at_items_3(Problem::Host("boom".into())), "input.items[3] cannot be converted: boom");
    }

    #[test]
    fn depth_limit_admits_exactly_max_depth_levels() {
        assert!(check_depth::<()>(MAX_DEPTH - 1).is_ok());
        assert!(matches!(check_depth::<()>(MAX_DEPTH), Err(ConversionError { problem: Problem::TooDeep, .. })));
    }
}
