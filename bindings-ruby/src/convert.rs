//! Ruby values ↔ `serde_json::Value`, walked directly: no JSON text crosses the boundary.
//!
//! Ruby → core accepts Hash (String or Symbol keys), Array, String, Symbol, Integer (any
//! size), Float, true, false and nil, dispatching once on the object's type tag. Integers
//! travel as exact decimal numbers (serde_json's `arbitrary_precision`), so a Bignum is never
//! rounded through a Float. Anything else raises an error naming the key path, e.g.
//! `input.items[3].at`; the path is assembled only on failure, while the error unwinds.
//! Core → Ruby builds Hashes with String keys, as a parsed JSON document would.

use magnus::rb_sys::AsRawValue;
use magnus::r_hash::ForEach;
use magnus::encoding::{EncodingCapable, RbEncoding};
use magnus::value::ReprValue;
use magnus::{Error, ExceptionClass, Fixnum, Float, IntoValue, RArray, RHash, RString, Ruby, Symbol, TryConvert, Value};
use rb_sys::ruby_value_type as T;
use serde_json::{Map, Number, Value as Json};

/// Deeper than this is almost surely a structure that contains itself.
const MAX_DEPTH: usize = 128;

/// Converts `value` for the core; `root` names it in error messages (`input`, `mocks`).
pub fn from_ruby(ruby: &Ruby, value: Value, root: &str) -> Result<Json, Error> {
    walk(ruby, value, 0).map_err(|failure| failure.into_error(ruby, root))
}

/// Converts a core value to plain Ruby objects.
pub fn to_ruby(ruby: &Ruby, value: &Json) -> Result<Value, Error> {
    Ok(match value {
        Json::Null => ruby.qnil().as_value(),
        Json::Bool(b) => b.into_value_with(ruby),
        Json::Number(n) => number_to_ruby(ruby, n)?,
        Json::String(s) => ruby.str_new(s).as_value(),
        Json::Array(items) => {
            let array = ruby.ary_new_capa(items.len());
            for item in items {
                array.push(to_ruby(ruby, item)?)?;
            }
            array.as_value()
        }
        Json::Object(map) => {
            let hash = ruby.hash_new();
            for (key, item) in map {
                hash.aset(ruby.str_new(key), to_ruby(ruby, item)?)?;
            }
            hash.as_value()
        }
    })
}

fn number_to_ruby(ruby: &Ruby, n: &Number) -> Result<Value, Error> {
    if let Some(i) = n.as_i64() {
        return Ok(ruby.integer_from_i64(i).as_value());
    }
    if let Some(u) = n.as_u64() {
        return Ok(ruby.integer_from_u64(u).as_value());
    }
    let text = n.as_str();
    if !text.contains(['.', 'e', 'E']) {
        // An integer beyond 64 bits: Ruby parses the exact digits into a Bignum.
        return ruby.module_kernel().funcall("Integer", (text,));
    }
    match n.as_f64() {
        Some(f) => Ok(ruby.float_from_f64(f).as_value()),
        None => Err(Error::new(ruby.exception_range_error(), format!("number {text} is out of Float range"))),
    }
}

fn walk(ruby: &Ruby, value: Value, depth: usize) -> Result<Json, Failure> {
    // SAFETY: `value` is a live Ruby object held on this stack.
    Ok(match unsafe { rb_sys::RB_TYPE(value.as_raw()) } {
        T::RUBY_T_NIL => Json::Null,
        T::RUBY_T_TRUE => Json::Bool(true),
        T::RUBY_T_FALSE => Json::Bool(false),
        T::RUBY_T_FIXNUM => Json::from(Fixnum::from_value(value).expect("type checked").to_i64()),
        T::RUBY_T_STRING | T::RUBY_T_SYMBOL => Json::String(string(ruby, value)?),
        T::RUBY_T_FLOAT => {
            let f = Float::from_value(value).expect("type checked").to_f64();
            Json::Number(Number::from_f64(f).ok_or_else(|| Failure::new(Problem::NonFinite(f)))?)
        }
        // Exact: the decimal digits become the number, never a Float.
        T::RUBY_T_BIGNUM => {
            let digits = value.to_r_string().and_then(RString::to_string).map_err(Failure::raised)?;
            Json::Number(digits.parse().expect("Integer#to_s is a valid JSON number"))
        }
        T::RUBY_T_ARRAY if depth < MAX_DEPTH => {
            let array = RArray::from_value(value).expect("type checked");
            let mut items = Vec::with_capacity(array.len());
            for index in 0..array.len() {
                let item: Value = array.entry(index as isize).map_err(Failure::raised)?;
                items.push(walk(ruby, item, depth + 1).map_err(|f| f.at(Segment::Index(index)))?);
            }
            Json::Array(items)
        }
        T::RUBY_T_HASH if depth < MAX_DEPTH => {
            let hash = RHash::from_value(value).expect("type checked");
            let mut map = Map::new();
            let mut failure = None;
            hash.foreach(|key: Value, item: Value| {
                match hash_entry(ruby, key, item, depth) {
                    Ok((key, item)) => {
                        map.insert(key, item);
                        Ok(ForEach::Continue)
                    }
                    Err(f) => {
                        failure = Some(f);
                        Ok(ForEach::Stop)
                    }
                }
            })
            .map_err(Failure::raised)?;
            match failure {
                Some(failure) => return Err(failure),
                None => Json::Object(map),
            }
        }
        T::RUBY_T_ARRAY | T::RUBY_T_HASH => return Err(Failure::new(Problem::TooDeep)),
        _ => return Err(Failure::new(Problem::Unsupported(value.class().inspect()))),
    })
}

fn hash_entry(ruby: &Ruby, key: Value, item: Value, depth: usize) -> Result<(String, Json), Failure> {
    if RString::from_value(key).is_none() && Symbol::from_value(key).is_none() {
        return Err(Failure::new(Problem::Key(key.inspect())));
    }
    let key = string(ruby, key)?;
    match walk(ruby, item, depth + 1) {
        Ok(item) => Ok((key, item)),
        Err(failure) => Err(failure.at(Segment::Key(key))),
    }
}

/// A String (re-encoded to UTF-8 if need be) or a Symbol's name.
fn string(ruby: &Ruby, value: Value) -> Result<String, Failure> {
    let Some(s) = RString::from_value(value) else {
        return Symbol::try_convert(value).and_then(Symbol::name).map(String::from).map_err(Failure::raised);
    };
    let encoding = s.enc_get();
    s.to_string().or_else(|_| {
        let invalid = || Failure::new(Problem::Encoding(RbEncoding::from(encoding).name().to_owned()));
        if encoding != ruby.ascii8bit_encindex() {
            return Err(invalid());
        }
        // Binary strings (as IO and HTTP clients return them) pass when their bytes are UTF-8.
        // SAFETY: the bytes are copied before any Ruby code can run.
        String::from_utf8(unsafe { s.as_slice() }.to_vec()).map_err(|_| invalid())
    })
}

/// What went wrong, plus where: segments are pushed innermost first while unwinding.
struct Failure {
    problem: Problem,
    path: Vec<Segment>,
}

enum Problem {
    Unsupported(String),
    Key(String),
    NonFinite(f64),
    TooDeep,
    /// The name of the String's encoding.
    Encoding(String),
    /// Ruby itself raised (e.g. a Hash modified during the walk): passed on unchanged.
    Raised(Error),
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Failure {
    fn new(problem: Problem) -> Self {
        Failure { problem, path: Vec::new() }
    }

    fn raised(error: Error) -> Self {
        Failure::new(Problem::Raised(error))
    }

    fn at(mut self, segment: Segment) -> Self {
        self.path.push(segment);
        self
    }

    fn into_error(self, ruby: &Ruby, root: &str) -> Error {
        let mut path = root.to_owned();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Key(key) if is_identifier(key) => path.push_str(&format!(".{key}")),
                Segment::Key(key) => path.push_str(&format!("[{key:?}]")),
                Segment::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        let (class, message): (ExceptionClass, String) = match self.problem {
            Problem::Unsupported(class) => (
                ruby.exception_type_error(),
                format!("cannot pass a {class} at {path}; convert it to a Hash, Array, String, Symbol, Integer, Float, true, false or nil"),
            ),
            Problem::Key(key) => (
                ruby.exception_type_error(),
                format!("hash key {key} at {path} must be a String or a Symbol"),
            ),
            Problem::NonFinite(f) => (ruby.exception_arg_error(), format!("{f} at {path} is not a JSON number")),
            // The path of a structure that contains itself is just the same step repeated.
            Problem::TooDeep => (
                ruby.exception_arg_error(),
                format!("{root} is nested more than {MAX_DEPTH} levels deep (does it contain itself?)"),
            ),
            Problem::Encoding(encoding) => (
                ruby.exception_encoding_error(),
                format!("the String at {path} (encoding {encoding}) does not convert to valid UTF-8"),
            ),
            Problem::Raised(error) => return error,
        };
        Error::new(class, message)
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
