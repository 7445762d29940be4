//! `recv --playout`: captures with known jitter through `recv --pcap` (the
//! capture's timestamps are the arrival times), and one live stream.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const PKT_NS: u64 = 20_000_000;
const T0: u64 = 1_700_000_000_000_000_000;

/// The trace: packet i sent at T0 + i * 20 ms, arriving `delay_ms[i]`
/// later. Base jitter uniform in 0..40 ms (first packet 0, so the fastest
/// transit is known from the start); every `spike_every`-th packet 200 ms
/// late.
struct Trace {
    n: usize,
    delay_ns: Vec<u64>,
    spikes: usize,
}

fn trace(n: usize, spike_every: usize) -> Trace {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut spikes = 0;
    let delay_ns = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i == 0 {
                0
            } else if i % spike_every == 0 {
                spikes += 1;
                200_000_000
            } else {
                x % 40_000_000
            }
        })
        .collect();
    Trace {
        n,
        delay_ns,
        spikes,
    }
}

/// The PCMU payload of packet i: a 440 Hz tone through G.711.
fn pcm(n: usize) -> Vec<i16> {
    tone(440.0, 8000, n * 160)
}

/// Raw-IP nanosecond pcap of the trace, records in arrival order.
fn write_pcap(path: &Path, t: &Trace) {
    let pcm = pcm(t.n);
    let mut recs: Vec<(u64, Vec<u8>)> = (0..t.n)
        .map(|i| {
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&(i as u16).to_be_bytes());
            p.extend_from_slice(&(i as u32 * 160).to_be_bytes());
            p.extend_from_slice(&0x5eed_u32.to_be_bytes());
            p.extend(
                pcm[i * 160..(i + 1) * 160]
                    .iter()
                    .map(|&s| rtpsynth::codec::g711::linear2ulaw(s)),
            );
            let ulen = (8 + p.len()) as u16;
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&(20 + ulen).to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
            ip.extend_from_slice(&4000u16.to_be_bytes());
            ip.extend_from_slice(&5004u16.to_be_bytes());
            ip.extend_from_slice(&ulen.to_be_bytes());
            ip.extend_from_slice(&[0, 0]);
            ip.extend_from_slice(&p);
            (T0 + i as u64 * PKT_NS + t.delay_ns[i], ip)
        })
        .collect();
    recs.sort_by_key(|r| r.0);
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b23c4du32.to_le_bytes());
    f.extend_from_slice(&[2, 0, 4, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&101u32.to_le_bytes());
    for (ts, data) in &recs {
        f.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(data);
    }
    std::fs::write(path, f).unwrap();
}

/// `recv --pcap` with `--playout mode`: the WAV and the stream's stats.
fn run_trace(name: &str, t: &Trace, mode: &str) -> (Vec<i16>, serde_json::Value) {
    let d = scratch(name);
    let cap = d.join("t.pcap");
    write_pcap(&cap, t);
    let wav = d.join("o.wav");
    let js = d.join("o.json");
    let o = run(&[
        "recv",
        "--pcap",
        cap.to_str().unwrap(),
        "--playout",
        mode,
        "--out",
        wav.to_str().unwrap(),
        "--stats",
        js.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let (rate, ch, s) = read_wav(&wav);
    assert_eq!((rate, ch), (8000, 1));
    let v = read_json(&js);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(v["streams"].as_array().unwrap().len(), 1, "{v}");
    (s, v["streams"][0].clone())
}

fn f(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

#[test]
fn fixed_delay_plays_what_is_in_time() {
    // 70 s: two minutes of arrival time.
    let t = trace(3500, 50);
    let (wav, s) = run_trace("fixed", &t, "fixed:100");
    let p = &s["playout"];
    assert_eq!(s["packets"], 3500);
    // 200 ms spikes miss a 100 ms delay (120 at most on the 20 ms frame
    // lattice); the 0..40 ms jitter never does.
    assert_eq!(p["late"].as_u64(), Some(t.spikes as u64), "{p}");
    assert_eq!(p["discarded"], 0);
    assert_eq!(f(p, "target_delay_ms"), 100.0);
    // Delay = offset (100..120 above the fastest transit) minus the
    // packet's own jitter (0..40).
    let mean = f(p, "mean_delay_ms");
    assert!((60.0..=121.0).contains(&mean), "mean {mean}");
    assert!(f(p, "p95_delay_ms") <= 121.0, "{p}");
    let mins = p["delay_by_minute_ms"].as_array().unwrap();
    assert_eq!(mins.len(), 2, "{p}");
    for m in mins {
        let m = m.as_f64().unwrap();
        assert!((60.0..=121.0).contains(&m), "{p}");
    }
    // Each late packet is concealed: 20 ms = two 10 ms units.
    assert!(p["concealed_frames"].as_u64().unwrap() >= 2 * t.spikes as u64);
    // The playout span: every packet's 20 ms (late ones concealed in
    // place) at a constant delay, plus at most the frame where the
    // concealment after the last packet starts.
    let n = t.n * 160;
    assert!(
        (n..=n + 2 * 160).contains(&wav.len()),
        "{} vs {n}",
        wav.len()
    );
    // Packets in time play unchanged: a run of them is in the output.
    let want = rtpsynth_g711(&pcm(t.n)[101 * 160..149 * 160]);
    assert!(
        find(&wav, &want).is_some(),
        "decoded packets 101..149 not in the output"
    );
}

#[test]
fn adaptive_delay_stays_within_its_bounds() {
    let t = trace(3500, 50);
    let (wav, s) = run_trace("adaptive", &t, "adaptive:20:80");
    let p = &s["playout"];
    let target = f(p, "target_delay_ms");
    assert!((20.0..=80.0).contains(&target), "{p}");
    // Delays: at most the bound plus the frame lattice.
    assert!(f(p, "p95_delay_ms") <= 101.0, "{p}");
    assert!(f(p, "mean_delay_ms") <= 101.0, "{p}");
    let late = p["late"].as_u64().unwrap();
    // Every spike is beyond the bound; the base jitter almost never is.
    assert!(late >= t.spikes as u64, "{p}");
    assert!(late <= t.spikes as u64 + t.n as u64 / 100, "{p}");
    assert_eq!(p["delay_by_minute_ms"].as_array().unwrap().len(), 2);
    // The span: the media (late packets concealed in place) plus what the
    // delay grew by since the start, within the bounds.
    let n = t.n * 160;
    let grown = wav.len() as i64 - n as i64;
    assert!(
        (-160..=(80 + 40) * 8).contains(&grown),
        "{} vs {n}",
        wav.len()
    );
}

#[test]
fn default_adaptive_bounds_and_off_unchanged() {
    let t = trace(500, 1000);
    let (wav, s) = run_trace("adaptive-default", &t, "adaptive");
    let p = &s["playout"];
    // No spikes: only packets before the estimator has seen the jitter
    // can be late (under 1 %).
    assert!(p["late"].as_u64().unwrap() <= t.n as u64 / 100, "{p}");
    let target = f(p, "target_delay_ms");
    assert!((0.0..=500.0).contains(&target), "{p}");
    assert!(wav.len() >= t.n * 160);
    // Off: no playout object, the media in timestamp order.
    let (wav, s) = run_trace("off", &t, "off");
    assert!(s.get("playout").is_none(), "{s}");
    assert_eq!(wav, rtpsynth_g711(&pcm(t.n)));
}

#[test]
fn live_stream_through_adaptive_playout() {
    let d = scratch("live-playout");
    let wav = d.join("r.wav");
    let js = d.join("r.json");
    let rx = LiveRecv::start(&[
        "--listen",
        "127.0.0.1:0",
        "--playout",
        "adaptive",
        "--duration",
        "30",
        "--out",
        wav.to_str().unwrap(),
        "--stats",
        js.to_str().unwrap(),
    ]);
    let to = format!("127.0.0.1:{}", rx.addr.port());
    let o = run(&["send", "--to", &to, "--tone", "1000", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.terminate().code(), Some(0));
    let (_, _, s) = read_wav(&wav);
    let v = read_json(&js);
    let p = &v["streams"][0]["playout"];
    assert!(p["mean_delay_ms"].as_f64().is_some(), "{v}");
    assert!(p["late"].as_u64().is_some(), "{v}");
    // One second of a tone, played: at least the media, and the tone.
    assert!(s.len() >= 8000, "{}", s.len());
    // Per 20 ms window (a loaded machine may send in bursts, and what
    // the buffer conceals or stretches shifts the tone's phase between
    // windows): most of the second is the tone.
    let pure = s
        .chunks_exact(160)
        .filter(|w| tone_purity(w, 1000.0, 8000) > 0.9)
        .count();
    assert!(pure >= 40, "{pure} windows of the tone, stats {v}");
    let _ = std::fs::remove_dir_all(&d);
}

fn rtpsynth_g711(pcm: &[i16]) -> Vec<i16> {
    g711_round_trip(pcm, false)
}
