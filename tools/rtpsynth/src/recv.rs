//! `rtpsynth recv`: one RTP stream, live (through the library's RtpServer)
//! or from a capture, through the library's jitter buffer, decoded to a WAV
//! file, with per-SSRC statistics.
//!
//! With `--playout off` the WAV holds the decoded media in RTP timestamp
//! order from the first packet to the last, one sample per sample of media
//! time, gaps concealed (Opus PLC; silence for G.711 and L16). With
//! `adaptive` or `fixed` the decoded stream goes through the library's
//! playout buffer instead (playout.rs) and the WAV is what it plays.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtpsynth::event::receiver::DEFAULT_TIMEOUT_NS;
use rtpsynth::event::{EventReceiver, ReceivedEvent};
use rtpsynth::jbuf::{Erasure, Frame, JitterBuffer, Sink};
use rtpsynth::rtcp::RecvStats;
use rtpsynth::server::{ChanConfig, Channel, Family, Server};
use serde_json::{json, Value};

use crate::capture::{Capture, Cut, Datagram};
use crate::cli::{parse_playout, RecvArgs};
use crate::codec::{Audio, Decoder};
use crate::dtmf;
use crate::fail::Fail;
use crate::playout::{self, Player};
use crate::rtcp::{self, Link};
use crate::util;
use crate::video;

/// Jitter buffer depth in packets: how much reordering is repaired.
const JB_PACKETS: u32 = 64;
/// A timestamp jump beyond this many seconds is a new timeline, not a gap.
const MAX_GAP_S: u32 = 60;

/// RFC 5761 section 4, the library's one rule: RTCP on a shared port.
pub use rtpsynth::rtcp::packet::is_rtcp;

/// Parse an RTP packet that is not RTCP.
fn parse_rtp(d: &[u8]) -> Option<rtpsynth::rtp::Parsed> {
    if is_rtcp(d) {
        return None;
    }
    rtpsynth::rtp::parse(d).ok()
}

/// What the jitter buffer carries per packet: the payload when the packet
/// is to be decoded.
type Item = Option<Vec<u8>>;

/// Collects what one jitter-buffer call releases.
#[derive(Default)]
struct Released {
    frames: Vec<Frame<Item>>,
}

impl Sink<Item> for Released {
    fn erasure(&mut self, _e: Erasure) {
        // Gaps are measured from the timestamps of the packets around them.
    }
    fn ready(&mut self, f: Frame<Item>) {
        self.frames.push(f);
    }
    fn drop_run(&mut self) {}
    fn dropped(&mut self, _f: Frame<Item>) {}
}

/// One SSRC.
struct Stream {
    ssrc: u32,
    pt: u8,
    packets: u64,
    octets: u64,
    jb: JitterBuffer<Item>,
    /// RFC 3550 appendix A statistics (lost, duplicates, jitter).
    rs: RecvStats,
    decoded: bool,
}

impl Stream {
    fn new(ssrc: u32, pt: u8, clock_rate: u32, decoded: bool) -> Stream {
        Stream {
            ssrc,
            pt,
            packets: 0,
            octets: 0,
            jb: JitterBuffer::new(JB_PACKETS),
            rs: RecvStats::new(clock_rate),
            decoded,
        }
    }

    fn json(&self, decode_pt: u8) -> Value {
        let st = self.jb.stats();
        // Jitter needs the stream's clock: known for the decoded codec.
        let known = self.rs.clock_rate() != 0;
        json!({
            "ssrc": self.ssrc,
            "pt": self.pt,
            "decoded": self.decoded && self.pt == decode_pt,
            "packets": self.packets,
            "octets": self.octets,
            "lost": self.rs.lost(),
            "duplicates": self.rs.duplicates(),
            "late": st.late,
            "jitter_ms": known.then(|| self.rs.jitter_ms()),
            "max_jitter_ms": known.then(|| self.rs.max_jitter_ms()),
            // Filled in from the RTCP session (`rtcp::Link::stream_json`).
            "rtcp_sent": null,
            "rtcp_received": null,
            "rtt_ms": null,
            "dtmf": null,
        })
    }
}

/// The decoded media and the WAV it goes to.
struct Media {
    dec: Decoder,
    rate: u32,
    next_ts: Option<u32>,
    pcm: Vec<i16>,
    wav: Option<hound::WavWriter<BufWriter<File>>>,
    samples: u64,
    concealed: u64,
    io_error: Option<String>,
}

impl Media {
    fn packet(&mut self, ts: u32, payload: &[u8]) {
        self.pcm.clear();
        if let Some(next) = self.next_ts {
            let gap = ts.wrapping_sub(next) as i32;
            if gap > 0 && (gap as u32) <= MAX_GAP_S * self.rate {
                self.dec.conceal(gap as usize, &mut self.pcm);
                self.concealed += gap as u64;
            }
        }
        let n = self.dec.decode(payload, &mut self.pcm);
        self.next_ts = Some(ts.wrapping_add(n as u32));
        self.write();
    }

    fn write(&mut self) {
        let pcm = std::mem::take(&mut self.pcm);
        self.write_samples(&pcm);
        self.pcm = pcm;
    }

    fn write_samples(&mut self, pcm: &[i16]) {
        self.samples += pcm.len() as u64;
        if let Some(w) = &mut self.wav {
            for &s in pcm {
                if let Err(e) = w.write_sample(s) {
                    self.io_error.get_or_insert(e.to_string());
                    break;
                }
            }
        }
    }
}

/// What reception feeds: each datagram of the stream's port with its
/// arrival time (audio here, video in video.rs).
pub trait Datagrams {
    fn datagram(&mut self, d: &[u8], arrival_ns: u64);
    /// A datagram of the RTCP port (or split off as RTCP on a shared one).
    fn rtcp_datagram(&mut self, d: &[u8], from: Option<SocketAddr>, arrival_ns: u64);
    /// The RTCP session.
    fn link(&mut self) -> Option<&mut Link>;
    /// Live, after each datagram and at least every 20 ms: send the RTCP
    /// that is due through `chan` (our report; video adds its feedback).
    fn tick(&mut self, chan: &Channel, rtp_peer: Option<SocketAddr>, now_ns: u64) {
        if let Some(link) = self.link() {
            link.poll(chan, rtp_peer, now_ns);
        }
    }
}

impl Datagrams for Receiver {
    fn datagram(&mut self, d: &[u8], arrival_ns: u64) {
        Receiver::datagram(self, d, arrival_ns)
    }
    fn rtcp_datagram(&mut self, d: &[u8], from: Option<SocketAddr>, arrival_ns: u64) {
        Receiver::rtcp_datagram(self, d, from, arrival_ns)
    }
    fn link(&mut self) -> Option<&mut Link> {
        Some(&mut self.link)
    }
}

/// The receive pipeline, fed with datagrams live or from a capture.
pub struct Receiver {
    pt: u8,
    streams: Vec<Stream>,
    by_ssrc: HashMap<u32, usize>,
    /// The SSRC whose packets of `pt` are decoded: the first one seen.
    decoding: Option<u32>,
    media: Media,
    /// The playout buffer of the decoded stream (`--playout` not off).
    player: Option<Player>,
    released: Released,
    pub not_rtp: u64,
    pub rtcp: u64,
    /// The RTCP session: counts the peer's RTCP, builds our RRs.
    pub link: Link,
    /// Telephone events (RFC 4733) of `--dtmf-pt`, and those finished.
    events: EventReceiver,
    pub dtmf: Vec<ReceivedEvent>,
}

impl Receiver {
    fn new(
        codec: Audio,
        pt: u8,
        out: Option<&Path>,
        player: Option<Player>,
    ) -> Result<Receiver, Fail> {
        let wav = match out {
            Some(p) => Some(
                hound::WavWriter::create(
                    p,
                    hound::WavSpec {
                        channels: 1,
                        sample_rate: codec.rate(),
                        bits_per_sample: 16,
                        sample_format: hound::SampleFormat::Int,
                    },
                )
                .map_err(|e| Fail::usage(format!("--out {}: {e}", p.display())))?,
            ),
            None => None,
        };
        Ok(Receiver {
            pt,
            streams: Vec::new(),
            by_ssrc: HashMap::new(),
            decoding: None,
            media: Media {
                dec: Decoder::new(codec)?,
                rate: codec.rate(),
                next_ts: None,
                pcm: Vec::new(),
                wav,
                samples: 0,
                concealed: 0,
                io_error: None,
            },
            player,
            released: Released::default(),
            not_rtp: 0,
            rtcp: 0,
            link: Link::new(
                rtcp::Mode::Off,
                false,
                util::random_u32(),
                codec.rate(),
                rtpsynth::clock::monotonic_ns(),
            )?,
            events: EventReceiver::new(dtmf::DEFAULT_PT, DEFAULT_TIMEOUT_NS),
            dtmf: Vec::new(),
        })
    }

    /// One datagram of the stream's port.
    pub fn datagram(&mut self, d: &[u8], arrival_ns: u64) {
        if is_rtcp(d) {
            self.rtcp_datagram(d, None, arrival_ns);
            return;
        }
        let Ok(p) = rtpsynth::rtp::parse(d) else {
            self.not_rtp += 1;
            return;
        };
        if p.pt == self.events.payload_type() && p.pt != self.pt {
            self.events.push_rtp(d, arrival_ns);
            self.take_events();
        }
        if self.decoding.is_none() && p.pt == self.pt {
            self.decoding = Some(p.ssrc);
        }
        let decode = self.decoding == Some(p.ssrc) && p.pt == self.pt;
        let idx = match self.by_ssrc.get(&p.ssrc) {
            Some(&i) => i,
            None => {
                let clock = if p.pt == self.pt { self.media.rate } else { 0 };
                self.streams.push(Stream::new(
                    p.ssrc,
                    p.pt,
                    clock,
                    self.decoding == Some(p.ssrc),
                ));
                self.by_ssrc.insert(p.ssrc, self.streams.len() - 1);
                self.streams.len() - 1
            }
        };
        let payload = &d[p.data_offset as usize..p.data_offset as usize + p.data_size];
        let s = &mut self.streams[idx];
        s.packets += 1;
        s.octets += payload.len() as u64;
        s.decoded |= decode;
        s.rs.on_rtp(p.seq, p.ts, arrival_ns, payload.len());
        self.link
            .session
            .on_received(p.ssrc, p.seq, p.ts, arrival_ns, payload.len());
        if let (true, Some(pl)) = (decode, &mut self.player) {
            let media = &mut self.media;
            pl.packet(d, arrival_ns, &mut |f| media.write_samples(f));
        }
        let item = (decode && self.player.is_none()).then(|| payload.to_vec());
        // Parsed already: cannot fail again.
        let _ = s.jb.udp_in(d, || Some(item), |_, _| {}, &mut self.released);
        self.drain();
    }

    pub fn set_dtmf_pt(&mut self, pt: u8) {
        self.events = EventReceiver::new(pt, DEFAULT_TIMEOUT_NS);
    }

    fn take_events(&mut self) {
        while let Some(e) = self.events.pop() {
            self.dtmf.push(e);
        }
    }

    /// One compound RTCP datagram (from the RTCP port, or split off the
    /// RTP port by RFC 5761).
    pub fn rtcp_datagram(&mut self, d: &[u8], from: Option<SocketAddr>, arrival_ns: u64) {
        self.rtcp += 1;
        self.link.on_rtcp(d, from, arrival_ns);
    }

    fn drain(&mut self) {
        let rel = &mut self.released;
        for f in rel.frames.drain(..) {
            if let Some(payload) = f.item {
                self.media.packet(f.ts, &payload);
            }
        }
    }

    /// Release everything held and close the WAV file.
    fn finish(&mut self) -> Result<(), Fail> {
        self.events.flush();
        self.take_events();
        for i in 0..self.streams.len() {
            self.streams[i].jb.drain(&mut self.released);
            self.drain();
        }
        if let Some(pl) = &mut self.player {
            let media = &mut self.media;
            pl.finish(&mut |f| media.write_samples(f));
        }
        if let Some(w) = self.media.wav.take() {
            w.finalize()
                .map_err(|e| Fail::runtime(format!("cannot write the WAV file: {e}")))?;
        }
        if let Some(e) = self.media.io_error.take() {
            return Err(Fail::runtime(format!("cannot write the WAV file: {e}")));
        }
        Ok(())
    }

    fn stats_json(&self) -> Value {
        let mut streams: Vec<Value> = self.streams.iter().map(|s| s.json(self.pt)).collect();
        for (v, s) in streams.iter_mut().zip(&self.streams) {
            if let Some(obj) = v.as_object_mut() {
                self.link.stream_json(s.ssrc, obj);
                let events: Vec<Value> = self
                    .dtmf
                    .iter()
                    .filter(|e| e.ssrc == s.ssrc)
                    .map(|e| dtmf::entry(e, self.media.rate))
                    .collect();
                obj.insert("dtmf".into(), Value::Array(events));
                if let (Some(pl), true) = (&self.player, self.decoding == Some(s.ssrc)) {
                    obj.insert("playout".into(), pl.json());
                }
            }
        }
        streams.extend(
            self.link
                .rtcp_only_streams(|ssrc| self.by_ssrc.contains_key(&ssrc)),
        );
        json!({ "streams": streams })
    }
}

pub fn run(a: RecvArgs) -> Result<(), Fail> {
    if let Some(c) = video::codec_of(a.codec) {
        return video::recv(a, c);
    }
    if a.nack {
        return Err(Fail::usage("--nack is for video codecs"));
    }
    let codec = Audio::from_cli(a.codec)?;
    let pt = a.pt.unwrap_or(codec.default_pt());
    let limit = a
        .duration
        .map(|d| util::seconds("--duration", d))
        .transpose()?;
    if let Some(p) = &a.stats {
        util::check_writable("--stats", p)?;
    }
    let capture = open_capture(&a)?;
    let player = match playout::mode(parse_playout(&a.playout).map_err(Fail::usage)?) {
        Some(m) => Some(Player::new(codec, pt, m)?),
        None => None,
    };
    let mut rx = Receiver::new(codec, pt, a.out.as_deref(), player)?;
    configure_link(&mut rx.link, &a)?;
    if let Some(dpt) = a.dtmf_pt {
        if dpt > 127 || dpt == pt {
            return Err(Fail::usage(format!(
                "--dtmf-pt {dpt}: expected 0..=127, not the audio's {pt}"
            )));
        }
        rx.set_dtmf_pt(dpt);
    }
    let outcome = receive(capture, &a, limit, &mut rx);
    // Outputs are written however reception ended.
    let finished = rx.finish();
    for e in &rx.dtmf {
        println!("{}", dtmf::line(e, codec.rate()));
    }
    if let Some(p) = &a.stats {
        util::write_json(p, &rx.stats_json())?;
    }
    eprintln!(
        "rtpsynth: {} stream(s), {} samples decoded ({} concealed), {} non-RTP datagrams ignored, {} RTCP datagrams taken",
        rx.streams.len(),
        rx.media.samples,
        rx.media.concealed,
        rx.not_rtp,
        rx.rtcp
    );
    outcome?;
    finished
}

/// The RTCP session as `recv`'s options say (audio or video): port pair
/// or mux, `--latch`, and over TCP the connection as the only target.
pub fn configure_link(link: &mut Link, a: &RecvArgs) -> Result<(), Fail> {
    link.set_mode(rtcp::Mode::from_flags(a.rtcp, a.rtcp_mux));
    link.set_lock_first(a.latch);
    link.set_target_fixed(a.tcp);
    crate::transport::check(a.tcp, link.mode(), a.stun)
}

pub fn open_capture(a: &RecvArgs) -> Result<Option<Capture>, Fail> {
    a.pcap.as_deref().map(Capture::open).transpose()
}

/// Reception into `rx`, live or from the capture, until it ends; the
/// caller writes the outputs whatever this returns.
pub fn receive(
    capture: Option<Capture>,
    a: &RecvArgs,
    limit: Option<Duration>,
    rx: &mut impl Datagrams,
) -> Result<(), Fail> {
    let stop = util::stop_flag()?;
    match (capture, a.listen) {
        (Some(cap), _) => from_capture(cap, a.port, limit, &stop, rx),
        (None, Some(addr)) => live(addr, a.stun, a.tcp, limit, &stop, rx),
        (None, None) => Err(Fail::usage("give --listen HOST:PORT or --pcap FILE")),
    }
}

/// A datagram from the I/O thread: bytes, source, arrival time, and
/// whether it came on the RTCP port (or was split off as RTCP by mux).
type Arrival = (Vec<u8>, Option<SocketAddr>, u64, bool);

/// Live reception: the I/O thread hands datagrams over a bounded queue.
fn live(
    addr: SocketAddr,
    stun: bool,
    tcp: bool,
    limit: Option<Duration>,
    stop: &std::sync::atomic::AtomicBool,
    rx: &mut impl Datagrams,
) -> Result<(), Fail> {
    let server =
        Server::new(0).map_err(|e| Fail::runtime(format!("cannot start the I/O thread: {e}")))?;
    let (tx, queue) = mpsc::sync_channel::<Arrival>(16384);
    let overflow = Arc::new(AtomicU64::new(0));
    let ovf = overflow.clone();
    let (rtcp_tx, rtcp_ovf) = (tx.clone(), overflow.clone());
    let host = addr.ip().to_string();
    let cfg = ChanConfig {
        bind_host: Some(&host),
        bind_port: addr.port(),
        bind_family: if addr.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        },
        queue_size: 0,
    };
    let on_rtp: rtpsynth::server::PktIn = Box::new(move |d, from, rtime| {
        // Over TCP, RTCP shares the connection: split off here.
        let rtcp_here = tcp && is_rtcp(d);
        if tx
            .try_send((d.to_vec(), from.to_socket_addr(), rtime, rtcp_here))
            .is_err()
        {
            ovf.fetch_add(1, Ordering::Relaxed);
        }
    });
    let on_rtcp: rtpsynth::server::PktIn = Box::new(move |d, from, rtime| {
        if rtcp_tx
            .try_send((d.to_vec(), from.to_socket_addr(), rtime, true))
            .is_err()
        {
            rtcp_ovf.fetch_add(1, Ordering::Relaxed);
        }
    });
    let mode = rx.link().map_or(rtcp::Mode::Off, |l| l.mode());
    let tcp_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ports = if tcp {
        crate::transport::listen(&server, &cfg, on_rtp, tcp_ended.clone()).map(|c| {
            drop(on_rtcp);
            rtcp::Ports { rtp: c, rtcp: None }
        })
    } else {
        rtcp::open(&server, &cfg, mode, stun, Some(on_rtp), on_rtcp)
    }
    .map_err(|e| Fail::runtime(format!("cannot listen on {addr}: {e}")))?;
    eprintln!("rtpsynth: listening on {}", ports.rtp.local_socket_addr());
    let start = Instant::now();
    // Where the peer's RTP comes from: our RRs go there (+ 1) until its
    // RTCP shows where it wants them. The latest source, or with --latch
    // the first (RFC 4961).
    let mut rtp_peer: Option<SocketAddr> = None;
    loop {
        if stop.load(Ordering::Relaxed)
            || limit.is_some_and(|l| start.elapsed() >= l)
            || tcp_ended.load(Ordering::Acquire)
        {
            break;
        }
        match queue.recv_timeout(Duration::from_millis(20)) {
            Ok(a) => take(rx, &mut rtp_peer, a),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if mode != rtcp::Mode::Off {
            rx.tick(ports.rtcp_chan(), rtp_peer, rtpsynth::clock::monotonic_ns());
        }
    }
    // What was already queued when reception ended still counts.
    while let Ok(a) = queue.try_recv() {
        take(rx, &mut rtp_peer, a);
    }
    if stun {
        eprintln!(
            "rtpsynth: {} STUN Binding Requests answered",
            ports.rtp.stats().stun_answered
        );
    }
    if let (true, Some(link)) = (mode != rtcp::Mode::Off, rx.link()) {
        let out = ports.rtcp_chan();
        if link.bye(out, rtp_peer, rtpsynth::clock::monotonic_ns()) {
            let _ = out.drain(Duration::from_millis(500));
        }
    }
    drop(ports);
    server.shutdown();
    while let Ok(a) = queue.try_recv() {
        take(rx, &mut rtp_peer, a);
    }
    let lost = overflow.load(Ordering::Relaxed);
    if lost > 0 {
        eprintln!("rtpsynth: {lost} datagrams dropped: the decoder fell behind");
    }
    Ok(())
}

/// One arrival from the I/O thread into `rx`, noting where the peer's RTP
/// comes from (the latest source, or with --latch the first: RFC 4961).
fn take(rx: &mut impl Datagrams, rtp_peer: &mut Option<SocketAddr>, a: Arrival) {
    let (d, from, t, rtcp_port) = a;
    if rtcp_port {
        rx.rtcp_datagram(&d, from, t);
    } else {
        let latched = rx.link().is_some_and(|l| l.locks_first()) && rtp_peer.is_some();
        if !latched && parse_rtp(&d).is_some() {
            *rtp_peer = from;
        }
        rx.datagram(&d, t);
    }
}

/// Picks the stream's flow out of a capture: packets to `--port`, or the
/// first flow (destination address and port) carrying RTP. A flow counts as
/// RTP once two of its packets parse as RTP (not RTCP) with one SSRC and
/// sequence numbers 1..=100 apart, so a stray datagram that happens to look
/// like RTP (a DNS query does one time in four) is not taken.
struct FlowPicker {
    port: Option<u16>,
    chosen: Option<SocketAddr>,
    /// Where the first packet of the stream came from.
    source: Option<SocketAddr>,
    /// Candidate flows: the packets held back until one qualifies.
    pending: HashMap<SocketAddr, Vec<(Vec<u8>, u64)>>,
    /// Candidate flows in order of appearance: (destination, source).
    order: Vec<(SocketAddr, SocketAddr)>,
    /// RTCP seen before the flow is known, by destination.
    rtcp_held: Vec<(SocketAddr, Vec<u8>, u64)>,
}

const PENDING_PER_FLOW: usize = 32;

impl FlowPicker {
    fn matches(&self, dst: SocketAddr) -> bool {
        match (self.port, self.chosen) {
            (Some(p), _) => dst.port() == p,
            (None, Some(c)) => dst == c,
            (None, None) => false,
        }
    }

    /// RTCP of the flow: to its port + 1 (RFC 3550 section 11; the same
    /// port is `matches`, RFC 5761).
    fn rtcp_matches(&self, dst: SocketAddr) -> bool {
        match (self.port, self.chosen) {
            (Some(p), _) => p.checked_add(1) == Some(dst.port()),
            (None, Some(c)) => dst.ip() == c.ip() && c.port().checked_add(1) == Some(dst.port()),
            (None, None) => false,
        }
    }

    /// The held RTCP that belongs to the flow just chosen.
    fn held_rtcp(&mut self) -> Vec<(Vec<u8>, u64)> {
        let held = std::mem::take(&mut self.rtcp_held);
        held.into_iter()
            .filter(|(dst, _, _)| self.matches(*dst) || self.rtcp_matches(*dst))
            .map(|(_, d, t)| (d, t))
            .collect()
    }

    /// Feed a datagram; returns the datagrams to process now, in order.
    fn feed(&mut self, d: &Datagram) -> Vec<(Vec<u8>, u64)> {
        if self.port.is_some() || self.chosen.is_some() {
            return if self.matches(d.dst) {
                self.source.get_or_insert(d.src);
                vec![(d.payload.to_vec(), d.ts_ns)]
            } else if self.rtcp_matches(d.dst) && is_rtcp(d.payload) {
                vec![(d.payload.to_vec(), d.ts_ns)]
            } else {
                Vec::new()
            };
        }
        if is_rtcp(d.payload) {
            if self.rtcp_held.len() < PENDING_PER_FLOW {
                self.rtcp_held.push((d.dst, d.payload.to_vec(), d.ts_ns));
            }
            return Vec::new();
        }
        let Some(p) = parse_rtp(d.payload) else {
            return Vec::new();
        };
        let held = self.pending.entry(d.dst).or_default();
        if held.is_empty() {
            self.order.push((d.dst, d.src));
        }
        let qualifies = held
            .iter()
            .filter_map(|(h, _)| parse_rtp(h))
            .any(|q| q.ssrc == p.ssrc && (1..=100).contains(&p.seq.wrapping_sub(q.seq)));
        if held.len() < PENDING_PER_FLOW {
            held.push((d.payload.to_vec(), d.ts_ns));
        }
        if qualifies {
            self.chosen = Some(d.dst);
            self.source = Some(d.src);
            let mut out = self.held_rtcp();
            out.extend(self.pending.remove(&d.dst).unwrap_or_default());
            return out;
        }
        Vec::new()
    }

    /// At the end of the capture with no qualified flow: the first flow
    /// that carried anything like RTP.
    fn leftovers(&mut self) -> Vec<(Vec<u8>, u64)> {
        if self.chosen.is_some() || self.port.is_some() {
            return Vec::new();
        }
        match self.order.first().copied() {
            Some((dst, src)) => {
                self.chosen = Some(dst);
                self.source = Some(src);
                let mut out = self.held_rtcp();
                out.extend(self.pending.remove(&dst).unwrap_or_default());
                out
            }
            None => Vec::new(),
        }
    }
}

fn from_capture(
    mut cap: Capture,
    port: Option<u16>,
    limit: Option<Duration>,
    stop: &std::sync::atomic::AtomicBool,
    rx: &mut impl Datagrams,
) -> Result<(), Fail> {
    let mut picker = FlowPicker {
        port,
        chosen: None,
        source: None,
        pending: HashMap::new(),
        order: Vec::new(),
        rtcp_held: Vec::new(),
    };
    let limit_ns = limit.map(|l| l.as_nanos() as u64);
    let mut first_ts: Option<u64> = None;
    let mut over = false;
    let result = cap.for_each_udp(|d| {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        for (payload, ts) in picker.feed(d) {
            let t0 = *first_ts.get_or_insert(ts);
            if limit_ns.is_some_and(|l| ts.saturating_sub(t0) >= l) {
                over = true;
                return false;
            }
            rx.datagram(&payload, ts);
        }
        true
    });
    if !over {
        for (payload, ts) in picker.leftovers() {
            rx.datagram(&payload, ts);
        }
    }
    if cap.snapped > 0 {
        eprintln!(
            "rtpsynth: {} of {} captured packets were cut short by the snapshot length",
            cap.snapped, cap.records
        );
    }
    match (picker.source, picker.chosen) {
        (Some(src), Some(dst)) => eprintln!("rtpsynth: stream from {src} to {dst}"),
        (Some(src), None) => eprintln!("rtpsynth: stream from {src}"),
        _ => eprintln!("rtpsynth: no RTP stream in the capture"),
    }
    match result {
        Ok(()) => Ok(()),
        Err(Cut::Truncated) => Err(Fail::runtime(format!(
            "the capture is truncated: processed the {} packets before the cut",
            cap.records
        ))),
        Err(Cut::Damaged(why)) => Err(Fail::runtime(format!(
            "the capture is damaged after {} packets ({why}): processed up to there",
            cap.records
        ))),
        Err(Cut::Io(why)) => Err(Fail::runtime(format!(
            "reading the capture failed after {} packets: {why}",
            cap.records
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ts: u32, ssrc: u32, pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn rtcp_by_rfc5761() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 201, 0, 1]));
        assert!(!is_rtcp(&[0x80, 0, 0, 1]));
        assert!(!is_rtcp(&[0x80, 0x80 | 111, 0, 1]));
    }

    #[test]
    fn gaps_reordering_and_counters() {
        let mut rx = Receiver::new(Audio::L16, 96, None, None).unwrap();
        let pay = |v: i16| -> Vec<u8> {
            std::iter::repeat(v.to_be_bytes())
                .take(80)
                .flatten()
                .collect()
        };
        // seq 10..20 of 80 samples, 13 lost, 15 and 16 swapped, 17 twice,
        // plus another SSRC with another PT.
        for seq in [10u16, 11, 12, 14, 16, 15, 17, 17, 18, 19] {
            let d = rtp(seq, 1000 + (seq as u32 - 10) * 80, 7, 96, &pay(seq as i16));
            rx.datagram(&d, 0);
        }
        rx.datagram(&rtp(1, 0, 9, 8, &[0xd5; 160]), 0);
        rx.datagram(&[0x80, 200, 0, 1, 0, 0, 0, 0], 0);
        rx.datagram(b"junk", 0);
        rx.finish().unwrap();
        assert_eq!(rx.media.samples, 10 * 80);
        assert_eq!(rx.media.concealed, 80);
        assert_eq!((rx.rtcp, rx.not_rtp), (1, 1));
        let v = rx.stats_json();
        let s = &v["streams"][0];
        assert_eq!(s["ssrc"], 7);
        assert_eq!(s["packets"], 10);
        assert_eq!(s["octets"], 10 * 160);
        assert_eq!(s["duplicates"], 1);
        assert_eq!(s["lost"], 0); // 10 expected, 10 received (one duplicate)
        assert_eq!(s["decoded"], true);
        let o = &v["streams"][1];
        assert_eq!((o["ssrc"].as_u64(), o["pt"].as_u64()), (Some(9), Some(8)));
        assert_eq!(o["decoded"], false);
        assert!(s["jitter_ms"].as_f64().is_some());
        assert!(o["jitter_ms"].is_null());
    }

    #[test]
    fn lost_counts_the_missing() {
        let mut rx = Receiver::new(Audio::Pcmu, 0, None, None).unwrap();
        for seq in [100u16, 101, 104, 105] {
            rx.datagram(&rtp(seq, seq as u32 * 160, 1, 0, &[0xff; 160]), 0);
        }
        rx.finish().unwrap();
        assert_eq!(rx.stats_json()["streams"][0]["lost"], 2);
        assert_eq!(rx.media.samples, 6 * 160);
        assert_eq!(rx.media.concealed, 2 * 160);
    }

    #[test]
    fn flow_picker_needs_two_rtp_packets() {
        let mut fp = FlowPicker {
            port: None,
            chosen: None,
            source: None,
            pending: HashMap::new(),
            order: Vec::new(),
            rtcp_held: Vec::new(),
        };
        let a: SocketAddr = "10.0.0.1:53".parse().unwrap();
        let b: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let dg = |dst, payload: &'static [u8]| Datagram {
            src: "10.0.0.9:1".parse().unwrap(),
            dst,
            payload,
            ts_ns: 0,
        };
        let p1 = rtp(5, 0, 3, 0, &[0; 4]).leak();
        let p2 = rtp(6, 160, 3, 0, &[0; 4]).leak();
        let dns = rtp(9, 9, 4, 1, &[1; 4]).leak();
        assert!(fp.feed(&dg(a, dns)).is_empty());
        assert!(fp.feed(&dg(b, p1)).is_empty());
        let out = fp.feed(&dg(b, p2));
        assert_eq!(out.len(), 2);
        assert_eq!(fp.chosen, Some(b));
        assert!(fp.feed(&dg(a, dns)).is_empty());
        assert_eq!(fp.feed(&dg(b, p1)).len(), 1);
    }
}
