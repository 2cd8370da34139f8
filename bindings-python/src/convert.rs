//! Python values ↔ core values (`serde_json::Value`), walked directly: no JSON text crosses
//! the boundary. Exact types take a fast path (one pointer comparison each); subclasses such
//! as `IntEnum`, `StrEnum` or `OrderedDict` the slower one. Integers of any size stay exact.
//! What JSON cannot hold fails with the core's `ConversionError`, which names its path
//! (`input.items[3].at`); that path is built only on failure, while the error unwinds.

use cogwork_core::value::{self, check_depth, ConversionError, HostNumber, HostTypes, Problem, ProblemClass, Segment};
use cogwork_core::{ConsoleLine, SchemaViolation};
use pyo3::exceptions::{PyTypeError, PyUnicodeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

type Failure = ConversionError<PyErr>;

/// What Python can pass, for the remedy an error message suggests.
const PYTHON_TYPES: HostTypes =
    HostTypes { values: "dict, list, tuple, str, int, float, bool, None or datetime", keys: "str" };

/// Converts `obj` into a core value; `root` names it in error messages (`input`).
pub fn to_value(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    walk(obj, 0).map_err(|failure| {
        let message = failure.message(root, &PYTHON_TYPES);
        let error = match failure.class() {
            ProblemClass::Type => PyTypeError::new_err(message),
            ProblemClass::Value => PyValueError::new_err(message),
            ProblemClass::Encoding => PyUnicodeError::new_err(message),
        };
        if let Problem::Host(cause) = failure.problem {
            error.set_cause(obj.py(), Some(cause));
        }
        error
    })
}

/// Converts a core value into Python objects: dict, list, str, int, float, bool, None.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match HostNumber::of(n) {
            HostNumber::Int(i) => i.into_pyobject(py)?.into_any(),
            HostNumber::UInt(u) => u.into_pyobject(py)?.into_any(),
            // Python parses the exact digits.
            HostNumber::BigInt(digits) => py.get_type::<PyInt>().call1((digits,))?,
            HostNumber::Float(f) => PyFloat::new(py, f).into_any(),
        },
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

/// Converts `obj` into the stored form of a value (job input, handler output).
pub fn to_raw(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Box<RawValue>> {
    let value = to_value(obj, root)?;
    serde_json::value::to_raw_value(&value).map_err(|e| PyValueError::new_err(format!("{root}: {e}")))
}

/// A duration given in seconds, checked (not negative, not absurd); `option` names it.
pub fn seconds(seconds: f64, option: &str) -> PyResult<std::time::Duration> {
    value::seconds(seconds, option).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Converts a stored value (the store keeps values as JSON) into Python objects.
pub fn raw_to_python<'py>(py: Python<'py>, raw: &RawValue) -> PyResult<Bound<'py, PyAny>> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| PyValueError::new_err(format!("a stored value is not JSON: {e}")))?;
    to_python(py, &value)
}

/// An optional stored value as Python objects, None when absent.
pub fn optional_raw_to_python<'py>(py: Python<'py>, raw: Option<&RawValue>) -> PyResult<Bound<'py, PyAny>> {
    raw.map_or_else(|| Ok(py.None().into_bound(py)), |raw| raw_to_python(py, raw))
}

/// Schema violations as dicts (`path`, `keyword`, `message`), as pydantic reports errors.
pub fn violations_to_python<'py>(py: Python<'py>, violations: &[SchemaViolation]) -> PyResult<Bound<'py, PyList>> {
    records(py, violations, |v| {
        [(intern!(py, "path"), &v.path), (intern!(py, "keyword"), &v.keyword), (intern!(py, "message"), &v.message)]
    })
}

/// Console lines as dicts (`level`, `message`).
pub fn console_to_python<'py>(py: Python<'py>, lines: &[ConsoleLine]) -> PyResult<Bound<'py, PyList>> {
    records(py, lines, |line| [(intern!(py, "level"), &line.level), (intern!(py, "message"), &line.message)])
}

/// A list of small dicts with interned str keys and str values.
fn records<'py, T, const N: usize>(
    py: Python<'py>,
    items: &[T],
    fields: impl Fn(&T) -> [(&Bound<'py, PyString>, &String); N],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for item in items {
        let dict = PyDict::new(py);
        for (key, value) in fields(item) {
            dict.set_item(key, value)?;
        }
        list.append(dict)?;
    }
    Ok(list)
}

fn walk(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Failure> {
    if let Ok(s) = obj.cast_exact::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
        object(dict, depth)
    } else if let Ok(int) = obj.cast_exact::<PyInt>() {
        integer(int)
    } else if let Ok(list) = obj.cast_exact::<PyList>() {
        array(list.iter(), depth)
    } else if let Ok(float) = obj.cast_exact::<PyFloat>() {
        Ok(Value::Number(value::float(float.value())?))
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
        integer(int)
    } else if let Ok(float) = obj.cast::<PyFloat>() {
        Ok(Value::Number(value::float(float.value())?))
    } else if let Some(text) = datetime(obj)? {
        Ok(Value::String(text))
    } else {
        Err(Failure::new(Problem::Unsupported(type_name(obj))))
    }
}

/// `datetime.datetime` and `datetime.timezone.utc`, looked up once.
static DATETIME: PyOnceLock<(Py<PyType>, Py<PyAny>)> = PyOnceLock::new();

/// A `datetime` as an RFC 3339 string in UTC to the microsecond (`2026-11-30T12:00:00.000000Z`),
/// which JavaScript's `new Date()` and Python's `fromisoformat` both read back. An aware one
/// is converted to UTC; a naive one is local time, as `datetime.timestamp()` takes it.
fn datetime(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let py = obj.py();
    let (class, utc) = DATETIME.get_or_try_init(py, || -> PyResult<_> {
        let module = py.import("datetime")?;
        let class = module.getattr("datetime")?.cast_into::<PyType>().map_err(PyErr::from)?;
        Ok((class.unbind(), module.getattr("timezone")?.getattr("utc")?.unbind()))
    })?;
    if !obj.is_instance(class.bind(py))? {
        return Ok(None);
    }
    let at = obj.call_method1(intern!(py, "astimezone"), (utc.bind(py),))?;
    let part = |name: &Bound<'_, PyString>| at.getattr(name)?.extract::<u32>();
    Ok(Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        part(intern!(py, "year"))?,
        part(intern!(py, "month"))?,
        part(intern!(py, "day"))?,
        part(intern!(py, "hour"))?,
        part(intern!(py, "minute"))?,
        part(intern!(py, "second"))?,
        part(intern!(py, "microsecond"))?,
    )))
}

fn object(dict: &Bound<'_, PyDict>, depth: usize) -> Result<Value, Failure> {
    check_depth(depth)?;
    let mut map = Map::with_capacity(dict.len());
    for (key, item) in dict.iter() {
        let key = match key.cast::<PyString>() {
            Ok(key) => key.to_cow()?.into_owned(),
            Err(_) => return Err(Failure::new(Problem::KeyType(type_name(&key)))),
        };
        match walk(&item, depth + 1) {
            Ok(value) => map.insert(key, value),
            Err(failure) => return Err(failure.within(Segment::Key(key))),
        };
    }
    Ok(Value::Object(map))
}

fn array<'py>(items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>, depth: usize) -> Result<Value, Failure> {
    check_depth(depth)?;
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        values.push(walk(&item, depth + 1).map_err(|failure| failure.within(Segment::Index(i)))?);
    }
    Ok(Value::Array(values))
}

fn integer(int: &Bound<'_, PyInt>) -> Result<Value, Failure> {
    if let Ok(i) = int.extract::<i64>() {
        return Ok(Value::from(i));
    }
    // Beyond 64 bits: carry the decimal digits. `int.__repr__` rather than `str()`, which a
    // subclass may override (an IntEnum prints its name).
    let py = int.py();
    let digits = py.get_type::<PyInt>().call_method1(intern!(py, "__repr__"), (int,))?;
    let digits = digits.cast_into::<PyString>().map_err(PyErr::from)?;
    Ok(Value::Number(value::big_integer(&digits.to_cow()?).expect("int.__repr__ prints decimal digits")))
}

/// `datetime.datetime`, `set`: the name a Python programmer would look up.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().fully_qualified_name().map_or_else(|_| "?".to_owned(), |name| name.to_string())
}
