use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn cfg(host: &str) -> ChanConfig<'_> {
    ChanConfig {
        bind_host: Some(host),
        bind_port: 0,
        bind_family: 0,
        queue_size: 0,
    }
}

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

fn target_of(ch: &Channel) -> (String, u16) {
    let a = ch.local_socket_addr();
    (a.ip().to_string(), a.port())
}

#[test]
fn loopback_echo_in_order_with_stats() {
    let srv = Server::new(0).unwrap();
    let (tx, rx) = mpsc::channel::<(Vec<u8>, u64)>();
    let tx = Mutex::new(tx);
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |p, _a, _l, t| tx.lock().send((p.to_vec(), t)).unwrap()),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    assert_eq!(ch.send(b"x"), Err(libc::EDESTADDRREQ));
    ch.set_target(&h, p).unwrap();
    for i in 0..20u8 {
        ch.send(&[i; 10]).unwrap();
    }
    let mut last = 0;
    for i in 0..20u8 {
        let (pkt, t) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(pkt, vec![i; 10]);
        assert!(t >= last && t > 0);
        last = t;
    }
    assert!(wait_until(|| ch.stats().rx_pkts == 20));
    let s = ch.stats();
    assert_eq!(
        (s.tx_pkts, s.tx_bytes, s.rx_bytes, s.tx_errors),
        (20, 200, 200, 0)
    );
    assert_eq!(ch.send(&vec![0; MAX_DATAGRAM + 1]), Err(libc::EMSGSIZE));
}

#[test]
fn bad_configs_are_rejected() {
    let srv = Server::new(100).unwrap();
    let mk = |c: ChanConfig| srv.create_channel(&c, Box::new(|_, _, _, _| {})).err();
    assert_eq!(
        mk(ChanConfig {
            queue_size: 3,
            ..cfg("127.0.0.1")
        }),
        Some(libc::EINVAL)
    );
    assert_eq!(
        mk(ChanConfig {
            queue_size: 1 << 17,
            ..cfg("127.0.0.1")
        }),
        Some(libc::EINVAL)
    );
    assert_eq!(
        mk(ChanConfig {
            bind_family: 5,
            ..cfg("127.0.0.1")
        }),
        Some(libc::EINVAL)
    );
    assert_eq!(mk(cfg("not-an-ip")), Some(libc::EINVAL));
    let ch = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
        .unwrap();
    let port = ch.local_socket_addr().port();
    assert_eq!(
        mk(ChanConfig {
            bind_port: port,
            ..cfg("127.0.0.1")
        }),
        Some(libc::EADDRINUSE)
    );
    assert_eq!(ch.set_target("nope", 1), Err(libc::EINVAL));
    assert_eq!(ch.set_target("127.0.0.1", 0), Err(libc::EINVAL));
}

#[test]
fn queue_full_is_counted() {
    let srv = Server::new(1).unwrap();
    let ch = srv
        .create_channel(
            &ChanConfig {
                queue_size: 4,
                ..cfg("127.0.0.1")
            },
            Box::new(|_, _, _, _| {}),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    let big = vec![7u8; 60000];
    let mut full = 0;
    for _ in 0..10000 {
        if ch.send(&big) == Err(libc::ENOBUFS) {
            full += 1;
        }
    }
    assert!(full > 0);
    assert_eq!(ch.stats().tx_queue_full, full);
}

#[test]
fn close_inside_callback_and_from_other_thread() {
    let srv = Arc::new(Server::new(0).unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<Channel>>> = Arc::new(Mutex::new(None));
    let (c2, s2) = (calls.clone(), slot.clone());
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| {
                c2.fetch_add(1, Ordering::SeqCst);
                // close ourselves from inside our callback
                if let Some(me) = s2.lock().take() {
                    me.close();
                }
            }),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    for _ in 0..5 {
        ch.send(b"hello").unwrap();
    }
    *slot.lock() = Some(ch);
    assert!(wait_until(|| slot.lock().is_none()));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // close from another thread while packets keep arriving
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| {
                n2.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    for _ in 0..10 {
        let _ = ch.send(b"x");
    }
    assert!(wait_until(|| n.load(Ordering::SeqCst) > 0));
    ch.close();
    let after = n.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(n.load(Ordering::SeqCst), after);
}

#[test]
fn shutdown_releases_callbacks_and_close_after_is_local() {
    let srv = Server::new(0).unwrap();
    let marker = Arc::new(());
    let m2 = marker.clone();
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| drop(m2.clone())),
        )
        .unwrap();
    assert_eq!(Arc::strong_count(&marker), 2);
    srv.shutdown();
    srv.shutdown();
    assert_eq!(Arc::strong_count(&marker), 1);
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    assert_eq!(ch.send(b"x"), Err(libc::ESHUTDOWN));
    assert_eq!(
        srv.create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
            .err(),
        Some(libc::ESHUTDOWN)
    );
    drop(srv);
    ch.close();
}

#[test]
fn many_channels_open_close_without_fd_growth() {
    let srv = Server::new(0).unwrap();
    let before = sys::open_fds();
    for _ in 0..3 {
        let chans: Vec<_> = (0..200)
            .map(|_| {
                srv.create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
                    .unwrap()
            })
            .collect();
        drop(chans);
    }
    assert!(
        sys::open_fds() <= before + 2,
        "fds grew from {before} to {}",
        sys::open_fds()
    );
}

#[test]
fn ipv6_loopback() {
    if sys::udp_bind(&"[::1]:0".parse().unwrap()).is_err() {
        return; // no IPv6 here
    }
    let srv = Server::new(0).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let ch = srv
        .create_channel(
            &ChanConfig {
                bind_family: 6,
                ..cfg("::1")
            },
            Box::new(move |p, a, l, _| {
                let addr = RawAddr::empty();
                let _ = addr;
                tx.lock().send((p.to_vec(), a.ss_family as i32, l)).unwrap()
            }),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    ch.send(b"v6").unwrap();
    let (pkt, fam, len) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(pkt, b"v6");
    assert_eq!(fam, libc::AF_INET6);
    assert_eq!(len as usize, std::mem::size_of::<libc::sockaddr_in6>());
}

#[test]
fn a_deep_queue_does_not_starve_other_channels() {
    let srv = Server::new(0).unwrap();
    let sink = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
        .unwrap();
    let hog = srv
        .create_channel(
            &ChanConfig {
                queue_size: 65536,
                ..cfg("127.0.0.1")
            },
            Box::new(|_, _, _, _| {}),
        )
        .unwrap();
    let (h, p) = target_of(&sink);
    hog.set_target(&h, p).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let ping = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| tx.lock().send(()).unwrap()),
        )
        .unwrap();
    let (h, p) = target_of(&ping);
    ping.set_target(&h, p).unwrap();
    const N: u64 = 60000;
    for _ in 0..N {
        hog.send(&[1u8; 20]).unwrap();
    }
    ping.send(b"ping").unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let sent = hog.stats().tx_pkts;
    assert!(
        sent < N,
        "the ping waited for the whole hog queue ({sent} sent)"
    );
    assert!(wait_until(|| hog.stats().tx_pkts == N));
}

#[test]
fn closing_from_another_channels_callback() {
    let srv = Server::new(0).unwrap();
    let victim_calls = Arc::new(AtomicUsize::new(0));
    let vc = victim_calls.clone();
    let victim = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| {
                vc.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let (vh, vp) = target_of(&victim);
    let slot = Arc::new(Mutex::new(Some(victim)));
    let s2 = slot.clone();
    let closer = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _, _| drop(s2.lock().take())),
        )
        .unwrap();
    let (h, p) = target_of(&closer);
    closer.set_target(&h, p).unwrap();
    closer.send(b"close it").unwrap();
    assert!(wait_until(|| slot.lock().is_none()));
    // the victim's port is closed: a packet to it goes nowhere
    let probe = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
        .unwrap();
    probe.set_target(&vh, vp).unwrap();
    probe.send(b"x").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(victim_calls.load(Ordering::SeqCst), 0);
}

/// Regression (found by test_server_churn hanging under ASan): a shutdown
/// racing a send's wake-up had its eventfd signal consumed by the drain
/// meant for the earlier wake, and the worker went back to sleep forever.
/// The table lock holds the worker between its stop check and that drain
/// while the shutdown is signalled.
#[test]
fn shutdown_signalled_during_a_wake_up_is_not_lost() {
    let srv = Server::new(0).unwrap();
    let ch = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _, _| {}))
        .unwrap();
    // a sink outside the server, so that nothing but the eventfd wakes it
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ch.set_target("127.0.0.1", sink.local_addr().unwrap().port())
        .unwrap();
    let sh = srv.shared.clone();
    let table = sh.table.lock();
    ch.send(b"wake").unwrap(); // the worker wakes, checks, then waits for the table
    std::thread::sleep(Duration::from_millis(50));
    sh.shutdown.store(true, Ordering::Release);
    sh.wake();
    drop(table); // the worker drains both signals
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        srv.shutdown();
        drop(ch);
        done_tx.send(()).unwrap();
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "shutdown hung"
    );
}
