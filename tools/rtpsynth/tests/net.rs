//! The network side of `send` and `recv`: RTCP on the port pair and muxed
//! (RFC 3550 section 11, RFC 5761). Loopback only; each run bounded.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;

/// `recv` and `send` with the same RTCP flag; both stats documents.
fn rtcp_pair(name: &str, flag: &str) -> (serde_json::Value, serde_json::Value) {
    let d = scratch(name);
    let rstats = d.join("r.json");
    let sstats = d.join("s.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        flag,
        "--duration",
        "30",
        "--stats",
        rstats.to_str().unwrap(),
    ]);
    let to = rx.addr.to_string();
    // recv's first report is due 1.0..3.1 s after it starts (RFC 3550
    // A.7, the halved initial minimum): 4 s of sending hears it.
    let o = run(&[
        "send",
        "--to",
        &to,
        flag,
        "--duration",
        "4",
        "--stats",
        sstats.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.terminate().code(), Some(0));
    (read_json(&rstats), read_json(&sstats))
}

fn check_rtcp_both_ways(r: &serde_json::Value, s: &serde_json::Value) {
    let ss = &s["streams"][0];
    let rs = &r["streams"][0];
    assert_eq!(rs["ssrc"], ss["ssrc"]);
    assert_eq!(rs["packets"], 200);
    // send: its SRs (at least the final one, with BYE) went out, the
    // receiver's RRs came back and say nothing was lost.
    assert!(ss["rtcp_sent"].as_u64().unwrap() >= 1, "{ss}");
    assert!(ss["rtcp_received"].as_u64().unwrap() >= 1, "{ss}");
    assert_eq!(ss["remote_cumulative_lost"], 0, "{ss}");
    assert_eq!(ss["remote_fraction_lost"], 0.0, "{ss}");
    let j = ss["remote_jitter_ms"].as_f64().expect("remote jitter");
    assert!((0.0..1000.0).contains(&j), "{ss}");
    assert!(ss["rtt_ms"].is_null() || ss["rtt_ms"].as_f64().unwrap() >= 0.0);
    // recv: the sender's SRs were counted under its SSRC, RRs went out.
    assert!(rs["rtcp_received"].as_u64().unwrap() >= 1, "{rs}");
    assert!(rs["rtcp_sent"].as_u64().unwrap() >= 1, "{rs}");
    assert!(
        ss["rtcp_received"].as_u64() <= rs["rtcp_sent"].as_u64(),
        "send heard more RTCP than recv sent: {ss} {rs}"
    );
}

#[test]
fn rtcp_on_the_port_pair() {
    let (r, s) = rtcp_pair("net-rtcp", "--rtcp");
    check_rtcp_both_ways(&r, &s);
}

#[test]
fn rtcp_muxed_on_the_rtp_port() {
    let (r, s) = rtcp_pair("net-mux", "--rtcp-mux");
    check_rtcp_both_ways(&r, &s);
}

/// Receive on `sock` until `pred` holds for a datagram or time runs out.
fn recv_until(
    sock: &UdpSocket,
    limit: Duration,
    mut pred: impl FnMut(&[u8], std::net::SocketAddr) -> bool,
) -> bool {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let end = Instant::now() + limit;
    let mut buf = [0u8; 2048];
    while Instant::now() < end {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if pred(&buf[..n], from) {
                return true;
            }
        }
    }
    false
}

#[test]
fn send_rtcp_takes_an_even_odd_pair_and_reports_to_port_plus_one() {
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rtp.local_addr().unwrap().port();
    let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)) else {
        eprintln!("SKIP: port {} is taken", port + 1);
        return;
    };
    let to = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(bin())
        .args(["send", "--to", &to, "--rtcp", "--duration", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut rtp_src = None;
    assert!(recv_until(&rtp, Duration::from_secs(10), |_, from| {
        rtp_src = Some(from);
        true
    }));
    let src = rtp_src.unwrap();
    assert_eq!(src.port() % 2, 0, "RTP from an odd port: {src}");
    // The final SR (with BYE) at the latest, from the odd port above.
    let mut sr_src = None;
    assert!(
        recv_until(&rtcp, Duration::from_secs(10), |d, from| {
            sr_src = Some(from);
            d.len() >= 8 && d[1] == 200
        }),
        "no SR on port + 1"
    );
    assert_eq!(sr_src.unwrap().port(), src.port() + 1);
    assert!(wait_bounded(&mut child, Duration::from_secs(20)).success());
}

/// `recv` with stdout kept: the child, its address, its stdout.
fn recv_with_stdout(args: &[&str]) -> (std::process::Child, std::net::SocketAddr) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(bin())
        .arg("recv")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn recv");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                if let Some(a) = l.strip_prefix("rtpsynth: listening on ") {
                    return (child, a.trim().parse().unwrap());
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("recv did not start");
            }
        }
    }
}

#[test]
fn dtmf_digits_go_through_as_rfc4733_events() {
    let d = scratch("net-dtmf");
    let js = d.join("r.json");
    let (child, addr) = recv_with_stdout(&[
        "--listen",
        "127.0.0.1:0",
        "--dtmf-pt",
        "100",
        "--duration",
        "30",
        "--stats",
        js.to_str().unwrap(),
    ]);
    let to = addr.to_string();
    let o = run(&[
        "send",
        "--to",
        &to,
        "--duration",
        "1.6",
        "--dtmf",
        "159@0.1",
        "--dtmf",
        "*#d@1.0",
        "--dtmf-pt",
        "100",
        "--dtmf-ms",
        "80",
        "--dtmf-gap",
        "40",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("dtmf ")).collect();
    assert_eq!(
        lines,
        [
            "dtmf 1 80",
            "dtmf 5 80",
            "dtmf 9 80",
            "dtmf * 80",
            "dtmf # 80",
            "dtmf D 80"
        ]
    );
    let s = &read_json(&js)["streams"][0];
    let ev = s["dtmf"].as_array().unwrap();
    assert_eq!(ev.len(), 6, "{s}");
    let ts: Vec<u32> = ev
        .iter()
        .map(|e| e["ts"].as_u64().unwrap() as u32)
        .collect();
    // 80 ms is 4 packet times, + 2 more copies of the end packet, + 40 ms
    // (2 packet times) of audio: 8 packet times of 160 units.
    assert_eq!(ts[1].wrapping_sub(ts[0]), 1280);
    assert_eq!(ts[2].wrapping_sub(ts[1]), 1280);
    assert_eq!(ts[4].wrapping_sub(ts[3]), 1280);
    // The second group starts at 1.0 s: 50 packet times after the start,
    // the first at 0.1 s (5 packet times).
    assert_eq!(ts[3].wrapping_sub(ts[0]), 45 * 160);
    assert_eq!(ev[5]["digit"], "D");
    assert_eq!(ev[0]["duration_ms"], 80);
    // Every packet counted, none lost: events share the sequence space.
    assert_eq!(s["packets"], 80);
    assert_eq!(s["lost"], 0);
}

#[test]
fn dtmf_options_are_checked() {
    for (args, mentions) in [
        (vec!["--dtmf", "12"], "DIGITS@SEC"),
        (vec!["--dtmf", "1x@1"], "DTMF digit"),
        (vec!["--dtmf", "1@-2"], "seconds"),
        (vec!["--dtmf", "1@1", "--dtmf-ms", "0"], "--dtmf-ms"),
        (vec!["--dtmf", "1@1", "--dtmf-pt", "0"], "--dtmf-pt"),
        (vec!["--dtmf", "1@1", "--dtmf-pt", "128"], "--dtmf-pt"),
    ] {
        let mut full = vec!["send", "--to", "127.0.0.1:9", "--duration", "0.1"];
        full.extend_from_slice(&args);
        let o = run(&full);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(mentions), "{args:?}: {err}");
    }
}

#[test]
fn recv_stun_answers_binding_requests_on_the_listening_port() {
    let rx = LiveRecv::start(&["--listen", "127.0.0.1:0", "--stun", "--duration", "30"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = sock.local_addr().unwrap();
    let txid: [u8; 12] = *b"rtpsynth-tst";
    let mut req = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    req.extend_from_slice(&txid);
    sock.send_to(&req, rx.addr).unwrap();
    let mut mapped = None;
    let got = recv_until(&sock, Duration::from_secs(10), |d, _| {
        if d.len() < 20 || d[0..2] != [0x01, 0x01] || d[8..20] != txid {
            return false;
        }
        // XOR-MAPPED-ADDRESS (0x0020), IPv4: port ^ 0x2112, address ^ cookie.
        let mut i = 20;
        while i + 4 <= d.len() {
            let t = u16::from_be_bytes([d[i], d[i + 1]]);
            let l = u16::from_be_bytes([d[i + 2], d[i + 3]]) as usize;
            if t == 0x0020 && l == 8 && i + 12 <= d.len() {
                let port = u16::from_be_bytes([d[i + 6], d[i + 7]]) ^ 0x2112;
                let ip: Vec<u8> = d[i + 8..i + 12]
                    .iter()
                    .zip([0x21, 0x12, 0xa4, 0x42])
                    .map(|(a, b)| a ^ b)
                    .collect();
                mapped = Some(std::net::SocketAddr::from((
                    [ip[0], ip[1], ip[2], ip[3]],
                    port,
                )));
            }
            i += 4 + ((l + 3) & !3);
        }
        true
    });
    assert!(got, "no Binding Success response");
    assert_eq!(mapped, Some(me));
    assert_eq!(rx.terminate().code(), Some(0));
}

#[test]
fn recv_latch_keeps_replying_to_the_first_source() {
    // Two senders of RTCP to recv's RTCP port; with --latch its reports go
    // to the first only.
    let d = scratch("net-latch");
    let js = d.join("r.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--rtcp",
        "--latch",
        "--duration",
        "30",
        "--stats",
        js.to_str().unwrap(),
    ]);
    let rtcp_port = rx.addr.port() + 1;
    let first = UdpSocket::bind("127.0.0.1:0").unwrap();
    let second = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rr = |ssrc: u32| {
        let mut p = vec![0x80, 201, 0, 1];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    };
    first.send_to(&rr(7), ("127.0.0.1", rtcp_port)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    second.send_to(&rr(7), ("127.0.0.1", rtcp_port)).unwrap();
    // RTP, so that recv has something to report on: 20 ms packets for up
    // to 6 s, until the first socket hears a report. Following the latest
    // source (no --latch) would send it to the second.
    let mut seq = 0u16;
    first
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(6);
    let mut buf = [0u8; 1500];
    let mut report = false;
    while Instant::now() < end && !report {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p[4..8].copy_from_slice(&(seq as u32 * 160).to_be_bytes());
        p.extend_from_slice(&[0xff; 160]);
        rtp.send_to(&p, rx.addr).unwrap();
        seq += 1;
        if let Ok((n, _)) = first.recv_from(&mut buf) {
            report = n >= 8 && buf[1] == 201;
        }
    }
    assert!(report, "the first RTCP source got no report");
    second
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(
        second.recv_from(&mut buf).is_err(),
        "the second source got a report"
    );
    assert_eq!(rx.terminate().code(), Some(0));
    let j = read_json(&js);
    assert_eq!(j["streams"][0]["rtcp_received"], 2, "{j}");
}

#[test]
fn tcp_rfc4571_with_muxed_rtcp_and_recv_ends_when_the_peer_closes() {
    let d = scratch("net-tcp");
    let rs = d.join("r.json");
    let ss = d.join("s.json");
    let wav = d.join("r.wav");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--tcp",
        "--rtcp-mux",
        "--duration",
        "30",
        "--out",
        wav.to_str().unwrap(),
        "--stats",
        rs.to_str().unwrap(),
    ]);
    let to = rx.addr.to_string();
    let o = run(&[
        "send",
        "--to",
        &to,
        "--tcp",
        "--rtcp-mux",
        "--tone",
        "1000",
        "--duration",
        "1",
        "--stats",
        ss.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    // No signal: recv ends by itself when send closes the connection.
    assert_eq!(rx.wait(Duration::from_secs(15)).code(), Some(0));
    let (_, _, got) = read_wav(&wav);
    assert!(got == g711_round_trip(&tone(1000.0, 8000, 8000), false));
    let r = &read_json(&rs)["streams"][0];
    let s = &read_json(&ss)["streams"][0];
    assert_eq!(r["packets"], 50);
    assert_eq!(r["lost"], 0);
    assert_eq!(s["packets"], 50, "{s}");
    assert_eq!(s["octets"], 8000, "{s}");
    // send's last SR (with BYE) came over the connection.
    assert!(r["rtcp_received"].as_u64().unwrap() >= 1, "{r}");
}

#[test]
fn tcp_refuses_what_it_cannot_carry() {
    let o = run(&["send", "--to", "127.0.0.1:9", "--tcp", "--rtcp"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("--rtcp-mux"));
    let o = run(&["recv", "--listen", "127.0.0.1:0", "--tcp", "--stun"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
    // Nobody listening: a runtime failure.
    let port = free_port().to_string();
    let o = run(&[
        "send",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--tcp",
        "--duration",
        "0.2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
}
