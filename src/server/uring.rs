//! The io_uring receive path of a worker (`Backend::Uring`).
//!
//! Each UDP channel on the worker keeps one multishot `recvmsg` armed on
//! its socket; the kernel picks a buffer from the worker's provided-buffer
//! ring for every datagram, so one `io_uring_enter` harvests the datagrams
//! of every socket that received any, where epoll needs one `recvmmsg` per
//! ready socket. The worker's epoll set (its eventfd and TCP sockets) is
//! watched through a multishot poll on the ring, so the worker has one
//! place to sleep. Output still leaves through `sendmmsg` (already batched
//! per channel).
//!
//! A datagram longer than `MAX_PAYLOAD` (the ring's buffers are
//! `BUF_SIZE` bytes, the source address and a header included) arrives
//! truncated: it is dropped and counted (`rx_dropped`).

use std::io;
use std::os::fd::RawFd;

use io_uring::types::{BufRingEntry, CancelBuilder, RecvMsgOut, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::error::Error;
use super::sys::{self, RawAddr};

/// One buffer of the provided-buffer ring: an Ethernet-MTU datagram with
/// its source address and header.
pub const BUF_SIZE: usize = 2048;
/// Buffers in the ring (a power of two): 8 MiB per worker. 1024 ran dry
/// at 1024 channels x 100 pps (one round's sends come back as receives).
pub const BUF_COUNT: u16 = 4096;
const BGID: u16 = 0;
const NAME_LEN: usize = size_of::<libc::sockaddr_storage>();
/// The longest datagram delivered whole.
pub const MAX_PAYLOAD: usize = BUF_SIZE - RECVMSG_OUT - NAME_LEN;
/// `struct io_uring_recvmsg_out`: four u32 at the head of each buffer.
const RECVMSG_OUT: usize = 16;
/// `user_data` of the poll on the epoll set, and of cancel requests (channel
/// tokens are slot | generation << 32 and the wake token is u64::MAX).
pub const POLL_TAG: u64 = u64::MAX - 1;
const CANCEL_TAG: u64 = u64::MAX - 2;
const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 8192;

/// A completion copied out of the ring.
#[derive(Clone, Copy)]
pub struct Cqe {
    pub tag: u64,
    pub res: i32,
    pub flags: u32,
}

impl Cqe {
    /// Will this request post more completions?
    pub fn more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

pub struct Ring {
    ring: IoUring,
    /// BUF_COUNT buffers of BUF_SIZE bytes, lent to the kernel.
    bufs: Vec<u8>,
    /// The provided-buffer ring: BUF_COUNT entries, page-aligned (mmap).
    entries: *mut BufRingEntry,
    tail: u16,
    /// Template for every multishot recvmsg (name and control sizes).
    msg: Box<libc::msghdr>,
}

// SAFETY: `entries` and the raw pointers in `msg` point into memory this
// Ring owns (the mmap and `bufs`); the ring is used by one thread at a time
// (built on the constructor's thread, then moved to its worker).
unsafe impl Send for Ring {}

fn os(e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EPERM | libc::EINVAL | libc::EOPNOTSUPP) => Error::NotSupported,
        Some(n) => sys::os_error(n),
        None => Error::NotSupported,
    }
}

impl Ring {
    /// A ring with its buffers registered, or NotSupported when the kernel
    /// has no io_uring (or it is disabled), or lacks provided-buffer rings.
    pub fn new() -> Result<Ring, Error> {
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_clamp()
            .build(SQ_ENTRIES)
            .map_err(os)?;
        let ring_bytes = BUF_COUNT as usize * size_of::<BufRingEntry>();
        // SAFETY: an anonymous private mapping; checked for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::NoMemory);
        }
        // SAFETY: all-zero is a valid msghdr; only the two lengths matter.
        let mut msg: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        msg.msg_namelen = NAME_LEN as libc::socklen_t;
        let mut r = Ring {
            ring,
            bufs: Vec::new(),
            entries: p.cast(),
            tail: 0,
            msg,
        };
        r.bufs = sys::try_vec(BUF_COUNT as usize * BUF_SIZE)?;
        r.bufs.resize(BUF_COUNT as usize * BUF_SIZE, 0);
        // SAFETY: `entries` is a page-aligned mapping of BUF_COUNT entries
        // that lives as long as the ring (unregistered in Drop first).
        unsafe {
            r.ring
                .submitter()
                .register_buf_ring_with_flags(p as u64, BUF_COUNT, BGID, 0)
                .map_err(os)?;
        }
        for bid in 0..BUF_COUNT {
            r.provide(bid);
        }
        r.publish();
        Ok(r)
    }

    /// Put buffer `bid` back in the ring (visible to the kernel after
    /// `publish`).
    fn provide(&mut self, bid: u16) {
        let idx = (self.tail & (BUF_COUNT - 1)) as usize;
        let addr = self.bufs.as_ptr() as u64 + bid as u64 * BUF_SIZE as u64;
        // SAFETY: idx < BUF_COUNT, inside the mapping.
        let e = unsafe { &mut *self.entries.add(idx) };
        e.set_addr(addr);
        e.set_len(BUF_SIZE as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// A descriptor of the ring for other threads (`sync_cancel`); it
    /// keeps the ring's file alive, so it never names another ring.
    pub fn dup_fd(&self) -> Result<std::os::fd::OwnedFd, Error> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: dup of a descriptor we own; checked for failure.
        let fd = unsafe { libc::fcntl(self.ring.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            return Err(sys::last_error());
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }

    fn publish(&mut self) {
        // SAFETY: the tail field overlays entry 0's `resv`, inside the
        // mapping; the kernel reads it with acquire ordering.
        unsafe {
            let t = BufRingEntry::tail(self.entries) as *const std::sync::atomic::AtomicU16;
            (*t).store(self.tail, std::sync::atomic::Ordering::Release);
        }
    }

    fn push(&mut self, e: squeue::Entry) -> Result<(), Error> {
        loop {
            // SAFETY: every entry pushed refers to memory that outlives the
            // request: `msg` and `bufs` (owned by this ring) or nothing.
            if unsafe { self.ring.submission().push(&e) }.is_ok() {
                return Ok(());
            }
            self.ring.submit().map_err(os)?;
        }
    }

    /// Watch `epfd` (readable) until cancelled; completions tagged POLL_TAG.
    pub fn poll_epoll(&mut self, epfd: RawFd) -> Result<(), Error> {
        let e = opcode::PollAdd::new(types::Fd(epfd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(POLL_TAG);
        self.push(e)
    }

    /// Arm a multishot recvmsg on `fd`, completions tagged `tag`.
    pub fn arm_recv(&mut self, fd: RawFd, tag: u64) -> Result<(), Error> {
        let e = opcode::RecvMsgMulti::new(types::Fd(fd), &*self.msg, BGID)
            .build()
            .user_data(tag);
        self.push(e)
    }

    /// Cancel the receive tagged `tag`; its last completion (no `more`)
    /// follows.
    pub fn cancel(&mut self, tag: u64) -> Result<(), Error> {
        let e = opcode::AsyncCancel::new(tag).build().user_data(CANCEL_TAG);
        self.push(e)
    }

    /// Submit what is queued and wait for a completion, at most `timeout_ms`
    /// (-1: no limit, 0: do not wait).
    pub fn wait(&mut self, timeout_ms: i32) -> Result<(), Error> {
        let r = if timeout_ms < 0 {
            self.ring.submit_and_wait(1)
        } else if timeout_ms == 0 {
            self.ring.submit()
        } else {
            let ts = Timespec::new()
                .sec(timeout_ms as u64 / 1000)
                .nsec((timeout_ms as u32 % 1000) * 1_000_000);
            let args = SubmitArgs::new().timespec(&ts);
            self.ring.submitter().submit_with_args(1, &args)
        };
        match r {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN) => Ok(()),
                _ => Err(os(e)),
            },
        }
    }

    /// Move up to `out`'s spare capacity of completions into `out`.
    pub fn reap(&mut self, out: &mut Vec<Cqe>) {
        let room = out.capacity() - out.len();
        for c in self.ring.completion().take(room) {
            out.push(Cqe {
                tag: c.user_data(),
                res: c.result(),
                flags: c.flags(),
            });
        }
    }

    /// The datagram of a receive completion: payload, source, and whether
    /// it arrived whole. The buffer goes back to the ring when `f` returns.
    pub fn with_datagram<R>(
        &mut self,
        c: &Cqe,
        f: impl FnOnce(&[u8], &RawAddr, bool) -> R,
    ) -> Option<R> {
        let bid = cqueue::buffer_select(c.flags)?;
        let r = if c.res >= 0 && (bid as usize) < BUF_COUNT as usize {
            let off = bid as usize * BUF_SIZE;
            let len = (c.res as usize).min(BUF_SIZE);
            match RecvMsgOut::parse(&self.bufs[off..off + len], &self.msg) {
                Ok(m) => {
                    let name = m.name_data();
                    let from = RawAddr::from_name_bytes(
                        &name[..name.len().min(m.incoming_name_len() as usize)],
                    );
                    Some(f(m.payload_data(), &from, !m.is_payload_truncated()))
                }
                Err(()) => None,
            }
        } else {
            None
        };
        self.provide(bid);
        self.publish();
        r
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Stop every request before the buffers and the entry ring go
        // (sync cancel waits for them; NotFound when there are none).
        let _ = self
            .ring
            .submitter()
            .register_sync_cancel(Some(Timespec::new().sec(1)), CancelBuilder::any());
        let _ = self.ring.submitter().unregister_buf_ring(BGID);
        // SAFETY: the mapping made in `new`, no longer registered.
        unsafe {
            libc::munmap(
                self.entries.cast(),
                BUF_COUNT as usize * size_of::<BufRingEntry>(),
            );
        }
    }
}

/// Cancel the receive tagged `tag` on the ring `ring_fd` now, from any
/// thread (IORING_REGISTER_SYNC_CANCEL, at most 1 s). On the ring's own
/// worker the request is gone, and its hold on the socket with it, when
/// this returns; elsewhere once that worker next enters the kernel.
pub fn sync_cancel(ring_fd: RawFd, tag: u64) {
    #[repr(C)]
    struct SyncCancelReg {
        addr: u64,
        fd: i32,
        flags: u32,
        timeout: [i64; 2],
        opcode: u8,
        pad: [u8; 7],
        pad2: [u64; 3],
    }
    const IORING_REGISTER_SYNC_CANCEL: libc::c_long = 24;
    let arg = SyncCancelReg {
        addr: tag,
        fd: -1,
        flags: 0,
        timeout: [1, 0],
        opcode: 0,
        pad: [0; 7],
        pad2: [0; 3],
    };
    // SAFETY: `arg` is a valid io_uring_sync_cancel_reg for the duration
    // of the call; the kernel only reads it. A ring fd that is no longer
    // a ring fails with an error, which is ignored (nothing to cancel).
    unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            ring_fd as libc::c_long,
            IORING_REGISTER_SYNC_CANCEL,
            &arg as *const SyncCancelReg,
            1 as libc::c_long,
        );
    }
}

/// Can this kernel run the backend? A ring is built and one datagram is
/// received through a multishot recvmsg on a loopback socket.
pub fn probe() -> Result<(), Error> {
    let mut ring = Ring::new()?;
    let sa: std::net::SocketAddr = "127.0.0.1:0".parse().map_err(|_| Error::Invalid)?;
    let fd = sys::udp_bind(&sa)?;
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    let me = sys::local_addr(raw)?;
    ring.arm_recv(raw, 1)?;
    ring.wait(0)?;
    sys::send_to(raw, b"probe", &me).map_err(|_| Error::NotSupported)?;
    let mut got = Vec::with_capacity(4);
    for _ in 0..100 {
        ring.wait(10)?;
        ring.reap(&mut got);
        if let Some(c) = got.iter().find(|c| c.tag == 1) {
            let c = *c;
            let ok = c.more()
                && ring
                    .with_datagram(&c, |p, _, whole| whole && p == b"probe")
                    .unwrap_or(false);
            return if ok { Ok(()) } else { Err(Error::NotSupported) };
        }
    }
    Err(Error::NotSupported)
}
