//! `rtpsynth.RtpUtils`: µ-law and linear resampling helpers
//! (`rtpsynth::codec`), bit-exact with the original.

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyInt};

use rtpsynth::codec::g711;
use rtpsynth::codec::resample::{self, ResampleError};

use std::ffi::CStr;

use crate::buffer::{as_i16, as_i16_mut, Contig};
use crate::fastcall::{self, RawFunctionO};

/// Raw bytes of a bytes-like object and its item size, for interpreters
/// without the buffer protocol in the stable ABI (before 3.11): objects
/// other than bytes and bytearray go through `tobytes()` (one copy).
fn raw_buffer(obj: &Bound<'_, PyAny>) -> PyResult<(Vec<u8>, usize)> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok((b.as_bytes().to_vec(), 1));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok((b.to_vec(), 1));
    }
    let py = obj.py();
    // array.array: its own tobytes() and itemsize, one call less.
    if obj.is_instance(array_ctor(py)?.bind(py))? {
        let itemsize: usize = obj.getattr(pyo3::intern!(py, "itemsize"))?.extract()?;
        let data = obj.call_method0(pyo3::intern!(py, "tobytes"))?;
        let data = data.cast::<PyBytes>()?.as_bytes().to_vec();
        return Ok((data, itemsize));
    }
    let mv = py.get_type::<pyo3::types::PyMemoryView>().call1((obj,))?;
    if !mv.getattr("c_contiguous")?.extract::<bool>()? {
        return Err(pyo3::exceptions::PyBufferError::new_err(
            "memoryview: underlying buffer is not C-contiguous",
        ));
    }
    let itemsize: usize = mv.getattr("itemsize")?.extract()?;
    let data = mv.call_method0("tobytes")?;
    let data = data.cast::<PyBytes>()?.as_bytes().to_vec();
    Ok((data, itemsize))
}

/// Visit the samples of a PCM16 object (itemsize 2, or bytes-like of even
/// length) with the original's checks and messages. With the buffer
/// protocol (3.11+) nothing is copied unless the memory is unaligned.
fn with_pcm16<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[i16]) -> R) -> PyResult<R> {
    fn check(raw: &[u8], itemsize: isize) -> PyResult<()> {
        match itemsize {
            2 if raw.len() % 2 != 0 => {
                Err(PyValueError::new_err("PCM16 buffer must be 2-byte aligned"))
            }
            1 if raw.len() % 2 != 0 => Err(PyValueError::new_err(
                "PCM16 byte buffer length must be even",
            )),
            1 | 2 => Ok(()),
            _ => Err(PyTypeError::new_err(
                "expected a PCM16 buffer (itemsize 2) or PCM16 bytes",
            )),
        }
    }
    // Exact-type checks are pointer compares; bytes subclasses take the
    // buffer path with the same result.
    if let Ok(b) = obj.cast_exact::<PyBytes>() {
        let raw = b.as_bytes();
        check(raw, 1)?;
        return Ok(f(&as_i16(raw)));
    }
    if let Some(view) = Contig::of(obj) {
        let view = view?;
        let raw = view.bytes();
        check(raw, view.itemsize())?;
        return Ok(f(&as_i16(raw)));
    }
    let (raw, itemsize) = raw_buffer(obj)?;
    check(&raw, itemsize as isize)?;
    Ok(f(&as_i16(&raw)))
}

/// Whether `obj` is exactly an array.array, bytes or bytearray (none is an
/// int), told by pointer compares: the common arguments skip the int
/// check, a call into the interpreter under abi3.
fn is_plain_buffer(obj: &Bound<'_, PyAny>) -> bool {
    let tp = obj.get_type_ptr().cast::<pyo3::ffi::PyObject>();
    obj.is_exact_instance_of::<PyBytes>()
        || obj.is_exact_instance_of::<PyByteArray>()
        || array_ctor(obj.py()).is_ok_and(|a| std::ptr::eq(a.as_ptr(), tp))
}

/// The `array.array` type.
fn array_ctor(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    static ARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    ARRAY.get_or_try_init(py, || {
        py.import("array")?.getattr("array").map(Bound::unbind)
    })
}

/// `array.array('h', samples)`, the samples written by `fill` straight
/// into the bytes the array is made from.
fn array_h_with<'py>(
    py: Python<'py>,
    n: usize,
    fill: impl FnOnce(&mut [i16]) -> PyResult<()>,
) -> PyResult<Bound<'py, PyAny>> {
    let ctor = array_ctor(py)?;
    let raw = PyBytes::new_with(py, n * 2, |buf| match as_i16_mut(buf) {
        Some(out) => fill(out),
        None => {
            let mut out = vec![0i16; n];
            fill(&mut out)?;
            for (o, s) in buf.chunks_exact_mut(2).zip(&out) {
                o.copy_from_slice(&s.to_ne_bytes());
            }
            Ok(())
        }
    })?;
    ctor.bind(py).call1((pyo3::intern!(py, "h"), raw))
}

/// `linear2ulaw` and `ulaw2linear`, `METH_O` functions of their own
/// (`crate::fastcall`) as the original's: PyO3's generic function call
/// cost as much as the 20 ms conversion.
struct Linear2Ulaw;

impl RawFunctionO for Linear2Ulaw {
    const NAME: &'static CStr = c"linear2ulaw";
    const DOC: &'static CStr = c"linear2ulaw($module, pcm, /)
--

linear2ulaw(pcm) -> bytes | int

µ-law encode. An int is encoded as one sample (values beyond 16 bits
clip) and an int is returned; a PCM16 buffer (array('h'), or bytes of
native-endian 16-bit samples) gives bytes.";

    fn call<'py>(arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        linear2ulaw(arg.py(), arg).map(|o| o.into_bound(arg.py()))
    }
}

struct Ulaw2Linear;

impl RawFunctionO for Ulaw2Linear {
    const NAME: &'static CStr = c"ulaw2linear";
    const DOC: &'static CStr = c"ulaw2linear($module, data, /)
--

ulaw2linear(data) -> array('h') | int

µ-law decode. An int is decoded as one code word (its low 8 bits) and
an int is returned; a bytes-like object gives an array('h').";

    fn call<'py>(arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        ulaw2linear(arg.py(), arg).map(|o| o.into_bound(arg.py()))
    }
}

/// µ-law encode (see [`Linear2Ulaw`]).
fn linear2ulaw(py: Python<'_>, pcm: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if !is_plain_buffer(pcm) && pcm.is_instance_of::<PyInt>() {
        let v: i64 = pcm.extract()?;
        let s = v.clamp(i16::MIN as i64, i16::MAX as i64) as i16;
        return Ok(g711::linear2ulaw(s).into_pyobject(py)?.into_any().unbind());
    }
    let out = with_pcm16(pcm, |s| {
        PyBytes::new_with(py, s.len(), |buf| {
            g711::linear2ulaw_buf(s, buf);
            Ok(())
        })
    })??;
    Ok(out.into_any().unbind())
}

/// µ-law decode (see [`Ulaw2Linear`]).
fn ulaw2linear(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if data.is_instance_of::<PyInt>() {
        let v: i64 = data.extract()?;
        let s = g711::ulaw2linear((v & 0xff) as u8);
        return Ok(s.into_pyobject(py)?.into_any().unbind());
    }
    let decode = |raw: &[u8]| {
        array_h_with(py, raw.len(), |out| {
            g711::ulaw2linear_buf(raw, out);
            Ok(())
        })
        .map(Bound::unbind)
    };
    if let Ok(b) = data.cast::<PyBytes>() {
        return decode(b.as_bytes());
    }
    if let Some(view) = Contig::of(data) {
        let view = view?;
        if view.itemsize() != 1 {
            return Err(PyTypeError::new_err("ulaw2linear expects bytes-like input"));
        }
        return decode(view.bytes());
    }
    let (raw, itemsize) = raw_buffer(data)?;
    if itemsize != 1 {
        return Err(PyTypeError::new_err("ulaw2linear expects bytes-like input"));
    }
    decode(&raw)
}

/// resample_linear(pcm, in_rate, out_rate) -> array('h')
///
/// Linear-interpolation resampling of PCM16 (array('h') or bytes) from
/// `in_rate` to `out_rate`; round(n * out_rate / in_rate) samples out (at
/// least one for non-empty input), rounded half to even and clipped.
#[pyfunction]
fn resample_linear(
    py: Python<'_>,
    pcm: &Bound<'_, PyAny>,
    in_rate: i32,
    out_rate: i32,
) -> PyResult<Py<PyAny>> {
    if in_rate <= 0 || out_rate <= 0 {
        return Err(PyValueError::new_err("in_rate and out_rate must be > 0"));
    }
    let out = with_pcm16(pcm, |s| {
        let n = resample::output_len(s.len(), in_rate, out_rate).map_err(resample_err)?;
        array_h_with(py, n, |out| {
            resample::resample_linear(s, in_rate, out_rate, out).map_err(resample_err)?;
            Ok(())
        })
    })??;
    Ok(out.unbind())
}

fn resample_err(e: ResampleError) -> PyErr {
    match e {
        ResampleError::BadRate => PyValueError::new_err("in_rate and out_rate must be > 0"),
        ResampleError::Overflow | ResampleError::OutputTooSmall(_) => {
            PyOverflowError::new_err("resampled output is too large")
        }
    }
}

/// Namespace class with the module's functions as static methods, as in
/// the original (`RtpUtils.linear2ulaw(...)`).
#[pyclass(module = "rtpsynth.RtpUtils", name = "RtpUtils")]
pub struct RtpUtils;

#[pymethods]
impl RtpUtils {
    #[new]
    fn new() -> Self {
        RtpUtils
    }

    /// linear2ulaw(pcm) -> bytes | int: see the module function.
    #[staticmethod]
    #[pyo3(name = "linear2ulaw")]
    fn s_linear2ulaw(py: Python<'_>, pcm: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        linear2ulaw(py, pcm)
    }

    /// ulaw2linear(data) -> array('h') | int: see the module function.
    #[staticmethod]
    #[pyo3(name = "ulaw2linear")]
    fn s_ulaw2linear(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        ulaw2linear(py, data)
    }

    /// resample_linear(pcm, in_rate, out_rate) -> array('h'): see the
    /// module function.
    #[staticmethod]
    #[pyo3(name = "resample_linear")]
    fn s_resample_linear(
        py: Python<'_>,
        pcm: &Bound<'_, PyAny>,
        in_rate: i32,
        out_rate: i32,
    ) -> PyResult<Py<PyAny>> {
        resample_linear(py, pcm, in_rate, out_rate)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RtpUtils>()?;
    m.add_function(wrap_pyfunction!(resample_linear, m)?)?;
    fastcall::add_function_o::<Linear2Ulaw>(m)?;
    fastcall::add_function_o::<Ulaw2Linear>(m)?;
    Ok(())
}
