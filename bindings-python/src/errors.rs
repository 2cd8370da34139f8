//! The one function mapping a core `Error` onto the Python exception hierarchy.
//!
//! The classes are defined in Python (`cogwork/errors.py`, with their documentation), named
//! by the core's `ErrorKind::class_name`, and looked up once, at the first error. Each
//! exception keeps the core's message (what, where, what to do) and carries the core's
//! details as attributes (`task`, `violations`, `console`...).

use cogwork_core::{Detail, Error, ErrorKind, Field};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

use crate::convert;

/// Indexed by `ErrorKind::index`.
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();
/// Interned attribute names, indexed by `Field::index`.
static ATTRIBUTES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

/// Maps a core error to its Python exception, with the details as attributes.
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    // Should building it fail (cogwork.errors cannot be imported), raise that failure instead.
    exception(py, &error).unwrap_or_else(|failure| failure)
}

fn exception(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let err = PyErr::from_type(class(py, error.kind())?, error.to_string());
    let value = err.value(py);
    for (field, detail) in error.details() {
        value.setattr(attribute(py, field), detail_to_python(py, detail)?)?;
    }
    Ok(err)
}

fn class(py: Python<'_>, kind: ErrorKind) -> PyResult<Bound<'_, PyType>> {
    let classes = CLASSES.get_or_try_init(py, || {
        let errors = py.import("cogwork.errors")?;
        ErrorKind::ALL
            .iter()
            .map(|kind| Ok(errors.getattr(kind.class_name())?.cast_into::<PyType>().map_err(PyErr::from)?.unbind()))
            .collect::<PyResult<Vec<_>>>()
    })?;
    Ok(classes[kind.index()].bind(py).clone())
}

fn attribute(py: Python<'_>, field: Field) -> &Bound<'_, PyString> {
    let names = ATTRIBUTES.get_or_init(py, || Field::ALL.iter().map(|f| PyString::intern(py, f.name()).unbind()).collect());
    names[field.index()].bind(py)
}

fn detail_to_python<'py>(py: Python<'py>, detail: Detail<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match detail {
        Detail::Text(text) => PyString::new(py, text).into_any(),
        Detail::Integer(n) => n.into_pyobject(py)?.into_any(),
        Detail::Flag(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
        Detail::Seconds(seconds) => seconds.into_pyobject(py)?.into_any(),
        Detail::Path(path) => PyString::new(py, &path.to_string_lossy()).into_any(),
        Detail::Json(value) => convert::to_python(py, value)?,
        Detail::Violations(violations) => convert::violations_to_python(py, violations)?.into_any(),
        Detail::Console(lines) => convert::console_to_python(py, lines)?.into_any(),
        Detail::Nothing => py.None().into_bound(py),
    })
}
