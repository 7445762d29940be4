//! `rtpsynth.RtpJBuf`: the jitter buffer (`rtpsynth::jbuf`) with the
//! original's Python object model.
//!
//! `udp_in` returns a list of `FrameWrapper`s (plain C-level types, see
//! `frames.rs`). The objects below a wrapper (`RTPFrame` ->
//! `RTPFrameUnion` -> `RTPPacket` -> `RTPInfo`, and the `rtp_data` payload
//! copy) are built on first access and then kept, so a caller that only
//! looks at some of them does not pay for the rest; identity is stable
//! (`w.content is w.content`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyType};

use rtpsynth::jbuf::{Erasure, Frame, InputError, JitterBuffer, Sink};
use rtpsynth::rtp::Parsed;

use std::ffi::CStr;

use crate::args::to_bytes;
use crate::fastcall::{self, RawMethod};

create_exception!(
    rtpsynth.RtpJBuf,
    RTPParseError,
    PyException,
    "The datagram given to RtpJBuf.udp_in() is not a valid RTP packet."
);

const RFT_RTP: i32 = 0;
const RFT_ERS: i32 = 1;
const RTP_PARSER_OK: i32 = 0;
const RJB_ENOMEM: i32 = -1007;

// --- allocation counters (the original's _get_dealloc_counts & co.) ---

#[derive(Clone, Copy)]
enum Kind {
    Info,
    Packet,
    Ers,
    Union,
    Frame,
    Wrapper,
    JBuf,
}

const KIND_NAMES: [&str; 7] = [
    "RTPInfo",
    "RTPPacket",
    "ERSFrame",
    "RTPFrameUnion",
    "RTPFrame",
    "FrameWrapper",
    "RtpJBuf",
];

static COUNTING: AtomicBool = AtomicBool::new(false);
static CREATED: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static FREED: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

fn created(k: Kind) {
    if COUNTING.load(Ordering::Relaxed) {
        CREATED[k as usize].fetch_add(1, Ordering::Relaxed);
    }
}

fn freed(k: Kind) {
    if COUNTING.load(Ordering::Relaxed) {
        FREED[k as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts the object's construction now and its destruction on drop.
struct Counted(Kind);

impl Counted {
    fn new(k: Kind) -> Self {
        created(k);
        Counted(k)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        freed(self.0);
    }
}

// --- the frame objects ---

mod frames;

use frames::Content;

/// What the lazily built objects of one RTP frame are made from.
#[derive(Clone, Copy, Default)]
struct RtpMeta {
    lseq: u64,
    info: InfoVals,
    /// Address of the datagram's bytes (the original's `data` pointer).
    data_addr: usize,
    /// Length of the datagram.
    data_len: usize,
}

#[derive(Clone, Copy, Default)]
struct InfoVals {
    data_size: usize,
    data_offset: u32,
    nsamples: i32,
    ts: u32,
    seq: u16,
    ssrc: u32,
    appendable: bool,
    profile_addr: usize,
}

impl InfoVals {
    fn from_parsed(p: &Parsed) -> Self {
        let profile = &rtpsynth::ffi::rtp::rtp_profiles[p.pt as usize & 0x7f];
        InfoVals {
            data_size: p.data_size,
            data_offset: p.data_offset,
            nsamples: p.nsamples,
            ts: p.ts,
            seq: p.seq,
            ssrc: p.ssrc,
            appendable: p.appendable,
            profile_addr: profile as *const _ as usize,
        }
    }
}

// --- the jitter buffer ---

/// What travels through the core buffer with each packet.
struct Held {
    data: Py<PyBytes>,
    /// Where `data`'s bytes are and how many (bytes never move or change
    /// while the object lives).
    data_addr: usize,
    data_len: usize,
    opaque: Py<PyAny>,
    info: InfoVals,
}

/// Collects one call's output: wrappers for the ready list, a count for
/// the drop list (dropped packets release their datagram at once).
struct Out<'py> {
    py: Python<'py>,
    ready: Vec<Py<PyAny>>,
    dropped: u64,
    err: Option<PyErr>,
}

impl Out<'_> {
    fn push(&mut self, what: Content, data: Option<Py<PyBytes>>, opaque: Option<Py<PyAny>>) {
        if self.err.is_some() {
            return;
        }
        // SAFETY: an RTP frame's meta comes from the Held it was released
        // with (see `ready`): its address and length were recorded from
        // the same `data` in `udp_in`.
        match unsafe { frames::wrapper(self.py, what, data, opaque) } {
            Ok(o) => self.ready.push(o),
            Err(e) => self.err = Some(e),
        }
    }
}

impl Sink<Held> for Out<'_> {
    fn erasure(&mut self, e: Erasure) {
        self.push(Content::Ers(e), None, None);
    }
    fn ready(&mut self, f: Frame<Held>) {
        let Held {
            data,
            data_addr,
            data_len,
            opaque,
            info,
        } = f.item;
        let m = RtpMeta {
            lseq: f.lseq,
            info,
            data_addr,
            data_len,
        };
        self.push(Content::Rtp(m), Some(data), Some(opaque));
    }
    fn drop_run(&mut self) {}
    fn dropped(&mut self, _f: Frame<Held>) {
        self.dropped += 1;
    }
}

/// RTP jitter buffer: `RtpJBuf(capacity)`.
///
/// `udp_in(datagram, opaque=None)` takes one received datagram and returns
/// the frames that became ready, in order: an `ERSFrame` for each run of
/// lost packets, then the packets. Packets that arrive too late, duplicates
/// and packets pushed out are counted in `dropped`.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "RtpJBuf")]
pub struct RtpJBuf {
    jb: JitterBuffer<Held>,
    dropped: u64,
    /// The previous call's (emptied) output vector, reused so that a
    /// call allocates nothing but Python objects.
    scratch: Vec<Py<PyAny>>,
    _c: Counted,
}

#[pymethods]
impl RtpJBuf {
    #[new]
    fn new(capacity: u32) -> Self {
        RtpJBuf {
            jb: JitterBuffer::new(capacity),
            dropped: 0,
            scratch: Vec::new(),
            _c: Counted::new(Kind::JBuf),
        }
    }

    /// flush() -> list[FrameWrapper]
    ///
    /// Release everything held, as at the end of a stream.
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut out = Out {
            py,
            ready: std::mem::take(&mut self.scratch),
            dropped: 0,
            err: None,
        };
        self.jb.flush(&mut out);
        self.finish(py, out)
    }

    /// Number of RTP packets dropped so far.
    #[getter]
    fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl RtpJBuf {
    /// The body of `udp_in` (see [`UdpIn`]).
    fn udp_in<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        opaque: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let bytes = to_bytes(data)?;
        let mut out = Out {
            py,
            ready: std::mem::take(&mut self.scratch),
            dropped: 0,
            err: None,
        };
        let raw = bytes.as_bytes();
        // The core ages the stale tail before it parses, as the original.
        let r = self.jb.udp_in(
            raw,
            || {
                Some(Held {
                    data: bytes.clone().unbind(),
                    data_addr: raw.as_ptr() as usize,
                    data_len: raw.len(),
                    opaque: opaque.map_or_else(|| py.None(), |o| o.clone().unbind()),
                    info: InfoVals::default(),
                })
            },
            |h, p| h.info = InfoVals::from_parsed(p),
            &mut out,
        );
        if let Err(e) = r {
            self.dropped += out.dropped;
            return Err(match e {
                InputError::Parse(pe) => {
                    RTPParseError::new_err(format!("rtpjbuf_udp_in(): error {}", pe.kind.code()))
                }
                InputError::NoMemory => pyo3::exceptions::PyMemoryError::new_err(format!(
                    "rtpjbuf_udp_in(): error {RJB_ENOMEM}"
                )),
            });
        }
        self.finish(py, out)
    }

    fn finish<'py>(&mut self, py: Python<'py>, out: Out<'py>) -> PyResult<Bound<'py, PyList>> {
        self.dropped += out.dropped;
        if let Some(e) = out.err {
            return Err(e);
        }
        let mut ready = out.ready;
        let list = PyList::new(py, ready.drain(..));
        self.scratch = ready;
        list
    }
}

/// `RtpJBuf.udp_in`, a method of its own (`crate::fastcall`): it is the
/// per-packet call, and PyO3's generic method call cost more than the
/// rest of it.
struct UdpIn;

impl RawMethod for UdpIn {
    const NAME: &'static CStr = c"udp_in";
    const QUALNAME: &'static str = "RtpJBuf.udp_in";
    const DOC: &'static CStr = c"udp_in($self, /, data, opaque=None)
--

udp_in(data, opaque=None) -> list[FrameWrapper]

Feed one datagram (bytes or bytes-like). Raises RTPParseError if it
is not a valid RTP packet.";
    const PARAMS: [&'static str; 2] = ["data", "opaque"];

    fn call<'py>(
        slf: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        opaque: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut jb = slf.cast::<RtpJBuf>()?.try_borrow_mut()?;
        jb.udp_in(slf.py(), data, opaque).map(Bound::into_any)
    }
}

/// _get_dealloc_counts() -> dict: created/freed counts per frame type.
#[pyfunction]
fn _get_dealloc_counts(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (i, name) in KIND_NAMES.iter().enumerate() {
        d.set_item(
            format!("{name}_created"),
            CREATED[i].load(Ordering::Relaxed),
        )?;
        d.set_item(format!("{name}_freed"), FREED[i].load(Ordering::Relaxed))?;
    }
    Ok(d)
}

/// _reset_dealloc_counts() -> None
#[pyfunction]
fn _reset_dealloc_counts() {
    for c in CREATED.iter().chain(FREED.iter()) {
        c.store(0, Ordering::Relaxed);
    }
}

/// _set_dealloc_counting(flag) -> None: count allocations while true.
#[pyfunction]
fn _set_dealloc_counting(flag: &Bound<'_, PyAny>) -> PyResult<()> {
    COUNTING.store(flag.is_truthy()?, Ordering::Relaxed);
    Ok(())
}

/// _get_dealloc_counting() -> bool
#[pyfunction]
fn _get_dealloc_counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RTPParseError", py.get_type::<RTPParseError>())?;
    let attrs = PyDict::new(py);
    attrs.set_item("RTP", RFT_RTP)?;
    attrs.set_item("ERS", RFT_ERS)?;
    attrs.set_item("__module__", "rtpsynth.RtpJBuf")?;
    attrs.set_item(
        "__doc__",
        "Frame type constants: RTP (a packet), ERS (an erasure).",
    )?;
    let frame_type = py.get_type::<PyType>().call1((
        "RTPFrameType",
        (py.get_type::<pyo3::types::PyAny>(),),
        attrs,
    ))?;
    m.add("RTPFrameType", frame_type)?;
    frames::register(m)?;
    m.add_class::<RtpJBuf>()?;
    fastcall::install::<UdpIn>(&py.get_type::<RtpJBuf>())?;
    m.add("RTP_PARSER_OK", RTP_PARSER_OK)?;
    m.add("RJB_ENOMEM", RJB_ENOMEM)?;
    m.add_function(wrap_pyfunction!(_get_dealloc_counts, m)?)?;
    m.add_function(wrap_pyfunction!(_reset_dealloc_counts, m)?)?;
    m.add_function(wrap_pyfunction!(_set_dealloc_counting, m)?)?;
    m.add_function(wrap_pyfunction!(_get_dealloc_counting, m)?)?;
    Ok(())
}
