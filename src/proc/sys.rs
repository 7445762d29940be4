//! The few OS services the scheduler's worker needs: an absolute-time
//! CLOCK_MONOTONIC futex wait, a futex wake, and the thread's timer slack.
//! Linux only (the library targets Linux).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const NS_PER_SEC: u64 = 1_000_000_000;

/// A wake-up word for one sleeping thread: the worker sleeps on it until an
/// absolute CLOCK_MONOTONIC time, other threads bump it to wake it early.
pub(crate) struct Wake {
    word: AtomicU32,
    sleeping: AtomicBool,
}

impl Wake {
    pub(crate) fn new() -> Wake {
        Wake {
            word: AtomicU32::new(0),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Announce that the sleeper is about to sleep and take the token to
    /// pass to `sleep_until`. Call it while holding the lock that guards
    /// the work the sleeper checked, so that any work published after the
    /// check is followed by a `notify` the sleeper cannot miss.
    pub(crate) fn prepare(&self) -> u32 {
        self.sleeping.store(true, Ordering::SeqCst);
        self.word.load(Ordering::SeqCst)
    }

    /// Sleep until `deadline_ns` (CLOCK_MONOTONIC; `None`: no time limit) or
    /// until a `notify` after `prepare` returned `token`. May return early
    /// (spurious wake-ups, signals); callers re-check.
    pub(crate) fn sleep_until(&self, token: u32, deadline_ns: Option<u64>) {
        futex_wait_abs(&self.word, token, deadline_ns);
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Undo `prepare` when the sleeper decides not to sleep after all.
    pub(crate) fn cancel(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Wake the sleeper if it sleeps (cheap when it does not).
    pub(crate) fn notify(&self) {
        self.word.fetch_add(1, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            futex_wake(&self.word);
        }
    }
}

/// Sleep while `*word == expected` (no time limit; may return spuriously).
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32) {
    futex_wait_abs(word, expected, None);
}

/// Wake every thread sleeping on `word`.
pub(crate) fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: as in `futex_wake`: only the address of the live atomic is used.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}

fn futex_wait_abs(word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) {
    // Far deadlines (up to u64::MAX ns, year 2554) stay representable: the
    // seconds fit in time_t; the kernel accepts any non-negative timespec.
    let ts = deadline_ns.map(|d| libc::timespec {
        tv_sec: (d / NS_PER_SEC).min(i64::MAX as u64 / 2) as libc::time_t,
        tv_nsec: (d % NS_PER_SEC) as libc::c_long,
    });
    let tsp: *const libc::timespec = match &ts {
        Some(t) => t,
        None => std::ptr::null(),
    };
    // SAFETY: FUTEX_WAIT_BITSET reads the u32 at `word` (a live atomic we
    // borrow for the whole call) and the optional timespec `tsp` (null or a
    // local that outlives the call); the unused uaddr2 argument is null. With
    // FUTEX_WAIT_BITSET the timeout is an absolute CLOCK_MONOTONIC time.
    // Errors (EAGAIN: the word changed; ETIMEDOUT; EINTR) all mean "return
    // and re-check", which is what the caller does.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            expected,
            tsp,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address of the live atomic `word` as
    // a key; it neither reads nor writes memory through the other arguments.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1i32,
        );
    }
}

/// CPU time the calling thread has used, in ns (0 if it cannot be read).
pub(crate) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, a live local.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(NS_PER_SEC)
        .saturating_add(ts.tv_nsec as u64)
}

/// Set the calling thread's timer slack to 1 ns (the default 50 us would
/// make every timed wake-up up to 50 us late).
pub(crate) fn set_min_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and only changes
    // a property of the calling thread; no memory is passed.
    unsafe {
        libc::prctl(
            libc::PR_SET_TIMERSLACK,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
    }
}

/// `struct sched_attr` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

/// Best effort: ask the fair scheduler (EEVDF, Linux >= 6.12) for a short
/// time slice for the calling thread, so that its wake-ups preempt batch
/// work sooner. Policy, nice value and everything else are kept; on older
/// kernels, other policies or any error nothing changes. Unprivileged.
pub(crate) fn request_short_slice(slice_ns: u64) {
    let mut attr = SchedAttr::default();
    let size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: sched_getattr writes at most `size` bytes into `attr`, a
    // live, writable repr(C) struct of exactly that size (pid 0: this
    // thread; flags must be 0).
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            size,
            0u32,
        )
    };
    if r != 0
        || (attr.sched_policy != libc::SCHED_OTHER as u32
            && attr.sched_policy != libc::SCHED_BATCH as u32)
    {
        return;
    }
    attr.size = size;
    attr.sched_runtime = slice_ns;
    attr.sched_flags = 0;
    // SAFETY: sched_setattr only reads `attr` (pid 0: this thread); it holds
    // the thread's own current policy and nice value with a new slice.
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0u32) };
}

/// Best effort: switch the calling thread to SCHED_FIFO at `priority`
/// (1..=99). Needs CAP_SYS_NICE or an RLIMIT_RTPRIO allowance; returns
/// whether it worked.
pub(crate) fn set_fifo_priority(priority: i32) -> bool {
    let param = libc::sched_param {
        sched_priority: priority.clamp(1, 99),
    };
    // SAFETY: pthread_self() is the calling thread; `param` is a live,
    // initialized sched_param that the call only reads.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::monotonic_ns;
    use std::sync::Arc;

    #[test]
    fn sleeps_until_absolute_deadline() {
        set_min_timer_slack();
        request_short_slice(100_000);
        let w = Wake::new();
        let t0 = monotonic_ns();
        let dl = t0 + 20_000_000;
        let tok = w.prepare();
        let mut waits = 0;
        while monotonic_ns() < dl {
            w.sleep_until(tok, Some(dl));
            waits += 1;
            assert!(waits <= 5, "timed waits return before their deadline");
        }
        assert!(monotonic_ns() >= dl);
    }

    /// A bound for the waits below that only a lost wake-up reaches.
    const LOST_NS: u64 = 10_000_000_000;

    #[test]
    fn notify_wakes_sleeper() {
        let w = Arc::new(Wake::new());
        let w2 = w.clone();
        let tok = w.prepare();
        let h = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            w2.notify();
        });
        let t0 = monotonic_ns();
        let limit = t0 + LOST_NS;
        // Spurious returns are allowed: wait again until the word changed.
        while w.word.load(Ordering::SeqCst) == tok && monotonic_ns() < limit {
            w.sleep_until(tok, Some(limit));
        }
        let waited = monotonic_ns() - t0;
        h.join().unwrap();
        assert_ne!(w.word.load(Ordering::SeqCst), tok, "never notified");
        assert!(waited < LOST_NS, "the notify did not wake the sleeper");
    }

    #[test]
    fn notify_before_sleep_is_not_lost() {
        let w = Wake::new();
        let tok = w.prepare();
        w.notify();
        let t0 = monotonic_ns();
        w.sleep_until(tok, Some(t0 + LOST_NS)); // returns at once: the word changed
        assert!(
            monotonic_ns() - t0 < LOST_NS / 2,
            "the early notify was lost"
        );
    }
}
