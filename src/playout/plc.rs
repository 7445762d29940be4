//! Packet loss concealment after ITU-T G.711 Appendix I: pitch found by
//! normalized cross-correlation over the history, the last pitch period
//! repeated with a 1/4-period overlap-add, one more period added at the
//! second and third 10 ms frame of an erasure, 20 % attenuation per 10 ms
//! from the second frame on, silence after 60 ms, and an overlap-add from
//! the synthetic into the real signal at the recovery that grows with the
//! length of the erasure.
//!
//! The standard's geometry is defined at 8 kHz; other rates (L16) scale
//! every length by `rate / 8000`.
//!
//! Two ways to start an erasure:
//! * [`PlcMode::Standard`]: as Appendix I, the output runs 1/4 of the
//!   longest pitch period (3.75 ms) behind the input so that the last real
//!   1/4 period can still be cross-faded into the synthetic signal.
//! * [`PlcMode::ZeroDelay`]: no output delay; the real signal has already
//!   played when the erasure starts, so instead of cross-fading its last
//!   1/4 period, the step between its linear continuation and the first
//!   repeated sample is faded out over the first 1/4 period of the
//!   synthetic signal. A playout buffer then does not pay 3.75 ms of extra
//!   delay on every packet.

/// How the concealment joins the real signal at the start of an erasure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlcMode {
    Standard,
    ZeroDelay,
}

const ATTEN_PER_FRAME: f32 = 0.2;
/// Frames of synthetic speech before the output is muted (60 ms).
const MUTE_AFTER_FRAMES: usize = 6;
/// Minimum energy in the correlation normalization (Appendix I's CORRMINPOWER).
const CORR_MIN_POWER: f32 = 250.0;

/// G.711 Appendix I concealment state for one mono stream.
pub struct G711Plc {
    frame: usize,
    pitch_max: usize,
    pitch_diff: usize,
    hist_len: usize,
    ndec: usize,
    corr_len: usize,
    corr_buf_len: usize,
    eoverlap_incr: usize,
    delay: usize,
    mode: PlcMode,
    history: Vec<i16>,
    pitchbuf: Vec<f32>,
    lastq: Vec<f32>,
    tail: Vec<f32>,
    tmp: Vec<i16>,
    pitch: usize,
    poverlap: usize,
    poffset: usize,
    pitchblen: usize,
    erasecnt: usize,
}

impl G711Plc {
    /// Concealment for `rate` Hz audio (8000 is the standard's rate).
    pub fn new(rate: u32, mode: PlcMode) -> Self {
        let scale = |n: usize| ((n as u64 * rate as u64 + 4000) / 8000).max(1) as usize;
        let frame = scale(80);
        let pitch_min = scale(40);
        let pitch_max = scale(120).max(pitch_min + 1);
        let pov_max = pitch_max / 4;
        let hist_len = pitch_max * 3 + pov_max;
        let corr_len = scale(160);
        G711Plc {
            frame,
            pitch_max,
            pitch_diff: pitch_max - pitch_min,
            hist_len,
            ndec: scale(2),
            corr_len,
            corr_buf_len: corr_len + pitch_max,
            eoverlap_incr: scale(32),
            delay: if mode == PlcMode::Standard {
                pov_max
            } else {
                0
            },
            mode,
            history: vec![0; hist_len],
            pitchbuf: vec![0.0; hist_len],
            lastq: vec![0.0; pov_max],
            tail: vec![0.0; pov_max],
            tmp: vec![0; pov_max],
            pitch: pitch_max,
            poverlap: pov_max,
            poffset: 0,
            pitchblen: pitch_max,
            erasecnt: 0,
        }
    }

    /// Samples per concealment frame (10 ms).
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    /// How far the output runs behind the input, in samples.
    pub fn latency(&self) -> usize {
        self.delay
    }

    /// Whether the last output was concealment.
    pub fn in_erasure(&self) -> bool {
        self.erasecnt > 0
    }

    /// Forget everything (a new stream).
    pub fn reset(&mut self) {
        self.history.fill(0);
        self.erasecnt = 0;
        self.poffset = 0;
    }

    /// Real audio, in place: `buf` goes into the history (with the
    /// recovery overlap-add after an erasure) and is replaced by the output,
    /// the same number of samples delayed by [`latency`](Self::latency).
    pub fn good(&mut self, buf: &mut [i16]) {
        for o in buf.chunks_mut(self.frame) {
            if self.erasecnt > 0 {
                self.recover(o);
            }
            self.save(o);
        }
    }

    /// One frame (`frame_len()` samples) of concealment into `out`.
    pub fn conceal(&mut self, out: &mut [i16]) {
        let n = self.frame;
        let out = &mut out[..n];
        if self.erasecnt == 0 {
            self.start_erasure(out);
        } else if self.erasecnt <= 2 {
            // Tail of the old pitch buffer, overlap-added with the longer one.
            let pov = self.poverlap;
            let save = self.poffset;
            let mut tmp = std::mem::take(&mut self.tmp);
            self.fe_speech(&mut tmp[..pov]);
            self.poffset = save;
            while self.poffset > self.pitch {
                self.poffset -= self.pitch;
            }
            self.pitchblen += self.pitch;
            self.blend_pitch_end();
            self.fe_speech(out);
            for i in 0..pov {
                let rw = (i + 1) as f32 / pov as f32;
                out[i] = clip((1.0 - rw) * tmp[i] as f32 + rw * out[i] as f32);
            }
            self.tmp = tmp;
            self.attenuate(out);
        } else if self.erasecnt >= MUTE_AFTER_FRAMES {
            out.fill(0);
        } else {
            self.fe_speech(out);
            self.attenuate(out);
        }
        self.erasecnt += 1;
        self.save(out);
    }

    fn start_erasure(&mut self, out: &mut [i16]) {
        for (p, h) in self.pitchbuf.iter_mut().zip(&self.history) {
            *p = *h as f32;
        }
        self.pitch = self.find_pitch();
        let pov = self.pitch / 4;
        self.poverlap = pov;
        let end = self.hist_len;
        self.lastq[..pov].copy_from_slice(&self.pitchbuf[end - pov..end]);
        // The real signal's last samples, newest first (ZeroDelay's join).
        for i in 0..pov {
            self.tail[i] = self.pitchbuf[end - 1 - i];
        }
        self.poffset = 0;
        self.pitchblen = self.pitch;
        self.blend_pitch_end();
        if self.mode == PlcMode::Standard {
            // The last 1/4 period is still in the delay line: replace it.
            for i in 0..pov {
                self.history[end - pov + i] = clip(self.pitchbuf[end - pov + i]);
            }
        }
        self.fe_speech(out);
        if self.mode == PlcMode::ZeroDelay {
            // The real signal has already played: instead of cross-fading
            // its last 1/4 period, remove the step between its linear
            // continuation and the first repeated sample over 1/4 period
            // (nothing to remove when the signal is periodic).
            let predicted = 2.0 * self.tail[0] - self.tail[1];
            let step = predicted - out[0] as f32;
            for (i, o) in out.iter_mut().take(pov).enumerate() {
                let w = 1.0 - i as f32 / pov as f32;
                *o = clip(*o as f32 + step * w);
            }
        }
    }

    /// Cross-fade the end of the pitch buffer from the real last 1/4 period
    /// into the samples one buffer length earlier, so repeating the buffer
    /// wraps around smoothly.
    fn blend_pitch_end(&mut self) {
        let pov = self.poverlap;
        let end = self.hist_len;
        let start = end - self.pitchblen;
        for i in 0..pov {
            let rw = i as f32 / pov as f32 + 1.0 / pov as f32;
            let lw = 1.0 - rw;
            let v = lw * self.lastq[i] + rw * self.pitchbuf[start - pov + i];
            self.pitchbuf[end - pov + i] = v.clamp(-32767.0, 32767.0);
        }
    }

    /// Synthetic speech: the pitch buffer read cyclically.
    fn fe_speech(&mut self, out: &mut [i16]) {
        let start = self.hist_len - self.pitchblen;
        let mut k = 0;
        while k < out.len() {
            let cnt = (self.pitchblen - self.poffset).min(out.len() - k);
            for i in 0..cnt {
                out[k + i] = clip(self.pitchbuf[start + self.poffset + i]);
            }
            self.poffset += cnt;
            if self.poffset == self.pitchblen {
                self.poffset = 0;
            }
            k += cnt;
        }
    }

    /// Linear ramp from 1 - 0.2 * (frames so far - 1), down 0.2 per frame.
    fn attenuate(&self, out: &mut [i16]) {
        let mut g = 1.0 - (self.erasecnt as f32 - 1.0) * ATTEN_PER_FRAME;
        let step = ATTEN_PER_FRAME / self.frame as f32;
        for s in out.iter_mut() {
            *s = clip(g * *s as f32);
            g -= step;
        }
    }

    /// Overlap-add from the (attenuated) synthetic signal into the first
    /// real samples; longer erasures get longer overlaps.
    fn recover(&mut self, s: &mut [i16]) {
        let olen = (self.poverlap + (self.erasecnt - 1) * self.eoverlap_incr)
            .min(self.frame)
            .min(s.len());
        let mut syn = [0i16; 480];
        let olen = olen.min(syn.len());
        self.fe_speech(&mut syn[..olen]);
        let gain = (1.0 - (self.erasecnt as f32 - 1.0) * ATTEN_PER_FRAME).max(0.0);
        let incr = 1.0 / olen.max(1) as f32;
        let incrg = incr * gain;
        let mut lw = (1.0 - incr) * gain;
        let mut rw = incr;
        for i in 0..olen {
            s[i] = clip(lw * syn[i] as f32 + rw * s[i] as f32);
            lw -= incrg;
            rw += incr;
        }
        self.erasecnt = 0;
    }

    /// Push `s` into the history; with a delay line, hand back the samples
    /// that fall out of it in place of `s`.
    fn save(&mut self, s: &mut [i16]) {
        let n = s.len();
        let h = self.hist_len;
        self.history.copy_within(n.., 0);
        self.history[h - n..].copy_from_slice(s);
        if self.delay > 0 {
            s.copy_from_slice(&self.history[h - n - self.delay..h - self.delay]);
        }
    }

    /// Pitch period (in samples) of the end of the history: a coarse
    /// search on every `ndec`-th sample, then a fine search around it.
    fn find_pitch(&self) -> usize {
        let end = self.hist_len;
        let l = &self.pitchbuf[end - self.corr_len..end];
        let r = &self.pitchbuf[end - self.corr_buf_len..end];
        let (ndec, cl) = (self.ndec, self.corr_len);
        let norm = |corr: f32, energy: f32| corr / energy.max(CORR_MIN_POWER).sqrt();
        let corr_at =
            |j: usize, step: usize| -> f32 { (0..cl).step_by(step).map(|i| r[j + i] * l[i]).sum() };
        let mut energy: f32 = (0..cl).step_by(ndec).map(|i| r[i] * r[i]).sum();
        let mut best = norm(corr_at(0, ndec), energy);
        let mut bestj = 0;
        let mut j = ndec;
        while j <= self.pitch_diff {
            energy -= r[j - ndec] * r[j - ndec];
            energy += r[j - ndec + cl] * r[j - ndec + cl];
            let c = norm(corr_at(j, ndec), energy);
            if c >= best {
                best = c;
                bestj = j;
            }
            j += ndec;
        }
        let lo = bestj.saturating_sub(ndec - 1);
        let hi = (bestj + ndec - 1).min(self.pitch_diff);
        let mut energy: f32 = r[lo..lo + cl].iter().map(|v| v * v).sum();
        let mut best = norm(corr_at(lo, 1), energy);
        let mut bestj = lo;
        for j in lo + 1..=hi {
            energy -= r[j - 1] * r[j - 1];
            energy += r[j - 1 + cl] * r[j - 1 + cl];
            let c = norm(corr_at(j, 1), energy);
            if c > best {
                best = c;
                bestj = j;
            }
        }
        self.pitch_max - bestj
    }
}

fn clip(v: f32) -> i16 {
    v.clamp(-32767.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, period: f32) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f32::consts::PI * i as f32 / period).sin()) as i16)
            .collect()
    }

    #[test]
    fn finds_the_pitch_of_a_periodic_signal() {
        for period in [45usize, 64, 80, 100, 117] {
            let x = tone(800, period as f32);
            let mut p = G711Plc::new(8000, PlcMode::ZeroDelay);
            let mut out = x.clone();
            p.good(&mut out);
            for (a, b) in p.pitchbuf.iter_mut().zip(&p.history) {
                *a = *b as f32;
            }
            let got = p.find_pitch();
            // a multiple of the period within the search range is as good
            assert!(
                got % period <= 1 || period - got % period <= 1,
                "{period} -> {got}"
            );
        }
    }

    #[test]
    fn standard_mode_delays_by_a_quarter_of_the_longest_pitch() {
        let x = tone(400, 57.0);
        let mut p = G711Plc::new(8000, PlcMode::Standard);
        assert_eq!(p.latency(), 30);
        let mut out = x.clone();
        p.good(&mut out);
        assert!(out[..30].iter().all(|&s| s == 0));
        assert_eq!(&out[30..], &x[..370]);
        let mut z = G711Plc::new(8000, PlcMode::ZeroDelay);
        let mut out = x.clone();
        z.good(&mut out);
        assert_eq!(out, x);
    }

    #[test]
    fn erasure_attenuates_then_mutes_and_recovers() {
        let x = tone(1600, 80.0);
        let mut p = G711Plc::new(8000, PlcMode::ZeroDelay);
        let mut out = x.clone();
        p.good(&mut out);
        let mut peaks = vec![];
        for _ in 0..8 {
            let mut f = [0i16; 80];
            p.conceal(&mut f);
            peaks.push(f.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0));
        }
        // the first frame repeats at full level, then 20 % less per frame
        assert!(peaks[0] > 7000, "{peaks:?}");
        assert!(
            peaks[1] > 6000 && peaks[2] < peaks[1] && peaks[4] < peaks[3],
            "{peaks:?}"
        );
        assert!(peaks[5] < 2000, "{peaks:?}");
        assert_eq!(peaks[6], 0);
        assert_eq!(peaks[7], 0);
        // recovery after a long erasure fades the real signal in
        let mut o = x[..80].to_vec();
        p.good(&mut o);
        assert!(o[0].unsigned_abs() < 500);
        assert!(!p.in_erasure());
    }

    #[test]
    fn concealment_of_a_steady_tone_stays_close() {
        let x = tone(2000, 64.0);
        let mut p = G711Plc::new(8000, PlcMode::ZeroDelay);
        let mut out = x[..1600].to_vec();
        p.good(&mut out);
        let mut f = [0i16; 80];
        p.conceal(&mut f);
        let err: f64 = f
            .iter()
            .zip(&x[1600..1680])
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        let sig: f64 = x[1600..1680].iter().map(|v| (*v as f64).powi(2)).sum();
        let snr = 10.0 * (sig / err).log10();
        assert!(snr > 20.0, "{snr} dB");
    }

    #[test]
    fn other_rates_scale_the_geometry() {
        let p = G711Plc::new(16000, PlcMode::Standard);
        assert_eq!((p.frame_len(), p.latency(), p.pitch_max), (160, 60, 240));
        let mut p = G711Plc::new(48000, PlcMode::ZeroDelay);
        let x = tone(4800, 300.0);
        let mut out = x.clone();
        p.good(&mut out);
        let mut f = vec![0i16; p.frame_len()];
        for _ in 0..10 {
            p.conceal(&mut f);
        }
    }
}
