//! ITU-T Q.23 DTMF tone pairs as 16-bit PCM.

use super::payload::dtmf_event;

/// Q.23 low group (rows), Hz.
pub const ROW_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// Q.23 high group (columns), Hz.
pub const COL_HZ: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Level in dBm0 of a full-scale 16-bit sine (G.711's digital reference:
/// A-law's 3.14 dBm0; µ-law's 3.17 is within rounding).
#[allow(clippy::approx_constant)] // a level in dB that happens to look like pi
pub const FULL_SCALE_DBM0: f64 = 3.14;

/// Why a tone was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToneError {
    /// Event above 15, sample rate too low for 1633 Hz, or a level above
    /// what 16 bits hold.
    InvalidArgument,
}

/// The (row, column) frequencies of DTMF event 0-15.
pub fn dtmf_freqs(event: u8) -> Option<(f64, f64)> {
    // keypad position of each event code: 1 2 3 A / 4 5 6 B / 7 8 9 C / * 0 # D
    const POS: [(usize, usize); 16] = [
        (3, 1), // 0
        (0, 0), // 1
        (0, 1), // 2
        (0, 2), // 3
        (1, 0), // 4
        (1, 1), // 5
        (1, 2), // 6
        (2, 0), // 7
        (2, 1), // 8
        (2, 2), // 9
        (3, 0), // *
        (3, 2), // #
        (0, 3), // A
        (1, 3), // B
        (2, 3), // C
        (3, 3), // D
    ];
    POS.get(event as usize)
        .map(|&(r, c)| (ROW_HZ[r], COL_HZ[c]))
}

/// The event code at keypad row `r`, column `c`.
pub(crate) fn event_at(r: usize, c: usize) -> u8 {
    const KEYS: [[char; 4]; 4] = [
        ['1', '2', '3', 'A'],
        ['4', '5', '6', 'B'],
        ['7', '8', '9', 'C'],
        ['*', '0', '#', 'D'],
    ];
    dtmf_event(KEYS[r & 3][c & 3]).unwrap_or(0)
}

/// Peak amplitude (16-bit) of a sine at `dbm0`.
pub fn amplitude(dbm0: f64) -> f64 {
    32767.0 * 10f64.powf((dbm0 - FULL_SCALE_DBM0) / 20.0)
}

/// A running DTMF tone pair; successive `fill` calls continue the phase.
#[derive(Clone, Debug)]
pub struct DtmfTone {
    step: [f64; 2],
    phase: [f64; 2],
    amp: [f64; 2],
}

impl DtmfTone {
    /// Tone of DTMF event `event` (0-15) at `rate` Hz (at least 4000, so
    /// 1633 Hz is below Nyquist), each frequency at its own level in dBm0
    /// (Q.23 asks for the high-group one 0-2 dB above the low). The sum of
    /// the two peaks must fit in 16 bits.
    pub fn new(event: u8, rate: u32, low_dbm0: f64, high_dbm0: f64) -> Result<DtmfTone, ToneError> {
        let (fr, fc) = dtmf_freqs(event).ok_or(ToneError::InvalidArgument)?;
        let (al, ah) = (amplitude(low_dbm0), amplitude(high_dbm0));
        let fits = (0.0..=32767.0).contains(&(al + ah)) && al >= 0.0 && ah >= 0.0;
        if rate < 4000 || !fits {
            return Err(ToneError::InvalidArgument);
        }
        let tau = std::f64::consts::TAU;
        Ok(DtmfTone {
            step: [tau * fr / rate as f64, tau * fc / rate as f64],
            phase: [0.0; 2],
            amp: [al, ah],
        })
    }

    /// Write the next `out.len()` samples of the tone.
    pub fn fill(&mut self, out: &mut [i16]) {
        let tau = std::f64::consts::TAU;
        for s in out.iter_mut() {
            let v = self.amp[0] * self.phase[0].sin() + self.amp[1] * self.phase[1].sin();
            *s = v.round().clamp(-32768.0, 32767.0) as i16;
            for k in 0..2 {
                self.phase[k] += self.step[k];
                if self.phase[k] >= tau {
                    self.phase[k] -= tau;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypad_and_freqs() {
        assert_eq!(dtmf_freqs(1), Some((697.0, 1209.0)));
        assert_eq!(dtmf_freqs(0), Some((941.0, 1336.0)));
        assert_eq!(dtmf_freqs(11), Some((941.0, 1477.0)));
        assert_eq!(dtmf_freqs(15), Some((941.0, 1633.0)));
        assert_eq!(dtmf_freqs(16), None);
        for ev in 0..16u8 {
            let (f1, f2) = dtmf_freqs(ev).unwrap();
            let r = ROW_HZ.iter().position(|&f| f == f1).unwrap();
            let c = COL_HZ.iter().position(|&f| f == f2).unwrap();
            assert_eq!(event_at(r, c), ev);
        }
    }

    #[test]
    fn level_and_phase_continuity() {
        // one tone at -20 dBm0 (the other silent): rms = amp / sqrt 2
        let mut t = DtmfTone::new(5, 8000, -20.0, -200.0).unwrap();
        let mut a = vec![0i16; 8000];
        t.fill(&mut a[..3333]);
        t.fill(&mut a[3333..]);
        let rms = (a.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / 8000.0).sqrt();
        let want = amplitude(-20.0) / 2f64.sqrt();
        assert!((rms / want - 1.0).abs() < 0.01, "rms {rms} want {want}");
        let mut u = DtmfTone::new(5, 8000, -20.0, -200.0).unwrap();
        let mut b = vec![0i16; 8000];
        u.fill(&mut b);
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1));
        assert!(DtmfTone::new(16, 8000, -10.0, -10.0).is_err());
        assert!(DtmfTone::new(1, 3000, -10.0, -10.0).is_err());
        assert!(DtmfTone::new(1, 8000, 3.0, 3.0).is_err());
        assert!(DtmfTone::new(1, 8000, f64::NAN, 3.0).is_err());
    }
}
