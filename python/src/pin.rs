//! Worker threads keep one Python thread state for their whole life.
//!
//! `Python::attach` on a thread that has no Python thread state creates one
//! (PyGILState_Ensure) and destroys it again on release: several
//! microseconds per callback, most of the cost of a short callback (the
//! original pays it on every call too). The first callback on a worker
//! thread therefore creates a thread state and keeps it, detached; every
//! later attach on that thread only takes the GIL. The state is not freed
//! when the worker thread exits (a few hundred bytes per server or
//! scheduler; the interpreter frees it at exit): freeing it would mean
//! taking the GIL from a thread-exit hook, which can deadlock with a
//! thread that joins the worker while holding the GIL, or kill the thread
//! during interpreter finalization.

use std::cell::Cell;

thread_local! {
    static PINNED: Cell<bool> = const { Cell::new(false) };
}

/// Give the calling (non-Python) thread a thread state that outlives the
/// next `Python::attach`. Must be called without the GIL held.
pub fn pin_thread_state() {
    if PINNED.with(Cell::get) {
        return;
    }
    // SAFETY: Py_IsInitialized has no preconditions.
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return;
    }
    // SAFETY: the interpreter is initialized and this thread does not hold
    // the GIL (only worker threads call this, outside of any attach), so
    // PyGILState_Ensure creates and attaches a thread state for it;
    // PyEval_SaveThread then releases the GIL and leaves that state
    // allocated and registered as this thread's, its Ensure count at 1 so
    // that later attach/release pairs on this thread never free it.
    unsafe {
        let _ = pyo3::ffi::PyGILState_Ensure();
        let _ = pyo3::ffi::PyEval_SaveThread();
    }
    PINNED.with(|p| p.set(true));
}
