//! The `rtpsynth` binary end to end, with nothing but itself: help, every
//! kind of bad option and bad file, send -> recv over loopback (IPv4 and
//! IPv6), signals, captures of every supported format, load.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

// ---------------------------------------------------------------- help

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["send", "--help"],
        vec!["recv", "--help"],
        vec!["load", "--help"],
        vec!["help", "send"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("Examples:"), "{args:?}: {text}");
    }
    let o = run(&["recv", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--listen",
        "--pcap",
        "--port",
        "--codec",
        "--pt",
        "--dtmf-pt",
        "--out",
        "--duration",
        "--playout",
        "--rtcp",
        "--rtcp-mux",
        "--latch",
        "--tcp",
        "--stun",
        "--nack",
        "--stats",
    ] {
        assert!(text.contains(opt), "recv --help lacks {opt}");
    }
    let o = run(&["send", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--to",
        "--bind",
        "--codec",
        "--pt",
        "--ptime",
        "--tone",
        "--input",
        "--duration",
        "--bitrate",
        "--dtmf",
        "--dtmf-pt",
        "--dtmf-ms",
        "--dtmf-gap",
        "--rtcp",
        "--rtcp-mux",
        "--ssrc",
        "--tcp",
        "--sdp",
        "--stats",
        "--fps",
        "--mtu",
        "--nack",
    ] {
        assert!(text.contains(opt), "send --help lacks {opt}");
    }
}

// ------------------------------------------------------- bad options

/// Exit 2, a short message on stderr, never a panic.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let o = run_for(args, Duration::from_secs(30));
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(err.lines().count() <= 6, "{args:?}: {err}");
    assert!(
        err.to_lowercase().contains(&mentions.to_lowercase()),
        "{args:?}: expected '{mentions}' in: {err}"
    );
}

#[test]
fn bad_options_exit_2() {
    let d = scratch("badopts");
    let text = d.join("text.wav");
    std::fs::write(&text, "this is not a WAV file").unwrap();
    let text = text.to_str().unwrap();
    let missing = d.join("missing.wav");
    let missing = missing.to_str().unwrap();
    let to = "127.0.0.1:9";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "usage"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["send"], "--to"),
        (vec!["send", "--to", "127.0.0.1"], "HOST:PORT"),
        (vec!["send", "--to", "localhost:5004"], "numeric"),
        (vec!["send", "--to", "::1:5004"], "HOST:PORT"),
        (vec!["send", "--to", to, "--codec", "g729"], "g729"),
        (vec!["send", "--to", to, "--pt", "128"], "128"),
        (vec!["send", "--to", to, "--pt", "x"], "--pt"),
        (vec!["send", "--to", to, "--ptime", "0"], "--ptime"),
        (vec!["send", "--to", to, "--ptime", "500"], "--ptime"),
        (
            vec!["send", "--to", to, "--codec", "opus", "--ptime", "30"],
            "opus",
        ),
        (vec!["send", "--to", to, "--tone", "-5"], "--tone"),
        (vec!["send", "--to", to, "--fps", "25"], "video"),
        (vec!["send", "--to", to, "--mtu", "1000"], "video"),
        (vec!["send", "--to", to, "--codec", "h264"], "--input"),
        (
            vec!["send", "--to", to, "--codec", "vp8", "--tone", "440"],
            "--tone",
        ),
        (
            vec!["send", "--to", to, "--codec", "vp9", "--input", text],
            "IVF",
        ),
        (
            vec!["send", "--to", to, "--codec", "h264", "--input", text],
            "no h264 frames",
        ),
        (
            vec!["send", "--to", to, "--codec", "vp8", "--input", missing],
            "--input",
        ),
        (
            vec![
                "send", "--to", to, "--codec", "vp8", "--input", text, "--mtu", "10",
            ],
            "--mtu",
        ),
        (
            vec![
                "send", "--to", to, "--codec", "vp8", "--input", text, "--fps", "0",
            ],
            "--fps",
        ),
        (
            vec![
                "recv",
                "--listen",
                "127.0.0.1:0",
                "--codec",
                "vp8",
                "--playout",
                "adaptive",
            ],
            "audio",
        ),
        (vec!["send", "--to", to, "--tone", "4000"], "--tone"),
        (vec!["send", "--to", to, "--tone", "abc"], "--tone"),
        (
            vec!["send", "--to", to, "--tone", "440", "--input", text],
            "--input",
        ),
        (vec!["send", "--to", to, "--input", missing], "missing.wav"),
        (vec!["send", "--to", to, "--input", text], "text.wav"),
        (vec!["send", "--to", to, "--duration", "0"], "--duration"),
        (vec!["send", "--to", to, "--duration", "-1"], "--duration"),
        (vec!["send", "--to", to, "--duration", "soon"], "--duration"),
        (vec!["send", "--to", to, "--bitrate", "10"], "--bitrate"),
        (vec!["send", "--to", to, "--ssrc", "-1"], "--ssrc"),
        (vec!["send", "--to", to, "--ssrc", "4294967296"], "--ssrc"),
        (
            vec!["send", "--to", to, "--sdp", "/nonexistent/dir/s.sdp"],
            "--sdp",
        ),
        (
            vec!["send", "--to", to, "--stats", "/nonexistent/dir/s.json"],
            "--stats",
        ),
        (vec!["send", "--to", to, "--loud"], "--loud"),
        (vec!["recv"], "--listen"),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--pcap", text],
            "--pcap",
        ),
        (vec!["recv", "--listen", "127.0.0.1"], "HOST:PORT"),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--port", "5004"],
            "--port",
        ),
        (vec!["recv", "--pcap", missing], "missing.wav"),
        (vec!["recv", "--pcap", text], "not a pcap"),
        (vec!["recv", "--pcap", text, "--port", "70000"], "--port"),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--codec", "speex"],
            "speex",
        ),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--playout", "sometimes"],
            "--playout",
        ),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--playout", "fixed:x"],
            "--playout",
        ),
        (
            vec![
                "recv",
                "--listen",
                "127.0.0.1:0",
                "--playout",
                "adaptive:50:10",
            ],
            "--playout",
        ),
        (
            vec!["recv", "--listen", "127.0.0.1:0", "--duration", "0"],
            "--duration",
        ),
        (
            vec![
                "recv",
                "--listen",
                "127.0.0.1:0",
                "--out",
                "/nonexistent/dir/o.wav",
            ],
            "--out",
        ),
        (
            vec![
                "recv",
                "--listen",
                "127.0.0.1:0",
                "--stats",
                "/nonexistent/dir/o.json",
            ],
            "--stats",
        ),
        (vec!["load", "--to", to], "--channels"),
        (vec!["load", "--channels", "2"], "--to"),
        (vec!["load", "--to", to, "--channels", "0"], "--channels"),
        (
            vec!["load", "--to", to, "--channels", "2", "--pps", "0"],
            "--pps",
        ),
        (
            vec!["load", "--to", to, "--channels", "2", "--duration", "0"],
            "--duration",
        ),
        (
            vec!["load", "--to", "127.0.0.1:65530", "--channels", "10"],
            "port",
        ),
        (
            vec!["load", "--to", to, "--channels", "2", "--codec", "vp8"],
            "video codec",
        ),
    ];
    for (args, mentions) in &cases {
        assert_usage_error(args, mentions);
    }
    let empty = d.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    assert_usage_error(&["recv", "--pcap", empty.to_str().unwrap()], "empty");
    let dir = d.to_str().unwrap();
    assert_usage_error(&["recv", "--pcap", dir], "--pcap");
    assert_usage_error(&["send", "--to", to, "--input", dir], "--input");
}

#[test]
fn options_of_another_kind_of_stream_are_refused_clearly() {
    let to = "127.0.0.1:9";
    let l = "127.0.0.1:0";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // retransmission is for video
        (
            vec!["send", "--to", to, "--nack", "--rtcp"],
            "for video codecs",
        ),
        (
            vec!["recv", "--listen", l, "--nack", "--rtcp"],
            "for video codecs",
        ),
        // NACKs travel in RTCP
        (
            vec!["send", "--to", to, "--codec", "h264", "--nack"],
            "--nack needs --rtcp or --rtcp-mux",
        ),
        (
            vec!["recv", "--listen", l, "--codec", "vp8", "--nack"],
            "--nack needs --rtcp or --rtcp-mux",
        ),
        // telephone events go with audio
        (
            vec!["send", "--to", to, "--codec", "vp9", "--dtmf", "1@1"],
            "telephone events",
        ),
        (
            vec!["send", "--to", to, "--codec", "vp8", "--dtmf-ms", "80"],
            "telephone events",
        ),
        (
            vec!["recv", "--listen", l, "--codec", "h264", "--dtmf-pt", "101"],
            "telephone events",
        ),
    ];
    for (args, mentions) in &cases {
        let o = run(args);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(mentions), "{args:?}: {err}");
        assert!(!err.contains("not in this build"), "{args:?}: {err}");
    }
}

#[test]
fn runtime_failures_exit_1() {
    // A port already taken.
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let o = run(&["recv", "--listen", &addr, "--duration", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("cannot listen"), "{}", stderr_of(&o));
    // An address that is not ours.
    let o = run(&[
        "send",
        "--to",
        "127.0.0.1:9",
        "--bind",
        "192.0.2.1:0",
        "--duration",
        "0.1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_of(&o));
    assert!(!stderr_of(&o).contains("panicked"));
}

// --------------------------------------------------- send -> recv

fn send_recv(
    codec: &str,
    listen: &str,
    to_host: &str,
    dur: &str,
    extra: &[&str],
) -> (Vec<i16>, u32, serde_json::Value, serde_json::Value) {
    let d = scratch(&format!("sr-{codec}"));
    let wav = d.join("r.wav");
    let rstats = d.join("r.json");
    let sstats = d.join("s.json");
    let rx = LiveRecv::start(&[
        "--listen",
        listen,
        "--codec",
        codec,
        "--duration",
        "30",
        "--out",
        wav.to_str().unwrap(),
        "--stats",
        rstats.to_str().unwrap(),
    ]);
    let to = format!("{to_host}:{}", rx.addr.port());
    let mut args = vec![
        "send",
        "--to",
        &to,
        "--codec",
        codec,
        "--duration",
        dur,
        "--stats",
        sstats.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    std::thread::sleep(Duration::from_millis(300));
    let st = rx.terminate();
    assert_eq!(st.code(), Some(0));
    let (rate, ch, s) = read_wav(&wav);
    assert_eq!(ch, 1);
    (s, rate, read_json(&rstats), read_json(&sstats))
}

#[test]
fn send_recv_pcmu_is_sample_exact() {
    let (got, rate, rj, sj) =
        send_recv("pcmu", "127.0.0.1:0", "127.0.0.1", "1", &["--tone", "1000"]);
    assert_eq!(rate, 8000);
    let want = g711_round_trip(&tone(1000.0, 8000, 8000), false);
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "decoded PCMU differs from the tone through G.711"
    );
    let s = &rj["streams"][0];
    assert_eq!(s["packets"], 50);
    assert_eq!(s["octets"], 8000);
    assert_eq!(s["lost"], 0);
    assert_eq!(s["duplicates"], 0);
    assert_eq!(s["late"], 0);
    assert_eq!(s["pt"], 0);
    assert_eq!(s["ssrc"], sj["streams"][0]["ssrc"]);
    assert_eq!(sj["streams"][0]["packets"], 50);
    for key in [
        "jitter_ms",
        "max_jitter_ms",
        "rtcp_sent",
        "rtcp_received",
        "rtt_ms",
    ] {
        assert!(s.get(key).is_some(), "stats lack {key}");
    }
}

#[test]
fn send_recv_pcma_ipv6_ptime_30_is_sample_exact() {
    let (got, rate, rj, _) = send_recv(
        "pcma",
        "[::1]:0",
        "[::1]",
        "0.6",
        &["--tone", "440", "--ptime", "30", "--ssrc", "305419896"],
    );
    assert_eq!(rate, 8000);
    // 0.6 s at 30 ms: 20 packets of 240 samples
    let want = g711_round_trip(&tone(440.0, 8000, 20 * 240), true);
    assert!(
        got == want,
        "decoded PCMA differs ({} vs {} samples)",
        got.len(),
        want.len()
    );
    assert_eq!(rj["streams"][0]["ssrc"], 305419896u32);
    assert_eq!(rj["streams"][0]["pt"], 8);
}

#[test]
fn send_recv_l16_file_input_is_exact() {
    let d = scratch("l16in");
    let input = d.join("in.wav");
    // 0.5 s of a ramp-ish signal at 8 kHz stereo (mixed to mono by send)
    let mono: Vec<i16> = (0..4000)
        .map(|i| ((i * 37) % 20000 - 10000) as i16)
        .collect();
    let stereo: Vec<i16> = mono.iter().flat_map(|&s| [s, s]).collect();
    write_wav(&input, 8000, 2, &stereo);
    let (got, rate, rj, _) = send_recv(
        "l16",
        "127.0.0.1:0",
        "127.0.0.1",
        "10",
        &["--input", input.to_str().unwrap()],
    );
    assert_eq!(rate, 8000);
    assert_eq!(rj["streams"][0]["pt"], 96);
    assert_eq!(got, mono);
}

#[test]
fn send_recv_opus_carries_the_tone() {
    let (got, rate, rj, _) =
        send_recv("opus", "127.0.0.1:0", "127.0.0.1", "1", &["--tone", "1000"]);
    assert_eq!(rate, 48000);
    assert_eq!(got.len(), 48000);
    assert_eq!(rj["streams"][0]["pt"], 111);
    assert_eq!(rj["streams"][0]["packets"], 50);
    let tail = &got[9600..];
    let purity = tone_purity(tail, 1000.0, 48000);
    assert!(purity > 0.9, "1 kHz holds {purity} of the energy");
    let rms = (tail.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
    assert!((rms - 11585.0).abs() < 2000.0, "rms {rms}");
}

#[test]
fn sigterm_and_sigint_still_write_outputs() {
    for sig in ["TERM", "INT"] {
        let d = scratch("sig");
        let wav = d.join("r.wav");
        let js = d.join("r.json");
        let rx = LiveRecv::start(&[
            "--listen",
            "127.0.0.1:0",
            "--out",
            wav.to_str().unwrap(),
            "--stats",
            js.to_str().unwrap(),
        ]);
        let to = rx.addr.to_string();
        let o = run(&["send", "--to", &to, "--duration", "0.4"]);
        assert_eq!(o.status.code(), Some(0));
        std::thread::sleep(Duration::from_millis(200));
        let pid = rx.child.id();
        signal(pid, sig);
        let st = rx.wait(Duration::from_secs(20));
        assert_eq!(st.code(), Some(0), "after SIG{sig}");
        let (_, _, s) = read_wav(&wav);
        assert_eq!(s.len(), 20 * 160);
        assert_eq!(read_json(&js)["streams"][0]["packets"], 20);
    }
    // A sender stopped early still writes its statistics.
    let d = scratch("sigsend");
    let js = d.join("s.json");
    let mut child = std::process::Command::new(bin())
        .args([
            "send",
            "--to",
            "127.0.0.1:9",
            "--stats",
            js.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "INT");
    let st = wait_bounded(&mut child, Duration::from_secs(20));
    assert_eq!(st.code(), Some(0));
    let n = read_json(&js)["streams"][0]["packets"].as_u64().unwrap();
    assert!(n > 0);
}

#[test]
fn recv_duration_ends_reception() {
    let d = scratch("dur");
    let wav = d.join("r.wav");
    let t0 = std::time::Instant::now();
    let o = run(&[
        "recv",
        "--listen",
        "127.0.0.1:0",
        "--duration",
        "0.5",
        "--out",
        wav.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(t0.elapsed() < Duration::from_secs(10));
    let (rate, _, s) = read_wav(&wav);
    assert_eq!((rate, s.len()), (8000, 0));
}

#[test]
fn send_writes_an_sdp_first() {
    let d = scratch("sdp");
    let sdp = d.join("s.sdp");
    let o = run(&[
        "send",
        "--to",
        "127.0.0.1:9",
        "--codec",
        "l16",
        "--duration",
        "0.1",
        "--sdp",
        sdp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let t = std::fs::read_to_string(&sdp).unwrap();
    assert!(t.starts_with("v=0\r\n"), "{t}");
    assert!(t.contains("c=IN IP4 127.0.0.1\r\n"), "{t}");
    assert!(t.contains("m=audio 9 RTP/AVP 96\r\n"), "{t}");
    assert!(t.contains("a=rtpmap:96 L16/8000/1\r\n"), "{t}");
}

#[test]
fn load_sends_every_stream_to_its_port() {
    let d = scratch("load");
    let js = d.join("l.json");
    // Four receivers on PORT, PORT+2, PORT+4, PORT+6.
    let socks: Vec<std::net::UdpSocket> = (0..50)
        .find_map(|_| {
            let base = free_port();
            if base % 2 == 1 || base > 65000 {
                return None;
            }
            (0..4)
                .map(|i| std::net::UdpSocket::bind(("127.0.0.1", base + 2 * i)).ok())
                .collect::<Option<Vec<_>>>()
        })
        .expect("four ports");
    let base = socks[0].local_addr().unwrap().port();
    let to = format!("127.0.0.1:{base}");
    let o = run(&[
        "load",
        "--to",
        &to,
        "--channels",
        "4",
        "--pps",
        "100",
        "--duration",
        "1",
        "--stats",
        js.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let j = read_json(&js);
    assert_eq!(j["channels"], 4);
    let pkts = j["packets"].as_u64().unwrap();
    assert_eq!(pkts, 400);
    assert_eq!(j["queue_full"], 0);
    assert!(j["pps"].as_f64().unwrap() > 200.0);
    let mut buf = [0u8; 2048];
    for s in &socks {
        s.set_nonblocking(true).unwrap();
        let mut n = 0;
        let mut ssrcs = std::collections::HashSet::new();
        while let Ok(len) = s.recv(&mut buf) {
            assert_eq!(len, 12 + 80); // 10 ms of PCMU at 100 pps
            assert_eq!(buf[1] & 0x7f, 0);
            ssrcs.insert(buf[8..12].to_vec());
            n += 1;
        }
        assert_eq!(n, 100, "packets on one stream");
        assert_eq!(ssrcs.len(), 1);
    }
}

// ------------------------------------------------------- captures

/// RTP packets of one PCMU stream: (seq, ts, payload).
fn pcmu_stream(n: usize, ssrc: u32) -> Vec<Vec<u8>> {
    let pcm = tone(700.0, 8000, n * 160);
    (0..n)
        .map(|i| {
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&(65530u16.wrapping_add(i as u16)).to_be_bytes());
            p.extend_from_slice(&(1000 + i as u32 * 160).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend(
                pcm[i * 160..(i + 1) * 160]
                    .iter()
                    .map(|&s| rtpsynth::codec::g711::linear2ulaw(s)),
            );
            p
        })
        .collect()
}

fn ip_udp(v6: bool, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let ulen = (8 + payload.len()) as u16;
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&ulen.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut p = Vec::new();
    if v6 {
        p.extend_from_slice(&[0x60, 0, 0, 0]);
        p.extend_from_slice(&ulen.to_be_bytes());
        p.extend_from_slice(&[17, 64]);
        let mut a = [0u8; 16];
        a[15] = 1;
        p.extend_from_slice(&a);
        a[15] = 2;
        p.extend_from_slice(&a);
    } else {
        let tot = 20 + ulen;
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&tot.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    }
    p.extend_from_slice(&udp);
    p
}

#[derive(Clone, Copy, Debug)]
enum Link {
    Ethernet,
    Sll,
    Sll2,
    Raw,
}

fn frame(link: Link, v6: bool, ip: &[u8]) -> Vec<u8> {
    let et: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut f = Vec::new();
    match link {
        Link::Ethernet => {
            f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
            f.extend_from_slice(&et);
        }
        Link::Sll => {
            f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            f.extend_from_slice(&et);
        }
        Link::Sll2 => {
            f.extend_from_slice(&et);
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        Link::Raw => {}
    }
    f.extend_from_slice(ip);
    f
}

fn linktype(l: Link) -> u32 {
    match l {
        Link::Ethernet => 1,
        Link::Sll => 113,
        Link::Sll2 => 276,
        Link::Raw => 101,
    }
}

/// A classic pcap (microsecond or nanosecond) or a pcapng file.
fn write_capture(path: &Path, link: Link, ng: bool, nanos: bool, frames: &[(u64, Vec<u8>)]) {
    let mut f = Vec::new();
    let lt = linktype(link);
    if ng {
        // Section header block
        f.extend_from_slice(&0x0a0d0d0au32.to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        f.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        f.extend_from_slice(&[1, 0, 0, 0]);
        f.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        // Interface description block with if_tsresol = 9 (ns)
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&32u32.to_le_bytes());
        f.extend_from_slice(&(lt as u16).to_le_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]);
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&32u32.to_le_bytes());
        for (ts, data) in frames {
            let pad = (4 - data.len() % 4) % 4;
            let len = 32 + data.len() + pad;
            f.extend_from_slice(&6u32.to_le_bytes());
            f.extend_from_slice(&(len as u32).to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes());
            f.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            f.extend_from_slice(&(*ts as u32).to_le_bytes());
            f.extend_from_slice(&(data.len() as u32).to_le_bytes());
            f.extend_from_slice(&(data.len() as u32).to_le_bytes());
            f.extend_from_slice(data);
            f.extend(std::iter::repeat(0).take(pad));
            f.extend_from_slice(&(len as u32).to_le_bytes());
        }
    } else {
        let magic: u32 = if nanos { 0xa1b23c4d } else { 0xa1b2c3d4 };
        f.extend_from_slice(&magic.to_le_bytes());
        f.extend_from_slice(&[2, 0, 4, 0]);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&lt.to_le_bytes());
        for (ts, data) in frames {
            let frac = if nanos {
                ts % 1_000_000_000
            } else {
                ts % 1_000_000_000 / 1000
            };
            f.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
            f.extend_from_slice(&(frac as u32).to_le_bytes());
            f.extend_from_slice(&(data.len() as u32).to_le_bytes());
            f.extend_from_slice(&(data.len() as u32).to_le_bytes());
            f.extend_from_slice(data);
        }
    }
    std::fs::write(path, f).unwrap();
}

/// What the PCMU stream decodes to.
fn expected_pcmu(n: usize) -> Vec<i16> {
    g711_round_trip(&tone(700.0, 8000, n * 160), false)
}

/// A capture with noise around the stream: a datagram to port 53 that
/// happens to parse as RTP, the stream's RTCP on its port (mux) and on
/// port + 1 (one before the first RTP packet, one after), RTCP of another
/// SSRC to an unrelated port, and a second RTP stream to port 6000 that
/// starts later.
fn busy_capture(link: Link, v6: bool) -> Vec<(u64, Vec<u8>)> {
    let main = pcmu_stream(30, 0x11111111);
    let other = pcmu_stream(10, 0x22222222);
    let mut frames = Vec::new();
    let mut t = 1_700_000_000_000_000_000u64;
    let mut dns = vec![0x80, 0x01, 0x00, 0x01];
    dns.extend_from_slice(&[0u8; 20]);
    frames.push((t, frame(link, v6, &ip_udp(v6, 3333, 53, &dns))));
    let sr = |ssrc: u8| {
        let mut p = vec![0x80, 200, 0, 6];
        p.extend_from_slice(&[ssrc; 4]);
        p.extend_from_slice(&[0; 20]);
        p
    };
    for (i, p) in main.iter().enumerate() {
        t += 20_000_000;
        if i == 0 {
            // Before the first RTP packet, at the same time.
            frames.push((t, frame(link, v6, &ip_udp(v6, 4001, 5005, &sr(0x11)))));
            frames.push((t, frame(link, v6, &ip_udp(v6, 4001, 7001, &sr(0x33)))));
        }
        frames.push((t, frame(link, v6, &ip_udp(v6, 4000, 5004, p))));
        if i == 5 {
            let rtcp = [
                0x80, 200, 0, 6, 0x11, 0x11, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0,
            ];
            frames.push((t, frame(link, v6, &ip_udp(v6, 4000, 5004, &rtcp))));
        }
        if i == 20 {
            frames.push((t, frame(link, v6, &ip_udp(v6, 4001, 5005, &sr(0x11)))));
            frames.push((t, frame(link, v6, &ip_udp(v6, 4001, 7001, &sr(0x33)))));
        }
        if i >= 10 && i - 10 < other.len() {
            frames.push((t, frame(link, v6, &ip_udp(v6, 4002, 6000, &other[i - 10]))));
        }
    }
    frames
}

fn recv_pcap(path: &Path, extra: &[&str]) -> (std::process::Output, Vec<i16>, serde_json::Value) {
    let d = path.parent().unwrap();
    let wav = d.join("p.wav");
    let js = d.join("p.json");
    let mut args = vec![
        "recv",
        "--pcap",
        path.to_str().unwrap(),
        "--out",
        wav.to_str().unwrap(),
        "--stats",
        js.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let (_, _, s) = read_wav(&wav);
    (o, s, read_json(&js))
}

#[test]
fn captures_of_every_format() {
    for (link, v6, ng, nanos) in [
        (Link::Ethernet, false, false, false),
        (Link::Ethernet, true, true, false),
        (Link::Sll, true, false, false),
        (Link::Sll, false, true, false),
        (Link::Sll2, false, false, true),
        (Link::Sll2, true, true, false),
        (Link::Raw, true, false, false),
        (Link::Raw, false, false, true),
    ] {
        let d = scratch("cap");
        let path = d.join(if ng { "c.pcapng" } else { "c.pcap" });
        write_capture(&path, link, ng, nanos, &busy_capture(link, v6));
        let what = format!("{link:?} v6={v6} ng={ng} ns={nanos}");
        let (o, s, j) = recv_pcap(&path, &[]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr_of(&o));
        assert!(s == expected_pcmu(30), "{what}: {} samples", s.len());
        let streams = j["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 1, "{what}");
        assert_eq!(streams[0]["ssrc"], 0x11111111);
        assert_eq!(streams[0]["packets"], 30);
        assert_eq!(streams[0]["lost"], 0);
        // Its RTCP: once on the RTP port, twice on port + 1.
        assert_eq!(streams[0]["rtcp_received"], 3, "{what}");
        assert_eq!(streams[0]["rtcp_sent"], 0, "{what}");
        // The other flow, by port.
        let (o, s, j) = recv_pcap(&path, &["--port", "6000"]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr_of(&o));
        assert!(s == expected_pcmu(10), "{what}: --port 6000");
        assert_eq!(j["streams"][0]["ssrc"], 0x22222222);
    }
}

#[test]
fn capture_with_loss_reordering_and_duplicates() {
    let d = scratch("capx");
    let path = d.join("c.pcap");
    let main = pcmu_stream(20, 7);
    let mut order: Vec<usize> = (0..20).filter(|&i| i != 4 && i != 5).collect();
    order.swap(8, 9);
    order.insert(12, 12);
    let frames: Vec<(u64, Vec<u8>)> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            (
                k as u64 * 20_000_000,
                frame(Link::Raw, false, &ip_udp(false, 1, 5004, &main[i])),
            )
        })
        .collect();
    write_capture(&path, Link::Raw, false, false, &frames);
    let (o, s, j) = recv_pcap(&path, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let mut want = expected_pcmu(20);
    want[4 * 160..6 * 160].fill(0); // two packets lost: silence
    assert!(s == want, "{} samples", s.len());
    let st = &j["streams"][0];
    assert_eq!(st["packets"], 19);
    assert_eq!(st["duplicates"], 1);
    assert_eq!(st["lost"], 1); // 20 expected, 19 received with one duplicate
}

#[test]
fn truncated_capture_is_processed_to_the_cut() {
    for ng in [false, true] {
        let d = scratch("trunc");
        let path = d.join("t.cap");
        write_capture(
            &path,
            Link::Ethernet,
            ng,
            false,
            &busy_capture(Link::Ethernet, false),
        );
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 100]).unwrap();
        let (o, s, j) = recv_pcap(&path, &[]);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("truncated"), "{err}");
        assert!(!err.contains("panicked"));
        // The last RTP packet is the one cut: 29 of 30 decoded.
        assert!(s == expected_pcmu(29), "ng={ng}: {} samples", s.len());
        assert_eq!(j["streams"][0]["packets"], 29);
    }
}

#[test]
fn capture_duration_is_capture_time() {
    let d = scratch("capdur");
    let path = d.join("c.pcap");
    write_capture(
        &path,
        Link::Raw,
        false,
        false,
        &busy_capture(Link::Raw, false),
    );
    // Packets every 20 ms from the first: 0.2 s holds 10 of them.
    let (o, s, _) = recv_pcap(&path, &["--duration", "0.2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(s.len(), 10 * 160);
}
