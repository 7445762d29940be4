//! Receiver statistics for one remote source, RFC 3550 appendix A:
//! sequence validity and the extended highest sequence number (A.1),
//! expected / lost / fraction lost (A.3), interarrival jitter (A.8), plus
//! duplicate counting and the LSR/DLSR bookkeeping of the last SR received.
//!
//! One deliberate difference from A.1's code: when a source is validated
//! (after `MIN_SEQUENTIAL` packets in sequence, at the start or after a large
//! jump), the packets of that sequential run are counted as received and the
//! base sequence number is the first of them. A.1 counts from the last one
//! only, so a clean stream would show one packet fewer received and expected
//! than it carried; the loss figures are the same either way.
//!
//! Everything is fixed-size: `on_rtp` never allocates.

use super::report_block::{clamp_cumulative_lost, ReportBlock};

/// Packets in sequence needed before a source is valid (A.1).
pub const MIN_SEQUENTIAL: u32 = 2;
/// Largest forward jump still taken as the same stream (A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Largest backward step still taken as reordering (A.1).
pub const MAX_MISORDER: u16 = 100;

const SEQ_MOD: i64 = 1 << 16;
const NS_PER_S: i64 = 1_000_000_000;
/// Duplicate window: the last 256 sequence numbers (covers MAX_MISORDER).
const DUP_WORDS: usize = 4;
const DUP_BITS: u16 = (DUP_WORDS * 64) as u16;

/// What `on_rtp` made of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqStatus {
    /// In sequence, after a gap, or reordered: counted as received.
    Valid,
    /// A sequence number already received: counted as received and as a
    /// duplicate.
    Duplicate,
    /// The source is not validated yet (first packets, A.1 probation).
    Probation,
    /// This packet completed the probation: the source is now valid.
    Validated,
    /// A large jump: not counted; a packet with the next sequence number
    /// restarts the statistics (the sender probably restarted).
    Jump,
    /// Second packet in sequence after a large jump: the sequence
    /// statistics were restarted from the jump.
    Restarted,
}

impl SeqStatus {
    /// True when the packet counts as received (A.3).
    pub fn counted(self) -> bool {
        !matches!(self, SeqStatus::Probation | SeqStatus::Jump)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No packet yet.
    Empty,
    /// Waiting for `probation` more packets in sequence.
    Probation,
    Valid,
}

/// Receiver statistics for one remote source.
#[derive(Clone, Debug)]
pub struct RecvStats {
    clock_rate: u32,
    phase: Phase,
    probation: u32,
    max_seq: u16,
    /// Sequence number that confirms a large jump (A.1's bad_seq); outside
    /// 0..65536 when none is pending.
    bad_seq: u32,
    /// Wraps of the sequence number, times 65536.
    cycles: i64,
    /// Extended sequence number of the first packet counted.
    base_seq: i64,
    received: u64,
    expected_prior: i64,
    received_prior: u64,
    packets: u64,
    octets: u64,
    duplicates: u64,
    /// Bit `s % 256` set when sequence number `s` (within 255 of max_seq)
    /// was received.
    seen: [u64; DUP_WORDS],
    /// Jitter state: the previous packet's arrival and timestamp.
    prev: Option<(u64, u32)>,
    /// Jitter in 1e-9 timestamp units: the arrival time is kept at
    /// nanosecond precision instead of being rounded to the stream clock.
    jitter_nts: f64,
    max_jitter_nts: f64,
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    last_sr: Option<(u32, u64)>,
}

impl RecvStats {
    /// Statistics for a source whose RTP clock runs at `clock_rate` Hz
    /// (0: unknown, jitter stays 0).
    pub fn new(clock_rate: u32) -> RecvStats {
        RecvStats {
            clock_rate,
            phase: Phase::Empty,
            probation: 0,
            max_seq: 0,
            bad_seq: SEQ_MOD as u32 + 1,
            cycles: 0,
            base_seq: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            packets: 0,
            octets: 0,
            duplicates: 0,
            seen: [0; DUP_WORDS],
            prev: None,
            jitter_nts: 0.0,
            max_jitter_nts: 0.0,
            last_sr: None,
        }
    }

    /// The clock rate given to `new`.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Account one RTP packet of this source: sequence number, RTP
    /// timestamp, arrival time (ns, any monotonic origin) and payload length.
    #[inline]
    pub fn on_rtp(&mut self, seq: u16, ts: u32, arrival_ns: u64, payload_len: usize) -> SeqStatus {
        self.packets += 1;
        self.octets += payload_len as u64;
        let status = self.update_seq(seq);
        match status {
            SeqStatus::Jump => {}
            SeqStatus::Restarted => self.prev = Some((arrival_ns, ts)),
            _ => self.update_jitter(ts, arrival_ns),
        }
        status
    }

    /// A.1's update_seq, with duplicate detection.
    #[inline(always)]
    fn update_seq(&mut self, seq: u16) -> SeqStatus {
        match self.phase {
            Phase::Valid => {}
            Phase::Empty => {
                self.phase = Phase::Probation;
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
                self.seen = [0; DUP_WORDS];
                self.mark(seq);
                return self.probation_done(seq);
            }
            Phase::Probation => {
                if seq == self.max_seq.wrapping_add(1) {
                    self.probation -= 1;
                    self.max_seq = seq;
                    self.mark(seq);
                    return self.probation_done(seq);
                }
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
                self.seen = [0; DUP_WORDS];
                self.mark(seq);
                return self.probation_done(seq);
            }
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta < MAX_DROPOUT {
            if udelta == 0 {
                // The highest sequence number again.
                self.received += 1;
                self.duplicates += 1;
                return SeqStatus::Duplicate;
            }
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.advance(seq, udelta);
            self.received += 1;
            SeqStatus::Valid
        } else if udelta <= u16::MAX - MAX_MISORDER + 1 {
            if seq as u32 == self.bad_seq {
                // Two packets in sequence after a large jump: the sender
                // restarted; count from the jump.
                self.init_seq(seq, 2);
                self.mark(seq.wrapping_sub(1));
                self.mark(seq);
                SeqStatus::Restarted
            } else {
                self.bad_seq = seq.wrapping_add(1) as u32;
                SeqStatus::Jump
            }
        } else {
            // Reordered, or a duplicate of a recent packet.
            self.received += 1;
            if self.is_marked(seq) {
                self.duplicates += 1;
                SeqStatus::Duplicate
            } else {
                self.mark(seq);
                SeqStatus::Valid
            }
        }
    }

    fn probation_done(&mut self, seq: u16) -> SeqStatus {
        if self.probation > 0 {
            return SeqStatus::Probation;
        }
        let seen = self.seen;
        self.init_seq(seq, MIN_SEQUENTIAL as u64);
        self.seen = seen;
        SeqStatus::Validated
    }

    /// A.1's init_seq, counting the `run` packets in sequence ending at `seq`.
    fn init_seq(&mut self, seq: u16, run: u64) {
        self.phase = Phase::Valid;
        self.max_seq = seq;
        self.base_seq = seq as i64 - (run as i64 - 1);
        self.bad_seq = SEQ_MOD as u32 + 1;
        self.cycles = 0;
        self.received = run;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.seen = [0; DUP_WORDS];
    }

    /// Move max_seq forward by `udelta` to `seq`, forgetting what the
    /// window knew about the sequence numbers skipped.
    #[inline]
    fn advance(&mut self, seq: u16, udelta: u16) {
        if udelta >= DUP_BITS {
            self.seen = [0; DUP_WORDS];
        } else {
            for k in 1..udelta {
                self.unmark(self.max_seq.wrapping_add(k));
            }
        }
        self.max_seq = seq;
        self.mark(seq);
    }

    #[inline]
    fn bit(seq: u16) -> (usize, u64) {
        let i = seq % DUP_BITS;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    #[inline]
    fn mark(&mut self, seq: u16) {
        let (w, b) = Self::bit(seq);
        self.seen[w] |= b;
    }

    #[inline]
    fn unmark(&mut self, seq: u16) {
        let (w, b) = Self::bit(seq);
        self.seen[w] &= !b;
    }

    #[inline]
    fn is_marked(&self, seq: u16) -> bool {
        let (w, b) = Self::bit(seq);
        self.seen[w] & b != 0
    }

    /// A.8: J += (|D| - J) / 16, with D from the arrival and timestamp
    /// differences of consecutive packets (in arrival order), computed
    /// exactly in 1e-9 timestamp units.
    #[inline]
    fn update_jitter(&mut self, ts: u32, arrival_ns: u64) {
        if let Some((prev_arrival, prev_ts)) = self.prev {
            if self.clock_rate != 0 {
                let d_arr = arrival_ns.wrapping_sub(prev_arrival) as i64;
                let d_ts = ts.wrapping_sub(prev_ts) as i32 as i64;
                let d = match d_arr
                    .checked_mul(self.clock_rate as i64)
                    .and_then(|a| a.checked_sub(d_ts * NS_PER_S))
                {
                    // i64 -> f64 is one instruction; u64 -> f64 is not.
                    Some(n) => (n as f64).abs(),
                    // Arrival gaps of more than a day at 90 kHz.
                    None => {
                        (d_arr as f64 * self.clock_rate as f64 - (d_ts * NS_PER_S) as f64).abs()
                    }
                };
                self.jitter_nts += (d - self.jitter_nts) / 16.0;
                if self.jitter_nts > self.max_jitter_nts {
                    self.max_jitter_nts = self.jitter_nts;
                }
            }
        }
        self.prev = Some((arrival_ns, ts));
    }

    /// Record an SR from this source: its 64-bit NTP timestamp and arrival
    /// time, for the LSR and DLSR fields of our next report block.
    pub fn on_sr(&mut self, ntp: u64, arrival_ns: u64) {
        self.last_sr = Some(((ntp >> 16) as u32, arrival_ns));
    }

    /// True once the source passed probation (A.1).
    pub fn is_valid(&self) -> bool {
        self.phase == Phase::Valid
    }

    /// Every RTP packet given to `on_rtp` (duplicates, probation and
    /// rejected packets included).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Sum of the payload lengths given to `on_rtp`.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// Packets received since the source was validated (A.3's received,
    /// duplicates included).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number received, with cycles (A.1);
    /// not truncated to 32 bits.
    pub fn ext_max_seq(&self) -> i64 {
        self.cycles + self.max_seq as i64
    }

    /// Packets expected: extended highest minus base plus one (A.3); 0
    /// before the source is valid.
    pub fn expected(&self) -> u64 {
        if self.phase != Phase::Valid {
            return 0;
        }
        (self.ext_max_seq() - self.base_seq + 1) as u64
    }

    /// Cumulative packets lost: expected - received (A.3); negative when
    /// duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Packets whose sequence number had already been received.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Interarrival jitter (A.8) in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter_nts / NS_PER_S as f64
    }

    /// Highest jitter seen, in timestamp units.
    pub fn max_jitter(&self) -> f64 {
        self.max_jitter_nts / NS_PER_S as f64
    }

    /// Interarrival jitter in milliseconds (0 with an unknown clock rate).
    pub fn jitter_ms(&self) -> f64 {
        self.to_ms(self.jitter_nts)
    }

    /// Highest jitter seen, in milliseconds.
    pub fn max_jitter_ms(&self) -> f64 {
        self.to_ms(self.max_jitter_nts)
    }

    fn to_ms(&self, nts: f64) -> f64 {
        if self.clock_rate == 0 {
            return 0.0;
        }
        // nts / 1e9 timestamp units, / rate seconds, * 1e3 ms.
        nts / (self.clock_rate as f64 * 1e6)
    }

    /// Build the report block about this source (`ssrc`) at `now_ns`, and
    /// start a new interval for the fraction lost (A.3).
    pub fn report_block(&mut self, ssrc: u32, now_ns: u64) -> ReportBlock {
        let expected = self.expected() as i64;
        let expected_interval = expected - self.expected_prior;
        self.expected_prior = expected;
        let received_interval = (self.received - self.received_prior) as i64;
        self.received_prior = self.received;
        let lost_interval = expected_interval - received_interval;
        let fraction_lost = if expected_interval <= 0 || lost_interval <= 0 {
            0
        } else {
            // All lost would be 256: the field holds 255 at most.
            ((lost_interval << 8) / expected_interval).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (lsr, dlsr_units(now_ns.saturating_sub(at))),
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: clamp_cumulative_lost(self.lost()),
            ext_highest_seq: self.ext_max_seq() as u32,
            jitter: self.jitter() as u32,
            lsr,
            dlsr,
        }
    }
}

/// A delay in ns as 1/65536 s units, saturating at u32::MAX.
pub fn dlsr_units(delay_ns: u64) -> u32 {
    let u = (delay_ns as u128 * 65536) / NS_PER_S as u128;
    u.min(u32::MAX as u128) as u32
}

#[cfg(test)]
mod tests;
