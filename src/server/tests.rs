use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn cfg(host: &str) -> ChanConfig<'_> {
    ChanConfig {
        bind_host: Some(host),
        bind_port: 0,
        bind_family: Family::Auto,
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
            Box::new(move |p, _a, t| tx.lock().send((p.to_vec(), t)).unwrap()),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    assert_eq!(ch.send(b"x"), Err(Error::NoTarget));
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
    assert_eq!(ch.send(&vec![0; MAX_DATAGRAM + 1]), Err(Error::TooBig));
}

#[test]
fn bad_configs_are_rejected() {
    let srv = Server::new(100).unwrap();
    let mk = |c: ChanConfig| srv.create_channel(&c, Box::new(|_, _, _| {})).err();
    assert_eq!(
        mk(ChanConfig {
            queue_size: 3,
            ..cfg("127.0.0.1")
        }),
        Some(Error::Invalid)
    );
    assert_eq!(
        mk(ChanConfig {
            queue_size: 1 << 17,
            ..cfg("127.0.0.1")
        }),
        Some(Error::Invalid)
    );
    assert_eq!(
        mk(ChanConfig {
            bind_family: Family::V6,
            ..cfg("127.0.0.1")
        }),
        Some(Error::Invalid)
    );
    assert_eq!(mk(cfg("not-an-ip")), Some(Error::Invalid));
    let ch = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
        .unwrap();
    let port = ch.local_socket_addr().port();
    assert_eq!(
        mk(ChanConfig {
            bind_port: port,
            ..cfg("127.0.0.1")
        }),
        Some(Error::AddrInUse)
    );
    assert_eq!(ch.set_target("nope", 1), Err(Error::Invalid));
    assert_eq!(ch.set_target("127.0.0.1", 0), Err(Error::Invalid));
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
            Box::new(|_, _, _| {}),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    let big = vec![7u8; 60000];
    let mut full = 0;
    for _ in 0..10000 {
        if ch.send(&big) == Err(Error::QueueFull) {
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
            Box::new(move |_, _, _| {
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
            Box::new(move |_, _, _| {
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
        .create_channel(&cfg("127.0.0.1"), Box::new(move |_, _, _| drop(m2.clone())))
        .unwrap();
    assert_eq!(Arc::strong_count(&marker), 2);
    srv.shutdown();
    srv.shutdown();
    assert_eq!(Arc::strong_count(&marker), 1);
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    assert_eq!(ch.send(b"x"), Err(Error::Shutdown));
    assert_eq!(
        srv.create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
            .err(),
        Some(Error::Shutdown)
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
                srv.create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
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
                bind_family: Family::V6,
                ..cfg("::1")
            },
            Box::new(move |p, a, _| {
                tx.lock()
                    .send((p.to_vec(), a.to_socket_addr().unwrap()))
                    .unwrap()
            }),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    ch.send(b"v6").unwrap();
    let (pkt, from) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(pkt, b"v6");
    assert_eq!(from, ch.local_socket_addr());
}

#[test]
fn a_deep_queue_does_not_starve_other_channels() {
    let srv = Server::new(0).unwrap();
    let sink = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
        .unwrap();
    let hog = srv
        .create_channel(
            &ChanConfig {
                queue_size: 65536,
                ..cfg("127.0.0.1")
            },
            Box::new(|_, _, _| {}),
        )
        .unwrap();
    let (h, p) = target_of(&sink);
    hog.set_target(&h, p).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let ping = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _| tx.lock().send(()).unwrap()),
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
            Box::new(move |_, _, _| {
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
            Box::new(move |_, _, _| drop(s2.lock().take())),
        )
        .unwrap();
    let (h, p) = target_of(&closer);
    closer.set_target(&h, p).unwrap();
    closer.send(b"close it").unwrap();
    assert!(wait_until(|| slot.lock().is_none()));
    // the victim's port is closed: a packet to it goes nowhere
    let probe = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
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
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
        .unwrap();
    // a sink outside the server, so that nothing but the eventfd wakes it
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ch.set_target("127.0.0.1", sink.local_addr().unwrap().port())
        .unwrap();
    let sh = srv.workers[0].clone();
    let table = sh.table.lock();
    ch.send(b"wake").unwrap(); // the worker wakes, checks, then waits for the table
    std::thread::sleep(Duration::from_millis(50));
    sh.group.shutdown.store(true, Ordering::Release);
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

fn peer() -> std::net::UdpSocket {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn send_only_channel_with_an_address_target() {
    let srv = Server::new(0).unwrap();
    let ch = srv
        .create_channel_with(&cfg("127.0.0.1"), ChanOptions::default(), None)
        .unwrap();
    let p = peer();
    assert_eq!(ch.target(), None);
    ch.set_target_addr(p.local_addr().unwrap()).unwrap();
    assert_eq!(
        ch.target().and_then(|t| t.to_socket_addr()),
        Some(p.local_addr().unwrap())
    );
    assert_eq!(
        ch.set_target_addr("[::1]:5".parse().unwrap()),
        Err(Error::FamilyMismatch)
    );
    assert_eq!(
        ch.set_target_addr("127.0.0.1:0".parse().unwrap()),
        Err(Error::Invalid)
    );
    ch.send(b"out").unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = p.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"out");
    // what a send-only channel receives is counted and dropped
    p.send_to(b"in", ch.local_socket_addr()).unwrap();
    assert!(wait_until(|| ch.stats().rx_pkts == 1));
}

#[test]
fn latch_lock_with_probation_then_ignore_others() {
    let srv = Server::new(0).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let ch = srv
        .create_channel_with(
            &cfg("127.0.0.1"),
            ChanOptions {
                latch: Latch::Lock { probation: 2 },
                ..ChanOptions::default()
            },
            Some(Box::new(move |_, a, _| {
                s2.lock().push(a.to_socket_addr().unwrap())
            })),
        )
        .unwrap();
    let (a, b) = (peer(), peer());
    let to = ch.local_socket_addr();
    assert_eq!(ch.send(b"x"), Err(Error::NoTarget));
    a.send_to(b"1", to).unwrap();
    assert!(wait_until(|| seen.lock().len() == 1));
    assert_eq!(ch.target(), None); // probation: one packet is not enough
    a.send_to(b"2", to).unwrap();
    assert!(wait_until(|| ch.target().is_some()));
    assert!(ch.is_latched());
    assert_eq!(
        ch.target().unwrap().to_socket_addr(),
        Some(a.local_addr().unwrap())
    );
    // another source: delivered with its address, target unchanged
    b.send_to(b"3", to).unwrap();
    b.send_to(b"4", to).unwrap();
    assert!(wait_until(|| seen.lock().len() == 4));
    assert_eq!(seen.lock()[3], b.local_addr().unwrap());
    assert_eq!(
        ch.target().unwrap().to_socket_addr(),
        Some(a.local_addr().unwrap())
    );
    ch.send(b"back").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(a.recv(&mut buf).unwrap(), 4);
    assert_eq!(ch.stats().latch_moves, 1);
    // re-armed as FOLLOW: the next source takes over, and the next
    ch.set_latch(Latch::Follow);
    assert!(!ch.is_latched());
    b.send_to(b"5", to).unwrap();
    assert!(wait_until(
        || ch.target().and_then(|t| t.to_socket_addr()) == Some(b.local_addr().unwrap())
    ));
    a.send_to(b"6", to).unwrap();
    assert!(wait_until(
        || ch.target().and_then(|t| t.to_socket_addr()) == Some(a.local_addr().unwrap())
    ));
    assert_eq!(ch.stats().latch_moves, 3);
}

#[test]
fn rtcp_mux_goes_to_its_own_callback() {
    let srv = Server::new(0).unwrap();
    let (rtp_n, rtcp_n) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r1, r2) = (rtp_n.clone(), rtcp_n.clone());
    let ch = srv
        .create_channel_with(
            &cfg("127.0.0.1"),
            ChanOptions {
                rtcp: Some(Box::new(move |p, _, _| {
                    assert!(is_rtcp(p));
                    r2.fetch_add(1, Ordering::SeqCst);
                })),
                ..ChanOptions::default()
            },
            Some(Box::new(move |p, _, _| {
                assert!(!is_rtcp(p));
                r1.fetch_add(1, Ordering::SeqCst);
            })),
        )
        .unwrap();
    let p = peer();
    let to = ch.local_socket_addr();
    p.send_to(&[0x80, 0, 0, 1], to).unwrap(); // RTP PCMU
    p.send_to(&[0x80, 200, 0, 6], to).unwrap(); // RTCP SR
    p.send_to(&[0x80, 0xe0, 0, 1], to).unwrap(); // RTP marker + PT 96
    p.send_to(&[0x81, 201, 0, 1], to).unwrap(); // RTCP RR
    assert!(wait_until(|| ch.stats().rx_pkts == 4));
    assert_eq!(rtp_n.load(Ordering::SeqCst), 2);
    assert_eq!(rtcp_n.load(Ordering::SeqCst), 2);
    assert_eq!(ch.stats().rx_rtcp, 2);
}

#[test]
fn stun_binding_requests_are_answered_not_delivered() {
    let srv = Server::new(0).unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let g2 = got.clone();
    let ch = srv
        .create_channel_with(
            &cfg("127.0.0.1"),
            ChanOptions {
                stun: true,
                ..ChanOptions::default()
            },
            Some(Box::new(move |_, _, _| {
                g2.fetch_add(1, Ordering::SeqCst);
            })),
        )
        .unwrap();
    let p = peer();
    let mut req = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    req.extend_from_slice(&[9; 12]);
    p.send_to(&req, ch.local_socket_addr()).unwrap();
    let mut buf = [0u8; 128];
    let n = p.recv(&mut buf).unwrap();
    assert_eq!(n, 32);
    assert_eq!(&buf[0..2], &[0x01, 0x01]);
    assert_eq!(&buf[8..20], &[9; 12]);
    let port = u16::from_be_bytes([buf[26], buf[27]]) ^ 0x2112;
    assert_eq!(port, p.local_addr().unwrap().port());
    assert_eq!(&buf[28..32], &[127 ^ 0x21, 0x12, 0xa4, 0x42 ^ 1]);
    // a broken request is an ordinary datagram
    req[3] = 4;
    p.send_to(&req, ch.local_socket_addr()).unwrap();
    assert!(wait_until(|| got.load(Ordering::SeqCst) == 1));
    let s = ch.stats();
    assert_eq!((s.stun_answered, s.rx_pkts), (1, 1));
}

#[test]
fn drain_waits_for_the_wire() {
    let srv = Server::new(0).unwrap();
    let ch = srv
        .create_channel(
            &ChanConfig {
                queue_size: 4096,
                ..cfg("127.0.0.1")
            },
            Box::new(|_, _, _| {}),
        )
        .unwrap();
    let sink = peer();
    ch.set_target_addr(sink.local_addr().unwrap()).unwrap();
    assert_eq!(ch.drain(Duration::ZERO), Ok(()));
    for _ in 0..2000 {
        ch.send(&[5; 200]).unwrap();
    }
    let r = ch.drain(Duration::ZERO);
    assert!(r == Ok(()) || r == Err(Error::TimedOut), "{r:?}");
    assert_eq!(ch.drain(Duration::from_secs(20)), Ok(()));
    assert_eq!(ch.stats().tx_pkts + ch.stats().tx_errors, 2000);
    // from inside a callback with output queued: the worker cannot wait
    let slot: Arc<Mutex<Option<Channel>>> = Arc::new(Mutex::new(None));
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let s2 = slot.clone();
    let me = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _| {
                if let Some(c) = s2.lock().as_ref() {
                    let _ = c.send(b"more");
                    tx.lock().send(c.drain(Duration::from_secs(1))).unwrap();
                }
            }),
        )
        .unwrap();
    me.set_target_addr(sink.local_addr().unwrap()).unwrap();
    let to = me.local_socket_addr();
    *slot.lock() = Some(me);
    sink.send_to(b"go", to).unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err(Error::WouldDeadlock)
    );
    let me = slot.lock().take().unwrap();
    assert_eq!(me.close_drained(Duration::from_secs(10)), Ok(()));
    srv.shutdown();
    // after shutdown nothing queues and an empty queue is drained
    assert_eq!(ch.drain(Duration::from_secs(1)), Ok(()));
}

#[test]
fn pairs_are_even_odd_and_skip_ports_in_use() {
    let srv = Server::new(0).unwrap();
    // a free window of 8 ports starting even, below the ephemeral range
    // (32768-60999 on Linux) so that no port-0 bind elsewhere takes one
    let base = (0..1500u32)
        .map(|i| 20000u16 + 8 * ((std::process::id() + i) % 1500) as u16)
        .find(|&b| (b..b + 8).all(|p| std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()))
        .unwrap();
    // another "process" holds base + 2 (an RTP port) and base + 5 (RTCP)
    let _h1 = std::net::UdpSocket::bind(("127.0.0.1", base + 2)).unwrap();
    let _h2 = std::net::UdpSocket::bind(("127.0.0.1", base + 5)).unwrap();
    let mk = || {
        srv.create_pair(
            &cfg("127.0.0.1"),
            base..=base + 7,
            (ChanOptions::default(), None),
            (ChanOptions::default(), None),
        )
    };
    let mut got = Vec::new();
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let (a, b) = mk().unwrap();
        let (pa, pb) = (a.local_socket_addr().port(), b.local_socket_addr().port());
        assert_eq!(pa % 2, 0);
        assert_eq!(pb, pa + 1);
        got.push(pa);
        pairs.push((a, b));
    }
    got.sort();
    assert_eq!(got, vec![base, base + 6]);
    assert_eq!(mk().err(), Some(Error::AddrInUse));
    // a range with no pair in it
    let one = |r: RangeInclusive<u16>| {
        srv.create_pair(
            &cfg("127.0.0.1"),
            r,
            (ChanOptions::default(), None),
            (ChanOptions::default(), None),
        )
        .err()
    };
    assert_eq!(one(base..=base), Some(Error::Invalid));
    assert_eq!(one(base + 1..=base + 2), Some(Error::Invalid));
    let (nine, three) = (9, 3);
    assert_eq!(one(nine..=three), Some(Error::Invalid));
    assert_eq!(one(65535..=65535), Some(Error::Invalid));
    // closing a pair frees it for the next one (the only free pair)
    let (freed, _) = pairs.pop().unwrap();
    let port = freed.local_socket_addr().port();
    drop(freed);
    let (a, _b) = mk().unwrap();
    assert_eq!(a.local_socket_addr().port(), port);
}

type Events = Arc<Mutex<Vec<StreamEvent>>>;
type Packets = Arc<Mutex<Vec<Vec<u8>>>>;

fn tcp_pair(srv: &Server) -> (Channel, Channel, Packets, Events, Events) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let (ev_l, ev_c): (Events, Events) = Default::default();
    let (g2, e2, e3) = (got.clone(), ev_l.clone(), ev_c.clone());
    let l = srv
        .create_tcp_channel(
            &cfg("127.0.0.1"),
            TcpMode::Listen,
            Some(Box::new(move |p, _, _| g2.lock().push(p.to_vec()))),
            Some(Box::new(move |e, _, _| e2.lock().push(e))),
        )
        .unwrap();
    let c = srv
        .create_tcp_channel(
            &ChanConfig {
                bind_host: None,
                queue_size: 256,
                ..cfg("127.0.0.1")
            },
            TcpMode::Connect(l.local_socket_addr()),
            None,
            Some(Box::new(move |e, _, _| e3.lock().push(e))),
        )
        .unwrap();
    (l, c, got, ev_l, ev_c)
}

#[test]
fn tcp_channels_exchange_framed_packets_and_report_close() {
    let srv = Server::new(0).unwrap();
    let lonely = srv
        .create_tcp_channel(&cfg("127.0.0.1"), TcpMode::Listen, None, None)
        .unwrap();
    assert_eq!(lonely.send(b"x"), Err(Error::NotConnected));
    assert_eq!(lonely.set_target("127.0.0.1", 9), Err(Error::NotSupported));
    assert!(!lonely.is_connected());
    let (l, c, got, ev_l, ev_c) = tcp_pair(&srv);
    assert!(wait_until(|| c.is_connected() && l.is_connected()));
    assert_eq!(*ev_c.lock(), vec![StreamEvent::Connected]);
    assert_eq!(*ev_l.lock(), vec![StreamEvent::Connected]);
    let pkts: Vec<Vec<u8>> = (0..200u32)
        .map(|i| vec![i as u8; (i as usize * 331) % 1500])
        .chain([vec![], vec![9; 65507]])
        .collect();
    for p in &pkts {
        c.send(p).unwrap();
    }
    assert_eq!(c.drain(Duration::from_secs(10)), Ok(()));
    assert!(wait_until(|| got.lock().len() == pkts.len()));
    assert_eq!(*got.lock(), pkts);
    // the connecting side closes: the listener hears an orderly close
    c.close();
    assert!(wait_until(|| ev_l.lock().len() == 2));
    assert_eq!(ev_l.lock()[1], StreamEvent::Closed);
    assert!(!l.is_connected());
    assert_eq!(l.send(b"x"), Err(Error::NotConnected));
}

#[test]
fn tcp_deframes_partial_writes_and_refuses_a_second_peer() {
    use std::io::{Read, Write};
    let srv = Server::new(0).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let l = srv
        .create_tcp_channel(
            &cfg("127.0.0.1"),
            TcpMode::Listen,
            Some(Box::new(move |p, _, _| g2.lock().push(p.to_vec()))),
            None,
        )
        .unwrap();
    let mut peer = std::net::TcpStream::connect(l.local_socket_addr()).unwrap();
    peer.set_nodelay(true).unwrap();
    let mut stream = Vec::new();
    for i in 0..50u8 {
        stream.extend_from_slice(&stream::frame_header(i as usize * 7));
        stream.extend(std::iter::repeat_n(i, i as usize * 7));
    }
    for piece in stream.chunks(5) {
        peer.write_all(piece).unwrap();
    }
    assert!(wait_until(|| got.lock().len() == 50));
    for (i, p) in got.lock().iter().enumerate() {
        assert_eq!(p, &vec![i as u8; i * 7]);
    }
    // a second connection while one is up is closed at once
    let mut second = std::net::TcpStream::connect(l.local_socket_addr()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 4];
    assert_eq!(second.read(&mut b).unwrap_or(0), 0);
    // and we frame what we send
    assert!(wait_until(|| l.is_connected()));
    l.send(b"abc").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut f = [0u8; 5];
    peer.read_exact(&mut f).unwrap();
    assert_eq!(&f, b"\x00\x03abc");
}

#[test]
fn tcp_back_pressure_fills_the_lossy_queue_and_reset_is_reported() {
    let srv = Server::new(0).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ev: Events = Default::default();
    let e2 = ev.clone();
    let c = srv
        .create_tcp_channel(
            &ChanConfig {
                queue_size: 64,
                ..cfg("127.0.0.1")
            },
            TcpMode::Connect(listener.local_addr().unwrap()),
            None,
            Some(Box::new(move |e, _, _| e2.lock().push(e))),
        )
        .unwrap();
    let (peer, _) = listener.accept().unwrap();
    assert!(wait_until(|| c.is_connected()));
    // the peer never reads: the kernel's buffers fill, then the queue,
    // which then cannot drain (bounded: 20 s)
    let big = vec![1u8; 60000];
    let mut full = 0;
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < end, "the queue never stayed full");
        match c.send(&big) {
            Ok(()) => continue,
            Err(Error::QueueFull) => full += 1,
            Err(e) => panic!("{e:?}"),
        }
        if c.drain(Duration::from_millis(100)) == Err(Error::TimedOut) {
            break;
        }
    }
    assert_eq!(c.stats().tx_queue_full, full);
    // a reset (SO_LINGER 0 close) is reported and the queue discarded
    let s2 = socket2_linger_zero(peer);
    drop(s2);
    assert!(wait_until(|| ev.lock().len() == 2));
    assert!(matches!(
        ev.lock()[1],
        StreamEvent::Reset(_) | StreamEvent::Closed
    ));
    assert_eq!(c.send(b"x"), Err(Error::NotConnected));
    assert_eq!(c.drain(Duration::from_secs(1)), Ok(()));
    // a refused connect is a reset too
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let ev: Events = Default::default();
    let e2 = ev.clone();
    let _c2 = srv
        .create_tcp_channel(
            &cfg("127.0.0.1"),
            TcpMode::Connect(gone),
            None,
            Some(Box::new(move |e, _, _| e2.lock().push(e))),
        )
        .unwrap();
    assert!(wait_until(|| !ev.lock().is_empty()));
    assert_eq!(
        ev.lock()[0],
        StreamEvent::Reset(Error::Os(libc::ECONNREFUSED))
    );
}

/// Close `s` with an RST (SO_LINGER with a zero timeout).
fn socket2_linger_zero(s: std::net::TcpStream) -> std::net::TcpStream {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid linger struct of the size given, on a live socket.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    s
}

fn workers(n: u32) -> Server {
    Server::with_config(&ServerConfig {
        workers: n,
        ..ServerConfig::default()
    })
    .unwrap()
}

#[test]
fn server_configs_are_checked() {
    let bad = |c: ServerConfig| Server::with_config(&c).err();
    // io_uring: a working server, or NotSupported on a kernel without it.
    match uring_server(0) {
        Some(s) => assert_eq!((s.backend(), s.workers()), (Backend::Uring, 1)),
        None => assert_eq!(uring::probe(), Err(Error::NotSupported)),
    }
    assert_eq!(Server::new(0).unwrap().backend(), Backend::Epoll);
    let too_many = ServerConfig {
        workers: MAX_WORKERS + 1,
        ..ServerConfig::default()
    };
    assert_eq!(bad(too_many), Some(Error::Invalid));
    for (n, want) in [(0, 1), (1, 1), (3, 3)] {
        let s = Server::with_config(&ServerConfig {
            workers: n,
            backend: Backend::Epoll,
            tick_hz: 50,
        })
        .unwrap();
        assert_eq!(s.workers(), want);
    }
}

/// Channels spread evenly over the workers; each channel's callbacks run
/// on one thread, and every worker thread is used.
#[test]
fn channels_spread_over_workers_and_stay_on_one_thread() {
    let srv = workers(3);
    let seen: Arc<Mutex<Vec<Vec<std::thread::ThreadId>>>> =
        Arc::new(Mutex::new(vec![Vec::new(); 9]));
    let chans: Vec<Channel> = (0..9)
        .map(|i| {
            let seen = seen.clone();
            let cb: PktIn = Box::new(move |_, _, _| {
                seen.lock()[i].push(std::thread::current().id());
            });
            srv.create_channel(&cfg("127.0.0.1"), cb).unwrap()
        })
        .collect();
    let loads: Vec<usize> = srv
        .workers
        .iter()
        .map(|w| w.nchans.load(Ordering::Relaxed))
        .collect();
    assert_eq!(loads, vec![3, 3, 3]);
    for ch in &chans {
        let (h, p) = target_of(ch);
        ch.set_target(&h, p).unwrap();
        for _ in 0..20 {
            ch.send(b"pkt").unwrap();
        }
    }
    assert!(wait_until(|| seen.lock().iter().all(|v| v.len() == 20)));
    let seen = seen.lock();
    let mut threads: Vec<_> = seen.iter().map(|v| v[0]).collect();
    for v in seen.iter() {
        assert!(v.iter().all(|t| *t == v[0]), "one channel, one thread");
    }
    threads.sort_by_key(|t| format!("{t:?}"));
    threads.dedup();
    assert_eq!(threads.len(), 3);
    drop(seen);
    // closing frees the slot for the next channel
    let mut chans = chans;
    chans.truncate(7);
    let idle = srv
        .workers
        .iter()
        .map(|w| w.nchans.load(Ordering::Relaxed))
        .collect::<Vec<_>>();
    assert_eq!(idle.iter().sum::<usize>(), 7);
    let w = srv.pick();
    assert_eq!(
        w.nchans.load(Ordering::Relaxed),
        *idle.iter().min().unwrap()
    );
}

#[test]
fn a_pair_lives_on_one_worker() {
    let srv = workers(2);
    // make worker 0 busier so a pair would straddle if picked per channel
    let _a = srv
        .create_channel(&cfg("127.0.0.1"), Box::new(|_, _, _| {}))
        .unwrap();
    let (rtp, rtcp) = srv
        .create_pair(
            &cfg("127.0.0.1"),
            40000..=60000,
            (ChanOptions::default(), None),
            (ChanOptions::default(), None),
        )
        .unwrap();
    assert!(Arc::ptr_eq(&rtp.shared, &rtcp.shared));
}

/// From inside a callback, shutdown stops every worker without waiting;
/// from outside it returns only when no callback runs; after it, no
/// callback runs, on any worker.
#[test]
fn shutdown_from_a_callback_stops_every_worker() {
    let srv = Arc::new(workers(4));
    let calls = Arc::new(AtomicUsize::new(0));
    let chans: Vec<Channel> = (0..8)
        .map(|i| {
            let (calls, srv2) = (calls.clone(), Arc::downgrade(&srv));
            let cb: PktIn = Box::new(move |_, _, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                if i == 5 {
                    if let Some(s) = srv2.upgrade() {
                        s.shutdown();
                    }
                }
            });
            srv.create_channel(&cfg("127.0.0.1"), cb).unwrap()
        })
        .collect();
    for ch in &chans {
        let (h, p) = target_of(ch);
        ch.set_target(&h, p).unwrap();
    }
    chans[5].send(b"stop").unwrap();
    assert!(wait_until(|| srv.is_shut_down()));
    srv.shutdown(); // joins every worker
    let before = calls.load(Ordering::SeqCst);
    for ch in &chans {
        assert_eq!(ch.send(b"late"), Err(Error::Shutdown));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), before);
    drop(chans);
}

/// Draining from inside any worker's callback is refused (two callbacks
/// draining each other's channels would wait for each other), even when
/// the channel lives on another worker.
#[test]
fn drain_from_another_workers_callback_would_deadlock() {
    use std::sync::atomic::AtomicBool;
    let srv = workers(2);
    // `other`'s callback holds its worker, so the queue asked about stays
    // non-empty until the other worker's callback has asked.
    let (held_tx, held_rx) = mpsc::channel();
    let held_tx = Mutex::new(held_tx);
    let release = Arc::new(AtomicBool::new(false));
    let rel = release.clone();
    let other = Arc::new(
        srv.create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _| {
                let _ = held_tx.lock().send(());
                let t = Instant::now();
                while !rel.load(Ordering::Acquire) && t.elapsed() < Duration::from_secs(20) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }),
        )
        .unwrap(),
    );
    let sink = peer();
    other.set_target_addr(sink.local_addr().unwrap()).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let o = other.clone();
    let rel = release.clone();
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |_, _, _| {
                o.send(&[0; 1000]).unwrap();
                let r = o.drain(Duration::from_secs(1));
                rel.store(true, Ordering::Release);
                tx.lock().send(r).unwrap();
            }),
        )
        .unwrap();
    assert!(!Arc::ptr_eq(&ch.shared, &other.shared));
    sink.send_to(b"hold", other.local_socket_addr()).unwrap();
    held_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    ch.send(b"go").unwrap();
    let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    release.store(true, Ordering::Release);
    assert_eq!(r, Err(Error::WouldDeadlock));
}

/// An io_uring server, or None on a kernel without io_uring (the probe).
fn uring_server(workers: u32) -> Option<Server> {
    match Server::with_config(&ServerConfig {
        workers,
        backend: Backend::Uring,
        ..ServerConfig::default()
    }) {
        Ok(s) => Some(s),
        Err(Error::NotSupported) => {
            eprintln!("io_uring not available here: skipped");
            None
        }
        Err(e) => panic!("io_uring server: {e:?}"),
    }
}

#[test]
fn uring_backend_delivers_in_order_and_drops_what_its_buffers_cannot_hold() {
    let Some(srv) = uring_server(1) else { return };
    assert_eq!(srv.backend(), Backend::Uring);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let tx = Mutex::new(tx);
    let ch = srv
        .create_channel(
            &cfg("127.0.0.1"),
            Box::new(move |p, _a, _t| tx.lock().send(p.to_vec()).unwrap()),
        )
        .unwrap();
    let (h, p) = target_of(&ch);
    ch.set_target(&h, p).unwrap();
    for i in 0..2000u32 {
        let pkt = i.to_be_bytes();
        while ch.send(&pkt) == Err(Error::QueueFull) {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    for i in 0..2000u32 {
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, i.to_be_bytes());
    }
    ch.send(&vec![7u8; URING_MAX_PAYLOAD]).unwrap();
    ch.send(&vec![8u8; URING_MAX_PAYLOAD + 1]).unwrap();
    ch.send(b"after").unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        vec![7u8; URING_MAX_PAYLOAD]
    );
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), b"after");
    assert_eq!(ch.stats().rx_dropped, 1);
    assert_eq!(ch.stats().rx_pkts, 2002);
}

#[test]
fn uring_close_frees_the_port_and_more_channels_than_buffers_all_receive() {
    let Some(srv) = uring_server(2) else { return };
    // More channels than the ring has buffers, each with a datagram.
    let n = uring::BUF_COUNT as usize + 200;
    let got = Arc::new(AtomicUsize::new(0));
    let mut chans = Vec::new();
    for _ in 0..n {
        let g = got.clone();
        let ch = srv
            .create_channel(
                &cfg("127.0.0.1"),
                Box::new(move |_p, _a, _t| {
                    g.fetch_add(1, Ordering::Relaxed);
                }),
            )
            .unwrap();
        let (h, p) = target_of(&ch);
        ch.set_target(&h, p).unwrap();
        chans.push(ch);
    }
    for ch in &chans {
        ch.send(b"x").unwrap();
    }
    assert!(wait_until(|| got.load(Ordering::Relaxed) == n));
    // Closing from this thread frees the port before close returns.
    for ch in chans.drain(..) {
        let port = ch.local_socket_addr().port();
        ch.close();
        let again = std::net::UdpSocket::bind(("127.0.0.1", port));
        assert!(again.is_ok(), "port {port} still bound after close");
    }
}
