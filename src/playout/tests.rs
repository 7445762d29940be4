//! Playout buffer scenarios with explicit times.

use super::*;
use crate::codec::g711;

const F: i64 = 20 * MS;

fn pkt(ssrc: u32, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn tone_frame(k: usize) -> [u8; 160] {
    let pcm: Vec<i16> = (0..160)
        .map(|i| {
            let n = (k * 160 + i) as f64;
            (8000.0 * (2.0 * std::f64::consts::PI * 300.0 * n / 8000.0).sin()) as i16
        })
        .collect();
    let mut out = [0u8; 160];
    g711::linear2ulaw_buf(&pcm, &mut out);
    out
}

/// Run a PCMU stream: packet k arrives at `arrival(k)` (None: lost); gets
/// every 20 ms from `t0`. Returns the flags of every get.
fn run(p: &mut Playout, n: usize, t0: i64, arrival: impl Fn(usize) -> Option<i64>) -> Vec<u32> {
    let mut pk: Vec<(i64, Vec<u8>)> = (0..n)
        .filter_map(|k| {
            arrival(k).map(|a| {
                (
                    a,
                    pkt(7, 1000 + k as u16, 160 * k as u32, k == 0, &tone_frame(k)),
                )
            })
        })
        .collect();
    pk.sort_by_key(|x| x.0);
    let mut out = vec![0i16; p.frame_len()];
    let mut flags = vec![];
    let mut i = 0;
    let end = pk.last().map_or(t0, |x| x.0) + 500 * MS;
    let mut now = t0;
    while now <= end {
        while i < pk.len() && pk[i].0 <= now {
            p.put(&pk[i].1, pk[i].0).unwrap();
            i += 1;
        }
        flags.push(p.get(now, &mut out).unwrap());
        now += F;
    }
    flags
}

#[test]
fn steady_stream_plays_everything_without_concealment() {
    let mut p = Playout::new(Config::new(Codec::Pcmu)).unwrap();
    let t0 = 1000 * MS;
    let flags = run(&mut p, 300, t0, |k| Some(t0 + k as i64 * F + 30 * MS));
    let s = p.stats();
    assert_eq!(s.played, 300);
    assert_eq!(s.late, 0);
    // only after the last packet: 120 ms of concealment, then a pause
    assert_eq!(s.concealed_frames, 12, "{s:?}");
    assert_eq!(s.pauses, 1);
    let first_conceal = flags
        .iter()
        .position(|f| f & status::CONCEALED != 0)
        .unwrap();
    assert!(first_conceal >= 300, "{first_conceal}");
    assert!(flags[first_conceal + 7] & status::PAUSED != 0);
    // the get grid is 10 ms off the arrivals: every packet waits 10 ms
    assert!((s.mean_delay_ns - 10e6).abs() < 0.2e6, "{s:?}");
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// A long seeded trace through the whole buffer (jitter, delay spikes,
/// random and burst loss, reordering, duplicates, a DTX pause with a
/// marker, an SSRC change, speech-like audio with silences), hashing every
/// output sample, every `get` flag, every `put` outcome and the final
/// counters. The expected hashes were taken before the per-packet cost
/// work: any change of behaviour, however small, changes them.
fn pinned_trace_hash(cfg: Config, n: usize) -> u64 {
    let mut p = Playout::new(cfg).unwrap();
    let rate = p.rate() as usize;
    let spp = rate / 50;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let t0 = 1000 * MS;
    let mut pk: Vec<(i64, Vec<u8>)> = vec![];
    let mut burst = 0;
    let mut spike = 0i64;
    for k in 0..n {
        // a 2 s pause in the middle, then a talkspurt with the marker
        let pause = (n / 2..n / 2 + 100).contains(&k);
        let ssrc = if k < 3 * n / 4 { 7 } else { 0x1234_5678 };
        let seq = if k < 3 * n / 4 {
            k as u16
        } else {
            (k as u16) ^ 0x5a5a
        };
        let ts0 = if k < 3 * n / 4 { 0u32 } else { 0x7000_0000 };
        let ts = ts0.wrapping_add((k * spp) as u32);
        let pitch = 60.0 + 40.0 * ((k / 37) % 5) as f64;
        let amp = match (k / 50) % 4 {
            0 => 9000.0,
            1 => 2500.0,
            2 => 40.0,
            _ => 12000.0 * rnd(),
        };
        let mut pcm = vec![0i16; spp];
        for (i, s) in pcm.iter_mut().enumerate() {
            let t = (k * spp + i) as f64 * 8000.0 / rate as f64;
            let v = amp * (2.0 * std::f64::consts::PI * t / pitch).sin()
                + amp * 0.3 * (2.0 * std::f64::consts::PI * t / (pitch * 0.37)).sin()
                + 200.0 * (rnd() - 0.5);
            *s = v.clamp(-32767.0, 32767.0) as i16;
        }
        let payload: Vec<u8> = match cfg.codec {
            Codec::Pcmu => {
                let mut b = vec![0; spp];
                g711::linear2ulaw_buf(&pcm, &mut b);
                b
            }
            Codec::Pcma => {
                let mut b = vec![0; spp];
                g711::linear2alaw_buf(&pcm, &mut b);
                b
            }
            _ => pcm.iter().flat_map(|s| s.to_be_bytes()).collect(),
        };
        if pause {
            continue;
        }
        if burst > 0 {
            burst -= 1;
            continue;
        }
        let u = rnd();
        if u < 0.02 {
            continue;
        }
        if u < 0.025 {
            burst = 2 + (rnd() * 6.0) as usize;
            continue;
        }
        if spike == 0 && rnd() < 0.01 {
            spike = (40.0 + 120.0 * rnd()) as i64 * MS;
        }
        let g = {
            let (a, b) = (rnd() + 1e-12, rnd());
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        };
        let d = (30.0 + 12.0 * g).max(1.0) as i64 * MS + spike;
        spike = (spike - 20 * MS).max(0);
        // a slow sender clock (+0.05 %)
        let at = t0 + (k as i64 * F) * 10005 / 10000 + d;
        let marker = k == 0 || k == n / 2 + 100 || k == 3 * n / 4;
        let b = pkt(ssrc, seq, ts, marker, &payload);
        if rnd() < 0.01 {
            pk.push((at + 3 * MS, b.clone()));
        }
        pk.push((at, b));
    }
    pk.sort_by_key(|x| x.0);
    let mut h = Fnv::new();
    let mut out = vec![0i16; p.frame_len()];
    let mut i = 0;
    let end = pk.last().map_or(t0, |x| x.0) + 500 * MS;
    let mut now = t0 + 7 * MS;
    while now <= end {
        while i < pk.len() && pk[i].0 <= now {
            let o = p.put(&pk[i].1, pk[i].0).unwrap();
            h.u64(o as u64);
            i += 1;
        }
        let f = p.get(now, &mut out).unwrap();
        h.u64(f as u64);
        for s in &out {
            h.bytes(&s.to_le_bytes());
        }
        while let Some(pl) = p.next_played() {
            h.u64(pl.playout_ns as u64);
        }
        now += F;
    }
    let s = p.stats();
    // the trace reaches every path the hash is meant to pin
    let adaptive = matches!(cfg.mode, Mode::Adaptive { .. });
    assert!(
        s.concealed_frames > 0 && s.late > 0 && s.duplicates > 0,
        "{s:?}"
    );
    assert!(s.resets > 0 && s.talkspurts > 0, "{s:?}");
    assert!(
        !adaptive || (s.compressions > 10 && s.expansions > 10),
        "{s:?}"
    );
    for v in [
        s.received,
        s.played,
        s.late,
        s.discarded,
        s.duplicates,
        s.concealed_frames,
        s.expansions,
        s.compressions,
        s.expanded_samples,
        s.compressed_samples,
        s.resets,
        s.pauses,
        s.talkspurts,
        s.current_delay_ns as u64,
        s.target_delay_ns as u64,
        s.delay_count,
        s.mean_delay_ns.to_bits(),
        s.p95_delay_ns.to_bits(),
        s.skew_ppm.to_bits(),
    ] {
        h.u64(v);
    }
    h.0
}

#[test]
fn long_seeded_traces_play_out_exactly_as_pinned() {
    let mut fixed = Config::new(Codec::Pcma);
    fixed.mode = Mode::Fixed { ms: 60 };
    let mut standard = Config::new(Codec::L16 { rate: 16000 });
    standard.plc = PlcMode::Standard;
    let cases = [
        ("pcmu adaptive", Config::new(Codec::Pcmu)),
        ("pcma fixed 60", fixed),
        ("l16 8k adaptive", Config::new(Codec::L16 { rate: 8000 })),
        ("l16 16k standard plc", standard),
    ];
    let got: Vec<(&str, u64)> = cases
        .iter()
        .map(|(name, c)| (*name, pinned_trace_hash(*c, 6000)))
        .collect();
    for g in &got {
        println!("{} {:#018x}", g.0, g.1);
    }
    let want = [
        0xc523_ba55_3c70_5c79u64,
        0xcd74_6ac5_31d3_50e4,
        0xf342_d827_9435_805a,
        0x83fc_7a76_700a_65d9,
    ];
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.1, w, "{}: {:#018x}", g.0, g.1);
    }
}
