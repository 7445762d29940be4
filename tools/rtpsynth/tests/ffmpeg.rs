//! Interoperability with ffmpeg (and GStreamer): `send --sdp` is received
//! by them, and what ffmpeg streams, `recv` decodes exactly as ffmpeg's
//! own decoder does. Loopback only; each run bounded in time.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Run an external program within `limit`; its stderr on failure.
fn external(prog: &str, args: &[&str], limit: Duration) -> std::process::ExitStatus {
    let mut c = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    wait_bounded(&mut c, limit)
}

/// `send --sdp` in the background; returns when the SDP file exists.
fn start_send(args: &[&str], sdp: &Path) -> std::process::Child {
    let mut full = vec!["send", "--sdp", sdp.to_str().unwrap()];
    full.extend_from_slice(args);
    let child = Command::new(bin())
        .args(&full)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn send");
    let end = Instant::now() + Duration::from_secs(20);
    while !sdp.exists() {
        assert!(Instant::now() < end, "no SDP written");
        std::thread::sleep(Duration::from_millis(10));
    }
    // the file is written in one call; give it a moment to be complete
    std::thread::sleep(Duration::from_millis(20));
    child
}

/// ffmpeg receives `seconds` of the stream described by `sdp` into a WAV.
fn ffmpeg_receive(sdp: &Path, out: &Path, seconds: &str) {
    let st = external(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-protocol_whitelist",
            "file,udp,rtp",
            "-i",
            sdp.to_str().unwrap(),
            "-t",
            seconds,
            "-ac",
            "1",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(st.success(), "ffmpeg failed to receive");
}

#[test]
fn ffmpeg_receives_send_sdp_pcmu_bit_exact() {
    need!("ffmpeg");
    let d = scratch("ff-sdp-pcmu");
    let sdp = d.join("s.sdp");
    let out = d.join("ff.wav");
    let port = free_port().to_string();
    let to = format!("127.0.0.1:{port}");
    let mut tx = start_send(&["--to", &to, "--tone", "440", "--duration", "4"], &sdp);
    ffmpeg_receive(&sdp, &out, "1.5");
    let _ = wait_bounded(&mut tx, Duration::from_secs(30));
    let (rate, _, got) = read_wav(&out);
    assert_eq!(rate, 8000);
    assert!(got.len() >= 8000, "ffmpeg decoded {} samples", got.len());
    // ffmpeg may have missed the first packets while starting: the middle of
    // what it decoded is a run of the tone through G.711, sample for sample.
    let want = g711_round_trip(&tone(440.0, 8000, 4 * 8000), false);
    let window = &got[2000..6000];
    assert!(
        find(&want, window).is_some(),
        "ffmpeg's decode is not the tone"
    );
}

#[test]
fn ffmpeg_receives_send_sdp_l16_and_opus() {
    need!("ffmpeg");
    for (codec, rate) in [("l16", 8000u32), ("opus", 48000)] {
        let d = scratch("ff-sdp");
        let sdp = d.join("s.sdp");
        let out = d.join("ff.wav");
        let to = format!("127.0.0.1:{}", free_port());
        let mut tx = start_send(
            &[
                "--to",
                &to,
                "--codec",
                codec,
                "--tone",
                "1000",
                "--duration",
                "4",
            ],
            &sdp,
        );
        ffmpeg_receive(&sdp, &out, "1.5");
        let _ = wait_bounded(&mut tx, Duration::from_secs(30));
        let (r, _, got) = read_wav(&out);
        assert_eq!(r, rate, "{codec}");
        let n = rate as usize;
        assert!(got.len() >= n, "{codec}: {} samples", got.len());
        let mid = &got[n / 4..n];
        if codec == "l16" {
            let want = tone(1000.0, 8000, 4 * 8000);
            assert!(find(&want, &mid[..2000]).is_some(), "L16 not bit-exact");
        }
        let purity = tone_purity(mid, 1000.0, rate);
        assert!(purity > 0.9, "{codec}: 1 kHz holds {purity} of the energy");
    }
}

#[test]
fn gstreamer_receives_send_sdp() {
    need!("gst-launch-1.0");
    let d = scratch("gst-sdp");
    let sdp = d.join("s.sdp");
    let out = d.join("gst.wav");
    let to = format!("127.0.0.1:{}", free_port());
    let mut tx = start_send(&["--to", &to, "--tone", "440", "--duration", "5"], &sdp);
    let location = format!("location={}", sdp.display());
    let sink = format!("location={}", out.display());
    let mut gst = Command::new("gst-launch-1.0")
        .args([
            "-e",
            "-q",
            "filesrc",
            &location,
            "!",
            "sdpdemux",
            "!",
            "rtppcmudepay",
            "!",
            "mulawdec",
            "!",
            "wavenc",
            "!",
            "filesink",
            &sink,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("gst-launch-1.0");
    std::thread::sleep(Duration::from_secs(2));
    signal(gst.id(), "INT"); // -e: EOS, the WAV is finalized
    let st = wait_bounded(&mut gst, Duration::from_secs(20));
    assert!(st.success());
    let _ = wait_bounded(&mut tx, Duration::from_secs(30));
    let (rate, _, got) = read_wav(&out);
    assert_eq!(rate, 8000);
    assert!(got.len() >= 2000, "GStreamer decoded {} samples", got.len());
    let want = g711_round_trip(&tone(440.0, 8000, 5 * 8000), false);
    let window = &got[got.len() / 2 - 500..got.len() / 2 + 500];
    assert!(
        find(&want, window).is_some(),
        "GStreamer's decode is not the tone"
    );
}

/// An ffmpeg-made G.711 file, its decode by ffmpeg, and that file streamed
/// by ffmpeg into a live `recv`.
fn ffmpeg_to_recv(codec: &str, fmt: &str) {
    let d = scratch(&format!("ff2recv-{codec}"));
    let raw = d.join("src.raw");
    let reference = d.join("ref.wav");
    let got = d.join("recv.wav");
    let stats = d.join("recv.json");
    let st = external(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=523:sample_rate=8000:duration=1.5",
            "-af",
            "volume=0.7",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-c:a",
            &format!("pcm_{codec}"),
            "-f",
            fmt,
            raw.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(st.success());
    let st = external(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            fmt,
            "-ar",
            "8000",
            "-ac",
            "1",
            "-i",
            raw.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(st.success());
    let pcm_codec = if codec == "mulaw" { "pcmu" } else { "pcma" };
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--codec",
        pcm_codec,
        "--duration",
        "60",
        "--out",
        got.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    let url = format!("rtp://127.0.0.1:{}", rx.addr.port());
    let st = external(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            fmt,
            "-ar",
            "8000",
            "-ac",
            "1",
            "-i",
            raw.to_str().unwrap(),
            "-c:a",
            "copy",
            "-f",
            "rtp",
            &url,
        ],
        Duration::from_secs(60),
    );
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.terminate().code(), Some(0));
    let (_, _, want) = read_wav(&reference);
    let (rate, _, have) = read_wav(&got);
    assert_eq!(rate, 8000);
    assert_eq!(have.len(), want.len(), "{codec}");
    assert!(have == want, "{codec}: recv's decode differs from ffmpeg's");
    let j = read_json(&stats);
    assert_eq!(j["streams"][0]["lost"], 0);
    assert_eq!(j["streams"][0]["octets"], want.len() as u64);
}

#[test]
fn ffmpeg_pcmu_stream_decodes_as_ffmpeg_does() {
    need!("ffmpeg");
    ffmpeg_to_recv("mulaw", "mulaw");
}

#[test]
fn ffmpeg_pcma_stream_decodes_as_ffmpeg_does() {
    need!("ffmpeg");
    ffmpeg_to_recv("alaw", "alaw");
}

/// Two ports, P and P + 1, P even, free a moment ago on 127.0.0.1.
fn free_pair() -> u16 {
    for _ in 0..100 {
        let p = free_port() & !1;
        if p < 1024 {
            continue;
        }
        let a = std::net::UdpSocket::bind(("127.0.0.1", p));
        let b = std::net::UdpSocket::bind(("127.0.0.1", p + 1));
        if a.is_ok() && b.is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

/// ffmpeg streams PCMU with its RTCP (an SR before the first RTP packet);
/// `recv` counts that RTCP under ffmpeg's SSRC.
fn ffmpeg_rtcp_to_recv(flag: &str) {
    let d = scratch(&format!("ff-rtcp{flag}"));
    let js = d.join("r.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        flag,
        "--duration",
        "30",
        "--stats",
        js.to_str().unwrap(),
    ]);
    let port = rx.addr.port();
    // ffmpeg sends RTCP to port + 1 unless told `rtcpport`.
    let url = if flag == "--rtcp-mux" {
        format!("rtp://127.0.0.1:{port}?rtcpport={port}")
    } else {
        format!("rtp://127.0.0.1:{port}")
    };
    let st = external(
        "ffmpeg",
        &[
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=8000",
            "-t",
            "1",
            "-ac",
            "1",
            "-c:a",
            "pcm_mulaw",
            "-f",
            "rtp",
            &url,
        ],
        Duration::from_secs(60),
    );
    assert!(st.success(), "ffmpeg failed to send");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.terminate().code(), Some(0));
    let j = read_json(&js);
    let streams = j["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{j}");
    let s = &streams[0];
    assert!(s["packets"].as_u64().unwrap() > 0, "{s}");
    assert!(s["rtcp_received"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn ffmpeg_rtcp_on_port_plus_one_is_counted() {
    need!("ffmpeg");
    ffmpeg_rtcp_to_recv("--rtcp");
}

#[test]
fn ffmpeg_rtcp_muxed_is_counted() {
    need!("ffmpeg");
    ffmpeg_rtcp_to_recv("--rtcp-mux");
}

/// GStreamer's rtpbin receives `send --rtcp` and answers with receiver
/// reports (to our RTCP port, the RTP port + 1): `send`'s stats show what
/// they said. (ffmpeg as a receiver is not used: without an SDP its RTP
/// input probes by reopening its port, and with one it sends its reports
/// to the SDP's own address.)
#[test]
fn gstreamer_rtpbin_reports_reach_send() {
    need!("gst-launch-1.0");
    let d = scratch("gst-rtcp");
    let js = d.join("s.json");
    let ours = free_pair();
    let theirs = free_pair();
    let caps = "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0";
    let pipeline = format!(
        "rtpbin name=rb udpsrc port={theirs} caps={caps} ! rb.recv_rtp_sink_0 \
         udpsrc port={} ! rb.recv_rtcp_sink_0 \
         rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={} sync=false async=false \
         rb. ! rtppcmudepay ! fakesink",
        theirs + 1,
        ours + 1
    );
    let mut gst = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("gst-launch-1.0");
    std::thread::sleep(Duration::from_millis(1000));
    let o = run(&[
        "send",
        "--bind",
        &format!("127.0.0.1:{ours}"),
        "--to",
        &format!("127.0.0.1:{theirs}"),
        "--rtcp",
        "--duration",
        "5",
        "--stats",
        js.to_str().unwrap(),
    ]);
    let _ = gst.kill();
    let _ = wait_bounded(&mut gst, Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let s = &read_json(&js)["streams"][0];
    assert!(
        s["rtcp_received"].as_u64().unwrap() >= 1,
        "no RR from rtpbin: {s}"
    );
    assert_eq!(s["remote_fraction_lost"], 0.0, "{s}");
    // rtpbin starts counting after its probation: its figure may be off
    // by a packet or two, never a real loss on loopback.
    let lost = s["remote_cumulative_lost"].as_i64().expect("remote lost");
    assert!((-2..=0).contains(&lost), "{s}");
    assert!(s["remote_jitter_ms"].as_f64().is_some(), "{s}");
    if let Some(rtt) = s["rtt_ms"].as_f64() {
        assert!((0.0..1000.0).contains(&rtt), "{s}");
    }
}
