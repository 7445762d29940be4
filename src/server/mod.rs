//! The UDP I/O thread (the original's RtpServer): one worker thread per
//! server multiplexes every channel's socket with epoll.
//!
//! - Receive: sockets are watched level-triggered; a readable socket is read
//!   with one `recvmmsg` of up to `BATCH` datagrams per round and each
//!   datagram goes to the channel's callback at once, stamped with the
//!   CLOCK_MONOTONIC time at which `epoll_wait` returned.
//! - Send: `Channel::send` copies the packet into the channel's bounded ring
//!   (`TxQueue`) and, if the channel was idle, puts it on the server's ready
//!   list and wakes the worker through an eventfd. The worker drains each
//!   ready channel with `sendmmsg`, at most `BATCH` packets per round, so the
//!   cost is per active channel, never a scan of all channels.
//! - Fairness: each round serves every readable channel (bounded batch) and
//!   then every channel with output (bounded batch), round-robin.
//! - Lifetime: a channel's socket lives in `Chan::sock`, a mutex the worker
//!   holds only around recvmmsg/sendmmsg; its callback in `Chan::cb`, a mutex
//!   the worker holds while it calls the callback. Closing takes the callback
//!   out under its lock (waiting for a running call to return), then the
//!   socket, so once `close` returns the callback is not running and never
//!   runs again and the socket is closed. Closing a channel from inside its
//!   own callback cannot wait for that call: it marks the channel closed,
//!   closes the socket at once, and the worker drops the callback as soon as
//!   the call returns.

mod addr;
mod queue;
pub mod sys;

use std::cell::Cell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

pub use addr::Family;
use queue::TxQueue;
pub use sys::{RawAddr, MAX_DATAGRAM};

/// Datagrams moved per channel per direction per worker round.
pub const BATCH: usize = 64;
/// Default and largest output queue sizes.
pub const DEFAULT_QUEUE: u32 = 32;
pub const MAX_QUEUE: u32 = 65536;
/// Default output drain rate.
pub const DEFAULT_TICK_HZ: u32 = 200;

const WAKE_TOKEN: u64 = u64::MAX;
/// Readable channels served per round, and channels with output served per
/// round: the two directions get the same share under overload.
const MAX_EVENTS: usize = 1024;
const TX_PER_ROUND: usize = MAX_EVENTS;

/// The receive callback: payload, source address (kernel representation and
/// length) and the receive time in CLOCK_MONOTONIC nanoseconds.
pub type PktIn = Box<dyn FnMut(&[u8], &libc::sockaddr_storage, libc::socklen_t, u64) + Send>;

thread_local! {
    /// The id of the channel whose callback runs on this thread (0: none).
    static IN_CB: Cell<u64> = const { Cell::new(0) };
    /// The `Shared` (by address) whose worker this thread is (0: none).
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

static NEXT_CHAN_ID: AtomicU64 = AtomicU64::new(1);

/// Per-channel counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChanStats {
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub tx_queue_full: u64,
    pub tx_errors: u64,
}

#[derive(Default)]
struct Counters {
    rx_pkts: AtomicU64,
    rx_bytes: AtomicU64,
    tx_pkts: AtomicU64,
    tx_bytes: AtomicU64,
    tx_queue_full: AtomicU64,
    tx_errors: AtomicU64,
}

fn bump(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

/// What a channel is bound to and how it queues.
#[derive(Clone, Copy, Debug)]
pub struct ChanConfig<'a> {
    /// None: the wildcard of the family.
    pub bind_host: Option<&'a str>,
    pub bind_port: u16,
    /// 0 auto, 4 IPv4, 6 IPv6.
    pub bind_family: i32,
    /// Power of two up to 65536; 0 means 32.
    pub queue_size: u32,
}

struct TxState {
    q: TxQueue,
    target: Option<RawAddr>,
    /// On the ready list or the worker's own work lists.
    active: bool,
}

struct Chan {
    id: u64,
    token: u64,
    closed: AtomicBool,
    sock: Mutex<Option<OwnedFd>>,
    cb: Mutex<Option<PktIn>>,
    tx: Mutex<TxState>,
    local: RawAddr,
    local_sa: SocketAddr,
    stats: Counters,
}

/// Channels by epoll token (slot index | generation << 32).
#[derive(Default)]
struct Table {
    slots: Vec<Option<Arc<Chan>>>,
    gens: Vec<u32>,
    free: Vec<u32>,
}

impl Table {
    fn reserve(&mut self) -> u64 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.gens.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        slot as u64 | (self.gens[slot as usize] as u64) << 32
    }

    fn split(token: u64) -> (usize, u32) {
        ((token & 0xffff_ffff) as usize, (token >> 32) as u32)
    }

    fn fill(&mut self, token: u64, c: Arc<Chan>) {
        let (s, _) = Self::split(token);
        self.slots[s] = Some(c);
    }

    fn get(&self, token: u64) -> Option<&Arc<Chan>> {
        let (s, g) = Self::split(token);
        if self.gens.get(s) != Some(&g) {
            return None;
        }
        self.slots.get(s)?.as_ref()
    }

    /// Free the slot of `token` (no-op if it was already freed).
    fn remove(&mut self, token: u64) -> Option<Arc<Chan>> {
        let (s, g) = Self::split(token);
        if self.gens.get(s) != Some(&g) {
            return None;
        }
        self.gens[s] = g.wrapping_add(1);
        self.free.push(s as u32);
        self.slots[s].take()
    }

    fn drain_all(&mut self) -> Vec<Arc<Chan>> {
        let mut out = Vec::new();
        for (s, slot) in self.slots.iter_mut().enumerate() {
            if let Some(c) = slot.take() {
                self.gens[s] = self.gens[s].wrapping_add(1);
                self.free.push(s as u32);
                out.push(c);
            }
        }
        out
    }
}

struct Shared {
    epfd: OwnedFd,
    evfd: OwnedFd,
    tick_ms: i32,
    shutdown: AtomicBool,
    table: Mutex<Table>,
    ready: Mutex<Vec<Arc<Chan>>>,
}

impl Shared {
    fn on_worker(self: &Arc<Self>) -> bool {
        WORKER_OF.with(|w| w.get()) == Arc::as_ptr(self) as usize
    }

    fn wake(&self) {
        sys::eventfd_signal(self.evfd.as_raw_fd());
    }
}

/// A server: one worker thread and its channels.
pub struct Server {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A channel handle. Dropping it closes the channel.
pub struct Channel {
    chan: Arc<Chan>,
    shared: Arc<Shared>,
}

impl Server {
    /// Start a server whose output waits at most 1/`tick_hz` s (0: 200 Hz).
    pub fn new(tick_hz: u32) -> Result<Server, i32> {
        let hz = if tick_hz == 0 {
            DEFAULT_TICK_HZ
        } else {
            tick_hz
        };
        let tick_ms = 1000u32.div_ceil(hz).max(1) as i32;
        let epfd = sys::epoll_create()?;
        let evfd = sys::eventfd()?;
        sys::epoll_add(epfd.as_raw_fd(), evfd.as_raw_fd(), WAKE_TOKEN)?;
        let shared = Arc::new(Shared {
            epfd,
            evfd,
            tick_ms,
            shutdown: AtomicBool::new(false),
            table: Mutex::new(Table::default()),
            ready: Mutex::new(Vec::new()),
        });
        let sh = shared.clone();
        let h = std::thread::Builder::new()
            .name("rtpsrv".into())
            .spawn(move || worker_main(sh))
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        Ok(Server {
            shared,
            thread: Mutex::new(Some(h)),
        })
    }

    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// Open a channel: bind its socket and start receiving into `cb`.
    pub fn create_channel(&self, cfg: &ChanConfig, cb: PktIn) -> Result<Channel, i32> {
        let qs = if cfg.queue_size == 0 {
            DEFAULT_QUEUE
        } else {
            cfg.queue_size
        };
        if !qs.is_power_of_two() || qs > MAX_QUEUE {
            return Err(libc::EINVAL);
        }
        let fam = Family::from_code(cfg.bind_family).ok_or(libc::EINVAL)?;
        let baddr = addr::bind_addr(cfg.bind_host, cfg.bind_port, fam)?;
        if self.is_shut_down() {
            return Err(libc::ESHUTDOWN);
        }
        let fd = sys::udp_bind(&baddr)?;
        let local = sys::local_addr(fd.as_raw_fd())?;
        let local_sa = local.to_socket_addr().ok_or(libc::EAFNOSUPPORT)?;
        let raw_fd = fd.as_raw_fd();
        let sh = &self.shared;
        let chan = {
            let mut t = sh.table.lock();
            if sh.shutdown.load(Ordering::Acquire) {
                return Err(libc::ESHUTDOWN);
            }
            let token = t.reserve();
            let chan = Arc::new(Chan {
                id: NEXT_CHAN_ID.fetch_add(1, Ordering::Relaxed),
                token,
                closed: AtomicBool::new(false),
                sock: Mutex::new(Some(fd)),
                cb: Mutex::new(Some(cb)),
                tx: Mutex::new(TxState {
                    q: TxQueue::new(qs as usize),
                    target: None,
                    active: false,
                }),
                local,
                local_sa,
                stats: Counters::default(),
            });
            t.fill(token, chan.clone());
            chan
        };
        let ch = Channel {
            chan,
            shared: sh.clone(),
        };
        // On failure dropping `ch` undoes everything (table slot, socket).
        sys::epoll_add(sh.epfd.as_raw_fd(), raw_fd, ch.chan.token)?;
        Ok(ch)
    }

    /// Stop the worker. Idempotent; when it returns (from a thread other
    /// than the worker) no callback runs or will run. From inside a
    /// callback it stops the worker as soon as that callback returns.
    pub fn shutdown(&self) {
        let sh = &self.shared;
        sh.shutdown.store(true, Ordering::Release);
        sh.wake();
        if sh.on_worker() {
            return;
        }
        let mut th = self.thread.lock();
        if let Some(h) = th.take() {
            // The worker catches its own panics; join cannot fail otherwise.
            let _ = h.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Channel {
    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> &RawAddr {
        &self.chan.local
    }

    pub fn local_socket_addr(&self) -> SocketAddr {
        self.chan.local_sa
    }

    /// Where queued packets go. Numeric addresses only.
    pub fn set_target(&self, host: &str, port: u16) -> Result<(), i32> {
        let a = addr::target_addr(host, port, &self.chan.local_sa)?;
        self.chan.tx.lock().target = Some(RawAddr::from_socket_addr(&a));
        Ok(())
    }

    /// Queue a copy of `pkt` for sending; never blocks.
    pub fn send(&self, pkt: &[u8]) -> Result<(), i32> {
        if pkt.len() > MAX_DATAGRAM {
            return Err(libc::EMSGSIZE);
        }
        let sh = &self.shared;
        if sh.shutdown.load(Ordering::Acquire) {
            return Err(libc::ESHUTDOWN);
        }
        let c = &self.chan;
        if c.closed.load(Ordering::Acquire) {
            return Err(libc::EBADF);
        }
        {
            let mut tx = c.tx.lock();
            if tx.target.is_none() {
                return Err(libc::EDESTADDRREQ);
            }
            if tx.q.push(pkt).is_err() {
                drop(tx);
                bump(&c.stats.tx_queue_full, 1);
                return Err(libc::ENOBUFS);
            }
            if tx.active {
                return Ok(());
            }
            tx.active = true;
        }
        let was_empty = {
            let mut r = sh.ready.lock();
            let e = r.is_empty();
            r.push(c.clone());
            e
        };
        if was_empty {
            sh.wake();
        }
        Ok(())
    }

    pub fn stats(&self) -> ChanStats {
        let s = &self.chan.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChanStats {
            rx_pkts: l(&s.rx_pkts),
            rx_bytes: l(&s.rx_bytes),
            tx_pkts: l(&s.tx_pkts),
            tx_bytes: l(&s.tx_bytes),
            tx_queue_full: l(&s.tx_queue_full),
            tx_errors: l(&s.tx_errors),
        }
    }

    /// Close the channel (same as dropping the handle).
    pub fn close(self) {}

    fn close_inner(&mut self) {
        let c = &self.chan;
        let sh = &self.shared;
        if c.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let own_callback = IN_CB.with(|x| x.get()) == c.id;
        if !own_callback {
            // Waits for a running callback of this channel to return.
            let cb = c.cb.lock().take();
            drop(cb);
        }
        // else: the worker holds `cb` up the stack and drops it as soon as
        // the callback returns; it never calls it again (`closed`).
        let fd = c.sock.lock().take();
        if let Some(fd) = fd {
            sys::epoll_del(sh.epfd.as_raw_fd(), fd.as_raw_fd());
            drop(fd);
        }
        drop(sh.table.lock().remove(c.token));
        c.tx.lock().q.clear();
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.close_inner();
    }
}

fn worker_main(sh: Arc<Shared>) {
    WORKER_OF.with(|w| w.set(Arc::as_ptr(&sh) as usize));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Worker::new(&sh).run()));
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("rtpsynth: server worker stopped: epoll_wait failed with errno {e}");
        }
        Err(_) => {
            eprintln!("rtpsynth: server worker panicked; the server is shut down");
        }
    }
    IN_CB.with(|x| x.set(0));
    sh.shutdown.store(true, Ordering::Release);
    // Release every callback; sockets stay open until their handles close.
    let chans = sh.table.lock().drain_all();
    for c in chans {
        drop(c.cb.lock().take());
        c.tx.lock().q.clear();
    }
    sh.ready.lock().clear();
}

enum TxOutcome {
    Done,
    More,
    Blocked,
}

struct Worker<'a> {
    sh: &'a Arc<Shared>,
    events: Vec<libc::epoll_event>,
    rb: sys::RecvBatch,
    sb: sys::SendBatch,
    spares: Vec<Vec<u8>>,
}

impl<'a> Worker<'a> {
    fn new(sh: &'a Arc<Shared>) -> Worker<'a> {
        Worker {
            sh,
            events: vec![sys::new_event(); MAX_EVENTS],
            rb: sys::RecvBatch::new(BATCH),
            sb: sys::SendBatch::new(BATCH),
            spares: vec![Vec::new(); BATCH],
        }
    }

    fn stopping(&self) -> bool {
        self.sh.shutdown.load(Ordering::Acquire)
    }

    fn run(&mut self) -> Result<(), i32> {
        let sh = self.sh;
        let tick_ns = sh.tick_ms as u64 * 1_000_000;
        let mut rx: Vec<Arc<Chan>> = Vec::with_capacity(MAX_EVENTS);
        // Channels with output, served round-robin, TX_PER_ROUND per round.
        let mut pending: VecDeque<Arc<Chan>> = VecDeque::new();
        // Channels whose socket refused more (EAGAIN): retried after a tick.
        let mut blocked: Vec<Arc<Chan>> = Vec::new();
        let mut retry_at = 0u64;
        loop {
            // Checked before every wait, not only after one: a shutdown
            // whose eventfd signal was consumed by the drain below (meant
            // for an earlier wake-up) must not leave the worker asleep.
            if self.stopping() {
                return Ok(());
            }
            let timeout = if !pending.is_empty() {
                0
            } else if !blocked.is_empty() {
                sh.tick_ms
            } else {
                -1
            };
            let n = sys::epoll_wait(sh.epfd.as_raw_fd(), &mut self.events, timeout)?;
            let now = crate::clock::monotonic_ns();
            if self.stopping() {
                return Ok(());
            }
            {
                let t = sh.table.lock();
                for ev in &self.events[..n] {
                    let tok = ev.u64;
                    if tok == WAKE_TOKEN {
                        sys::eventfd_drain(sh.evfd.as_raw_fd());
                    } else if let Some(c) = t.get(tok) {
                        rx.push(c.clone());
                    }
                }
            }
            for c in rx.drain(..) {
                self.service_rx(&c, now);
                if self.stopping() {
                    return Ok(());
                }
            }
            pending.extend(sh.ready.lock().drain(..));
            if !blocked.is_empty() && now >= retry_at {
                pending.extend(blocked.drain(..));
            }
            for _ in 0..pending.len().min(TX_PER_ROUND) {
                let Some(c) = pending.pop_front() else { break };
                match self.service_tx(&c) {
                    TxOutcome::Done => {}
                    TxOutcome::More => pending.push_back(c),
                    TxOutcome::Blocked => {
                        if blocked.is_empty() {
                            retry_at = now + tick_ns;
                        }
                        blocked.push(c);
                    }
                }
            }
        }
    }

    fn service_rx(&mut self, c: &Arc<Chan>, now: u64) {
        if c.closed.load(Ordering::Acquire) {
            return;
        }
        let n = {
            let g = c.sock.lock();
            let Some(fd) = g.as_ref() else { return };
            match self.rb.recv(fd.as_raw_fd(), BATCH) {
                Ok(n) => n,
                Err(_) => return,
            }
        };
        if n == 0 {
            return;
        }
        let mut g = c.cb.lock();
        let Some(cb) = g.as_mut() else { return };
        for i in 0..n {
            let (pkt, from, fromlen) = self.rb.get(i);
            bump(&c.stats.rx_pkts, 1);
            bump(&c.stats.rx_bytes, pkt.len() as u64);
            IN_CB.with(|x| x.set(c.id));
            cb(pkt, from, fromlen, now);
            IN_CB.with(|x| x.set(0));
            if c.closed.load(Ordering::Acquire) || self.stopping() {
                break;
            }
        }
        if c.closed.load(Ordering::Acquire) {
            // Closed from inside its own callback: release the callback.
            drop(g.take());
        }
    }

    fn service_tx(&mut self, c: &Arc<Chan>) -> TxOutcome {
        if c.closed.load(Ordering::Acquire) {
            return TxOutcome::Done;
        }
        let g = c.sock.lock();
        let Some(fd) = g.as_ref().map(|f| f.as_raw_fd()) else {
            return TxOutcome::Done;
        };
        let (n, dest) = {
            let mut tx = c.tx.lock();
            let Some(dest) = tx.target else {
                tx.q.clear();
                tx.active = false;
                return TxOutcome::Done;
            };
            if tx.q.is_empty() {
                tx.active = false;
                return TxOutcome::Done;
            }
            (tx.q.lend(&mut self.spares), dest)
        };
        let mut consumed = 0;
        let mut blocked = false;
        while consumed < n {
            match self.sb.send(fd, &self.spares[consumed..n], &dest) {
                Ok(k) => {
                    let bytes: usize = self.spares[consumed..consumed + k]
                        .iter()
                        .map(|p| p.len())
                        .sum();
                    bump(&c.stats.tx_pkts, k as u64);
                    bump(&c.stats.tx_bytes, bytes as u64);
                    consumed += k;
                }
                Err(libc::EINTR) => {}
                Err(e) if e == libc::EAGAIN || e == libc::EWOULDBLOCK || e == libc::ENOBUFS => {
                    blocked = true;
                    break;
                }
                Err(_) => {
                    bump(&c.stats.tx_errors, 1);
                    consumed += 1;
                }
            }
        }
        let mut tx = c.tx.lock();
        tx.q.commit(&mut self.spares, consumed);
        drop(g);
        if blocked {
            TxOutcome::Blocked
        } else if tx.q.is_empty() {
            tx.active = false;
            TxOutcome::Done
        } else {
            TxOutcome::More
        }
    }
}

#[cfg(test)]
mod tests;
