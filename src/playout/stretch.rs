//! Time-scale changes on decoded audio that is not yet played: remove or
//! insert one period with a cross-fade (the idea of WSOLA and of NetEq's
//! accelerate / preemptive expand). On voiced speech the period is the
//! pitch period, so the result stays periodic; on silence and noise any
//! length works and the cross-fade hides the seam.

/// Energy per sample (mean square) of `x`.
pub fn mean_square(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    // Each square is below 2^31 and a sum of fewer than 2^22 of them is
    // below 2^53: the integer sum is exact and equals the f64 sum in any
    // order, so this is the same value as summing in f64, only faster
    // (it vectorizes).
    let sum: i64 = x.iter().map(|&s| s as i32 * s as i32).map(i64::from).sum();
    sum as f64 / x.len() as f64
}

/// The lag in `pmin..=pmax` that best repeats the signal (normalized
/// cross-correlation of `x[..len]` with `x[lag..lag + len]`), and that
/// correlation (-1..1). Needs `x.len() >= pmax + len`.
pub fn best_period(x: &[i16], pmin: usize, pmax: usize, len: usize) -> (usize, f64) {
    // Integer dot products: exact (see mean_square), so the scores are
    // bit for bit those of an f64 sum.
    let dot = |a: usize, b: usize, step: usize| -> f64 {
        let (a, b) = (&x[a..a + len], &x[b..b + len]);
        let s: i64 = if step == 1 {
            a.iter()
                .zip(b)
                .map(|(&p, &q)| i64::from(p as i32 * q as i32))
                .sum()
        } else {
            a.iter()
                .zip(b)
                .step_by(step)
                .map(|(&p, &q)| i64::from(p as i32 * q as i32))
                .sum()
        };
        s as f64
    };
    let head = [dot(0, 0, 1), dot(0, 0, 2)];
    let score = |lag: usize, step: usize| -> f64 {
        let c = dot(0, lag, step);
        let e = head[step - 1] * dot(lag, lag, step);
        if e <= 0.0 {
            0.0
        } else {
            c / e.sqrt()
        }
    };
    // coarse on every other sample and lag, then the neighbours
    let mut best = (pmin, f64::MIN);
    let mut lag = pmin;
    while lag <= pmax {
        let s = score(lag, 2);
        if s > best.1 {
            best = (lag, s);
        }
        lag += 2;
    }
    let lo = best.0.saturating_sub(1).max(pmin);
    let hi = (best.0 + 1).min(pmax);
    let mut fine = (best.0, f64::MIN);
    for lag in lo..=hi {
        let s = score(lag, 1);
        if s > fine.1 {
            fine = (lag, s);
        }
    }
    fine
}

/// Remove `p` samples from the front of `buf` (`buf.len() >= 2p`): the
/// first `p` samples cross-fade into the next `p`, which are dropped.
/// The output starts with `buf[0]` and ends its changed part with
/// `buf[2p - 1]`, so both seams are continuous.
pub fn compress(buf: &mut Vec<i16>, p: usize) {
    debug_assert!(buf.len() >= 2 * p && p > 0);
    for i in 0..p {
        let w = (i + 1) as f64 / (p + 1) as f64;
        buf[i] = mix(buf[i], buf[p + i], w);
    }
    buf.copy_within(2 * p.., p);
    buf.truncate(buf.len() - p);
}

/// Insert `p` samples after the first `p` of `buf` (`buf.len() >= 2p`):
/// the inserted part cross-fades from `buf[p..2p]` back into `buf[..p]`,
/// after which `buf[p..]` follows, continuous at both seams.
pub fn expand(buf: &mut Vec<i16>, p: usize) {
    debug_assert!(buf.len() >= 2 * p && p > 0);
    let n = buf.len();
    buf.resize(n + p, 0);
    buf.copy_within(p..n, 2 * p);
    for i in 0..p {
        let w = (i + 1) as f64 / (p + 1) as f64;
        buf[p + i] = mix(buf[2 * p + i], buf[i], w);
    }
}

fn mix(a: i16, b: i16, w: f64) -> i16 {
    (a as f64 * (1.0 - w) + b as f64 * w)
        .round()
        .clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, period: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (10000.0 * (2.0 * std::f64::consts::PI * i as f64 / period).sin()) as i16)
            .collect()
    }

    fn max_step(x: &[i16]) -> i32 {
        x.windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn period_of_a_tone() {
        let x = tone(600, 73.0);
        let (p, c) = best_period(&x, 20, 120, 160);
        assert_eq!(p, 73);
        assert!(c > 0.99);
    }

    #[test]
    fn compress_and_expand_keep_a_tone_smooth() {
        let x = tone(800, 50.0);
        let smooth = max_step(&x);
        let mut c = x.clone();
        compress(&mut c, 50);
        assert_eq!(c.len(), 750);
        assert!(max_step(&c) <= smooth + 2);
        assert_eq!(c[0], x[0]);
        let mut e = x.clone();
        expand(&mut e, 50);
        assert_eq!(e.len(), 850);
        assert!(max_step(&e) <= smooth + 2);
        assert_eq!(&e[100..], &x[50..]);
    }
}
