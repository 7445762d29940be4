//! RTCP packet parsing: a compound packet (RFC 3550 section 6) walked one
//! sub-packet at a time, each decoded to a borrowed view. Nothing is copied
//! or allocated; every length is checked against the buffer before it is
//! used, so hostile input gives an error, never an over-read.

use super::report_block::{ReportBlock, REPORT_BLOCK_LEN};

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
pub const PT_APP: u8 = 204;
/// RFC 4585 transport-layer feedback.
pub const PT_RTPFB: u8 = 205;
/// RFC 4585 payload-specific feedback.
pub const PT_PSFB: u8 = 206;

/// RTPFB FMT of the generic NACK (RFC 4585 6.2.1).
pub const FMT_NACK: u8 = 1;
/// PSFB FMT of the Picture Loss Indication (RFC 4585 6.3.1).
pub const FMT_PLI: u8 = 1;
/// PSFB FMT of the Full Intra Request (RFC 5104 4.3.1).
pub const FMT_FIR: u8 = 4;

/// SDES item types (RFC 3550 6.5).
pub mod sdes {
    pub const END: u8 = 0;
    pub const CNAME: u8 = 1;
    pub const NAME: u8 = 2;
    pub const EMAIL: u8 = 3;
    pub const PHONE: u8 = 4;
    pub const LOC: u8 = 5;
    pub const TOOL: u8 = 6;
    pub const NOTE: u8 = 7;
    pub const PRIV: u8 = 8;
}

/// Largest count a header's 5-bit field holds.
pub const MAX_COUNT: usize = 31;

/// Why a buffer is not valid RTCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Fewer than 4 bytes left where a header must start (or an empty buffer).
    Truncated,
    /// Version field not 2.
    BadVersion,
    /// The length field runs past the end of the buffer.
    LengthPastBuffer,
    /// Padding count 0 or larger than the packet body.
    BadPadding,
    /// The padding bit is set on a packet that is not the last one.
    PaddingNotLast,
    /// Shorter than the fixed part of its type.
    TooShort,
    /// The count field (report blocks, chunks, SSRCs) does not fit the length.
    CountMismatch,
    /// An SDES chunk is malformed: an item runs past the packet, or the list
    /// of items is not terminated.
    BadSdes,
    /// Feedback control information is not a whole, non-empty number of
    /// entries, or a BYE reason runs past the packet.
    BadBody,
}

impl ParseErrorKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Truncated => "truncated RTCP header",
            Self::BadVersion => "RTCP version is not 2",
            Self::LengthPastBuffer => "RTCP length runs past the buffer",
            Self::BadPadding => "bad RTCP padding count",
            Self::PaddingNotLast => "RTCP padding on a packet that is not the last",
            Self::TooShort => "RTCP packet too short for its type",
            Self::CountMismatch => "RTCP count does not fit the packet length",
            Self::BadSdes => "malformed SDES chunk",
            Self::BadBody => "malformed RTCP packet body",
        }
    }
}

/// A parse failure and the offset of the sub-packet it was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub offset: usize,
}

/// The sender-information part of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 << 32 | fraction).
    pub ntp: u64,
    pub rtp_ts: u32,
    pub packets: u32,
    pub octets: u32,
}

/// Report blocks of an SR or RR, read on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks<'a>(&'a [u8]);

impl<'a> Blocks<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / REPORT_BLOCK_LEN
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, i: usize) -> Option<ReportBlock> {
        let b = self
            .0
            .get(i * REPORT_BLOCK_LEN..(i + 1) * REPORT_BLOCK_LEN)?;
        let b: &[u8; REPORT_BLOCK_LEN] = b.try_into().ok()?;
        Some(ReportBlock::read(b))
    }
    pub fn iter(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        self.0
            .chunks_exact(REPORT_BLOCK_LEN)
            .filter_map(|c| c.try_into().ok().map(ReportBlock::read))
    }
}

/// A list of 32-bit big-endian words (BYE SSRCs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, i: usize) -> Option<u32> {
        self.0.get(i * 4..i * 4 + 4).map(|b| be32(b, 0))
    }
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.0.chunks_exact(4).map(|b| be32(b, 0))
    }
}

/// One SDES item: its type and text (not NUL-terminated, at most 255 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesItem<'a> {
    pub ssrc: u32,
    pub kind: u8,
    pub text: &'a [u8],
}

/// The chunks of a validated SDES packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sdes<'a> {
    count: usize,
    body: &'a [u8],
}

impl<'a> Sdes<'a> {
    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.count
    }
    /// Every item of every chunk, in order, tagged with its chunk's SSRC.
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems {
            body: self.body,
            pos: 0,
            chunk_ssrc: None,
            chunks_left: self.count,
        }
    }
    /// The first CNAME in the packet.
    pub fn cname(&self) -> Option<SdesItem<'a>> {
        self.items().find(|i| i.kind == sdes::CNAME)
    }
}

/// Iterator over SDES items. Walks a body already validated by the parser;
/// on anything unexpected it stops.
#[derive(Clone, Debug)]
pub struct SdesItems<'a> {
    body: &'a [u8],
    pos: usize,
    chunk_ssrc: Option<u32>,
    chunks_left: usize,
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;
    fn next(&mut self) -> Option<SdesItem<'a>> {
        loop {
            let ssrc = match self.chunk_ssrc {
                Some(s) => s,
                None => {
                    if self.chunks_left == 0 {
                        return None;
                    }
                    let s = be32(self.body.get(self.pos..self.pos + 4)?, 0);
                    self.pos += 4;
                    self.chunks_left -= 1;
                    self.chunk_ssrc = Some(s);
                    s
                }
            };
            let kind = *self.body.get(self.pos)?;
            if kind == sdes::END {
                // End of chunk: skip to the next 32-bit boundary.
                self.pos = (self.pos + 4) & !3;
                self.chunk_ssrc = None;
                continue;
            }
            let n = *self.body.get(self.pos + 1)? as usize;
            let text = self.body.get(self.pos + 2..self.pos + 2 + n)?;
            self.pos += 2 + n;
            return Some(SdesItem { ssrc, kind, text });
        }
    }
}

/// One decoded sub-packet of a compound packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Sr {
        ssrc: u32,
        info: SenderInfo,
        blocks: Blocks<'a>,
        /// Profile-specific extension after the blocks (usually empty).
        ext: &'a [u8],
    },
    Rr {
        ssrc: u32,
        blocks: Blocks<'a>,
        ext: &'a [u8],
    },
    Sdes(Sdes<'a>),
    Bye {
        ssrcs: Words<'a>,
        reason: Option<&'a [u8]>,
    },
    App {
        subtype: u8,
        ssrc: u32,
        name: [u8; 4],
        data: &'a [u8],
    },
    /// Generic NACK: FCI entries of (PID, BLP); see [`nack_seqs`].
    Nack {
        sender: u32,
        media: u32,
        fci: &'a [u8],
    },
    Pli {
        sender: u32,
        media: u32,
    },
    /// Full Intra Request: FCI entries of (SSRC, command sequence number).
    Fir {
        sender: u32,
        media: u32,
        fci: &'a [u8],
    },
    /// Any other packet type or feedback FMT (XR, TMMBR, REMB ...): the
    /// header's count/FMT field and the body after the header.
    Other {
        pt: u8,
        count: u8,
        body: &'a [u8],
    },
}

impl Packet<'_> {
    /// The packet type octet.
    pub fn pt(&self) -> u8 {
        match self {
            Packet::Sr { .. } => PT_SR,
            Packet::Rr { .. } => PT_RR,
            Packet::Sdes(_) => PT_SDES,
            Packet::Bye { .. } => PT_BYE,
            Packet::App { .. } => PT_APP,
            Packet::Nack { .. } => PT_RTPFB,
            Packet::Pli { .. } | Packet::Fir { .. } => PT_PSFB,
            Packet::Other { pt, .. } => *pt,
        }
    }
}

/// FIR entries of a FIR packet's FCI: (SSRC, command sequence number).
pub fn fir_entries(fci: &[u8]) -> impl Iterator<Item = (u32, u8)> + '_ {
    fci.chunks_exact(8).map(|e| (be32(e, 0), e[4]))
}

/// The sequence numbers a generic NACK's FCI asks for, in FCI order.
pub fn nack_seqs(fci: &[u8]) -> impl Iterator<Item = u16> + '_ {
    fci.chunks_exact(4).flat_map(|e| {
        let pid = u16::from_be_bytes([e[0], e[1]]);
        let blp = u16::from_be_bytes([e[2], e[3]]);
        std::iter::once(pid).chain(
            (0..16u16)
                .filter(move |i| blp & (1 << i) != 0)
                .map(move |i| pid.wrapping_add(i + 1)),
        )
    })
}

#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks a compound RTCP packet sub-packet by sub-packet. Yields
/// `Err` once, at the first malformed sub-packet, then stops.
#[derive(Clone, Debug)]
pub struct Compound<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Compound<'a> {
    pub fn new(buf: &'a [u8]) -> Compound<'a> {
        Compound {
            buf,
            pos: 0,
            failed: false,
        }
    }

    /// Offset of the next sub-packet.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<Packet<'a>, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || (self.pos >= self.buf.len() && self.pos > 0) {
            return None;
        }
        let offset = self.pos;
        match parse_one(&self.buf[offset..]) {
            Ok((pkt, len)) => {
                self.pos += len;
                Some(Ok(pkt))
            }
            Err(kind) => {
                self.failed = true;
                Some(Err(ParseError { kind, offset }))
            }
        }
    }
}

/// Parse the sub-packet at the start of `buf`; returns it and its length.
pub fn parse_one(buf: &[u8]) -> Result<(Packet<'_>, usize), ParseErrorKind> {
    use ParseErrorKind::*;
    if buf.len() < 4 {
        return Err(Truncated);
    }
    let b0 = buf[0];
    if b0 >> 6 != 2 {
        return Err(BadVersion);
    }
    let count = b0 & 0x1f;
    let pt = buf[1];
    let len = (u16::from_be_bytes([buf[2], buf[3]]) as usize + 1) * 4;
    let pkt = buf.get(..len).ok_or(LengthPastBuffer)?;
    let mut body = &pkt[4..];
    if b0 & 0x20 != 0 {
        if len != buf.len() {
            return Err(PaddingNotLast);
        }
        let pad = pkt[len - 1] as usize;
        if pad == 0 || pad > body.len() {
            return Err(BadPadding);
        }
        body = &body[..body.len() - pad];
    }
    let p = decode(pt, count as usize, body)?;
    Ok((p, len))
}

fn decode(pt: u8, count: usize, body: &[u8]) -> Result<Packet<'_>, ParseErrorKind> {
    use ParseErrorKind::*;
    let need = |n: usize| {
        if body.len() < n {
            Err(TooShort)
        } else {
            Ok(())
        }
    };
    Ok(match pt {
        PT_SR => {
            need(24)?;
            let blocks = blocks(&body[24..], count)?;
            Packet::Sr {
                ssrc: be32(body, 0),
                info: SenderInfo {
                    ntp: (be32(body, 4) as u64) << 32 | be32(body, 8) as u64,
                    rtp_ts: be32(body, 12),
                    packets: be32(body, 16),
                    octets: be32(body, 20),
                },
                blocks: Blocks(blocks.0),
                ext: blocks.1,
            }
        }
        PT_RR => {
            need(4)?;
            let blocks = blocks(&body[4..], count)?;
            Packet::Rr {
                ssrc: be32(body, 0),
                blocks: Blocks(blocks.0),
                ext: blocks.1,
            }
        }
        PT_SDES => {
            validate_sdes(body, count)?;
            Packet::Sdes(Sdes { count, body })
        }
        PT_BYE => {
            let n = count * 4;
            if body.len() < n {
                return Err(CountMismatch);
            }
            let rest = &body[n..];
            let reason = match rest.first() {
                None => None,
                Some(&r) => Some(rest.get(1..1 + r as usize).ok_or(BadBody)?),
            };
            Packet::Bye {
                ssrcs: Words(&body[..n]),
                reason,
            }
        }
        PT_APP => {
            need(8)?;
            Packet::App {
                subtype: count as u8,
                ssrc: be32(body, 0),
                name: [body[4], body[5], body[6], body[7]],
                data: &body[8..],
            }
        }
        PT_RTPFB | PT_PSFB => {
            need(8)?;
            let sender = be32(body, 0);
            let media = be32(body, 4);
            let fci = &body[8..];
            match (pt, count as u8) {
                (PT_RTPFB, FMT_NACK) => {
                    if fci.is_empty() || fci.len() % 4 != 0 {
                        return Err(BadBody);
                    }
                    Packet::Nack { sender, media, fci }
                }
                (PT_PSFB, FMT_PLI) => Packet::Pli { sender, media },
                (PT_PSFB, FMT_FIR) => {
                    if fci.is_empty() || fci.len() % 8 != 0 {
                        return Err(BadBody);
                    }
                    Packet::Fir { sender, media, fci }
                }
                _ => Packet::Other {
                    pt,
                    count: count as u8,
                    body,
                },
            }
        }
        _ => Packet::Other {
            pt,
            count: count as u8,
            body,
        },
    })
}

/// Split `b` into `count` report blocks and the rest.
fn blocks(b: &[u8], count: usize) -> Result<(&[u8], &[u8]), ParseErrorKind> {
    let n = count * REPORT_BLOCK_LEN;
    if b.len() < n {
        return Err(ParseErrorKind::CountMismatch);
    }
    Ok(b.split_at(n))
}

/// Check that `body` holds exactly `count` well-formed SDES chunks.
fn validate_sdes(body: &[u8], count: usize) -> Result<(), ParseErrorKind> {
    use ParseErrorKind::*;
    let mut pos = 0;
    for _ in 0..count {
        if body.len() < pos + 4 {
            return Err(CountMismatch);
        }
        pos += 4;
        loop {
            let kind = *body.get(pos).ok_or(BadSdes)?;
            if kind == sdes::END {
                pos = (pos + 4) & !3;
                if pos > body.len() {
                    return Err(BadSdes);
                }
                break;
            }
            let n = *body.get(pos + 1).ok_or(BadSdes)? as usize;
            if pos + 2 + n > body.len() {
                return Err(BadSdes);
            }
            pos += 2 + n;
        }
    }
    if pos != body.len() {
        return Err(CountMismatch);
    }
    Ok(())
}

/// RFC 5761 section 4: on a port that carries both, a datagram is RTCP when
/// its second octet (the RTP marker bit and payload type) is 192..=223.
/// Also requires version 2 and at least a 4-byte header.
#[inline]
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

/// What a compound packet lacks for RFC 3550 section 6.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompoundError {
    Parse(ParseError),
    /// The first packet is neither SR nor RR.
    FirstNotReport,
    /// No SDES packet carries a CNAME item.
    NoCname,
}

/// Check the compound rules of RFC 3550 6.1: every sub-packet valid,
/// the first one an SR or RR, a CNAME present (padding on the last only is
/// checked by the parser). Returns the number of sub-packets.
pub fn check_compound(buf: &[u8]) -> Result<usize, CompoundError> {
    let mut n = 0;
    let mut cname = false;
    for p in Compound::new(buf) {
        let p = p.map_err(CompoundError::Parse)?;
        if n == 0 && !matches!(p, Packet::Sr { .. } | Packet::Rr { .. }) {
            return Err(CompoundError::FirstNotReport);
        }
        if let Packet::Sdes(s) = p {
            cname |= s.cname().is_some();
        }
        n += 1;
    }
    if !cname {
        return Err(CompoundError::NoCname);
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
