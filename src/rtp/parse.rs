//! RTP header parsing with the original's validation order and error codes.

use super::samples::{self, NSAMPLES_UNKNOWN};
use super::{pt, RTP_HDR_LEN};

/// Why a datagram is not a usable RTP packet. The discriminants are the
/// original's `RTP_PARSER_*` values.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    TooShort = -1,
    BadVersion = -2,
    TooShortForExtSize = -3,
    TooShortForExt = -4,
    TooShortForPadSize = -5,
    TooShortForPad = -6,
    BadPadSize = -7,
}

impl ParseErrorKind {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Human-readable text (NUL-terminated so the C layer can hand it out).
    pub fn describe(self) -> &'static std::ffi::CStr {
        match self {
            Self::TooShort => c"packet is too short for RTP header",
            Self::BadVersion => c"incorrect RTP header version",
            Self::TooShortForExtSize => c"packet is too short for extended RTP header size",
            Self::TooShortForExt => c"packet is too short for extended RTP header",
            Self::TooShortForPadSize => c"packet is too short for RTP padding size",
            Self::TooShortForPad => c"packet is too short for RTP padding",
            Self::BadPadSize => c"invalid RTP padding size",
        }
    }
}

/// A failed parse. `data_offset` is how far the header walk got, which the
/// original leaves in `rtp_info.data_offset` on failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub data_offset: u32,
}

/// A parsed RTP packet: the fields of the original's `struct rtp_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub data_size: usize,
    pub data_offset: u32,
    pub nsamples: i32,
    pub ts: u32,
    pub seq: u16,
    pub ssrc: u32,
    pub appendable: bool,
    pub pt: u8,
    pub marker: bool,
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parse one datagram. Always inlined: the jitter buffer's `udp_in` then
/// stores the fields straight into the caller's frame instead of through a
/// returned struct (a store-forwarding stall per packet).
#[inline(always)]
pub fn parse(buf: &[u8]) -> Result<Parsed, ParseError> {
    let size = buf.len();
    let fail = |kind, data_offset| Err(ParseError { kind, data_offset });
    if size < RTP_HDR_LEN {
        return fail(ParseErrorKind::TooShort, 0);
    }
    let b0 = buf[0];
    if b0 >> 6 != 2 {
        return fail(ParseErrorKind::BadVersion, 0);
    }
    let has_pad = b0 & 0x20 != 0;
    let has_ext = b0 & 0x10 != 0;
    let cc = (b0 & 0x0f) as usize;
    let mut off = RTP_HDR_LEN + cc * 4;
    if has_ext {
        if size < off + 4 {
            return fail(ParseErrorKind::TooShortForExtSize, off as u32);
        }
        off += 4 + be16(buf, off + 2) as usize * 4;
    }
    if size < off {
        return fail(ParseErrorKind::TooShortForExt, off as u32);
    }
    let mut pad = 0usize;
    if has_pad {
        if off == size {
            return fail(ParseErrorKind::TooShortForPadSize, off as u32);
        }
        pad = buf[size - 1] as usize;
        if pad == 0 {
            return fail(ParseErrorKind::BadPadSize, off as u32);
        }
    }
    if size < off + pad {
        return fail(ParseErrorKind::TooShortForPad, off as u32);
    }
    let data_size = size - off - pad;
    let payload_type = buf[1] & 0x7f;
    let mut p = Parsed {
        data_size,
        data_offset: off as u32,
        nsamples: NSAMPLES_UNKNOWN,
        ts: be32(buf, 4),
        seq: be16(buf, 2),
        ssrc: be32(buf, 8),
        appendable: true,
        pt: payload_type,
        marker: buf[1] & 0x80 != 0,
    };
    if data_size == 0 {
        return Ok(p);
    }
    p.nsamples = samples::count(payload_type, &buf[off..off + data_size]);
    // A trailing G.729 comfort-noise frame makes the packet non-appendable.
    if payload_type == pt::G729 && data_size % 10 != 0 {
        p.appendable = false;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(b0: u8, b1: u8) -> Vec<u8> {
        vec![b0, b1, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]
    }

    #[test]
    fn fields_are_decoded_big_endian() {
        let mut b = hdr(0x80, 0x80);
        b.extend_from_slice(&[0u8; 160]);
        let p = parse(&b).unwrap();
        assert_eq!(p.seq, 0x1234);
        assert_eq!(p.ts, 0xdeadbeef);
        assert_eq!(p.ssrc, 0x01020304);
        assert_eq!(p.data_offset, 12);
        assert_eq!(p.data_size, 160);
        assert_eq!(p.nsamples, 160);
        assert!(p.marker);
        assert!(p.appendable);
    }

    #[test]
    fn error_order_and_offsets() {
        assert_eq!(
            parse(&[0x80; 11]).unwrap_err().kind,
            ParseErrorKind::TooShort
        );
        assert_eq!(
            parse(&hdr(0x40, 0)).unwrap_err().kind,
            ParseErrorKind::BadVersion
        );
        // CSRC count 15 with no room: offset 72
        let e = parse(&hdr(0x8f, 0)).unwrap_err();
        assert_eq!(
            (e.kind, e.data_offset),
            (ParseErrorKind::TooShortForExt, 72)
        );
        let e = parse(&hdr(0x90, 0)).unwrap_err();
        assert_eq!(
            (e.kind, e.data_offset),
            (ParseErrorKind::TooShortForExtSize, 12)
        );
        let mut b = hdr(0x90, 0);
        b.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.kind, e.data_offset),
            (ParseErrorKind::TooShortForExt, 24)
        );
        b.extend_from_slice(&[9; 4]);
        assert_eq!(parse(&b).unwrap().data_offset, 24);
        assert_eq!(
            parse(&hdr(0xa0, 0)).unwrap_err().kind,
            ParseErrorKind::TooShortForPadSize
        );
        let mut b = hdr(0xa0, 0);
        b.push(0);
        assert_eq!(parse(&b).unwrap_err().kind, ParseErrorKind::BadPadSize);
        *b.last_mut().unwrap() = 2;
        assert_eq!(parse(&b).unwrap_err().kind, ParseErrorKind::TooShortForPad);
        b.insert(12, 7);
        let p = parse(&b).unwrap();
        assert_eq!((p.data_size, p.data_offset), (0, 12));
    }

    #[test]
    fn g729_comfort_noise_is_not_appendable() {
        let mut b = hdr(0x80, 18);
        b.extend_from_slice(&[0u8; 22]);
        let p = parse(&b).unwrap();
        assert_eq!(p.nsamples, 240);
        assert!(!p.appendable);
    }
}
