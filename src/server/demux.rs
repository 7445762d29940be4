//! Telling packets on one port apart (RFC 7983's first-byte ranges, RFC
//! 5761 section 4 for RTP against RTCP).
//!
//! The server classifies with the session layer's RFC 5761 rule
//! (`rtcp::packet::is_rtcp`), so the two never disagree.

/// RFC 5761 section 4: a version-2 datagram of at least an RTCP header
/// whose second octet is 192..=223 (RTCP packet types; RTP payload types
/// 64-95 with the marker bit, which multiplexed RTP must not use) is RTCP.
pub use crate::rtcp::packet::is_rtcp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtcp_types_and_rtp_types() {
        // SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR
        for pt in [200u8, 201, 202, 203, 204, 205, 206, 207, 192, 223] {
            assert!(is_rtcp(&[0x80, pt, 0, 1]), "{pt}");
        }
        // RTP PCMU, dynamic 96, marker + 0, marker + 63, marker + 96
        for b1 in [0u8, 96, 127, 128, 191, 224, 255] {
            assert!(!is_rtcp(&[0x80, b1, 0, 1]), "{b1}");
        }
        // not version 2, too short
        assert!(!is_rtcp(&[0x00, 200, 0, 1]));
        assert!(!is_rtcp(&[0x40, 200]));
        assert!(!is_rtcp(&[0x80, 200, 0])); // shorter than an RTCP header
        assert!(!is_rtcp(&[0x80]));
        assert!(!is_rtcp(&[]));
    }
}
