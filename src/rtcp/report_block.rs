//! The 24-byte report block carried by SR and RR packets (RFC 3550 6.4.1).

/// One reception report about one remote source, as carried on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost: 24-bit signed on the wire
    /// (-8388608..=8388607); values outside are clamped when written.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | max seq).
    pub ext_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the
    /// source, 0 if none.
    pub lsr: u32,
    /// Delay since that SR was received, in 1/65536 s; 0 if none.
    pub dlsr: u32,
}

/// Wire size of a report block.
pub const REPORT_BLOCK_LEN: usize = 24;

/// Smallest and largest cumulative-lost values a report block can carry.
pub const CUMULATIVE_LOST_MIN: i32 = -0x80_0000;
pub const CUMULATIVE_LOST_MAX: i32 = 0x7f_ffff;

/// Clamp a cumulative-lost count to the 24-bit signed wire range.
pub fn clamp_cumulative_lost(lost: i64) -> i32 {
    lost.clamp(CUMULATIVE_LOST_MIN as i64, CUMULATIVE_LOST_MAX as i64) as i32
}

impl ReportBlock {
    /// Write the block into `out` (exactly 24 bytes).
    pub fn write(&self, out: &mut [u8; REPORT_BLOCK_LEN]) {
        let lost = clamp_cumulative_lost(self.cumulative_lost as i64) as u32 & 0xff_ffff;
        out[0..4].copy_from_slice(&self.ssrc.to_be_bytes());
        out[4..8].copy_from_slice(&((self.fraction_lost as u32) << 24 | lost).to_be_bytes());
        out[8..12].copy_from_slice(&self.ext_highest_seq.to_be_bytes());
        out[12..16].copy_from_slice(&self.jitter.to_be_bytes());
        out[16..20].copy_from_slice(&self.lsr.to_be_bytes());
        out[20..24].copy_from_slice(&self.dlsr.to_be_bytes());
    }

    /// Read a block from 24 bytes; the cumulative lost is sign-extended.
    pub fn read(b: &[u8; REPORT_BLOCK_LEN]) -> ReportBlock {
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let fl = w(4);
        ReportBlock {
            ssrc: w(0),
            fraction_lost: (fl >> 24) as u8,
            // Shift the 24-bit field to the top, then back with sign.
            cumulative_lost: ((fl << 8) as i32) >> 8,
            ext_highest_seq: w(8),
            jitter: w(12),
            lsr: w(16),
            dlsr: w(20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sign() {
        for lost in [
            0,
            1,
            -1,
            5000,
            -5000,
            CUMULATIVE_LOST_MAX,
            CUMULATIVE_LOST_MIN,
        ] {
            let rb = ReportBlock {
                ssrc: 0xdeadbeef,
                fraction_lost: 77,
                cumulative_lost: lost,
                ext_highest_seq: 0x0003_fffe,
                jitter: 1234,
                lsr: 0x1234_5678,
                dlsr: 65536 * 3,
            };
            let mut b = [0u8; REPORT_BLOCK_LEN];
            rb.write(&mut b);
            assert_eq!(ReportBlock::read(&b), rb);
        }
    }

    #[test]
    fn clamps_to_24_bits() {
        let mut b = [0u8; REPORT_BLOCK_LEN];
        let rb = ReportBlock {
            cumulative_lost: 0x0100_0000,
            ..Default::default()
        };
        rb.write(&mut b);
        assert_eq!(&b[5..8], &[0x7f, 0xff, 0xff]);
        assert_eq!(ReportBlock::read(&b).cumulative_lost, CUMULATIVE_LOST_MAX);
        let rb = ReportBlock {
            cumulative_lost: i32::MIN,
            ..Default::default()
        };
        rb.write(&mut b);
        assert_eq!(&b[5..8], &[0x80, 0x00, 0x00]);
        assert_eq!(ReportBlock::read(&b).cumulative_lost, CUMULATIVE_LOST_MIN);
        assert_eq!(clamp_cumulative_lost(-1), -1);
        assert_eq!(clamp_cumulative_lost(i64::MAX), CUMULATIVE_LOST_MAX);
    }
}
