//! The one function mapping a core `Error` onto the `Cogwork::Error` hierarchy.
//!
//! The classes are defined in Ruby (gem/lib/cogwork/errors.rb, with their documentation and
//! readers), named by the core's `ErrorKind::class_name`, and looked up once, at the first
//! error. Each exception keeps the core's message (what, where, what to do) and carries the
//! core's details as instance variables (`@task`, `@violations`, `@console`...).

use std::sync::OnceLock;

use cogwork_core::{Detail, Error as CoreError, ErrorKind, Field};
use magnus::value::{Opaque, OpaqueId, ReprValue};
use magnus::{Class, Error, ExceptionClass, IntoValue, Module, Object, RModule, RObject, Ruby, Value};

use crate::convert;

/// Indexed by `ErrorKind::index`.
static CLASSES: OnceLock<Vec<Opaque<ExceptionClass>>> = OnceLock::new();
/// `@task`, `@violations`...: indexed by `Field::index`.
static IVARS: OnceLock<Vec<OpaqueId>> = OnceLock::new();

/// Maps a core error to its `Cogwork::Error` subclass, details included.
pub fn to_ruby(ruby: &Ruby, error: CoreError) -> Error {
    match exception(ruby, &error) {
        Ok(exception) => exception,
        Err(failure) => failure,
    }
}

fn exception(ruby: &Ruby, error: &CoreError) -> Result<Error, Error> {
    let exception = class(ruby, error.kind())?.new_instance((error.to_string(),))?;
    let object = RObject::from_value(exception.as_value()).expect("an exception is a plain object");
    for (field, detail) in error.details() {
        object.ivar_set(ivar(ruby, field), detail_to_ruby(ruby, detail)?)?;
    }
    Ok(exception.into())
}

fn class(ruby: &Ruby, kind: ErrorKind) -> Result<ExceptionClass, Error> {
    let classes = match CLASSES.get() {
        Some(classes) => classes,
        None => {
            let cogwork: RModule = ruby.class_object().const_get("Cogwork")?;
            let lookup = |kind: &ErrorKind| -> Result<_, Error> {
                let class: ExceptionClass = cogwork.const_get(kind.class_name())?;
                // Pinned and kept alive for the life of the process, as the table is.
                ruby.gc_register_mark_object(class);
                Ok(Opaque::from(class))
            };
            let classes = ErrorKind::ALL.iter().map(lookup).collect::<Result<_, _>>()?;
            CLASSES.get_or_init(|| classes)
        }
    };
    Ok(ruby.get_inner(classes[kind.index()]))
}

fn ivar(ruby: &Ruby, field: Field) -> OpaqueId {
    let ivars = IVARS.get_or_init(|| Field::ALL.iter().map(|field| ruby.intern(&format!("@{}", field.name())).into()).collect());
    ivars[field.index()]
}

fn detail_to_ruby(ruby: &Ruby, detail: Detail<'_>) -> Result<Value, Error> {
    Ok(match detail {
        Detail::Text(text) => ruby.str_new(text).as_value(),
        Detail::Integer(n) => ruby.integer_from_u64(n).as_value(),
        Detail::Flag(flag) => flag.into_value_with(ruby),
        Detail::Seconds(seconds) => ruby.float_from_f64(seconds).as_value(),
        Detail::Path(path) => ruby.str_new(&path.to_string_lossy()).as_value(),
        Detail::Json(value) => convert::to_ruby(ruby, value)?,
        Detail::Violations(violations) => convert::violations_to_ruby(ruby, violations)?,
        Detail::Console(lines) => convert::console_to_ruby(ruby, lines)?,
        Detail::Nothing => ruby.qnil().as_value(),
    })
}
