//! Shared by tests/playout_traces.rs and examples/playout_traces.rs:
//! synthetic network traces of a 20 ms PCMU stream, the offline oracle,
//! test signals, and a pcap writer.
#![allow(dead_code)]

use rtpsynth::codec::g711;

pub const MS: i64 = 1_000_000;
pub const NS: i64 = 1_000_000_000;
const PTIME: i64 = 20 * MS;
const SPP: usize = 160;

/// Deterministic generator (xorshift64*), with uniform and Gaussian draws.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    pub fn gauss(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A speech-like signal at 8 kHz: talkspurts of voiced syllables
/// (harmonics of a gliding pitch, shaped by two formants) and unvoiced
/// noise bursts, separated by pauses of low background noise.
pub fn speech_like(n: usize, seed: u64) -> Vec<i16> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut phase = 0.0f64;
    let mut noise_state = 0.0f64;
    while out.len() < n {
        // a talkspurt of syllables
        let spurt_end = out.len() + (rng.range(1.0, 2.5) * 8000.0) as usize;
        while out.len() < spurt_end.min(n) {
            let len = (rng.range(0.12, 0.25) * 8000.0) as usize;
            let voiced = rng.uniform() < 0.7;
            let f0a = rng.range(90.0, 220.0);
            let f0b = f0a * rng.range(0.85, 1.15);
            let (f1, f2) = (rng.range(300.0, 800.0), rng.range(900.0, 2400.0));
            let amp = rng.range(3000.0, 9000.0);
            for i in 0..len {
                let x = i as f64 / len as f64;
                let env = (std::f64::consts::PI * x).sin().powf(0.7);
                let v = if voiced {
                    let f0 = f0a + (f0b - f0a) * x;
                    phase += 2.0 * std::f64::consts::PI * f0 / 8000.0;
                    let mut s = 0.0;
                    let mut h = 1.0;
                    while h * f0 < 3600.0 {
                        let f = h * f0;
                        let g = (1.0
                            + 3.0 * (-((f - f1) / 150.0).powi(2)).exp()
                            + 2.0 * (-((f - f2) / 250.0).powi(2)).exp())
                            / h;
                        s += g * (h * phase).sin();
                        h += 1.0;
                    }
                    s * 0.5
                } else {
                    noise_state = 0.6 * noise_state + rng.gauss();
                    noise_state * 0.3
                };
                out.push((amp * env * v).clamp(-32000.0, 32000.0) as i16);
            }
            let gap = (rng.range(0.03, 0.08) * 8000.0) as usize;
            for _ in 0..gap {
                out.push((rng.gauss() * 30.0) as i16);
            }
        }
        let pause = (rng.range(0.4, 1.2) * 8000.0) as usize;
        for _ in 0..pause {
            out.push((rng.gauss() * 20.0) as i16);
        }
    }
    out.truncate(n);
    out
}

/// A sine at -6 dBFS.
pub fn tone(n: usize, hz: f64) -> Vec<i16> {
    (0..n)
        .map(|i| (16384.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// One received datagram.
#[derive(Clone)]
pub struct Arrival {
    pub arrival_ns: i64,
    /// Media time of the packet's first sample on the sender's timeline
    /// (seconds as ns), and which stream segment (SSRC) it belongs to.
    pub media_ns: i64,
    pub segment: usize,
    pub data: Vec<u8>,
}

pub struct Trace {
    pub name: String,
    pub sent: usize,
    pub arrivals: Vec<Arrival>,
    /// Whether the target is the skew target (else the jitter target).
    pub skew: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pattern {
    Constant,
    Gauss(f64),
    Spikes,
    Reorder,
    RandomLoss,
    BurstLoss,
    Skew(f64),
    SsrcChange,
    Dtx,
}

pub fn all_patterns() -> Vec<(&'static str, Pattern)> {
    vec![
        ("constant", Pattern::Constant),
        ("gauss5", Pattern::Gauss(5.0)),
        ("gauss20", Pattern::Gauss(20.0)),
        ("gauss60", Pattern::Gauss(60.0)),
        ("spikes100", Pattern::Spikes),
        ("reorder1", Pattern::Reorder),
        ("loss3", Pattern::RandomLoss),
        ("burstloss10", Pattern::BurstLoss),
        ("skew+0.1", Pattern::Skew(0.001)),
        ("skew-0.1", Pattern::Skew(-0.001)),
        ("ssrc", Pattern::SsrcChange),
        ("dtx2s", Pattern::Dtx),
    ]
}

fn rtp(seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A trace of `seconds` of a 20 ms PCMU stream carrying a speech-like
/// signal, with the network pattern applied.
pub fn make_trace(name: &str, pat: Pattern, seconds: u32, seed: u64) -> Trace {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let seconds = match pat {
        Pattern::Skew(_) => seconds.max(11 * 60),
        _ => seconds,
    };
    let n = (seconds as i64 * NS / PTIME) as usize;
    let audio = speech_like(n * SPP, seed);
    let base = 40.0;
    let skew = match pat {
        Pattern::Skew(s) => s,
        _ => 0.0,
    };
    let dtx_from = n / 2;
    let dtx_len = (2 * NS / PTIME) as usize;
    let ssrc_at = n / 2;
    let mut seg = 0;
    let (mut seq, mut ts, mut ssrc) = (
        rng.next_u64() as u16,
        rng.next_u64() as u32,
        rng.next_u64() as u32,
    );
    let mut arrivals = Vec::with_capacity(n);
    let mut sent = 0;
    let mut bad = false; // Gilbert-Elliott state
    let mut spike_at = 0usize;
    let mut marker = true;
    let mut seg_start = 0usize;
    for k in 0..n {
        if pat == Pattern::SsrcChange && k == ssrc_at {
            seg += 1;
            seg_start = k;
            seq = rng.next_u64() as u16;
            ts = rng.next_u64() as u32;
            ssrc = rng.next_u64() as u32;
            marker = true;
        }
        let media_ns = (k - seg_start) as i64 * PTIME;
        let ts_k = ts.wrapping_add(((k - seg_start) * SPP) as u32);
        if pat == Pattern::Dtx && (dtx_from..dtx_from + dtx_len).contains(&k) {
            marker = true;
            continue; // the sender is silent; seq does not advance
        }
        // real time at which the sender's clock reads k * 20 ms
        let send = (k as f64 * PTIME as f64 / (1.0 + skew)) as i64;
        let mut payload = [0u8; SPP];
        g711::linear2ulaw_buf(&audio[k * SPP..(k + 1) * SPP], &mut payload);
        let pkt = rtp(seq, ts_k, ssrc, marker, &payload);
        seq = seq.wrapping_add(1);
        marker = false;
        sent += 1;
        let lost = match pat {
            Pattern::RandomLoss => rng.uniform() < 0.03,
            Pattern::BurstLoss => {
                // mean burst 3 packets, 10 % of packets lost on average
                bad = if bad {
                    rng.uniform() > 1.0 / 3.0
                } else {
                    rng.uniform() < 0.1 / 0.9 / 3.0
                };
                bad
            }
            _ => false,
        };
        let jitter_ms = match pat {
            Pattern::Constant => 0.0,
            Pattern::Gauss(s) => rng.gauss() * s,
            Pattern::Spikes => {
                if k >= spike_at + 250 && rng.uniform() < 0.02 {
                    spike_at = k;
                }
                let since = (k - spike_at) as f64 * 20.0;
                let extra = if k >= 250 && since < 100.0 {
                    100.0 - since
                } else {
                    0.0
                };
                rng.gauss() * 2.0 + extra
            }
            Pattern::Reorder => {
                let extra = if rng.uniform() < 0.01 {
                    rng.range(25.0, 45.0)
                } else {
                    0.0
                };
                rng.gauss() * 2.0 + extra
            }
            Pattern::RandomLoss | Pattern::BurstLoss | Pattern::Skew(_) => rng.gauss() * 5.0,
            Pattern::SsrcChange | Pattern::Dtx => rng.gauss() * 10.0,
        };
        if lost {
            continue;
        }
        let delay = ((base + jitter_ms).max(1.0) * MS as f64) as i64;
        arrivals.push(Arrival {
            arrival_ns: 1_000 * NS + send + delay,
            media_ns,
            segment: seg,
            data: pkt,
        });
    }
    arrivals.sort_by_key(|a| a.arrival_ns);
    Trace {
        name: name.to_string(),
        sent,
        arrivals,
        skew: matches!(pat, Pattern::Skew(_)),
    }
}

/// The offline oracle: the smallest fixed delay that plays 99 % of the
/// received packets in time (relative to each segment's fastest packet),
/// and the mean playout delay of the packets it plays.
pub struct Oracle {
    pub delay_ns: f64,
    pub mean_ns: f64,
}

pub fn oracle(t: &Trace) -> Oracle {
    let segs = t.arrivals.iter().map(|a| a.segment).max().unwrap_or(0) + 1;
    let mut floor = vec![i64::MAX; segs];
    for a in &t.arrivals {
        floor[a.segment] = floor[a.segment].min(a.arrival_ns - a.media_ns);
    }
    let mut j: Vec<i64> = t
        .arrivals
        .iter()
        .map(|a| a.arrival_ns - a.media_ns - floor[a.segment])
        .collect();
    j.sort_unstable();
    let k = ((j.len() as f64 * 0.99).ceil() as usize).clamp(1, j.len());
    let d = j[k - 1];
    let played: Vec<i64> = j.iter().copied().filter(|&x| x <= d).collect();
    let mean = played.iter().map(|&x| (d - x) as f64).sum::<f64>() / played.len() as f64;
    Oracle {
        delay_ns: d as f64,
        mean_ns: mean,
    }
}

/// A pcap (nanosecond timestamps, Ethernet) of the trace as UDP from
/// 192.0.2.1:40000 to 192.0.2.2:5004.
pub fn pcap(t: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for a in &t.arrivals {
        let udp_len = 8 + a.data.len();
        let ip_len = 20 + udp_len;
        let mut f = Vec::with_capacity(14 + ip_len);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        let mut sum = 0u32;
        for w in ip.chunks(2) {
            sum += u16::from_be_bytes([w[0], w[1]]) as u32;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&5004u16.to_be_bytes());
        f.extend_from_slice(&(udp_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&a.data);
        let ts = a.arrival_ns as u64;
        out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

/// The oracle held to the same rule as a buffer whose `get` hands out
/// whole frames of `frame_ns` at `first_get + k * frame_ns`: a packet must
/// have arrived by the start of the frame that holds its first sample, and
/// its delay counts to that sample (arrival to playout of the first
/// sample, as the buffer's statistics count it). Clairvoyant and fixed
/// like `oracle`; it picks, per segment, the smallest fixed delay at or
/// above the continuous oracle's whose packet starts fall on frame starts
/// (any other phase only adds the distance to the frame start to every
/// packet's delay). It shows what the frame clock alone costs: the
/// continuous oracle's delay rounded up to the frame lattice.
pub fn lattice_oracle(t: &Trace, first_get: i64, frame_ns: i64) -> Oracle {
    let o = oracle(t);
    let d = o.delay_ns as i64;
    let segs = t.arrivals.iter().map(|a| a.segment).max().unwrap_or(0) + 1;
    let mut floor = vec![i64::MAX; segs];
    for a in &t.arrivals {
        floor[a.segment] = floor[a.segment].min(a.arrival_ns - a.media_ns);
    }
    // per segment: the frame-aligned delay at or above d
    let dl: Vec<i64> = floor
        .iter()
        .map(|&f| {
            // the first sample of media time m plays at m + f + D; aligned
            // when (m + f + D - first_get) is a multiple of frame_ns (the
            // media times are multiples of 20 ms = frame_ns here)
            let phase = (first_get - f - d).rem_euclid(frame_ns);
            d + phase
        })
        .collect();
    let mut played = 0usize;
    let mut sum = 0.0;
    for a in &t.arrivals {
        let x = a.arrival_ns - a.media_ns - floor[a.segment];
        let dd = dl[a.segment];
        if x <= dd {
            played += 1;
            sum += (dd - x) as f64;
        }
    }
    Oracle {
        delay_ns: dl.iter().copied().max().unwrap_or(0) as f64,
        mean_ns: sum / played.max(1) as f64,
    }
}
