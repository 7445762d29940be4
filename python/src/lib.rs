//! The `rtpsynth` Python package over the Rust core (PyO3, abi3).
//!
//! One native module, `rtpsynth._rtpsynth`, holds one submodule per module
//! of the original package (`RtpSynth`, `RtpJBuf`, `RtpServer`, `RtpProc`,
//! `RtpUtils`); the thin `rtpsynth/<Name>.py` files re-export them under the
//! original import paths. Every class keeps the original's
//! `rtpsynth.<Name>` module name so that `repr`, pickling errors and
//! tracebacks read the same.

mod args;
mod buffer;
mod fastcall;
mod jbuf;
mod pin;
mod proc;
mod server;
mod synth;
mod utils;

use pyo3::prelude::*;
use pyo3::types::PyModule;

fn add_sub(
    parent: &Bound<'_, PyModule>,
    name: &str,
    doc: &str,
    init: impl FnOnce(&Bound<'_, PyModule>) -> PyResult<()>,
) -> PyResult<()> {
    let py = parent.py();
    let m = PyModule::new(py, name)?;
    m.setattr("__doc__", doc)?;
    init(&m)?;
    parent.add_submodule(&m)?;
    Ok(())
}

#[pymodule]
fn _rtpsynth(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_sub(
        m,
        "RtpSynth",
        "Python interface to RTP packet generator.",
        synth::register,
    )?;
    add_sub(
        m,
        "RtpJBuf",
        "Python interface to the RTP jitter buffer.",
        jbuf::register,
    )?;
    add_sub(
        m,
        "RtpServer",
        "RTP I/O thread and channel primitives.",
        server::register,
    )?;
    add_sub(
        m,
        "RtpProc",
        "Generic singleton RTP processing scheduler.",
        proc::register,
    )?;
    add_sub(
        m,
        "RtpUtils",
        "High-performance RTP audio utility helpers.",
        utils::register,
    )?;
    Ok(())
}
