//! `cogwork_convert_bench`: the binding's conversions alone, for bench/python/cogwork_bench.py.

use pyo3::prelude::*;

// The very module the wheel compiles; the benchmark calls the two walks it measures.
#[allow(dead_code)]
#[path = "../../../../bindings-python/src/convert.rs"]
mod convert;

#[pymodule]
mod cogwork_convert_bench {
    use pyo3::prelude::*;

    /// Converts `value` into a core value and drops it: the way in.
    #[pyfunction]
    fn into_core(value: &Bound<'_, PyAny>) -> PyResult<()> {
        super::convert::to_value(value, "value").map(drop)
    }

    /// Converts `value` into a core value and back into Python objects: in and out.
    #[pyfunction]
    fn round_trip<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        super::convert::to_python(value.py(), &super::convert::to_value(value, "value")?)
    }
}
