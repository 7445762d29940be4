//! The UDP I/O thread (the original's RtpServer): a server's worker
//! threads (one by default, `ServerConfig::workers`) each multiplex their
//! share of the channels' sockets with their own epoll.
//!
//! - Workers: a channel lives on one worker for its whole life (the one
//!   with the fewest channels when it is created; the two channels of a
//!   pair share one), so its callbacks always run on one thread. Workers
//!   share nothing but the shutdown flag: each has its own epoll, eventfd,
//!   channel table, ready list and buffers.
//!
//! - Backends: epoll (below), or io_uring for UDP receive (`uring`: one
//!   multishot recvmsg armed per channel on the worker's ring, the epoll
//!   set polled through the ring; `Worker::run_uring`).
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
//! - Per channel, in order on the receive path: STUN Binding Requests are
//!   answered inline (`stun`), the source may move the target (`latch`),
//!   RTCP may go to its own callback (`demux::is_rtcp`, rtcp-mux); all of
//!   it without allocation.
//! - Nothing the worker needs is allocated on the worker: its buffers are
//!   allocated (fallibly) before `Server::new` returns, and the lists that
//!   grow with the number of active channels grow with `try_reserve`, so
//!   that memory pressure degrades service instead of aborting.

mod addr;
mod demux;
mod error;
mod latch;
mod queue;
pub mod stream;
pub mod stun;
pub mod sys;
mod uring;

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub use addr::Family;
pub use demux::is_rtcp;
pub use error::{Error, Result};
pub use latch::Latch;
use latch::Latcher;
pub use queue::SLOT_KEEP;
use queue::{PushError, TxQueue};
use stream::Deframer;
pub use sys::{RawAddr, MAX_DATAGRAM};
/// The longest datagram the io_uring backend delivers.
pub const URING_MAX_PAYLOAD: usize = uring::MAX_PAYLOAD;
use sys::{ReadResult, SendErr};

/// Datagrams moved per channel per direction per worker round.
pub const BATCH: usize = 64;
/// Default and largest output queue sizes.
pub const DEFAULT_QUEUE: u32 = 32;
pub const MAX_QUEUE: u32 = 65536;
/// Default output drain rate.
pub const DEFAULT_TICK_HZ: u32 = 200;
/// The most worker threads one server may have.
pub const MAX_WORKERS: u32 = 256;

/// The event mechanism a server's workers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// epoll (io_uring is chosen by name only, see `Uring`).
    #[default]
    Auto,
    Epoll,
    /// io_uring for UDP receive (multishot recvmsg into a provided-buffer
    /// ring); NotSupported when the kernel has none or it is disabled.
    /// Datagrams longer than `URING_MAX_PAYLOAD` are dropped (`rx_dropped`).
    Uring,
}

/// How to build a server (`Server::with_config`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// Retry pace of output a socket refused (EAGAIN); 0: 200 Hz.
    pub tick_hz: u32,
    /// Worker threads, channels spread over them; 0: 1.
    pub workers: u32,
    pub backend: Backend,
}

const WAKE_TOKEN: u64 = u64::MAX;
/// Readable channels served per round, and channels with output served per
/// round: the two directions get the same share under overload.
const MAX_EVENTS: usize = 1024;
const TX_PER_ROUND: usize = MAX_EVENTS;

/// The receive callback: payload, source address and the receive time in
/// CLOCK_MONOTONIC nanoseconds.
pub type PktIn = Box<dyn FnMut(&[u8], &RawAddr, u64) + Send>;

/// How a TCP channel (RFC 4571) gets its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpMode {
    /// Listen on the bound address; one connection at a time (others are
    /// accepted and closed at once while one is up); after it ends, the
    /// next one is accepted.
    Listen,
    /// Connect to this peer, once (reconnecting is the user's choice: a new
    /// channel).
    Connect(SocketAddr),
}

/// What happened to a TCP channel's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// A connection is up (accepted, or the connect completed).
    Connected,
    /// The peer closed the connection in order (end of stream).
    Closed,
    /// The connection failed or was reset (connect refused, reset, ...).
    Reset(Error),
}

/// The connection-event callback of a TCP channel: the event, the peer
/// and the time (CLOCK_MONOTONIC ns).
pub type EventCb = Box<dyn FnMut(StreamEvent, &RawAddr, u64) + Send>;

/// Connection states of a TCP channel (`Chan::conn`).
const CONN_NONE: u8 = 0;
const CONN_CONNECTING: u8 = 1;
const CONN_UP: u8 = 2;
/// Reads per TCP channel per round (each up to 64 KiB), for fairness.
const STREAM_READS_PER_ROUND: usize = 16;

thread_local! {
    /// The id of the channel whose callback runs on this thread (0: none).
    static IN_CB: Cell<u64> = const { Cell::new(0) };
    /// The `Group` (by address) of the server whose worker this is.
    static GROUP_OF: Cell<usize> = const { Cell::new(0) };
    /// The `Shared` (by address) of the worker this thread is.
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

static NEXT_CHAN_ID: AtomicU64 = AtomicU64::new(1);

/// Per-channel counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChanStats {
    /// Datagrams received (answered STUN requests excepted) and their bytes.
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub tx_queue_full: u64,
    pub tx_errors: u64,
    /// Of `rx_pkts`, those that went to the RTCP callback (rtcp-mux).
    pub rx_rtcp: u64,
    /// STUN Binding Requests answered (not in `rx_pkts`).
    pub stun_answered: u64,
    /// Times latching moved the target.
    pub latch_moves: u64,
    /// Datagrams received but not delivered: longer than the io_uring
    /// backend's buffers (`URING_MAX_PAYLOAD`); always 0 with epoll.
    pub rx_dropped: u64,
}

#[derive(Default)]
struct Counters {
    rx_pkts: AtomicU64,
    rx_bytes: AtomicU64,
    tx_pkts: AtomicU64,
    tx_bytes: AtomicU64,
    tx_queue_full: AtomicU64,
    tx_errors: AtomicU64,
    rx_rtcp: AtomicU64,
    stun_answered: AtomicU64,
    latch_moves: AtomicU64,
    rx_dropped: AtomicU64,
}

fn bump(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

/// What a channel is bound to and how it queues.
#[derive(Clone, Copy, Debug)]
pub struct ChanConfig<'a> {
    /// None: the wildcard of the family. Numeric only.
    pub bind_host: Option<&'a str>,
    pub bind_port: u16,
    pub bind_family: Family,
    /// Power of two up to 65536; 0 means 32.
    pub queue_size: u32,
}

/// The per-channel behaviours beyond plain datagrams.
#[derive(Default)]
pub struct ChanOptions {
    /// How the target is learned from received packets.
    pub latch: Latch,
    /// Answer STUN Binding Requests (RFC 5389) inline; they never reach a
    /// callback.
    pub stun: bool,
    /// rtcp-mux (RFC 5761): RTCP goes to this callback instead of the
    /// packet callback.
    pub rtcp: Option<PktIn>,
}

struct TxState {
    q: TxQueue,
    target: Option<RawAddr>,
    /// On the ready list or the worker's own work lists.
    active: bool,
}

/// The callbacks, held by the worker while it calls one.
struct Callbacks {
    pkt: Option<PktIn>,
    rtcp: Option<PktIn>,
    ev: Option<EventCb>,
}

impl Callbacks {
    fn release(&mut self) -> Callbacks {
        Callbacks {
            pkt: self.pkt.take(),
            rtcp: self.rtcp.take(),
            ev: self.ev.take(),
        }
    }

    /// Tell a TCP channel's user about its connection.
    fn event(&mut self, c: &Chan, ev: StreamEvent, peer: &RawAddr, now: u64) {
        if let Some(f) = self.ev.as_mut() {
            IN_CB.with(|x| x.set(c.id));
            f(ev, peer, now);
            IN_CB.with(|x| x.set(0));
        }
    }
}

/// A TCP channel's sockets and framing state (worker side).
struct Stream {
    listener: Option<OwnedFd>,
    conn: Option<OwnedFd>,
    peer: RawAddr,
    rx: Deframer,
    /// Bytes of the queue's head frame already written.
    woff: usize,
    /// EPOLLOUT is on (output waits for room in the socket).
    out_armed: bool,
}

impl Stream {
    /// Turn EPOLLOUT on the connection on or off, only on a change.
    fn arm_out(&mut self, epfd: std::os::fd::RawFd, fd: std::os::fd::RawFd, token: u64, on: bool) {
        if self.out_armed != on {
            self.out_armed = on;
            let _ = sys::epoll_mod(epfd, fd, token, on);
        }
    }

    fn close_fds(&mut self, epfd: std::os::fd::RawFd) {
        for fd in [self.listener.take(), self.conn.take()]
            .into_iter()
            .flatten()
        {
            sys::epoll_del(epfd, fd.as_raw_fd());
        }
    }
}

struct Chan {
    id: u64,
    token: u64,
    closed: AtomicBool,
    sock: Mutex<Option<OwnedFd>>,
    cb: Mutex<Callbacks>,
    stun: bool,
    latch_on: AtomicBool,
    latch: Mutex<Latcher>,
    tx: Mutex<TxState>,
    /// Signalled (under `tx`) whenever the queue becomes empty.
    drained: Condvar,
    /// TCP channels only: the sockets (locked by the worker, never while
    /// a caller's thread needs it: `send` reads `conn` instead).
    stream: Option<Mutex<Stream>>,
    conn: AtomicU8,
    local: RawAddr,
    local_sa: SocketAddr,
    stats: Counters,
    /// io_uring UDP channels: set (then `Shared::quiet_cv` notified) once
    /// no receive is armed on the socket and none will be, so that the
    /// socket can close for real (the ring holds it while one is armed).
    rx_quiet: AtomicBool,
}

impl Chan {
    /// Forget the queue and wake `drain` waiters (close, shutdown, a lost
    /// connection).
    fn discard_queue(&self) {
        let mut tx = self.tx.lock();
        tx.q.clear();
        tx.active = false;
        self.drained.notify_all();
    }
}

/// Channels by epoll token (slot index | generation << 32).
#[derive(Default)]
struct Table {
    slots: Vec<Option<Arc<Chan>>>,
    gens: Vec<u32>,
    free: Vec<u32>,
}

impl Table {
    fn reserve(&mut self) -> Result<u64> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let oom = |_| Error::NoMemory;
                self.slots.try_reserve(1).map_err(oom)?;
                self.gens.try_reserve(1).map_err(oom)?;
                self.free.try_reserve(self.slots.len() + 1).map_err(oom)?;
                self.slots.push(None);
                self.gens.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        Ok(slot as u64 | (self.gens[slot as usize] as u64) << 32)
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

    /// Free the slot of `token` (no-op if it was already freed). `free`
    /// has room for every slot (reserved in `reserve`): no allocation.
    fn remove(&mut self, token: u64) -> Option<Arc<Chan>> {
        let (s, g) = Self::split(token);
        if self.gens.get(s) != Some(&g) {
            return None;
        }
        self.gens[s] = g.wrapping_add(1);
        self.free.push(s as u32);
        self.slots[s].take()
    }

    /// Every channel out of the table (for the worker's exit), without
    /// allocating: the slots go, and the bumped generations make every
    /// token stale, so later `get`/`remove` find nothing.
    fn take_all(&mut self) -> Vec<Option<Arc<Chan>>> {
        self.gens.iter_mut().for_each(|g| *g = g.wrapping_add(1));
        std::mem::take(&mut self.slots)
    }
}

/// What a server's workers share: the shutdown flag and each other's
/// wake-up eventfds (so that any of them, or the server, stops them all).
struct Group {
    shutdown: AtomicBool,
    evfds: Vec<OwnedFd>,
}

impl Group {
    fn is_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    fn stop_all(&self) {
        self.shutdown.store(true, Ordering::Release);
        for fd in &self.evfds {
            sys::eventfd_signal(fd.as_raw_fd());
        }
    }

    fn on_worker(self: &Arc<Self>) -> bool {
        GROUP_OF.with(|g| g.get()) == Arc::as_ptr(self) as usize
    }
}

/// One worker's state.
struct Shared {
    epfd: OwnedFd,
    group: Arc<Group>,
    /// This worker's eventfd in `group.evfds`.
    idx: usize,
    tick_ms: i32,
    /// Open channels on this worker (for spreading new ones).
    nchans: AtomicUsize,
    table: Mutex<Table>,
    /// Channels that went from idle to having output; room for one entry
    /// per channel is reserved when the channel is created.
    ready: Mutex<Vec<Arc<Chan>>>,
    /// io_uring backend: UDP receive goes through the worker's ring (this
    /// is a duplicate of its descriptor, for `uring::sync_cancel`).
    ring_fd: Option<OwnedFd>,
    /// io_uring: arm / cancel requests for the worker, in order.
    ctl: Mutex<Vec<(Ctl, Arc<Chan>)>>,
    /// io_uring: `Chan::rx_quiet` and `exited` are waited for under this.
    quiet: Mutex<()>,
    quiet_cv: Condvar,
    /// The worker thread has left its loop (its ring is gone).
    exited: AtomicBool,
}

/// A request to an io_uring worker about a channel's receive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctl {
    Arm,
    Cancel,
}

impl Shared {
    fn wake(&self) {
        sys::eventfd_signal(self.evfd());
    }

    fn evfd(&self) -> i32 {
        self.group.evfds[self.idx].as_raw_fd()
    }

    fn is_down(&self) -> bool {
        self.group.is_down()
    }

    /// Does UDP receive go through an io_uring?
    fn uring(&self) -> bool {
        self.ring_fd.is_some()
    }

    /// Hand an arm/cancel request to the io_uring worker (room for two per
    /// channel is reserved when the channel is created).
    fn request(&self, what: Ctl, c: &Arc<Chan>) {
        self.ctl.lock().push((what, c.clone()));
        self.wake();
    }

    /// Mark `c`'s receive over (closing its socket first if the channel
    /// is closed) and wake whoever waits for that.
    fn retire(&self, c: &Chan) {
        if c.closed.load(Ordering::Acquire) {
            drop(c.sock.lock().take());
        }
        let _g = self.quiet.lock();
        c.rx_quiet.store(true, Ordering::Release);
        self.quiet_cv.notify_all();
    }

    /// Wait until `c`'s receive is over or the worker is gone.
    fn wait_quiet(&self, c: &Chan) {
        let mut g = self.quiet.lock();
        while !c.rx_quiet.load(Ordering::Acquire) && !self.exited.load(Ordering::Acquire) {
            self.quiet_cv.wait(&mut g);
        }
    }
}

/// A server: its worker threads and their channels.
pub struct Server {
    group: Arc<Group>,
    workers: Vec<Arc<Shared>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A channel handle. Dropping it closes the channel.
pub struct Channel {
    chan: Arc<Chan>,
    shared: Arc<Shared>,
}

/// The worker's buffers, allocated before the server starts.
struct WorkerBufs {
    events: sys::Events,
    rb: sys::RecvBatch,
    sb: sys::SendBatch,
    spares: Vec<Vec<u8>>,
    rx: Vec<Arc<Chan>>,
    pending: VecDeque<Arc<Chan>>,
    blocked: Vec<Arc<Chan>>,
    /// io_uring backend: the ring and room for one round's completions.
    ring: Option<uring::Ring>,
    cqes: Vec<uring::Cqe>,
}

impl WorkerBufs {
    fn new(uring: bool) -> Result<WorkerBufs> {
        let mut spares = sys::try_vec(BATCH)?;
        spares.resize_with(BATCH, Vec::new);
        let mut pending = VecDeque::new();
        pending
            .try_reserve(MAX_EVENTS)
            .map_err(|_| Error::NoMemory)?;
        Ok(WorkerBufs {
            events: sys::Events::new(MAX_EVENTS)?,
            rb: sys::RecvBatch::new(BATCH)?,
            sb: sys::SendBatch::new(BATCH)?,
            spares,
            rx: sys::try_vec(MAX_EVENTS)?,
            pending,
            blocked: sys::try_vec(MAX_EVENTS)?,
            ring: if uring {
                Some(uring::Ring::new()?)
            } else {
                None
            },
            // Room for every buffer's completion: reaping fewer per round
            // leaves buffers held by unread completions, and a ring run dry
            // ends every multishot receive (ENOBUFS) until re-armed.
            cqes: sys::try_vec(if uring { uring::BUF_COUNT as usize } else { 0 })?,
        })
    }
}

/// Is the queue size acceptable? (0: the default.)
fn queue_slots(queue_size: u32) -> Result<usize> {
    let qs = if queue_size == 0 {
        DEFAULT_QUEUE
    } else {
        queue_size
    };
    if !qs.is_power_of_two() || qs > MAX_QUEUE {
        return Err(Error::Invalid);
    }
    Ok(qs as usize)
}

impl Server {
    /// Start a one-worker server whose refused output is retried every
    /// 1/`tick_hz` s (0: 200 Hz).
    pub fn new(tick_hz: u32) -> Result<Server> {
        Self::with_config(&ServerConfig {
            tick_hz,
            ..ServerConfig::default()
        })
    }

    /// Start a server as `cfg` says. Everything the workers need is
    /// allocated before this returns: NoMemory here, never an abort on a
    /// worker later. Invalid for more than `MAX_WORKERS` workers,
    /// NotSupported for io_uring on a kernel without it (or with it
    /// disabled, or too old for multishot recvmsg into buffer rings).
    pub fn with_config(cfg: &ServerConfig) -> Result<Server> {
        let uring = match cfg.backend {
            Backend::Auto | Backend::Epoll => false,
            Backend::Uring => {
                uring::probe()?;
                true
            }
        };
        if cfg.workers > MAX_WORKERS {
            return Err(Error::Invalid);
        }
        let n = cfg.workers.max(1) as usize;
        let hz = if cfg.tick_hz == 0 {
            DEFAULT_TICK_HZ
        } else {
            cfg.tick_hz
        };
        let tick_ms = 1000u32.div_ceil(hz).max(1) as i32;
        let mut evfds = sys::try_vec(n)?;
        let mut epfds = sys::try_vec(n)?;
        let mut bufs = sys::try_vec(n)?;
        for _ in 0..n {
            let epfd = sys::epoll_create()?;
            let evfd = sys::eventfd()?;
            sys::epoll_add(epfd.as_raw_fd(), evfd.as_raw_fd(), WAKE_TOKEN)?;
            epfds.push(epfd);
            evfds.push(evfd);
            bufs.push(WorkerBufs::new(uring)?);
        }
        let group = Arc::new(Group {
            shutdown: AtomicBool::new(false),
            evfds,
        });
        let mut workers = sys::try_vec(n)?;
        for (idx, epfd) in epfds.into_iter().enumerate() {
            let ring_fd = match &bufs[idx].ring {
                Some(r) => Some(r.dup_fd()?),
                None => None,
            };
            workers.push(Arc::new(Shared {
                ring_fd,
                epfd,
                group: group.clone(),
                idx,
                tick_ms,
                nchans: AtomicUsize::new(0),
                table: Mutex::new(Table::default()),
                ready: Mutex::new(Vec::new()),
                ctl: Mutex::new(Vec::new()),
                quiet: Mutex::new(()),
                quiet_cv: Condvar::new(),
                exited: AtomicBool::new(false),
            }));
        }
        let srv = Server {
            group,
            workers,
            threads: Mutex::new(sys::try_vec(n)?),
        };
        for (sh, b) in srv.workers.iter().zip(bufs) {
            let sh = sh.clone();
            let h = std::thread::Builder::new()
                .name("rtpsrv".into())
                .spawn(move || worker_main(sh, b))
                .map_err(sys::spawn_error)?;
            // Dropping `srv` on a later failure stops and joins these.
            srv.threads.lock().push(h);
        }
        Ok(srv)
    }

    /// How many worker threads the server has.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The backend the workers run (Epoll or Uring, never Auto).
    pub fn backend(&self) -> Backend {
        if self.workers[0].uring() {
            Backend::Uring
        } else {
            Backend::Epoll
        }
    }

    /// The worker a new channel goes to: the one with the fewest channels.
    fn pick(&self) -> &Arc<Shared> {
        let load = |w: &&Arc<Shared>| w.nchans.load(Ordering::Relaxed);
        // `workers` is never empty (with_config makes at least one).
        self.workers
            .iter()
            .min_by_key(load)
            .unwrap_or(&self.workers[0])
    }

    pub fn is_shut_down(&self) -> bool {
        self.group.is_down()
    }

    /// Open a channel: bind its socket and start receiving into `cb`.
    pub fn create_channel(&self, cfg: &ChanConfig, cb: PktIn) -> Result<Channel> {
        self.create_channel_with(cfg, ChanOptions::default(), Some(cb))
    }

    /// Open a channel with options; `cb` None makes it send-only (what it
    /// receives is counted and dropped; STUN is still answered, RTCP still
    /// goes to `opts.rtcp`).
    pub fn create_channel_with(
        &self,
        cfg: &ChanConfig,
        opts: ChanOptions,
        cb: Option<PktIn>,
    ) -> Result<Channel> {
        let qs = queue_slots(cfg.queue_size)?;
        let baddr = addr::bind_addr(cfg.bind_host, cfg.bind_port, cfg.bind_family)?;
        if self.is_shut_down() {
            return Err(Error::Shutdown);
        }
        let fd = sys::udp_bind(&baddr)?;
        self.register(self.pick(), Socket::Dgram(fd), qs, opts, cb, None)
    }

    /// Open an RFC 4571 TCP channel: bound as `cfg` says (for `Connect`
    /// with no host and `Family::Auto`, of the peer's family), listening or
    /// connecting. Packets are framed with a 2-byte length both ways;
    /// `send` queues as for UDP (lossy, bounded: a slow peer fills the
    /// queue and `send` reports QueueFull) and NotConnected when there is
    /// no connection (a connect in progress queues). `ev` hears of the
    /// connection coming up, the peer closing (its queue is discarded) and
    /// resets; `cb` gets each packet with the peer's address.
    pub fn create_tcp_channel(
        &self,
        cfg: &ChanConfig,
        mode: TcpMode,
        cb: Option<PktIn>,
        ev: Option<EventCb>,
    ) -> Result<Channel> {
        let qs = queue_slots(cfg.queue_size)?;
        let fam = match (cfg.bind_family, cfg.bind_host, mode) {
            (Family::Auto, None, TcpMode::Connect(SocketAddr::V6(_))) => Family::V6,
            (f, _, _) => f,
        };
        let baddr = addr::bind_addr(cfg.bind_host, cfg.bind_port, fam)?;
        if self.is_shut_down() {
            return Err(Error::Shutdown);
        }
        let fd = sys::tcp_bind(&baddr)?;
        let local = sys::local_addr(fd.as_raw_fd())?;
        let local_sa = local.to_socket_addr().ok_or(Error::Invalid)?;
        let rx = Deframer::new().ok_or(Error::NoMemory)?;
        let mut st = Stream {
            listener: None,
            conn: None,
            peer: RawAddr::empty(),
            rx,
            woff: 0,
            out_armed: false,
        };
        match mode {
            TcpMode::Listen => {
                sys::listen(fd.as_raw_fd())?;
                st.listener = Some(fd);
            }
            TcpMode::Connect(peer) => {
                let to = RawAddr::from(addr::target_for(peer, &local_sa)?);
                // Completion (even at once) is learned from EPOLLOUT, so
                // that Connected is always an event.
                sys::connect(fd.as_raw_fd(), &to)?;
                st.peer = to;
                st.conn = Some(fd);
                st.out_armed = true;
            }
        }
        self.register(
            self.pick(),
            Socket::Stream(st),
            qs,
            ChanOptions::default(),
            cb,
            ev,
        )
    }

    /// Open an RTP/RTCP pair (RFC 3550 section 11): the RTP channel on an
    /// even port of `ports` and the RTCP channel on the odd port above it,
    /// both bound as `cfg` says (`cfg.bind_port` is ignored). Pairs are
    /// tried from a random start; a port that is in use (by this process or
    /// another) moves on to the next pair. AddrInUse when every pair of the
    /// range is taken; Invalid when the range holds no pair.
    pub fn create_pair(
        &self,
        cfg: &ChanConfig,
        ports: RangeInclusive<u16>,
        rtp: (ChanOptions, Option<PktIn>),
        rtcp: (ChanOptions, Option<PktIn>),
    ) -> Result<(Channel, Channel)> {
        let qs = queue_slots(cfg.queue_size)?;
        // In u32: rounding 65535 up to even must not wrap.
        let lo = u32::from((*ports.start()).max(2));
        let lo = lo + (lo & 1);
        let hi = u32::from(*ports.end());
        if hi < 2 || lo > hi - 1 {
            return Err(Error::Invalid);
        }
        let pairs = (hi - 1 - lo) / 2 + 1;
        // A random start, so that processes sharing a range rarely race
        // for the same pair.
        let start = (RandomState::new().build_hasher().finish() % pairs as u64) as u32;
        for k in 0..pairs {
            if self.is_shut_down() {
                return Err(Error::Shutdown);
            }
            // lo + 2 * (pairs - 1) + 1 <= hi, so both ports fit in u16.
            let port = (lo + 2 * ((start + k) % pairs)) as u16;
            let a = addr::bind_addr(cfg.bind_host, port, cfg.bind_family)?;
            let b = addr::bind_addr(cfg.bind_host, port + 1, cfg.bind_family)?;
            let fa = match sys::udp_bind(&a) {
                Ok(f) => f,
                Err(Error::AddrInUse) => continue,
                Err(e) => return Err(e),
            };
            let fb = match sys::udp_bind(&b) {
                Ok(f) => f,
                Err(Error::AddrInUse) => continue,
                Err(e) => return Err(e),
            };
            // One worker for both: a pair's callbacks run on one thread.
            let w = self.pick();
            let ra = self.register(w, Socket::Dgram(fa), qs, rtp.0, rtp.1, None)?;
            let rb = self.register(w, Socket::Dgram(fb), qs, rtcp.0, rtcp.1, None)?;
            return Ok((ra, rb));
        }
        Err(Error::AddrInUse)
    }

    fn register(
        &self,
        sh: &Arc<Shared>,
        sock: Socket,
        qs: usize,
        opts: ChanOptions,
        cb: Option<PktIn>,
        ev: Option<EventCb>,
    ) -> Result<Channel> {
        let (sock, stream, raw_fd, out, conn) = match sock {
            Socket::Dgram(fd) => {
                let raw = fd.as_raw_fd();
                (Some(fd), None, raw, false, CONN_NONE)
            }
            Socket::Stream(st) => {
                let (raw, conn) = match (&st.listener, &st.conn) {
                    (Some(l), _) => (l.as_raw_fd(), CONN_NONE),
                    (None, Some(c)) => (c.as_raw_fd(), CONN_CONNECTING),
                    (None, None) => return Err(Error::Invalid),
                };
                let out = st.out_armed;
                (None, Some(Mutex::new(st)), raw, out, conn)
            }
        };
        let local = sys::local_addr(raw_fd)?;
        let local_sa = local.to_socket_addr().ok_or(Error::Invalid)?;
        let q = TxQueue::new(qs).ok_or(Error::NoMemory)?;
        let chan = {
            let mut t = sh.table.lock();
            if sh.is_down() {
                return Err(Error::Shutdown);
            }
            let token = t.reserve()?;
            {
                // A channel is on the ready list at most once (`active`):
                // room for every slot keeps `send` from allocating.
                let mut r = sh.ready.lock();
                let want = t.slots.len().saturating_sub(r.len());
                if r.try_reserve_exact(want).is_err() {
                    t.remove(token);
                    return Err(Error::NoMemory);
                }
                // io_uring: an arm and a cancel per channel, and the
                // cancels of closed channels not yet taken.
                if sh.uring() {
                    let mut q = sh.ctl.lock();
                    let want = (2 * t.slots.len() + 2).saturating_sub(q.len());
                    if q.try_reserve(want).is_err() {
                        t.remove(token);
                        return Err(Error::NoMemory);
                    }
                }
            }
            let latch_on = opts.latch != Latch::Off;
            let chan = Arc::new(Chan {
                id: NEXT_CHAN_ID.fetch_add(1, Ordering::Relaxed),
                token,
                closed: AtomicBool::new(false),
                sock: Mutex::new(sock),
                cb: Mutex::new(Callbacks {
                    pkt: cb,
                    rtcp: opts.rtcp,
                    ev,
                }),
                stun: opts.stun,
                latch_on: AtomicBool::new(latch_on),
                latch: Mutex::new(Latcher::new(opts.latch)),
                tx: Mutex::new(TxState {
                    q,
                    target: None,
                    active: false,
                }),
                drained: Condvar::new(),
                stream,
                conn: AtomicU8::new(conn),
                local,
                local_sa,
                stats: Counters::default(),
                rx_quiet: AtomicBool::new(false),
            });
            t.fill(token, chan.clone());
            sh.nchans.fetch_add(1, Ordering::Relaxed);
            chan
        };
        let ch = Channel {
            chan,
            shared: sh.clone(),
        };
        // On failure dropping `ch` undoes everything (table slot, socket).
        // Once added, the worker may use (and, for a failed connect, close)
        // the socket at once: nothing here touches it afterwards.
        if sh.uring() && ch.chan.stream.is_none() {
            sh.request(Ctl::Arm, &ch.chan);
        } else {
            sys::epoll_add_watch(sh.epfd.as_raw_fd(), raw_fd, ch.chan.token, out)?;
        }
        Ok(ch)
    }

    /// Stop the workers. Idempotent; when it returns (from a thread other
    /// than a worker of this server) no callback runs or will run. From
    /// inside a callback it stops every worker as soon as its running
    /// callback returns, without waiting (two workers would wait for each
    /// other).
    pub fn shutdown(&self) {
        self.group.stop_all();
        if self.group.on_worker() {
            return;
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        for h in threads {
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

    /// Where queued packets go. Numeric addresses only. NotSupported on a
    /// TCP channel (its peer is the connection's).
    pub fn set_target(&self, host: &str, port: u16) -> Result<()> {
        if self.chan.stream.is_some() {
            return Err(Error::NotSupported);
        }
        let a = addr::target_addr(host, port, &self.chan.local_sa)?;
        self.chan.tx.lock().target = Some(RawAddr::from_socket_addr(&a));
        Ok(())
    }

    /// Where queued packets go, from an address value (an IPv4 address on
    /// an IPv6 channel is sent IPv4-mapped; IPv6 on an IPv4 channel is
    /// FamilyMismatch; port 0 is Invalid).
    pub fn set_target_addr(&self, to: SocketAddr) -> Result<()> {
        if self.chan.stream.is_some() {
            return Err(Error::NotSupported);
        }
        let a = addr::target_for(to, &self.chan.local_sa)?;
        self.chan.tx.lock().target = Some(RawAddr::from_socket_addr(&a));
        Ok(())
    }

    /// The current target (set or latched), if any.
    pub fn target(&self) -> Option<RawAddr> {
        self.chan.tx.lock().target
    }

    /// Change how the target is learned, and start learning afresh (a
    /// locked channel unlocks). The current target stays until a source
    /// replaces it.
    pub fn set_latch(&self, mode: Latch) {
        let c = &self.chan;
        let mut l = c.latch.lock();
        *l = Latcher::new(mode);
        c.latch_on.store(mode != Latch::Off, Ordering::Release);
    }

    /// Is a TCP channel's connection up? (Always false for UDP.)
    pub fn is_connected(&self) -> bool {
        self.chan.conn.load(Ordering::Acquire) == CONN_UP
    }

    /// Has a `Latch::Lock` channel locked onto a source?
    pub fn is_latched(&self) -> bool {
        self.chan.latch.lock().is_locked()
    }

    /// Queue a copy of `pkt` for sending; never blocks.
    pub fn send(&self, pkt: &[u8]) -> Result<()> {
        if pkt.len() > MAX_DATAGRAM {
            return Err(Error::TooBig);
        }
        let sh = &self.shared;
        if sh.is_down() {
            return Err(Error::Shutdown);
        }
        let c = &self.chan;
        if c.closed.load(Ordering::Acquire) {
            return Err(Error::Closing);
        }
        let stream = c.stream.is_some();
        if stream && c.conn.load(Ordering::Acquire) == CONN_NONE {
            return Err(Error::NotConnected);
        }
        {
            let mut tx = c.tx.lock();
            if !stream && tx.target.is_none() {
                return Err(Error::NoTarget);
            }
            match tx.q.push(pkt) {
                Ok(()) => {}
                Err(PushError::Full) => {
                    drop(tx);
                    bump(&c.stats.tx_queue_full, 1);
                    return Err(Error::QueueFull);
                }
                Err(PushError::NoMemory) => return Err(Error::NoMemory),
            }
            if tx.active {
                return Ok(());
            }
            tx.active = true;
        }
        let was_empty = {
            let mut r = sh.ready.lock();
            // Room is reserved per channel; this only guards against the
            // rare excess of closed channels still listed.
            if r.try_reserve(1).is_err() {
                drop(r);
                let mut tx = c.tx.lock();
                tx.q.unpush();
                tx.active = false;
                return Err(Error::NoMemory);
            }
            let e = r.is_empty();
            r.push(c.clone());
            e
        };
        if was_empty {
            sh.wake();
        }
        Ok(())
    }

    /// Wait until every packet queued so far is on the wire (handed to the
    /// kernel, or dropped as a tx error), at most `timeout`. TimedOut when
    /// time ran out; Shutdown / Closing when the queue was discarded;
    /// WouldDeadlock on the worker thread (inside a callback) unless the
    /// queue is already empty.
    pub fn drain(&self, timeout: Duration) -> Result<()> {
        let c = &self.chan;
        let deadline = Instant::now().checked_add(timeout);
        let mut tx = c.tx.lock();
        loop {
            if tx.q.is_empty() {
                return Ok(());
            }
            if self.shared.is_down() {
                return Err(Error::Shutdown);
            }
            if c.closed.load(Ordering::Acquire) {
                return Err(Error::Closing);
            }
            // On any worker of the server, not only this channel's: two
            // callbacks draining each other's channels would wait forever.
            if self.shared.group.on_worker() {
                return Err(Error::WouldDeadlock);
            }
            match deadline {
                Some(d) => {
                    if c.drained.wait_until(&mut tx, d).timed_out() {
                        return if tx.q.is_empty() {
                            Ok(())
                        } else {
                            Err(Error::TimedOut)
                        };
                    }
                }
                None => c.drained.wait(&mut tx),
            }
        }
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
            rx_rtcp: l(&s.rx_rtcp),
            stun_answered: l(&s.stun_answered),
            latch_moves: l(&s.latch_moves),
            rx_dropped: l(&s.rx_dropped),
        }
    }

    /// Close the channel (same as dropping the handle).
    pub fn close(self) {}

    /// Drain (at most `timeout`), then close. The channel is closed in
    /// every case; the result is the drain's.
    pub fn close_drained(self, timeout: Duration) -> Result<()> {
        self.drain(timeout)
    }

    fn close_inner(&mut self) {
        let c = &self.chan;
        let sh = &self.shared;
        if c.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let own_callback = IN_CB.with(|x| x.get()) == c.id;
        if !own_callback {
            // Waits for a running callback of this channel to return.
            let cbs = c.cb.lock().release();
            drop(cbs);
        }
        // else: the worker holds `cb` up the stack and drops it as soon as
        // the callback returns; it never calls it again (`closed`).
        if sh.uring() && c.stream.is_none() {
            // The ring holds the socket while a receive is armed on it.
            // Cancelled here at once (on the channel's own worker, inside a
            // callback, that frees the socket before the call returns) and
            // by the worker (a receive it has not submitted yet), which
            // then closes the socket. Waited for, so that the port is free
            // on return, except on a worker thread: waiting there could
            // wait for a worker that waits for this one.
            let own_worker = WORKER_OF.with(|w| w.get()) == Arc::as_ptr(sh) as usize;
            if !c.rx_quiet.load(Ordering::Acquire) {
                if let Some(rfd) = &sh.ring_fd {
                    uring::sync_cancel(rfd.as_raw_fd(), c.token);
                }
                sh.request(Ctl::Cancel, c);
                if !sh.group.on_worker() {
                    sh.wait_quiet(c);
                }
            }
            // On another worker the socket stays for this channel's worker
            // to close: it may be about to submit a receive on it, and the
            // descriptor's number must not be reused before it has.
            if own_worker
                || !sh.group.on_worker()
                || c.rx_quiet.load(Ordering::Acquire)
                || sh.exited.load(Ordering::Acquire)
            {
                drop(c.sock.lock().take());
            }
        } else {
            let fd = c.sock.lock().take();
            if let Some(fd) = fd {
                sys::epoll_del(sh.epfd.as_raw_fd(), fd.as_raw_fd());
                drop(fd);
            }
        }
        if let Some(st) = &c.stream {
            // From inside its own callback the worker holds the stream and
            // closes the sockets when the callback returns.
            if !own_callback {
                st.lock().close_fds(sh.epfd.as_raw_fd());
            }
        }
        if sh.table.lock().remove(c.token).is_some() {
            sh.nchans.fetch_sub(1, Ordering::Relaxed);
        }
        c.discard_queue();
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.close_inner();
    }
}

fn worker_main(sh: Arc<Shared>, bufs: WorkerBufs) {
    GROUP_OF.with(|g| g.set(Arc::as_ptr(&sh.group) as usize));
    WORKER_OF.with(|g| g.set(Arc::as_ptr(&sh) as usize));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Worker { sh: &sh, b: bufs }.run()
    }));
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("rtpsynth: server worker stopped: epoll_wait failed: {e}");
        }
        Err(_) => {
            eprintln!("rtpsynth: server worker panicked; the server is shut down");
        }
    }
    IN_CB.with(|x| x.set(0));
    // One worker gone (a panic, epoll failing) stops the whole server.
    sh.group.stop_all();
    {
        // The ring (dropped with the Worker) cancelled every receive:
        // closing threads may close their sockets now.
        let _g = sh.quiet.lock();
        sh.exited.store(true, Ordering::Release);
        sh.quiet_cv.notify_all();
    }
    for (_, c) in sh.ctl.lock().drain(..) {
        c.discard_queue();
    }
    // Release every callback; sockets stay open until their handles close.
    let chans = sh.table.lock().take_all();
    for c in chans.into_iter().flatten() {
        drop(c.cb.lock().release());
        c.discard_queue();
    }
    sh.ready.lock().clear();
}

/// A new channel's socket(s).
enum Socket {
    Dgram(OwnedFd),
    Stream(Stream),
}

enum TxOutcome {
    Done,
    More,
    Blocked,
}

struct Worker<'a> {
    sh: &'a Arc<Shared>,
    b: WorkerBufs,
}

/// When refused output is retried (`Worker::serve_output`).
#[derive(Default)]
struct TxPace {
    retry_at: u64,
    starved: bool,
}

impl Worker<'_> {
    fn stopping(&self) -> bool {
        self.sh.is_down()
    }

    fn run(&mut self) -> Result<()> {
        if let Some(ring) = self.b.ring.take() {
            return self.run_uring(ring);
        }
        let sh = self.sh;
        let mut pace = TxPace::default();
        loop {
            // Checked before every wait, not only after one: a shutdown
            // whose eventfd signal was consumed by the drain below (meant
            // for an earlier wake-up) must not leave the worker asleep.
            if self.stopping() {
                return Ok(());
            }
            let timeout = self.timeout_ms(&pace);
            let n = sys::epoll_wait(sh.epfd.as_raw_fd(), &mut self.b.events, timeout)?;
            let now = crate::clock::monotonic_ns();
            if self.stopping() {
                return Ok(());
            }
            if !self.serve_ready(n, now) {
                return Ok(());
            }
            self.serve_output(now, &mut pace);
        }
    }

    /// How long the next wait may sleep (ms, -1: until woken): not at all
    /// with output pending, a tick while a socket refuses output.
    fn timeout_ms(&self, pace: &TxPace) -> i32 {
        if !self.b.pending.is_empty() {
            0
        } else if !self.b.blocked.is_empty() || pace.starved {
            self.sh.tick_ms
        } else {
            -1
        }
    }

    /// Serve the first `n` events of the last epoll_wait; false when the
    /// server stops meanwhile.
    fn serve_ready(&mut self, n: usize, now: u64) -> bool {
        let sh = self.sh;
        {
            let t = sh.table.lock();
            for i in 0..n {
                let tok = self.b.events.token(i);
                if tok == WAKE_TOKEN {
                    sys::eventfd_drain(sh.evfd());
                } else if let Some(c) = t.get(tok) {
                    // n <= MAX_EVENTS, the reserved capacity.
                    self.b.rx.push(c.clone());
                }
            }
        }
        let mut rx = std::mem::take(&mut self.b.rx);
        for c in rx.drain(..) {
            self.service_rx(&c, now);
            if self.stopping() {
                return false;
            }
        }
        self.b.rx = rx;
        true
    }

    /// One round of output: channels that became ready, then those a full
    /// socket refused once a tick has passed, up to TX_PER_ROUND of them.
    ///
    /// `pending`: channels with output, served round-robin. `blocked`:
    /// channels whose socket refused more (EAGAIN), retried after a tick.
    /// Both grow only with `try_reserve`; when that fails the channels
    /// wait where they are and the worker polls every tick instead of
    /// sleeping (`starved`).
    fn serve_output(&mut self, now: u64, pace: &mut TxPace) {
        let sh = self.sh;
        let tick_ns = sh.tick_ms as u64 * 1_000_000;
        pace.starved = false;
        {
            let mut r = sh.ready.lock();
            if self.b.pending.try_reserve(r.len()).is_ok() {
                self.b.pending.extend(r.drain(..));
            } else {
                pace.starved = true;
            }
        }
        if !self.b.blocked.is_empty() && now >= pace.retry_at {
            if self.b.pending.try_reserve(self.b.blocked.len()).is_ok() {
                self.b.pending.extend(self.b.blocked.drain(..));
            } else {
                pace.starved = true;
            }
        }
        for _ in 0..self.b.pending.len().min(TX_PER_ROUND) {
            let Some(c) = self.b.pending.pop_front() else {
                break;
            };
            match self.service_tx(&c) {
                TxOutcome::Done => {}
                // Just popped: pushing back cannot allocate.
                TxOutcome::More => self.b.pending.push_back(c),
                TxOutcome::Blocked => {
                    if self.b.blocked.try_reserve(1).is_err() {
                        self.b.pending.push_back(c);
                        continue;
                    }
                    if self.b.blocked.is_empty() {
                        pace.retry_at = now + tick_ns;
                    }
                    self.b.blocked.push(c);
                }
            }
        }
    }

    fn service_rx(&mut self, c: &Arc<Chan>, now: u64) {
        if c.closed.load(Ordering::Acquire) {
            return;
        }
        if let Some(st) = &c.stream {
            self.service_stream(c, st, now);
            return;
        }
        let n = {
            let g = c.sock.lock();
            let Some(fd) = g.as_ref() else { return };
            match self.b.rb.recv(fd.as_raw_fd(), BATCH) {
                Ok(n) => n,
                Err(_) => return,
            }
        };
        if n == 0 {
            return;
        }
        let mut g = c.cb.lock();
        for i in 0..n {
            let (pkt, from) = self.b.rb.get(i);
            if !self.deliver(c, &mut g, pkt, from, now) {
                break;
            }
        }
        if c.closed.load(Ordering::Acquire) {
            // Closed from inside its own callback: release the callbacks.
            drop(g.release());
        }
    }

    /// One datagram received on `c`, in order: a STUN request answered,
    /// the counters, latching, then the RTP or RTCP callback. False when
    /// the channel closed or the server stops (deliver no more).
    fn deliver(&self, c: &Chan, cbs: &mut Callbacks, pkt: &[u8], from: &RawAddr, now: u64) -> bool {
        if c.stun && stun::looks_like_stun(pkt) {
            if let Ok(req) = stun::parse_binding_request(pkt) {
                answer_stun(c, &req, from);
                return true;
            }
        }
        bump(&c.stats.rx_pkts, 1);
        bump(&c.stats.rx_bytes, pkt.len() as u64);
        if c.latch_on.load(Ordering::Relaxed) {
            latch_source(c, from);
        }
        let cb = if cbs.rtcp.is_some() && demux::is_rtcp(pkt) {
            bump(&c.stats.rx_rtcp, 1);
            &mut cbs.rtcp
        } else {
            &mut cbs.pkt
        };
        if let Some(cb) = cb.as_mut() {
            IN_CB.with(|x| x.set(c.id));
            cb(pkt, from, now);
            IN_CB.with(|x| x.set(0));
        }
        !(c.closed.load(Ordering::Acquire) || self.stopping())
    }

    fn service_tx(&mut self, c: &Arc<Chan>) -> TxOutcome {
        if c.closed.load(Ordering::Acquire) {
            return TxOutcome::Done;
        }
        if let Some(st) = &c.stream {
            let mut s = st.lock();
            return match self.flush_stream(c, &mut s) {
                Ok(o) => o,
                Err(e) => {
                    let mut g = c.cb.lock();
                    let peer = s.peer;
                    self.lose_conn(c, &mut s);
                    g.event(
                        c,
                        StreamEvent::Reset(e),
                        &peer,
                        crate::clock::monotonic_ns(),
                    );
                    if c.closed.load(Ordering::Acquire) {
                        drop(g.release());
                        s.close_fds(self.sh.epfd.as_raw_fd());
                    }
                    TxOutcome::Done
                }
            };
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
                c.drained.notify_all();
                return TxOutcome::Done;
            };
            if tx.q.is_empty() {
                tx.active = false;
                c.drained.notify_all();
                return TxOutcome::Done;
            }
            (tx.q.lend(&mut self.b.spares), dest)
        };
        let mut consumed = 0;
        let mut blocked = false;
        while consumed < n {
            match self.b.sb.send(fd, &self.b.spares[consumed..n], &dest) {
                Ok(k) => {
                    let bytes: usize = self.b.spares[consumed..consumed + k]
                        .iter()
                        .map(|p| p.len())
                        .sum();
                    bump(&c.stats.tx_pkts, k as u64);
                    bump(&c.stats.tx_bytes, bytes as u64);
                    consumed += k;
                }
                Err(SendErr::Interrupted) => {}
                Err(SendErr::Again) => {
                    blocked = true;
                    break;
                }
                Err(SendErr::Failed(_)) => {
                    bump(&c.stats.tx_errors, 1);
                    consumed += 1;
                }
            }
        }
        let mut tx = c.tx.lock();
        tx.q.commit(&mut self.b.spares, consumed);
        drop(g);
        if blocked {
            TxOutcome::Blocked
        } else if tx.q.is_empty() {
            tx.active = false;
            c.drained.notify_all();
            TxOutcome::Done
        } else {
            TxOutcome::More
        }
    }
}

/// The io_uring worker loop (`Backend::Uring`).
impl Worker<'_> {
    /// As `run`, with UDP receive through `ring`: one wait harvests the
    /// datagrams of every channel; the epoll set (wake-ups, TCP) is one
    /// more source on the ring. `armed` maps receive tags (channel
    /// tokens) to their channels, for as long as a receive is armed.
    fn run_uring(&mut self, mut ring: uring::Ring) -> Result<()> {
        let sh = self.sh;
        let mut pace = TxPace::default();
        let mut armed: HashMap<u64, Arc<Chan>> = HashMap::new();
        armed.try_reserve(MAX_EVENTS).map_err(|_| Error::NoMemory)?;
        let mut ctl = Vec::new();
        ring.poll_epoll(sh.epfd.as_raw_fd())?;
        loop {
            if self.stopping() {
                return Ok(());
            }
            std::mem::swap(&mut ctl, &mut *sh.ctl.lock());
            for (what, c) in ctl.drain(..) {
                self.control(&mut ring, &mut armed, what, c)?;
            }
            ring.wait(self.timeout_ms(&pace))?;
            let now = crate::clock::monotonic_ns();
            if self.stopping() {
                return Ok(());
            }
            let mut cqes = std::mem::take(&mut self.b.cqes);
            ring.reap(&mut cqes);
            let mut epoll_ready = false;
            for cqe in cqes.drain(..) {
                if cqe.tag == uring::POLL_TAG {
                    epoll_ready = true;
                    if !cqe.more() {
                        ring.poll_epoll(sh.epfd.as_raw_fd())?;
                    }
                } else if let Some(c) = armed.get(&cqe.tag).cloned() {
                    self.uring_rx(&mut ring, &c, &cqe, now);
                    if !cqe.more() {
                        self.arm(&mut ring, &mut armed, c)?;
                    }
                    if self.stopping() {
                        return Ok(());
                    }
                }
            }
            self.b.cqes = cqes;
            if epoll_ready {
                let n = sys::epoll_wait(sh.epfd.as_raw_fd(), &mut self.b.events, 0)?;
                if !self.serve_ready(n, now) {
                    return Ok(());
                }
            }
            self.serve_output(now, &mut pace);
        }
    }

    /// An arm or cancel request from another thread (or a callback).
    fn control(
        &self,
        ring: &mut uring::Ring,
        armed: &mut HashMap<u64, Arc<Chan>>,
        what: Ctl,
        c: Arc<Chan>,
    ) -> Result<()> {
        match what {
            Ctl::Arm => self.arm(ring, armed, c),
            Ctl::Cancel if armed.contains_key(&c.token) => ring.cancel(c.token),
            Ctl::Cancel => {
                self.sh.retire(&c);
                Ok(())
            }
        }
    }

    /// Arm `c`'s receive (first time, or again after the kernel ended it:
    /// no buffer left, an error), or retire the channel if it is closed
    /// or its socket gone (also: no memory to track it, rather than abort).
    fn arm(
        &self,
        ring: &mut uring::Ring,
        armed: &mut HashMap<u64, Arc<Chan>>,
        c: Arc<Chan>,
    ) -> Result<()> {
        let fd = if c.closed.load(Ordering::Acquire) {
            None
        } else {
            c.sock.lock().as_ref().map(|f| f.as_raw_fd())
        };
        let room = armed.contains_key(&c.token) || armed.try_reserve(1).is_ok();
        match fd {
            Some(fd) if room => {
                ring.arm_recv(fd, c.token)?;
                armed.insert(c.token, c);
            }
            _ => {
                armed.remove(&c.token);
                self.sh.retire(&c);
            }
        }
        Ok(())
    }

    /// One receive completion of channel `c`.
    fn uring_rx(&self, ring: &mut uring::Ring, c: &Chan, cqe: &uring::Cqe, now: u64) {
        ring.with_datagram(cqe, |pkt, from, whole| {
            if c.closed.load(Ordering::Acquire) {
                return;
            }
            if !whole {
                bump(&c.stats.rx_dropped, 1);
                return;
            }
            let mut g = c.cb.lock();
            self.deliver(c, &mut g, pkt, from, now);
            if c.closed.load(Ordering::Acquire) {
                drop(g.release());
            }
        });
    }
}

impl Worker<'_> {
    /// A TCP channel's socket(s) are ready: accept, finish a connect,
    /// read and deframe, write what waits for room.
    fn service_stream(&mut self, c: &Arc<Chan>, st: &Mutex<Stream>, now: u64) {
        let epfd = self.sh.epfd.as_raw_fd();
        let mut s = st.lock();
        let mut g = c.cb.lock();
        let cbs = &mut *g;
        if let Some(l) = s.listener.as_ref().map(|l| l.as_raw_fd()) {
            while let Some((fd, peer)) = sys::accept(l) {
                let busy = s.conn.is_some() || c.closed.load(Ordering::Acquire);
                if busy || sys::epoll_add(epfd, fd.as_raw_fd(), c.token).is_err() {
                    continue; // dropped: closed at once
                }
                s.conn = Some(fd);
                s.peer = peer;
                s.rx.reset();
                s.woff = 0;
                s.out_armed = false;
                c.conn.store(CONN_UP, Ordering::Release);
                cbs.event(c, StreamEvent::Connected, &peer, now);
            }
        }
        if c.conn.load(Ordering::Acquire) == CONN_CONNECTING {
            if let Some(fd) = s.conn.as_ref().map(|f| f.as_raw_fd()) {
                match sys::connect_result(fd) {
                    Ok(true) => {
                        c.conn.store(CONN_UP, Ordering::Release);
                        let peer = s.peer;
                        cbs.event(c, StreamEvent::Connected, &peer, now);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        let peer = s.peer;
                        self.lose_conn(c, &mut s);
                        cbs.event(c, StreamEvent::Reset(e), &peer, now);
                    }
                }
            }
        }
        for _ in 0..STREAM_READS_PER_ROUND {
            if c.conn.load(Ordering::Acquire) != CONN_UP || c.closed.load(Ordering::Acquire) {
                break;
            }
            let Some(fd) = s.conn.as_ref().map(|f| f.as_raw_fd()) else {
                break;
            };
            let lost = match sys::read(fd, s.rx.space()) {
                ReadResult::Data(n) => {
                    s.rx.filled(n);
                    while let Some(r) = s.rx.next_frame() {
                        let pkt = s.rx.packet(r);
                        bump(&c.stats.rx_pkts, 1);
                        bump(&c.stats.rx_bytes, pkt.len() as u64);
                        if let Some(cb) = cbs.pkt.as_mut() {
                            IN_CB.with(|x| x.set(c.id));
                            cb(pkt, &s.peer, now);
                            IN_CB.with(|x| x.set(0));
                        }
                        if c.closed.load(Ordering::Acquire) {
                            break;
                        }
                    }
                    None
                }
                ReadResult::Again => break,
                ReadResult::Eof => Some(StreamEvent::Closed),
                ReadResult::Failed(e) => Some(StreamEvent::Reset(e)),
            };
            if let Some(ev) = lost {
                let peer = s.peer;
                self.lose_conn(c, &mut s);
                cbs.event(c, ev, &peer, now);
                break;
            }
        }
        if c.conn.load(Ordering::Acquire) == CONN_UP && !c.closed.load(Ordering::Acquire) {
            // After a connect, or when EPOLLOUT said there is room.
            if let Err(e) = self.flush_stream(c, &mut s) {
                let peer = s.peer;
                self.lose_conn(c, &mut s);
                cbs.event(c, StreamEvent::Reset(e), &peer, now);
            }
        }
        if c.closed.load(Ordering::Acquire) {
            // Closed from inside one of its callbacks.
            drop(cbs.release());
            s.close_fds(epfd);
        }
    }

    /// The connection is gone: its socket closes, its queue is discarded
    /// (a new connection starts clean), the channel stays.
    fn lose_conn(&mut self, c: &Chan, s: &mut Stream) {
        if let Some(fd) = s.conn.take() {
            sys::epoll_del(self.sh.epfd.as_raw_fd(), fd.as_raw_fd());
        }
        s.rx.reset();
        s.woff = 0;
        s.out_armed = false;
        c.conn.store(CONN_NONE, Ordering::Release);
        c.discard_queue();
    }

    /// Write queued packets as RFC 4571 frames, keeping a partly written
    /// frame at the head of the queue; arm EPOLLOUT when the socket is full
    /// (the channel then waits for that event instead of a retry tick).
    fn flush_stream(&mut self, c: &Chan, s: &mut Stream) -> Result<TxOutcome> {
        let epfd = self.sh.epfd.as_raw_fd();
        let up = c.conn.load(Ordering::Acquire) == CONN_UP;
        let Some(fd) = s.conn.as_ref().map(|f| f.as_raw_fd()) else {
            return Ok(TxOutcome::Done);
        };
        if !up {
            // Connecting: the queue waits for the connection.
            return Ok(TxOutcome::Done);
        }
        let n = {
            let mut tx = c.tx.lock();
            if tx.q.is_empty() {
                tx.active = false;
                c.drained.notify_all();
                drop(tx);
                s.arm_out(epfd, fd, c.token, false);
                return Ok(TxOutcome::Done);
            }
            tx.q.lend(&mut self.b.spares)
        };
        let mut hdrs = [[0u8; 2]; BATCH];
        for (h, p) in hdrs.iter_mut().zip(&self.b.spares[..n]) {
            *h = stream::frame_header(p.len());
        }
        let mut complete = 0;
        let mut full = false;
        let mut failed = None;
        match sys::write_frames(fd, &hdrs[..n], &self.b.spares[..n], s.woff) {
            Ok(mut w) => {
                for p in &self.b.spares[..n] {
                    let rest = 2 + p.len() - s.woff;
                    if w < rest {
                        s.woff += w;
                        full = true;
                        break;
                    }
                    w -= rest;
                    s.woff = 0;
                    complete += 1;
                    bump(&c.stats.tx_pkts, 1);
                    bump(&c.stats.tx_bytes, p.len() as u64);
                }
            }
            Err(SendErr::Again) => full = true,
            Err(SendErr::Interrupted) => {}
            Err(SendErr::Failed(e)) => failed = Some(sys::os_error(e)),
        }
        let mut tx = c.tx.lock();
        tx.q.commit(&mut self.b.spares, complete);
        if let Some(e) = failed {
            return Err(e);
        }
        if full {
            drop(tx);
            s.arm_out(epfd, fd, c.token, true);
            // Still `active`: EPOLLOUT brings the worker back.
            return Ok(TxOutcome::Done);
        }
        if tx.q.is_empty() {
            tx.active = false;
            c.drained.notify_all();
            drop(tx);
            s.arm_out(epfd, fd, c.token, false);
            Ok(TxOutcome::Done)
        } else {
            Ok(TxOutcome::More)
        }
    }
}

/// A packet from `from` arrived on a latching channel.
fn latch_source(c: &Chan, from: &RawAddr) {
    let moved = c.latch.lock().observe(from);
    if let Some(to) = moved {
        c.tx.lock().target = Some(to);
        bump(&c.stats.latch_moves, 1);
    }
}

/// Answer a Binding Request at once, from the channel's socket, on the
/// stack; a full socket buffer drops the answer (STUN retransmits).
fn answer_stun(c: &Chan, req: &stun::BindingRequest, from: &RawAddr) {
    let Some(sa) = from.to_socket_addr() else {
        return;
    };
    let mut out = [0u8; stun::RESPONSE_MAX];
    let n = stun::write_binding_success(req, &sa, &mut out);
    let g = c.sock.lock();
    let Some(fd) = g.as_ref() else { return };
    // Counted before the answer leaves, so that a peer that has the
    // answer also sees the count; a refused answer is also a tx error.
    bump(&c.stats.stun_answered, 1);
    if sys::send_to(fd.as_raw_fd(), &out[..n], from).is_err() {
        bump(&c.stats.tx_errors, 1);
    }
}

#[cfg(test)]
mod tests;
