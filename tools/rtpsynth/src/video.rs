//! `--codec h264|vp8|vp9`: video through the library's video core
//! (`rtpsynth::video`). `send` reads an H.264 Annex B file (split into
//! access units) or a VP8/VP9 IVF file, packetizes each frame with
//! `video::Sender` (at most `--mtu` bytes a packet, one 90 kHz timestamp
//! per frame, marker on the last) and sends the frames `--fps` apart.
//! `recv` rebuilds frames with `video::Receiver` and writes Annex B
//! (4-byte start codes, every NAL unit as received, parameter sets
//! included) or IVF (complete frames only, 90 kHz timestamps).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rtpsynth::rtcp::RecvStats;
use rtpsynth::rtp::RTP_HDR_LEN;
use rtpsynth::server::{ChanConfig, Family, Server};
use rtpsynth::video::{self, annexb, ivf, Codec, Output, Receiver, ReceiverConfig};
use serde_json::{json, Value};

use crate::cli::{parse_playout, CodecName, Playout, RecvArgs, SendArgs};
use crate::fail::Fail;
use crate::recv::{self, Datagrams};
use crate::util;

pub const DEFAULT_FPS: u32 = 30;
pub const DEFAULT_MTU: u32 = 1200;
/// How long the receiver waits for a frame's missing packets.
const MAX_LATENCY_NS: u64 = 500_000_000;

/// The video codec named on the command line (None: audio).
pub fn codec_of(c: CodecName) -> Option<Codec> {
    match c {
        CodecName::H264 => Some(Codec::H264),
        CodecName::Vp8 => Some(Codec::Vp8),
        CodecName::Vp9 => Some(Codec::Vp9),
        _ => None,
    }
}

pub fn default_pt(c: Codec) -> u8 {
    match c {
        Codec::H264 => 96,
        Codec::Vp8 => 97,
        Codec::Vp9 => 98,
    }
}

fn fourcc(c: Codec) -> [u8; 4] {
    match c {
        Codec::H264 => *b"H264",
        Codec::Vp8 => *b"VP80",
        Codec::Vp9 => *b"VP90",
    }
}

fn name(c: Codec) -> &'static str {
    match c {
        Codec::H264 => "h264",
        Codec::Vp8 => "vp8",
        Codec::Vp9 => "vp9",
    }
}

/// The SDP of a video stream (RFC 6184 packetization-mode 1: STAP-A and
/// FU-A; RFC 7741; RFC 9628), as ffmpeg and GStreamer read it.
pub fn sdp_text(c: Codec, pt: u8, fps: u32, to: SocketAddr, sess_id: u32) -> String {
    let ip = match to {
        SocketAddr::V4(a) => format!("IP4 {}", a.ip()),
        SocketAddr::V6(a) => format!("IP6 {}", a.ip()),
    };
    let (map, fmtp) = match c {
        Codec::H264 => (
            "H264/90000",
            format!("a=fmtp:{pt} packetization-mode=1\r\n"),
        ),
        Codec::Vp8 => ("VP8/90000", String::new()),
        Codec::Vp9 => ("VP9/90000", String::new()),
    };
    format!(
        "v=0\r\no=- {sess_id} 1 IN {ip}\r\ns=rtpsynth\r\nc=IN {ip}\r\nt=0 0\r\n\
         m=video {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {map}\r\n{fmtp}a=framerate:{fps}\r\n",
        port = to.port()
    )
}

/// The frames of an input file: Annex B access units, or IVF frames.
pub fn read_frames(c: Codec, path: &Path) -> Result<Vec<Vec<u8>>, Fail> {
    let bad = |why: String| Fail::usage(format!("--input {}: {why}", path.display()));
    let data = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let frames: Vec<Vec<u8>> = match c {
        Codec::H264 => annexb::access_units(&data)
            .into_iter()
            .map(|au| {
                let mut f = Vec::new();
                for nal in au {
                    annexb::write_nal(&mut f, nal);
                }
                f
            })
            .collect(),
        Codec::Vp8 | Codec::Vp9 => {
            let mut r = ivf::IvfReader::new(&data).map_err(|e| bad(format!("not IVF ({e:?})")))?;
            if r.header().fourcc != fourcc(c) {
                return Err(bad(format!(
                    "an IVF file of {}, not {}",
                    String::from_utf8_lossy(&r.header().fourcc),
                    name(c)
                )));
            }
            let mut v = Vec::new();
            loop {
                match r.next_frame() {
                    Ok(Some(f)) => v.push(f.data.to_vec()),
                    Ok(None) => break,
                    Err(e) => return Err(bad(format!("damaged IVF frame ({e:?})"))),
                }
            }
            v
        }
    };
    if frames.is_empty() {
        return Err(bad(format!("no {} frames", name(c))));
    }
    Ok(frames)
}

/// Options the tool wires for audio streams only so far.
fn refuse_audio_only(used: &[(&str, bool)]) -> Result<(), Fail> {
    match used.iter().find(|(_, on)| *on) {
        Some((name, _)) => Err(Fail::not_yet(&format!("{name} with a video codec"))),
        None => Ok(()),
    }
}

/// `send --codec h264|vp8|vp9`.
pub fn send(a: SendArgs, c: Codec) -> Result<(), Fail> {
    refuse_audio_only(&[
        ("--rtcp", a.rtcp),
        ("--rtcp-mux", a.rtcp_mux),
        ("--tcp", a.tcp),
        ("--dtmf", !a.dtmf.is_empty()),
        ("--dtmf-pt", a.dtmf_pt.is_some()),
        ("--dtmf-ms", a.dtmf_ms.is_some()),
        ("--dtmf-gap", a.dtmf_gap.is_some()),
    ])?;
    if a.tone.is_some() {
        return Err(Fail::usage(
            "--tone is for audio codecs; video takes --input FILE",
        ));
    }
    let Some(input) = &a.input else {
        return Err(Fail::usage(format!(
            "--codec {} needs --input FILE ({})",
            name(c),
            if c == Codec::H264 {
                "H.264 Annex B"
            } else {
                "IVF"
            }
        )));
    };
    let fps = a.fps.unwrap_or(DEFAULT_FPS);
    if !(1..=1000).contains(&fps) {
        return Err(Fail::usage(format!("--fps {fps}: expected 1..1000")));
    }
    let mtu = a.mtu.unwrap_or(DEFAULT_MTU) as usize;
    if !(video::MIN_MTU..=video::MAX_MTU).contains(&mtu) {
        return Err(Fail::usage(format!(
            "--mtu {mtu}: expected {}..{}",
            video::MIN_MTU,
            video::MAX_MTU
        )));
    }
    let pt = a.pt.unwrap_or(default_pt(c));
    if pt > 127 {
        return Err(Fail::usage(format!("--pt {pt}: expected 0..127")));
    }
    let limit = a
        .duration
        .map(|d| util::seconds("--duration", d))
        .transpose()?;
    for (opt, p) in [("--sdp", &a.sdp), ("--stats", &a.stats)] {
        if let Some(p) = p {
            util::check_writable(opt, p)?;
        }
    }
    let mut frames = read_frames(c, input)?;
    if let Some(l) = limit {
        let n = (l.as_secs_f64() * fps as f64).ceil() as usize;
        frames.truncate(n.max(1));
    }
    let ssrc = a.ssrc.unwrap_or_else(util::random_u32);
    let mut cfg = video::SenderConfig::new(c, pt, mtu, ssrc, util::random_u32() as u16);
    cfg.first_picture_id = util::random_u32() as u16 & 0x7fff;
    let mut sender =
        video::Sender::new(cfg).map_err(|e| Fail::usage(format!("video sender: {e:?}")))?;
    let ts0 = util::random_u32();

    let server =
        Server::new(0).map_err(|e| Fail::runtime(format!("cannot start the I/O thread: {e}")))?;
    let bind_host = a.bind.map(|b| b.ip().to_string());
    let chan = server
        .create_channel(
            &ChanConfig {
                bind_host: bind_host.as_deref(),
                bind_port: a.bind.map_or(0, |b| b.port()),
                bind_family: if a.to.is_ipv6() {
                    Family::V6
                } else {
                    Family::V4
                },
                // a key frame is many packets at once
                queue_size: 4096,
            },
            Box::new(|_, _, _| {}),
        )
        .map_err(|e| Fail::runtime(format!("cannot bind: {e}")))?;
    chan.set_target(&a.to.ip().to_string(), a.to.port())
        .map_err(|e| Fail::runtime(format!("--to {}: {e}", a.to)))?;
    if let Some(path) = &a.sdp {
        std::fs::write(path, sdp_text(c, pt, fps, a.to, util::random_u32() >> 1))
            .map_err(|e| Fail::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!(
        "rtpsynth: sending {} {} frames at {fps} fps to {} (ssrc {ssrc})",
        frames.len(),
        name(c),
        a.to
    );
    let stop = util::stop_flag()?;
    let start = Instant::now();
    let mut queued = 0u64;
    let mut refused = 0u64;
    for (i, f) in frames.iter().enumerate() {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / fps as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let ts = ts0.wrapping_add((i as u64 * 90_000 / fps as u64) as u32);
        let now = start.elapsed().as_nanos() as u64;
        let r = sender.send_frame(f, ts, now, |pkt| {
            // A full queue drops the packet (counted by the server).
            if chan.send(pkt).is_ok() {
                queued += 1;
            }
        });
        if r.is_err() {
            refused += 1;
        }
    }
    let drain_until = Instant::now() + Duration::from_secs(2);
    while {
        let st = chan.stats();
        st.tx_pkts + st.tx_errors < queued && Instant::now() < drain_until
    } {
        std::thread::sleep(Duration::from_millis(5));
    }
    let st = chan.stats();
    let elapsed = start.elapsed().as_secs_f64();
    server.shutdown();
    let vs = *sender.stats();
    let octets = st.tx_bytes.saturating_sub(st.tx_pkts * RTP_HDR_LEN as u64);
    eprintln!(
        "rtpsynth: sent {} frames in {} packets ({octets} payload octets) in {elapsed:.2} s, {} dropped on a full queue, {} send errors, {refused} frames refused",
        vs.frames, st.tx_pkts, st.tx_queue_full, st.tx_errors
    );
    if let Some(path) = &a.stats {
        let doc = json!({
            "streams": [{
                "ssrc": ssrc,
                "pt": pt,
                "packets": st.tx_pkts,
                "octets": octets,
                "frames": vs.frames,
                "frames_refused": refused,
                "queue_full": st.tx_queue_full,
                "send_errors": st.tx_errors,
                "rtcp_sent": null,
                "rtcp_received": null,
                "rtt_ms": null,
                "remote_fraction_lost": null,
                "remote_cumulative_lost": null,
                "remote_jitter_ms": null,
            }]
        });
        util::write_json(path, &doc)?;
    }
    if refused > 0 {
        return Err(Fail::runtime(format!(
            "{refused} frames could not be packetized (not valid {} frames)",
            name(c)
        )));
    }
    Ok(())
}

/// The output file, written as frames come.
struct VideoFile {
    w: BufWriter<File>,
    ivf: bool,
    frames: u32,
    first_ts: Option<u32>,
    last_pts: u64,
    last_ts: u32,
}

impl VideoFile {
    fn create(c: Codec, path: &Path) -> Result<VideoFile, Fail> {
        let f = File::create(path)
            .map_err(|e| Fail::usage(format!("--out {}: {e}", path.display())))?;
        let mut w = BufWriter::new(f);
        let ivf = c != Codec::H264;
        if ivf {
            let h = ivf::IvfHeader {
                fourcc: fourcc(c),
                width: 0,
                height: 0,
                rate: video::CLOCK_RATE,
                scale: 1,
                frames: 0,
            };
            w.write_all(ivf::IvfWriter::new(&h).bytes())
                .map_err(|e| Fail::runtime(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(VideoFile {
            w,
            ivf,
            frames: 0,
            first_ts: None,
            last_pts: 0,
            last_ts: 0,
        })
    }

    fn frame(&mut self, ts: u32, data: &[u8]) -> std::io::Result<()> {
        self.frames += 1;
        if !self.ivf {
            return self.w.write_all(data);
        }
        // 90 kHz timestamps from the first frame, unwrapped
        let pts = match self.first_ts {
            None => {
                self.first_ts = Some(ts);
                0
            }
            Some(_) => self
                .last_pts
                .saturating_add_signed(ts.wrapping_sub(self.last_ts) as i32 as i64),
        };
        self.last_pts = pts;
        self.last_ts = ts;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w.write_all(&pts.to_le_bytes())?;
        self.w.write_all(data)
    }

    /// Flush, with the IVF frame count in the header.
    fn finish(mut self) -> std::io::Result<()> {
        if self.ivf {
            self.w.seek(SeekFrom::Start(24))?;
            self.w.write_all(&self.frames.to_le_bytes())?;
        }
        self.w.flush()
    }
}

/// Counters of one SSRC.
struct Stream {
    ssrc: u32,
    pt: u8,
    packets: u64,
    octets: u64,
    rs: RecvStats,
}

/// The receive side: one video stream rebuilt into frames.
pub struct VideoRx {
    c: Codec,
    pt: u8,
    rx: Receiver,
    streams: Vec<Stream>,
    by_ssrc: HashMap<u32, usize>,
    out: Option<VideoFile>,
    frames: u64,
    keyframes: u64,
    dropped: u64,
    bytes: u64,
    io_error: Option<String>,
    not_rtp: u64,
    rtcp: u64,
}

impl VideoRx {
    fn new(c: Codec, pt: u8, out: Option<&Path>) -> Result<VideoRx, Fail> {
        let mut cfg = ReceiverConfig::new(c, pt);
        cfg.max_latency_ns = MAX_LATENCY_NS;
        let rx = Receiver::new(cfg).map_err(|e| Fail::usage(format!("video receiver: {e:?}")))?;
        Ok(VideoRx {
            c,
            pt,
            rx,
            streams: Vec::new(),
            by_ssrc: HashMap::new(),
            out: out.map(|p| VideoFile::create(c, p)).transpose()?,
            frames: 0,
            keyframes: 0,
            dropped: 0,
            bytes: 0,
            io_error: None,
            not_rtp: 0,
            rtcp: 0,
        })
    }

    fn poll(&mut self, now: u64) {
        while let Some(o) = self.rx.poll(now) {
            match o {
                Output::Frame(info, data) => {
                    self.frames += 1;
                    self.keyframes += info.keyframe as u64;
                    self.bytes += data.len() as u64;
                    if let Some(f) = &mut self.out {
                        if let Err(e) = f.frame(info.ts, data) {
                            self.io_error.get_or_insert(e.to_string());
                        }
                    }
                }
                Output::Dropped(_) => self.dropped += 1,
            }
        }
    }

    fn finish(&mut self) -> Result<(), Fail> {
        self.poll(u64::MAX);
        if let Some(f) = self.out.take() {
            if let Err(e) = f.finish() {
                self.io_error.get_or_insert(e.to_string());
            }
        }
        match self.io_error.take() {
            Some(e) => Err(Fail::runtime(format!("cannot write the video file: {e}"))),
            None => Ok(()),
        }
    }

    fn stats_json(&self) -> Value {
        let vs = self.rx.stats();
        let streams: Vec<Value> = self
            .streams
            .iter()
            .map(|s| {
                let decoded = self.rx.ssrc() == Some(s.ssrc);
                let known = s.rs.clock_rate() != 0;
                let mut v = json!({
                    "ssrc": s.ssrc,
                    "pt": s.pt,
                    "decoded": decoded,
                    "packets": s.packets,
                    "octets": s.octets,
                    "lost": s.rs.lost(),
                    "duplicates": s.rs.duplicates(),
                    "late": if decoded { vs.assembler.late } else { 0 },
                    "jitter_ms": known.then(|| s.rs.jitter_ms()),
                    "max_jitter_ms": known.then(|| s.rs.max_jitter_ms()),
                    "rtcp_sent": null,
                    "rtcp_received": null,
                    "rtt_ms": null,
                    "dtmf": null,
                });
                if decoded {
                    v["video"] = json!({
                        "codec": name(self.c),
                        "frames": self.frames,
                        "keyframes": self.keyframes,
                        "dropped_frames": self.dropped,
                        "frame_bytes": self.bytes,
                    });
                }
                v
            })
            .collect();
        json!({ "streams": streams })
    }
}

impl Datagrams for VideoRx {
    fn rtcp_datagram(&mut self, _d: &[u8], _from: Option<std::net::SocketAddr>, _at: u64) {
        self.rtcp += 1;
    }
    fn link(&mut self) -> Option<&mut crate::rtcp::Link> {
        None
    }
    fn datagram(&mut self, d: &[u8], arrival_ns: u64) {
        if recv::is_rtcp(d) {
            self.rtcp += 1;
            return;
        }
        let Ok(p) = rtpsynth::rtp::parse(d) else {
            self.not_rtp += 1;
            return;
        };
        let idx = *self.by_ssrc.entry(p.ssrc).or_insert_with(|| {
            let clock = if p.pt == self.pt {
                video::CLOCK_RATE
            } else {
                0
            };
            self.streams.push(Stream {
                ssrc: p.ssrc,
                pt: p.pt,
                packets: 0,
                octets: 0,
                rs: RecvStats::new(clock),
            });
            self.streams.len() - 1
        });
        let s = &mut self.streams[idx];
        s.packets += 1;
        s.octets += p.data_size as u64;
        s.rs.on_rtp(p.seq, p.ts, arrival_ns, p.data_size);
        // Other SSRCs and payload types are counted by the receiver.
        let _ = self.rx.push(d, arrival_ns);
        self.poll(arrival_ns);
    }
}

/// `recv --codec h264|vp8|vp9`.
pub fn recv(a: RecvArgs, c: Codec) -> Result<(), Fail> {
    refuse_audio_only(&[
        ("--rtcp", a.rtcp),
        ("--rtcp-mux", a.rtcp_mux),
        ("--latch", a.latch),
        ("--tcp", a.tcp),
        ("--stun", a.stun),
        ("--dtmf-pt", a.dtmf_pt.is_some()),
    ])?;
    if parse_playout(&a.playout).map_err(Fail::usage)? != Playout::Off {
        return Err(Fail::usage("--playout is for audio codecs"));
    }
    let pt = a.pt.unwrap_or(default_pt(c));
    let limit = a
        .duration
        .map(|d| util::seconds("--duration", d))
        .transpose()?;
    if let Some(p) = &a.stats {
        util::check_writable("--stats", p)?;
    }
    let capture = recv::open_capture(&a)?;
    let mut rx = VideoRx::new(c, pt, a.out.as_deref())?;
    let outcome = recv::receive(capture, &a, limit, &mut rx);
    let finished = rx.finish();
    if let Some(p) = &a.stats {
        util::write_json(p, &rx.stats_json())?;
    }
    eprintln!(
        "rtpsynth: {} stream(s), {} {} frames ({} key, {} dropped), {} non-RTP and {} RTCP datagrams ignored",
        rx.streams.len(),
        rx.frames,
        name(c),
        rx.keyframes,
        rx.dropped,
        rx.not_rtp,
        rx.rtcp
    );
    outcome?;
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_describes_video() {
        let to: SocketAddr = "127.0.0.1:5004".parse().unwrap();
        let s = sdp_text(Codec::H264, 96, 25, to, 7);
        assert!(s.contains("m=video 5004 RTP/AVP 96\r\n"), "{s}");
        assert!(s.contains("a=rtpmap:96 H264/90000\r\n"), "{s}");
        assert!(s.contains("a=fmtp:96 packetization-mode=1\r\n"), "{s}");
        let s = sdp_text(Codec::Vp9, 98, 30, to, 7);
        assert!(s.contains("a=rtpmap:98 VP9/90000\r\n"), "{s}");
        assert!(!s.contains("fmtp"), "{s}");
        assert_eq!(default_pt(Codec::Vp8), 97);
    }

    #[test]
    fn frames_round_trip_through_the_receiver() {
        // Two VP8 "frames" (a key frame: bit 0 of the first byte clear)
        // packetized at a small MTU, reordered, into an IVF file.
        let d = std::env::temp_dir().join(format!("rtpsynth-video-unit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        let out = d.join("o.ivf");
        let frames: Vec<Vec<u8>> = vec![
            [0x10u8, 0x02, 0x00, 0x9d, 0x01, 0x2a]
                .into_iter()
                .chain((0..300).map(|i| i as u8))
                .collect(),
            [0x31u8, 0x01, 0x00].into_iter().chain([7; 200]).collect(),
        ];
        let mut s =
            video::Sender::new(video::SenderConfig::new(Codec::Vp8, 97, 100, 9, 65500)).unwrap();
        let mut pkts = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            s.send_frame(f, 1000 + i as u32 * 3000, 0, |p| pkts.push(p.to_vec()))
                .unwrap();
        }
        assert!(pkts.iter().all(|p| p.len() <= 100));
        pkts.swap(1, 2);
        let mut rx = VideoRx::new(Codec::Vp8, 97, Some(&out)).unwrap();
        for p in &pkts {
            rx.datagram(p, 0);
        }
        rx.finish().unwrap();
        assert_eq!((rx.frames, rx.dropped), (2, 0));
        let file = std::fs::read(&out).unwrap();
        let mut r = ivf::IvfReader::new(&file).unwrap();
        assert_eq!(r.header().frames, 2);
        let got: Vec<(u64, Vec<u8>)> = std::iter::from_fn(|| r.next_frame().unwrap())
            .map(|f| (f.pts, f.data.to_vec()))
            .collect();
        assert_eq!(got, vec![(0, frames[0].clone()), (3000, frames[1].clone())]);
        let v = rx.stats_json();
        assert_eq!(v["streams"][0]["packets"], pkts.len());
        assert_eq!(v["streams"][0]["video"]["frames"], 2);
        let _ = std::fs::remove_dir_all(&d);
    }
}
