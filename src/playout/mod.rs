//! Adaptive clocked playout: a per-stream buffer that takes RTP packets with
//! their arrival times and hands out one packet time of decoded 16-bit mono
//! PCM per call, on the caller's clock, with a delay that follows the
//! network and concealment for what is missing.
//!
//! Times are explicit everywhere (`arrival_ns`, `now_ns`, any monotonic
//! nanosecond clock), never read inside, so a capture runs through it
//! faster than real time. Nothing allocates per packet: the packet store,
//! the decode scratch, the output queue and the statistics are sized at
//! creation (per-minute delay means grow once a minute).
//!
//! How it works (docs/playout.md has the details):
//! * `put` parses the packet, maps its RTP timestamp onto a continuous
//!   media timeline (a new SSRC or a timestamp jump re-maps the timeline,
//!   so the new stream continues after the old one), feeds the estimator
//!   and copies the payload into the store.
//! * `get` decodes into a queue of PCM not yet played until it holds one
//!   output frame. A missing packet is concealed; while the buffer is
//!   below its target delay the concealment is held in place (the delay
//!   grows), else the media time advances over the loss. Afterwards the
//!   queued audio may be compressed or expanded by one pitch period (any
//!   length on silence) to steer the delay toward the target. After 120 ms
//!   of continuous loss with nothing buffered the stream is paused; the
//!   next packet restarts it at the target delay, as does a talkspurt
//!   (marker bit after a gap).

mod estimator;
pub mod plc;
mod stats;
mod store;
mod stretch;

#[cfg(test)]
mod tests;

use crate::codec::{g711, opus};
use crate::rtp::{self, ParseError};
use estimator::Estimator;
pub use plc::{G711Plc, PlcMode};
use stats::Delays;
pub use stats::Stats;
use store::{Insert, Meta, Store};

const NS: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

/// The codec of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
    /// 16-bit big-endian linear PCM, mono, at `rate` Hz (RTP clock = rate).
    L16 { rate: u32 },
    /// Opus (RTP clock 48 kHz), decoded to mono at `rate` Hz (8000, 12000,
    /// 16000, 24000 or 48000).
    Opus { rate: u32 },
}

/// How the target delay is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// From the measured jitter, within `min_ms..=max_ms`.
    Adaptive { min_ms: u32, max_ms: u32 },
    /// A constant delay (still skew-compensated).
    Fixed { ms: u32 },
}

/// Playout buffer settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub codec: Codec,
    /// Accept only this RTP payload type (None: any).
    pub pt: Option<u8>,
    /// Output frame per `get`, in ms (1..=120).
    pub ptime_ms: u32,
    pub mode: Mode,
    /// Packets held at most (0: enough for the maximum delay).
    pub capacity: usize,
    /// Largest payload kept, bytes (0: 1500).
    pub max_payload: usize,
    pub plc: PlcMode,
}

impl Config {
    pub fn new(codec: Codec) -> Self {
        Config {
            codec,
            pt: None,
            ptime_ms: 20,
            mode: Mode::Adaptive {
                min_ms: 0,
                max_ms: 500,
            },
            capacity: 0,
            max_payload: 0,
            plc: PlcMode::ZeroDelay,
        }
    }
}

/// Why a configuration or a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayoutError {
    /// A setting is out of range.
    BadConfig,
    /// The output buffer holds less than one frame.
    BufferTooSmall,
    /// The datagram is not RTP.
    NotRtp(ParseError),
    /// libopus failed to start.
    Codec,
}

/// What `put` did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Kept for playout.
    Stored,
    /// Kept, as the first packets of a possible new stream.
    Candidate,
    /// Arrived after its playout time.
    Late,
    /// A sequence number already received.
    Duplicate,
    /// Dropped: too large, not decodable, or the buffer overflowed
    /// (then the packet due first was dropped and this one kept).
    Discarded,
    /// Another payload type than the configured one (not counted).
    OtherPayloadType,
    /// No payload (not counted).
    Empty,
}

/// Flags of a `get` result.
pub mod status {
    /// The frame carries the stream's audio (decoded or concealed).
    pub const PLAYING: u32 = 0x1;
    /// Some of it is concealment.
    pub const CONCEALED: u32 = 0x2;
    /// Rebuilt from Opus in-band FEC.
    pub const FEC: u32 = 0x4;
    /// The delay was increased (expansion).
    pub const EXPANDED: u32 = 0x8;
    /// The delay was decreased (compression or a shorter pause).
    pub const COMPRESSED: u32 = 0x10;
    /// Silence: the stream is paused (continuous loss over 120 ms).
    pub const PAUSED: u32 = 0x20;
    /// Silence: no packet yet, or waiting for the first one's playout time.
    pub const WAITING: u32 = 0x40;
}

/// One played packet: when it arrived and when its first sample played.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Played {
    pub seq: u16,
    pub ts: u32,
    pub arrival_ns: i64,
    pub playout_ns: i64,
}

const PLAYED_RING: usize = 256;
/// Continuous loss beyond this is a pause.
const PAUSE_NS: i64 = 120 * MS;
/// Relative transit jump that means the timeline broke (if not explained
/// by the maximum delay).
const JUMP_MIN_NS: i64 = NS;
/// Packets of the old stream after which an unconfirmed candidate is dropped.
const CANDIDATE_PATIENCE: u32 = 8;
/// Jitter window of the estimator, packets.
const WINDOW: u32 = 3000;
/// The target covers this quantile of relative delay...
const QUANTILE: f64 = 0.99;
/// ... plus this fraction of its distance from the median, plus MARGIN_NS.
const SPREAD_MARGIN: f64 = 0.15;
const MARGIN_NS: i64 = MS / 2;

enum Dec {
    Ulaw,
    Alaw,
    L16,
    Opus(opus::Decoder),
}

#[derive(Clone, Copy)]
struct Marker {
    pos: usize,
    arrival: i64,
    seq: u16,
    ts: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Idle,
    Waiting,
    Playing,
    Paused,
}

/// A packet that does not fit the current stream (another SSRC, or a
/// timestamp that jumped beyond reason), held until a second one confirms
/// the change so that a stray packet cannot reset a healthy stream.
struct Candidate {
    active: bool,
    ssrc: u32,
    meta: Meta,
    len: usize,
    data: Vec<u8>,
    seen_old: u32,
}

/// The adaptive playout buffer of one stream.
pub struct Playout {
    cfg: Config,
    clock: u32,
    rate: u32,
    ratio: i64,
    /// RTP ticks to ns, ns to output samples, output samples to ns.
    tick_ns: Ratio,
    ns_samples: Ratio,
    sample_ns: Ratio,
    frame_ns: i64,
    frame: usize,
    unit: usize,
    min_ns: i64,
    max_ns: i64,
    dec: Dec,
    plc: Option<G711Plc>,
    scratch: Vec<i16>,
    unit_buf: Vec<i16>,
    store: Store,
    est: Estimator,
    fifo: Vec<i16>,
    markers: Vec<Marker>,
    state: State,
    have_stream: bool,
    ssrc: u32,
    last_ts: u32,
    last_ext: i64,
    seg_off: i64,
    max_seq: i64,
    last_seq: u16,
    seq_bits: u64,
    cand: Candidate,
    play_t: i64,
    /// Start of the last packet decoded from its first sample.
    anchor_t: i64,
    /// The playout offset aimed at: the target rounded up to the frame
    /// lattice (see `goal`).
    goal_off: Option<i64>,
    silence_left: usize,
    conceal_run: usize,
    level: f64,
    stretch_wait: u32,
    flags: u32,
    stats: Stats,
    delays: Delays,
    played: [Played; PLAYED_RING],
    played_head: usize,
    played_len: usize,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A unit conversion `x * num / den`, the fraction reduced once at
/// creation (per packet, a tick-to-ns conversion at 8 kHz is then one
/// multiplication, not a gcd and two divisions).
#[derive(Clone, Copy)]
struct Ratio {
    num: i64,
    den: i64,
}

impl Ratio {
    fn new(num: i64, den: i64) -> Self {
        let g = gcd(num, den);
        Ratio {
            num: num / g,
            den: den / g,
        }
    }

    /// `x * num / den` (truncating), in i64 when it fits (every call in
    /// steady state), else in i128; saturating.
    #[inline]
    fn apply(self, x: i64) -> i64 {
        match x.checked_mul(self.num) {
            Some(v) if self.den == 1 => v,
            Some(v) => v / self.den,
            None => (x as i128 * self.num as i128 / self.den as i128)
                .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        }
    }
}

/// Decode one payload into `out`; the sample count, or None if the payload
/// is not decodable.
fn decode_payload(dec: &mut Dec, payload: &[u8], out: &mut [i16]) -> Option<usize> {
    match dec {
        Dec::Ulaw | Dec::Alaw => {
            let n = payload.len().min(out.len());
            if matches!(dec, Dec::Ulaw) {
                g711::ulaw2linear_buf(&payload[..n], &mut out[..n]);
            } else {
                g711::alaw2linear_buf(&payload[..n], &mut out[..n]);
            }
            Some(n)
        }
        Dec::L16 => {
            let n = (payload.len() / 2).min(out.len());
            for (o, b) in out[..n].iter_mut().zip(payload.chunks_exact(2)) {
                *o = i16::from_be_bytes([b[0], b[1]]);
            }
            Some(n)
        }
        Dec::Opus(d) => d.decode(Some(payload), out, false).ok(),
    }
}

impl Playout {
    pub fn new(cfg: Config) -> Result<Self, PlayoutError> {
        let (clock, rate) = match cfg.codec {
            Codec::Pcmu | Codec::Pcma => (8000, 8000),
            Codec::L16 { rate } if (8000..=192_000).contains(&rate) => (rate, rate),
            Codec::Opus { rate } if [8000, 12000, 16000, 24000, 48000].contains(&rate) => {
                (48000, rate)
            }
            _ => return Err(PlayoutError::BadConfig),
        };
        if !(1..=120).contains(&cfg.ptime_ms) {
            return Err(PlayoutError::BadConfig);
        }
        let (min_ms, max_ms) = match cfg.mode {
            Mode::Adaptive { min_ms, max_ms } => (min_ms, max_ms),
            Mode::Fixed { ms } => (ms, ms),
        };
        if min_ms > max_ms || max_ms > 10_000 || cfg.capacity > 4096 || cfg.max_payload > 65536 {
            return Err(PlayoutError::BadConfig);
        }
        let frame = (rate as u64 * cfg.ptime_ms as u64 / 1000) as usize;
        if frame == 0 {
            return Err(PlayoutError::BadConfig);
        }
        let (dec, plc) = match cfg.codec {
            Codec::Pcmu => (Dec::Ulaw, Some(G711Plc::new(rate, cfg.plc))),
            Codec::Pcma => (Dec::Alaw, Some(G711Plc::new(rate, cfg.plc))),
            Codec::L16 { .. } => (Dec::L16, Some(G711Plc::new(rate, cfg.plc))),
            Codec::Opus { .. } => {
                let d = opus::Decoder::new(rate as i32, 1).map_err(|_| PlayoutError::Codec)?;
                (Dec::Opus(d), None)
            }
        };
        let unit = plc.as_ref().map_or(rate as usize / 100, |p| p.frame_len());
        let max_payload = if cfg.max_payload == 0 {
            1500
        } else {
            cfg.max_payload
        };
        // packets of 10 ms or more: the maximum delay's worth, with room
        // for reordering and a change of stream
        let capacity = match cfg.capacity {
            0 => (max_ms / 10) as usize + 16,
            n => n,
        }
        .clamp(4, 4096);
        // the longest decode: a 120 ms Opus packet or a full L16 payload
        let max_decode = (rate as usize * 120 / 1000).max(max_payload);
        let fifo_cap = 3 * frame + 4 * unit + max_decode + rate as usize / 10;
        Ok(Playout {
            cfg,
            clock,
            rate,
            ratio: (clock / rate) as i64,
            tick_ns: Ratio::new(NS, clock as i64),
            ns_samples: Ratio::new(rate as i64, NS),
            sample_ns: Ratio::new(NS, rate as i64),
            frame_ns: frame as i64 * NS / rate as i64,
            frame,
            unit,
            min_ns: min_ms as i64 * MS,
            max_ns: max_ms as i64 * MS,
            dec,
            plc,
            scratch: vec![0; max_decode],
            unit_buf: vec![0; rate as usize * 120 / 1000],
            store: Store::new(capacity, max_payload),
            est: Estimator::new(max_ms as i64 * MS + 500 * MS, WINDOW),
            fifo: Vec::with_capacity(fifo_cap),
            markers: Vec::with_capacity(capacity + 16),
            state: State::Idle,
            have_stream: false,
            ssrc: 0,
            last_ts: 0,
            last_ext: 0,
            seg_off: 0,
            max_seq: 0,
            last_seq: 0,
            seq_bits: 0,
            cand: Candidate {
                active: false,
                ssrc: 0,
                meta: Meta::default(),
                len: 0,
                data: vec![0; max_payload],
                seen_old: 0,
            },
            play_t: 0,
            anchor_t: 0,
            goal_off: None,
            silence_left: 0,
            conceal_run: 0,
            level: 0.0,
            stretch_wait: 0,
            flags: 0,
            stats: Stats::default(),
            delays: Delays::new(),
            played: [Played::default(); PLAYED_RING],
            played_head: 0,
            played_len: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Samples per `get` (one packet time at the output rate).
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    /// Output sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Packets waiting in the buffer (not yet decoded).
    pub fn buffered_packets(&self) -> usize {
        self.store.count()
    }

    /// Samples the concealment adds to every packet's delay (the standard
    /// G.711 Appendix I delay line; 0 otherwise).
    pub fn latency_samples(&self) -> usize {
        self.plc.as_ref().map_or(0, |p| p.latency())
    }

    fn t_ns(&self, t: i64) -> i64 {
        self.tick_ns.apply(t)
    }

    /// Duration of a payload in RTP ticks.
    fn packet_ticks(&self, payload: &[u8]) -> Option<i64> {
        let n = match self.dec {
            Dec::Ulaw | Dec::Alaw => payload.len(),
            Dec::L16 => payload.len() / 2,
            Dec::Opus(_) => opus::packet_samples_48k(payload)?,
        };
        (n > 0).then_some(n as i64)
    }

    /// Counters, with the delay distribution summarized.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.skew_ppm = self.est.skew() * 1e6;
        s.delay_count = self.delays.count();
        s.mean_delay_ns = self.delays.mean();
        s.p95_delay_ns = self.delays.quantile(0.95);
        s
    }

    /// Mean per-packet delay (ns) per minute of arrival time since the
    /// first played packet (None: nothing played in that minute).
    pub fn delay_by_minute(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.delays.by_minute()
    }

    /// The oldest not yet collected played-packet record (the last 256 are
    /// kept).
    pub fn next_played(&mut self) -> Option<Played> {
        if self.played_len == 0 {
            return None;
        }
        let i = (self.played_head + PLAYED_RING - self.played_len) % PLAYED_RING;
        self.played_len -= 1;
        Some(self.played[i])
    }

    /// Drop everything buffered and wait for a new stream (statistics stay).
    pub fn reset(&mut self) {
        self.stats.discarded += self.store.clear() as u64;
        self.fifo.clear();
        self.markers.clear();
        self.state = State::Idle;
        self.have_stream = false;
        self.cand.active = false;
        self.silence_left = 0;
        self.conceal_run = 0;
        if let Some(p) = &mut self.plc {
            p.reset();
        }
        self.stats.resets += 1;
    }

    /// Take one datagram that arrived at `arrival_ns`. The payload is
    /// copied; `pkt` can be reused as soon as this returns.
    pub fn put(&mut self, pkt: &[u8], arrival_ns: i64) -> Result<PutOutcome, PlayoutError> {
        let p = rtp::parse(pkt).map_err(PlayoutError::NotRtp)?;
        if self.cfg.pt.is_some_and(|pt| pt != p.pt) {
            return Ok(PutOutcome::OtherPayloadType);
        }
        if p.data_size == 0 {
            return Ok(PutOutcome::Empty);
        }
        let off = p.data_offset as usize;
        let payload = &pkt[off..off + p.data_size];
        self.stats.received += 1;
        let dur = match self.packet_ticks(payload) {
            Some(d) if payload.len() <= self.store.max_payload() => d,
            _ => {
                self.stats.discarded += 1;
                return Ok(PutOutcome::Discarded);
            }
        };
        let meta = Meta {
            t: 0,
            dur,
            seq: p.seq,
            ts: p.ts,
            arrival: arrival_ns,
            marker: p.marker,
        };
        if !self.have_stream {
            self.begin_stream(p.ssrc, &meta, 0);
        } else if p.ssrc != self.ssrc {
            return Ok(self.candidate(p.ssrc, meta, payload));
        } else {
            let t = self.ext_ts(p.ts) + self.seg_off;
            let r = arrival_ns.saturating_sub(self.t_ns(t));
            let limit = JUMP_MIN_NS.max(2 * self.max_ns) as f64;
            if self
                .est
                .floor(arrival_ns)
                .is_some_and(|f| (r as f64 - f).abs() > limit)
            {
                return Ok(self.candidate(p.ssrc, meta, payload));
            }
        }
        if self.cand.active {
            self.cand.seen_old += 1;
            if self.cand.seen_old > CANDIDATE_PATIENCE {
                self.cand.active = false;
                self.stats.discarded += 1;
            }
        }
        Ok(self.accept(meta, payload))
    }

    fn ext_ts(&self, ts: u32) -> i64 {
        self.last_ext + ts.wrapping_sub(self.last_ts) as i32 as i64
    }

    /// Start a stream whose first packet `m` goes at media time `t0`.
    fn begin_stream(&mut self, ssrc: u32, m: &Meta, t0: i64) {
        self.have_stream = true;
        self.ssrc = ssrc;
        self.last_ts = m.ts;
        self.last_ext = 0;
        self.seg_off = t0;
        self.max_seq = 0;
        self.last_seq = m.seq.wrapping_sub(1);
        self.seq_bits = 0;
    }

    /// Whether the sequence number was seen (and mark it seen).
    fn seen_seq(&mut self, seq: u16) -> bool {
        let d = seq.wrapping_sub(self.last_seq) as i16 as i64;
        if d > 0 {
            self.seq_bits = if d >= 64 { 0 } else { self.seq_bits << d };
            self.seq_bits |= 1;
            self.max_seq += d;
            self.last_seq = seq;
            false
        } else {
            let back = -d;
            if back >= 64 {
                return false;
            }
            let bit = 1u64 << back;
            let seen = self.seq_bits & bit != 0;
            self.seq_bits |= bit;
            seen
        }
    }

    /// A packet of the current stream (`meta.t` not yet set).
    fn accept(&mut self, mut m: Meta, payload: &[u8]) -> PutOutcome {
        if self.seen_seq(m.seq) {
            self.stats.duplicates += 1;
            return PutOutcome::Duplicate;
        }
        let ext = self.ext_ts(m.ts);
        if ext > self.last_ext {
            self.last_ext = ext;
            self.last_ts = m.ts;
        }
        m.t = ext + self.seg_off;
        let r = m.arrival.saturating_sub(self.t_ns(m.t));
        self.est.add(m.arrival, r);
        if matches!(self.state, State::Playing | State::Paused)
            && m.t.saturating_add(m.dur) <= self.play_t
        {
            self.stats.late += 1;
            return PutOutcome::Late;
        }
        match self.store.insert(m, payload) {
            Insert::Duplicate => {
                self.stats.duplicates += 1;
                return PutOutcome::Duplicate;
            }
            Insert::StoredDroppedOldest => self.stats.discarded += 1,
            Insert::Stored => {}
        }
        if self.state == State::Idle {
            self.state = State::Waiting;
        }
        PutOutcome::Stored
    }

    fn candidate(&mut self, ssrc: u32, m: Meta, payload: &[u8]) -> PutOutcome {
        let c = &self.cand;
        let follows = c.active
            && c.ssrc == ssrc
            && (1..=100).contains(&m.seq.wrapping_sub(c.meta.seq))
            && (0..=10 * self.clock as i64).contains(&(m.ts.wrapping_sub(c.meta.ts) as i32 as i64));
        if follows {
            self.confirm_candidate();
            return self.accept(m, payload);
        }
        if self.cand.active {
            self.stats.discarded += 1;
        }
        let c = &mut self.cand;
        c.active = true;
        c.ssrc = ssrc;
        c.meta = m;
        c.len = payload.len().min(c.data.len());
        c.data[..c.len].copy_from_slice(&payload[..c.len]);
        c.seen_old = 0;
        PutOutcome::Candidate
    }

    /// The candidate becomes the stream: its timeline continues after
    /// whatever is still buffered, at the delay the network allows.
    fn confirm_candidate(&mut self) {
        self.cand.active = false;
        self.stats.resets += 1;
        let mut m = self.cand.meta;
        if self.cand.ssrc != self.ssrc {
            self.est.reset_skew();
        }
        // the media time at which this packet has the floor's transit
        let floor = self.est.floor(m.arrival).unwrap_or(0.0);
        let want = (m.arrival as f64 - floor) * self.clock as f64 / NS as f64;
        let mut t0 = want as i64;
        if let Some(end) = self.store.end() {
            t0 = t0.max(end);
        }
        if self.state != State::Waiting {
            t0 = t0.max(self.play_t);
        }
        self.begin_stream(self.cand.ssrc, &m, t0);
        m.marker = true;
        let len = self.cand.len;
        let data = std::mem::take(&mut self.cand.data);
        self.accept(m, &data[..len]);
        self.cand.data = data;
    }

    /// (playout offset to aim at, target delay, the offset without the
    /// spread margin), ns, and the estimator's floor now. The offset is in
    /// the units of relative transit: a packet with transit r plays
    /// r + delay.
    fn target(&self, now: i64) -> ((i64, i64, i64), Option<f64>) {
        let Some(floor) = self.est.floor(now) else {
            return ((0, self.min_ns, 0), None);
        };
        let floor_now = Some(floor);
        let (d, lean) = match self.cfg.mode {
            Mode::Fixed { .. } => (self.min_ns, self.min_ns),
            Mode::Adaptive { .. } => {
                let q = self.est.quantile(QUANTILE, now).unwrap_or(floor);
                let med = self.est.quantile(0.5, now).unwrap_or(floor);
                let lean = (q - floor) + MARGIN_NS as f64;
                let raw = lean + SPREAD_MARGIN * (q - med).max(0.0);
                (
                    (raw as i64).clamp(self.min_ns, self.max_ns),
                    (lean as i64).clamp(self.min_ns, self.max_ns),
                )
            }
        };
        let floor = floor as i64;
        (
            (floor.saturating_add(d), d, floor.saturating_add(lean)),
            floor_now,
        )
    }

    /// When the sample after the queued audio will play.
    fn queue_end_time(&self, now: i64) -> i64 {
        let queued = (self.fifo.len() + self.latency_samples()) as i64;
        now.saturating_add(self.sample_ns.apply(queued))
    }

    /// The playout offset of media time `play_t` if it came next.
    fn offset(&self, now: i64) -> i64 {
        self.queue_end_time(now)
            .saturating_sub(self.t_ns(self.play_t))
    }

    /// Hand out one frame (`frame_len()` samples) of audio to be played at
    /// `now_ns`. Returns `status::*` flags.
    pub fn get(&mut self, now_ns: i64, out: &mut [i16]) -> Result<u32, PlayoutError> {
        if out.len() < self.frame {
            return Err(PlayoutError::BufferTooSmall);
        }
        let out = &mut out[..self.frame];
        self.flags = 0;
        if self.cand.active
            && self.store.is_empty()
            && (self.state != State::Playing || self.conceal_run > 0)
        {
            self.confirm_candidate();
        }
        // `fill` and `steer` do not touch the estimator: its floor now
        // serves the current-delay figure below too.
        let ((c, d, lean), floor_now) = self.target(now_ns);
        self.stats.target_delay_ns = d;
        match self.state {
            State::Idle => {
                out.fill(0);
                return Ok(status::WAITING);
            }
            State::Waiting | State::Paused => {
                let idle = if self.state == State::Paused {
                    status::PAUSED
                } else {
                    status::WAITING
                };
                let Some(first) = self.store.first().copied() else {
                    out.fill(0);
                    return Ok(idle);
                };
                // Start on a frame boundary: the first packet's start is
                // then committed exactly when it plays.
                let sched = self.t_ns(first.t).saturating_add(c);
                if sched > now_ns {
                    out.fill(0);
                    return Ok(idle);
                }
                self.fifo.clear();
                self.markers.clear();
                self.play_t = first.t;
                self.anchor_t = first.t;
                self.goal_off = None;
                if self.state == State::Paused {
                    self.stats.talkspurts += 1;
                }
                self.state = State::Playing;
                self.conceal_run = 0;
                self.silence_left = 0;
            }
            State::Playing => {}
        }
        // The spread margin guards the quantile's estimation error. On a
        // lattice coarser than that margin, rounding up to the lattice
        // already leaves room (10 ms on average with 20 ms frames), and a
        // margin that pushes the goal past a lattice point costs a whole
        // frame of delay: there, the goal rounds up the quantile alone.
        let lean_goal = self.frame_ns() > c.saturating_sub(lean);
        let goal = self.goal(now_ns, if lean_goal { lean } else { c });
        self.fill(now_ns, c, goal);
        if self.state == State::Playing && self.silence_left == 0 {
            self.steer(now_ns, goal);
        }
        if let Some(f) = floor_now {
            self.stats.current_delay_ns = (self.offset(now_ns) as f64 - f) as i64;
        }
        self.emit(now_ns, out);
        if self.state == State::Playing {
            self.flags |= status::PLAYING;
        }
        Ok(self.flags)
    }

    fn frame_ns(&self) -> i64 {
        self.frame_ns
    }

    /// The playout offset to steer to. `get` commits a whole frame at once,
    /// so a packet must be here at the `get` whose frame holds its first
    /// sample, not only by the time that sample plays. Offsets that put
    /// packet starts on frame starts lose nothing to that; they form a
    /// lattice one frame apart (given by the get clock and the packet
    /// grid). The goal is the lattice point at or above the target `c`:
    /// it moves up when `c` passes it by more than 1 ms and down as soon as
    /// `c` is at or below the next lower point (1 ms of hysteresis at each
    /// end: no flapping by a whole frame, and never a frame too high while
    /// the target sits just above the lower point).
    fn goal(&mut self, now: i64, c: i64) -> i64 {
        if self.state != State::Playing {
            self.goal_off = None;
            return c;
        }
        let f = self.frame_ns();
        let base = now.saturating_sub(self.t_ns(self.anchor_t));
        let up = |x: i64| -> i64 {
            let k = (x.saturating_sub(base)).div_euclid(f) + 1;
            let v = base.saturating_add(k.saturating_mul(f));
            if v.saturating_sub(f) >= x {
                v - f
            } else {
                v
            }
        };
        let cand = up(c.saturating_sub(MS));
        let g = match self.goal_off {
            // the same lattice point, carried along with the drift of the
            // lattice itself (skew)
            Some(prev) => {
                let cur = up(prev.saturating_sub(f / 2));
                if cand > cur || c <= cur.saturating_sub(f) {
                    cand
                } else {
                    cur
                }
            }
            None => cand,
        };
        self.goal_off = Some(g);
        g
    }

    /// Decode (or conceal) until one frame is queued, then decode ahead
    /// what is already there for the time-stretching to look at.
    fn fill(&mut self, now: i64, c: i64, goal: i64) {
        let need = self.frame;
        while self.fifo.len() < need {
            if self.silence_left > 0 {
                let k = self.silence_left.min(need - self.fifo.len());
                self.fifo.resize(self.fifo.len() + k, 0);
                self.silence_left -= k;
                continue;
            }
            match self.store.first().copied() {
                Some(m) if m.t <= self.play_t => self.play_first(),
                Some(m) => {
                    let gap = m.t - self.play_t;
                    if m.marker && gap >= self.unit as i64 * self.ratio {
                        self.talkspurt(now, c, m, gap);
                    } else {
                        self.conceal_step(now, goal, Some(gap));
                    }
                }
                None => {
                    if self.sample_ns.apply(self.conceal_run as i64) >= PAUSE_NS {
                        self.state = State::Paused;
                        self.stats.pauses += 1;
                        self.flags |= status::PAUSED;
                        self.fifo.resize(need, 0);
                        self.markers.clear();
                        return;
                    }
                    self.conceal_step(now, goal, None);
                }
            }
        }
        let look = need + 2 * self.rate as usize * 15 / 1000 + self.rate as usize / 100;
        while self.fifo.len() < look && self.silence_left == 0 {
            match self.store.first() {
                Some(m) if m.t == self.play_t => self.play_first(),
                _ => break,
            }
        }
    }

    /// A talkspurt after a silent gap: its start is re-planned at the
    /// target delay, on a frame boundary (the gap's silence gets longer or
    /// shorter).
    fn talkspurt(&mut self, now: i64, c: i64, m: Meta, gap: i64) {
        let sched = self.t_ns(m.t).saturating_add(c);
        let end = self.queue_end_time(now);
        let f = self.frame_ns();
        let at = sched.max(end).saturating_sub(now);
        let boundary = now.saturating_add(at.saturating_add(f - 1).div_euclid(f).saturating_mul(f));
        let wait = boundary.saturating_sub(end).max(0);
        let z = self.ns_samples.apply(wait).min(10 * self.rate as i64) as usize;
        let natural = (gap / self.ratio) as usize;
        if z > natural {
            self.stats.expansions += 1;
            self.stats.expanded_samples += (z - natural) as u64;
            self.flags |= status::EXPANDED;
        } else if z < natural {
            self.stats.compressions += 1;
            self.stats.compressed_samples += (natural - z) as u64;
            self.flags |= status::COMPRESSED;
        }
        self.stats.talkspurts += 1;
        self.silence_left = z;
        self.play_t = m.t;
        self.anchor_t = m.t;
        self.goal_off = None;
    }

    /// Decode the packet due first into the queue.
    fn play_first(&mut self) {
        let Some(m) = self.store.first().copied() else {
            return;
        };
        let got = decode_payload(&mut self.dec, self.store.first_payload(), &mut self.scratch);
        self.store.pop_first();
        if m.t.saturating_add(m.dur) <= self.play_t {
            self.stats.late += 1;
            return;
        }
        let Some(n) = got else {
            // undecodable: the gap is concealed like a loss
            self.stats.discarded += 1;
            return;
        };
        let skip = (((self.play_t - m.t).max(0) / self.ratio) as usize).min(n);
        let lat = self.latency_samples();
        let pcm = &mut self.scratch[skip..n];
        if let Some(p) = &mut self.plc {
            p.good(pcm);
        }
        let ms = stretch::mean_square(pcm);
        self.level = if ms > self.level {
            0.8 * self.level + 0.2 * ms
        } else {
            0.995 * self.level + 0.005 * ms
        };
        if skip == 0 {
            self.anchor_t = m.t;
            let pos = self.fifo.len() + lat;
            self.markers.push(Marker {
                pos,
                arrival: m.arrival,
                seq: m.seq,
                ts: m.ts,
            });
        }
        self.fifo.extend_from_slice(pcm);
        self.play_t = m.t + m.dur;
        self.stats.played += 1;
        self.conceal_run = 0;
    }

    /// Something is missing at `play_t` (`gap` ticks until the next packet,
    /// if any). Below the target delay the concealment is held in place
    /// (the delay grows); otherwise the media time moves over the loss,
    /// with Opus FEC from the next packet when it is already here.
    fn conceal_step(&mut self, now: i64, goal: i64, gap: Option<i64>) {
        let deficit = goal.saturating_sub(self.offset(now));
        let hold = deficit > MS / 4;
        if !hold {
            if let (Dec::Opus(d), Some(g)) = (&mut self.dec, gap) {
                // libopus rebuilds a lost span from the next packet's FEC
                // when the span is 2.5 ms granular and within its frame.
                if let Some((next, payload)) = self.store.second_at(self.play_t + g).or(self
                    .store
                    .first()
                    .filter(|m| m.t == self.play_t + g)
                    .map(|m| (m, self.store.first_payload())))
                {
                    let samples = (g / self.ratio) as usize;
                    if g % 120 == 0 && g <= next.dur && samples <= self.unit_buf.len() {
                        if let Ok(n) = d.decode(Some(payload), &mut self.unit_buf[..samples], true)
                        {
                            self.fifo.extend_from_slice(&self.unit_buf[..n]);
                            self.play_t += g;
                            self.conceal_run += n;
                            self.stats.fec_frames += 1;
                            self.flags |= status::FEC | status::CONCEALED;
                            return;
                        }
                    }
                }
            }
        }
        let u = self.unit;
        let buf = &mut self.unit_buf[..u];
        match (&mut self.dec, &mut self.plc) {
            (_, Some(p)) => p.conceal(buf),
            (Dec::Opus(d), None) => {
                if d.decode(None, buf, false).is_err() {
                    buf.fill(0);
                }
            }
            _ => buf.fill(0),
        }
        self.fifo.extend_from_slice(buf);
        self.conceal_run += u;
        self.stats.concealed_frames += 1;
        self.flags |= status::CONCEALED;
        if hold {
            self.stats.expansions += 1;
            self.stats.expanded_samples += u as u64;
            self.flags |= status::EXPANDED;
        } else {
            self.play_t += u as i64 * self.ratio;
        }
    }

    fn is_low_energy(&self, x: &[i16]) -> bool {
        let ms = stretch::mean_square(x);
        ms < 64.0 * 64.0 || ms < 0.02 * self.level
    }

    /// Steer the delay toward the target by one time-scale step on the
    /// queued audio: any length on low-energy audio, one pitch period on
    /// periodic audio, nothing on loud aperiodic audio unless the error
    /// has persisted (then one best-matching period with a cross-fade).
    fn steer(&mut self, now: i64, goal: i64) {
        // Below the goal costs a whole frame of lateness, above it only
        // delay: never go below, tolerate up to 1 ms above.
        let err = self.offset(now).saturating_sub(goal);
        let rate = self.rate as usize;
        let ms = (rate / 1000).max(1);
        let pmin = rate * 25 / 10000;
        let pmax = rate * 15 / 1000;
        let corr_len = rate / 100;
        let len = self.fifo.len();
        let compress = err > MS;
        let expand = err < -MS / 20;
        if !compress && !expand {
            self.stretch_wait = 0;
            return;
        }
        // compressions stop a quarter ms above the goal
        let want = if compress {
            self.ns_samples.apply(err - MS / 4)
        } else {
            self.ns_samples
                .apply(err.saturating_neg())
                .saturating_add(1)
        }
        .max(1) as usize;
        let front = &self.fifo[..len.min(self.frame)];
        let p = if self.is_low_energy(front) {
            Some(want.max(ms).min(rate / 100).min(len / 2))
        } else if len >= pmax + corr_len && pmin > 0 {
            let (p, corr) = stretch::best_period(&self.fifo, pmin, pmax, corr_len);
            self.stretch_wait += 1;
            let fits = !compress || p <= want;
            if corr > 0.75 && fits {
                Some(p)
            } else if self.stretch_wait > 25 {
                Some(if compress { p.min(want) } else { p })
            } else {
                None
            }
        } else {
            None
        };
        let Some(p) = p.filter(|&p| p > 0 && 2 * p <= len) else {
            return;
        };
        self.stretch_wait = 0;
        if compress {
            stretch::compress(&mut self.fifo, p);
            for m in &mut self.markers {
                if m.pos >= p {
                    m.pos -= p;
                }
            }
            self.stats.compressions += 1;
            self.stats.compressed_samples += p as u64;
            self.flags |= status::COMPRESSED;
        } else {
            stretch::expand(&mut self.fifo, p);
            for m in &mut self.markers {
                if m.pos >= p {
                    m.pos += p;
                }
            }
            self.stats.expansions += 1;
            self.stats.expanded_samples += p as u64;
            self.flags |= status::EXPANDED;
        }
    }

    /// Move one frame from the queue to `out` and account the packets
    /// whose first sample is in it.
    fn emit(&mut self, now: i64, out: &mut [i16]) {
        let n = out.len();
        let avail = self.fifo.len().min(n);
        out[..avail].copy_from_slice(&self.fifo[..avail]);
        out[avail..].fill(0);
        self.fifo.copy_within(avail.., 0);
        self.fifo.truncate(self.fifo.len() - avail);
        let mut keep = 0;
        for i in 0..self.markers.len() {
            let mut m = self.markers[i];
            if m.pos < n {
                let at = now.saturating_add(self.sample_ns.apply(m.pos as i64));
                self.delays.record(m.arrival, at.saturating_sub(m.arrival));
                self.played[self.played_head] = Played {
                    seq: m.seq,
                    ts: m.ts,
                    arrival_ns: m.arrival,
                    playout_ns: at,
                };
                self.played_head = (self.played_head + 1) % PLAYED_RING;
                self.played_len = (self.played_len + 1).min(PLAYED_RING);
            } else {
                m.pos -= n;
                self.markers[keep] = m;
                keep += 1;
            }
        }
        self.markers.truncate(keep);
    }
}
