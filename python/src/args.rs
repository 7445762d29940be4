//! Argument conversions shared by the modules, with the original's rules.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt};

/// `bytes(obj)` as the original's `PyObject_Bytes`: bytes pass through,
/// anything with `__bytes__` or the buffer protocol (bytearray, memoryview,
/// array) or an iterable of small ints is converted. An int is refused (it
/// would otherwise become that many zero bytes).
pub fn to_bytes<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    // Exact bytes first: a pointer compare, where the subclass check is a
    // call into the interpreter under abi3.
    if let Ok(b) = obj.cast_exact::<PyBytes>() {
        return Ok(b.clone());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    if let Ok(ba) = obj.cast::<PyByteArray>() {
        return Ok(PyBytes::new(obj.py(), &ba.to_vec()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "cannot convert '{}' object to bytes",
            obj.get_type().name()?
        )));
    }
    let b = obj.py().get_type::<PyBytes>().call1((obj,))?;
    Ok(b.cast_into::<PyBytes>()?)
}
