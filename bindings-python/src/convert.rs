//! Python values ↔ core values (`serde_json::Value`), walked directly: no JSON text crosses
//! the boundary. Exact types take a fast path (one pointer comparison each); subclasses such
//! as `IntEnum`, `StrEnum` or `OrderedDict` the slower one. Integers of any size stay exact:
//! serde_json's `arbitrary_precision` keeps a number's decimal text. What JSON cannot hold
//! raises a TypeError or ValueError naming its path (`input.items[3].at`), and that path is
//! built only on failure, while the error unwinds.

use std::str::FromStr;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deeper nesting is almost surely a container that holds itself; without a limit the walk
/// would overflow the stack.
const MAX_DEPTH: usize = 200;

/// Converts `obj` into a core value; `root` names it in error messages (`input`).
pub fn to_value(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    walk(obj, 0).map_err(|failure| failure.into_py_err(obj.py(), root))
}

/// Converts a core value into Python objects: dict, list, str, int, float, bool, None.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => number_to_python(py, n)?,
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let items = items.iter().map(|item| to_python(py, item)).collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(PyString::new(py, key), to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn number_to_python<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    let text = n.as_str();
    if text.contains(['.', 'e', 'E']) {
        // Out-of-range text such as 1e400 becomes inf, as Python's float() does.
        let float = f64::from_str(text).map_err(|e| PyValueError::new_err(format!("bad number {text}: {e}")))?;
        return Ok(PyFloat::new(py, float).into_any());
    }
    // An integer beyond 64 bits: Python parses the decimal text exactly.
    py.get_type::<PyInt>().call1((text,))
}

/// Why a conversion failed. `path` collects the segments while the error unwinds, innermost
/// first, so a successful conversion never pays for it.
struct Failure {
    problem: Problem,
    path: Vec<Segment>,
}

enum Problem {
    Unsupported(Py<PyAny>),
    KeyNotStr(Py<PyAny>),
    NotFinite(f64),
    TooDeep,
    Python(PyErr),
}

enum Segment {
    Key(String),
    Index(usize),
}

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Self {
        Failure { problem: Problem::Python(err), path: Vec::new() }
    }
}

impl Failure {
    fn new(problem: Problem) -> Self {
        Failure { problem, path: Vec::new() }
    }

    fn at(mut self, segment: Segment) -> Self {
        self.path.push(segment);
        self
    }

    fn into_py_err(self, py: Python<'_>, root: &str) -> PyErr {
        let mut path = root.to_owned();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Index(i) => path += &format!("[{i}]"),
                Segment::Key(key) if is_identifier(key) => path += &format!(".{key}"),
                Segment::Key(key) => path += &format!("[{key:?}]"),
            }
        }
        let type_name = |obj: &Py<PyAny>| {
            let name = obj.bind(py).get_type().fully_qualified_name();
            name.map_or_else(|_| "?".to_owned(), |name| name.to_string())
        };
        match self.problem {
            Problem::Unsupported(obj) => PyTypeError::new_err(format!(
                "{path} is of type {}, which cannot be passed to a task; use dict, list, tuple, str, int, float, bool or None",
                type_name(&obj)
            )),
            Problem::KeyNotStr(key) => {
                PyTypeError::new_err(format!("{path} has a key of type {}; keys must be str", type_name(&key)))
            }
            Problem::NotFinite(f) => PyValueError::new_err(format!("{path} is {f}, which JSON cannot represent")),
            Problem::TooDeep => PyValueError::new_err(format!(
                "{path} is nested more than {MAX_DEPTH} levels deep; does a container hold itself?"
            )),
            Problem::Python(err) => {
                let wrapped = PyValueError::new_err(format!("{path} cannot be converted: {err}"));
                wrapped.set_cause(py, Some(err));
                wrapped
            }
        }
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn walk(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Failure> {
    if let Ok(s) = obj.cast_exact::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        object(dict, depth)
    } else if let Ok(int) = obj.cast_exact::<PyInt>() {
        Ok(integer(int)?)
    } else if let Ok(list) = obj.cast_exact::<PyList>() {
        array(list.iter(), depth)
    } else if let Ok(float) = obj.cast_exact::<PyFloat>() {
        float_value(float.value())
    } else if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else {
        subclass(obj, depth)
    }
}

/// The slow path: tuples and subclasses of the JSON-like types. Their data is read directly,
/// never through methods a subclass may override (`IntEnum.__str__`, `OrderedDict.items`).
fn subclass(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Failure> {
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        array(tuple.iter(), depth)
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        object(dict, depth)
    } else if let Ok(list) = obj.cast::<PyList>() {
        array(list.iter(), depth)
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(int) = obj.cast::<PyInt>() {
        Ok(integer(int)?)
    } else if let Ok(float) = obj.cast::<PyFloat>() {
        float_value(float.value())
    } else {
        Err(Failure::new(Problem::Unsupported(obj.clone().unbind())))
    }
}

fn object(dict: &Bound<'_, PyDict>, depth: usize) -> Result<Value, Failure> {
    if depth == MAX_DEPTH {
        return Err(Failure::new(Problem::TooDeep));
    }
    let mut map = Map::new();
    for (key, item) in dict.iter() {
        let key = match key.cast::<PyString>() {
            Ok(key) => key.to_cow()?.into_owned(),
            Err(_) => return Err(Failure::new(Problem::KeyNotStr(key.unbind()))),
        };
        match walk(&item, depth + 1) {
            Ok(value) => map.insert(key, value),
            Err(failure) => return Err(failure.at(Segment::Key(key))),
        };
    }
    Ok(Value::Object(map))
}

fn array<'py>(items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>, depth: usize) -> Result<Value, Failure> {
    if depth == MAX_DEPTH {
        return Err(Failure::new(Problem::TooDeep));
    }
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        values.push(walk(&item, depth + 1).map_err(|failure| failure.at(Segment::Index(i)))?);
    }
    Ok(Value::Array(values))
}

fn integer(int: &Bound<'_, PyInt>) -> PyResult<Value> {
    if let Ok(i) = int.extract::<i64>() {
        return Ok(Value::from(i));
    }
    // Beyond 64 bits: carry the decimal text. `int.__repr__` rather than `str()`, which a
    // subclass may override (an IntEnum prints its name).
    let text = int.py().get_type::<PyInt>().call_method1(pyo3::intern!(int.py(), "__repr__"), (int,))?;
    let number = Number::from_str(&text.cast_into::<PyString>()?.to_cow()?)
        .map_err(|e| PyValueError::new_err(format!("int has no JSON form: {e}")))?;
    Ok(Value::Number(number))
}

fn float_value(f: f64) -> Result<Value, Failure> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| Failure::new(Problem::NotFinite(f)))
}
