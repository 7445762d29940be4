//! Hot methods installed as plain CPython methods instead of `#[pymethods]`.
//!
//! Under the abi3-py39 build PyO3 registers every method as
//! `METH_VARARGS | METH_KEYWORDS`, so each call packs its arguments into a
//! fresh tuple and then unpacks them through PyO3's generic argument
//! binder. For `RtpJBuf.udp_in`, which does little per call, that fixed
//! cost was the whole difference to the original's C method. A method here
//! is a `PyMethodDef` of our own: on CPython >= 3.10, where
//! `METH_FASTCALL | METH_KEYWORDS` is part of the stable ABI, the arguments
//! arrive as an array without a tuple; on 3.9 it falls back to
//! `METH_VARARGS | METH_KEYWORDS`. The signature is fixed to what the hot
//! methods need: one required and one optional argument, both positional
//! or keyword.

use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString, PyType};

/// `METH_FASTCALL`: pyo3-ffi hides it under abi3 before 3.10, but the
/// flag is only set when the running interpreter is 3.10 or newer, where
/// it is part of the stable ABI (and 3.7+ interpreters all implement it).
const METH_FASTCALL: c_int = 0x0080;

/// The `PyCFunctionFastWithKeywords` signature (likewise hidden under
/// abi3 before 3.10).
type FastWithKeywords = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// A method `NAME(self, PARAMS[0], PARAMS[1]=None)`.
pub trait RawMethod {
    /// The attribute name, as a C string for the `PyMethodDef`.
    const NAME: &'static CStr;
    /// The name in error messages, e.g. `"RtpJBuf.udp_in"`.
    const QUALNAME: &'static str;
    /// The docstring, starting with the `name($self, ...)\n--\n\n` line
    /// that gives `inspect.signature` the parameters.
    const DOC: &'static CStr;
    /// The two parameter names: the first required, the second optional.
    const PARAMS: [&'static str; 2];

    fn call<'py>(
        slf: &Bound<'py, PyAny>,
        first: &Bound<'py, PyAny>,
        second: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>>;
}

/// Sets `M` as a method of `tp`, replacing any attribute of that name.
///
/// `RTPSYNTH_PY_NO_FASTCALL=1` in the environment at import selects the
/// 3.9 calling convention on any interpreter (the tests use it to cover
/// that path on the interpreter they run on).
pub fn install<M: RawMethod>(tp: &Bound<'_, PyType>) -> PyResult<()> {
    let py = tp.py();
    let no_fast = std::env::var_os("RTPSYNTH_PY_NO_FASTCALL").is_some_and(|v| v == "1");
    let (meth, flags) = if py.version_info() >= (3, 10) && !no_fast {
        // SAFETY: both are `extern "C"` function pointers of the same size;
        // CPython calls `ml_meth` with the fastcall signature because the
        // flags say METH_FASTCALL | METH_KEYWORDS.
        let meth = unsafe { std::mem::transmute::<FastWithKeywords, ffi::PyCFunction>(fast::<M>) };
        (
            ffi::PyMethodDefPointer { PyCFunction: meth },
            METH_FASTCALL | ffi::METH_KEYWORDS,
        )
    } else {
        let meth = ffi::PyMethodDefPointer {
            PyCFunctionWithKeywords: varargs::<M>,
        };
        (meth, ffi::METH_VARARGS | ffi::METH_KEYWORDS)
    };
    let def = leaked_def(M::NAME, meth, flags, M::DOC);
    // SAFETY: `tp` is a live type object and `def` outlives it (above).
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(tp.as_type_ptr(), def))? };
    tp.setattr(
        PyString::new(py, M::NAME.to_str().unwrap_or_default()),
        descr,
    )
}

/// A `PyMethodDef` that lives as long as the process. The method or
/// function object made from it keeps a pointer to it for as long as it
/// lives, which for a module's function or class is the process: the one
/// definition made per import is leaked on purpose.
fn leaked_def(
    name: &'static CStr,
    meth: ffi::PyMethodDefPointer,
    flags: c_int,
    doc: &'static CStr,
) -> &'static mut ffi::PyMethodDef {
    Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: meth,
        ml_flags: flags,
        ml_doc: doc.as_ptr(),
    }))
}

/// The METH_FASTCALL | METH_KEYWORDS entry point.
///
/// # Safety
/// Called by CPython as a method of the type `install` was given: `slf`
/// is an instance of it, `args` holds `nargs` positional arguments
/// followed by one value per name in the `kwnames` tuple (or null), all
/// borrowed; the GIL is held.
unsafe extern "C" fn fast<M: RawMethod>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    guarded(|py| {
        // SAFETY: per this function's contract.
        let (slf, bound) = unsafe {
            let nkw = if kwnames.is_null() {
                0
            } else {
                ffi::PyTuple_Size(kwnames)
            };
            let n = (nargs.max(0) + nkw.max(0)) as usize;
            // The vectorcall protocol allows a null array when it is empty.
            let all: &[*mut ffi::PyObject] = if args.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(args, n)
            };
            let (pos, vals) = all.split_at((nargs.max(0) as usize).min(all.len()));
            let mut kw = Vec::new();
            for (i, v) in vals.iter().enumerate() {
                let name = ffi::PyTuple_GetItem(kwnames, i as ffi::Py_ssize_t);
                kw.push((
                    Bound::from_borrowed_ptr(py, name),
                    Bound::from_borrowed_ptr(py, *v),
                ));
            }
            let pos = pos.iter().map(|p| Bound::from_borrowed_ptr(py, *p));
            (Bound::from_borrowed_ptr(py, slf), bind::<M>(pos, kw)?)
        };
        call::<M>(&slf, bound)
    })
}

/// The METH_VARARGS | METH_KEYWORDS entry point (CPython 3.9).
///
/// # Safety
/// Called by CPython as a method of the type `install` was given: `slf`
/// is an instance of it, `args` a tuple, `kwargs` a dict or null, all
/// borrowed; the GIL is held.
unsafe extern "C" fn varargs<M: RawMethod>(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    guarded(|py| {
        // SAFETY: per this function's contract.
        let (slf, bound) = unsafe {
            let n = ffi::PyTuple_Size(args);
            let pos =
                (0..n.max(0)).map(|i| Bound::from_borrowed_ptr(py, ffi::PyTuple_GetItem(args, i)));
            let mut kw = Vec::new();
            if !kwargs.is_null() {
                let (mut at, mut k, mut v) = (0, ptr::null_mut(), ptr::null_mut());
                while ffi::PyDict_Next(kwargs, &mut at, &mut k, &mut v) != 0 {
                    kw.push((
                        Bound::from_borrowed_ptr(py, k),
                        Bound::from_borrowed_ptr(py, v),
                    ));
                }
            }
            (Bound::from_borrowed_ptr(py, slf), bind::<M>(pos, kw)?)
        };
        call::<M>(&slf, bound)
    })
}

type Bound2<'py> = [Option<Bound<'py, PyAny>>; 2];

fn call<'py, M: RawMethod>(
    slf: &Bound<'py, PyAny>,
    [a, b]: Bound2<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    match a {
        Some(a) => M::call(slf, &a, b.as_ref()),
        None => Err(PyTypeError::new_err(format!(
            "{}() missing 1 required positional argument: '{}'",
            M::QUALNAME,
            M::PARAMS[0]
        ))),
    }
}

/// Binds positional then keyword arguments to `M::PARAMS`, with CPython's
/// errors for too many, unknown and repeated arguments.
fn bind<'py, M: RawMethod>(
    pos: impl ExactSizeIterator<Item = Bound<'py, PyAny>>,
    kw: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<Bound2<'py>> {
    if pos.len() > 2 {
        return Err(PyTypeError::new_err(format!(
            "{}() takes from 1 to 2 positional arguments but {} were given",
            M::QUALNAME,
            pos.len()
        )));
    }
    let mut out: Bound2<'py> = [None, None];
    for (slot, v) in out.iter_mut().zip(pos) {
        *slot = Some(v);
    }
    for (name, v) in kw {
        let name = name.cast::<PyString>()?.to_cow()?.into_owned();
        let Some(i) = M::PARAMS.iter().position(|p| *p == name) else {
            return Err(PyTypeError::new_err(format!(
                "{}() got an unexpected keyword argument '{name}'",
                M::QUALNAME
            )));
        };
        if out[i].is_some() {
            return Err(PyTypeError::new_err(format!(
                "{}() got multiple values for argument '{name}'",
                M::QUALNAME
            )));
        }
        out[i] = Some(v);
    }
    Ok(out)
}

/// Runs `f` as PyO3 runs a method: attached to the interpreter (so that
/// PyO3 releases references at once, not deferred), with a panic turned
/// into `PanicException` instead of unwinding into CPython.
fn guarded(
    f: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>>,
) -> *mut ffi::PyObject {
    let run = || {
        Python::attach(|py| match catch_unwind(AssertUnwindSafe(|| f(py))) {
            Ok(Ok(v)) => v.into_ptr(),
            Ok(Err(e)) => {
                e.restore(py);
                ptr::null_mut()
            }
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic in a Rust method".to_string());
                PanicException::new_err(msg).restore(py);
                ptr::null_mut()
            }
        })
    };
    // Attaching cannot fail inside a call CPython made with the GIL held;
    // should it panic anyway, no unwinding crosses into C (CPython then
    // reports a SystemError for the null without an exception).
    catch_unwind(AssertUnwindSafe(run)).unwrap_or(ptr::null_mut())
}

/// A module function `NAME(arg, /)`: exactly one positional argument, as
/// the original's `METH_O` functions (CPython's own messages for a wrong
/// count or a keyword). `METH_O` needs no argument tuple on any version.
pub trait RawFunctionO {
    /// The attribute name, as a C string for the `PyMethodDef`.
    const NAME: &'static CStr;
    /// The docstring, starting with the `name($module, arg, /)\n--\n\n`
    /// line that gives `inspect.signature` the parameter.
    const DOC: &'static CStr;

    fn call<'py>(arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>;
}

/// Adds `F` to module `m`.
pub fn add_function_o<F: RawFunctionO>(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let meth = ffi::PyMethodDefPointer {
        PyCFunction: one_arg::<F>,
    };
    let def = leaked_def(F::NAME, meth, ffi::METH_O, F::DOC);
    let module_name = m.name()?;
    // SAFETY: `def` outlives the function object (above); the module as
    // `self` (what PyModule_AddFunctions passes, and what `$module` in the
    // text signature refers to) and `module_name` are live objects.
    let f = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCFunction_NewEx(def, m.as_ptr(), module_name.as_ptr()),
        )?
    };
    m.add(F::NAME.to_str().unwrap_or_default(), f)
}

/// The METH_O entry point.
///
/// # Safety
/// Called by CPython with the module as `self` and one borrowed argument,
/// the GIL held.
unsafe extern "C" fn one_arg<F: RawFunctionO>(
    _slf: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    guarded(|py| {
        // SAFETY: per this function's contract.
        let arg = unsafe { Bound::from_borrowed_ptr(py, arg) };
        F::call(&arg)
    })
}
