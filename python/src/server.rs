//! `rtpsynth.RtpServer`: the UDP I/O thread (`rtpsynth::server`).
//!
//! The worker thread calls `pkt_in(data, (host, port), rtime_ns)` with the
//! GIL taken only for that call. As in the original, a server keeps every
//! open channel object alive until it is closed or the server is shut
//! down, so a channel keeps receiving even when the caller dropped it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyMemoryError, PyOSError, PyOverflowError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};

use crate::args::to_bytes;

create_exception!(
    rtpsynth.RtpServer,
    RtpQueueFullError,
    PyException,
    "RtpChannel.send_pkt(): the channel's output queue is full."
);

const DEFAULT_TICK_HZ: u32 = 200;
const DEFAULT_QUEUE: u64 = 32;

/// Everything this module uses of the core server, in one place.
mod core {
    pub use rtpsynth::server::{ChanConfig, Channel, Error, Family, PktIn, Server, MAX_QUEUE};

    /// The core's typed errors, as this module tells them apart.
    pub fn is_shutdown(e: Error) -> bool {
        e == Error::Shutdown
    }
    pub fn is_queue_full(e: Error) -> bool {
        e == Error::QueueFull
    }
    pub fn is_too_big(e: Error) -> bool {
        e == Error::TooBig
    }
    pub fn is_no_memory(e: Error) -> bool {
        e == Error::NoMemory
    }
    pub fn is_bad_address(e: Error) -> bool {
        matches!(e, Error::Invalid | Error::FamilyMismatch)
    }

    /// The errno for an OSError (Python's edge, like src/ffi for C).
    pub fn errno(e: Error) -> i32 {
        match e {
            Error::Invalid => libc::EINVAL,
            Error::FamilyMismatch => libc::EAFNOSUPPORT,
            Error::NoTarget => libc::EDESTADDRREQ,
            Error::TooBig => libc::EMSGSIZE,
            Error::QueueFull => libc::ENOBUFS,
            Error::Shutdown => libc::ESHUTDOWN,
            Error::Closing => libc::EBADF,
            Error::TimedOut => libc::ETIMEDOUT,
            Error::WouldDeadlock => libc::EDEADLK,
            Error::NoMemory => libc::ENOMEM,
            Error::AddrInUse => libc::EADDRINUSE,
            Error::NotConnected => libc::ENOTCONN,
            Error::NotSupported => libc::EOPNOTSUPP,
            Error::Os(code) => code,
        }
    }

    /// The original's 0/4/6 as the core's family.
    pub fn family(code: i32) -> Family {
        match code {
            4 => Family::V4,
            6 => Family::V6,
            _ => Family::Auto,
        }
    }
}

fn os_error(e: core::Error) -> PyErr {
    let errno = core::errno(e);
    PyOSError::new_err((errno, std::io::Error::from_raw_os_error(errno).to_string()))
}

const AF_INET: i64 = libc::AF_INET as i64;
const AF_INET6: i64 = libc::AF_INET6 as i64;

/// The original's `bind_family`: None, 0/4/6, AF_*, or a name.
fn parse_family(obj: Option<&Bound<'_, PyAny>>) -> PyResult<i32> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(0);
    };
    if obj.is_instance_of::<PyInt>() {
        let v: i64 = obj.extract()?;
        return match v {
            0 => Ok(0),
            4 | AF_INET => Ok(4),
            6 | AF_INET6 => Ok(6),
            _ => Err(PyValueError::new_err(
                "bind_family must be one of: 0, 4, 6, AF_UNSPEC, AF_INET, AF_INET6",
            )),
        };
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_cow()?.as_ref() {
            "auto" | "unspec" | "any" => Ok(0),
            "ipv4" | "inet" | "af_inet" => Ok(4),
            "ipv6" | "inet6" | "af_inet6" => Ok(6),
            _ => Err(PyValueError::new_err(
                "bind_family string must be one of: auto, ipv4, ipv6",
            )),
        };
    }
    Err(PyTypeError::new_err(
        "bind_family must be an int, str, or None",
    ))
}

fn check_port(port: i64) -> PyResult<u16> {
    u16::try_from(port).map_err(|_| PyValueError::new_err("port must be in range 0..65535"))
}

/// A numeric IPv4 or IPv6 address ("[::1]" too).
fn numeric_host(host: &str) -> Option<IpAddr> {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    h.parse().ok()
}

/// Resolve `host` to a numeric address of the wanted family (0: any), as
/// the original's getaddrinfo; numeric hosts are used as they are.
fn resolve(py: Python<'_>, host: &str, port: u16, family: i32) -> PyResult<String> {
    let fits = |ip: &IpAddr| match family {
        4 => ip.is_ipv4(),
        6 => ip.is_ipv6(),
        _ => true,
    };
    if let Some(ip) = numeric_host(host) {
        if fits(&ip) {
            return Ok(ip.to_string());
        }
        return Err(PyOSError::new_err(
            "getaddrinfo failed: Address family for hostname not supported",
        ));
    }
    let host = host.to_owned();
    let found = py.detach(move || {
        (host.as_str(), port)
            .to_socket_addrs()
            .map(|it| it.collect::<Vec<SocketAddr>>())
    });
    match found {
        Err(e) => Err(PyOSError::new_err(format!("getaddrinfo failed: {e}"))),
        Ok(addrs) => addrs
            .iter()
            .map(SocketAddr::ip)
            .find(fits)
            .map(|ip| ip.to_string())
            .ok_or_else(|| PyOSError::new_err("failed to resolve a UDP address")),
    }
}

fn addr_tuple(py: Python<'_>, a: Option<SocketAddr>) -> PyResult<Py<PyAny>> {
    let t = match a {
        Some(a) => (a.ip().to_string(), a.port()).into_pyobject(py)?,
        None => (String::new(), 0u16).into_pyobject(py)?,
    };
    Ok(t.into_any().unbind())
}

type CbSlot = Arc<Mutex<Option<Py<PyAny>>>>;

/// The core callback: hands each datagram to the Python callable, with the
/// GIL held only for the call. An exception goes to `sys.unraisablehook`.
fn make_pkt_in(slot: CbSlot) -> core::PktIn {
    Box::new(move |pkt, from, rtime| {
        crate::pin::pin_thread_state();
        Python::attach(|py| {
            let cb = slot.lock().as_ref().map(|c| c.clone_ref(py));
            let Some(cb) = cb else { return };
            let from = from.to_socket_addr();
            let r = addr_tuple(py, from)
                .and_then(|addr| cb.call1(py, (PyBytes::new(py, pkt), addr, rtime)));
            if let Err(e) = r {
                e.write_unraisable(py, Some(cb.bind(py)));
            }
        })
    })
}

/// RTP I/O thread: `RtpServer(tick_hz=200)`.
///
/// One worker thread serves all channels of the server: it hands received
/// datagrams to each channel's `pkt_in` callback as they arrive and sends
/// queued packets within 1/`tick_hz` s.
#[pyclass(module = "rtpsynth.RtpServer", name = "RtpServer", frozen, weakref)]
pub struct RtpServer {
    srv: core::Server,
    tick_ns: u64,
    /// Open channels, kept alive by the server until closed or shut down.
    channels: Mutex<HashMap<u64, Py<RtpChannel>>>,
    next_id: Mutex<u64>,
}

#[pymethods]
impl RtpServer {
    #[new]
    #[pyo3(signature = (tick_hz = DEFAULT_TICK_HZ))]
    fn new(tick_hz: u32) -> PyResult<Self> {
        if tick_hz == 0 {
            return Err(PyValueError::new_err("tick_hz must be > 0"));
        }
        let srv = core::Server::new(tick_hz).map_err(|e| {
            if core::is_no_memory(e) {
                PyMemoryError::new_err("cannot allocate the server")
            } else {
                PyRuntimeError::new_err(format!("failed to create worker thread ({e})"))
            }
        })?;
        Ok(RtpServer {
            srv,
            tick_ns: (1_000_000_000u64 / tick_hz as u64).max(1),
            channels: Mutex::new(HashMap::new()),
            next_id: Mutex::new(1),
        })
    }

    /// Output tick length in nanoseconds (1e9 / tick_hz).
    #[getter]
    fn tick_ns(&self) -> u64 {
        self.tick_ns
    }

    /// create_channel(pkt_in, bind_host=None, bind_port=0, queue_size=32,
    /// bind_family=None) -> RtpChannel
    ///
    /// Bind a UDP socket and start receiving into `pkt_in(data, addr,
    /// rtime_ns)`. `queue_size` (a power of two, at most 65536) bounds the
    /// output queue; `bind_family` is None/0/"auto", 4/AF_INET/"ipv4" or
    /// 6/AF_INET6/"ipv6".
    #[pyo3(signature = (pkt_in, bind_host = None, bind_port = 0, queue_size = DEFAULT_QUEUE,
        bind_family = None))]
    fn create_channel(
        slf: &Bound<'_, Self>,
        pkt_in: &Bound<'_, PyAny>,
        bind_host: Option<&str>,
        bind_port: i64,
        queue_size: u64,
        bind_family: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<RtpChannel>> {
        let py = slf.py();
        let this = slf.get();
        if !pkt_in.is_callable() {
            return Err(PyTypeError::new_err("pkt_in must be callable"));
        }
        if queue_size == 0 {
            return Err(PyValueError::new_err("queue_size must be > 0"));
        }
        if !queue_size.is_power_of_two() {
            return Err(PyValueError::new_err("queue_size must be a power of two"));
        }
        if queue_size > core::MAX_QUEUE as u64 {
            return Err(PyOverflowError::new_err(format!(
                "queue_size is too large (at most {})",
                core::MAX_QUEUE
            )));
        }
        let family = parse_family(bind_family)?;
        let port = check_port(bind_port)?;
        let host = match bind_host {
            Some(h) if !h.is_empty() => resolve(py, h, port, family)?,
            _ if family == 6 => "::".to_string(),
            _ => "0.0.0.0".to_string(),
        };
        if this.srv.is_shut_down() {
            return Err(PyRuntimeError::new_err("RtpServer is shutting down"));
        }
        let slot: CbSlot = Arc::new(Mutex::new(Some(pkt_in.clone().unbind())));
        let cfg = core::ChanConfig {
            bind_host: Some(&host),
            bind_port: port,
            bind_family: core::family(family),
            queue_size: queue_size as u32,
        };
        let ch = match this.srv.create_channel(&cfg, make_pkt_in(slot.clone())) {
            Ok(ch) => ch,
            Err(e) => {
                slot.lock().take();
                return Err(if core::is_shutdown(e) {
                    PyRuntimeError::new_err("RtpServer is shutting down")
                } else if core::is_bad_address(e) {
                    PyOSError::new_err("failed to resolve a UDP address")
                } else if core::is_no_memory(e) {
                    PyMemoryError::new_err("cannot allocate the channel")
                } else {
                    os_error(e)
                });
            }
        };
        let id = {
            let mut n = this.next_id.lock();
            *n += 1;
            *n
        };
        let local = ch.local_socket_addr();
        let obj = Py::new(
            py,
            RtpChannel {
                server: slf.clone().unbind(),
                id,
                ch: Mutex::new(Some(ch)),
                closed: AtomicBool::new(false),
                has_target: AtomicBool::new(false),
                local,
                cb: slot,
            },
        )?;
        this.channels.lock().insert(id, obj.clone_ref(py));
        Ok(obj)
    }

    /// shutdown() -> None
    ///
    /// Stop the worker and release every channel's callback. Idempotent.
    /// Channel objects stay valid; closing one afterwards raises
    /// RuntimeError and only marks it closed. Safe from inside a callback
    /// (the worker then stops as soon as that callback returns).
    fn shutdown(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let this = slf.get();
        py.detach(|| this.srv.shutdown());
        let chans: Vec<Py<RtpChannel>> = this.channels.lock().drain().map(|(_, c)| c).collect();
        for c in &chans {
            let cb = c.get().cb.lock().take();
            drop(cb);
        }
        drop(chans);
    }
}

impl Drop for RtpServer {
    fn drop(&mut self) {
        // Joining the worker must not hold the GIL: a callback may wait
        // for it.
        Python::attach(|py| py.detach(|| self.srv.shutdown()));
    }
}

/// A UDP channel of an `RtpServer` (made by `RtpServer.create_channel`).
#[pyclass(module = "rtpsynth.RtpServer", name = "RtpChannel", frozen, weakref)]
pub struct RtpChannel {
    server: Py<RtpServer>,
    id: u64,
    ch: Mutex<Option<core::Channel>>,
    closed: AtomicBool,
    has_target: AtomicBool,
    local: SocketAddr,
    cb: CbSlot,
}

impl RtpChannel {
    fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("channel is closed"));
        }
        if self.server.get().srv.is_shut_down() {
            return Err(PyRuntimeError::new_err("RtpServer is shutting down"));
        }
        Ok(())
    }
}

#[pymethods]
impl RtpChannel {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(PyTypeError::new_err(
            "RtpChannel objects are created by RtpServer.create_channel()",
        ))
    }

    /// set_target(host, port) -> None
    ///
    /// Send queued packets to `host`:`port` (a name is resolved).
    fn set_target(&self, py: Python<'_>, host: &str, port: i64) -> PyResult<()> {
        self.check_open()?;
        let port = check_port(port)?;
        let family = if self.local.is_ipv6() { 6 } else { 4 };
        // An IPv6 socket also reaches IPv4 targets (as IPv4-mapped).
        let ip = match resolve(py, host, port, family) {
            Ok(ip) => ip,
            Err(e) if family == 6 => resolve(py, host, port, 4).map_err(|_| e)?,
            Err(e) => return Err(e),
        };
        let g = self.ch.lock();
        let Some(ch) = g.as_ref() else {
            return Err(PyRuntimeError::new_err("channel is no longer present"));
        };
        ch.set_target(&ip, port).map_err(|e| {
            if core::is_bad_address(e) {
                PyOSError::new_err("failed to resolve a UDP address")
            } else {
                os_error(e)
            }
        })?;
        self.has_target.store(true, Ordering::Release);
        Ok(())
    }

    /// send_pkt(data) -> None
    ///
    /// Queue a copy of `data` (bytes-like) for sending; never blocks.
    /// Raises RtpQueueFullError when the output queue is full.
    fn send_pkt(&self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("channel is closed"));
        }
        if !self.has_target.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("channel target is not set"));
        }
        let b = to_bytes(data)?;
        self.check_open()?;
        let g = self.ch.lock();
        let Some(ch) = g.as_ref() else {
            return Err(PyRuntimeError::new_err("channel is closed"));
        };
        match ch.send(b.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if core::is_queue_full(e) => {
                Err(RtpQueueFullError::new_err("channel output queue is full"))
            }
            Err(e) if core::is_shutdown(e) => {
                Err(PyRuntimeError::new_err("RtpServer is shutting down"))
            }
            // The original queues it and the kernel refuses it at sendto().
            Err(e) if core::is_too_big(e) => Ok(()),
            Err(e) => Err(os_error(e)),
        }
    }

    /// close() -> None
    ///
    /// Close the channel: when it returns, `pkt_in` is not running and
    /// never runs again, and the socket is closed. Raises RuntimeError if
    /// already closed, or (after marking it closed) if the server was shut
    /// down. Safe from inside any callback, this channel's included.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err("channel is already closed"));
        }
        let server = self.server.get();
        let ch = self.ch.lock().take();
        py.detach(|| drop(ch));
        let cb = self.cb.lock().take();
        drop(cb);
        let me = server.channels.lock().remove(&self.id);
        drop(me);
        if server.srv.is_shut_down() {
            return Err(PyRuntimeError::new_err("Server has been shutdown"));
        }
        Ok(())
    }

    /// The bound address as (host, port).
    #[getter]
    fn local_addr(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        addr_tuple(py, Some(self.local))
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for RtpChannel {
    fn drop(&mut self) {
        // Closing waits for a running callback, which needs the GIL.
        let ch = self.ch.get_mut().take();
        Python::attach(|py| {
            let cb = self.cb.lock().take();
            drop(cb);
            py.detach(|| drop(ch));
        });
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RtpQueueFullError", py.get_type::<RtpQueueFullError>())?;
    m.add_class::<RtpServer>()?;
    m.add_class::<RtpChannel>()?;
    Ok(())
}
