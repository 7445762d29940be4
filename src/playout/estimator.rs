//! Arrival-jitter statistics behind the adaptive target delay.
//!
//! Every packet gives a relative transit time `r = arrival - media time`
//! (ns; an arbitrary constant offset, since sender and receiver clocks are
//! unrelated). Two things are tracked from it:
//!
//! * The **floor**: the fastest transit recently seen, corrected for clock
//!   skew. Minima of `r` per second of arrival time are kept for the last
//!   32 seconds; a least-squares line through them is the skew (how fast
//!   `r` drifts when the sender's clock runs faster or slower than ours),
//!   and the floor now is the lowest minimum carried forward along that
//!   slope. A +-0.1 % skew moves `r` by 1 ms per second: without this the
//!   floor would lag behind a rising `r` (delay ratchets up) and the
//!   quantiles below would smear.
//! * The **distribution** of `r` relative to a reference line that drifts
//!   with the estimated skew: a histogram (0.25 ms bins) with exponential
//!   forgetting (NetEq's approach), kept in a Fenwick tree so that adding a
//!   packet and reading a quantile are both O(log bins). Forgetting makes
//!   the attack fast (a worse network moves the 99th percentile after about
//!   `window/100` packets) and the decay slow (old spikes leave the 99th
//!   percentile after several windows).

/// Histogram bin width.
const BIN_NS: i64 = 250_000;
/// Seconds of per-second minima kept for the floor and the skew line.
const BUCKETS: usize = 32;
const BUCKET_NS: i64 = 1_000_000_000;
/// Skew is only trusted with this many seconds of minima behind it.
const MIN_BUCKETS_FOR_SKEW: usize = 8;
/// Physical clocks do not drift more than this (0.5 %); beyond is noise.
const MAX_SKEW: f64 = 0.005;
/// Room below the reference line before the histogram is re-anchored.
const BELOW_NS: i64 = 200_000_000;

#[derive(Clone, Copy, Default)]
struct Bucket {
    t: f64,
    min: f64,
}

pub struct Estimator {
    started: bool,
    // reference line: ref(t) = ref0 + skew * (t - t0)
    ref0: f64,
    t0: f64,
    skew: f64,
    buckets: [Bucket; BUCKETS],
    nbuckets: usize,
    head: usize,
    cur_start: i64,
    cur: Bucket,
    cur_n: u32,
    // forgetting histogram of r - ref(t) + BELOW_NS
    tree: Vec<f64>,
    weight: f64,
    total: f64,
    grow: f64,
}

impl Estimator {
    /// `range_ns`: spread of relative delays the histogram resolves (larger
    /// values count in the top bin); `window`: packets in the forgetting
    /// window.
    pub fn new(range_ns: i64, window: u32) -> Self {
        let bins = ((range_ns + BELOW_NS) / BIN_NS).max(16) as usize;
        Estimator {
            started: false,
            ref0: 0.0,
            t0: 0.0,
            skew: 0.0,
            buckets: [Bucket::default(); BUCKETS],
            nbuckets: 0,
            head: 0,
            cur_start: 0,
            cur: Bucket::default(),
            cur_n: 0,
            tree: vec![0.0; bins + 1],
            weight: 1.0,
            total: 0.0,
            grow: 1.0 / (1.0 - 1.0 / window.max(2) as f64),
        }
    }

    /// Forget the skew line (a new sender); the jitter histogram stays.
    pub fn reset_skew(&mut self) {
        self.nbuckets = 0;
        self.cur_n = 0;
        self.skew = 0.0;
    }

    pub fn skew(&self) -> f64 {
        self.skew
    }

    fn reference(&self, t: f64) -> f64 {
        self.ref0 + self.skew * (t - self.t0)
    }

    /// Account one packet's relative transit `r` arriving at `t`.
    pub fn add(&mut self, t: i64, r: i64) {
        let (tf, rf) = (t as f64, r as f64);
        if !self.started {
            self.started = true;
            self.ref0 = rf;
            self.t0 = tf;
            self.cur_start = t;
        }
        if self.cur_n > 0 && t.saturating_sub(self.cur_start) >= BUCKET_NS {
            self.close_bucket(t);
        }
        if self.cur_n == 0 || rf < self.cur.min {
            self.cur = Bucket { t: tf, min: rf };
            if self.cur_n == 0 {
                self.cur_start = t;
            }
        }
        self.cur_n += 1;

        let bins = self.tree.len() - 1;
        let mut rel = rf - self.reference(tf) + BELOW_NS as f64;
        if rel < 0.0 {
            // Far below the reference line: move the line down and the
            // histogram's contents up with it. In float: arrival times are
            // the caller's, and a jump of 2^62 ns must not overflow (the
            // shift then saturates, putting all history in the top bin).
            let steps = (-rel / BIN_NS as f64).floor() + 1.0;
            self.shift_up((steps as usize).min(bins));
            self.ref0 -= steps * BIN_NS as f64;
            rel = (rel + steps * BIN_NS as f64).max(0.0);
        }
        let bin = ((rel as i64 / BIN_NS) as usize).min(bins - 1);
        self.weight *= self.grow;
        if self.weight > 1e150 {
            self.rescale(1.0 / self.weight);
            self.weight = 1.0;
        }
        self.tree_add(bin, self.weight);
        self.total += self.weight;
    }

    fn close_bucket(&mut self, now: i64) {
        self.buckets[self.head] = self.cur;
        self.head = (self.head + 1) % BUCKETS;
        self.nbuckets = (self.nbuckets + 1).min(BUCKETS);
        self.cur_n = 0;
        self.cur_start = now;
        if self.nbuckets >= MIN_BUCKETS_FOR_SKEW {
            let n = self.nbuckets as f64;
            let it = || self.buckets.iter().take(self.nbuckets);
            let mt = it().map(|b| b.t).sum::<f64>() / n;
            let mr = it().map(|b| b.min).sum::<f64>() / n;
            let sxx: f64 = it().map(|b| (b.t - mt) * (b.t - mt)).sum();
            let sxy: f64 = it().map(|b| (b.t - mt) * (b.min - mr)).sum();
            if sxx > 0.0 {
                let skew = (sxy / sxx).clamp(-MAX_SKEW, MAX_SKEW);
                // Keep the reference line continuous at the change.
                let t = now as f64;
                self.ref0 = self.reference(t);
                self.t0 = t;
                self.skew = skew;
            }
        }
    }

    /// The floor of `r` at time `t`: the lowest recent minimum carried
    /// forward along the skew line (None before any packet).
    pub fn floor(&self, t: i64) -> Option<f64> {
        if !self.started {
            return None;
        }
        let tf = t as f64;
        let mut f = f64::INFINITY;
        if self.cur_n > 0 {
            f = self.cur.min + self.skew * (tf - self.cur.t);
        }
        for b in self.buckets.iter().take(self.nbuckets) {
            f = f.min(b.min + self.skew * (tf - b.t));
        }
        if f.is_finite() {
            Some(f)
        } else {
            Some(self.reference(tf))
        }
    }

    /// The `q` quantile of `r` as it stands at time `t` (None while empty).
    pub fn quantile(&self, q: f64, t: i64) -> Option<f64> {
        if self.total <= 0.0 {
            return None;
        }
        let bin = self.tree_search(q.clamp(0.0, 1.0) * self.total);
        let rel = (bin as i64 * BIN_NS + BIN_NS / 2 - BELOW_NS) as f64;
        Some(self.reference(t as f64) + rel)
    }

    fn tree_add(&mut self, bin: usize, w: f64) {
        let mut i = bin + 1;
        while i < self.tree.len() {
            self.tree[i] += w;
            i += i & i.wrapping_neg();
        }
    }

    /// Smallest bin whose cumulative weight reaches `target`.
    fn tree_search(&self, target: f64) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0usize;
        let mut rem = target;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] < rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        pos.min(n - 1)
    }

    fn bins(&self) -> Vec<f64> {
        let n = self.tree.len() - 1;
        (0..n)
            .map(|i| self.prefix(i + 1) - self.prefix(i))
            .collect()
    }

    fn prefix(&self, mut i: usize) -> f64 {
        let mut s = 0.0;
        while i > 0 {
            s += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    }

    fn rebuild(&mut self, bins: &[f64]) {
        self.tree.fill(0.0);
        self.total = 0.0;
        for (i, &w) in bins.iter().enumerate() {
            if w > 0.0 {
                self.tree_add(i, w);
                self.total += w;
            }
        }
    }

    // Both run rarely (a re-anchor, or every ~10^5 packets): the one
    // allocation is acceptable there.
    fn rescale(&mut self, k: f64) {
        let b: Vec<f64> = self.bins().into_iter().map(|w| w * k).collect();
        self.rebuild(&b);
    }

    fn shift_up(&mut self, by: usize) {
        let old = self.bins();
        let n = old.len();
        let mut b = vec![0.0; n];
        for (i, w) in old.into_iter().enumerate() {
            b[(i + by).min(n - 1)] += w;
        }
        self.rebuild(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn extreme_relative_delays_do_not_overflow() {
        let mut e = Estimator::new(1000 * MS, 1000);
        e.add(0, i64::MAX);
        e.add(1, i64::MIN);
        e.add(1, i64::MIN + 1);
        e.add(2, i64::MAX);
        e.add(i64::MAX, i64::MIN);
        e.add(i64::MIN, 0);
        assert!(e.quantile(0.5, 3).unwrap().is_finite());
        assert!(e.floor(3).unwrap().is_finite());
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut e = Estimator::new(1000 * MS, 100_000);
        // r uniform over 0..100 ms in 1 ms steps, many times
        for k in 0..20_000i64 {
            e.add(k * 20 * MS, (k * 37 % 100) * MS);
        }
        let t = 20_000 * 20 * MS;
        let q50 = e.quantile(0.5, t).unwrap() / MS as f64;
        let q99 = e.quantile(0.99, t).unwrap() / MS as f64;
        assert!((q50 - 50.0).abs() < 1.5, "{q50}");
        assert!((q99 - 99.0).abs() < 1.5, "{q99}");
        assert!(e.floor(t).unwrap().abs() < 0.5 * MS as f64);
    }

    #[test]
    fn skew_is_tracked() {
        for skew in [0.001f64, -0.001] {
            let mut e = Estimator::new(500 * MS, 1000);
            let mut x = 1u64;
            for k in 0..30_000i64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let t = k * 20 * MS;
                let jitter = (x % 10) as i64 * MS;
                e.add(t, (skew * t as f64) as i64 + jitter);
            }
            assert!((e.skew() - skew).abs() < 0.0001, "{}", e.skew());
            let t = 30_000 * 20 * MS;
            let expect = skew * t as f64;
            let f = e.floor(t).unwrap();
            assert!((f - expect).abs() < 2.0 * MS as f64, "{f} {expect}");
            let q = e.quantile(0.99, t).unwrap();
            assert!((q - expect - 9.0 * MS as f64).abs() < 2.0 * MS as f64);
        }
    }

    #[test]
    fn forgetting_attacks_fast_and_decays_slowly() {
        let mut e = Estimator::new(1000 * MS, 1000);
        let mut t = 0;
        for _ in 0..5000 {
            e.add(t, 10 * MS);
            t += 20 * MS;
        }
        for _ in 0..20 {
            e.add(t, 110 * MS);
            t += 20 * MS;
        }
        assert!(e.quantile(0.99, t).unwrap() > 100.0 * MS as f64);
        // 20 spikes keep 1 % of the weight for ~ln(2)/(1/1000) packets
        for _ in 0..300 {
            e.add(t, 10 * MS);
            t += 20 * MS;
        }
        assert!(e.quantile(0.99, t).unwrap() > 100.0 * MS as f64);
        for _ in 0..5000 {
            e.add(t, 10 * MS);
            t += 20 * MS;
        }
        assert!(e.quantile(0.99, t).unwrap() < 12.0 * MS as f64);
    }

    #[test]
    fn values_far_below_re_anchor() {
        let mut e = Estimator::new(500 * MS, 1000);
        e.add(0, 0);
        e.add(20 * MS, -900 * MS);
        e.add(40 * MS, -900 * MS);
        let q = e.quantile(0.5, 40 * MS).unwrap();
        assert!((q + 900.0 * MS as f64).abs() < MS as f64, "{q}");
    }
}
