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

// --- holding the GIL across a run of calls ---
//
// A worker that takes and drops the GIL around every callback makes the
// GIL change hands (a futex wake of every waiting thread, and the other
// thread's wake-up) once per call. With a Python thread also running (the
// one creating channels, say) that ping-pong costs more than the
// callbacks themselves, and the worker falls behind its deadlines at a
// fraction of the call rate it sustains alone. So a worker keeps the GIL
// from one call to the next while it has calls to make, and lets go when
// it is about to sleep (the scheduler's idle hook). Meanwhile it is, to
// the interpreter, a thread running Python code: another thread that
// wants the GIL asks for it after the switch interval
// (`sys.getswitchinterval()`, 5 ms by default) and the worker hands it
// over in the next callback's bytecode, as any Python thread does. (The
// worker must not drop and retake the GIL on its own: a retake right
// after the drop wins against the woken waiter every time, and counts as
// a switch, so the waiter would never ask and never get it.)

thread_local! {
    /// Set while this worker thread holds the GIL across calls: the token
    /// to release it with.
    static HELD: Cell<Option<pyo3::ffi::PyGILState_STATE>> = const { Cell::new(None) };
}

/// Take the GIL for a run of calls, unless this thread holds it already.
/// Must be called on a pinned worker thread, outside of any attach.
pub fn hold_gil() {
    if HELD.with(Cell::get).is_some() || !PINNED.with(Cell::get) {
        return;
    }
    // SAFETY: the thread is pinned, so the interpreter was initialized and
    // this thread has a thread state of its own, which it does not hold
    // (HELD is empty, and callers are outside of any attach):
    // PyGILState_Ensure takes the GIL for it; `release_gil` gives it back.
    let st = unsafe { pyo3::ffi::PyGILState_Ensure() };
    HELD.with(|h| h.set(Some(st)));
}

/// Let the GIL go if this thread holds it across calls (the scheduler's
/// idle hook: called before the worker sleeps and when it exits).
pub fn release_gil() {
    if let Some(st) = HELD.with(Cell::take) {
        // SAFETY: `st` is the token of this thread's own PyGILState_Ensure
        // in `hold_gil`, released once (HELD is now empty); every attach
        // taken since then on this thread has been released already.
        unsafe { pyo3::ffi::PyGILState_Release(st) };
    }
}
