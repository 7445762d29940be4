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
