//! Video over the network between `send` and `recv`: RTCP on the port pair
//! and muxed, NACK retransmission through a lossy relay, and the
//! codec-independent transports (TCP, latching, STUN). The clips are
//! written here (H.264 Annex B and VP8 IVF frames whose payload bytes are
//! made up: the tool only packetizes and reassembles them), so nothing
//! outside the tool is needed. Loopback only; every run and wait bounded.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use rtpsynth::video::{annexb, ivf};

/// Made-up payload bytes, never 0 (no start code can appear in them).
fn bytes(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 255) as u8 + 1
        })
        .collect()
}

/// An H.264 Annex B clip of `n` access units, one IDR (with SPS and PPS)
/// every 25; slices of 300..3000 bytes.
fn h264_clip(d: &Path, n: usize) -> PathBuf {
    let mut s = Vec::new();
    let nal = |s: &mut Vec<u8>, head: &[u8], body: Vec<u8>| {
        s.extend_from_slice(&[0, 0, 0, 1]);
        s.extend_from_slice(head);
        s.extend_from_slice(&body);
    };
    for i in 0..n {
        // first_mb_in_slice 0: the slice header's first bit is 1
        if i % 25 == 0 {
            nal(&mut s, &[0x67, 0x42, 0xc0, 0x1e], bytes(1, 12));
            nal(&mut s, &[0x68, 0xce], bytes(2, 4));
            nal(&mut s, &[0x65, 0x88], bytes(i as u32, 3000));
        } else {
            nal(&mut s, &[0x41, 0x9a], bytes(i as u32, 300 + i * 37 % 1200));
        }
    }
    let p = d.join("clip.h264");
    std::fs::write(&p, s).unwrap();
    p
}

/// A VP8 IVF clip of `n` frames, a key frame every 25.
fn vp8_clip(d: &Path, n: usize) -> PathBuf {
    let h = ivf::IvfHeader {
        fourcc: *b"VP80",
        width: 320,
        height: 240,
        rate: 25,
        scale: 1,
        frames: n as u32,
    };
    let mut w = ivf::IvfWriter::new(&h);
    for i in 0..n {
        let f: Vec<u8> = if i % 25 == 0 {
            // frame tag bit 0 clear: a key frame, with its start code
            [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]
                .into_iter()
                .chain(bytes(i as u32, 5000))
                .collect()
        } else {
            [0x31, 0x01, 0x00]
                .into_iter()
                .chain(bytes(i as u32, 800 + i * 53 % 2000))
                .collect()
        };
        w.write_frame(i as u64, &f).unwrap();
    }
    let p = d.join("clip.ivf");
    std::fs::write(&p, w.into_bytes()).unwrap();
    p
}

/// The frames of an IVF file.
fn ivf_frames(p: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(p).unwrap_or_default();
    let Ok(mut r) = ivf::IvfReader::new(&data) else {
        return Vec::new();
    };
    std::iter::from_fn(|| r.next_frame().ok().flatten())
        .map(|f| f.data.to_vec())
        .collect()
}

/// Whether `got` is `want` with some frames left out (none altered).
fn is_subsequence(got: &[Vec<u8>], want: &[Vec<u8>]) -> bool {
    let mut w = want.iter();
    got.iter().all(|g| w.any(|x| x == g))
}

/// `recv` of `codec` with `flags`, then `send` of `clip` at 25 fps with
/// `send_flags` to it (or to `via` when set); both stats documents.
fn send_recv(
    d: &Path,
    codec: &str,
    clip: &Path,
    out: &Path,
    recv_flags: &[&str],
    send_flags: &[&str],
    via: Option<&dyn Fn(SocketAddr) -> SocketAddr>,
) -> (serde_json::Value, serde_json::Value) {
    let rstats = d.join("r.json");
    let sstats = d.join("s.json");
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--codec",
        codec,
        "--duration",
        "60",
        "--out",
        out.to_str().unwrap(),
        "--stats",
        rstats.to_str().unwrap(),
    ];
    args.extend_from_slice(recv_flags);
    let rx = LiveRecv::start(&args);
    let to = via.map_or(rx.addr, |f| f(rx.addr)).to_string();
    let mut args = vec![
        "send",
        "--to",
        &to,
        "--codec",
        codec,
        "--input",
        clip.to_str().unwrap(),
        "--fps",
        "25",
        "--stats",
        sstats.to_str().unwrap(),
    ];
    args.extend_from_slice(send_flags);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let st = if recv_flags.contains(&"--tcp") {
        // recv ends by itself when send closes the connection
        rx.wait(Duration::from_secs(15))
    } else {
        std::thread::sleep(Duration::from_millis(300));
        rx.terminate()
    };
    assert_eq!(st.code(), Some(0));
    (read_json(&rstats), read_json(&sstats))
}

fn check_rtcp(r: &serde_json::Value, s: &serde_json::Value, want_rtt: bool) {
    let (rs, ss) = (&r["streams"][0], &s["streams"][0]);
    assert_eq!(rs["ssrc"], ss["ssrc"], "{r} {s}");
    // send: SRs out, recv's RRs in, saying nothing was lost.
    assert!(ss["rtcp_sent"].as_u64().unwrap() >= 1, "{ss}");
    assert!(ss["rtcp_received"].as_u64().unwrap() >= 1, "{ss}");
    assert_eq!(ss["remote_cumulative_lost"], 0, "{ss}");
    assert!(ss["remote_jitter_ms"].as_f64().is_some(), "{ss}");
    if want_rtt {
        let rtt = ss["rtt_ms"].as_f64().expect("an RTT on the sender");
        assert!((0.0..1000.0).contains(&rtt), "{ss}");
    }
    // recv: the sender's SRs counted under its SSRC, RRs out.
    assert!(rs["rtcp_received"].as_u64().unwrap() >= 1, "{rs}");
    assert!(rs["rtcp_sent"].as_u64().unwrap() >= 1, "{rs}");
}

#[test]
fn h264_with_rtcp_on_the_port_pair() {
    let d = scratch("vnet-h264-rtcp");
    // 12 s: the sender's first SR goes out 1..3.1 s in (RFC 3550 A.7,
    // halved initial interval) and recv's next RR at most 6.2 s after its
    // previous one, so an RR answering an SR (hence an RTT) comes in time.
    let clip = h264_clip(&d, 300);
    let out = d.join("got.h264");
    let (r, s) = send_recv(&d, "h264", &clip, &out, &["--rtcp"], &["--rtcp"], None);
    eprintln!("recv: {r}\nsend: {s}");
    check_rtcp(&r, &s, true);
    assert_eq!(r["streams"][0]["video"]["frames"], 300, "{r}");
    assert_eq!(r["streams"][0]["lost"], 0, "{r}");
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&clip).unwrap());
    let units = |p: &Path| annexb::nal_units(&std::fs::read(p).unwrap()).count();
    assert_eq!(units(&out), units(&clip));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn vp8_with_rtcp_muxed() {
    let d = scratch("vnet-vp8-mux");
    // 4 s: recv's first RR goes out 1..3.1 s after it starts.
    let clip = vp8_clip(&d, 100);
    let out = d.join("got.ivf");
    let (r, s) = send_recv(
        &d,
        "vp8",
        &clip,
        &out,
        &["--rtcp-mux"],
        &["--rtcp-mux"],
        None,
    );
    check_rtcp(&r, &s, false);
    assert!(ivf_frames(&out) == ivf_frames(&clip));
    let _ = std::fs::remove_dir_all(&d);
}

/// A relay between `send` and `recv`: datagrams from the sender to its
/// `addr` go on to `to`, except the RTP packets `drop` picks (by their
/// 1-based count, retransmissions included); what `to` sends back goes
/// to the sender. RTCP always passes.
struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// RTP packets dropped: all, and those whose sequence number had not
    /// been seen before (not retransmissions).
    dropped: Arc<AtomicU64>,
    dropped_first: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    fn start(to: SocketAddr, drop: impl Fn(u64) -> bool + Send + 'static) -> Relay {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&a, &b] {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        }
        let addr = a.local_addr().unwrap();
        let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let dropped_first = Arc::new(AtomicU64::new(0));
        let sender: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let forward = {
            let (stop, sender) = (stop.clone(), sender.clone());
            let (dropped, dropped_first) = (dropped.clone(), dropped_first.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let mut rtp = 0u64;
                let mut seen = std::collections::HashSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = a.recv_from(&mut buf) else {
                        continue;
                    };
                    *sender.lock().unwrap() = Some(from);
                    let d = &buf[..n];
                    let is_rtcp = n >= 2 && (192..=223).contains(&d[1]);
                    if !is_rtcp && n >= 12 {
                        rtp += 1;
                        let first = seen.insert(u16::from_be_bytes([d[2], d[3]]));
                        if drop(rtp) {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            dropped_first.fetch_add(u64::from(first), Ordering::Relaxed);
                            continue;
                        }
                    }
                    let _ = b.send_to(d, to);
                }
            })
        };
        let back = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = b2.recv_from(&mut buf) else {
                        continue;
                    };
                    let back_to = *sender.lock().unwrap();
                    if let (true, Some(s)) = (from == to, back_to) {
                        let _ = a2.send_to(&buf[..n], s);
                    }
                }
            })
        };
        Relay {
            addr,
            stop,
            dropped,
            dropped_first,
            threads: vec![forward, back],
        }
    }

    /// Stop; the RTP packets dropped: (all, first copies).
    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        (
            self.dropped.load(Ordering::Relaxed),
            self.dropped_first.load(Ordering::Relaxed),
        )
    }
}

/// The number of RTP packets of `frames` at `mtu`, as the library's
/// sender packetizes them.
fn packets_of(frames: &[Vec<u8>], mtu: usize) -> u64 {
    use rtpsynth::video::{Codec, Sender, SenderConfig};
    let mut s = Sender::new(SenderConfig::new(Codec::Vp8, 97, mtu, 1, 0)).unwrap();
    frames
        .iter()
        .map(|f| s.send_frame(f, 0, 0, |_| ()).unwrap() as u64)
        .sum()
}

/// What a run through the lossy relay gave.
struct Lossy {
    want: Vec<Vec<u8>>,
    got: Vec<Vec<u8>>,
    r: serde_json::Value,
    s: serde_json::Value,
    /// RTP packets dropped: all, and first copies (not retransmissions).
    dropped: u64,
    dropped_first: u64,
}

/// VP8 through a relay that drops every 10th RTP packet, with and without
/// `--nack`.
fn lossy(nack: bool) -> Lossy {
    let d = scratch(if nack { "vnet-nack" } else { "vnet-lossy" });
    let clip = vp8_clip(&d, 60);
    let want = ivf_frames(&clip);
    // Losses among the first 80 % of the packets only: the loss of the
    // last packets could not be noticed (nothing comes after them).
    let n = packets_of(&want, 1200);
    let out = d.join("got.ivf");
    let relay: Mutex<Option<Relay>> = Mutex::new(None);
    let via = |to: SocketAddr| {
        let r = Relay::start(to, move |i| i % 10 == 0 && i <= n * 8 / 10);
        let a = r.addr;
        *relay.lock().unwrap() = Some(r);
        a
    };
    let flags: &[&str] = if nack {
        &["--rtcp-mux", "--nack"]
    } else {
        &["--rtcp-mux"]
    };
    let (r, s) = send_recv(&d, "vp8", &clip, &out, flags, flags, Some(&via));
    let (dropped, dropped_first) = relay.into_inner().unwrap().map_or((0, 0), Relay::finish);
    let got = ivf_frames(&out);
    let _ = std::fs::remove_dir_all(&d);
    eprintln!(
        "nack {nack}: {} of {} frames, {dropped} packets dropped ({dropped_first} first copies) of {n}\nrecv: {r}\nsend: {s}",
        got.len(),
        want.len()
    );
    Lossy {
        want,
        got,
        r,
        s,
        dropped,
        dropped_first,
    }
}

#[test]
fn nack_repairs_a_lossy_path() {
    let l = lossy(true);
    let (rs, ss) = (&l.r["streams"][0], &l.s["streams"][0]);
    assert!(
        l.dropped_first >= 5,
        "the relay dropped {}",
        l.dropped_first
    );
    assert_eq!(l.got.len(), l.want.len(), "{rs}");
    assert!(l.got == l.want, "the frames differ");
    assert_eq!(rs["video"]["dropped_frames"], 0, "{rs}");
    assert_eq!(rs["lost"], 0, "{rs}");
    assert!(rs["nack_sent"].as_u64().unwrap() >= 1, "{rs}");
    assert!(rs["recovered"].as_u64().unwrap() >= l.dropped_first, "{rs}");
    // every packet dropped was asked for and resent, and so was every
    // retransmission dropped
    assert!(ss["retransmitted"].as_u64().unwrap() >= l.dropped, "{ss}");
    assert!(ss["nack_received"].as_u64().unwrap() >= l.dropped, "{ss}");
    assert!(
        ss["rtcp_received"].as_u64() >= rs["nack_sent"].as_u64(),
        "{ss}"
    );
}

#[test]
fn without_nack_the_same_path_loses_frames() {
    let l = lossy(false);
    let rs = &l.r["streams"][0];
    assert!(l.dropped >= 5, "the relay dropped {}", l.dropped);
    assert_eq!(l.dropped, l.dropped_first, "no retransmissions");
    // each dropped packet takes its frame with it; no frame is altered
    assert_eq!(l.got.len() as u64, l.want.len() as u64 - l.dropped, "{rs}");
    assert!(is_subsequence(&l.got, &l.want), "a frame was altered");
    // a frame all of whose packets were lost leaves no trace of its own
    let reported = rs["video"]["dropped_frames"].as_u64().unwrap();
    assert!((1..=l.dropped).contains(&reported), "{rs}");
    assert_eq!(rs["lost"], l.dropped, "{rs}");
    assert_eq!(rs["nack_sent"], 0, "{rs}");
    assert_eq!(l.s["streams"][0]["retransmitted"], 0, "{}", l.s);
}

#[test]
fn vp8_over_tcp_with_latch_and_stun_on_udp() {
    let d = scratch("vnet-tcp");
    let clip = vp8_clip(&d, 25);
    let want = ivf_frames(&clip);
    let out = d.join("got.ivf");
    let (r, s) = send_recv(
        &d,
        "vp8",
        &clip,
        &out,
        &["--tcp", "--rtcp-mux"],
        &["--tcp", "--rtcp-mux"],
        None,
    );
    assert!(ivf_frames(&out) == want, "{r} {s}");
    // send's last SR (with BYE) came over the connection.
    assert!(
        r["streams"][0]["rtcp_received"].as_u64().unwrap() >= 1,
        "{r}"
    );
    let out = d.join("got2.ivf");
    let (r, _) = send_recv(
        &d,
        "vp8",
        &clip,
        &out,
        &["--latch", "--stun", "--rtcp"],
        &["--rtcp"],
        None,
    );
    assert!(ivf_frames(&out) == want, "{r}");
    let _ = std::fs::remove_dir_all(&d);
}
