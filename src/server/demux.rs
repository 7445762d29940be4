//! Telling packets on one port apart (RFC 7983's first-byte ranges, RFC
//! 5761 section 4 for RTP against RTCP).
//!
//! `is_rtcp` is the one RTCP classification of the server; the session
//! layer's RTCP demux (src/rtcp/) is meant to call it (or the reverse) so
//! that the two never disagree.

/// RFC 5761 section 4: an RTP version 2 packet whose second octet is 192..=223
/// (RTCP packet types 192-223, i.e. RTP payload types 64-95 with the marker
/// bit set, which RTP must not use when multiplexed) is RTCP.
#[inline]
pub fn is_rtcp(pkt: &[u8]) -> bool {
    pkt.len() >= 2 && pkt[0] >> 6 == 2 && (192..=223).contains(&pkt[1])
}

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
        assert!(!is_rtcp(&[0x80]));
        assert!(!is_rtcp(&[]));
    }
}
