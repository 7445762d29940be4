//! A real capture: dumpcap (the capture engine of tshark/Wireshark) records
//! an ffmpeg RTP stream on the loopback interface (Ethernet framing, pcapng)
//! and on "any" (Linux cooked framing, classic pcap) while `recv` receives
//! it live; `recv --pcap` of either capture gives the same WAV and the same
//! counters as live reception.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Start dumpcap on `iface` for UDP port `port`; returns once it captures.
fn start_dumpcap(iface: &str, port: u16, out: &Path, pcap: bool) -> Child {
    let filter = format!("udp port {port}");
    let mut args = vec![
        "-q",
        "-i",
        iface,
        "-f",
        &filter,
        "-w",
        out.to_str().unwrap(),
    ];
    if pcap {
        args.push("-P");
    }
    let mut child = Command::new("dumpcap")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dumpcap");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(l) if l.contains("Capturing on") => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dumpcap did not start capturing on {iface}");
            }
        }
    }
    // Capturing has begun once it says so; leave a margin for the filter.
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn stop(mut c: Child) {
    signal(c.id(), "TERM");
    let st = wait_bounded(&mut c, Duration::from_secs(20));
    assert!(st.success() || st.code() == Some(0) || st.code().is_none());
}

#[test]
fn capture_of_an_ffmpeg_stream_equals_live_reception() {
    need!("ffmpeg");
    need!("dumpcap");
    let d = scratch("capture");
    let live_wav = d.join("live.wav");
    let live_json = d.join("live.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--duration",
        "60",
        "--out",
        live_wav.to_str().unwrap(),
        "--stats",
        live_json.to_str().unwrap(),
    ]);
    let port = rx.addr.port();
    let lo = d.join("lo.pcapng");
    let any = d.join("any.pcap");
    let cap_lo = start_dumpcap("lo", port, &lo, false);
    let cap_any = start_dumpcap("any", port, &any, true);
    let url = format!("rtp://127.0.0.1:{port}");
    let mut ff = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:sample_rate=8000:duration=1.5",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-c:a",
            "pcm_mulaw",
            "-f",
            "rtp",
            &url,
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg");
    assert!(wait_bounded(&mut ff, Duration::from_secs(60)).success());
    std::thread::sleep(Duration::from_millis(500));
    stop(cap_lo);
    stop(cap_any);
    assert_eq!(rx.terminate().code(), Some(0));
    let (_, _, live) = read_wav(&live_wav);
    let live_stats = read_json(&live_json);
    assert!(
        live.len() >= 8000,
        "live reception got {} samples",
        live.len()
    );
    for cap in [&lo, &any] {
        let wav = d.join("from-capture.wav");
        let js = d.join("from-capture.json");
        let o = run(&[
            "recv",
            "--pcap",
            cap.to_str().unwrap(),
            "--out",
            wav.to_str().unwrap(),
            "--stats",
            js.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            cap.display(),
            stderr_of(&o)
        );
        let (_, _, got) = read_wav(&wav);
        assert!(
            got == live,
            "{}: {} vs {} samples",
            cap.display(),
            got.len(),
            live.len()
        );
        let s = &read_json(&js)["streams"][0];
        let l = &live_stats["streams"][0];
        for key in ["ssrc", "pt", "packets", "octets", "lost", "duplicates"] {
            assert_eq!(s[key], l[key], "{}: {key}", cap.display());
        }
        // and again with the port named
        let o = run(&[
            "recv",
            "--pcap",
            cap.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--out",
            wav.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        assert!(read_wav(&wav).2 == live);
    }
}
