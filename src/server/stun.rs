//! STUN (RFC 5389) Binding Requests answered inline: the parser and the
//! response writer, in safe Rust, without allocation (the worker answers
//! into a stack buffer). No MESSAGE-INTEGRITY (no credentials are checked:
//! this answers connectivity probes, as an ICE-lite peer does); a FINGERPRINT
//! in the request is verified and mirrored in the response.

use std::net::{IpAddr, SocketAddr};

/// The magic cookie of RFC 5389 (every STUN message carries it).
pub const MAGIC: u32 = 0x2112_a442;
const HEADER: usize = 20;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_FINGERPRINT: u16 = 0x8028;
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// Largest response written: header, XOR-MAPPED-ADDRESS (IPv6), FINGERPRINT.
pub const RESPONSE_MAX: usize = HEADER + 4 + 20 + 8;

/// A well-formed Binding Request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingRequest {
    pub transaction_id: [u8; 12],
    /// The request carried a (valid) FINGERPRINT: the answer carries one.
    pub fingerprint: bool,
}

/// Why a datagram is not a Binding Request to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not STUN at all (too short, top bits set, no magic cookie).
    NotStun,
    /// STUN, but another method or class (responses, indications...).
    NotBindingRequest,
    /// The length field disagrees with the datagram or is not 4-aligned.
    BadLength,
    /// An attribute runs past the end of the message.
    BadAttribute,
    /// A FINGERPRINT that is malformed, not last, or does not match.
    BadFingerprint,
}

/// A cheap first look, as used on the receive path before parsing: the
/// first two bits are 0 (RFC 7983: bytes 0..=3 are STUN) and the magic
/// cookie is in place.
#[inline]
pub fn looks_like_stun(pkt: &[u8]) -> bool {
    pkt.len() >= HEADER && pkt[0] & 0xc0 == 0 && pkt[4..8] == MAGIC.to_be_bytes()
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Parse a Binding Request (RFC 5389 sections 6 and 15).
pub fn parse_binding_request(pkt: &[u8]) -> Result<BindingRequest, ParseError> {
    if !looks_like_stun(pkt) {
        return Err(ParseError::NotStun);
    }
    let msg_len = be16(pkt, 2) as usize;
    if msg_len % 4 != 0 || HEADER + msg_len != pkt.len() {
        return Err(ParseError::BadLength);
    }
    if be16(pkt, 0) != BINDING_REQUEST {
        return Err(ParseError::NotBindingRequest);
    }
    let mut transaction_id = [0u8; 12];
    transaction_id.copy_from_slice(&pkt[8..20]);
    let mut fingerprint = false;
    let mut off = HEADER;
    while off < pkt.len() {
        if pkt.len() - off < 4 {
            return Err(ParseError::BadAttribute);
        }
        let atype = be16(pkt, off);
        let alen = be16(pkt, off + 2) as usize;
        let padded = (alen + 3) & !3;
        if pkt.len() - off - 4 < padded {
            return Err(ParseError::BadAttribute);
        }
        if atype == ATTR_FINGERPRINT {
            if alen != 4 || off + 8 != pkt.len() {
                return Err(ParseError::BadFingerprint);
            }
            let want = u32::from_be_bytes([pkt[off + 4], pkt[off + 5], pkt[off + 6], pkt[off + 7]]);
            if crc32(&pkt[..off]) ^ FINGERPRINT_XOR != want {
                return Err(ParseError::BadFingerprint);
            }
            fingerprint = true;
        }
        off += 4 + padded;
    }
    Ok(BindingRequest {
        transaction_id,
        fingerprint,
    })
}

/// Write the Binding Success Response to `req`, telling the requester the
/// address it was seen from (`mapped`; an IPv4-mapped IPv6 source is
/// reported as the IPv4 address it is). Returns the length written.
pub fn write_binding_success(
    req: &BindingRequest,
    mapped: &SocketAddr,
    out: &mut [u8; RESPONSE_MAX],
) -> usize {
    let ip = match mapped.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    let magic = MAGIC.to_be_bytes();
    out[0..2].copy_from_slice(&BINDING_SUCCESS.to_be_bytes());
    out[4..8].copy_from_slice(&magic);
    out[8..20].copy_from_slice(&req.transaction_id);
    let mut off = HEADER;
    let (family, alen) = match ip {
        IpAddr::V4(_) => (1u8, 8u16),
        IpAddr::V6(_) => (2u8, 20u16),
    };
    out[off..off + 2].copy_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
    out[off + 2..off + 4].copy_from_slice(&alen.to_be_bytes());
    out[off + 4] = 0;
    out[off + 5] = family;
    let xport = mapped.port() ^ (MAGIC >> 16) as u16;
    out[off + 6..off + 8].copy_from_slice(&xport.to_be_bytes());
    match ip {
        IpAddr::V4(v4) => {
            for (i, b) in v4.octets().iter().enumerate() {
                out[off + 8 + i] = b ^ magic[i];
            }
        }
        IpAddr::V6(v6) => {
            for (i, b) in v6.octets().iter().enumerate() {
                let k = if i < 4 {
                    magic[i]
                } else {
                    req.transaction_id[i - 4]
                };
                out[off + 8 + i] = b ^ k;
            }
        }
    }
    off += 4 + alen as usize;
    if req.fingerprint {
        // The length field counts the FINGERPRINT before the CRC is taken.
        let total = (off + 8 - HEADER) as u16;
        out[2..4].copy_from_slice(&total.to_be_bytes());
        let crc = crc32(&out[..off]) ^ FINGERPRINT_XOR;
        out[off..off + 2].copy_from_slice(&ATTR_FINGERPRINT.to_be_bytes());
        out[off + 2..off + 4].copy_from_slice(&4u16.to_be_bytes());
        out[off + 4..off + 8].copy_from_slice(&crc.to_be_bytes());
        off += 8;
    } else {
        out[2..4].copy_from_slice(&((off - HEADER) as u16).to_be_bytes());
    }
    off
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 (ISO 3309 / ITU-T V.42, as FINGERPRINT uses).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 section 2.1's sample request, without its credentials:
    /// header and a SOFTWARE attribute, then a FINGERPRINT we compute.
    fn request(with_fp: bool) -> Vec<u8> {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ]);
        // SOFTWARE "STUN test client" (16 bytes)
        m.extend_from_slice(&[0x80, 0x22, 0x00, 0x10]);
        m.extend_from_slice(b"STUN test client");
        if with_fp {
            let len = (m.len() - HEADER + 8) as u16;
            m[2..4].copy_from_slice(&len.to_be_bytes());
            let crc = crc32(&m) ^ FINGERPRINT_XOR;
            m.extend_from_slice(&[0x80, 0x28, 0x00, 0x04]);
            m.extend_from_slice(&crc.to_be_bytes());
        } else {
            let len = (m.len() - HEADER) as u16;
            m[2..4].copy_from_slice(&len.to_be_bytes());
        }
        m
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn parses_requests_with_and_without_fingerprint() {
        for fp in [false, true] {
            let r = parse_binding_request(&request(fp)).unwrap();
            assert_eq!(r.fingerprint, fp);
            assert_eq!(r.transaction_id[0], 0xb7);
            assert_eq!(r.transaction_id[11], 0xae);
        }
    }

    #[test]
    fn rejects_malformed() {
        let good = request(true);
        assert_eq!(parse_binding_request(&good[..19]), Err(ParseError::NotStun));
        let mut m = good.clone();
        m[0] |= 0x80;
        assert_eq!(parse_binding_request(&m), Err(ParseError::NotStun));
        let mut m = good.clone();
        m[5] = 0;
        assert_eq!(parse_binding_request(&m), Err(ParseError::NotStun));
        let mut m = good.clone();
        m[3] += 4;
        assert_eq!(parse_binding_request(&m), Err(ParseError::BadLength));
        let mut m = good.clone();
        m[3] += 1;
        assert_eq!(parse_binding_request(&m), Err(ParseError::BadLength));
        let mut m = good.clone();
        m[1] = 0x11; // a Binding Indication
        assert_eq!(
            parse_binding_request(&m),
            Err(ParseError::NotBindingRequest)
        );
        let mut m = good.clone();
        m[1] = 0x01;
        m[0] = 0x01; // a Binding Success Response
        assert_eq!(
            parse_binding_request(&m),
            Err(ParseError::NotBindingRequest)
        );
        let mut m = good.clone();
        let last = m.len() - 1;
        m[last] ^= 1;
        assert_eq!(parse_binding_request(&m), Err(ParseError::BadFingerprint));
        let mut m = good.clone();
        m[23] = 0x40; // SOFTWARE claims 64 bytes
        assert_eq!(parse_binding_request(&m), Err(ParseError::BadAttribute));
        // a truncated attribute header
        let mut m = request(false);
        m.extend_from_slice(&[0, 0, 0, 0]);
        let len = (m.len() - HEADER) as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        assert!(parse_binding_request(&m).is_ok()); // zero-length attribute is fine
                                                    // fingerprint not last
        let mut m = request(true);
        m.extend_from_slice(&[0, 0, 0, 0]);
        let len = (m.len() - HEADER) as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(parse_binding_request(&m), Err(ParseError::BadFingerprint));
    }

    /// RFC 5769 sections 2.2 and 2.3 give the XOR-MAPPED-ADDRESS bytes for
    /// 192.0.2.1:32853 and [2001:db8:1234:5678:11:2233:4455:6677]:32853
    /// with transaction id b7e7a701bc34d686fa87dfae.
    #[test]
    fn responses_match_rfc5769_vectors() {
        let req = parse_binding_request(&request(true)).unwrap();
        let mut out = [0u8; RESPONSE_MAX];
        let n = write_binding_success(&req, &"192.0.2.1:32853".parse().unwrap(), &mut out);
        assert_eq!(n, HEADER + 12 + 8);
        assert_eq!(&out[0..2], &[0x01, 0x01]);
        assert_eq!(&out[8..20], &req.transaction_id);
        assert_eq!(
            &out[20..32],
            &[0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]
        );
        // our own FINGERPRINT verifies with the parser's check
        let fp_at = n - 8;
        let crc = crc32(&out[..fp_at]) ^ FINGERPRINT_XOR;
        assert_eq!(&out[fp_at + 4..n], &crc.to_be_bytes());
        assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, n - HEADER);

        let v6: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap();
        let req = BindingRequest {
            fingerprint: false,
            ..req
        };
        let n = write_binding_success(&req, &v6, &mut out);
        assert_eq!(n, HEADER + 24);
        assert_eq!(
            &out[20..44],
            &[
                0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3,
                0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9
            ]
        );
        // an IPv4-mapped source is answered as IPv4
        let m: SocketAddr = "[::ffff:192.0.2.1]:32853".parse().unwrap();
        let n = write_binding_success(&req, &m, &mut out);
        assert_eq!(n, HEADER + 12);
        assert_eq!(out[25], 1);
    }
}
