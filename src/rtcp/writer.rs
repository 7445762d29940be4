//! RTCP packet building: sub-packets appended one after another into a
//! caller-provided buffer (a compound packet), with padding on the last.
//! Nothing allocates; a packet that does not fit is not written at all.

use super::packet::{
    sdes, SenderInfo, FMT_FIR, FMT_NACK, FMT_PLI, MAX_COUNT, PT_APP, PT_BYE, PT_PSFB, PT_RR,
    PT_RTPFB, PT_SDES, PT_SR,
};
use super::report_block::{ReportBlock, REPORT_BLOCK_LEN};

/// Why a packet was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The buffer has no room for it.
    NoRoom,
    /// More than 31 report blocks, chunks or SSRCs, or a packet longer than
    /// the 16-bit length field allows.
    TooMany,
    /// An item or reason longer than 255 bytes, APP data not a multiple of
    /// 4 bytes or a subtype above 31, an SDES item of type 0, an empty
    /// NACK list or FIR list, or a padding alignment that is not a multiple
    /// of 4 in 4..=252.
    Invalid,
    /// Padding was already added: nothing may follow it.
    Padded,
}

/// One SDES chunk: an SSRC and its items (type, text).
#[derive(Clone, Copy, Debug)]
pub struct SdesChunk<'a> {
    pub ssrc: u32,
    pub items: &'a [(u8, &'a [u8])],
}

/// Appends RTCP packets to a buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    padded: bool,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Writer<'a> {
        Writer {
            buf,
            len: 0,
            padded: false,
        }
    }

    /// Continue after `len` bytes of packets already in `buf` (to pad a
    /// compound built elsewhere); None when `len` is past the buffer or not
    /// a multiple of 4.
    pub fn resume(buf: &'a mut [u8], len: usize) -> Option<Writer<'a>> {
        if len > buf.len() || len % 4 != 0 {
            return None;
        }
        Some(Writer {
            buf,
            len,
            padded: false,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reserve `total` bytes (a multiple of 4) for a packet and write its
    /// header; returns the packet's bytes (zeroed after the header).
    fn begin(&mut self, count: usize, pt: u8, total: usize) -> Result<&mut [u8], BuildError> {
        if self.padded {
            return Err(BuildError::Padded);
        }
        if count > MAX_COUNT || total / 4 - 1 > u16::MAX as usize {
            return Err(BuildError::TooMany);
        }
        let start = self.len;
        let p = self
            .buf
            .get_mut(start..start + total)
            .ok_or(BuildError::NoRoom)?;
        p.fill(0);
        p[0] = 0x80 | count as u8;
        p[1] = pt;
        p[2..4].copy_from_slice(&((total / 4 - 1) as u16).to_be_bytes());
        self.len += total;
        Ok(p)
    }

    /// Sender report: our SSRC, the sender information, up to 31 blocks.
    pub fn sr(
        &mut self,
        ssrc: u32,
        info: &SenderInfo,
        blocks: &[ReportBlock],
    ) -> Result<(), BuildError> {
        let p = self.begin(blocks.len(), PT_SR, 28 + blocks.len() * REPORT_BLOCK_LEN)?;
        put32(p, 4, ssrc);
        put32(p, 8, (info.ntp >> 32) as u32);
        put32(p, 12, info.ntp as u32);
        put32(p, 16, info.rtp_ts);
        put32(p, 20, info.packets);
        put32(p, 24, info.octets);
        write_blocks(&mut p[28..], blocks);
        Ok(())
    }

    /// Receiver report: our SSRC and up to 31 blocks.
    pub fn rr(&mut self, ssrc: u32, blocks: &[ReportBlock]) -> Result<(), BuildError> {
        let p = self.begin(blocks.len(), PT_RR, 8 + blocks.len() * REPORT_BLOCK_LEN)?;
        put32(p, 4, ssrc);
        write_blocks(&mut p[8..], blocks);
        Ok(())
    }

    /// Source description: up to 31 chunks.
    pub fn sdes(&mut self, chunks: &[SdesChunk]) -> Result<(), BuildError> {
        let mut body = 0;
        for c in chunks {
            let mut n = 4;
            for (kind, text) in c.items {
                if *kind == sdes::END || text.len() > 255 {
                    return Err(BuildError::Invalid);
                }
                n += 2 + text.len();
            }
            // At least one terminating zero, up to the next word.
            body += (n + 4) & !3;
        }
        let p = self.begin(chunks.len(), PT_SDES, 4 + body)?;
        let mut at = 4;
        for c in chunks {
            let start = at;
            put32(p, at, c.ssrc);
            at += 4;
            for (kind, text) in c.items {
                p[at] = *kind;
                p[at + 1] = text.len() as u8;
                p[at + 2..at + 2 + text.len()].copy_from_slice(text);
                at += 2 + text.len();
            }
            at = start + ((at - start + 4) & !3);
        }
        Ok(())
    }

    /// Goodbye: up to 31 SSRCs and an optional reason (at most 255 bytes).
    pub fn bye(&mut self, ssrcs: &[u32], reason: Option<&[u8]>) -> Result<(), BuildError> {
        let rlen = match reason {
            Some(r) if r.len() > 255 => return Err(BuildError::Invalid),
            Some(r) => (1 + r.len() + 3) & !3,
            None => 0,
        };
        let p = self.begin(ssrcs.len(), PT_BYE, 4 + ssrcs.len() * 4 + rlen)?;
        for (i, s) in ssrcs.iter().enumerate() {
            put32(p, 4 + i * 4, *s);
        }
        if let Some(r) = reason {
            let at = 4 + ssrcs.len() * 4;
            p[at] = r.len() as u8;
            p[at + 1..at + 1 + r.len()].copy_from_slice(r);
        }
        Ok(())
    }

    /// Application-defined: subtype 0..=31, 4-character name, data a
    /// multiple of 4 bytes.
    pub fn app(
        &mut self,
        subtype: u8,
        ssrc: u32,
        name: [u8; 4],
        data: &[u8],
    ) -> Result<(), BuildError> {
        if subtype as usize > MAX_COUNT || data.len() % 4 != 0 {
            return Err(BuildError::Invalid);
        }
        let p = self.begin(subtype as usize, PT_APP, 12 + data.len())?;
        put32(p, 4, ssrc);
        p[8..12].copy_from_slice(&name);
        p[12..].copy_from_slice(data);
        Ok(())
    }

    /// Generic NACK for the sequence numbers in `lost` (RFC 4585 6.2.1):
    /// each entry covers a PID and the 16 numbers after it. Sorted input
    /// packs tightest (unsorted input is still correct, in more entries).
    pub fn nack(&mut self, sender: u32, media: u32, lost: &[u16]) -> Result<(), BuildError> {
        if lost.is_empty() {
            return Err(BuildError::Invalid);
        }
        let entries = nack_entries(lost, |_, _, _| {});
        let p = self.begin(FMT_NACK as usize, PT_RTPFB, 12 + entries * 4)?;
        put32(p, 4, sender);
        put32(p, 8, media);
        nack_entries(lost, |i, pid, blp| {
            put16(p, 12 + i * 4, pid);
            put16(p, 14 + i * 4, blp);
        });
        Ok(())
    }

    /// Picture Loss Indication (RFC 4585 6.3.1).
    pub fn pli(&mut self, sender: u32, media: u32) -> Result<(), BuildError> {
        let p = self.begin(FMT_PLI as usize, PT_PSFB, 12)?;
        put32(p, 4, sender);
        put32(p, 8, media);
        Ok(())
    }

    /// Full Intra Request (RFC 5104 4.3.1): one entry per (SSRC, command
    /// sequence number); the media SSRC field is 0 as the RFC requires.
    pub fn fir(&mut self, sender: u32, entries: &[(u32, u8)]) -> Result<(), BuildError> {
        if entries.is_empty() {
            return Err(BuildError::Invalid);
        }
        let p = self.begin(FMT_FIR as usize, PT_PSFB, 12 + entries.len() * 8)?;
        put32(p, 4, sender);
        for (i, (ssrc, seq)) in entries.iter().enumerate() {
            put32(p, 12 + i * 8, *ssrc);
            p[16 + i * 8] = *seq;
        }
        Ok(())
    }

    /// Pad the last packet so the compound length is a multiple of `align`
    /// (4..=252, a multiple of 4); nothing is added when it already is.
    /// Nothing can be appended afterwards.
    pub fn pad(&mut self, align: usize) -> Result<(), BuildError> {
        if self.padded {
            return Err(BuildError::Padded);
        }
        if !(4..=252).contains(&align) || align % 4 != 0 {
            return Err(BuildError::Invalid);
        }
        let n = (align - self.len % align) % align;
        if n == 0 {
            return Ok(());
        }
        let last = self.last_start().ok_or(BuildError::Invalid)?;
        let end = self.len + n;
        let p = self.buf.get_mut(last..end).ok_or(BuildError::NoRoom)?;
        let words = u16::from_be_bytes([p[2], p[3]]) as usize + 1 + n / 4;
        if words - 1 > u16::MAX as usize {
            return Err(BuildError::TooMany);
        }
        p[0] |= 0x20;
        p[2..4].copy_from_slice(&((words - 1) as u16).to_be_bytes());
        let plen = p.len();
        p[plen - n..].fill(0);
        p[plen - 1] = n as u8;
        self.len = end;
        self.padded = true;
        Ok(())
    }

    /// Start of the last packet (walks the headers); None unless the
    /// walk ends exactly at `len` on an unpadded last packet.
    fn last_start(&self) -> Option<usize> {
        let mut at = 0;
        let mut last = None;
        while at + 4 <= self.len {
            last = Some(at);
            at += (u16::from_be_bytes([self.buf[at + 2], self.buf[at + 3]]) as usize + 1) * 4;
        }
        let last = last?;
        (at == self.len && self.buf[last] & 0x20 == 0).then_some(last)
    }
}

/// Pack `lost` into (PID, BLP) entries, calling `put(index, pid, blp)` for
/// each; returns the number of entries. Greedy in input order: a number
/// within 16 after the current entry's PID joins it, any other starts a
/// new entry.
fn nack_entries(lost: &[u16], mut put: impl FnMut(usize, u16, u16)) -> usize {
    let mut n = 0;
    let mut cur: Option<(u16, u16)> = None;
    for &s in lost {
        if let Some((pid, blp)) = cur {
            let d = s.wrapping_sub(pid);
            if d == 0 {
                continue;
            }
            if d <= 16 {
                cur = Some((pid, blp | 1 << (d - 1)));
                continue;
            }
            put(n, pid, blp);
            n += 1;
        }
        cur = Some((s, 0));
    }
    if let Some((pid, blp)) = cur {
        put(n, pid, blp);
        n += 1;
    }
    n
}

fn write_blocks(out: &mut [u8], blocks: &[ReportBlock]) {
    for (b, chunk) in blocks.iter().zip(out.chunks_exact_mut(REPORT_BLOCK_LEN)) {
        if let Ok(c) = chunk.try_into() {
            b.write(c);
        }
    }
}

fn put32(p: &mut [u8], at: usize, v: u32) {
    p[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put16(p: &mut [u8], at: usize, v: u16) {
    p[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
