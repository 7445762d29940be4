//! RFC 4571 framing for RTP over TCP: every packet is preceded by its
//! length as a 16-bit big-endian integer. `Deframer` reassembles packets
//! from whatever pieces the stream delivers, in one fixed buffer (no
//! allocation per packet); `frame_header` is the writer's half.

use std::ops::Range;

/// Largest frame: the 2-byte length and 65535 bytes of packet.
pub const MAX_FRAME: usize = 2 + 65535;

/// Reassembles length-prefixed packets from a byte stream.
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Deframer {
    /// None when the buffer cannot be allocated.
    pub fn new() -> Option<Deframer> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(MAX_FRAME).ok()?;
        buf.resize(MAX_FRAME, 0);
        Some(Deframer {
            buf,
            start: 0,
            end: 0,
        })
    }

    /// Room to read the next bytes of the stream into (never empty: a
    /// complete frame always fits once the consumed bytes are dropped).
    pub fn space(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into `space()`.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The next complete packet, as a range for `packet`.
    pub fn next_frame(&mut self) -> Option<Range<usize>> {
        let avail = self.end - self.start;
        if avail < 2 {
            return None;
        }
        let len = u16::from_be_bytes([self.buf[self.start], self.buf[self.start + 1]]) as usize;
        if avail < 2 + len {
            return None;
        }
        let r = self.start + 2..self.start + 2 + len;
        self.start += 2 + len;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Some(r)
    }

    pub fn packet(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// Bytes of an incomplete frame held (0 at a frame boundary).
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Forget everything (a new connection).
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
    }
}

/// The 2-byte length prefix of a packet of `len` bytes (at most 65535).
pub fn frame_header(len: usize) -> [u8; 2] {
    (len.min(65535) as u16).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(pkts: &[Vec<u8>]) -> Vec<u8> {
        let mut s = Vec::new();
        for p in pkts {
            s.extend_from_slice(&frame_header(p.len()));
            s.extend_from_slice(p);
        }
        s
    }

    fn feed(d: &mut Deframer, mut bytes: &[u8], chunk: usize, out: &mut Vec<Vec<u8>>) {
        while !bytes.is_empty() {
            let sp = d.space();
            let n = chunk.min(sp.len()).min(bytes.len());
            sp[..n].copy_from_slice(&bytes[..n]);
            d.filled(n);
            bytes = &bytes[n..];
            while let Some(r) = d.next_frame() {
                out.push(d.packet(r).to_vec());
            }
        }
    }

    #[test]
    fn reassembles_across_any_split() {
        let pkts: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            vec![2; 172],
            vec![3; 65535],
            vec![4; 1400],
            vec![],
            vec![5; 65535],
        ];
        let stream = frames(&pkts);
        for chunk in [1, 2, 3, 7, 172, 1500, 65536, 1 << 20] {
            let mut d = Deframer::new().unwrap();
            let mut out = Vec::new();
            feed(&mut d, &stream, chunk, &mut out);
            assert_eq!(out, pkts, "chunk {chunk}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn partial_frame_waits() {
        let mut d = Deframer::new().unwrap();
        let mut out = Vec::new();
        feed(&mut d, &[0, 5, 1, 2], 100, &mut out);
        assert!(out.is_empty());
        assert_eq!(d.pending(), 4);
        feed(&mut d, &[3, 4, 5, 0], 100, &mut out);
        assert_eq!(out, vec![vec![1, 2, 3, 4, 5]]);
        assert_eq!(d.pending(), 1);
        d.reset();
        assert_eq!(d.pending(), 0);
    }
}
