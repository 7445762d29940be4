//! The RTCP transmission interval, RFC 3550 section 6.3 and appendix A.7,
//! and the NTP timestamp format of sender reports.

/// Minimum average interval between reports (halved before the first one).
pub const RTCP_MIN_TIME_S: f64 = 5.0;
/// Share of the RTCP bandwidth for senders when they are few.
pub const SENDER_BW_FRACTION: f64 = 0.25;
/// The randomisation 0.5..1.5 makes the mean interval too short by this
/// factor (e - 3/2) with timer reconsideration; dividing by it compensates.
pub const COMPENSATION: f64 = std::f64::consts::E - 1.5;
/// Share of the session bandwidth that RTCP uses.
pub const RTCP_BW_FRACTION: f64 = 0.05;
/// IPv4 + UDP header octets counted into every RTCP packet's size.
pub const LOWER_LAYER_OCTETS: usize = 28;

/// What the interval depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntervalInput {
    pub members: usize,
    pub senders: usize,
    /// RTCP bandwidth in octets per second.
    pub rtcp_bw: f64,
    pub we_sent: bool,
    /// Average compound RTCP size in octets, lower layers included.
    pub avg_rtcp_size: f64,
    pub initial: bool,
}

/// The deterministic interval Td in seconds (A.7 before randomisation).
pub fn deterministic_interval(i: &IntervalInput) -> f64 {
    let min_time = if i.initial {
        RTCP_MIN_TIME_S / 2.0
    } else {
        RTCP_MIN_TIME_S
    };
    let mut n = i.members.max(1) as f64;
    let mut bw = i.rtcp_bw;
    if (i.senders as f64) <= i.members as f64 * SENDER_BW_FRACTION {
        if i.we_sent {
            bw *= SENDER_BW_FRACTION;
            n = i.senders.max(1) as f64;
        } else {
            bw *= 1.0 - SENDER_BW_FRACTION;
            n = (i.members.saturating_sub(i.senders)).max(1) as f64;
        }
    }
    let t = if bw > 0.0 {
        i.avg_rtcp_size * n / bw
    } else {
        0.0
    };
    t.max(min_time)
}

/// A.7's rtcp_interval in seconds: Td times `r + 0.5` (r uniform in
/// 0..1, from the caller's random source), divided by e - 3/2.
pub fn interval(i: &IntervalInput, r: f64) -> f64 {
    let r = if r.is_finite() {
        r.clamp(0.0, 1.0)
    } else {
        0.5
    };
    deterministic_interval(i) * (r + 0.5) / COMPENSATION
}

/// Seconds from 1900 (NTP era 0) to 1970 (Unix epoch).
pub const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// 64-bit NTP timestamp of a wall-clock time given in ns since the Unix
/// epoch.
pub fn ntp_from_unix_ns(wall_ns: u64) -> u64 {
    let secs = wall_ns / 1_000_000_000 + NTP_UNIX_OFFSET_S;
    let frac = ((wall_ns % 1_000_000_000) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Middle 32 bits of an NTP timestamp (the LSR field's format).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in 1/65536 s (DLSR units) as ns.
pub fn units16_to_ns(u: u32) -> u64 {
    (u as u64 * 1_000_000_000) >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inp(members: usize, senders: usize, we_sent: bool, initial: bool) -> IntervalInput {
        IntervalInput {
            members,
            senders,
            rtcp_bw: 500.0,
            we_sent,
            avg_rtcp_size: 100.0,
            initial,
        }
    }

    #[test]
    fn minimum_and_halved_at_start() {
        assert_eq!(deterministic_interval(&inp(2, 1, true, false)), 5.0);
        assert_eq!(deterministic_interval(&inp(2, 1, true, true)), 2.5);
        // Randomised 0.5..1.5 and compensated.
        assert!((interval(&inp(2, 1, true, false), 0.0) - 2.5 / COMPENSATION).abs() < 1e-12);
        assert!((interval(&inp(2, 1, true, false), 1.0) - 7.5 / COMPENSATION).abs() < 1e-12);
        assert!((interval(&inp(2, 1, true, true), 0.5) - 2.5 / COMPENSATION).abs() < 1e-12);
    }

    #[test]
    fn bandwidth_share() {
        // 400 members, 10 senders (<= 25 %): receivers share 75 % of 500 B/s.
        let t = deterministic_interval(&inp(400, 10, false, false));
        assert!((t - 100.0 * 390.0 / 375.0).abs() < 1e-9);
        // Senders share 25 %.
        let t = deterministic_interval(&inp(400, 200, true, false));
        // 200 senders > 25 % of members: everyone shares everything.
        assert!((t - 100.0 * 400.0 / 500.0).abs() < 1e-9);
        let t = deterministic_interval(&inp(400, 100, true, false));
        assert!((t - 100.0 * 100.0 / 125.0).abs() < 1e-9);
    }

    #[test]
    fn ntp_conversion() {
        assert_eq!(ntp_from_unix_ns(0), NTP_UNIX_OFFSET_S << 32);
        assert_eq!(
            ntp_from_unix_ns(1_500_000_000),
            ((NTP_UNIX_OFFSET_S + 1) << 32) | 0x8000_0000
        );
        assert_eq!(ntp_middle(0x1122_3344_5566_7788), 0x3344_5566);
        assert_eq!(units16_to_ns(65536 + 32768), 1_500_000_000);
    }
}
