//! Periodic processing scheduler (the original's RtpProc): one worker thread
//! calls per-channel tasks at the CLOCK_MONOTONIC times they ask for.
//!
//! Design:
//! - Channels live in a slot table; scheduled channels sit in a binary heap
//!   of `(key, seq, slot)` entries with lazy deletion: closing a channel or
//!   unscheduling it only clears the slot's `sched_seq`, and stale entries
//!   are dropped when they reach the top or when the heap is compacted (it
//!   is, whenever it fills its capacity, which is kept at twice the number
//!   of open channels). Create, reschedule and close are O(log n).
//! - The worker sleeps until the earliest key with an absolute-time futex
//!   wait on CLOCK_MONOTONIC (timer slack 1 ns, a short EEVDF slice) and is
//!   woken early only for new channels and shutdown. It takes at most one
//!   timed wake-up per `min_wake_ns` (50 us by default): a timed wake-up
//!   costs several microseconds of CPU (about 17 us in a Firecracker VM), so
//!   dense deadlines are served in batches, each call at most ~50 us late,
//!   instead of burning a core on wake-ups.
//! - A task returns its next run time. Its deadline never goes backwards
//!   (`deadline = max(asked, previous deadline)`). The heap key is
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

mod sys;

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::clock::monotonic_ns;

/// What a channel runs. `run` gets the current CLOCK_MONOTONIC time and the
/// deadline it was scheduled for (0 for the first call), and returns the
/// next time to run (0: never again). Setting `*err` to non-zero also stops
/// the channel; `Channel::close` then returns that value.
pub trait Task: Send + 'static {
    fn run(&mut self, now_ns: u64, deadline_ns: u64, err: &mut i32) -> u64;
}

impl<F> Task for F
where
    F: FnMut(u64, u64, &mut i32) -> u64 + Send + 'static,
{
    fn run(&mut self, now_ns: u64, deadline_ns: u64, err: &mut i32) -> u64 {
        self(now_ns, deadline_ns, err)
    }
}

/// The error a channel reports when its task panicked (the panic is
/// caught on the worker; the channel stops, the others go on).
pub const TASK_PANICKED: i32 = -libc::ECANCELED;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The scheduler's tables could not grow.
    NoMemory,
    /// The scheduler was shut down.
    Shutdown,
    /// The worker thread could not be started (positive errno).
    Spawn(i32),
}

impl Error {
    /// The negative errno value for this error.
    pub fn to_errno(self) -> i32 {
        match self {
            Error::NoMemory => -libc::ENOMEM,
            Error::Shutdown => -libc::ESHUTDOWN,
            Error::Spawn(e) => -e.abs().max(1),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Free,
    /// Created from another thread, first call not yet run.
    Pending,
    /// Not in the heap (unscheduled, or between calls).
    Idle,
    /// In the heap under `sched_seq`.
    Scheduled,
    /// Its task is running on the worker (the task is out of the slot).
    Running,
    /// Shut down before its first call could run.
    Failed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Closing {
    Open,
    /// Closed from the worker thread while running: the worker frees the
    /// slot when the task returns.
    ByWorker,
    /// A closer on another thread waits for the running task to return.
    Waiting,
}

struct Slot {
    task: Option<Box<dyn Task>>,
    phase: Phase,
    closing: Closing,
    first_done: bool,
    sched_seq: u64,
    deadline: u64,
    err: i32,
}

impl Slot {
    fn vacant() -> Slot {
        Slot {
            task: None,
            phase: Phase::Free,
            closing: Closing::Open,
            first_done: false,
            sched_seq: 0,
            deadline: 0,
            err: 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Entry {
    key: u64,
    seq: u64,
    slot: u32,
}

struct State {
    slots: Vec<Slot>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<Entry>>,
    pending: VecDeque<u32>,
    next_seq: u64,
    open: usize,
    shutdown: bool,
    exited: bool,
    join: Option<JoinHandle<()>>,
    calls: u64,
}

/// Slack kept in the heap beyond twice the open channels.
const HEAP_SLACK: usize = 64;

/// Minimum time between two timed wake-ups of the worker.
/// (RTPSYNTH_PROC_MIN_WAKE_NS overrides it, up to `MAX_MIN_WAKE_NS`.)
pub const DEFAULT_MIN_WAKE_NS: u64 = 50_000;
pub const MAX_MIN_WAKE_NS: u64 = 10_000_000;

/// The EEVDF time slice the worker asks for (best effort).
const WORKER_SLICE_NS: u64 = 100_000;

/// How late a deadline may be and still keep its place in deadline order.
pub const CATCH_UP_WINDOW_NS: u64 = 100_000_000;

impl State {
    fn new() -> State {
        State {
            slots: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            pending: VecDeque::new(),
            next_seq: 1,
            open: 0,
            shutdown: false,
            exited: false,
            join: None,
            calls: 0,
        }
    }

    /// A slot for a new channel (phase Pending), with room reserved in
    /// every table the channel may need later.
    fn alloc(&mut self, task: Box<dyn Task>) -> Result<u32, Error> {
        let nslots = self.slots.len() + usize::from(self.free.is_empty());
        if nslots > u32::MAX as usize {
            return Err(Error::NoMemory);
        }
        let heap_want = 2 * (self.open + 1) + HEAP_SLACK;
        self.heap.try_reserve(heap_want.saturating_sub(self.heap.len())).map_err(|_| Error::NoMemory)?;
        self.free.try_reserve(nslots.saturating_sub(self.free.len())).map_err(|_| Error::NoMemory)?;
        self.pending.try_reserve(1).map_err(|_| Error::NoMemory)?;
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.try_reserve(1).map_err(|_| Error::NoMemory)?;
                self.slots.push(Slot::vacant());
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        *s = Slot::vacant();
        s.task = Some(task);
        s.phase = Phase::Pending;
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
        if self.heap.len() == self.heap.capacity() {
            self.compact();
        }
        self.heap.push(Reverse(Entry { key, seq, slot: idx }));
    }

    fn is_live(&self, e: &Entry) -> bool {
        let s = &self.slots[e.slot as usize];
        s.phase == Phase::Scheduled && s.sched_seq == e.seq
    }

    /// Drop the stale entries of the heap.
    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|Reverse(e)| {
            let s = &slots[e.slot as usize];
            s.phase == Phase::Scheduled && s.sched_seq == e.seq
        });
    }

    /// The earliest live entry (stale ones on top are discarded).
    fn peek_live(&mut self) -> Option<Entry> {
        while let Some(&Reverse(e)) = self.heap.peek() {
            if self.is_live(&e) {
                return Some(e);
            }
            self.heap.pop();
        }
        None
    }

    /// Book-keeping after a task returned. Returns a task to drop outside
    /// the lock, and whether waiters must be woken.
    fn after_call(&mut self, idx: u32, task: Box<dyn Task>, now: u64, ret: u64, err: i32) -> (Option<Box<dyn Task>>, bool) {
        let s = &mut self.slots[idx as usize];
        let first = !s.first_done;
        s.first_done = true;
        s.phase = Phase::Idle;
        s.task = Some(task);
        if err != 0 {
            s.err = err;
        }
        match s.closing {
            Closing::ByWorker => return (self.free_slot(idx), first),
            Closing::Waiting => return (None, true),
            Closing::Open => {}
        }
        if err == 0 && ret != 0 && !self.shutdown {
            let deadline = ret.max(s.deadline);
            s.deadline = deadline;
            self.schedule(idx, deadline.max(now.saturating_sub(CATCH_UP_WINDOW_NS)));
        }
        (None, first)
    }
}

struct Inner {
    state: Mutex<State>,
    /// Creators waiting for a first call and closers waiting for a running
    /// task, and shutdown waiting for the worker to exit.
    cv: Condvar,
    wake: sys::Wake,
    min_wake_ns: u64,
    /// SCHED_FIFO priority to ask for (RTPSYNTH_PROC_RT_PRIORITY).
    rt_priority: Option<i32>,
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
fn run_call(inner: &Inner, g: &mut MutexGuard<'_, State>, idx: u32, deadline: u64, now: Option<u64>) {
    let s = &mut g.slots[idx as usize];
    let Some(mut task) = s.task.take() else {
        // Cannot happen (only the worker runs tasks and it always puts
        // them back); treat as an unscheduled channel.
        s.phase = Phase::Idle;
        s.first_done = true;
        return;
    };
    s.phase = Phase::Running;
    g.calls += 1;
    let (now, ret, err) = MutexGuard::unlocked(g, || {
        let now = now.unwrap_or_else(monotonic_ns);
        let mut err = 0;
        let ret = match catch_unwind(AssertUnwindSafe(|| task.run(now, deadline, &mut err))) {
            Ok(r) => r,
            Err(_) => {
                err = TASK_PANICKED;
                0
            }
        };
        (now, ret, err)
    });
    let (dead, wake) = g.after_call(idx, task, now, ret, err);
    if wake {
        inner.cv.notify_all();
    }
    if dead.is_some() {
        MutexGuard::unlocked(g, || drop(dead));
    }
}

fn worker_loop(inner: &Inner) {
    let mut g = inner.state.lock();
    let mut took_pending = false;
    let mut woke_at = 0u64;
    loop {
        if g.shutdown {
            return;
        }
        // New channels and due timers alternate, so neither starves.
        if !took_pending {
            if let Some(idx) = g.pending.pop_front() {
                took_pending = true;
                run_call(inner, &mut g, idx, 0, None);
                continue;
            }
        }
        took_pending = false;
        let next = g.peek_live();
        let now = monotonic_ns();
        match next {
            Some(e) if e.key <= now => {
                g.heap.pop();
                let s = &mut g.slots[e.slot as usize];
                s.sched_seq = 0;
                s.phase = Phase::Idle;
                let deadline = s.deadline;
                // `now` was read after the entry became due: no second read.
                run_call(inner, &mut g, e.slot, deadline, Some(now));
            }
            _ if !g.pending.is_empty() => {}
            next => {
                let token = inner.wake.prepare();
                // At most one timed wake-up per `min_wake_ns`: deadlines
                // closer together than that are served in one batch.
                let until = next.map(|e| e.key.max(woke_at.saturating_add(inner.min_wake_ns)));
                MutexGuard::unlocked(&mut g, || {
                    inner.wake.sleep_until(token, until);
                    woke_at = monotonic_ns();
                });
            }
        }
    }
}

fn worker_main(inner: Arc<Inner>) {
    sys::set_min_timer_slack();
    match inner.rt_priority {
        Some(prio) if sys::set_fifo_priority(prio) => {}
        _ => sys::request_short_slice(WORKER_SLICE_NS),
    }
    WORKER_OF.with(|w| w.set(Arc::as_ptr(&inner) as usize));
    if catch_unwind(AssertUnwindSafe(|| worker_loop(&inner))).is_err() {
        eprintln!("rtpproc: internal error in the scheduler worker; scheduler shut down");
    }
    let mut dead = Vec::new();
    {
        let mut g = inner.state.lock();
        let st = &mut *g;
        st.shutdown = true;
        st.exited = true;
        st.heap.clear();
        for idx in st.pending.drain(..) {
            st.slots[idx as usize].phase = Phase::Failed;
        }
        for s in st.slots.iter_mut() {
            if matches!(s.phase, Phase::Scheduled | Phase::Running) {
                s.phase = Phase::Idle;
                s.sched_seq = 0;
            }
            if s.phase != Phase::Failed {
                dead.extend(s.task.take());
            }
        }
    }
    inner.cv.notify_all();
    drop(dead);
    WORKER_OF.with(|w| w.set(0));
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// A scheduler with its worker thread. Dropping it shuts it down.
pub struct Proc {
    inner: Arc<Inner>,
}

impl Proc {
    /// Start a scheduler (spawns its worker thread).
    pub fn new() -> Result<Proc, Error> {
        let min_wake_ns = env_u64("RTPSYNTH_PROC_MIN_WAKE_NS").map_or(DEFAULT_MIN_WAKE_NS, |v| v.min(MAX_MIN_WAKE_NS));
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new()),
            cv: Condvar::new(),
            wake: sys::Wake::new(),
            min_wake_ns,
            rt_priority: env_u64("RTPSYNTH_PROC_RT_PRIORITY").filter(|p| (1..=99).contains(p)).map(|p| p as i32),
        });
        let for_worker = inner.clone();
        let h = std::thread::Builder::new()
            .name("rtpproc".into())
            .spawn(move || worker_main(for_worker))
            .map_err(|e| Error::Spawn(e.raw_os_error().unwrap_or(libc::EAGAIN)))?;
        inner.state.lock().join = Some(h);
        Ok(Proc { inner })
    }

    /// Open a channel running `task`. Its first call (deadline 0) has
    /// happened when this returns: on the worker thread, inline when
    /// called from one of this scheduler's tasks.
    pub fn create_channel(&self, task: Box<dyn Task>) -> Result<Channel, Error> {
        let inner = &self.inner;
        let worker = on_worker(inner);
        let mut g = inner.state.lock();
        if g.shutdown {
            return Err(Error::Shutdown);
        }
        let idx = match g.alloc(task) {
            Ok(i) => i,
            Err(e) => {
                return Err(e);
            }
        };
        if worker {
            run_call(inner, &mut g, idx, 0, None);
        } else {
            g.pending.push_back(idx);
            MutexGuard::unlocked(&mut g, || inner.wake.notify());
            while !g.slots[idx as usize].first_done && g.slots[idx as usize].phase != Phase::Failed {
                inner.cv.wait(&mut g);
            }
            if g.slots[idx as usize].phase == Phase::Failed {
                let dead = g.free_slot(idx);
                drop(g);
                drop(dead);
                return Err(Error::Shutdown);
            }
        }
        Ok(Channel { inner: inner.clone(), slot: Some(idx) })
    }

    /// Stop the worker; idempotent. From another thread it returns when no
    /// task runs or will run; from one of this scheduler's tasks it returns
    /// at once and no other task starts after the calling one returns.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        let worker = on_worker(inner);
        let mut g = inner.state.lock();
        g.shutdown = true;
        MutexGuard::unlocked(&mut g, || inner.wake.notify());
        if worker {
            return;
        }
        while !g.exited {
            inner.cv.wait(&mut g);
        }
        let h = g.join.take();
        drop(g);
        if let Some(h) = h {
            let _ = h.join();
        }
    }

    pub fn is_shut_down(&self) -> bool {
        self.inner.state.lock().shutdown
    }

    /// Open channels (not yet closed, whether scheduled or not).
    pub fn open_channels(&self) -> usize {
        self.inner.state.lock().open
    }

    /// Task calls made so far.
    pub fn calls(&self) -> u64 {
        self.inner.state.lock().calls
    }

    /// Entries held by the timer heap, stale ones included (for tests).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.inner.state.lock().heap.len()
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
    /// Close the channel and return the error its task set (or 0). From
    /// another thread, waits for a running call to return: afterwards the
    /// task never runs again. From one of this scheduler's tasks (its own
    /// included) it never waits; a task closing itself finishes its
    /// current call and is never called again.
    pub fn close(mut self) -> i32 {
        match self.slot.take() {
            Some(idx) => close_slot(&self.inner, idx),
            None => 0,
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(idx) = self.slot.take() {
            close_slot(&self.inner, idx);
        }
    }
}

fn close_slot(inner: &Arc<Inner>, idx: u32) -> i32 {
    let worker = on_worker(inner);
    let mut g = inner.state.lock();
    if g.slots[idx as usize].phase == Phase::Running {
        if worker {
            let s = &mut g.slots[idx as usize];
            s.closing = Closing::ByWorker;
            return s.err;
        }
        g.slots[idx as usize].closing = Closing::Waiting;
        while g.slots[idx as usize].phase == Phase::Running {
            inner.cv.wait(&mut g);
        }
    }
    let err = g.slots[idx as usize].err;
    let dead = g.free_slot(idx);
    drop(g);
    drop(dead);
    err
}

#[cfg(test)]
mod tests;
