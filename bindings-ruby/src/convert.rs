//! Ruby values ↔ `serde_json::Value`, walked directly: no JSON text crosses the boundary.
//!
//! Ruby → core accepts Hash (String or Symbol keys), Array, String, Symbol, Integer (any
//! size), Float, true, false, nil, Time and ActiveSupport::TimeWithZone, dispatching once on
//! the object's type tag. A time becomes an RFC 3339 string in UTC with microseconds
//! (`2026-11-30T12:00:00.250000Z`), as Rails' JSON encoding writes one. Integers
//! travel as exact decimal numbers, so a Bignum is never rounded through a Float. Anything
//! else fails with the core's `ConversionError`, which names the key path
//! (`input.items[3].at`); the path is assembled only on failure, while the error unwinds.
//! Core → Ruby builds Hashes with String keys, as a parsed JSON document would.

use chrono::{DateTime, SecondsFormat};
use cogwork_core::{ConsoleLine, SchemaViolation};
use cogwork_core::value::{self, check_depth, ConversionError, HostNumber, HostTypes, Problem, ProblemClass, Segment};
use magnus::encoding::{EncodingCapable, RbEncoding};
use magnus::r_hash::ForEach;
use magnus::rb_sys::AsRawValue;
use magnus::value::{LazyId, ReprValue};
use magnus::{Error, Fixnum, Float, IntoValue, Module, RArray, RClass, RHash, RString, Ruby, Symbol, Time, TryConvert, Value};
use rb_sys::ruby_value_type as T;
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

type Failure = ConversionError<Error>;

/// `Kernel#Integer`, which parses a Bignum's digits exactly.
static INTEGER: LazyId = LazyId::new("Integer");

/// What Ruby can pass, for the remedy an error message suggests.
const RUBY_TYPES: HostTypes = HostTypes {
    values: "a Hash, Array, String, Symbol, Integer, Float, Time, true, false or nil",
    keys: "a String or a Symbol",
};

/// Converts `value` for the core; `root` names it in error messages (`input`, `mocks`).
pub fn from_ruby(ruby: &Ruby, value: Value, root: &str) -> Result<Json, Error> {
    walk(ruby, value, 0).map_err(|failure| {
        let class = match failure.class() {
            ProblemClass::Type => ruby.exception_type_error(),
            ProblemClass::Value => ruby.exception_arg_error(),
            ProblemClass::Encoding => ruby.exception_encoding_error(),
        };
        Error::new(class, failure.message(root, &RUBY_TYPES))
    })
}

/// Converts a core value to plain Ruby objects.
pub fn to_ruby(ruby: &Ruby, value: &Json) -> Result<Value, Error> {
    Ok(match value {
        Json::Null => ruby.qnil().as_value(),
        Json::Bool(b) => b.into_value_with(ruby),
        Json::Number(n) => match HostNumber::of(n) {
            HostNumber::Int(i) => ruby.integer_from_i64(i).as_value(),
            HostNumber::UInt(u) => ruby.integer_from_u64(u).as_value(),
            // Ruby parses the exact digits into a Bignum.
            HostNumber::BigInt(digits) => ruby.module_kernel().funcall(*INTEGER, (digits,))?,
            HostNumber::Float(f) => ruby.float_from_f64(f).as_value(),
        },
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

/// Stored JSON (a job's input, a step's result) as plain Ruby objects: parsed in Rust, then
/// walked like any core value, so Ruby never parses JSON text.
pub fn raw_to_ruby(ruby: &Ruby, raw: &RawValue) -> Result<Value, Error> {
    let value: Json = serde_json::from_str(raw.get())
        .map_err(|error| Error::new(ruby.exception_runtime_error(), format!("the store returned invalid JSON: {error}")))?;
    to_ruby(ruby, &value)
}

/// A Ruby value as the JSON the core stores (a handler's output, a step's result).
pub fn from_ruby_raw(ruby: &Ruby, value: Value, root: &str) -> Result<Box<RawValue>, Error> {
    let json = from_ruby(ruby, value, root)?;
    serde_json::value::to_raw_value(&json).map_err(|error| Error::new(ruby.exception_arg_error(), format!("{root}: {error}")))
}

fn walk(ruby: &Ruby, value: Value, depth: usize) -> Result<Json, Failure> {
    // SAFETY: `value` is a live Ruby object held on this stack.
    Ok(match unsafe { rb_sys::RB_TYPE(value.as_raw()) } {
        T::RUBY_T_NIL => Json::Null,
        T::RUBY_T_TRUE => Json::Bool(true),
        T::RUBY_T_FALSE => Json::Bool(false),
        T::RUBY_T_FIXNUM => Json::from(Fixnum::from_value(value).expect("type checked").to_i64()),
        T::RUBY_T_STRING | T::RUBY_T_SYMBOL => Json::String(string(ruby, value)?),
        T::RUBY_T_FLOAT => Json::Number(value::float(Float::from_value(value).expect("type checked").to_f64())?),
        // Exact: the decimal digits become the number, never a Float.
        T::RUBY_T_BIGNUM => {
            let digits = value.to_r_string()?.to_string()?;
            Json::Number(value::big_integer(&digits).expect("Integer#to_s prints decimal digits"))
        }
        T::RUBY_T_ARRAY => {
            check_depth(depth)?;
            let array = RArray::from_value(value).expect("type checked");
            let mut items = Vec::with_capacity(array.len());
            for index in 0..array.len() {
                let item: Value = array.entry(index as isize)?;
                items.push(walk(ruby, item, depth + 1).map_err(|f| f.within(Segment::Index(index)))?);
            }
            Json::Array(items)
        }
        T::RUBY_T_HASH => {
            check_depth(depth)?;
            Json::Object(object(ruby, RHash::from_value(value).expect("type checked"), depth)?)
        }
        _ => match time_of(ruby, value)? {
            Some(time) => Json::String(rfc3339(time)?),
            None => return Err(Failure::new(Problem::Unsupported(value.class().inspect()))),
        },
    })
}

/// A Time as RFC 3339 in UTC, to the microsecond.
fn rfc3339(time: Time) -> Result<String, Failure> {
    let spec = time.timespec()?;
    // Whole microseconds: sub-microsecond digits would make equal times compare unequal.
    let at = DateTime::from_timestamp(spec.tv_sec, (spec.tv_nsec / 1000 * 1000) as u32);
    Ok(at.map_or_else(|| spec.tv_sec.to_string(), |at| at.to_rfc3339_opts(SecondsFormat::Micros, true)))
}

static UTC: LazyId = LazyId::new("utc");

/// A Time, or the Time an ActiveSupport::TimeWithZone stands for (it wraps one without being
/// one); None for anything else.
fn time_of(ruby: &Ruby, value: Value) -> Result<Option<Time>, Error> {
    if let Some(time) = Time::from_value(value) {
        return Ok(Some(time));
    }
    // Looked up here rather than once: ActiveSupport may be loaded after cogwork.
    let Ok(support) = ruby.class_object().const_get::<_, magnus::RModule>("ActiveSupport") else { return Ok(None) };
    let Ok(zoned) = support.const_get::<_, RClass>("TimeWithZone") else { return Ok(None) };
    if !value.is_kind_of(zoned) {
        return Ok(None);
    }
    value.funcall(*UTC, ()).map(Some)
}

fn object(ruby: &Ruby, hash: RHash, depth: usize) -> Result<Map<String, Json>, Failure> {
    let mut map = Map::with_capacity(hash.len());
    let mut failure = None;
    hash.foreach(|key: Value, item: Value| match entry(ruby, key, item, depth) {
        Ok((key, item)) => {
            map.insert(key, item);
            Ok(ForEach::Continue)
        }
        Err(f) => {
            failure = Some(f);
            Ok(ForEach::Stop)
        }
    })?;
    match failure {
        Some(failure) => Err(failure),
        None => Ok(map),
    }
}

fn entry(ruby: &Ruby, key: Value, item: Value, depth: usize) -> Result<(String, Json), Failure> {
    if RString::from_value(key).is_none() && Symbol::from_value(key).is_none() {
        return Err(Failure::new(Problem::KeyType(key.class().inspect())));
    }
    let key = string(ruby, key)?;
    match walk(ruby, item, depth + 1) {
        Ok(item) => Ok((key, item)),
        Err(failure) => Err(failure.within(Segment::Key(key))),
    }
}

/// A String (re-encoded to UTF-8 if need be) or a Symbol's name.
fn string(ruby: &Ruby, value: Value) -> Result<String, Failure> {
    let Some(s) = RString::from_value(value) else {
        return Ok(Symbol::try_convert(value)?.name()?.into_owned());
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

static PATH: LazyId = LazyId::new("path");
static KEYWORD: LazyId = LazyId::new("keyword");
static MESSAGE: LazyId = LazyId::new("message");
static LEVEL: LazyId = LazyId::new("level");

/// Schema violations as Hashes with Symbol keys: `{path: "input.num1", keyword: "type", message: "..."}`.
pub fn violations_to_ruby(ruby: &Ruby, violations: &[SchemaViolation]) -> Result<Value, Error> {
    records(ruby, violations, |v| [(&PATH, &v.path), (&KEYWORD, &v.keyword), (&MESSAGE, &v.message)])
}

/// Console lines as Hashes with Symbol keys: `{level: "info", message: "..."}`.
pub fn console_to_ruby(ruby: &Ruby, lines: &[ConsoleLine]) -> Result<Value, Error> {
    records(ruby, lines, |line| [(&LEVEL, &line.level), (&MESSAGE, &line.message)])
}

/// An Array of small Hashes with Symbol keys and String values.
fn records<T, const N: usize>(ruby: &Ruby, items: &[T], fields: impl Fn(&T) -> [(&LazyId, &String); N]) -> Result<Value, Error> {
    let array = ruby.ary_new_capa(items.len());
    for item in items {
        let hash = ruby.hash_new();
        for (key, value) in fields(item) {
            hash.aset(**key, ruby.str_new(value))?;
        }
        array.push(hash)?;
    }
    Ok(array.as_value())
}
