/*
 * rtpproc.h - periodic processing scheduler (the original's RtpProc as a C
 * API): one worker thread calls each channel's callback at the
 * CLOCK_MONOTONIC times the callback asks for; the clock that paces RTP
 * sending and playout for thousands of channels.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Callbacks. A channel's callback
 *     uint64_t cb(void *arg, uint64_t now_ns, uint64_t deadline_ns, int *err);
 * runs on the scheduler's worker thread, never two at a time (one worker
 * per scheduler, so callbacks of one scheduler need no locking among
 * themselves). `arg` is passed through untouched; it must stay usable from
 * the worker thread until rtpproc_chan_close() of the channel returns.
 *  - The first call happens before rtpproc_create_channel() returns, with
 *    deadline_ns == 0. Later calls may run before it returns too.
 *  - now_ns is a CLOCK_MONOTONIC reading taken after the call became due;
 *    every call has now_ns >= deadline_ns (no call ever runs early), and
 *    now_ns never goes backwards from one call to the next. Calls due at
 *    the same wake-up share one reading (at most 32 calls per reading), so
 *    now_ns may trail the true time by what the earlier callbacks of the
 *    same batch took to run.
 *  - The return value is the next time to run (CLOCK_MONOTONIC ns).
 *    `base + period` with `base = deadline_ns ? deadline_ns : now_ns` keeps
 *    a period without drift. Returning 0 stops the channel for good: it is
 *    never called again, but stays open until closed.
 *  - Setting *err (0 on entry) to a non-zero value also stops the channel;
 *    that value is what rtpproc_chan_close() returns later.
 *  - Deadlines of a channel never go backwards: a time earlier than the
 *    channel's previous deadline is taken as that deadline.
 *  - Due channels run in deadline order (ties: in the order they were
 *    scheduled). A slow callback delays the others but makes the scheduler
 *    neither skip nor reorder their deadlines: every late call still
 *    happens, with its own deadline_ns, earliest first.
 *  - A time already past is due at once, with deadline_ns = the time asked
 *    for, so a late channel catches up. Lateness up to 100 ms keeps strict
 *    deadline order; a channel more than 100 ms behind (say, one that keeps
 *    asking for times long past) is queued as if it were 100 ms late, so it
 *    delays the others by at most that instead of starving them.
 *  - UINT64_MAX (or any time far ahead) effectively means never.
 * A callback may call rtpproc_create_channel() (the new channel's first
 * call then runs inline, before create returns), rtpproc_chan_close() on
 * any channel of its scheduler, its own included, and rtpproc_shutdown().
 * It must not wait for another thread that is itself blocked in
 * rtpproc_create_channel() or rtpproc_chan_close() of the same scheduler
 * (those wait for the worker), and two schedulers' callbacks must not
 * create or close channels of each other's scheduler at the same time
 * (each worker would wait for the other).
 *
 * Precision. The worker sleeps until the earliest deadline with an
 * absolute-time CLOCK_MONOTONIC futex wait and a 1 ns timer slack, and is
 * woken early only for creates and closes from other threads and for
 * shutdown; it shares no lock with other threads that it could have to
 * wait for while a deadline is due. It asks Linux (6.12 and
 * later) for a short 100 us scheduling slice so that its wake-ups preempt
 * batch work sooner (best effort, unprivileged; policy and nice value are
 * kept). A timed wake-up costs several microseconds of CPU (much more in
 * some VMs), so the worker takes at most one per window of 50 us:
 * deadlines closer together than that are served in one batch, each up to
 * ~50 us late, while an isolated deadline is served as soon as the kernel
 * wakes the worker. Optionally (off by default), while the worker uses
 * more than 12 % of a core (dense deadlines, e.g. 10,000 channels at
 * 20 ms) the window widens up to RTPSYNTH_PROC_MAX_WAKE_NS so that the
 * worker stays a light sleeper (calls then up to that late), and it
 * narrows back when the load goes. Environment variables, read by
 * rtpproc_ctor() and by the rtpproc_get() call that starts the singleton:
 *   RTPSYNTH_PROC_MIN_WAKE_NS   the window in ns (default 50000; 0: wake
 *                               for every deadline; at most 1 ms);
 *   RTPSYNTH_PROC_MAX_WAKE_NS   the widest the window may grow under load,
 *                               in ns (at most 1 ms); unset, 0 or not above
 *                               the window: never widen (the default);
 *   RTPSYNTH_PROC_RT_PRIORITY   1..99: run the worker SCHED_FIFO at that
 *                               priority if the process may (CAP_SYS_NICE
 *                               or RLIMIT_RTPRIO); on a busy machine this is
 *                               what keeps the worker from being preempted
 *                               for milliseconds by other processes.
 * create and close are O(1) amortised; a reschedule is O(1) for deadlines
 * up to ~268 ms ahead, O(log n) in the number of channels beyond.
 *
 * Threads. All functions may be called from any thread, including from
 * callbacks, except rtpproc_dtor(), which must not race with other calls
 * on the same scheduler (rtpproc_shutdown() may). From a thread other than
 * the worker, create and close are handed to the worker, which serves them
 * between callbacks: they take at least a thread round trip, longer while
 * a callback runs. A channel handle is closed exactly once; it is not used
 * concurrently with its close.
 *
 * Errors are negative errno values (see rtpsynth_strerror()):
 *   -EINVAL     NULL scheduler, NULL callback, NULL channel handle;
 *   -ENOMEM     the scheduler's tables could not grow;
 *   -ESHUTDOWN  the scheduler was shut down;
 *   -EAGAIN     (rtpproc_ctor) the worker thread could not be started.
 */
#ifndef RTPSYNTH_RTPPROC_H
#define RTPSYNTH_RTPPROC_H
#pragma once

#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rtpproc;         /* opaque: a scheduler and its worker thread */
struct rtpproc_chan;    /* opaque: one channel of a scheduler */

typedef uint64_t (*rtpproc_cb_t)(void *arg, uint64_t now_ns,
    uint64_t deadline_ns, int *err);

/*
 * The process-wide scheduler, started lazily (thread-safe) on the first
 * call; every call returns the same pointer. It is never destroyed:
 * rtpproc_dtor() ignores it; rtpproc_shutdown() stops it for good (later
 * creates on it fail with -ESHUTDOWN). NULL only if its worker thread
 * could not be started (a later call tries again).
 */
struct rtpproc *rtpproc_get(void);

/*
 * A private scheduler with its own worker thread. Release it with
 * rtpproc_dtor(). NULL on failure, with *err (when err != NULL) set to
 * -EAGAIN or -ENOMEM; *err is 0 on success.
 */
struct rtpproc *rtpproc_ctor(int *err);

/*
 * Open a channel on scheduler p and run cb(arg, now, 0, &e) once before
 * returning: from another thread the first call runs on the worker while
 * this function waits; from a callback of p it runs inline. Returns the
 * channel handle (still open even if that first call stopped it: close it
 * with rtpproc_chan_close()), or NULL with *err (when err != NULL) set to
 * -EINVAL (p or cb NULL), -ESHUTDOWN (p shut down, also when the shutdown
 * happens while waiting for the first call) or -ENOMEM; *err is 0 on
 * success.
 */
struct rtpproc_chan *rtpproc_create_channel(struct rtpproc *p,
    rtpproc_cb_t cb, void *arg, int *err);

/*
 * Close a channel and free its handle. Returns the non-zero value its
 * callback stored in *err, or 0; -EINVAL for a NULL handle.
 *  - From any thread but p's worker: synchronous. If the callback is
 *    running, waits for it to return; afterwards the callback is not
 *    running and never runs again, and arg may be released.
 *  - From a callback of the same scheduler (the channel's own callback, or
 *    another channel's): never waits. A callback closing its own channel
 *    finishes its current call (its return value and any *err set after the
 *    close are ignored) and is never called again; the value returned is
 *    the error stored by earlier calls (so 0).
 *  - After rtpproc_shutdown() (or rtpproc_dtor() of a private scheduler):
 *    local only, still returns the callback's error or 0.
 */
int rtpproc_chan_close(struct rtpproc_chan *ch);

/*
 * Stop scheduler p: idempotent and synchronous. When it returns from any
 * thread but p's worker, no callback of p runs or will ever run; from a
 * callback of p it returns at once and no other callback starts after the
 * calling one returns. Afterwards rtpproc_create_channel() fails with
 * -ESHUTDOWN and rtpproc_chan_close() is local. Channel handles stay valid
 * until closed. NULL is ignored.
 */
void rtpproc_shutdown(struct rtpproc *p);

/*
 * Shut down (as rtpproc_shutdown) and free a private scheduler from
 * rtpproc_ctor(). Its channels may be closed before or after. NULL and the
 * singleton from rtpproc_get() are ignored (the singleton is never freed).
 */
void rtpproc_dtor(struct rtpproc *p);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPPROC_H */
