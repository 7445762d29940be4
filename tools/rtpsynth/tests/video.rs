//! Video interop with ffmpeg, both ways, frame-exact, for H.264 (libx264),
//! VP8 (libvpx) and VP9 (libvpx-vp9): ffmpeg encodes a 2 s 320x240 testsrc
//! clip, then
//! 1. `send --codec C --input CLIP --sdp` to ffmpeg reading that SDP: the
//!    frames ffmpeg decodes have the same md5s (framemd5) as the clip's;
//! 2. ffmpeg streams the clip (`-c copy -f rtp`) to `recv --codec C
//!    --out`: the output holds the clip's NAL units / IVF frames byte for
//!    byte, and ffmpeg decodes it to the clip's md5s.
//!
//! Needs ffmpeg (ctest skips without it); a codec whose encoder ffmpeg
//! lacks prints SKIP. Every run and wait is bounded.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rtpsynth::video::{annexb, ivf};

const FRAMES: usize = 50;

fn ffmpeg(args: &[&str], limit: Duration) -> bool {
    let mut c = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ffmpeg");
    wait_bounded(&mut c, limit).success()
}

fn has_encoder(enc: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' {enc} '"
        ))
        .status()
        .is_ok_and(|s| s.success())
}

struct Case {
    codec: &'static str,
    encoder: &'static str,
    file: &'static str,
    opts: &'static [&'static str],
}

const H264: Case = Case {
    codec: "h264",
    encoder: "libx264",
    file: "clip.h264",
    opts: &["-bf", "0", "-g", "25", "-pix_fmt", "yuv420p", "-f", "h264"],
};
const VP8: Case = Case {
    codec: "vp8",
    encoder: "libvpx",
    file: "clip.ivf",
    opts: &["-g", "25", "-f", "ivf"],
};
const VP9: Case = Case {
    codec: "vp9",
    encoder: "libvpx-vp9",
    file: "clip.ivf",
    opts: &["-g", "25", "-pix_fmt", "yuv420p", "-f", "ivf"],
};

/// The clip, or None (SKIP printed) without the encoder.
fn clip(c: &Case, d: &Path) -> Option<PathBuf> {
    if !have("ffmpeg") {
        eprintln!("SKIP: ffmpeg is not installed");
        return None;
    }
    if !has_encoder(c.encoder) {
        eprintln!("SKIP {}: ffmpeg has no {} encoder", c.codec, c.encoder);
        return None;
    }
    let out = d.join(c.file);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=2:size=320x240:rate=25",
        "-c:v",
        c.encoder,
    ];
    args.extend_from_slice(c.opts);
    args.push(out.to_str().unwrap());
    assert!(ffmpeg(&args, Duration::from_secs(120)), "encoding the clip");
    Some(out)
}

/// The md5 column of `ffmpeg -f framemd5` of a file.
fn md5s(input: &[&str]) -> Vec<String> {
    let o = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error"])
        .args(input)
        .args(["-f", "framemd5", "-"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("ffmpeg framemd5");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

/// The clip played twice: ffmpeg's RTP input holds the last frames until
/// more come (or times out, then may not write them), so the receiver
/// stops after the first FRAMES (`-frames:v`) while the second copy keeps
/// it fed.
fn twice(c: &Case, clip: &Path, d: &Path) -> PathBuf {
    let data = std::fs::read(clip).unwrap();
    let out = d.join(format!("twice-{}", c.file));
    let bytes = if c.codec == "h264" {
        [data.as_slice(), data.as_slice()].concat()
    } else {
        let mut r = ivf::IvfReader::new(&data).unwrap();
        let h = *r.header();
        let frames: Vec<(u64, Vec<u8>)> = std::iter::from_fn(|| r.next_frame().unwrap())
            .map(|f| (f.pts, f.data.to_vec()))
            .collect();
        let mut w = ivf::IvfWriter::new(&h);
        for (k, (pts, f)) in frames.iter().chain(frames.iter()).enumerate() {
            let pts = if k < frames.len() { *pts } else { *pts + 1000 };
            w.write_frame(pts, f).unwrap();
        }
        w.into_bytes()
    };
    std::fs::write(&out, bytes).unwrap();
    out
}

fn udp_bound(port: u16) -> bool {
    let hex = format!(":{port:04X} ");
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|t| t.lines().any(|l| l.contains(&hex)))
}

/// 1. us -> ffmpeg through our SDP.
fn send_to_ffmpeg(c: &Case, clip: &Path, d: &Path) {
    let want = md5s(&["-i", clip.to_str().unwrap()]);
    assert_eq!(want.len(), FRAMES, "the clip's frames");
    let port = free_port() & !1;
    let to = format!("127.0.0.1:{port}");
    let sdp = d.join("s.sdp");
    // The SDP first (one frame into a closed port), so that ffmpeg can
    // be listening before the stream starts.
    let o = run(&[
        "send",
        "--codec",
        c.codec,
        "--input",
        clip.to_str().unwrap(),
        "--to",
        &to,
        "--fps",
        "25",
        "--duration",
        "0.01",
        "--sdp",
        sdp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let rx_md5 = d.join("rx.md5");
    let n = FRAMES.to_string();
    let mut ff = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-protocol_whitelist"])
        .args(["file,udp,rtp", "-i", sdp.to_str().unwrap(), "-frames:v", &n])
        .args(["-f", "framemd5", rx_md5.to_str().unwrap()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ffmpeg");
    let end = Instant::now() + Duration::from_secs(20);
    while !udp_bound(port) {
        assert!(Instant::now() < end, "ffmpeg did not bind port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let input = twice(c, clip, d);
    let stats = d.join("s.json");
    let o = run(&[
        "send",
        "--codec",
        c.codec,
        "--input",
        input.to_str().unwrap(),
        // the clip's rate: ffmpeg's output keeps a constant frame rate
        "--fps",
        "25",
        "--mtu",
        "1000",
        "--to",
        &to,
        "--stats",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let st = wait_bounded(&mut ff, Duration::from_secs(30));
    let got: Vec<String> = std::fs::read_to_string(&rx_md5)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect();
    let s = read_json(&stats);
    eprintln!(
        "{} us -> ffmpeg: {} frames in {} packets; ffmpeg decoded {} frames (exit {st})",
        c.codec,
        s["streams"][0]["frames"],
        s["streams"][0]["packets"],
        got.len()
    );
    assert_eq!(s["streams"][0]["frames"], 2 * FRAMES);
    assert_eq!(got, want, "ffmpeg's frames differ from the clip's");
}

/// The units of a file to compare: NAL units, or IVF frames.
fn units(codec: &str, data: &[u8]) -> Vec<Vec<u8>> {
    if codec == "h264" {
        annexb::nal_units(data).map(|n| n.to_vec()).collect()
    } else {
        let mut r = ivf::IvfReader::new(data).unwrap();
        std::iter::from_fn(|| r.next_frame().unwrap())
            .map(|f| f.data.to_vec())
            .collect()
    }
}

/// 2. ffmpeg -> us.
fn ffmpeg_to_recv(c: &Case, clip: &Path, d: &Path) {
    let out = d.join(format!("got-{}", c.file));
    let stats = d.join("r.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--codec",
        c.codec,
        "--duration",
        "60",
        "--out",
        out.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    let pt = match c.codec {
        "h264" => "96",
        "vp8" => "97",
        _ => "98",
    };
    let url = format!("rtp://127.0.0.1:{}", rx.addr.port());
    assert!(
        ffmpeg(
            &[
                "-re",
                "-i",
                clip.to_str().unwrap(),
                "-c",
                "copy",
                "-strict",
                "experimental",
                "-f",
                "rtp",
                "-payload_type",
                pt,
                &url
            ],
            Duration::from_secs(60)
        ),
        "ffmpeg streaming the clip"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.terminate().code(), Some(0));
    let s = read_json(&stats);
    let v = &s["streams"][0]["video"];
    eprintln!("{} ffmpeg -> us: {s}", c.codec);
    assert_eq!(v["dropped_frames"], 0, "{s}");
    let want = units(c.codec, &std::fs::read(clip).unwrap());
    let got = units(c.codec, &std::fs::read(&out).unwrap());
    assert_eq!(got.len(), want.len(), "units: {s}");
    assert!(got == want, "the output differs from the clip");
    if c.codec != "h264" {
        assert_eq!(v["frames"].as_u64(), Some(FRAMES as u64));
    }
    assert_eq!(
        md5s(&["-i", out.to_str().unwrap()]),
        md5s(&["-i", clip.to_str().unwrap()]),
        "ffmpeg decodes the output differently"
    );
}

fn both_ways(c: &Case) {
    let d = scratch(&format!("video-{}", c.codec));
    if let Some(clip) = clip(c, &d) {
        send_to_ffmpeg(c, &clip, &d);
        ffmpeg_to_recv(c, &clip, &d);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn h264_both_ways() {
    both_ways(&H264);
}

#[test]
fn vp8_both_ways() {
    both_ways(&VP8);
}

#[test]
fn vp9_both_ways() {
    both_ways(&VP9);
}
