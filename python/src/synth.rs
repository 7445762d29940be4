//! `rtpsynth.RtpSynth`: the RTP packet generator (`rtpsynth::synth`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyInt, PyTuple};

use rtpsynth::rtp::RTP_HDR_LEN;
use rtpsynth::synth::Synth;

use crate::args::to_bytes;

/// The callable installed by `set_randfunc` (None: built-in generator).
static RANDFUNC: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

/// Built-in source when no randfunc is set: xorshift64* seeded once per
/// process from the OS-seeded `RandomState`. (The original calls libc's
/// unseeded `random()`; either way the values are not meant to repeat.)
fn builtin_rand() -> u32 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        x = h.finish() | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.store(x, Ordering::Relaxed);
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
}

/// One draw from the Python randfunc: called with no argument, or with 32
/// if that raises TypeError (so `random.getrandbits` works as is).
fn py_rand(py: Python<'_>, f: &Bound<'_, PyAny>) -> PyResult<u32> {
    let r = match f.call0() {
        Ok(r) => r,
        Err(e) if e.is_instance_of::<PyTypeError>(py) => f.call1((32,))?,
        Err(e) => return Err(e),
    };
    // The original converts with PyLong_AsUnsignedLongLong and truncates.
    let v: u64 = r.extract()?;
    Ok(v as u32)
}

/// RTP packet generator: `RtpSynth(srate, ptime)`.
///
/// Produces packets with a random SSRC, initial timestamp and sequence
/// number (drawn from the function given to `set_randfunc`, if any), the
/// marker bit on the first packet, and a timestamp step of `8 * ptime`.
#[pyclass(module = "rtpsynth.RtpSynth", name = "RtpSynth")]
pub struct RtpSynth {
    s: Synth,
}

#[pymethods]
impl RtpSynth {
    #[new]
    #[pyo3(signature = (srate, ptime))]
    fn new(py: Python<'_>, srate: i32, ptime: i32) -> PyResult<Self> {
        let func = RANDFUNC.lock().as_ref().map(|f| f.clone_ref(py));
        let s = match func {
            None => Synth::new(srate, ptime, builtin_rand),
            Some(f) => {
                let f = f.bind(py);
                let mut failure: Option<PyErr> = None;
                let s = Synth::new(srate, ptime, || match py_rand(py, f) {
                    Ok(v) => v,
                    Err(e) => {
                        failure.get_or_insert(e);
                        0
                    }
                });
                if let Some(e) = failure {
                    let err = PyRuntimeError::new_err("randfunc failed");
                    err.set_cause(py, Some(e));
                    return Err(err);
                }
                s
            }
        };
        Ok(RtpSynth { s })
    }

    /// next_pkt(plen, pt, pload=None) -> bytes
    ///
    /// Return the next packet: a 12-byte RTP header with payload type `pt`
    /// followed by `plen` payload bytes, taken from `pload` (zero-padded) or
    /// zero when `pload` is None.
    #[pyo3(signature = (plen, pt, pload = None))]
    fn next_pkt<'py>(
        &mut self,
        py: Python<'py>,
        plen: i32,
        pt: i32,
        pload: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // The original sizes its buffer as plen + 32.
        if plen.checked_add(32).is_none_or(|n| n <= 0) {
            return Err(PyValueError::new_err("invalid packet length"));
        }
        if plen < 0 {
            return Err(PyRuntimeError::new_err("rsynth_next_pkt_pa() failed"));
        }
        let plen = plen as usize;
        let payload = match pload {
            Some(p) if !p.is_none() => {
                let b = to_bytes(p)?;
                if b.as_bytes().len() > plen + 32 {
                    return Err(PyValueError::new_err(
                        "payload is larger than packet buffer",
                    ));
                }
                Some(b)
            }
            _ => None,
        };
        let hdr = self.s.next_header(pt);
        PyBytes::new_with(py, RTP_HDR_LEN + plen, |buf| {
            buf[..RTP_HDR_LEN].copy_from_slice(&hdr);
            if let Some(p) = &payload {
                let p = p.as_bytes();
                let n = p.len().min(plen);
                buf[RTP_HDR_LEN..RTP_HDR_LEN + n].copy_from_slice(&p[..n]);
            }
            Ok(())
        })
    }

    /// pkt_free(pkt) -> None
    ///
    /// Compatibility no-op: packets are Python bytes and need no freeing.
    /// Accepts what the original accepts (a capsule or an integer) and
    /// raises TypeError otherwise; it never frees memory by address.
    fn pkt_free(&self, pkt: &Bound<'_, PyAny>) -> PyResult<()> {
        let is_capsule = pkt.is_instance_of::<PyCapsule>();
        if is_capsule || pkt.is_instance_of::<PyInt>() {
            return Ok(());
        }
        Err(PyTypeError::new_err(
            "pkt_free expects a capsule or integer pointer",
        ))
    }

    /// set_mbt(new_st) -> int
    ///
    /// Set the marker bit for the next packet (bit 0 of `new_st`); return
    /// the previous value.
    fn set_mbt(&mut self, new_st: u32) -> u32 {
        self.s.set_marker(new_st)
    }

    /// resync() or resync(ts, seq) -> None
    ///
    /// Advance the timestamp by the time elapsed since the last packet (at
    /// the sample rate). The two-argument form is accepted as in the
    /// original, which also ignores the values.
    #[pyo3(signature = (*args))]
    fn resync(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        match args.len() {
            0 => {}
            2 => {
                let _ts: u64 = args.get_item(0)?.extract()?;
                let _seq: u64 = args.get_item(1)?.extract()?;
            }
            n => {
                return Err(PyTypeError::new_err(format!(
                    "resync() takes 0 or 2 arguments ({n} given)"
                )))
            }
        }
        self.s.resync();
        Ok(())
    }

    /// skip(npkts) -> None
    ///
    /// Advance the timestamp as if `npkts` packets had been sent.
    fn skip(&mut self, npkts: i32) {
        self.s.skip(npkts);
    }
}

/// set_randfunc(func) -> None
///
/// Install `func` as the source of the SSRC, initial timestamp and sequence
/// number of later `RtpSynth` objects (three calls each, in that order;
/// `func()` or, if that raises TypeError, `func(32)`). None restores the
/// built-in generator.
#[pyfunction]
fn set_randfunc(func: &Bound<'_, PyAny>) -> PyResult<()> {
    // The previous callable is released after the lock: its destructor
    // may run Python code that calls back in here.
    if func.is_none() {
        let old = RANDFUNC.lock().take();
        drop(old);
        return Ok(());
    }
    if !func.is_callable() {
        return Err(PyTypeError::new_err(
            "set_randfunc expects a callable or None",
        ));
    }
    let old = RANDFUNC.lock().replace(func.clone().unbind());
    drop(old);
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RtpSynth>()?;
    m.add_function(wrap_pyfunction!(set_randfunc, m)?)?;
    Ok(())
}
