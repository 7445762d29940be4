//! `rtpsynth.RtpProc`: the periodic processing scheduler
//! (`rtpsynth::proc`), a process-wide singleton as in the original.
//!
//! `proc_in(now_ns, deadline_ns)` runs on the worker thread, which holds
//! the GIL from one due call to the next and lets go before it sleeps
//! (`crate::pin`); other Python threads get it as from any thread running
//! Python code. It returns the next run time (CLOCK_MONOTONIC
//! ns) or None to stop. An exception (or a return value that is not a
//! non-negative int) stops the channel and is re-raised, as the `__cause__`
//! of a ChannelProcError, by the channel's `close()`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::create_exception;
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyWeakrefReference};

create_exception!(
    rtpsynth.RtpProc,
    ChannelProcError,
    PyRuntimeError,
    "A channel's proc_in callback raised; the original exception is the __cause__."
);

/// Everything this module uses of the core scheduler, in one place.
mod core {
    pub use rtpsynth::proc::{Channel, Error, Proc, ProcConfig, Task, TaskError};
}

/// The code a task stops with when its Python callback failed.
const PY_FAILED: i32 = -1;

/// The exception a channel's callback raised, kept for `close()`.
type ErrSlot = Arc<Mutex<Option<PyErr>>>;
type CbSlot = Arc<Mutex<Option<Py<PyAny>>>>;

fn make_task(cb: CbSlot, err: ErrSlot) -> Box<dyn core::Task> {
    Box::new(
        move |now: u64, deadline: u64| -> Result<u64, core::TaskError> {
            crate::pin::pin_thread_state();
            crate::pin::hold_gil();
            Python::attach(|py| {
                let f = cb.lock().as_ref().map(|f| f.clone_ref(py));
                let Some(f) = f else { return Ok(0) };
                let r = f.call1(py, (now, deadline)).and_then(|r| -> PyResult<u64> {
                    if r.is_none(py) {
                        Ok(0)
                    } else {
                        // 0 would mean "stop" to the core; the original runs
                        // the channel again at once.
                        Ok(r.extract::<u64>(py)?.max(1))
                    }
                });
                r.map_err(|pe| {
                    *err.lock() = Some(pe);
                    core::TaskError::Failed(PY_FAILED)
                })
            })
        },
    )
}

fn core_error(e: core::Error) -> PyErr {
    match e {
        core::Error::Shutdown => PyRuntimeError::new_err("RtpProc is shutting down"),
        core::Error::NoMemory => PyMemoryError::new_err("cannot allocate the channel"),
        core::Error::Spawn(errno) => PyRuntimeError::new_err(format!(
            "failed to create worker thread ({})",
            std::io::Error::from_raw_os_error(errno)
        )),
    }
}

/// The live singleton (a weak reference: it goes when its last user does).
static SINGLETON: Mutex<Option<Py<PyWeakrefReference>>> = Mutex::new(None);

/// Periodic processing scheduler: `RtpProc()` returns the process-wide
/// instance (created, with its worker thread, on first use).
#[pyclass(module = "rtpsynth.RtpProc", name = "RtpProc", frozen, weakref)]
pub struct RtpProc {
    proc: core::Proc,
    next_id: AtomicU64,
}

#[pymethods]
impl RtpProc {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<RtpProc>> {
        if !args.is_empty() || kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err("RtpProc() takes no arguments"));
        }
        let mut g = SINGLETON.lock();
        if let Some(w) = g.as_ref() {
            if let Some(p) = w.bind(py).upgrade_as::<RtpProc>()? {
                return Ok(p.unbind());
            }
        }
        let p = Py::new(
            py,
            RtpProc {
                proc: core::Proc::with_config(core::ProcConfig {
                    idle_hook: Some(crate::pin::release_gil),
                    ..core::ProcConfig::default()
                })
                .map_err(core_error)?,
                next_id: AtomicU64::new(1),
            },
        )?;
        *g = Some(PyWeakrefReference::new(p.bind(py).as_any())?.unbind());
        Ok(p)
    }

    /// create_channel(proc_in) -> RtpProcChannel
    ///
    /// Schedule `proc_in(now_ns, deadline_ns)`. Its first call (deadline 0)
    /// has happened when this returns; after that it runs at the times it
    /// returns. Raises RuntimeError after `shutdown()`.
    #[pyo3(signature = (proc_in))]
    fn create_channel(
        slf: &Bound<'_, Self>,
        proc_in: &Bound<'_, PyAny>,
    ) -> PyResult<Py<RtpProcChannel>> {
        let py = slf.py();
        let this = slf.get();
        if !proc_in.is_callable() {
            return Err(PyTypeError::new_err("proc_in must be callable"));
        }
        let id = this.next_id.fetch_add(1, Ordering::Relaxed);
        let cb: CbSlot = Arc::new(Mutex::new(Some(proc_in.clone().unbind())));
        let err: ErrSlot = Arc::new(Mutex::new(None));
        let task = make_task(cb.clone(), err.clone());
        let r = py.detach(|| this.proc.create_channel(task));
        let ch = match r {
            Ok(ch) => ch,
            Err(e) => {
                cb.lock().take();
                return Err(core_error(e));
            }
        };
        Py::new(
            py,
            RtpProcChannel {
                _proc: slf.clone().unbind(),
                id,
                ch: Mutex::new(Some(ch)),
                closed: AtomicBool::new(false),
                cb,
                err,
            },
        )
    }

    /// shutdown() -> None
    ///
    /// Stop the worker: when it returns no callback runs or will run (from
    /// inside a callback: none after that callback returns). Idempotent;
    /// `create_channel` then raises RuntimeError.
    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| self.proc.shutdown());
    }
}

impl Drop for RtpProc {
    fn drop(&mut self) {
        // Joining the worker must not hold the GIL: a callback may wait
        // for it.
        Python::attach(|py| py.detach(|| self.proc.shutdown()));
    }
}

/// A channel of the `RtpProc` scheduler (made by `RtpProc.create_channel`).
#[pyclass(module = "rtpsynth.RtpProc", name = "RtpProcChannel", frozen, weakref)]
pub struct RtpProcChannel {
    /// Keeps the scheduler alive while a channel of it exists (as the
    /// original's channel holds its RtpProc).
    _proc: Py<RtpProc>,
    id: u64,
    ch: Mutex<Option<core::Channel>>,
    closed: AtomicBool,
    cb: CbSlot,
    err: ErrSlot,
}

#[pymethods]
impl RtpProcChannel {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(PyTypeError::new_err(
            "RtpProcChannel objects are created by RtpProc.create_channel()",
        ))
    }

    /// close() -> None
    ///
    /// Unschedule the channel: when it returns its callback is not running
    /// and never runs again. Raises ChannelProcError (with the callback's
    /// exception as `__cause__`) if the callback failed, RuntimeError if
    /// already closed. Safe from inside any callback.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err("channel is already closed"));
        }
        let ch = self.ch.lock().take();
        let closed = py.detach(|| ch.map_or(Ok(()), core::Channel::close));
        let cb = self.cb.lock().take();
        drop(cb);
        let cause = self.err.lock().take();
        if closed.is_ok() && cause.is_none() {
            return Ok(());
        }
        let err = ChannelProcError::new_err("channel processing callback failed");
        if let Some(c) = cause {
            err.set_cause(py, Some(c));
        } else if closed == Err(core::TaskError::Panicked) {
            err.set_cause(py, Some(PyRuntimeError::new_err("proc_in panicked")));
        }
        Err(err)
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The channel's number (unique within the scheduler, from 1).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for RtpProcChannel {
    fn drop(&mut self) {
        // Closing waits for a running callback, which needs the GIL.
        let ch = self.ch.get_mut().take();
        Python::attach(|py| {
            let cb = self.cb.lock().take();
            drop(cb);
            let e = self.err.lock().take();
            drop(e);
            py.detach(|| drop(ch));
        });
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<RtpProc>()?;
    m.add_class::<RtpProcChannel>()?;
    m.add("ChannelProcError", py.get_type::<ChannelProcError>())?;
    Ok(())
}
