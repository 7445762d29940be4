//! `rtpsynth.RtpJBuf`: the jitter buffer (`rtpsynth::jbuf`) with the
//! original's Python object model.
//!
//! `udp_in` returns a list of `FrameWrapper`s. The objects below a wrapper
//! (`RTPFrame` -> `RTPFrameUnion` -> `RTPPacket` -> `RTPInfo`, and the
//! `rtp_data` payload copy) are built on first access and then kept, so a
//! caller that only looks at some of them does not pay for the rest;
//! identity is stable (`w.content is w.content`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple, PyType};

use rtpsynth::jbuf::{Erasure, Frame, InputError, JitterBuffer, Sink};
use rtpsynth::rtp::Parsed;

use crate::args::to_bytes;

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

/// What the lazily built objects of one RTP frame are made from.
#[derive(Clone, Copy, Default)]
struct RtpMeta {
    lseq: u64,
    info: InfoVals,
    /// Address of the datagram's bytes (the original's `data` pointer).
    data_addr: usize,
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

/// The object in `cell`, made by `make` on first use. Never blocks and
/// never releases the GIL (unlike pyo3's PyOnceLock, which releases it on
/// every first initialisation): if another thread filled the cell first,
/// its object is kept and ours dropped.
fn lazy<T>(
    py: Python<'_>,
    cell: &OnceLock<Py<T>>,
    make: impl FnOnce() -> PyResult<Py<T>>,
) -> PyResult<Py<T>> {
    if let Some(v) = cell.get() {
        return Ok(v.clone_ref(py));
    }
    let v = make()?;
    if let Err(ours) = cell.set(v) {
        drop(ours);
    }
    cell.get()
        .map(|v| v.clone_ref(py))
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("lazy cell unset"))
}

fn no_args(args: &Bound<'_, PyTuple>, name: &str) -> PyResult<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(PyTypeError::new_err(format!("{name}() takes no arguments")))
    }
}

/// Parsed RTP header fields of a received packet.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "RTPInfo", frozen)]
pub struct RTPInfo {
    v: InfoVals,
    _c: Counted,
}

impl RTPInfo {
    fn build(v: InfoVals) -> Self {
        RTPInfo {
            v,
            _c: Counted::new(Kind::Info),
        }
    }
}

#[pymethods]
impl RTPInfo {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        no_args(args, "RTPInfo")?;
        Ok(Self::build(InfoVals::default()))
    }
    /// Payload length in bytes.
    #[getter]
    fn data_size(&self) -> u64 {
        self.v.data_size as u64
    }
    /// Offset of the payload from the start of the datagram.
    #[getter]
    fn data_offset(&self) -> u32 {
        self.v.data_offset
    }
    /// Samples in the payload, or -1 when unknown for the payload type.
    #[getter]
    fn nsamples(&self) -> i32 {
        self.v.nsamples
    }
    /// RTP timestamp.
    #[getter]
    fn ts(&self) -> u32 {
        self.v.ts
    }
    /// RTP sequence number.
    #[getter]
    fn seq(&self) -> u32 {
        self.v.seq as u32
    }
    /// SSRC.
    #[getter]
    fn ssrc(&self) -> u32 {
        self.v.ssrc
    }
    /// Whether the payload type allows appending payloads.
    #[getter]
    fn appendable(&self) -> bool {
        self.v.appendable
    }
    /// Address of the payload type's profile entry (an opaque integer).
    #[getter]
    fn rtp_profile(&self) -> u64 {
        self.v.profile_addr as u64
    }
}

/// A received RTP packet: its header info, logical sequence number and
/// datagram address.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "RTPPacket", frozen)]
pub struct RTPPacket {
    m: RtpMeta,
    info: OnceLock<Py<RTPInfo>>,
    _c: Counted,
}

impl RTPPacket {
    fn build(m: RtpMeta) -> Self {
        RTPPacket {
            m,
            info: OnceLock::new(),
            _c: Counted::new(Kind::Packet),
        }
    }
}

#[pymethods]
impl RTPPacket {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        no_args(args, "RTPPacket")?;
        let p = Self::build(RtpMeta::default());
        // The original builds the info object eagerly here.
        let _ = p.info.set(Py::new(py, RTPInfo::build(p.m.info))?);
        Ok(p)
    }
    /// The parsed header (`RTPInfo`).
    #[getter]
    fn info(&self, py: Python<'_>) -> PyResult<Py<RTPInfo>> {
        lazy(py, &self.info, || Py::new(py, RTPInfo::build(self.m.info)))
    }
    /// Logical sequence number (keeps counting across 16-bit wraps).
    #[getter]
    fn lseq(&self) -> u64 {
        self.m.lseq
    }
    /// Address of the datagram (an opaque integer).
    #[getter]
    fn data(&self) -> u64 {
        self.m.data_addr as u64
    }
}

/// An erasure: packets `lseq_start..=lseq_end` were lost; `ts_diff` is
/// their timestamp span.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "ERSFrame", frozen)]
pub struct ERSFrame {
    e: Erasure,
    _c: Counted,
}

impl ERSFrame {
    fn build(e: Erasure) -> Self {
        ERSFrame {
            e,
            _c: Counted::new(Kind::Ers),
        }
    }
}

#[pymethods]
impl ERSFrame {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        no_args(args, "ERSFrame")?;
        Ok(Self::build(Erasure {
            lseq_start: 0,
            lseq_end: 0,
            ts_diff: 0,
        }))
    }
    /// First lost logical sequence number.
    #[getter]
    fn lseq_start(&self) -> u64 {
        self.e.lseq_start
    }
    /// Last lost logical sequence number.
    #[getter]
    fn lseq_end(&self) -> u64 {
        self.e.lseq_end
    }
    /// Timestamp span of the lost packets.
    #[getter]
    fn ts_diff(&self) -> u32 {
        self.e.ts_diff
    }
    /// Always `RTPFrameType.ERS`.
    #[getter]
    #[pyo3(name = "type")]
    fn type_(&self) -> i32 {
        RFT_ERS
    }
}

/// The original's C union view of a frame: `rtp` holds the `RTPPacket`,
/// `ers` is None.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "RTPFrameUnion", frozen)]
pub struct RTPFrameUnion {
    m: Option<RtpMeta>,
    rtp: OnceLock<Py<PyAny>>,
    _c: Counted,
}

impl RTPFrameUnion {
    fn build(m: Option<RtpMeta>) -> Self {
        RTPFrameUnion {
            m,
            rtp: OnceLock::new(),
            _c: Counted::new(Kind::Union),
        }
    }
}

#[pymethods]
impl RTPFrameUnion {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        no_args(args, "RTPFrameUnion")?;
        Ok(Self::build(None))
    }
    /// The `RTPPacket` (None for an empty union).
    #[getter]
    fn rtp(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(m) = self.m else {
            return Ok(py.None());
        };
        lazy(py, &self.rtp, || {
            Py::new(py, RTPPacket::build(m)).map(Py::into_any)
        })
    }
    /// Always None (erasures come as `ERSFrame` directly).
    #[getter]
    fn ers(&self, py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
}

/// A frame of type `RTPFrameType.RTP` whose `frame` is an `RTPFrameUnion`.
#[pyclass(module = "rtpsynth.RtpJBuf", name = "RTPFrame", frozen)]
pub struct RTPFrame {
    m: Option<RtpMeta>,
    frame: OnceLock<Py<PyAny>>,
    _c: Counted,
}

impl RTPFrame {
    fn build(m: Option<RtpMeta>) -> Self {
        RTPFrame {
            m,
            frame: OnceLock::new(),
            _c: Counted::new(Kind::Frame),
        }
    }
}

#[pymethods]
impl RTPFrame {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        no_args(args, "RTPFrame")?;
        Ok(Self::build(None))
    }
    /// Always `RTPFrameType.RTP`.
    #[getter]
    #[pyo3(name = "type")]
    fn type_(&self) -> i32 {
        RFT_RTP
    }
    /// The `RTPFrameUnion` (None for an empty frame).
    #[getter]
    fn frame(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(m) = self.m else {
            return Ok(py.None());
        };
        lazy(py, &self.frame, || {
            Py::new(py, RTPFrameUnion::build(Some(m))).map(Py::into_any)
        })
    }
}

enum Content {
    Empty,
    Rtp(RtpMeta),
    Ers(Erasure),
}

/// One item of the lists `udp_in` and `flush` return. `content` is an
/// `RTPFrame` (with `data`: the datagram, `rtp_data`: its payload, `opaque`:
/// the value given to `udp_in`) or an `ERSFrame` (the other three None).
#[pyclass(module = "rtpsynth.RtpJBuf", name = "FrameWrapper", frozen)]
pub struct FrameWrapper {
    what: Content,
    content: OnceLock<Py<PyAny>>,
    data: Option<Py<PyBytes>>,
    rtp_data: OnceLock<Py<PyAny>>,
    opaque: Option<Py<PyAny>>,
    _c: Counted,
}

impl FrameWrapper {
    fn build(what: Content, data: Option<Py<PyBytes>>, opaque: Option<Py<PyAny>>) -> Self {
        FrameWrapper {
            what,
            content: OnceLock::new(),
            data,
            rtp_data: OnceLock::new(),
            opaque,
            _c: Counted::new(Kind::Wrapper),
        }
    }
}

#[pymethods]
impl FrameWrapper {
    #[new]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        no_args(args, "FrameWrapper")?;
        Ok(Self::build(Content::Empty, None, None))
    }
    /// The `RTPFrame` or `ERSFrame`.
    #[getter]
    fn content(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        lazy(py, &self.content, || match self.what {
            Content::Empty => Ok(py.None()),
            Content::Rtp(m) => Py::new(py, RTPFrame::build(Some(m))).map(Py::into_any),
            Content::Ers(e) => Py::new(py, ERSFrame::build(e)).map(Py::into_any),
        })
    }
    /// The whole datagram (bytes), None for an erasure.
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyAny> {
        match &self.data {
            Some(d) => d.clone_ref(py).into_any(),
            None => py.None(),
        }
    }
    /// The payload (bytes), None for an erasure.
    #[getter]
    fn rtp_data(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (Content::Rtp(m), Some(d)) = (&self.what, &self.data) else {
            return Ok(py.None());
        };
        lazy(py, &self.rtp_data, || {
            let raw = d.bind(py).as_bytes();
            let off = m.info.data_offset as usize;
            let payload = raw
                .get(off..off.saturating_add(m.info.data_size))
                .unwrap_or(&[]);
            Ok(PyBytes::new(py, payload).into_any().unbind())
        })
    }
    /// The `opaque` value given to `udp_in` with this packet.
    #[getter]
    fn opaque(&self, py: Python<'_>) -> Py<PyAny> {
        match &self.opaque {
            Some(o) => o.clone_ref(py),
            None => py.None(),
        }
    }
    fn __str__(&self) -> String {
        match &self.what {
            Content::Rtp(m) => format!("RTP_Frame(seq={})", m.lseq),
            Content::Ers(e) => format!("RTP_Erasure(seq_range={} -- {})", e.lseq_start, e.lseq_end),
            Content::Empty => "FrameWrapper".to_string(),
        }
    }
    fn __repr__(&self) -> String {
        self.__str__()
    }
}

// --- the jitter buffer ---

/// What travels through the core buffer with each packet.
struct Held {
    data: Py<PyBytes>,
    opaque: Py<PyAny>,
    info: InfoVals,
}

/// Collects one call's output: wrappers for the ready list, a count for
/// the drop list (dropped packets release their datagram at once).
struct Out<'py> {
    py: Python<'py>,
    ready: Vec<Py<FrameWrapper>>,
    dropped: u64,
    err: Option<PyErr>,
}

impl Out<'_> {
    fn push(&mut self, w: FrameWrapper) {
        if self.err.is_some() {
            return;
        }
        match Py::new(self.py, w) {
            Ok(o) => self.ready.push(o),
            Err(e) => self.err = Some(e),
        }
    }
}

impl Sink<Held> for Out<'_> {
    fn erasure(&mut self, e: Erasure) {
        self.push(FrameWrapper::build(Content::Ers(e), None, None));
    }
    fn ready(&mut self, f: Frame<Held>) {
        let Held { data, opaque, info } = f.item;
        let m = RtpMeta {
            lseq: f.lseq,
            info,
            data_addr: data.bind(self.py).as_bytes().as_ptr() as usize,
        };
        self.push(FrameWrapper::build(
            Content::Rtp(m),
            Some(data),
            Some(opaque),
        ));
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
    _c: Counted,
}

#[pymethods]
impl RtpJBuf {
    #[new]
    fn new(capacity: u32) -> Self {
        RtpJBuf {
            jb: JitterBuffer::new(capacity),
            dropped: 0,
            _c: Counted::new(Kind::JBuf),
        }
    }

    /// udp_in(data, opaque=None) -> list[FrameWrapper]
    ///
    /// Feed one datagram (bytes or bytes-like). Raises RTPParseError if it
    /// is not a valid RTP packet.
    #[pyo3(signature = (data, opaque = None))]
    fn udp_in<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        opaque: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let bytes = to_bytes(data)?;
        let mut out = Out {
            py,
            ready: Vec::new(),
            dropped: 0,
            err: None,
        };
        // The core ages the stale tail before it parses, as the original.
        let r = self.jb.udp_in(
            bytes.as_bytes(),
            || {
                Some(Held {
                    data: bytes.clone().unbind(),
                    opaque: opaque.map_or_else(|| py.None(), Bound::unbind),
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

    /// flush() -> list[FrameWrapper]
    ///
    /// Release everything held, as at the end of a stream.
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut out = Out {
            py,
            ready: Vec::new(),
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
    fn finish<'py>(&mut self, py: Python<'py>, out: Out<'py>) -> PyResult<Bound<'py, PyList>> {
        self.dropped += out.dropped;
        if let Some(e) = out.err {
            return Err(e);
        }
        PyList::new(py, out.ready)
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
    m.add_class::<RTPInfo>()?;
    m.add_class::<RTPPacket>()?;
    m.add_class::<ERSFrame>()?;
    m.add_class::<RTPFrameUnion>()?;
    m.add_class::<RTPFrame>()?;
    m.add_class::<FrameWrapper>()?;
    m.add_class::<RtpJBuf>()?;
    m.add("RTP_PARSER_OK", RTP_PARSER_OK)?;
    m.add("RJB_ENOMEM", RJB_ENOMEM)?;
    m.add_function(wrap_pyfunction!(_get_dealloc_counts, m)?)?;
    m.add_function(wrap_pyfunction!(_reset_dealloc_counts, m)?)?;
    m.add_function(wrap_pyfunction!(_set_dealloc_counting, m)?)?;
    m.add_function(wrap_pyfunction!(_get_dealloc_counting, m)?)?;
    Ok(())
}
