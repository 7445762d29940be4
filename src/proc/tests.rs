use super::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

const MS: u64 = 1_000_000;

fn wait_for(mut f: impl FnMut() -> bool, timeout_ms: u64) -> bool {
    let end = monotonic_ns() + timeout_ms * MS;
    while monotonic_ns() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

type Log = Arc<Mutex<Vec<(u64, u64)>>>;

fn periodic(log: Log, period: u64, max_calls: usize) -> Box<dyn Task> {
    Box::new(move |now: u64, deadline: u64| {
        let mut l = log.lock();
        l.push((now, deadline));
        if l.len() >= max_calls {
            return Ok(0);
        }
        Ok((if deadline == 0 { now } else { deadline }) + period)
    })
}

#[test]
fn first_call_before_create_returns_then_periodic() {
    let p = Proc::new().unwrap();
    let log: Log = Arc::default();
    let ch = p
        .create_channel(periodic(log.clone(), 5 * MS, usize::MAX))
        .unwrap();
    {
        let l = log.lock();
        assert!(!l.is_empty());
        assert_eq!(l[0].1, 0);
    }
    assert!(wait_for(|| log.lock().len() >= 6, 5000));
    assert_eq!(ch.close(), Ok(()));
    let l = log.lock().clone();
    let n = l.len();
    for w in l.windows(2) {
        assert!(w[0].0 <= w[1].0);
        assert!(w[0].1 <= w[1].1);
    }
    for (i, &(now, dl)) in l.iter().enumerate() {
        assert!(now >= dl);
        if i >= 1 {
            // no drift: deadlines are exactly first_now + i * period
            assert_eq!(dl, l[0].0 + i as u64 * 5 * MS);
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(log.lock().len(), n, "called after close");
}

#[test]
fn zero_unschedules_and_err_is_reported() {
    let p = Proc::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let ch = p
        .create_channel(Box::new(move |_n: u64, _d: u64| {
            c2.fetch_add(1, Ordering::SeqCst);
            Ok(0)
        }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(ch.close(), Ok(()));

    let c3 = Arc::new(AtomicUsize::new(0));
    let c4 = c3.clone();
    let ch = p
        .create_channel(Box::new(move |now: u64, _d: u64| {
            if c4.fetch_add(1, Ordering::SeqCst) == 2 {
                return Err(TaskError::Failed(-libc::EIO));
            }
            Ok(now + MS)
        }))
        .unwrap();
    assert!(wait_for(|| c3.load(Ordering::SeqCst) >= 3, 5000));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c3.load(Ordering::SeqCst), 3);
    assert_eq!(ch.close(), Err(TaskError::Failed(-libc::EIO)));
    assert_eq!(p.open_channels(), 0);
}

#[test]
fn close_from_own_task_and_from_another() {
    let p = Arc::new(Proc::new().unwrap());
    // A task that closes itself on its third call.
    let slot: Arc<Mutex<Option<Channel>>> = Arc::default();
    let s2 = slot.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    // What the self-close returned, checked here: an assert inside the
    // task would only stop the task (the worker catches the panic).
    // The handle reaches the slot only after create_channel returns, which
    // a loaded machine may delay past the third call: the task closes
    // itself on the first call from the third on that finds it.
    let closed_self: Arc<Mutex<Option<(Closed, usize)>>> = Arc::default();
    let cs2 = closed_self.clone();
    let ch = p
        .create_channel(Box::new(move |now: u64, _d: u64| {
            let n = c2.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= 3 {
                let me = s2.lock().take();
                if let Some(me) = me {
                    *cs2.lock() = Some((me.close(), n));
                }
            }
            Ok(now + MS)
        }))
        .unwrap();
    *slot.lock() = Some(ch);
    assert!(wait_for(|| closed_self.lock().is_some(), 5000));
    std::thread::sleep(Duration::from_millis(20));
    let (closed, at) = closed_self.lock().take().unwrap();
    assert_eq!(closed, Ok(()));
    assert!(at >= 3);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        at,
        "called after closing itself"
    );
    assert!(wait_for(|| p.open_channels() == 0, 1000));

    // A task that closes a victim channel.
    let victim_calls = Arc::new(AtomicUsize::new(0));
    let v2 = victim_calls.clone();
    let victim = p
        .create_channel(Box::new(move |now: u64, _d: u64| {
            if v2.fetch_add(1, Ordering::SeqCst) == 1 {
                return Err(TaskError::Failed(-libc::EBADMSG));
            }
            Ok(now + MS)
        }))
        .unwrap();
    assert!(wait_for(|| victim_calls.load(Ordering::SeqCst) >= 2, 5000));
    let vslot = Arc::new(Mutex::new(Some(victim)));
    let (tx, rx) = mpsc::channel();
    let killer = p
        .create_channel(Box::new(move |now: u64, d: u64| {
            if d != 0 {
                if let Some(v) = vslot.lock().take() {
                    tx.send(v.close()).unwrap();
                }
                return Ok(0);
            }
            Ok(now + MS)
        }))
        .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err(TaskError::Failed(-libc::EBADMSG))
    );
    assert_eq!(killer.close(), Ok(()));
    assert_eq!(p.open_channels(), 0);
}

#[test]
fn create_from_task_runs_first_call_inline() {
    let p = Arc::new(Proc::new().unwrap());
    let p2 = p.clone();
    let made: Arc<Mutex<Vec<Channel>>> = Arc::default();
    let m2 = made.clone();
    let (tx, rx) = mpsc::channel();
    let parent = p
        .create_channel(Box::new(move |_now: u64, d: u64| {
            if d == 0 {
                return Ok(monotonic_ns() + MS);
            }
            let flag = Arc::new(AtomicUsize::new(0));
            let f2 = flag.clone();
            let child = p2
                .create_channel(Box::new(move |_n: u64, d: u64| {
                    assert_eq!(d, 0);
                    f2.fetch_add(1, Ordering::SeqCst);
                    Ok(0)
                }))
                .unwrap();
            tx.send(flag.load(Ordering::SeqCst)).unwrap();
            m2.lock().push(child);
            Ok(0)
        }))
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
    assert_eq!(parent.close(), Ok(()));
    let children = std::mem::take(&mut *made.lock());
    for c in children {
        assert_eq!(c.close(), Ok(()), "the child's assert failed");
    }
    assert_eq!(p.open_channels(), 0);
    // Closing a proc held by its own task: drop the Arc from outside.
    drop(p);
}

#[test]
fn shutdown_refuses_creates_and_close_stays_local() {
    let p = Proc::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let ch = p
        .create_channel(Box::new(move |now: u64, _d: u64| {
            if c2.fetch_add(1, Ordering::SeqCst) == 1 {
                return Err(TaskError::Failed(-libc::ERANGE));
            }
            Ok(now + MS)
        }))
        .unwrap();
    let ch2 = p
        .create_channel(periodic(Arc::default(), MS, usize::MAX))
        .unwrap();
    assert!(wait_for(|| calls.load(Ordering::SeqCst) >= 2, 5000));
    p.shutdown();
    p.shutdown();
    assert!(p.is_shut_down());
    let n = p.calls();
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(p.calls(), n);
    assert_eq!(
        p.create_channel(periodic(Arc::default(), MS, 1)).err(),
        Some(Error::Shutdown)
    );
    assert_eq!(ch.close(), Err(TaskError::Failed(-libc::ERANGE)));
    drop(p); // channels may outlive the scheduler
    assert_eq!(ch2.close(), Ok(()));
}

#[test]
fn past_deadlines_run_at_once_without_starving_others() {
    let p = Proc::new().unwrap();
    let hog_calls = Arc::new(AtomicU64::new(0));
    let h2 = hog_calls.clone();
    // Always asks for time 1: runs again and again, with deadline 1.
    let hog = p
        .create_channel(Box::new(move |now: u64, d: u64| {
            assert!(now >= d);
            if h2.fetch_add(1, Ordering::SeqCst) > 0 {
                assert_eq!(d, 1);
            }
            Ok(1)
        }))
        .unwrap();
    let log: Log = Arc::default();
    let other = p.create_channel(periodic(log.clone(), 2 * MS, 10)).unwrap();
    assert!(
        wait_for(|| log.lock().len() >= 10, 5000),
        "periodic channel starved"
    );
    assert!(hog_calls.load(Ordering::SeqCst) > 10);
    assert_eq!(hog.close(), Ok(()));
    assert_eq!(other.close(), Ok(()));
}

#[test]
fn deadlines_never_go_backwards_and_far_future_never_runs() {
    let p = Proc::new().unwrap();
    let log: Log = Arc::default();
    let l2 = log.clone();
    // Asks for a far time, then for earlier and earlier ones.
    let ch = p
        .create_channel(Box::new(move |now: u64, d: u64| {
            let mut l = l2.lock();
            l.push((now, d));
            Ok(match l.len() {
                1 => now + MS,
                2 => d - 1, // earlier than its own deadline
                3 => 5,
                _ => 0,
            })
        }))
        .unwrap();
    assert!(wait_for(|| log.lock().len() >= 4, 5000));
    let l = log.lock().clone();
    assert_eq!(l[2].1, l[1].1);
    assert_eq!(l[3].1, l[1].1);
    assert_eq!(ch.close(), Ok(()));

    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let never = p
        .create_channel(Box::new(move |_n: u64, _d: u64| {
            c2.fetch_add(1, Ordering::SeqCst);
            Ok(u64::MAX)
        }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(never.close(), Ok(()));
}

#[test]
fn heap_stays_bounded_under_churn() {
    let p = Proc::new().unwrap();
    for _ in 0..20 {
        let chans: Vec<_> = (0..200)
            .map(|_| {
                p.create_channel(Box::new(|_n: u64, _d: u64| Ok(u64::MAX)))
                    .unwrap()
            })
            .collect();
        for c in chans {
            assert_eq!(c.close(), Ok(()));
        }
    }
    // 4000 channels were scheduled at u64::MAX and closed; stale entries
    // are compacted away.
    assert!(
        p.heap_len() <= 2 * 200 + HEAP_SLACK + 2,
        "heap holds {}",
        p.heap_len()
    );
    assert_eq!(p.open_channels(), 0);
}

#[test]
fn panicking_task_stops_only_itself() {
    let p = Proc::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let bad = p
        .create_channel(Box::new(move |now: u64, _d: u64| {
            if c2.fetch_add(1, Ordering::SeqCst) == 1 {
                panic!("task failure (expected by the test)");
            }
            Ok(now + MS)
        }))
        .unwrap();
    let log: Log = Arc::default();
    let good = p.create_channel(periodic(log.clone(), MS, 5)).unwrap();
    assert!(wait_for(|| log.lock().len() >= 5, 5000));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(bad.close(), Err(TaskError::Panicked));
    assert_eq!(good.close(), Ok(()));
}

/// Returns None when creating the channels overran the planned start (a
/// loaded machine), which would make the order check meaningless.
fn run_slow_task_order(margin_ms: u64) -> Option<Vec<(u64, u64)>> {
    let p = Proc::new().unwrap();
    let order: Log = Arc::default();
    let t0 = monotonic_ns() + margin_ms * MS;
    let mut chans = Vec::new();
    for i in 0..20u64 {
        let o = order.clone();
        let mut n = 0;
        chans.push(
            p.create_channel(Box::new(move |now: u64, d: u64| {
                if d != 0 {
                    o.lock().push((d, now));
                    n += 1;
                    if i == 0 && n == 1 {
                        std::thread::sleep(Duration::from_millis(15));
                    }
                    if n >= 10 {
                        return Ok(0);
                    }
                    // two periods, so that catching up interleaves them
                    return Ok(d + if i % 3 == 0 { 3 * MS } else { MS });
                }
                Ok(t0 + i * 100_000)
            }))
            .unwrap(),
        );
    }
    let created_in_time = monotonic_ns() < t0;
    assert!(wait_for(|| order.lock().len() >= 200, 5000));
    for c in chans {
        assert_eq!(c.close(), Ok(()));
    }
    let o = order.lock().clone();
    created_in_time.then_some(o)
}

#[test]
fn slow_task_does_not_reorder_others() {
    for margin in [20, 100, 500] {
        if let Some(o) = run_slow_task_order(margin) {
            for w in o.windows(2) {
                assert!(w[0].0 <= w[1].0, "out of deadline order: {:?}", w);
            }
            assert!(
                o.iter().any(|&(d, now)| now - d >= 14 * MS),
                "the slow task delayed nobody"
            );
            return;
        }
    }
    panic!("could not create 20 channels within 500 ms");
}

#[test]
fn concurrent_creates_and_closes() {
    let p = Arc::new(Proc::new().unwrap());
    let total = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let p = p.clone();
            let total = total.clone();
            std::thread::spawn(move || {
                let mut open = Vec::new();
                for i in 0..500u64 {
                    let tt = total.clone();
                    let c = p
                        .create_channel(Box::new(move |now: u64, d: u64| {
                            assert!(now >= d);
                            tt.fetch_add(1, Ordering::Relaxed);
                            Ok(now + (i % 7) * 100_000)
                        }))
                        .unwrap();
                    open.push(c);
                    if (i + t) % 3 == 0 {
                        let c = open.swap_remove(0);
                        assert_eq!(c.close(), Ok(()));
                    }
                }
                for c in open {
                    assert_eq!(c.close(), Ok(()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(total.load(Ordering::Relaxed) >= 2000);
    assert_eq!(p.open_channels(), 0);
}

#[test]
fn shutdown_with_waiting_creators_fails_them() {
    // A slow first task keeps the worker busy while other threads create;
    // shutting down meanwhile fails the queued creations cleanly.
    let p = Arc::new(Proc::new().unwrap());
    let _slow = p
        .create_channel(Box::new(|now: u64, d: u64| {
            if d != 0 {
                std::thread::sleep(Duration::from_millis(50));
                return Ok(0);
            }
            Ok(now + MS)
        }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let creators: Vec<_> = (0..3)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                p.create_channel(Box::new(|_n: u64, _d: u64| Ok(0)))
                    .map(|c| c.close())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(10));
    p.shutdown();
    for c in creators {
        match c.join().unwrap() {
            Ok(Ok(())) | Err(Error::Shutdown) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn shutdown_from_task() {
    let p = Arc::new(Proc::new().unwrap());
    let p2 = p.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let ch = p
        .create_channel(Box::new(move |now: u64, d: u64| {
            c2.fetch_add(1, Ordering::SeqCst);
            if d != 0 {
                p2.shutdown();
                assert_eq!(
                    p2.create_channel(Box::new(|_n: u64, _d: u64| Ok(0))).err(),
                    Some(Error::Shutdown)
                );
            }
            Ok(now + MS)
        }))
        .unwrap();
    assert!(wait_for(|| p.is_shut_down(), 5000));
    p.shutdown(); // waits for the worker to exit
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(ch.close(), Ok(()));
}

#[test]
fn closes_racing_shutdown_are_served_or_done_locally() {
    for round in 0..5 {
        let p = Arc::new(Proc::new().unwrap());
        let chans: Vec<_> = (0..200)
            .map(|i| {
                p.create_channel(Box::new(move |now: u64, d: u64| {
                    if d != 0 && i % 2 == 1 {
                        return Err(TaskError::Failed(-libc::EIO));
                    }
                    Ok(now + 100_000)
                }))
                .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(2));
        let closer = std::thread::spawn(move || {
            let mut errs = Vec::new();
            for (i, c) in chans.into_iter().enumerate() {
                errs.push((i, c.close()));
            }
            errs
        });
        std::thread::sleep(Duration::from_micros(200 * round));
        p.shutdown();
        for (i, e) in closer.join().unwrap() {
            // odd channels failed on their second call (if it happened
            // before the close); even ones never fail
            assert!(
                e.is_ok() || (i % 2 == 1 && e == Err(TaskError::Failed(-libc::EIO))),
                "channel {i}: {e:?}"
            );
        }
        assert_eq!(p.open_channels(), 0);
    }
}

#[test]
fn errors_describe_themselves() {
    assert_eq!(Error::Shutdown.to_string(), "scheduler is shut down");
    assert!(Error::Spawn(libc::EAGAIN)
        .to_string()
        .contains("scheduler thread"));
    assert_eq!(
        TaskError::Failed(-5).to_string(),
        "task stopped with error -5"
    );
    assert_eq!(TaskError::Panicked.to_string(), "task panicked");
}

/// Dense deadlines are served in batches that share one clock reading: no
/// call runs before its deadline, the readings never go backwards across
/// calls, deadlines run in global order and each channel's in its own
/// order, and no more than `BATCH_CALLS` consecutive calls share a reading.
#[test]
fn batched_calls_share_a_reading_but_never_run_early_or_reorder() {
    const N: usize = 64;
    const CALLS: usize = 20;
    let p = Proc::new().unwrap();
    let glog: Arc<Mutex<Vec<(usize, u64, u64)>>> = Arc::default();
    let t0 = monotonic_ns() + 50 * MS;
    let mut chans = Vec::new();
    for i in 0..N {
        let glog = glog.clone();
        let mut n = 0usize;
        // 64 channels, deadlines 1 us apart: a whole period fits one wake-up.
        let start = t0 + i as u64 * 1_000;
        chans.push(
            p.create_channel(Box::new(move |now: u64, deadline: u64| {
                if deadline == 0 {
                    return Ok(start);
                }
                glog.lock().push((i, now, deadline));
                n += 1;
                Ok(if n >= CALLS { 0 } else { deadline + 2 * MS })
            }))
            .unwrap(),
        );
    }
    assert!(wait_for(|| glog.lock().len() >= N * CALLS, 20_000));
    for c in chans {
        assert_eq!(c.close(), Ok(()));
    }
    let l = glog.lock().clone();
    assert_eq!(l.len(), N * CALLS);
    let mut last_dl = vec![0u64; N];
    let mut shared = 1u32;
    for (k, &(ch, now, dl)) in l.iter().enumerate() {
        assert!(now >= dl, "call ran before its deadline");
        assert!(dl > last_dl[ch], "a channel's calls were reordered");
        last_dl[ch] = dl;
        if k > 0 {
            let (_, pnow, pdl) = l[k - 1];
            assert!(now >= pnow, "clock readings went backwards");
            assert!(dl >= pdl, "deadlines out of global order");
            shared = if now == pnow { shared + 1 } else { 1 };
            assert!(shared <= BATCH_CALLS, "a reading shared by too many calls");
        }
    }
}

#[test]
fn window_widens_over_cpu_budget_and_narrows_back() {
    let mut w = Window::new(50_000, 150_000);
    let (mut wall, mut cpu) = (w.since_wall, w.since_cpu);
    // 30 % of a core: widens step by step up to the cap
    for _ in 0..20 {
        wall += ADAPT_PERIOD_NS;
        cpu += ADAPT_PERIOD_NS * 3 / 10;
        w.update(wall, cpu);
        assert!(w.cur >= 50_000 && w.cur <= 150_000);
    }
    assert_eq!(w.cur, 150_000);
    // within budget but above half of it: unchanged
    wall += ADAPT_PERIOD_NS;
    cpu += ADAPT_PERIOD_NS * CPU_BUDGET_PERMILLE * 3 / 4 / 1000;
    w.update(wall, cpu);
    assert_eq!(w.cur, 150_000);
    // idle: back to the configured minimum, never below it
    for _ in 0..30 {
        wall += ADAPT_PERIOD_NS;
        cpu += ADAPT_PERIOD_NS / 100;
        w.update(wall, cpu);
    }
    assert_eq!(w.cur, 50_000);
    // 0 (wake for every deadline) never widens
    let mut z = Window::new(0, 150_000);
    z.update(
        z.since_wall + ADAPT_PERIOD_NS,
        z.since_cpu + ADAPT_PERIOD_NS,
    );
    assert_eq!(z.cur, 0);
    // the default (no max_wake_ns) never widens: round 1's bound holds
    let d = ProcConfig::default();
    let mut n = Window::new(d.min_wake_ns, d.max_wake_ns);
    for _ in 0..10 {
        let (wall, cpu) = (
            n.since_wall + ADAPT_PERIOD_NS,
            n.since_cpu + ADAPT_PERIOD_NS,
        );
        n.update(wall, cpu);
        assert_eq!(n.cur, DEFAULT_MIN_WAKE_NS);
    }
}

#[test]
fn create_close_storm_while_calls_are_due_keeps_order_and_closes() {
    // 64 periodic channels at 1 ms, all due in the same few wheel ticks,
    // while another thread creates and closes 1,000 channels whose
    // deadlines land in the same ticks (closed inside a bucket, before or
    // after coming due). The periodic ones keep every deadline in order and
    // never run early; a closed channel is never called after its close.
    let p = Arc::new(Proc::new().unwrap());
    let base = monotonic_ns() + 20 * MS;
    let mut logs = Vec::new();
    let mut chans = Vec::new();
    for i in 0..64u64 {
        let log: Log = Arc::default();
        let l2 = log.clone();
        let ch = p
            .create_channel(Box::new(move |now: u64, deadline: u64| {
                l2.lock().push((now, deadline));
                Ok(if deadline == 0 {
                    base + i * 1000
                } else {
                    deadline + MS
                })
            }))
            .unwrap();
        logs.push(log);
        chans.push(ch);
    }
    let storm_p = p.clone();
    let storm = std::thread::spawn(move || {
        let after_close = Arc::new(AtomicUsize::new(0));
        for k in 0..1000u64 {
            let closed = Arc::new(AtomicBool::new(false));
            let c2 = closed.clone();
            let ac = after_close.clone();
            let ch = storm_p
                .create_channel(Box::new(move |now: u64, _d: u64| {
                    if c2.load(Ordering::SeqCst) {
                        ac.fetch_add(1, Ordering::SeqCst);
                    }
                    // same ticks as the periodic channels, some already due
                    Ok(now + (k % 3) * 20_000)
                }))
                .unwrap();
            if k % 7 == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
            assert_eq!(ch.close(), Ok(()));
            closed.store(true, Ordering::SeqCst);
        }
        after_close.load(Ordering::SeqCst)
    });
    let called_after_close = storm.join().unwrap();
    assert!(wait_for(
        || logs.iter().all(|l| l.lock().len() >= 30),
        10_000
    ));
    for ch in chans {
        assert_eq!(ch.close(), Ok(()));
    }
    assert_eq!(called_after_close, 0, "a closed channel was called");
    for (i, log) in logs.iter().enumerate() {
        let l = log.lock();
        assert_eq!(l[0].1, 0);
        for (j, &(now, dl)) in l.iter().enumerate().skip(1) {
            assert!(now >= dl, "ran early");
            assert_eq!(dl, base + i as u64 * 1000 + (j as u64 - 1) * MS);
        }
    }
    assert_eq!(p.open_channels(), 0);
    assert!(p.heap_len() <= 2 * 64 + HEAP_SLACK + 2);
}

#[test]
fn far_future_and_beyond_horizon_deadlines_run_in_order() {
    // Deadlines beyond the wheel's ~268 ms horizon wait in its overflow
    // heap; they still run in deadline order, never early.
    let p = Proc::new().unwrap();
    let log: Arc<Mutex<Vec<(u32, u64, u64)>>> = Arc::default();
    let base = monotonic_ns();
    let mut chans = Vec::new();
    for i in 0..4u32 {
        let l2 = log.clone();
        // 400, 300, 600 and 290 ms ahead: past the horizon, out of order
        let at = base + [400, 300, 600, 290][i as usize] * MS;
        chans.push(
            p.create_channel(Box::new(move |now: u64, dl: u64| {
                if dl == 0 {
                    return Ok(at);
                }
                l2.lock().push((i, now, dl));
                Ok(0)
            }))
            .unwrap(),
        );
    }
    assert!(wait_for(|| log.lock().len() == 4, 10_000));
    let l = log.lock().clone();
    let order: Vec<u32> = l.iter().map(|e| e.0).collect();
    assert_eq!(order, vec![3, 1, 0, 2]);
    for &(_, now, dl) in &l {
        assert!(now >= dl);
    }
    for ch in chans {
        assert_eq!(ch.close(), Ok(()));
    }
}

/// What the idle hook of `idle_hook_runs_on_the_worker_before_sleeping_and_at_exit`
/// saw: calls on the worker thread, and calls from any other thread.
static HOOK_ON_WORKER: AtomicUsize = AtomicUsize::new(0);
static HOOK_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);
/// Set by the test's task while it runs: a hook call then is a bug.
static TASK_RUNNING: AtomicUsize = AtomicUsize::new(0);
static HOOK_DURING_TASK: AtomicUsize = AtomicUsize::new(0);

fn counting_hook() {
    if std::thread::current().name() == Some("rtpproc") {
        HOOK_ON_WORKER.fetch_add(1, Ordering::SeqCst);
    } else {
        HOOK_ELSEWHERE.fetch_add(1, Ordering::SeqCst);
    }
    if TASK_RUNNING.load(Ordering::SeqCst) != 0 {
        HOOK_DURING_TASK.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn idle_hook_runs_on_the_worker_before_sleeping_and_at_exit() {
    let p = Proc::with_config(ProcConfig {
        idle_hook: Some(counting_hook),
        ..ProcConfig::default()
    })
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let ch = p
        .create_channel(Box::new(move |now: u64, _deadline: u64| {
            TASK_RUNNING.store(1, Ordering::SeqCst);
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            TASK_RUNNING.store(0, Ordering::SeqCst);
            // Five calls 2 ms apart: the worker sleeps between them.
            Ok(if n >= 5 { 0 } else { now + 2 * MS })
        }))
        .unwrap();
    assert!(wait_for(|| calls.load(Ordering::SeqCst) == 5, 5_000));
    // It slept before each of the four later calls (and after the last).
    assert!(wait_for(
        || HOOK_ON_WORKER.load(Ordering::SeqCst) >= 5,
        5_000
    ));
    let before_exit = HOOK_ON_WORKER.load(Ordering::SeqCst);
    ch.close().unwrap();
    p.shutdown();
    assert!(
        HOOK_ON_WORKER.load(Ordering::SeqCst) > before_exit,
        "no hook call at exit"
    );
    assert_eq!(HOOK_ELSEWHERE.load(Ordering::SeqCst), 0);
    assert_eq!(HOOK_DURING_TASK.load(Ordering::SeqCst), 0);
}
