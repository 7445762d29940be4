//! Linear-interpolation resampler, bit-exact with the original RtpUtils
//! `resample_linear` (python/RtpUtils_mod.c).
//!
//! The original computes, in IEEE double:
//! * `n_out = max(1, round_half_even(n_in * out_rate / in_rate))`
//!   (`n_in` unchanged when the rates are equal, 0 when `n_in` is 0);
//! * for each output `i`: `pos = i * (in_rate / out_rate)`,
//!   `idx = trunc(pos)`, `frac = pos - idx`; the last input sample is held
//!   once `idx >= n_in - 1`, otherwise `s0 + (s1 - s0) * frac`;
//! * each value rounded half to even and saturated to 16 bits.
//!
//! This implementation performs the very same double operations (same
//! operands, same order, no fused multiply-add, which Rust never emits
//! implicitly), so results are identical; it is faster because the held
//! tail is located once instead of tested per sample and the rounding is
//! branch-free (the 1.5 * 2^52 trick, exact for |x| < 2^51 in the default
//! round-to-nearest-even mode).

/// Why a resampling request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResampleError {
    /// A rate is zero or negative.
    BadRate,
    /// The output length does not fit in `isize`.
    Overflow,
    /// The output slice holds fewer samples than needed (the count needed).
    OutputTooSmall(usize),
}

/// Round half to even, as the original's `round_half_even_ll` for values
/// it can represent; `None` where that function fails (out of range / NaN).
fn round_half_even(x: f64) -> Option<i64> {
    // Same domain checks as the original's floor_ll.
    if !(x <= i64::MAX as f64 && x >= i64::MIN as f64) {
        return None;
    }
    let r = x.round_ties_even();
    if r >= i64::MAX as f64 {
        // fl == LLONG_MAX and rounding up overflows in the original; the
        // only representable case is x == 2^63, rejected above anyway.
        return None;
    }
    Some(r as i64)
}

/// The number of output samples for `n_in` input samples.
pub fn output_len(n_in: usize, in_rate: i32, out_rate: i32) -> Result<usize, ResampleError> {
    if in_rate <= 0 || out_rate <= 0 {
        return Err(ResampleError::BadRate);
    }
    if n_in > isize::MAX as usize {
        return Err(ResampleError::Overflow);
    }
    if in_rate == out_rate || n_in == 0 {
        return Ok(n_in);
    }
    let f = (n_in as f64 * out_rate as f64) / in_rate as f64;
    let n = round_half_even(f).ok_or(ResampleError::Overflow)?;
    if n > isize::MAX as i64 {
        return Err(ResampleError::Overflow);
    }
    Ok(n.max(1) as usize)
}

const MAGIC: f64 = 6755399441055744.0; // 1.5 * 2^52

/// Round half to even for |x| < 2^51: adding and subtracting 1.5 * 2^52
/// leaves x rounded to an integer by the FPU's round-to-nearest-even.
#[inline(always)]
fn rhe_small(x: f64) -> f64 {
    (x + MAGIC) - MAGIC
}

/// Resample `input` from `in_rate` to `out_rate` into `out`; returns the
/// number of samples written (see [`output_len`]).
pub fn resample_linear(
    input: &[i16],
    in_rate: i32,
    out_rate: i32,
    out: &mut [i16],
) -> Result<usize, ResampleError> {
    let n_out = output_len(input.len(), in_rate, out_rate)?;
    if out.len() < n_out {
        return Err(ResampleError::OutputTooSmall(n_out));
    }
    let out = &mut out[..n_out];
    if in_rate == out_rate {
        out.copy_from_slice(input);
        return Ok(n_out);
    }
    if n_out == 0 {
        return Ok(0);
    }
    let n_in = input.len();
    let ratio = in_rate as f64 / out_rate as f64;
    let last = input[n_in - 1];

    // pos(i) = fl(i * ratio) never decreases with i (rounding is monotonic),
    // so the outputs holding the last sample are a suffix: those with
    // fl(i * ratio) >= n_in - 1 (compared in double: exact, as n_in - 1 is an
    // integer below 2^53 and trunc(pos) >= k <=> pos >= k for integer k).
    let lim = (n_in - 1) as f64;
    let held_from = first_index_at_or_above(ratio, lim, n_out);

    let head = &mut out[..held_from];
    if n_in <= i32::MAX as usize {
        interpolate_blocks(input, ratio, head);
    } else {
        interpolate_scalar(input, ratio, head);
    }
    out[held_from..].fill(last);
    Ok(n_out)
}

/// Outputs per block of the vectorizable path (fits easily in L1).
const BLK: usize = 256;

/// `out[i] = interpolation at fl(i * ratio)` for every i of `out`, all of
/// which are below the held tail (so `trunc(pos) + 1 < input.len()`), for
/// inputs shorter than 2^31 samples. Done in blocks in three passes so that
/// the arithmetic passes vectorize: positions (i is formed as
/// `block_start + k` in double, exact below 2^53, so `pos` is the very
/// same `fl(i * ratio)`), then the two input samples per output, then the
/// interpolation, rounding and saturation.
fn interpolate_blocks(input: &[i16], ratio: f64, out: &mut [i16]) {
    let mut kf = [0f64; BLK];
    for (k, v) in kf.iter_mut().enumerate() {
        *v = k as f64;
    }
    let mut idx = [0u32; BLK];
    let mut frac = [0f64; BLK];
    let mut s0 = [0i32; BLK];
    let mut s1 = [0i32; BLK];
    for (b, chunk) in out.chunks_mut(BLK).enumerate() {
        let m = chunk.len();
        let base = (b * BLK) as i64 as f64;
        for k in 0..m {
            let pos = (base + kf[k]) * ratio;
            // floor(pos) without a (non-vectorizable, saturating) cast:
            // round to nearest with the magic constant, step down if above.
            let rf = rhe_small(pos);
            let fl = if rf > pos { rf - 1.0 } else { rf };
            // 0 <= fl < n_in - 1 < 2^31: the low word of fl + 1.5 * 2^52 is fl.
            idx[k] = (fl + MAGIC).to_bits() as u32;
            frac[k] = pos - fl;
        }
        for k in 0..m {
            let j = idx[k] as usize;
            let pair = &input[j..j + 2];
            s0[k] = pair[0] as i32;
            s1[k] = pair[1] as i32;
        }
        for k in 0..m {
            let a = s0[k] as f64;
            let c = s1[k] as f64;
            let v = a + (c - a) * frac[k];
            // |v| <= 32768: the low word of v + 1.5 * 2^52 is v rounded half
            // to even, as a two's complement integer; then saturate.
            let r = (v + MAGIC).to_bits() as u32 as i32;
            chunk[k] = r.clamp(-32768, 32767) as i16;
        }
    }
}

/// The same for any input length, one output at a time.
fn interpolate_scalar(input: &[i16], ratio: f64, out: &mut [i16]) {
    for (i, o) in out.iter_mut().enumerate() {
        let pos = i as i64 as f64 * ratio;
        let idx = pos as i64; // trunc, as the original's cast
        let frac = pos - idx as f64;
        let idx = idx as usize;
        let s0 = input[idx] as f64;
        let s1 = input[idx + 1] as f64;
        *o = rhe_small(s0 + (s1 - s0) * frac) as i16;
    }
}

/// The smallest `i` in `0..=n` with `fl(i * ratio) >= lim` (n if none).
fn first_index_at_or_above(ratio: f64, lim: f64, n: usize) -> usize {
    let at = |i: usize| (i as i64 as f64 * ratio) >= lim;
    // Estimate, then correct in both directions: the estimate is off by at
    // most a couple of units because of the double roundings.
    let est = (lim / ratio).ceil();
    let mut i = if est.is_finite() && est >= 0.0 {
        (est as usize).min(n)
    } else {
        n
    };
    while i > 0 && at(i - 1) {
        i -= 1;
    }
    while i < n && !at(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Literal port of the original's loop (round_half_even via floor and
    /// comparisons, per-sample tail test).
    pub(crate) fn reference(input: &[i16], in_rate: i32, out_rate: i32) -> Vec<i16> {
        fn rhe(x: f64) -> i64 {
            let mut fl = x as i64;
            if (fl as f64) > x {
                fl -= 1;
            }
            let frac = x - fl as f64;
            if frac < 0.5 {
                fl
            } else if frac > 0.5 || fl & 1 != 0 {
                fl + 1
            } else {
                fl
            }
        }
        if in_rate == out_rate {
            return input.to_vec();
        }
        let n_in = input.len();
        if n_in == 0 {
            return vec![];
        }
        let n_out = rhe((n_in as f64 * out_rate as f64) / in_rate as f64).max(1) as usize;
        let ratio = in_rate as f64 / out_rate as f64;
        (0..n_out)
            .map(|i| {
                let pos = i as f64 * ratio;
                let idx = pos as usize;
                let frac = pos - idx as f64;
                let sample = if idx >= n_in - 1 {
                    input[n_in - 1] as f64
                } else {
                    let s0 = input[idx] as f64;
                    let s1 = input[idx + 1] as f64;
                    s0 + (s1 - s0) * frac
                };
                rhe(sample).clamp(-32768, 32767) as i16
            })
            .collect()
    }

    fn run(input: &[i16], a: i32, b: i32) -> Vec<i16> {
        let n = output_len(input.len(), a, b).unwrap();
        let mut out = vec![0i16; n];
        assert_eq!(resample_linear(input, a, b, &mut out), Ok(n));
        out
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn original_test_cases() {
        let src = [0i16, 1000, -1000, 2000, -2000, 32767, -32768, 1234, -1234];
        for (a, b) in [(8000, 8000), (8000, 16000), (16000, 8000), (8000, 11025)] {
            assert_eq!(run(&src, a, b), reference(&src, a, b), "{a}->{b}");
        }
        assert_eq!(
            run(&[0, 1000, -1000], 8000, 16000),
            vec![0, 500, 1000, 0, -1000, -1000]
        );
    }

    #[test]
    fn random_inputs_and_rates_match_reference() {
        let mut r = Rng(0x1234_5678_9abc_def1);
        let rates = [
            8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 96000, 1, 3, 7,
        ];
        for _ in 0..400 {
            let n = (r.next() % 700) as usize;
            let input: Vec<i16> = (0..n).map(|_| r.next() as i16).collect();
            let a = rates[(r.next() % rates.len() as u64) as usize];
            let b = rates[(r.next() % rates.len() as u64) as usize];
            assert_eq!(run(&input, a, b), reference(&input, a, b), "{a}->{b} n={n}");
            // arbitrary positive rates too
            let a = (r.next() % 200_000) as i32 + 1;
            let b = (r.next() % 200_000) as i32 + 1;
            assert_eq!(run(&input, a, b), reference(&input, a, b), "{a}->{b} n={n}");
        }
    }

    #[test]
    fn half_way_values_round_to_even() {
        // 8000 -> 16000 puts every odd output half-way between two inputs.
        let out = run(&[0, 1, 2, 3, -1, -2], 8000, 16000);
        assert_eq!(out, reference(&[0, 1, 2, 3, -1, -2], 8000, 16000));
        assert_eq!(out[1], 0); // 0.5 -> 0
        assert_eq!(out[3], 2); // 1.5 -> 2
        assert_eq!(out[5], 2); // 2.5 -> 2
        assert_eq!(out[9], -2); // -1.5 -> -2
    }

    #[test]
    fn lengths_and_errors() {
        assert_eq!(output_len(0, 8000, 16000), Ok(0));
        assert_eq!(output_len(5, 8000, 8000), Ok(5));
        assert_eq!(output_len(1, 48000, 8000), Ok(1)); // 1/6 rounds to 0, min 1
        assert_eq!(output_len(3, 2, 1), Ok(2)); // 1.5 -> 2
        assert_eq!(output_len(5, 2, 1), Ok(2)); // 2.5 -> 2
        assert_eq!(output_len(160, 8000, 48000), Ok(960));
        assert_eq!(output_len(1, 0, 8000), Err(ResampleError::BadRate));
        assert_eq!(output_len(1, 8000, -1), Err(ResampleError::BadRate));
        assert_eq!(
            output_len(usize::MAX, 8000, 16000),
            Err(ResampleError::Overflow)
        );
        assert_eq!(
            output_len(isize::MAX as usize, 1, i32::MAX),
            Err(ResampleError::Overflow)
        );
        let mut small = [0i16; 5];
        assert_eq!(
            resample_linear(&[1, 2, 3], 8000, 16000, &mut small),
            Err(ResampleError::OutputTooSmall(6))
        );
        let mut none: [i16; 0] = [];
        assert_eq!(resample_linear(&[], 8000, 16000, &mut none), Ok(0));
    }

    #[test]
    fn scalar_fallback_matches_blocks_and_reference() {
        // The per-sample path serves inputs of 2^31 samples or more; check
        // it on ordinary sizes against the blocked path and the reference.
        let mut r = Rng(0xfeed);
        for _ in 0..200 {
            let n = (r.next() % 3000 + 2) as usize;
            let input: Vec<i16> = (0..n).map(|_| r.next() as i16).collect();
            let a = (r.next() % 96000) as i32 + 1;
            let b = (r.next() % 96000) as i32 + 1;
            let want = reference(&input, a, b);
            let ratio = a as f64 / b as f64;
            let held = first_index_at_or_above(ratio, (n - 1) as f64, want.len());
            let mut x = vec![0i16; held];
            let mut y = vec![0i16; held];
            interpolate_scalar(&input, ratio, &mut x);
            interpolate_blocks(&input, ratio, &mut y);
            assert_eq!(x, want[..held]);
            assert_eq!(y, want[..held]);
            assert!(want[held..].iter().all(|&v| v == input[n - 1]));
        }
    }

    #[test]
    fn tail_search_is_exact() {
        let mut r = Rng(99);
        for _ in 0..3000 {
            let ratio = (r.next() % 1_000_000 + 1) as f64 / (r.next() % 1_000_000 + 1) as f64;
            let n_in = (r.next() % 10_000 + 1) as usize;
            let n = (r.next() % 20_000) as usize;
            let lim = (n_in - 1) as f64;
            let got = first_index_at_or_above(ratio, lim, n);
            let expect = (0..n).find(|&i| i as f64 * ratio >= lim).unwrap_or(n);
            assert_eq!(got, expect, "ratio {ratio} lim {lim} n {n}");
        }
    }
}
