//! In-band DTMF detection in 16-bit PCM (ITU-T Q.24 style).
//!
//! The signal is cut into blocks of 12.75 ms (102 samples at 8 kHz; the
//! Goertzel resolution that separates the Q.23 frequencies, which are 73 Hz
//! and more apart). Each block is a digit when:
//! - the strongest row and column tones are each above -35 dBm0;
//! - twist: the column tone is at most 8 dB below and 4 dB above the row
//!   tone (Q.24's normal and reverse twist limits for most administrations);
//! - each is 6 dB above every other tone of its group;
//! - the two tones carry at least 85 % of the block's energy (speech and
//!   music spread theirs over many frequencies);
//! - each tone's second harmonic is 10 dB below it (voiced speech and
//!   instruments have harmonics, a DTMF generator has none).
//!
//! A digit starts after 2 blocks in a row (25.5 ms: Q.24 accepts 40 ms and
//! rejects tones shorter than 23 ms, a block half-filled with tone fails the
//! energy check) and ends after 2 blocks without it (so a 40 ms pause
//! separates two presses of one key, and a one-block dropout does not split
//! one).

use std::collections::VecDeque;

use super::tone::{amplitude, event_at, COL_HZ, ROW_HZ};

/// Block length at 8 kHz; other rates scale it.
const BLOCK_AT_8K: u32 = 102;
const MIN_LEVEL_DBM0: f64 = -35.0;
const NORMAL_TWIST_DB: f64 = 8.0;
const REVERSE_TWIST_DB: f64 = 4.0;
const GROUP_PEAK_DB: f64 = 6.0;
const TONE_ENERGY_FRACTION: f64 = 0.85;
const HARMONIC_DB: f64 = 10.0;
const BLOCKS_TO_START: u32 = 2;
const BLOCKS_TO_END: u32 = 2;
const QUEUE_CAP: usize = 64;

/// Why a detector was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// Sample rate outside 8000..=48000.
    InvalidArgument,
}

/// What the detector reports. Positions are in samples since the detector
/// was created (or reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorEvent {
    /// Digit `event` (0-15) is present since sample `at` (reported once the
    /// start is confirmed, about 25 ms later).
    Start { event: u8, at: u64 },
    /// Digit `event`, present from sample `at` for `duration` samples, ended.
    End { event: u8, at: u64, duration: u64 },
}

#[derive(Clone, Copy, Debug)]
struct Goertzel {
    coeff: f64,
}

impl Goertzel {
    fn new(hz: f64, rate: u32) -> Goertzel {
        Goertzel {
            coeff: 2.0 * (std::f64::consts::TAU * hz / rate as f64).cos(),
        }
    }

    /// Energy over the block of the sine component at this frequency (a
    /// sine of amplitude A gives about A^2 * N / 2, the sine's own energy).
    fn energy(&self, x: &[f64]) -> f64 {
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s0 = v + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let p = s1 * s1 + s2 * s2 - self.coeff * s1 * s2;
        2.0 * p / x.len() as f64
    }
}

/// Streaming DTMF detector for one channel.
pub struct DtmfDetector {
    rate: u32,
    rows: [Goertzel; 4],
    cols: [Goertzel; 4],
    rows2: [Goertzel; 4],
    cols2: [Goertzel; 4],
    block: Vec<f64>,
    fill: usize,
    /// Samples consumed before the current block.
    pos: u64,
    min_energy: f64,
    /// Candidate digit and its run of blocks.
    cand: Option<(u8, u32, u64)>,
    /// Digit being reported: event, start sample, blocks missed in a row,
    /// end of its last block.
    on: Option<(u8, u64, u32, u64)>,
    queue: VecDeque<DetectorEvent>,
    overflow: u64,
}

impl DtmfDetector {
    /// A detector for PCM at `rate` Hz (8000..=48000).
    pub fn new(rate: u32) -> Result<DtmfDetector, DetectError> {
        if !(8000..=48000).contains(&rate) {
            return Err(DetectError::InvalidArgument);
        }
        let n = (BLOCK_AT_8K as u64 * rate as u64 / 8000) as usize;
        let g = |f: &[f64; 4], mul: f64| f.map(|hz| Goertzel::new(hz * mul, rate));
        let a = amplitude(MIN_LEVEL_DBM0);
        Ok(DtmfDetector {
            rate,
            rows: g(&ROW_HZ, 1.0),
            cols: g(&COL_HZ, 1.0),
            rows2: g(&ROW_HZ, 2.0),
            cols2: g(&COL_HZ, 2.0),
            block: vec![0.0; n],
            fill: 0,
            pos: 0,
            min_energy: a * a * n as f64 / 2.0,
            cand: None,
            on: None,
            queue: VecDeque::with_capacity(QUEUE_CAP),
            overflow: 0,
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Samples per analysis block.
    pub fn block_len(&self) -> usize {
        self.block.len()
    }

    /// Events dropped because nobody took them from a full queue.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Feed PCM samples; any number, in any block sizes. Returns the number
    /// of events waiting.
    pub fn process(&mut self, pcm: &[i16]) -> usize {
        let mut rest = pcm;
        while !rest.is_empty() {
            let n = (self.block.len() - self.fill).min(rest.len());
            for (d, &s) in self.block[self.fill..self.fill + n]
                .iter_mut()
                .zip(&rest[..n])
            {
                *d = s as f64;
            }
            self.fill += n;
            rest = &rest[n..];
            if self.fill == self.block.len() {
                let hit = self.classify();
                self.step(hit);
                self.pos += self.block.len() as u64;
                self.fill = 0;
            }
        }
        self.queue.len()
    }

    /// End a digit still present (end of the signal) and report it.
    pub fn flush(&mut self) -> usize {
        if let Some((ev, at, _, end)) = self.on.take() {
            self.report(DetectorEvent::End {
                event: ev,
                at,
                duration: end - at,
            });
        }
        self.cand = None;
        self.queue.len()
    }

    /// Take the oldest event.
    pub fn pop(&mut self) -> Option<DetectorEvent> {
        self.queue.pop_front()
    }

    fn report(&mut self, e: DetectorEvent) {
        if self.queue.len() == QUEUE_CAP {
            self.overflow += 1;
        } else {
            self.queue.push_back(e);
        }
    }

    /// The digit in the current block, if it passes every check.
    fn classify(&self) -> Option<u8> {
        let x = &self.block[..];
        let total: f64 = x.iter().map(|v| v * v).sum();
        if total < 2.0 * self.min_energy {
            return None;
        }
        let re = self.rows.map(|g| g.energy(x));
        let ce = self.cols.map(|g| g.energy(x));
        let best = |e: &[f64; 4]| {
            let mut b = 0;
            for i in 1..4 {
                if e[i] > e[b] {
                    b = i;
                }
            }
            b
        };
        let (r, c) = (best(&re), best(&ce));
        let (er, ec) = (re[r], ce[c]);
        let db = |d: f64| 10f64.powf(d / 10.0);
        if er < self.min_energy || ec < self.min_energy {
            return None;
        }
        if ec < er / db(NORMAL_TWIST_DB) || ec > er * db(REVERSE_TWIST_DB) {
            return None;
        }
        let peak_ok =
            |e: &[f64; 4], b: usize| (0..4).all(|i| i == b || e[i] * db(GROUP_PEAK_DB) <= e[b]);
        if !peak_ok(&re, r) || !peak_ok(&ce, c) {
            return None;
        }
        if er + ec < TONE_ENERGY_FRACTION * total {
            return None;
        }
        // Second harmonics. Those above Nyquist cannot be present; a row's
        // (1394-1882 Hz) is not measurable when it lies within 1.5 Goertzel
        // bins of the column tone, whose leakage would fill it.
        let nyq = self.rate as f64 / 2.0;
        let bin = self.rate as f64 / x.len() as f64;
        let row_harm_clear = (ROW_HZ[r] * 2.0 - COL_HZ[c]).abs() > 1.5 * bin;
        let harm_ok =
            |g: &Goertzel, hz: f64, e: f64| hz * 2.0 >= nyq || g.energy(x) * db(HARMONIC_DB) <= e;
        let row_ok = !row_harm_clear || harm_ok(&self.rows2[r], ROW_HZ[r], er);
        if !row_ok || !harm_ok(&self.cols2[c], COL_HZ[c], ec) {
            return None;
        }
        Some(event_at(r, c))
    }

    fn step(&mut self, hit: Option<u8>) {
        let start = self.pos;
        let end = self.pos + self.block.len() as u64;
        if let Some((ev, at, missed, last)) = self.on {
            if hit == Some(ev) {
                self.on = Some((ev, at, 0, end));
                return;
            }
            if missed + 1 < BLOCKS_TO_END && hit.is_none() {
                self.on = Some((ev, at, missed + 1, last));
                return;
            }
            self.on = None;
            self.report(DetectorEvent::End {
                event: ev,
                at,
                duration: last - at,
            });
        }
        self.cand = match (hit, self.cand) {
            (None, _) => None,
            (Some(d), Some((ev, n, at))) if d == ev => Some((ev, n + 1, at)),
            (Some(d), _) => Some((d, 1, start)),
        };
        if let Some((ev, n, at)) = self.cand {
            if n >= BLOCKS_TO_START {
                self.cand = None;
                self.on = Some((ev, at, 0, end));
                self.report(DetectorEvent::Start { event: ev, at });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tone::DtmfTone;
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn gauss(&mut self) -> f64 {
            (0..12).map(|_| self.next()).sum::<f64>() - 6.0
        }
    }

    fn run(rate: u32, pcm: &[i16], chunk: usize) -> Vec<DetectorEvent> {
        let mut d = DtmfDetector::new(rate).unwrap();
        let mut out = Vec::new();
        for c in pcm.chunks(chunk) {
            d.process(c);
            while let Some(e) = d.pop() {
                out.push(e);
            }
        }
        d.flush();
        while let Some(e) = d.pop() {
            out.push(e);
        }
        out
    }

    fn ends(ev: &[DetectorEvent]) -> Vec<(u8, u64, u64)> {
        ev.iter()
            .filter_map(|e| match *e {
                DetectorEvent::End {
                    event,
                    at,
                    duration,
                } => Some((event, at, duration)),
                _ => None,
            })
            .collect()
    }

    /// `digits` as tone bursts of `on_ms` separated by `off_ms` of silence.
    fn dial(rate: u32, digits: &[u8], on_ms: u32, off_ms: u32, lo: f64, hi: f64) -> Vec<i16> {
        let on = (rate * on_ms / 1000) as usize;
        let off = (rate * off_ms / 1000) as usize;
        let mut v = vec![0i16; off];
        for &d in digits {
            let mut t = DtmfTone::new(d, rate, lo, hi).unwrap();
            let at = v.len();
            v.resize(at + on, 0);
            t.fill(&mut v[at..]);
            v.resize(v.len() + off, 0);
        }
        v
    }

    #[test]
    fn all_16_digits_40ms_at_minus_20_dbm0() {
        let digits: Vec<u8> = (0..16).collect();
        for rate in [8000u32, 16000, 48000] {
            for chunk in [1usize, 160, 1000] {
                let pcm = dial(rate, &digits, 40, 40, -20.0, -20.0);
                let ev = run(rate, &pcm, chunk);
                let e = ends(&ev);
                assert_eq!(
                    e.iter().map(|x| x.0).collect::<Vec<_>>(),
                    digits,
                    "rate {rate}"
                );
                let starts = ev
                    .iter()
                    .filter(|e| matches!(e, DetectorEvent::Start { .. }))
                    .count();
                assert_eq!(starts, 16);
                for (i, &(_, at, dur)) in e.iter().enumerate() {
                    let t0 = (rate as u64 * 80 * i as u64 + rate as u64 * 40) / 1000;
                    // the first block with the tone may begin before it
                    let n = rate as u64 * 102 / 8000;
                    assert!(at + n > t0 && at < t0 + n, "at {at} t0 {t0}");
                    let ms = dur * 1000 / rate as u64;
                    assert!((25..=52).contains(&ms), "duration {ms} ms");
                }
            }
        }
    }

    #[test]
    fn long_press_is_one_digit_and_same_key_twice_is_two() {
        let mut pcm = dial(8000, &[5], 500, 40, -10.0, -8.0);
        pcm.extend(dial(8000, &[5], 60, 40, -10.0, -8.0));
        let e = ends(&run(8000, &pcm, 80));
        assert_eq!(e.len(), 2);
        assert!(
            e[0].2 >= 8000 * 480 / 1000 && e[0].2 <= 8000 * 520 / 1000,
            "{e:?}"
        );
    }

    #[test]
    fn twist_short_tones_single_tones_and_low_levels_rejected() {
        // too short, twist beyond limits, one tone, too weak
        let cases: [(u32, f64, f64); 5] = [
            (18, -10.0, -10.0),
            (60, -10.0, -20.0),
            (60, -16.0, -10.0),
            (60, -10.0, -300.0),
            (60, -40.0, -40.0),
        ];
        for (ms, lo, hi) in cases {
            let pcm = dial(8000, &[1, 9, 0], ms, 60, lo, hi);
            assert!(run(8000, &pcm, 160).is_empty(), "{ms} ms {lo}/{hi}");
        }
        // within limits: 7 dB normal twist, 3 dB reverse twist, -30 dBm0
        for (lo, hi) in [(-10.0, -17.0), (-13.0, -10.0), (-30.0, -30.0)] {
            let pcm = dial(8000, &[1, 9, 0], 60, 60, lo, hi);
            assert_eq!(ends(&run(8000, &pcm, 160)).len(), 3, "{lo}/{hi}");
        }
    }

    #[test]
    fn digits_in_noise_at_20_db_snr_found() {
        let mut pcm = dial(8000, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 0], 50, 50, -20.0, -20.0);
        let mut rng = Rng(99);
        let sigma = super::super::tone::amplitude(-20.0) * 2f64.sqrt() / 10.0 / 2f64.sqrt();
        for s in pcm.iter_mut() {
            *s = (*s as f64 + sigma * rng.gauss()).round() as i16;
        }
        let e = ends(&run(8000, &pcm, 160));
        assert_eq!(
            e.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        );
    }

    #[test]
    fn a_minute_of_noise_gives_nothing() {
        let mut rng = Rng(7);
        for level in [-40.0, -20.0, -6.0] {
            let sigma = super::super::tone::amplitude(level) / 2f64.sqrt();
            let pcm: Vec<i16> = (0..8000 * 60)
                .map(|_| (sigma * rng.gauss()).round().clamp(-32768.0, 32767.0) as i16)
                .collect();
            assert!(run(8000, &pcm, 160).is_empty(), "noise at {level}");
        }
    }

    /// Vowel-like speech: a glottal pulse train (pitch gliding 90-250 Hz)
    /// through two formant resonators that move between vowels.
    fn speech_like(rate: u32, secs: u32, seed: u64) -> Vec<i16> {
        let mut rng = Rng(seed);
        let n = (rate * secs) as usize;
        let mut out = Vec::with_capacity(n);
        let (mut ph, mut y1, mut y2, mut z1, mut z2) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
        let vowels = [
            (730.0, 1090.0),
            (270.0, 2290.0),
            (660.0, 1720.0),
            (300.0, 870.0),
            (530.0, 1840.0),
            (640.0, 1190.0),
            (490.0, 1350.0),
        ];
        let syl = (rate / 5) as usize;
        let (mut f1, mut f2, mut pitch) = (500.0, 1500.0, 120.0);
        for i in 0..n {
            if i % syl == 0 {
                let v = vowels[(rng.next() * vowels.len() as f64) as usize % vowels.len()];
                f1 = v.0;
                f2 = v.1;
                pitch = 90.0 + 160.0 * rng.next();
            }
            pitch *= 1.0 + 0.00002 * (rng.next() - 0.5);
            ph += pitch / rate as f64;
            let src = if ph >= 1.0 {
                ph -= 1.0;
                1.0
            } else {
                0.0
            } + 0.02 * rng.gauss();
            let res = |f: f64, bw: f64| {
                let r = (-std::f64::consts::PI * bw / rate as f64).exp();
                (
                    2.0 * r * (std::f64::consts::TAU * f / rate as f64).cos(),
                    -r * r,
                )
            };
            let (a1, a2) = res(f1, 80.0);
            let y = src + a1 * y1 + a2 * y2;
            y2 = y1;
            y1 = y;
            let (b1, b2) = res(f2, 100.0);
            let z = y + b1 * z1 + b2 * z2;
            z2 = z1;
            z1 = z;
            out.push(z);
        }
        let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        out.iter().map(|v| (v / peak * 20000.0) as i16).collect()
    }

    /// Music-like: two- and three-note chords of equal-tempered notes (some
    /// next to DTMF frequencies: F5 698 Hz, F#5 740, G#5 831, A#5 932, D#6
    /// 1245, E6 1319, F#6 1480, G#6 1661) with 4 harmonics each, vibrato.
    fn music_like(rate: u32, secs: u32, seed: u64) -> Vec<i16> {
        let mut rng = Rng(seed);
        let n = (rate * secs) as usize;
        let mut out = Vec::with_capacity(n);
        let note_len = (rate / 4) as usize;
        let mut notes = [0.0f64; 3];
        let mut ph = [[0.0f64; 4]; 3];
        for i in 0..n {
            if i % note_len == 0 {
                for (k, f) in notes.iter_mut().enumerate() {
                    let semis = 5.0 + (rng.next() * 24.0).floor() + k as f64 * 0.0;
                    *f = 440.0 * 2f64.powf(semis / 12.0) * if k == 2 { 0.5 } else { 1.0 };
                }
            }
            let t = (i % note_len) as f64 / rate as f64;
            let env = (-(t * 3.0)).exp();
            let vib = 1.0 + 0.003 * (std::f64::consts::TAU * 5.5 * i as f64 / rate as f64).sin();
            let mut v = 0.0;
            for (k, f) in notes.iter().enumerate() {
                for (h, p) in ph[k].iter_mut().enumerate() {
                    let fh = f * (h + 1) as f64 * vib;
                    if fh < rate as f64 / 2.0 {
                        *p += std::f64::consts::TAU * fh / rate as f64;
                        v += env * p.sin() / (h + 1) as f64;
                    }
                }
            }
            out.push((v * 5000.0) as i16);
        }
        out
    }

    #[test]
    fn speech_and_music_like_signals_give_nothing() {
        for seed in 1..4 {
            let s = speech_like(8000, 20, seed);
            assert!(run(8000, &s, 160).is_empty(), "speech seed {seed}");
            let m = music_like(8000, 20, seed);
            assert!(run(8000, &m, 160).is_empty(), "music seed {seed}");
        }
        let m = music_like(48000, 10, 9);
        assert!(run(48000, &m, 960).is_empty());
    }

    #[test]
    fn bad_rates() {
        assert!(DtmfDetector::new(7999).is_err());
        assert!(DtmfDetector::new(48001).is_err());
        assert_eq!(DtmfDetector::new(8000).unwrap().block_len(), 102);
        assert_eq!(DtmfDetector::new(48000).unwrap().block_len(), 612);
    }
}
