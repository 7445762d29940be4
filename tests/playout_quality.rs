//! Concealment quality: a tone and a speech-like signal in 20 ms PCMU
//! packets with 5 % random loss. The SNR against the clean decode of G.711
//! Appendix I concealment (both start variants) must beat silence insertion
//! and repeating the last frame. `-- --nocapture` prints the figures.

mod playout_support;

use playout_support::*;
use rtpsynth::codec::g711;
use rtpsynth::playout::{G711Plc, PlcMode};

const SPP: usize = 160;

fn snr(reference: &[i16], got: &[i16]) -> f64 {
    let (mut s, mut e) = (0.0f64, 0.0f64);
    for (a, b) in reference.iter().zip(got) {
        s += (*a as f64).powi(2);
        e += (*a as f64 - *b as f64).powi(2);
    }
    10.0 * (s / e.max(1.0)).log10()
}

enum Method {
    Silence,
    Repeat,
    Plc(PlcMode),
}

/// Decode with the lost packets replaced by `m`; aligned with the input.
fn conceal(clean: &[i16], lost: &[bool], m: &Method) -> Vec<i16> {
    let mut out = Vec::with_capacity(clean.len());
    let mut plc = match m {
        Method::Plc(mode) => Some(G711Plc::new(8000, *mode)),
        _ => None,
    };
    let mut last = [0i16; SPP];
    for (k, &gone) in lost.iter().enumerate() {
        let mut f = [0i16; SPP];
        if !gone {
            f.copy_from_slice(&clean[k * SPP..(k + 1) * SPP]);
            if let Some(p) = &mut plc {
                p.good(&mut f);
            }
        } else {
            match m {
                Method::Silence => {}
                Method::Repeat => f = last,
                Method::Plc(_) => {
                    let p = plc.as_mut().unwrap();
                    p.conceal(&mut f[..80]);
                    p.conceal(&mut f[80..]);
                }
            }
        }
        last = f;
        out.extend_from_slice(&f);
    }
    let lat = plc.as_ref().map_or(0, |p| p.latency());
    out.drain(..lat);
    out
}

fn compare(name: &str, signal: &[i16], seed: u64) {
    let n = signal.len() / SPP;
    let mut enc = vec![0u8; n * SPP];
    g711::linear2ulaw_buf(&signal[..n * SPP], &mut enc);
    let mut clean = vec![0i16; n * SPP];
    g711::ulaw2linear_buf(&enc, &mut clean);
    let mut rng = Rng::new(seed);
    let lost: Vec<bool> = (0..n).map(|k| k > 0 && rng.uniform() < 0.05).collect();
    let lost_n = lost.iter().filter(|&&l| l).count();
    let s_sil = snr(&clean, &conceal(&clean, &lost, &Method::Silence));
    let s_rep = snr(&clean, &conceal(&clean, &lost, &Method::Repeat));
    let s_zd = snr(
        &clean,
        &conceal(&clean, &lost, &Method::Plc(PlcMode::ZeroDelay)),
    );
    let s_std = snr(
        &clean,
        &conceal(&clean, &lost, &Method::Plc(PlcMode::Standard)),
    );
    println!(
        "{name:<12} {n} packets, {lost_n} lost: SNR silence {s_sil:.2} dB, repeat last frame {s_rep:.2} dB, \
         G.711 App. I {s_std:.2} dB (standard, 3.75 ms delay), {s_zd:.2} dB (zero-delay start)"
    );
    for (label, s) in [("standard", s_std), ("zero-delay", s_zd)] {
        assert!(
            s > s_sil,
            "{name}: App. I {label} {s} dB <= silence {s_sil} dB"
        );
        assert!(
            s > s_rep,
            "{name}: App. I {label} {s} dB <= repeat {s_rep} dB"
        );
    }
}

#[test]
fn appendix_i_beats_silence_and_repetition() {
    compare("tone 440 Hz", &tone(8000 * 60, 440.0), 11);
    compare("speech-like", &speech_like(8000 * 60, 12), 13);
}
