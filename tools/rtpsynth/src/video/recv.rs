//! `recv --codec h264|vp8|vp9`: one video stream rebuilt into frames by
//! `video::Receiver`, written as Annex B or IVF, with RTCP as the audio
//! path does it (`crate::rtcp::Link`: RRs out, the sender's SRs in) and,
//! with `--nack`, the receiver's feedback: generic NACKs for missing
//! packets and PLI when a frame is lost, as reduced-size RTCP (RFC 5506).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::Path;

use rtpsynth::rtcp::RecvStats;
use rtpsynth::server::Channel;
use rtpsynth::video::{self, ivf, Codec, Output, Receiver, ReceiverConfig};
use serde_json::{json, Value};

use super::{check_nack, default_pt, fourcc, name, refuse_audio_options};
use crate::cli::{parse_playout, Playout, RecvArgs};
use crate::fail::Fail;
use crate::recv::{self, Datagrams};
use crate::rtcp::{self, Link};
use crate::util;

/// How long the receiver waits for a frame's missing packets.
const MAX_LATENCY_NS: u64 = 500_000_000;
/// Room for one feedback packet: a NACK of up to 64 entries and a PLI.
const FEEDBACK_ROOM: usize = 12 + 64 * 4 + 12;

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
    /// The RTCP session: the sender's SRs in, our RRs out.
    link: Link,
    /// Feedback (`--nack`): the packet being built, and what went out.
    feedback: Vec<u8>,
    nack_sent: u64,
    pli_sent: u64,
}

impl VideoRx {
    fn new(c: Codec, pt: u8, out: Option<&Path>, nack: bool) -> Result<VideoRx, Fail> {
        let mut cfg = ReceiverConfig::new(c, pt);
        cfg.max_latency_ns = MAX_LATENCY_NS;
        cfg.nack = nack;
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
            link: Link::new(
                rtcp::Mode::Off,
                false,
                util::random_u32(),
                video::CLOCK_RATE,
                rtpsynth::clock::monotonic_ns(),
            )?,
            feedback: vec![0; if nack { FEEDBACK_ROOM } else { 0 }],
            nack_sent: 0,
            pli_sent: 0,
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

    /// With `--nack`: the receiver's NACK and PLI due now, sent where our
    /// reports go.
    fn send_feedback(&mut self, chan: &Channel, rtp_peer: Option<SocketAddr>, now_ns: u64) {
        if self.feedback.is_empty() {
            return;
        }
        let before = self.rx.stats();
        let ours = self.link.session.ssrc();
        let n = match self.rx.feedback(now_ns, ours, &mut self.feedback) {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        if self.link.send_feedback(chan, rtp_peer, &self.feedback[..n]) {
            let after = self.rx.stats();
            self.nack_sent += u64::from(after.nack.requested > before.nack.requested);
            self.pli_sent += after.keyframe_requests - before.keyframe_requests;
        }
    }

    fn stats_json(&self) -> Value {
        let vs = self.rx.stats();
        let mut streams: Vec<Value> = self
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
                if let Some(obj) = v.as_object_mut() {
                    self.link.stream_json(s.ssrc, obj);
                }
                if decoded {
                    v["nack_sent"] = json!(self.nack_sent);
                    v["nack_requested"] = json!(vs.nack.requested);
                    v["recovered"] = json!(vs.nack.recovered);
                    v["nack_given_up"] = json!(vs.nack.given_up);
                    v["pli_sent"] = json!(self.pli_sent);
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
        streams.extend(
            self.link
                .rtcp_only_streams(|ssrc| self.by_ssrc.contains_key(&ssrc)),
        );
        json!({ "streams": streams })
    }
}

impl Datagrams for VideoRx {
    fn rtcp_datagram(&mut self, d: &[u8], from: Option<SocketAddr>, arrival_ns: u64) {
        self.rtcp += 1;
        self.link.on_rtcp(d, from, arrival_ns);
    }

    fn link(&mut self) -> Option<&mut Link> {
        Some(&mut self.link)
    }

    fn tick(&mut self, chan: &Channel, rtp_peer: Option<SocketAddr>, now_ns: u64) {
        self.link.poll(chan, rtp_peer, now_ns);
        self.send_feedback(chan, rtp_peer, now_ns);
    }

    fn datagram(&mut self, d: &[u8], arrival_ns: u64) {
        if recv::is_rtcp(d) {
            self.rtcp_datagram(d, None, arrival_ns);
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
        self.link
            .session
            .on_received(p.ssrc, p.seq, p.ts, arrival_ns, p.data_size);
        // Other SSRCs and payload types are counted by the receiver.
        let _ = self.rx.push(d, arrival_ns);
        self.poll(arrival_ns);
    }
}

/// `recv --codec h264|vp8|vp9`.
pub fn recv(a: RecvArgs, c: Codec) -> Result<(), Fail> {
    refuse_audio_options(&[("--dtmf-pt", a.dtmf_pt.is_some())])?;
    check_nack(a.nack, a.rtcp, a.rtcp_mux)?;
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
    let mut rx = VideoRx::new(c, pt, a.out.as_deref(), a.nack)?;
    recv::configure_link(&mut rx.link, &a)?;
    let outcome = recv::receive(capture, &a, limit, &mut rx);
    let finished = rx.finish();
    if let Some(p) = &a.stats {
        util::write_json(p, &rx.stats_json())?;
    }
    let ns = rx.rx.stats().nack;
    eprintln!(
        "rtpsynth: {} stream(s), {} {} frames ({} key, {} dropped), {} non-RTP datagrams ignored, {} RTCP datagrams taken, {} NACKs sent ({} recovered, {} given up), {} PLIs sent",
        rx.streams.len(),
        rx.frames,
        name(c),
        rx.keyframes,
        rx.dropped,
        rx.not_rtp,
        rx.rtcp,
        rx.nack_sent,
        ns.recovered,
        ns.given_up,
        rx.pli_sent
    );
    outcome?;
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut rx = VideoRx::new(Codec::Vp8, 97, Some(&out), false).unwrap();
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
