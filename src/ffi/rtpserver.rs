//! rtpserver.h: the UDP I/O thread behind opaque handles.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::mem::{size_of, MaybeUninit};
use std::time::Duration;

use super::handle::{
    ffi_ctor, free_box, to_boxed_mut_ptr, try_box_from, try_ref, Castable, OwnershipBox,
};
use super::EPANIC;
use crate::server::{
    Backend, ChanConfig, ChanOptions, Channel, Error, EventCb, Family, Latch, PktIn, RawAddr,
    Server, ServerConfig, StreamEvent, TcpMode, MAX_DATAGRAM,
};

/// The one place where the server's errors become negative errno values.
fn errno(e: Error) -> c_int {
    -match e {
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
        Error::Os(code) if code > 0 => code,
        Error::Os(_) => libc::EIO,
    }
}

fn status(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// `bind_family`: 0 auto, 4 IPv4, 6 IPv6.
fn family(code: c_int) -> Result<Family, c_int> {
    match code {
        0 => Ok(Family::Auto),
        4 => Ok(Family::V4),
        6 => Ok(Family::V6),
        _ => Err(-libc::EINVAL),
    }
}

/// `struct rtpsrv` (opaque to C).
pub struct rtpsrv {
    _private: [u8; 0],
}

impl Castable for rtpsrv {
    type Ownership = OwnershipBox;
    type RustType = Server;
}

/// `struct rtpsrv_chan` (opaque to C).
pub struct rtpsrv_chan {
    _private: [u8; 0],
}

impl Castable for rtpsrv_chan {
    type Ownership = OwnershipBox;
    type RustType = Channel;
}

/// `rtpsrv_pkt_in_t`.
pub type rtpsrv_pkt_in_t = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        pkt: *const u8,
        len: usize,
        from: *const libc::sockaddr,
        fromlen: libc::socklen_t,
        rtime_ns: u64,
    ),
>;

/// `struct rtpsrv_chan_cfg`.
#[repr(C)]
pub struct rtpsrv_chan_cfg {
    pub bind_host: *const c_char,
    pub bind_port: u16,
    pub bind_family: c_int,
    pub queue_size: c_uint,
}

/// `struct rtpsrv_chan_stats`.
#[repr(C)]
pub struct rtpsrv_chan_stats {
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub tx_queue_full: u64,
    pub tx_errors: u64,
}

/// `RTPSRV_BACKEND_*`.
pub const RTPSRV_BACKEND_AUTO: c_int = 0;
pub const RTPSRV_BACKEND_EPOLL: c_int = 1;
pub const RTPSRV_BACKEND_URING: c_int = 2;

/// `struct rtpsrv_cfg` (versioned by `size`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtpsrv_cfg {
    pub size: usize,
    pub tick_hz: c_uint,
    pub workers: c_uint,
    pub backend: c_int,
}

/// `RTPSRV_LATCH_*`.
pub const RTPSRV_LATCH_OFF: c_int = 0;
pub const RTPSRV_LATCH_LOCK: c_int = 1;
pub const RTPSRV_LATCH_FOLLOW: c_int = 2;

/// `struct rtpsrv_chan_opts` (versioned by `size`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtpsrv_chan_opts {
    pub size: usize,
    pub latch: c_int,
    pub latch_probation: c_uint,
    pub stun: c_int,
    pub rtcp_in: rtpsrv_pkt_in_t,
    pub rtcp_arg: *mut c_void,
}

/// `struct rtpsrv_chan_stats_ex` (versioned by `size`).
#[repr(C)]
pub struct rtpsrv_chan_stats_ex {
    pub size: usize,
    pub base: rtpsrv_chan_stats,
    pub rx_rtcp: u64,
    pub stun_answered: u64,
    pub latch_moves: u64,
    pub rx_dropped: u64,
}

/// `struct rtpsrv_pair_cfg` (versioned by `size`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtpsrv_pair_cfg {
    pub size: usize,
    pub port_min: u16,
    pub port_max: u16,
    pub rtp_opts: *const rtpsrv_chan_opts,
    pub rtp_in: rtpsrv_pkt_in_t,
    pub rtp_arg: *mut c_void,
    pub rtcp_opts: *const rtpsrv_chan_opts,
    pub rtcp_in: rtpsrv_pkt_in_t,
    pub rtcp_arg: *mut c_void,
}

/// `RTPSRV_TCP_*`, `RTPSRV_EV_*`.
pub const RTPSRV_TCP_LISTEN: c_int = 1;
pub const RTPSRV_TCP_CONNECT: c_int = 2;
pub const RTPSRV_EV_CONNECTED: c_int = 1;
pub const RTPSRV_EV_CLOSED: c_int = 2;
pub const RTPSRV_EV_RESET: c_int = 3;

/// `rtpsrv_event_t`.
pub type rtpsrv_event_t = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        event: c_int,
        error: c_int,
        peer: *const libc::sockaddr,
        peerlen: libc::socklen_t,
        rtime_ns: u64,
    ),
>;

/// `struct rtpsrv_tcp_cfg` (versioned by `size`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtpsrv_tcp_cfg {
    pub size: usize,
    pub mode: c_int,
    pub peer: *const libc::sockaddr,
    pub peerlen: libc::socklen_t,
    pub on_event: rtpsrv_event_t,
    pub event_arg: *mut c_void,
}

/// The C event callback and its argument, moved to the worker thread.
struct CEvent {
    f: unsafe extern "C" fn(*mut c_void, c_int, c_int, *const libc::sockaddr, libc::socklen_t, u64),
    arg: *mut c_void,
}

// SAFETY: as for CCallback: the header documents that `on_event` runs with
// `event_arg` on the worker thread.
unsafe impl Send for CEvent {}

impl CEvent {
    fn call(&self, code: c_int, error: c_int, peer: &RawAddr, t: u64) {
        // SAFETY: the caller's function with its own argument and a peer
        // address valid for `socklen` bytes during the call.
        unsafe { (self.f)(self.arg, code, error, peer.as_ptr(), peer.socklen(), t) }
    }
}

fn event_callback(f: rtpsrv_event_t, arg: *mut c_void) -> Option<EventCb> {
    let cb = CEvent { f: f?, arg };
    Some(Box::new(move |ev, peer, t| {
        let (code, error) = match ev {
            StreamEvent::Connected => (RTPSRV_EV_CONNECTED, 0),
            StreamEvent::Closed => (RTPSRV_EV_CLOSED, 0),
            StreamEvent::Reset(e) => (RTPSRV_EV_RESET, errno(e)),
        };
        cb.call(code, error, peer, t)
    }))
}

/// A caller's `struct sockaddr` of `len` bytes as an address.
///
/// # Safety
/// `sa` is NULL or readable for `len` bytes.
unsafe fn sockaddr_in(sa: *const libc::sockaddr, len: libc::socklen_t) -> Result<RawAddr, c_int> {
    let n = len as usize;
    if sa.is_null() || n < size_of::<libc::sa_family_t>() {
        return Err(-libc::EINVAL);
    }
    // SAFETY: zero is a valid sockaddr_storage; `sa` is readable for `len`
    // bytes (contract), of which we copy at most the storage.
    let storage = unsafe {
        let mut st: libc::sockaddr_storage = std::mem::zeroed();
        std::ptr::copy_nonoverlapping(
            sa.cast::<u8>(),
            (&mut st as *mut libc::sockaddr_storage).cast::<u8>(),
            n.min(size_of::<libc::sockaddr_storage>()),
        );
        st
    };
    let fam = storage.ss_family as c_int;
    RawAddr::from_storage(&storage, n).ok_or(if fam == libc::AF_INET || fam == libc::AF_INET6 {
        -libc::EINVAL
    } else {
        -libc::EAFNOSUPPORT
    })
}

/// Read a caller's versioned struct (its first member is `size_t size`):
/// the bytes it says it has, up to ours; the rest stays zero (the
/// documented defaults). None for NULL or a `size` too small to hold
/// `size` itself.
///
/// # Safety
/// `p` is NULL or points to at least `(*p).size` readable bytes, and `T`
/// is a repr(C) struct of integers, raw pointers and optional function
/// pointers (all-zero is a valid value).
unsafe fn read_sized<T: Copy>(p: *const T) -> Option<T> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the first member of every such struct is a size_t.
    let size = unsafe { p.cast::<usize>().read_unaligned() };
    if size < size_of::<usize>() {
        return None;
    }
    let n = size.min(size_of::<T>());
    let mut v = MaybeUninit::<T>::zeroed();
    // SAFETY: `n` bytes are readable at `p` (the caller says `size`), and
    // writable in `v`; all-zero and any byte pattern the caller wrote into
    // these integer/pointer fields are valid values of T.
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), v.as_mut_ptr().cast::<u8>(), n);
        Some(v.assume_init())
    }
}

/// The core's latch mode for `RTPSRV_LATCH_*`.
fn latch(mode: c_int, probation: c_uint) -> Result<Latch, c_int> {
    match mode {
        RTPSRV_LATCH_OFF => Ok(Latch::Off),
        RTPSRV_LATCH_LOCK => Ok(Latch::Lock { probation }),
        RTPSRV_LATCH_FOLLOW => Ok(Latch::Follow),
        _ => Err(-libc::EINVAL),
    }
}

/// `opts` (NULL: all defaults) as the core's options.
///
/// # Safety
/// As `read_sized`.
unsafe fn options(opts: *const rtpsrv_chan_opts) -> Result<ChanOptions, c_int> {
    if opts.is_null() {
        return Ok(ChanOptions::default());
    }
    // SAFETY: non-NULL `opts` is readable for its `size` (the contract).
    let Some(o) = (unsafe { read_sized(opts) }) else {
        return Err(-libc::EINVAL);
    };
    Ok(ChanOptions {
        latch: latch(o.latch, o.latch_probation)?,
        stun: o.stun != 0,
        rtcp: callback(o.rtcp_in, o.rtcp_arg),
    })
}

fn callback(f: rtpsrv_pkt_in_t, arg: *mut c_void) -> Option<PktIn> {
    let cb = CCallback { f: f?, arg };
    Some(Box::new(move |p, a, t| cb.call(p, a, t)))
}

/// The caller's channel config as the core's; -EINVAL for NULL.
///
/// # Safety
/// `cfg` is NULL or a config, readable for `'a`, whose `bind_host` is NULL
/// or NUL-terminated.
unsafe fn chan_config<'a>(cfg: *const rtpsrv_chan_cfg) -> Result<ChanConfig<'a>, c_int> {
    // SAFETY: per this function's contract.
    let Some(cfg) = (unsafe { cfg.as_ref() }) else {
        return Err(-libc::EINVAL);
    };
    Ok(ChanConfig {
        bind_host: c_str(cfg.bind_host)?,
        bind_port: cfg.bind_port,
        bind_family: family(cfg.bind_family)?,
        queue_size: cfg.queue_size,
    })
}

/// Copy an address out to a caller's `sockaddr_storage`.
///
/// # Safety
/// Both pointers are NULL or writable.
unsafe fn write_addr(
    a: &RawAddr,
    addr: *mut libc::sockaddr_storage,
    addrlen: *mut libc::socklen_t,
) -> c_int {
    if addr.is_null() || addrlen.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: both pointers are non-NULL and writable per the contract.
    unsafe {
        *addr = *a.storage();
        *addrlen = a.socklen();
    }
    0
}

/// The C callback and its argument, moved to the worker thread.
struct CCallback {
    f: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const libc::sockaddr,
        libc::socklen_t,
        u64,
    ),
    arg: *mut c_void,
}

// SAFETY: the header documents that `pkt_in` is called with `arg` on the
// server's worker thread; making that legal is the caller's contract.
unsafe impl Send for CCallback {}

impl CCallback {
    fn call(&self, pkt: &[u8], from: &RawAddr, rtime: u64) {
        // SAFETY: the caller-supplied function is called with its own `arg`,
        // a payload pointer valid for `len` bytes and a source address valid
        // for `fromlen` bytes (the kernel form, no conversion), all for the
        // duration of the call.
        unsafe {
            (self.f)(
                self.arg,
                pkt.as_ptr(),
                pkt.len(),
                from.as_ptr(),
                from.socklen(),
                rtime,
            )
        }
    }
}

fn c_str<'a>(p: *const c_char) -> Result<Option<&'a str>, c_int> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string argument is NUL-terminated per the header.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| -libc::EINVAL)
}

/// Start a server and its worker thread; see rtpserver.h.
///
/// # Safety
/// `err` is NULL or points to a writable int.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_ctor(tick_hz: c_uint, err: *mut c_int) -> *mut rtpsrv {
    ffi_ctor!(err, {
        start(ServerConfig {
            tick_hz,
            ..ServerConfig::default()
        })
    })
}

/// Start a server; AUTO follows `RTPSYNTH_SERVER_BACKEND` (`uring`: io_uring
/// where the kernel has it, else epoll; anything else: epoll).
fn start(cfg: ServerConfig) -> Result<Server, c_int> {
    if cfg.backend == Backend::Auto
        && std::env::var_os("RTPSYNTH_SERVER_BACKEND").is_some_and(|v| v == "uring")
    {
        let uring = ServerConfig {
            backend: Backend::Uring,
            ..cfg
        };
        match Server::with_config(&uring) {
            Err(Error::NotSupported) => {}
            r => return r.map_err(errno),
        }
    }
    Server::with_config(&cfg).map_err(errno)
}

/// Start a server as `cfg` says (NULL: the defaults); see rtpserver.h.
///
/// # Safety
/// `cfg` is NULL or readable for its `size` bytes; `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_ctor_cfg(cfg: *const rtpsrv_cfg, err: *mut c_int) -> *mut rtpsrv {
    ffi_ctor!(err, {
        let c = if cfg.is_null() {
            ServerConfig::default()
        } else {
            // SAFETY: non-NULL `cfg` is readable for its `size` (the contract).
            let Some(c) = (unsafe { read_sized(cfg) }) else {
                return Err(-libc::EINVAL);
            };
            let backend = match c.backend {
                RTPSRV_BACKEND_AUTO => Backend::Auto,
                RTPSRV_BACKEND_EPOLL => Backend::Epoll,
                RTPSRV_BACKEND_URING => Backend::Uring,
                _ => return Err(-libc::EINVAL),
            };
            ServerConfig {
                tick_hz: c.tick_hz,
                workers: c.workers,
                backend,
            }
        };
        start(c)
    })
}

/// Open a channel; see rtpserver.h.
///
/// # Safety
/// `srv` must be NULL or a live server; `cfg` NULL or a readable config
/// whose `bind_host` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_create_channel(
    srv: *mut rtpsrv,
    cfg: *const rtpsrv_chan_cfg,
    pkt_in: rtpsrv_pkt_in_t,
    arg: *mut c_void,
    err: *mut c_int,
) -> *mut rtpsrv_chan {
    ffi_ctor!(err, {
        let s = try_ref!(srv, Err(-libc::EINVAL));
        let Some(cb) = callback(pkt_in, arg) else {
            return Err(-libc::EINVAL);
        };
        // SAFETY: `cfg` is NULL or live with a NULL or NUL-terminated host
        // (the contract).
        let ccfg = unsafe { chan_config(cfg) }?;
        s.create_channel(&ccfg, cb).map_err(errno)
    })
}

/// Open a channel with options (latching, STUN, rtcp-mux; NULL `pkt_in`
/// for send-only); see rtpserver.h.
///
/// # Safety
/// As `rtpsrv_create_channel`; `opts` NULL or readable for its `size`.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_create_channel_opts(
    srv: *mut rtpsrv,
    cfg: *const rtpsrv_chan_cfg,
    opts: *const rtpsrv_chan_opts,
    pkt_in: rtpsrv_pkt_in_t,
    arg: *mut c_void,
    err: *mut c_int,
) -> *mut rtpsrv_chan {
    ffi_ctor!(err, {
        let s = try_ref!(srv, Err(-libc::EINVAL));
        // SAFETY: `cfg` is NULL or live with a NULL or NUL-terminated host
        // (the contract).
        let ccfg = unsafe { chan_config(cfg) }?;
        // SAFETY: `opts` is NULL or readable for its size (contract).
        let o = unsafe { options(opts) }?;
        s.create_channel_with(&ccfg, o, callback(pkt_in, arg))
            .map_err(errno)
    })
}

/// Open an RTP/RTCP channel pair on even/odd ports; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or live; `cfg`, `pair` NULL or readable (pair for its
/// `size`, its option pointers NULL or readable for theirs); `rtp`, `rtcp`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_create_pair(
    srv: *mut rtpsrv,
    cfg: *const rtpsrv_chan_cfg,
    pair: *const rtpsrv_pair_cfg,
    rtp: *mut *mut rtpsrv_chan,
    rtcp: *mut *mut rtpsrv_chan,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_ref!(srv, -libc::EINVAL);
        if rtp.is_null() || rtcp.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: both out-pointers are non-NULL and writable (contract).
        unsafe {
            *rtp = std::ptr::null_mut();
            *rtcp = std::ptr::null_mut();
        }
        // SAFETY: `pair` is NULL or readable for its size (contract).
        let Some(p) = (unsafe { read_sized(pair) }) else {
            return -libc::EINVAL;
        };
        // SAFETY: as above, for the config and the two option structs.
        let parts = unsafe { (chan_config(cfg), options(p.rtp_opts), options(p.rtcp_opts)) };
        let (ccfg, ro, co) = match parts {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
        };
        let r = s.create_pair(
            &ccfg,
            p.port_min..=p.port_max,
            (ro, callback(p.rtp_in, p.rtp_arg)),
            (co, callback(p.rtcp_in, p.rtcp_arg)),
        );
        match r {
            Ok((a, b)) => {
                // SAFETY: both out-pointers are non-NULL and writable.
                unsafe {
                    *rtp = to_boxed_mut_ptr::<rtpsrv_chan>(a);
                    *rtcp = to_boxed_mut_ptr::<rtpsrv_chan>(b);
                }
                0
            }
            Err(e) => errno(e),
        }
    })
}

/// The bound local address; see rtpserver.h.
///
/// # Safety
/// Pointers must be NULL or valid as documented.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_local_addr(
    ch: *const rtpsrv_chan,
    addr: *mut libc::sockaddr_storage,
    addrlen: *mut libc::socklen_t,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        // SAFETY: NULL or writable per the contract.
        unsafe { write_addr(c.local_addr(), addr, addrlen) }
    })
}

/// The current target (set or latched); see rtpserver.h.
///
/// # Safety
/// Pointers must be NULL or valid as documented.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_get_target(
    ch: *const rtpsrv_chan,
    addr: *mut libc::sockaddr_storage,
    addrlen: *mut libc::socklen_t,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if addr.is_null() || addrlen.is_null() {
            return -libc::EINVAL;
        }
        match c.target() {
            // SAFETY: NULL or writable per the contract.
            Some(t) => unsafe { write_addr(&t, addr, addrlen) },
            None => -libc::EDESTADDRREQ,
        }
    })
}

/// Set the destination from a socket address; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `sa` NULL or readable for `salen` bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_set_target_sa(
    ch: *mut rtpsrv_chan,
    sa: *const libc::sockaddr,
    salen: libc::socklen_t,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        // SAFETY: `sa` is NULL or readable for `salen` bytes (contract).
        let a = match unsafe { sockaddr_in(sa, salen) } {
            Ok(a) => a,
            Err(e) => return e,
        };
        match a.to_socket_addr() {
            Some(to) => status(c.set_target_addr(to)),
            None => -libc::EINVAL,
        }
    })
}

/// Open an RFC 4571 TCP channel; see rtpserver.h.
///
/// # Safety
/// As `rtpsrv_create_channel`; `tcp` NULL or readable for its `size`, its
/// `peer` NULL or readable for `peerlen` bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_create_tcp_channel(
    srv: *mut rtpsrv,
    cfg: *const rtpsrv_chan_cfg,
    tcp: *const rtpsrv_tcp_cfg,
    pkt_in: rtpsrv_pkt_in_t,
    arg: *mut c_void,
    err: *mut c_int,
) -> *mut rtpsrv_chan {
    ffi_ctor!(err, {
        let s = try_ref!(srv, Err(-libc::EINVAL));
        // SAFETY: `cfg` is NULL or live with a NULL or NUL-terminated host
        // (the contract).
        let ccfg = unsafe { chan_config(cfg) }?;
        // SAFETY: `tcp` is NULL or readable for its size (contract).
        let Some(t) = (unsafe { read_sized(tcp) }) else {
            return Err(-libc::EINVAL);
        };
        let mode = match t.mode {
            RTPSRV_TCP_LISTEN => TcpMode::Listen,
            RTPSRV_TCP_CONNECT => {
                // SAFETY: `peer` is NULL or readable for `peerlen` bytes.
                let a = unsafe { sockaddr_in(t.peer, t.peerlen) }?;
                TcpMode::Connect(a.to_socket_addr().ok_or(-libc::EINVAL)?)
            }
            _ => return Err(-libc::EINVAL),
        };
        s.create_tcp_channel(
            &ccfg,
            mode,
            callback(pkt_in, arg),
            event_callback(t.on_event, t.event_arg),
        )
        .map_err(errno)
    })
}

/// Change the latching mode and restart learning; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_set_latch(
    ch: *mut rtpsrv_chan,
    mode: c_int,
    probation: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        match latch(mode, probation) {
            Ok(m) => {
                c.set_latch(m);
                0
            }
            Err(e) => e,
        }
    })
}

/// Wait until the queue is on the wire, at most `timeout_ns`; see
/// rtpserver.h.
///
/// # Safety
/// `ch` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_drain(ch: *mut rtpsrv_chan, timeout_ns: u64) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        status(c.drain(Duration::from_nanos(timeout_ns)))
    })
}

/// Drain (at most `timeout_ns`), then close and free; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or a live channel handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_close_drain(ch: *mut rtpsrv_chan, timeout_ns: u64) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: NULL or a live channel handle, not used again (contract).
        match unsafe { try_box_from(ch) } {
            Some(c) => status(c.close_drained(Duration::from_nanos(timeout_ns))),
            None => -libc::EINVAL,
        }
    })
}

/// The channel's counters including the round-2 ones; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `st` NULL or writable for its `size`.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_stats_ex(
    ch: *const rtpsrv_chan,
    st: *mut rtpsrv_chan_stats_ex,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: `st` is non-NULL and its first member readable (contract).
        let size = unsafe { st.cast::<usize>().read_unaligned() };
        if size < size_of::<usize>() {
            return -libc::EINVAL;
        }
        let s = c.stats();
        let out = rtpsrv_chan_stats_ex {
            size: size.min(size_of::<rtpsrv_chan_stats_ex>()),
            base: rtpsrv_chan_stats {
                rx_pkts: s.rx_pkts,
                rx_bytes: s.rx_bytes,
                tx_pkts: s.tx_pkts,
                tx_bytes: s.tx_bytes,
                tx_queue_full: s.tx_queue_full,
                tx_errors: s.tx_errors,
            },
            rx_rtcp: s.rx_rtcp,
            stun_answered: s.stun_answered,
            latch_moves: s.latch_moves,
            rx_dropped: s.rx_dropped,
        };
        let n = size.min(size_of::<rtpsrv_chan_stats_ex>());
        // SAFETY: `st` is writable for `size` bytes (contract); we write
        // at most that many, and at most our struct.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&out as *const rtpsrv_chan_stats_ex).cast::<u8>(),
                st.cast::<u8>(),
                n,
            )
        };
        0
    })
}

/// Set the destination of queued packets; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `host` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_set_target(
    ch: *mut rtpsrv_chan,
    host: *const c_char,
    port: u16,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        let host = match c_str(host) {
            Ok(Some(h)) => h,
            Ok(None) => return -libc::EINVAL,
            Err(e) => return e,
        };
        status(c.set_target(host, port))
    })
}

/// Queue a copy of a packet; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `pkt` readable for `len` bytes (or NULL when len 0).
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_send_pkt(
    ch: *mut rtpsrv_chan,
    pkt: *const c_void,
    len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if len > MAX_DATAGRAM {
            return -libc::EMSGSIZE;
        }
        // SAFETY: a non-NULL `pkt` has `len` readable bytes per the contract.
        let Some(bytes) = (unsafe { super::bytes(pkt.cast(), len) }) else {
            return -libc::EINVAL;
        };
        status(c.send(bytes))
    })
}

/// Copy the channel's counters; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `st` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_stats(
    ch: *const rtpsrv_chan,
    st: *mut rtpsrv_chan_stats,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        let s = c.stats();
        // SAFETY: `st` is non-NULL and writable per the contract.
        unsafe {
            *st = rtpsrv_chan_stats {
                rx_pkts: s.rx_pkts,
                rx_bytes: s.rx_bytes,
                tx_pkts: s.tx_pkts,
                tx_bytes: s.tx_bytes,
                tx_queue_full: s.tx_queue_full,
                tx_errors: s.tx_errors,
            }
        };
        0
    })
}

/// Close a channel and free its handle; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or a live channel handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_close(ch: *mut rtpsrv_chan) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: NULL or a live channel handle, not used again (contract).
        match unsafe { try_box_from(ch) } {
            Some(c) => {
                c.close();
                0
            }
            None => -libc::EINVAL,
        }
    })
}

/// The backend the server's workers run; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_backend(srv: *const rtpsrv) -> c_int {
    super::ffi_boundary!(EPANIC, {
        match try_ref!(srv, -libc::EINVAL).backend() {
            Backend::Uring => RTPSRV_BACKEND_URING,
            _ => RTPSRV_BACKEND_EPOLL,
        }
    })
}

/// Stop the worker; idempotent; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_shutdown(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        try_ref!(srv).shutdown();
    })
}

/// Shut down (if not yet) and free the server handle; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_dtor(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        // SAFETY: NULL or a live server, not used again (the contract).
        unsafe { free_box(srv) };
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn null_arguments_are_errors() {
        let mut err = 0;
        // SAFETY: NULL everywhere is the documented error case.
        unsafe {
            assert!(rtpsrv_create_channel(
                ptr::null_mut(),
                ptr::null(),
                None,
                ptr::null_mut(),
                &mut err
            )
            .is_null());
            assert_eq!(err, -libc::EINVAL);
            assert_eq!(
                rtpsrv_chan_send_pkt(ptr::null_mut(), ptr::null(), 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_set_target(ptr::null_mut(), ptr::null(), 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_stats(ptr::null(), ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_local_addr(ptr::null(), ptr::null_mut(), ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(rtpsrv_chan_close(ptr::null_mut()), -libc::EINVAL);
            rtpsrv_shutdown(ptr::null_mut());
            rtpsrv_dtor(ptr::null_mut());
        }
        // SAFETY: `err` is a valid int.
        let s = unsafe { rtpsrv_ctor(0, &mut err) };
        assert!(!s.is_null());
        let cfg = rtpsrv_chan_cfg {
            bind_host: c"127.0.0.1".as_ptr(),
            bind_port: 0,
            bind_family: 0,
            queue_size: 0,
        };
        // SAFETY: live server, valid cfg, NULL callback is the error tested.
        unsafe {
            assert!(rtpsrv_create_channel(s, &cfg, None, ptr::null_mut(), &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            rtpsrv_dtor(s);
        }
    }
}
