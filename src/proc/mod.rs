//! Periodic processing scheduler (the original's RtpProc): one worker thread
//! calls per-channel tasks at the CLOCK_MONOTONIC times they ask for.
//!
//! Design:
//! - Channels live in a slot table; scheduled channels sit in a timer wheel
//!   (`wheel.rs`, popping in exactly a binary heap's `(key, seq)` order) of
//!   `(key, seq, slot)` entries with lazy deletion: closing a channel or
//!   unscheduling it only clears the slot's `sched_seq`, and stale entries
//!   are dropped when they come due or when the queue is compacted (it
//!   is, whenever it fills its capacity, which is kept at twice the number
//!   of open channels). Reschedule is O(1) within the wheel's horizon.
//! - The worker sleeps until the earliest key with an absolute-time futex
//!   wait on CLOCK_MONOTONIC (timer slack 1 ns, a short EEVDF slice) and is
//!   woken early only for new channels and shutdown. It takes at most one
//!   timed wake-up per `min_wake_ns` (50 us by default): a timed wake-up
//!   costs several microseconds of CPU (about 17 us in a Firecracker VM), so
//!   dense deadlines are served in batches, each call at most ~50 us late,
//!   instead of burning a core on wake-ups (wider under load only if
//!   `ProcConfig::max_wake_ns` asks for it).
//! - A task returns its next run time. Its deadline never goes backwards
//!   (`deadline = max(asked, previous deadline)`). The queue key is
//!   `max(deadline, now - CATCH_UP_WINDOW)`: lateness up to the window (a
//!   slow task, a loaded machine) is caught up in strict deadline order, with
//!   no deadline skipped or reordered; a task further behind (one that keeps
//!   asking for times long past) is queued as if it were only that late, so
//!   it delays the others by at most the window instead of starving them.
//! - Every task runs on the worker thread, one at a time, without the
//!   scheduler lock held, so a task may create and close channels (its own
//!   included) and shut the scheduler down. The first call of a channel
//!   created from another thread runs on the worker while the creator
//!   waits; created from a task on the worker, it runs inline.
//! - While the worker runs, only it touches the scheduler state (tasks on
//!   it included). Other threads hand creations and closes to it through a
//!   request queue and wait for the reply on a futex; the worker only
//!   `try_lock`s that queue while timers are due, so it never waits for a
//!   lock held by a preempted (or lower-priority) thread. After the worker
//!   exited, closes are done locally.

mod sys;
mod wheel;

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::clock::monotonic_ns;

/// What a channel runs. `run` gets the current CLOCK_MONOTONIC time and the
/// deadline it was scheduled for (0 for the first call), and returns the
/// next time to run (`Ok(0)`: never again). An `Err` also stops the
/// channel; `Channel::close` then returns it.
pub trait Task: Send + 'static {
    fn run(&mut self, now_ns: u64, deadline_ns: u64) -> Result<u64, TaskError>;
}

impl<F> Task for F
where
    F: FnMut(u64, u64) -> Result<u64, TaskError> + Send + 'static,
{
    fn run(&mut self, now_ns: u64, deadline_ns: u64) -> Result<u64, TaskError> {
        self(now_ns, deadline_ns)
    }
}

/// Why a channel stopped with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskError {
    /// The task stopped itself with this code. The scheduler gives it no
    /// meaning; the C layer carries the callback's non-zero `*err` here.
    Failed(i32),
    /// The task panicked (the panic is caught on the worker; the channel
    /// stops, the others go on).
    Panicked,
}

/// Scheduler settings (the C layer fills them from the environment, see
/// rtpproc.h; Rust users set them directly).
#[derive(Debug, Clone, Copy)]
pub struct ProcConfig {
    /// Minimum time between two timed wake-ups of the worker (deadlines
    /// closer together are served in one batch); capped at
    /// `MAX_MIN_WAKE_NS`.
    pub min_wake_ns: u64,
    /// Coalescing under load: while the worker uses more than
    /// `CPU_BUDGET_PERMILLE` of a core, the minimum time between timed
    /// wake-ups widens step by step from `min_wake_ns` up to this (capped
    /// at `MAX_MIN_WAKE_NS`), and narrows back when the load goes. Calls
    /// are then up to this late. 0 (the default), or any value not above
    /// `min_wake_ns`: never widen, calls stay within `min_wake_ns`.
    pub max_wake_ns: u64,
    /// SCHED_FIFO priority (1..=99) for the worker, best effort; `None`
    /// (or a value out of range) keeps the normal policy.
    pub rt_priority: Option<u8>,
    /// Called on the worker thread whenever it is about to block (sleep
    /// until the next deadline or a request) and when it exits: a binding
    /// that keeps a resource across consecutive task calls, such as
    /// Python's GIL, releases it here so that it is never held while the
    /// worker waits. `None`: nothing to call.
    pub idle_hook: Option<fn()>,
}

impl Default for ProcConfig {
    fn default() -> Self {
        ProcConfig {
            min_wake_ns: DEFAULT_MIN_WAKE_NS,
            max_wake_ns: 0,
            rt_priority: None,
            idle_hook: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The scheduler's tables could not grow.
    NoMemory,
    /// The scheduler was shut down.
    Shutdown,
    /// The worker thread could not be started (the OS error number of the
    /// failed thread creation).
    Spawn(i32),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoMemory => f.write_str("out of memory"),
            Error::Shutdown => f.write_str("scheduler is shut down"),
            Error::Spawn(os) => write!(
                f,
                "cannot start the scheduler thread: {}",
                std::io::Error::from_raw_os_error(*os)
            ),
        }
    }
}

impl std::error::Error for Error {}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Failed(code) => write!(f, "task stopped with error {code}"),
            TaskError::Panicked => f.write_str("task panicked"),
        }
    }
}

impl std::error::Error for TaskError {}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Free,
    /// Not in the heap (unscheduled, or between calls).
    Idle,
    /// In the heap under `sched_seq`.
    Scheduled,
    /// Its task is running on the worker (the task is out of the slot).
    Running,
}

struct Slot {
    task: Option<Box<dyn Task>>,
    phase: Phase,
    /// Closed from the worker thread while running: the worker frees the
    /// slot when the task returns.
    closed_running: bool,
    sched_seq: u64,
    deadline: u64,
    err: Option<TaskError>,
}

impl Slot {
    fn vacant() -> Slot {
        Slot {
            task: None,
            phase: Phase::Free,
            closed_running: false,
            sched_seq: 0,
            deadline: 0,
            err: None,
        }
    }
}

use wheel::{Entry, Wheel};

/// Everything the worker schedules. Locked by the worker (uncontended)
/// except while a task runs or the worker sleeps; other threads lock it only
/// after the worker exited.
struct State {
    slots: Vec<Slot>,
    free: Vec<u32>,
    timers: Wheel,
    next_seq: u64,
    open: usize,
    calls: u64,
}

/// Slack kept in the heap beyond twice the open channels.
const HEAP_SLACK: usize = 64;

/// Default and upper bound of `ProcConfig::min_wake_ns`.
pub const DEFAULT_MIN_WAKE_NS: u64 = 50_000;
pub const MAX_MIN_WAKE_NS: u64 = 1_000_000;

/// The EEVDF time slice the worker asks for (best effort).
const WORKER_SLICE_NS: u64 = 100_000;

/// How late a deadline may be and still keep its place in deadline order.
pub const CATCH_UP_WINDOW_NS: u64 = 100_000_000;

impl State {
    fn new() -> State {
        State {
            slots: Vec::new(),
            free: Vec::new(),
            timers: Wheel::new(),
            next_seq: 1,
            open: 0,
            calls: 0,
        }
    }

    /// A slot for a new channel (phase Idle), with room reserved in every
    /// table the channel may need later.
    fn alloc(&mut self, task: Box<dyn Task>) -> Result<u32, (Error, Box<dyn Task>)> {
        let nslots = self.slots.len() + usize::from(self.free.is_empty());
        if nslots > u32::MAX as usize {
            return Err((Error::NoMemory, task));
        }
        let heap_want = 2 * (self.open + 1) + HEAP_SLACK;
        let reserved = self.timers.reserve(heap_want).is_ok()
            && self
                .free
                .try_reserve(nslots.saturating_sub(self.free.len()))
                .is_ok()
            && (!self.free.is_empty() || self.slots.try_reserve(1).is_ok());
        if !reserved {
            return Err((Error::NoMemory, task));
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::vacant());
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        *s = Slot::vacant();
        s.task = Some(task);
        s.phase = Phase::Idle;
        self.open += 1;
        Ok(idx)
    }

    /// Release a slot; returns its task for the caller to drop outside the
    /// lock (a Rust task's destructor may call back into the scheduler).
    fn free_slot(&mut self, idx: u32) -> Option<Box<dyn Task>> {
        let s = &mut self.slots[idx as usize];
        let task = s.task.take();
        *s = Slot::vacant();
        self.free.push(idx);
        self.open -= 1;
        task
    }

    fn schedule(&mut self, idx: u32, key: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let s = &mut self.slots[idx as usize];
        s.sched_seq = seq;
        s.phase = Phase::Scheduled;
        if self.timers.len() == self.timers.capacity() {
            self.compact();
        }
        self.timers.push(Entry {
            key,
            seq,
            slot: idx,
        });
    }

    fn is_live(&self, e: &Entry) -> bool {
        let s = &self.slots[e.slot as usize];
        s.phase == Phase::Scheduled && s.sched_seq == e.seq
    }

    /// Drop the stale entries of the heap.
    fn compact(&mut self) {
        let slots = &self.slots;
        self.timers.retain(|e| {
            let s = &slots[e.slot as usize];
            s.phase == Phase::Scheduled && s.sched_seq == e.seq
        });
    }

    /// The earliest live entry (stale ones on top are discarded).
    fn peek_live(&mut self) -> Option<Entry> {
        while let Some(e) = self.timers.peek() {
            if self.is_live(&e) {
                return Some(e);
            }
            self.timers.pop();
        }
        None
    }

    /// Book-keeping after a task returned. Returns a task to drop outside
    /// the lock.
    fn after_call(
        &mut self,
        idx: u32,
        task: Box<dyn Task>,
        now: u64,
        ret: Result<u64, TaskError>,
        stopping: bool,
    ) -> Option<Box<dyn Task>> {
        let s = &mut self.slots[idx as usize];
        s.phase = Phase::Idle;
        s.task = Some(task);
        if let Err(e) = ret {
            s.err = Some(e);
        }
        if s.closed_running {
            return self.free_slot(idx);
        }
        if let (Ok(next @ 1..), false) = (ret, stopping) {
            let deadline = next.max(s.deadline);
            s.deadline = deadline;
            self.schedule(idx, deadline.max(now.saturating_sub(CATCH_UP_WINDOW_NS)));
        }
        None
    }

    /// Close a channel that is not running; returns its result and its task.
    fn close_idle(&mut self, idx: u32) -> (Closed, Option<Box<dyn Task>>) {
        if self.slots[idx as usize].phase == Phase::Free {
            // Only after an internal error left a close half done.
            return (Ok(()), None);
        }
        let err = self.slots[idx as usize].err;
        (err.map_or(Ok(()), Err), self.free_slot(idx))
    }
}

/// What `Channel::close` returns.
pub type Closed = Result<(), TaskError>;

/// A one-shot reply from the worker to a waiting thread.
struct Reply<T> {
    done: AtomicU32,
    value: Mutex<Option<T>>,
}

impl<T> Reply<T> {
    fn new() -> Arc<Reply<T>> {
        Arc::new(Reply {
            done: AtomicU32::new(0),
            value: Mutex::new(None),
        })
    }

    fn set(&self, v: T) {
        *self.value.lock() = Some(v);
        self.done.store(1, Ordering::Release);
        sys::futex_wake_all(&self.done);
    }

    /// The reply; `None` only if the worker dropped the request unanswered.
    fn wait(&self) -> Option<T> {
        while self.done.load(Ordering::Acquire) == 0 {
            sys::futex_wait(&self.done, 0);
        }
        self.value.lock().take()
    }
}

/// The worker's end of a `Reply`: if it is dropped unanswered (only an
/// internal panic could do that), the waiter is woken with no value
/// instead of waiting forever.
struct ReplyTo<T>(Arc<Reply<T>>);

impl<T> ReplyTo<T> {
    fn set(&self, v: T) {
        self.0.set(v);
    }
}

impl<T> Drop for ReplyTo<T> {
    fn drop(&mut self) {
        if self.0.done.load(Ordering::Acquire) == 0 {
            self.0.done.store(1, Ordering::Release);
            sys::futex_wake_all(&self.0.done);
        }
    }
}

enum Request {
    /// Reply: the slot index.
    Create(Box<dyn Task>, ReplyTo<Result<u32, Error>>),
    /// Reply: the channel's result.
    Close(u32, ReplyTo<Closed>),
}

#[derive(Default)]
struct Requests {
    queue: VecDeque<Request>,
    /// The worker exited: nothing queued here is ever served.
    exited: bool,
}

#[derive(Default)]
struct Exit {
    exited: bool,
    join: Option<JoinHandle<()>>,
}

struct Inner {
    state: Mutex<State>,
    requests: Mutex<Requests>,
    has_requests: AtomicBool,
    shutdown: AtomicBool,
    exit: Mutex<Exit>,
    exit_cv: Condvar,
    wake: sys::Wake,
    config: ProcConfig,
}

impl Inner {
    /// The worker is about to block or exit: run the binding's idle hook.
    fn idle(&self) {
        if let Some(hook) = self.config.idle_hook {
            hook();
        }
    }
}

thread_local! {
    /// On a worker thread: the address of its scheduler's `Inner`.
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

fn on_worker(inner: &Arc<Inner>) -> bool {
    WORKER_OF.with(|w| w.get() == Arc::as_ptr(inner) as usize)
}

/// Run the task of slot `idx` with the lock released, then book-keep.
/// `now`: a clock reading taken at or after `deadline`, or None to read
/// the clock just before the call.
fn run_call(
    inner: &Inner,
    g: &mut MutexGuard<'_, State>,
    idx: u32,
    deadline: u64,
    now: Option<u64>,
) {
    let s = &mut g.slots[idx as usize];
    let Some(mut task) = s.task.take() else {
        // Cannot happen (only the worker runs tasks and it always puts
        // them back); treat as an unscheduled channel.
        s.phase = Phase::Idle;
        return;
    };
    s.phase = Phase::Running;
    g.calls += 1;
    let (now, ret) = MutexGuard::unlocked(g, || {
        let now = now.unwrap_or_else(monotonic_ns);
        let ret = catch_unwind(AssertUnwindSafe(|| task.run(now, deadline)))
            .unwrap_or(Err(TaskError::Panicked));
        (now, ret)
    });
    let stopping = inner.shutdown.load(Ordering::Relaxed);
    let dead = g.after_call(idx, task, now, ret, stopping);
    if dead.is_some() {
        MutexGuard::unlocked(g, || drop(dead));
    }
}

/// Serve the requests of other threads (between tasks, on the worker).
fn serve(inner: &Inner, g: &mut MutexGuard<'_, State>, batch: VecDeque<Request>) {
    for r in batch {
        match r {
            Request::Create(task, reply) if inner.shutdown.load(Ordering::SeqCst) => {
                // shut down by a task of this batch: no call starts any more
                reply.set(Err(Error::Shutdown));
                MutexGuard::unlocked(g, || drop(task));
            }
            Request::Create(task, reply) => match g.alloc(task) {
                Ok(idx) => {
                    run_call(inner, g, idx, 0, None);
                    reply.set(Ok(idx));
                }
                Err((e, task)) => {
                    reply.set(Err(e));
                    MutexGuard::unlocked(g, || drop(task));
                }
            },
            Request::Close(idx, reply) => {
                let (closed, dead) = g.close_idle(idx);
                reply.set(closed);
                MutexGuard::unlocked(g, || drop(dead));
            }
        }
    }
}

/// At most this many consecutive calls share one clock reading (bounds how
/// stale `now` can get behind slow callbacks of the same batch).
pub const BATCH_CALLS: u32 = 32;

/// The worker's CPU budget, in thousandths of a core: above it, the
/// coalescing window widens (see `Window`).
pub const CPU_BUDGET_PERMILLE: u64 = 120;
/// How often the worker checks its CPU use.
const ADAPT_PERIOD_NS: u64 = 100_000_000;

/// The coalescing window: the minimum time between two timed wake-ups.
/// It starts at `min_wake_ns`; while the worker uses more than its CPU
/// budget (dense deadlines: every wake-up costs several microseconds, see
/// the module comment) it widens step by step up to `max_wake_ns` (if that
/// is above `min_wake_ns`; off by default), and narrows back when the load
/// goes. A worker that stays a
/// light sleeper keeps its wake-up latency when other processes compete
/// for the CPU, which is worth more than the window's extra lateness.
struct Window {
    min: u64,
    max: u64,
    cur: u64,
    since_wall: u64,
    since_cpu: u64,
}

impl Window {
    fn new(min_wake_ns: u64, max_wake_ns: u64) -> Window {
        let min = min_wake_ns.min(MAX_MIN_WAKE_NS);
        Window {
            min,
            max: max_wake_ns.clamp(min, MAX_MIN_WAKE_NS.max(min)),
            cur: min,
            since_wall: monotonic_ns(),
            since_cpu: sys::thread_cpu_ns(),
        }
    }

    /// Called after each timed wake-up with the wake-up time.
    fn adapt(&mut self, now: u64) {
        let wall = now.saturating_sub(self.since_wall);
        if self.min == 0 || self.max <= self.min || wall < ADAPT_PERIOD_NS {
            return;
        }
        self.update(now, sys::thread_cpu_ns());
    }

    /// One adaptation step from the wall and CPU clocks' readings.
    fn update(&mut self, now: u64, cpu_now: u64) {
        let wall = now.saturating_sub(self.since_wall).max(1);
        let used = cpu_now.saturating_sub(self.since_cpu).saturating_mul(1000) / wall;
        if used > CPU_BUDGET_PERMILLE {
            self.cur = (self.cur + self.cur / 4).min(self.max);
        } else if used < CPU_BUDGET_PERMILLE / 2 {
            self.cur = (self.cur - self.cur / 5).max(self.min);
        }
        self.since_wall = now;
        self.since_cpu = cpu_now;
    }
}

fn worker_loop(inner: &Inner) {
    let mut g = inner.state.lock();
    let mut woke_at = 0u64;
    let mut window = Window::new(inner.config.min_wake_ns, inner.config.max_wake_ns);
    // One clock reading serves the calls due at it: a wake-up reads the
    // clock once, runs everything due by then (in deadline order) and reads
    // it again only to look for more before sleeping.
    let mut batch_now: Option<u64> = None;
    let mut batch_left = 0u32;
    loop {
        if inner.shutdown.load(Ordering::SeqCst) {
            return;
        }
        if inner.has_requests.load(Ordering::SeqCst) {
            // Never wait for a requester holding the queue lock while
            // timers are due; when nothing is due, waiting is harmless.
            let due = g.peek_live().is_some_and(|e| e.key <= monotonic_ns());
            let q = if due {
                inner.requests.try_lock()
            } else {
                Some(inner.requests.lock())
            };
            if let Some(mut q) = q {
                inner.has_requests.store(false, Ordering::SeqCst);
                let batch = std::mem::take(&mut q.queue);
                drop(q);
                serve(inner, &mut g, batch);
                batch_now = None;
                continue;
            }
        }
        let next = g.peek_live();
        let now = match batch_now {
            Some(t) if batch_left > 0 => t,
            _ => {
                batch_left = BATCH_CALLS;
                monotonic_ns()
            }
        };
        match next {
            Some(e) if e.key <= now => {
                batch_now = Some(now);
                batch_left -= 1;
                g.timers.pop();
                let s = &mut g.slots[e.slot as usize];
                s.sched_seq = 0;
                s.phase = Phase::Idle;
                let deadline = s.deadline;
                // `now` was read after the entry became due.
                run_call(inner, &mut g, e.slot, deadline, Some(now));
            }
            _ if batch_now.is_some() => {
                // Nothing more due by the batch's reading: read the clock
                // again before deciding to sleep.
                batch_now = None;
            }
            next => {
                let token = inner.wake.prepare();
                if inner.has_requests.load(Ordering::SeqCst)
                    || inner.shutdown.load(Ordering::SeqCst)
                {
                    inner.wake.cancel();
                    continue;
                }
                // At most one timed wake-up per window: deadlines closer
                // together than that are served in one batch.
                let until = next.map(|e| e.key.max(woke_at.saturating_add(window.cur)));
                inner.idle();
                MutexGuard::unlocked(&mut g, || {
                    inner.wake.sleep_until(token, until);
                    woke_at = monotonic_ns();
                });
                window.adapt(woke_at);
                batch_now = Some(woke_at);
                batch_left = BATCH_CALLS;
            }
        }
    }
}

fn worker_main(inner: Arc<Inner>) {
    sys::set_min_timer_slack();
    match inner.config.rt_priority {
        Some(prio @ 1..=99) if sys::set_fifo_priority(i32::from(prio)) => {}
        _ => sys::request_short_slice(WORKER_SLICE_NS),
    }
    WORKER_OF.with(|w| w.set(Arc::as_ptr(&inner) as usize));
    if catch_unwind(AssertUnwindSafe(|| worker_loop(&inner))).is_err() {
        eprintln!("rtpproc: internal error in the scheduler worker; scheduler shut down");
    }
    inner.idle();
    inner.shutdown.store(true, Ordering::SeqCst);
    let mut dead: Vec<Box<dyn Task>> = Vec::new();
    {
        let mut g = inner.state.lock();
        let st = &mut *g;
        // Requests queued from now on are refused or done locally by
        // their threads; serve those already queued the same way.
        let batch = {
            let mut q = inner.requests.lock();
            q.exited = true;
            std::mem::take(&mut q.queue)
        };
        for r in batch {
            match r {
                Request::Create(task, reply) => {
                    reply.set(Err(Error::Shutdown));
                    dead.push(task);
                }
                Request::Close(idx, reply) => {
                    let (closed, task) = st.close_idle(idx);
                    reply.set(closed);
                    dead.extend(task);
                }
            }
        }
        st.timers.clear();
        for s in st.slots.iter_mut() {
            if matches!(s.phase, Phase::Scheduled | Phase::Running) {
                s.phase = Phase::Idle;
                s.sched_seq = 0;
            }
            if s.closed_running {
                s.closed_running = false;
            }
            dead.extend(s.task.take());
        }
    }
    drop(dead);
    inner.exit.lock().exited = true;
    inner.exit_cv.notify_all();
    WORKER_OF.with(|w| w.set(0));
}

/// A scheduler with its worker thread. Dropping it shuts it down.
pub struct Proc {
    inner: Arc<Inner>,
}

impl Proc {
    /// Start a scheduler with the default `ProcConfig` (spawns its worker
    /// thread).
    pub fn new() -> Result<Proc, Error> {
        Proc::with_config(ProcConfig::default())
    }

    /// Start a scheduler with `config` (spawns its worker thread).
    pub fn with_config(config: ProcConfig) -> Result<Proc, Error> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new()),
            requests: Mutex::new(Requests::default()),
            has_requests: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            exit: Mutex::new(Exit::default()),
            exit_cv: Condvar::new(),
            wake: sys::Wake::new(),
            config,
        });
        let for_worker = inner.clone();
        let h = std::thread::Builder::new()
            .name("rtpproc".into())
            .spawn(move || worker_main(for_worker))
            .map_err(|e| Error::Spawn(e.raw_os_error().unwrap_or(libc::EAGAIN)))?;
        inner.exit.lock().join = Some(h);
        Ok(Proc { inner })
    }

    /// Open a channel running `task`. Its first call (deadline 0) has
    /// happened when this returns: on the worker thread, inline when
    /// called from one of this scheduler's tasks.
    pub fn create_channel(&self, task: Box<dyn Task>) -> Result<Channel, Error> {
        let inner = &self.inner;
        if inner.shutdown.load(Ordering::SeqCst) {
            return Err(Error::Shutdown);
        }
        if on_worker(inner) {
            let mut g = inner.state.lock();
            let idx = match g.alloc(task) {
                Ok(i) => i,
                Err((e, task)) => {
                    drop(g);
                    drop(task);
                    return Err(e);
                }
            };
            run_call(inner, &mut g, idx, 0, None);
            return Ok(Channel {
                inner: inner.clone(),
                slot: Some(idx),
            });
        }
        let reply = Reply::new();
        {
            let mut q = inner.requests.lock();
            if q.exited || inner.shutdown.load(Ordering::SeqCst) {
                drop(q);
                drop(task);
                return Err(Error::Shutdown);
            }
            if q.queue.try_reserve(1).is_err() {
                drop(q);
                drop(task);
                return Err(Error::NoMemory);
            }
            q.queue
                .push_back(Request::Create(task, ReplyTo(reply.clone())));
            inner.has_requests.store(true, Ordering::SeqCst);
        }
        inner.wake.notify();
        // No reply at all: the worker died with the request (internal
        // error); it is shutting down.
        let idx = reply.wait().unwrap_or(Err(Error::Shutdown))?;
        Ok(Channel {
            inner: inner.clone(),
            slot: Some(idx),
        })
    }

    /// Stop the worker; idempotent. From another thread it returns when no
    /// task runs or will run; from one of this scheduler's tasks it returns
    /// at once and no other task starts after the calling one returns.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.store(true, Ordering::SeqCst);
        inner.wake.notify();
        if on_worker(inner) {
            return;
        }
        let mut e = inner.exit.lock();
        while !e.exited {
            inner.exit_cv.wait(&mut e);
        }
        let h = e.join.take();
        drop(e);
        if let Some(h) = h {
            let _ = h.join();
        }
    }

    pub fn is_shut_down(&self) -> bool {
        self.inner.shutdown.load(Ordering::SeqCst)
    }

    /// Open channels (not yet closed, whether scheduled or not).
    #[cfg(test)]
    fn open_channels(&self) -> usize {
        self.inner.state.lock().open
    }

    /// Task calls made so far.
    #[cfg(test)]
    fn calls(&self) -> u64 {
        self.inner.state.lock().calls
    }

    /// Entries held by the timer heap, stale ones included (for tests).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.inner.state.lock().timers.len()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// An open channel. Dropping it closes it.
pub struct Channel {
    inner: Arc<Inner>,
    slot: Option<u32>,
}

impl Channel {
    /// Close the channel and return the error its task stopped with. From
    /// another thread, waits for a running call to return: afterwards the
    /// task never runs again. From one of this scheduler's tasks (its own
    /// included) it never waits; a task closing itself finishes its
    /// current call and is never called again.
    pub fn close(mut self) -> Closed {
        match self.slot.take() {
            Some(idx) => close_slot(&self.inner, idx),
            None => Ok(()),
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(idx) = self.slot.take() {
            // Nobody asked for the result: dropping is closing and ignoring it.
            let _ = close_slot(&self.inner, idx);
        }
    }
}

fn close_slot(inner: &Arc<Inner>, idx: u32) -> Closed {
    if on_worker(inner) {
        let mut g = inner.state.lock();
        if g.slots[idx as usize].phase == Phase::Running {
            let s = &mut g.slots[idx as usize];
            s.closed_running = true;
            return s.err.map_or(Ok(()), Err);
        }
        let (closed, dead) = g.close_idle(idx);
        drop(g);
        drop(dead);
        return closed;
    }
    let reply = Reply::new();
    let queued = {
        let mut q = inner.requests.lock();
        if !q.exited {
            q.queue
                .push_back(Request::Close(idx, ReplyTo(reply.clone())));
            inner.has_requests.store(true, Ordering::SeqCst);
        }
        !q.exited
    };
    if queued {
        inner.wake.notify();
        if let Some(closed) = reply.wait() {
            return closed;
        }
        // Dropped unanswered (the worker died with it): close locally.
    }
    // The worker is gone: close locally.
    let mut g = inner.state.lock();
    let (closed, dead) = g.close_idle(idx);
    drop(g);
    drop(dead);
    closed
}

#[cfg(test)]
mod tests;
