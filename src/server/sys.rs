//! The Linux system calls the server is built on: non-blocking UDP sockets,
//! epoll, eventfd, recvmmsg/sendmmsg. Every `unsafe` and every libc type of
//! the server lives here, behind small safe functions that return the typed
//! `Error` (the send paths, which branch on "try again", return `SendErr`).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest UDP payload over IPv4 (65535 - 8 - 20).
pub const MAX_DATAGRAM: usize = 65507;
/// Receive buffer per datagram: any UDP payload fits.
pub const RECV_BUF: usize = 65536;
/// Distance between two receive buffers: not a multiple of the page size,
/// so the heads of the buffers (where small datagrams land) fall into
/// different cache sets.
const RECV_STRIDE: usize = RECV_BUF + 192;

use super::error::Error;

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The typed error for an OS error code.
pub fn os_error(e: i32) -> Error {
    match e {
        libc::EADDRINUSE => Error::AddrInUse,
        libc::ENOMEM => Error::NoMemory,
        _ => Error::Os(e),
    }
}

/// Why a thread could not start (EAGAIN when the OS gave no code).
pub fn spawn_error(e: io::Error) -> Error {
    os_error(e.raw_os_error().unwrap_or(libc::EAGAIN))
}

pub fn last_error() -> Error {
    os_error(errno())
}

/// Why a non-blocking send did not go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendErr {
    /// The socket buffer is full (EAGAIN, or ENOBUFS on Linux): retry later.
    Again,
    /// Interrupted by a signal: retry now.
    Interrupted,
    /// The kernel refused this datagram (or the stream broke): drop it.
    Failed(i32),
}

fn send_error(e: i32) -> SendErr {
    match e {
        libc::EINTR => SendErr::Interrupted,
        libc::ENOBUFS => SendErr::Again,
        e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => SendErr::Again,
        e => SendErr::Failed(e),
    }
}

/// `Vec::with_capacity` that reports a refused allocation instead of
/// aborting the process.
pub fn try_vec<T>(n: usize) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::NoMemory)?;
    Ok(v)
}

/// A socket address (IPv4 or IPv6) kept in the kernel's representation, so
/// the receive path hands it on without converting; `to_socket_addr` gives
/// the `std::net` form. Plain data, `Copy`; equality compares family, port,
/// address (and the IPv6 scope), not padding.
#[derive(Clone, Copy)]
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    pub fn empty() -> RawAddr {
        // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
        RawAddr {
            storage: unsafe { zeroed() },
            len: 0,
        }
    }

    pub fn from_socket_addr(a: &SocketAddr) -> RawAddr {
        let mut r = RawAddr::empty();
        match a {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in.
                unsafe {
                    std::ptr::write((&mut r.storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                r.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: v6.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut r.storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                r.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        r
    }

    /// Back to a std address (None for a family other than IPv4/IPv6).
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        match self.storage.ss_family as i32 {
            libc::AF_INET if self.len as usize >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin: libc::sockaddr_in = unsafe {
                    std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast())
                };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if self.len as usize >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let s6: libc::sockaddr_in6 = unsafe {
                    std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast())
                };
                let ip = Ipv6Addr::from(s6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(s6.sin6_port),
                    u32::from_be(s6.sin6_flowinfo),
                    s6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The kernel form, for the C ABI.
    pub fn storage(&self) -> &libc::sockaddr_storage {
        &self.storage
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    /// Length in bytes of the kernel form (`socklen_t`).
    pub fn socklen(&self) -> libc::socklen_t {
        self.len
    }

    /// From the kernel form of a C caller (`struct sockaddr` of `len`
    /// bytes, already copied out): None unless it is a complete IPv4 or
    /// IPv6 address.
    pub fn from_storage(storage: &libc::sockaddr_storage, len: usize) -> Option<RawAddr> {
        let r = RawAddr {
            storage: *storage,
            len: len.min(size_of::<libc::sockaddr_storage>()) as libc::socklen_t,
        };
        r.to_socket_addr().map(|a| RawAddr::from_socket_addr(&a))
    }

    /// From the name bytes the kernel wrote (an io_uring recvmsg's
    /// source): at most a `sockaddr_storage`, the rest zero.
    pub fn from_name_bytes(b: &[u8]) -> RawAddr {
        let mut r = RawAddr::empty();
        let n = b.len().min(size_of::<libc::sockaddr_storage>());
        // SAFETY: n bytes fit in the storage, which is plain old data.
        unsafe {
            std::ptr::copy_nonoverlapping(
                b.as_ptr(),
                (&mut r.storage as *mut libc::sockaddr_storage).cast::<u8>(),
                n,
            );
        }
        r.len = n as libc::socklen_t;
        r
    }

    /// The port (0 for an empty address).
    pub fn port(&self) -> u16 {
        self.to_socket_addr().map(|a| a.port()).unwrap_or(0)
    }
}

impl PartialEq for RawAddr {
    fn eq(&self, o: &RawAddr) -> bool {
        if self.storage.ss_family != o.storage.ss_family {
            return false;
        }
        match self.storage.ss_family as i32 {
            libc::AF_INET => {
                // SAFETY: the family says both hold a sockaddr_in (written
                // by the kernel or `from_socket_addr`).
                let (a, b): (libc::sockaddr_in, libc::sockaddr_in) = unsafe {
                    (
                        std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast()),
                        std::ptr::read((&o.storage as *const libc::sockaddr_storage).cast()),
                    )
                };
                a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
            }
            libc::AF_INET6 => {
                // SAFETY: the family says both hold a sockaddr_in6.
                let (a, b): (libc::sockaddr_in6, libc::sockaddr_in6) = unsafe {
                    (
                        std::ptr::read((&self.storage as *const libc::sockaddr_storage).cast()),
                        std::ptr::read((&o.storage as *const libc::sockaddr_storage).cast()),
                    )
                };
                a.sin6_port == b.sin6_port
                    && a.sin6_addr.s6_addr == b.sin6_addr.s6_addr
                    && a.sin6_scope_id == b.sin6_scope_id
            }
            _ => self.len == o.len,
        }
    }
}

impl Eq for RawAddr {}

impl std::fmt::Debug for RawAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_socket_addr() {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("(none)"),
        }
    }
}

impl From<SocketAddr> for RawAddr {
    fn from(a: SocketAddr) -> RawAddr {
        RawAddr::from_socket_addr(&a)
    }
}

/// A non-blocking, close-on-exec UDP socket bound to `addr`.
pub fn udp_bind(addr: &SocketAddr) -> Result<OwnedFd, Error> {
    bound_socket(addr, libc::SOCK_DGRAM, |_| {})
}

/// A non-blocking, close-on-exec socket of `ty` for `addr`'s family,
/// prepared by `setup` and bound to `addr`.
fn bound_socket(addr: &SocketAddr, ty: i32, setup: impl FnOnce(RawFd)) -> Result<OwnedFd, Error> {
    let fam = match addr.ip() {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(fam, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    setup(fd.as_raw_fd());
    let raw = RawAddr::from_socket_addr(addr);
    // SAFETY: raw holds a valid sockaddr of raw.len bytes.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len) };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(fd)
}

/// The address a socket is bound to.
pub fn local_addr(fd: RawFd) -> Result<RawAddr, Error> {
    let mut r = RawAddr::empty();
    r.len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the storage is writable and r.len tells its size.
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut r.storage as *mut libc::sockaddr_storage).cast(),
            &mut r.len,
        )
    };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(r)
}

pub fn epoll_create() -> Result<OwnedFd, Error> {
    // SAFETY: plain epoll_create1 call; the result is checked.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Watch `fd` for readability (level-triggered), reporting `token`.
pub fn epoll_add(epfd: RawFd, fd: RawFd, token: u64) -> Result<(), Error> {
    epoll_add_watch(epfd, fd, token, false)
}

/// Watch `fd` for readability, and for writability too when `out`.
pub fn epoll_add_watch(epfd: RawFd, fd: RawFd, token: u64, out: bool) -> Result<(), Error> {
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | if out { libc::EPOLLOUT } else { 0 }) as u32,
        u64: token,
    };
    // SAFETY: ev is a valid epoll_event; bad fds are reported as errors.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(())
}

pub fn epoll_del(epfd: RawFd, fd: RawFd) {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: ev is valid (ignored by DEL); errors are harmless here.
    unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
}

fn new_event() -> libc::epoll_event {
    libc::epoll_event { events: 0, u64: 0 }
}

/// Room for the events of one `epoll_wait` (allocated up front, fallibly).
pub struct Events {
    evs: Vec<libc::epoll_event>,
}

impl Events {
    pub fn new(n: usize) -> Result<Events, Error> {
        let mut evs = try_vec(n.max(1))?;
        evs.resize(n.max(1), new_event());
        Ok(Events { evs })
    }

    /// Token of event `i` of the last wait.
    pub fn token(&self, i: usize) -> u64 {
        self.evs[i].u64
    }
}

/// Wait for events; EINTR is reported as zero events.
pub fn epoll_wait(epfd: RawFd, events: &mut Events, timeout_ms: i32) -> Result<usize, Error> {
    let events = &mut events.evs;
    let max = events.len().min(i32::MAX as usize) as i32;
    // SAFETY: `events` is a writable array of `max` epoll_event.
    let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, timeout_ms) };
    if n < 0 {
        let e = errno();
        return if e == libc::EINTR {
            Ok(0)
        } else {
            Err(os_error(e))
        };
    }
    Ok(n as usize)
}

pub fn eventfd() -> Result<OwnedFd, Error> {
    // SAFETY: plain eventfd call; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64; a full counter (EAGAIN)
    // still leaves the fd readable, which is all we need.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

pub fn eventfd_drain(fd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads at most 8 bytes into a valid u64.
    unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
}

/// One datagram's header for recvmmsg/sendmmsg: an address and one iovec.
fn set_mmsghdr(
    h: &mut libc::mmsghdr,
    name: *mut libc::c_void,
    namelen: libc::socklen_t,
    iov: *mut libc::iovec,
) {
    h.msg_hdr.msg_name = name;
    h.msg_hdr.msg_namelen = namelen;
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = 1;
    h.msg_hdr.msg_control = std::ptr::null_mut();
    h.msg_hdr.msg_controllen = 0;
    h.msg_hdr.msg_flags = 0;
    h.msg_len = 0;
}

/// Reusable buffers for one `recvmmsg` call of up to `n` datagrams.
pub struct RecvBatch {
    bufs: Vec<u8>,
    iovs: Vec<libc::iovec>,
    addrs: Vec<RawAddr>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside the mmsghdr/iovec arrays only ever point
// into this batch's own buffers (or, for SendBatch, into borrowed packets
// during one call), and are rewritten before every use; moving the batch to
// the worker thread moves the buffers with it.
unsafe impl Send for RecvBatch {}
// SAFETY: as for RecvBatch.
unsafe impl Send for SendBatch {}

/// A vector of `n` copies of `v`, or NoMemory.
fn try_filled<T: Clone>(n: usize, v: T) -> Result<Vec<T>, Error> {
    let mut out = try_vec(n)?;
    out.resize(n, v);
    Ok(out)
}

impl RecvBatch {
    /// Buffers for `n` datagrams (about 64 KiB each), or NoMemory: the
    /// server allocates this before its constructor returns, never on the
    /// worker.
    pub fn new(n: usize) -> Result<RecvBatch, Error> {
        let n = n.max(1);
        // SAFETY: these are plain-old-data structs; all-zero is valid and
        // they are filled in before every use.
        let (iov0, hdr0) = unsafe { (zeroed::<libc::iovec>(), zeroed::<libc::mmsghdr>()) };
        Ok(RecvBatch {
            bufs: try_filled(n * RECV_STRIDE, 0u8)?,
            iovs: try_filled(n, iov0)?,
            addrs: try_filled(n, RawAddr::empty())?,
            hdrs: try_filled(n, hdr0)?,
        })
    }

    /// Receive up to `max` datagrams without blocking. Ok(0) when nothing
    /// is pending.
    pub fn recv(&mut self, fd: RawFd, max: usize) -> Result<usize, Error> {
        let n = max.min(self.hdrs.len());
        let base = self.bufs.as_mut_ptr();
        for i in 0..n {
            // SAFETY: i * RECV_STRIDE + RECV_BUF <= bufs.len().
            self.iovs[i] = libc::iovec {
                iov_base: unsafe { base.add(i * RECV_STRIDE) }.cast(),
                iov_len: RECV_BUF,
            };
            let name = (&mut self.addrs[i].storage as *mut libc::sockaddr_storage).cast();
            let namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            set_mmsghdr(&mut self.hdrs[i], name, namelen, &mut self.iovs[i]);
        }
        // SAFETY: hdrs[..n] point to live buffers, iovecs and address
        // storage owned by self, none of which move during the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                n as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = errno();
            return if e == libc::EAGAIN || e == libc::EWOULDBLOCK || e == libc::EINTR {
                Ok(0)
            } else {
                Err(os_error(e))
            };
        }
        let r = r as usize;
        for (a, h) in self.addrs.iter_mut().zip(&self.hdrs).take(r) {
            a.len = h.msg_hdr.msg_namelen;
        }
        Ok(r)
    }

    /// Datagram `i` of the last `recv`: payload and source address.
    pub fn get(&self, i: usize) -> (&[u8], &RawAddr) {
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(RECV_BUF);
        let off = i * RECV_STRIDE;
        (&self.bufs[off..off + len], &self.addrs[i])
    }
}

/// Reusable headers for one `sendmmsg` call.
pub struct SendBatch {
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl SendBatch {
    pub fn new(n: usize) -> Result<SendBatch, Error> {
        let n = n.max(1);
        // SAFETY: plain-old-data structs; all-zero is valid, filled before use.
        let (iov0, hdr0) = unsafe { (zeroed::<libc::iovec>(), zeroed::<libc::mmsghdr>()) };
        Ok(SendBatch {
            iovs: try_filled(n, iov0)?,
            hdrs: try_filled(n, hdr0)?,
        })
    }

    /// Send `pkts` (at most the batch capacity) to `dest`. Returns how many
    /// went out; Err when the first one failed.
    pub fn send(&mut self, fd: RawFd, pkts: &[Vec<u8>], dest: &RawAddr) -> Result<usize, SendErr> {
        let n = pkts.len().min(self.hdrs.len());
        if n == 0 {
            return Ok(0);
        }
        for (i, pkt) in pkts.iter().enumerate().take(n) {
            self.iovs[i] = libc::iovec {
                iov_base: pkt.as_ptr() as *mut libc::c_void,
                iov_len: pkt.len(),
            };
            set_mmsghdr(
                &mut self.hdrs[i],
                dest.as_ptr() as *mut libc::c_void,
                dest.socklen(),
                &mut self.iovs[i],
            );
        }
        // SAFETY: hdrs[..n] point to `dest` and to the packets' buffers,
        // all borrowed for the duration of the call; sendmmsg only reads them.
        let r = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT) };
        if r < 0 {
            return Err(send_error(errno()));
        }
        Ok(r as usize)
    }
}

/// Send one datagram without blocking (answers such as STUN's).
pub fn send_to(fd: RawFd, pkt: &[u8], dest: &RawAddr) -> Result<(), SendErr> {
    // SAFETY: `pkt` is readable for its length and `dest` holds a valid
    // sockaddr of `dest.len` bytes; sendto only reads them.
    let r = unsafe {
        libc::sendto(
            fd,
            pkt.as_ptr().cast(),
            pkt.len(),
            libc::MSG_DONTWAIT,
            dest.as_ptr(),
            dest.len,
        )
    };
    if r < 0 {
        return Err(send_error(errno()));
    }
    Ok(())
}

/// A non-blocking, close-on-exec TCP socket bound to `addr` (port 0:
/// ephemeral), with TCP_NODELAY (RTP packets must not wait for Nagle).
pub fn tcp_bind(addr: &SocketAddr) -> Result<OwnedFd, Error> {
    bound_socket(addr, libc::SOCK_STREAM, |fd| {
        set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
    })
}

fn set_int_opt(fd: RawFd, level: i32, name: i32, v: i32) {
    // SAFETY: passes a valid int of the size given; failure is harmless.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
}

pub fn listen(fd: RawFd) -> Result<(), Error> {
    // SAFETY: plain listen(2) on a socket we own.
    if unsafe { libc::listen(fd, 16) } < 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Accept one pending connection (non-blocking, close-on-exec,
/// TCP_NODELAY). None when there is none.
pub fn accept(fd: RawFd) -> Option<(OwnedFd, RawAddr)> {
    let mut peer = RawAddr::empty();
    peer.len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the storage is writable and peer.len tells its size.
    let c = unsafe {
        libc::accept4(
            fd,
            (&mut peer.storage as *mut libc::sockaddr_storage).cast(),
            &mut peer.len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if c < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor from accept4, owned by nobody else.
    let c = unsafe { OwnedFd::from_raw_fd(c) };
    set_int_opt(c.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
    Some((c, peer))
}

/// Start a non-blocking connect: Ok(true) connected, Ok(false) in
/// progress (EPOLLOUT tells the end).
pub fn connect(fd: RawFd, to: &RawAddr) -> Result<bool, Error> {
    // SAFETY: `to` holds a valid sockaddr of `to.len` bytes.
    let rc = unsafe { libc::connect(fd, to.as_ptr(), to.len) };
    if rc == 0 {
        return Ok(true);
    }
    match errno() {
        libc::EINPROGRESS | libc::EINTR => Ok(false),
        e => Err(os_error(e)),
    }
}

/// Where a non-blocking connect stands: Ok(true) connected, Ok(false)
/// still in progress, Err(the failure).
pub fn connect_result(fd: RawFd) -> Result<bool, Error> {
    let mut e: i32 = 0;
    let mut l = size_of::<i32>() as libc::socklen_t;
    // SAFETY: writes one int of `l` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut e as *mut i32).cast(),
            &mut l,
        )
    };
    if rc < 0 {
        return Err(last_error());
    }
    if e != 0 {
        return Err(os_error(e));
    }
    let mut peer = RawAddr::empty();
    peer.len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the storage is writable and peer.len tells its size.
    let rc = unsafe {
        libc::getpeername(
            fd,
            (&mut peer.storage as *mut libc::sockaddr_storage).cast(),
            &mut peer.len,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    match errno() {
        libc::ENOTCONN => Ok(false),
        e => Err(os_error(e)),
    }
}

/// What a non-blocking stream read gave.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadResult {
    Data(usize),
    Eof,
    Again,
    Failed(Error),
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> ReadResult {
    // SAFETY: `buf` is writable for its length.
    let r = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if r > 0 {
        return ReadResult::Data(r as usize);
    }
    if r == 0 {
        return ReadResult::Eof;
    }
    match errno() {
        libc::EINTR => ReadResult::Again,
        e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => ReadResult::Again,
        e => ReadResult::Failed(os_error(e)),
    }
}

/// Write the frames of `pkts` (each `hdrs[i]` then `pkts[i]`) to a stream,
/// skipping the first `skip` bytes (a frame partly written before), without
/// blocking and without SIGPIPE. Returns the bytes written.
pub fn write_frames(
    fd: RawFd,
    hdrs: &[[u8; 2]],
    pkts: &[Vec<u8>],
    skip: usize,
) -> Result<usize, SendErr> {
    const MAX_IOV: usize = 2 * 64;
    // SAFETY: iovec is plain data; every entry used is filled below.
    let mut iov: [libc::iovec; MAX_IOV] = unsafe { zeroed() };
    let mut n = 0;
    let mut skip = skip;
    for (h, p) in hdrs.iter().zip(pkts) {
        for part in [&h[..], &p[..]] {
            if n == MAX_IOV {
                break;
            }
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            let part = &part[skip..];
            skip = 0;
            iov[n] = libc::iovec {
                iov_base: part.as_ptr() as *mut libc::c_void,
                iov_len: part.len(),
            };
            n += 1;
        }
    }
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: zero is a valid msghdr; it points to `n` iovecs that borrow
    // `hdrs` and `pkts` for the duration of the call (sendmsg only reads).
    let r = unsafe {
        let mut m: libc::msghdr = zeroed();
        m.msg_iov = iov.as_mut_ptr();
        m.msg_iovlen = n;
        libc::sendmsg(fd, &m, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    };
    if r < 0 {
        return Err(send_error(errno()));
    }
    Ok(r as usize)
}

/// Watch `fd` for readability, and for writability when `out`.
pub fn epoll_mod(epfd: RawFd, fd: RawFd, token: u64, out: bool) -> Result<(), Error> {
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | if out { libc::EPOLLOUT } else { 0 }) as u32,
        u64: token,
    };
    // SAFETY: ev is a valid epoll_event.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Current open-file limit and this process's open descriptors are not
/// needed by the core; this helper exists for tests.
#[cfg(test)]
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_addr_round_trips() {
        for s in ["127.0.0.1:5004", "[::1]:6000", "0.0.0.0:0", "[::]:1"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(RawAddr::from_socket_addr(&a).to_socket_addr(), Some(a));
        }
        assert!(RawAddr::empty().to_socket_addr().is_none());
    }

    #[test]
    fn from_storage_takes_only_complete_ip_addresses() {
        for s in ["127.0.0.1:5004", "[::1]:6000"] {
            let a: SocketAddr = s.parse().unwrap();
            let r = RawAddr::from_socket_addr(&a);
            let c = RawAddr::from_storage(r.storage(), r.socklen() as usize).unwrap();
            assert_eq!(c.to_socket_addr(), Some(a));
            assert_eq!(c, r);
        }
        // An oversized length is clamped; a short or zero length is none.
        let r = RawAddr::from_socket_addr(&"10.0.0.1:1".parse().unwrap());
        assert!(RawAddr::from_storage(r.storage(), usize::MAX).is_some());
        assert!(RawAddr::from_storage(r.storage(), 4).is_none());
        assert!(RawAddr::from_storage(r.storage(), 0).is_none());
    }

    #[test]
    fn batch_send_and_receive_on_loopback() {
        let a = udp_bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        let la = local_addr(a.as_raw_fd()).unwrap();
        let pkts: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + i as usize]).collect();
        let mut sb = SendBatch::new(8).unwrap();
        assert_eq!(sb.send(a.as_raw_fd(), &pkts, &la), Ok(5));
        let mut rb = RecvBatch::new(4).unwrap();
        let mut got = Vec::new();
        for _ in 0..100 {
            let n = rb.recv(a.as_raw_fd(), 4).unwrap();
            for i in 0..n {
                got.push(rb.get(i).0.to_vec());
            }
            if got.len() == 5 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(got, pkts);
        assert_eq!(rb.recv(a.as_raw_fd(), 4), Ok(0));
    }
}
