//! The buffer protocol where the running interpreter has it in the stable
//! ABI (CPython 3.11 and later), for reading array('h'), memoryview and
//! other bytes-like arguments without a copy, as the original's
//! `PyObject_GetBuffer(obj, &view, PyBUF_CONTIG_RO)`.
//!
//! pyo3's `PyBuffer` is compiled out of an abi3-py39 build, so the two
//! functions and `Py_buffer` (whose layout has not changed since 3.3 and is
//! part of the limited API from 3.11) are declared here. Both functions are
//! exported by every CPython 3 (so the module loads on 3.9 and 3.10 too);
//! they are only called when the interpreter reports 3.11 or later, where
//! the stable ABI promises them. Older interpreters take the caller's
//! fallback path.

use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::ffi::{PyObject, Py_ssize_t};
use pyo3::prelude::*;

/// `Py_buffer` (Include/pybuffer.h).
#[repr(C)]
struct RawView {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_ND`, which is also `PyBUF_CONTIG_RO`: C-contiguous, read-only
/// access is enough, no format string.
const PYBUF_CONTIG_RO: c_int = 0x0008;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut RawView, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawView);
}

/// 0: not asked yet, 1: no buffer protocol in the stable ABI, 2: there is.
static HAVE_BUFFER_API: AtomicU8 = AtomicU8::new(0);

fn have_buffer_api(py: Python<'_>) -> bool {
    match HAVE_BUFFER_API.load(Ordering::Relaxed) {
        0 => {
            let yes = py.version_info() >= (3, 11);
            HAVE_BUFFER_API.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        v => v == 2,
    }
}

/// A C-contiguous view of an object's memory, released on drop. The
/// exporter keeps the memory in place (an array cannot be resized) while
/// the view is held.
pub struct Contig<'py> {
    view: RawView,
    // The GIL is held for 'py, so drop (PyBuffer_Release) runs with it.
    _py: PhantomData<Python<'py>>,
}

impl<'py> Contig<'py> {
    /// The view of `obj`, as the original's `PyBUF_CONTIG_RO` request
    /// (same errors: TypeError for objects without the buffer protocol,
    /// BufferError for non-contiguous ones), or None when this interpreter
    /// has no buffer protocol in the stable ABI.
    pub fn of(obj: &Bound<'py, PyAny>) -> Option<PyResult<Self>> {
        let py = obj.py();
        if !have_buffer_api(py) {
            return None;
        }
        let mut view = RawView {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        };
        // SAFETY: the GIL is held ('py), `obj` is a live object, `view` is
        // a writable Py_buffer-shaped struct; the interpreter is 3.11 or
        // later, where PyObject_GetBuffer is in the stable ABI.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut view, PYBUF_CONTIG_RO) };
        if rc != 0 {
            return Some(Err(PyErr::fetch(py)));
        }
        Some(Ok(Contig {
            view,
            _py: PhantomData,
        }))
    }

    /// Size of one item in bytes (1 for bytes, 2 for array('h')).
    pub fn itemsize(&self) -> isize {
        self.view.itemsize
    }

    /// The viewed bytes.
    pub fn bytes(&self) -> &[u8] {
        let len = usize::try_from(self.view.len).unwrap_or(0);
        if len == 0 || self.view.buf.is_null() {
            return &[];
        }
        // SAFETY: a successful PyBUF_CONTIG_RO request gives `len`
        // contiguous readable bytes at `buf`, valid until the view is
        // released, which happens only when `self` (and so this borrow)
        // is dropped. Exporters refuse to resize while a view is held.
        unsafe { std::slice::from_raw_parts(self.view.buf.cast::<u8>(), len) }
    }
}

impl Drop for Contig<'_> {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer
        // and is released exactly once, with the GIL held ('py).
        unsafe { PyBuffer_Release(&mut self.view) }
    }
}

/// Native-endian 16-bit samples of `raw` (of even length): borrowed when
/// `raw` is 2-byte aligned (array('h') and bytes always are), else copied.
pub fn as_i16(raw: &[u8]) -> std::borrow::Cow<'_, [i16]> {
    // SAFETY: every bit pattern is a valid i16, and align_to only puts
    // properly aligned, in-bounds elements in the middle slice.
    let (head, mid, tail) = unsafe { raw.align_to::<i16>() };
    if head.is_empty() && tail.is_empty() {
        return std::borrow::Cow::Borrowed(mid);
    }
    std::borrow::Cow::Owned(
        raw.chunks_exact(2)
            .map(|c| i16::from_ne_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// The same for output: `out` as i16 samples when it is 2-byte aligned.
pub fn as_i16_mut(out: &mut [u8]) -> Option<&mut [i16]> {
    // SAFETY: every bit pattern is a valid i16 and u8, and align_to_mut
    // only puts properly aligned, in-bounds elements in the middle slice.
    let (head, mid, tail) = unsafe { out.align_to_mut::<i16>() };
    (head.is_empty() && tail.is_empty()).then_some(mid)
}
