//! The Linux system calls the server is built on: non-blocking UDP sockets,
//! epoll, eventfd, recvmmsg/sendmmsg. Every `unsafe` of the server lives
//! here, behind small safe functions that return `Err(errno)`.

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

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A socket address in the kernel's representation (plain data, `Copy`).
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

    /// A copy of an address the kernel filled in (as handed to the receive
    /// callback); `len` is clamped to the storage size.
    pub fn from_storage(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> RawAddr {
        let max = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        RawAddr {
            storage: *storage,
            len: len.min(max),
        }
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

    pub fn storage(&self) -> &libc::sockaddr_storage {
        &self.storage
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub fn len(&self) -> libc::socklen_t {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A non-blocking, close-on-exec UDP socket bound to `addr`.
pub fn udp_bind(addr: &SocketAddr) -> Result<OwnedFd, i32> {
    let fam = match addr.ip() {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe {
        libc::socket(
            fam,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = RawAddr::from_socket_addr(addr);
    // SAFETY: raw holds a valid sockaddr of raw.len bytes.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len) };
    if rc < 0 {
        return Err(errno());
    }
    Ok(fd)
}

/// The address a socket is bound to.
pub fn local_addr(fd: RawFd) -> Result<RawAddr, i32> {
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
        return Err(errno());
    }
    Ok(r)
}

pub fn epoll_create() -> Result<OwnedFd, i32> {
    // SAFETY: plain epoll_create1 call; the result is checked.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Watch `fd` for readability (level-triggered), reporting `token`.
pub fn epoll_add(epfd: RawFd, fd: RawFd, token: u64) -> Result<(), i32> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
    };
    // SAFETY: ev is a valid epoll_event; bad fds are reported as errors.
    let rc = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 {
        return Err(errno());
    }
    Ok(())
}

pub fn epoll_del(epfd: RawFd, fd: RawFd) {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: ev is valid (ignored by DEL); errors are harmless here.
    unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
}

pub fn new_event() -> libc::epoll_event {
    libc::epoll_event { events: 0, u64: 0 }
}

/// Wait for events; EINTR is reported as zero events.
pub fn epoll_wait(
    epfd: RawFd,
    events: &mut [libc::epoll_event],
    timeout_ms: i32,
) -> Result<usize, i32> {
    let max = events.len().min(i32::MAX as usize) as i32;
    // SAFETY: `events` is a writable array of `max` epoll_event.
    let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, timeout_ms) };
    if n < 0 {
        let e = errno();
        return if e == libc::EINTR { Ok(0) } else { Err(e) };
    }
    Ok(n as usize)
}

pub fn eventfd() -> Result<OwnedFd, i32> {
    // SAFETY: plain eventfd call; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
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
    addrs: Vec<libc::sockaddr_storage>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    pub fn new(n: usize) -> RecvBatch {
        let n = n.max(1);
        let bufs = vec![0u8; n * RECV_STRIDE];
        // SAFETY: these are plain-old-data structs; all-zero is valid and
        // they are filled in before every use.
        let (iov0, addr0, hdr0) =
            unsafe { (zeroed::<libc::iovec>(), zeroed(), zeroed::<libc::mmsghdr>()) };
        RecvBatch {
            bufs,
            iovs: vec![iov0; n],
            addrs: vec![addr0; n],
            hdrs: vec![hdr0; n],
        }
    }

    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Receive up to `max` datagrams without blocking. Ok(0) when nothing
    /// is pending.
    pub fn recv(&mut self, fd: RawFd, max: usize) -> Result<usize, i32> {
        let n = max.min(self.hdrs.len());
        let base = self.bufs.as_mut_ptr();
        for i in 0..n {
            // SAFETY: i * RECV_STRIDE + RECV_BUF <= bufs.len().
            self.iovs[i] = libc::iovec {
                iov_base: unsafe { base.add(i * RECV_STRIDE) }.cast(),
                iov_len: RECV_BUF,
            };
            let name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
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
                Err(e)
            };
        }
        Ok(r as usize)
    }

    /// Datagram `i` of the last `recv`: payload, source address and length.
    pub fn get(&self, i: usize) -> (&[u8], &libc::sockaddr_storage, libc::socklen_t) {
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(RECV_BUF);
        let off = i * RECV_STRIDE;
        (
            &self.bufs[off..off + len],
            &self.addrs[i],
            h.msg_hdr.msg_namelen,
        )
    }
}

/// Reusable headers for one `sendmmsg` call.
pub struct SendBatch {
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl SendBatch {
    pub fn new(n: usize) -> SendBatch {
        let n = n.max(1);
        // SAFETY: plain-old-data structs; all-zero is valid, filled before use.
        let (iov0, hdr0) = unsafe { (zeroed::<libc::iovec>(), zeroed::<libc::mmsghdr>()) };
        SendBatch {
            iovs: vec![iov0; n],
            hdrs: vec![hdr0; n],
        }
    }

    /// Send `pkts` (at most the batch capacity) to `dest`. Returns how many
    /// went out; Err(errno) when the first one failed.
    pub fn send(&mut self, fd: RawFd, pkts: &[Vec<u8>], dest: &RawAddr) -> Result<usize, i32> {
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
                dest.len(),
                &mut self.iovs[i],
            );
        }
        // SAFETY: hdrs[..n] point to `dest` and to the packets' buffers,
        // all borrowed for the duration of the call; sendmmsg only reads them.
        let r = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT) };
        if r < 0 {
            return Err(errno());
        }
        Ok(r as usize)
    }
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
    fn from_storage_copies_what_the_kernel_filled_in() {
        for s in ["127.0.0.1:5004", "[::1]:6000"] {
            let a: SocketAddr = s.parse().unwrap();
            let r = RawAddr::from_socket_addr(&a);
            let c = RawAddr::from_storage(r.storage(), r.len());
            assert_eq!(c.to_socket_addr(), Some(a));
            assert_eq!(c.len(), r.len());
        }
        // An oversized length is clamped; a zero length reads as no address.
        let r = RawAddr::from_socket_addr(&"10.0.0.1:1".parse().unwrap());
        let big = RawAddr::from_storage(r.storage(), u32::MAX as libc::socklen_t);
        assert_eq!(big.len() as usize, size_of::<libc::sockaddr_storage>());
        assert!(RawAddr::from_storage(r.storage(), 0)
            .to_socket_addr()
            .is_none());
    }

    #[test]
    fn batch_send_and_receive_on_loopback() {
        let a = udp_bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        let la = local_addr(a.as_raw_fd()).unwrap();
        let pkts: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + i as usize]).collect();
        let mut sb = SendBatch::new(8);
        assert_eq!(sb.send(a.as_raw_fd(), &pkts, &la), Ok(5));
        let mut rb = RecvBatch::new(4);
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
