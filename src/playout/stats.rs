//! Counters and the distribution of per-packet playout delays.

/// Counters of one playout buffer (all since creation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// RTP packets of the configured payload type given to `put`.
    pub received: u64,
    /// Packets decoded into the output.
    pub played: u64,
    /// Packets that arrived after their playout time (not played).
    pub late: u64,
    /// Packets the buffer dropped otherwise: overflow, bad payload, a
    /// stream change that flushed them, a candidate stream never confirmed.
    pub discarded: u64,
    /// Packets whose sequence number was already received (not played).
    pub duplicates: u64,
    /// 10 ms units of concealment (G.711 Appendix I or Opus PLC).
    pub concealed_frames: u64,
    /// Lost spans rebuilt from the next packet's Opus in-band FEC.
    pub fec_frames: u64,
    /// Delay increases: stretches of decoded audio and concealment held
    /// in place while the buffer was below its target.
    pub expansions: u64,
    /// Delay decreases: time compressions of decoded audio.
    pub compressions: u64,
    /// Output samples added by expansions, and removed by compressions.
    pub expanded_samples: u64,
    pub compressed_samples: u64,
    /// Stream restarts (new SSRC, or a timestamp jump beyond reason).
    pub resets: u64,
    /// Gaps of continuous loss longer than 120 ms, treated as a pause.
    pub pauses: u64,
    /// Talkspurt starts used as delay change points.
    pub talkspurts: u64,
    /// Buffer delay now (the delay the fastest packets see), ns.
    pub current_delay_ns: i64,
    /// The delay the buffer aims at, ns.
    pub target_delay_ns: i64,
    /// Estimated clock skew of the sender against the receiver, in parts
    /// per million (positive: the sender's clock is slow).
    pub skew_ppm: f64,
    /// Per-packet delays (arrival to playout of the first sample) over the
    /// played packets: count, mean and 95th percentile.
    pub delay_count: u64,
    pub mean_delay_ns: f64,
    pub p95_delay_ns: f64,
}

const BIN_NS: i64 = 500_000;
const BINS: usize = 5000; // 2.5 s; longer delays count in the last bin
const MINUTE_NS: i64 = 60_000_000_000;
/// Per-minute means cover two days of arrival time (later packets still
/// count in the mean and percentiles).
const MAX_MINUTES: usize = 2 * 24 * 60;

/// Per-packet delays: a histogram for percentiles, and means per minute of
/// arrival time.
pub struct Delays {
    hist: Vec<u32>,
    count: u64,
    sum: f64,
    first_arrival: Option<i64>,
    minutes: Vec<(f64, u64)>,
}

impl Delays {
    pub fn new() -> Self {
        Delays {
            hist: vec![0; BINS],
            count: 0,
            sum: 0.0,
            first_arrival: None,
            minutes: Vec::new(),
        }
    }

    pub fn record(&mut self, arrival: i64, delay: i64) {
        let delay = delay.max(0);
        let bin = ((delay / BIN_NS) as usize).min(BINS - 1);
        self.hist[bin] = self.hist[bin].saturating_add(1);
        self.count += 1;
        self.sum += delay as f64;
        let first = *self.first_arrival.get_or_insert(arrival);
        let minute = (arrival.saturating_sub(first).max(0) / MINUTE_NS) as usize;
        if minute < MAX_MINUTES {
            if self.minutes.len() <= minute {
                // once a minute, not per packet
                self.minutes.resize(minute + 1, (0.0, 0));
            }
            self.minutes[minute].0 += delay as f64;
            self.minutes[minute].1 += 1;
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `q` quantile, interpolated inside its 0.5 ms bin.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let want = q.clamp(0.0, 1.0) * self.count as f64;
        let mut cum = 0.0;
        for (i, &n) in self.hist.iter().enumerate() {
            let next = cum + n as f64;
            if next >= want && n > 0 {
                let frac = ((want - cum) / n as f64).clamp(0.0, 1.0);
                return (i as f64 + frac) * BIN_NS as f64;
            }
            cum = next;
        }
        (BINS as i64 * BIN_NS) as f64
    }

    /// Mean delay (ns) per minute of arrival time since the first played
    /// packet; None for a minute without played packets.
    pub fn by_minute(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.minutes
            .iter()
            .map(|&(s, n)| (n > 0).then(|| s / n as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_percentile_and_minutes() {
        let mut d = Delays::new();
        for k in 0..100i64 {
            d.record(k * 1_000_000_000, (k + 1) * 1_000_000);
        }
        assert_eq!(d.count(), 100);
        assert!((d.mean() - 50.5e6).abs() < 1.0);
        let p95 = d.quantile(0.95);
        assert!((p95 - 95e6).abs() < 0.6e6, "{p95}");
        let m: Vec<_> = d.by_minute().collect();
        assert_eq!(m.len(), 2);
        assert!((m[0].unwrap() - 30.5e6).abs() < 1.0);
        assert!((m[1].unwrap() - 80.5e6).abs() < 1.0);
    }
}
