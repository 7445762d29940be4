//! RTP packet generator: librtpsynth's `rsynth_*` semantics, quirks included
//! (timestamp step of 8 * ptime whatever the sample rate, SSRC written in host
//! byte order, marker only on the first packet, 64-bit counters that the wire
//! format truncates).

use crate::clock::{self, Stamp};
use crate::rtp::RTP_HDR_LEN;

/// The generator's logical position, as returned by `resync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqState {
    pub ts: u64,
    pub seq: u64,
}

pub struct Synth {
    srate: i32,
    ts_inc: i32,
    l: SeqState,
    marker: bool,
    ssrc: u32,
    last_pkt: Stamp,
}

impl Synth {
    /// Draws three values from `rand`, in the original's order: SSRC, initial
    /// timestamp (made even), initial sequence number.
    pub fn new(srate: i32, ptime: i32, mut rand: impl FnMut() -> u32) -> Synth {
        clock::init();
        let ssrc = rand();
        let ts = (rand() & 0xffff_fffe) as u64;
        let seq = (rand() & 0xffff) as u64;
        Synth {
            srate,
            ts_inc: 80i32.wrapping_mul(ptime) / 10,
            l: SeqState { ts, seq },
            marker: true,
            ssrc,
            last_pkt: Stamp::now(),
        }
    }

    /// Header length of the packets produced (no CSRCs).
    pub fn header_len(&self) -> usize {
        RTP_HDR_LEN
    }

    /// Write the next packet with `plen` payload bytes into `buf` and return
    /// its length, or `None` if `buf` is too small (nothing changes then).
    /// With `filled`, `buf` holds the payload at offset 0 and it is moved
    /// behind the header; without, the payload is zeroed. Everything after
    /// the packet up to `buf.len()` is zeroed.
    #[inline]
    pub fn next_into(
        &mut self,
        plen: usize,
        pt: i32,
        buf: &mut [u8],
        filled: bool,
    ) -> Option<usize> {
        self.place(plen, buf, filled, |s| s.next_header(pt))
    }

    /// Like `next_into`, but the packet carries the caller's timestamp and
    /// marker bit (see `next_header_at`).
    #[inline]
    pub fn next_into_at(
        &mut self,
        plen: usize,
        pt: i32,
        ts: u32,
        marker: bool,
        buf: &mut [u8],
        filled: bool,
    ) -> Option<usize> {
        self.place(plen, buf, filled, |s| s.next_header_at(pt, ts, marker))
    }

    #[inline]
    fn place(
        &mut self,
        plen: usize,
        buf: &mut [u8],
        filled: bool,
        header: impl FnOnce(&mut Self) -> [u8; RTP_HDR_LEN],
    ) -> Option<usize> {
        let hl = RTP_HDR_LEN;
        let rs = hl.checked_add(plen)?;
        if rs > buf.len() {
            return None;
        }
        if filled {
            buf.copy_within(0..plen, hl);
            buf[rs..].fill(0);
        } else {
            buf[hl..].fill(0);
        }
        buf[..hl].copy_from_slice(&header(self));
        Some(rs)
    }

    /// Produce the next packet's header and advance: marker cleared,
    /// sequence number up by one, timestamp up by one packet time.
    #[inline]
    pub fn next_header(&mut self, pt: i32) -> [u8; RTP_HDR_LEN] {
        let mut h = [0u8; RTP_HDR_LEN];
        self.write_header(pt, self.l.ts as u32, self.marker, &mut h);
        self.marker = false;
        self.l.seq = self.l.seq.wrapping_add(1);
        self.l.ts = self.l.ts.wrapping_add(self.ts_inc as i64 as u64);
        self.last_pkt = Stamp::now();
        h
    }

    /// Produce a header in this generator's SSRC and sequence space with the
    /// caller's timestamp and marker bit (an RFC 4733 event packet inside an
    /// audio stream). Only the sequence number advances: the timestamp
    /// counter, the pending marker of `set_marker` and the time of the last
    /// packet that `resync` measures from stay as they are.
    #[inline]
    pub fn next_header_at(&mut self, pt: i32, ts: u32, marker: bool) -> [u8; RTP_HDR_LEN] {
        let mut h = [0u8; RTP_HDR_LEN];
        self.write_header(pt, ts, marker, &mut h);
        self.l.seq = self.l.seq.wrapping_add(1);
        h
    }

    #[inline]
    fn write_header(&self, pt: i32, ts: u32, marker: bool, h: &mut [u8]) {
        h[0] = 0x80;
        h[1] = ((marker as u8) << 7) | (pt as u8 & 0x7f);
        h[2..4].copy_from_slice(&(self.l.seq as u16).to_be_bytes());
        h[4..8].copy_from_slice(&ts.to_be_bytes());
        h[8..12].copy_from_slice(&self.ssrc.to_ne_bytes());
    }

    /// The SSRC, as a number (packets carry it in host byte order).
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn next_seq(&self) -> u16 {
        self.l.seq as u16
    }

    /// The timestamp the next `next_header` packet will carry (the current
    /// media time of the stream).
    pub fn next_ts(&self) -> u32 {
        self.l.ts as u32
    }

    /// Advance the timestamp as if `npkts` packets had been sent.
    pub fn skip(&mut self, npkts: i32) {
        let step = self.ts_inc.wrapping_mul(npkts) as i64 as u64;
        self.l.ts = self.l.ts.wrapping_add(step);
    }

    /// Set the marker bit for the next packet (only bit 0 of `new` counts);
    /// returns the previous value.
    pub fn set_marker(&mut self, new: u32) -> u32 {
        let old = self.marker as u32;
        self.marker = new & 1 != 0;
        old
    }

    /// Return the current position, then advance the timestamp by the time
    /// elapsed since the last packet (or construction) at the sample rate.
    pub fn resync(&mut self) -> SeqState {
        let before = self.l;
        let elapsed = self.last_pkt.elapsed_ns();
        let adv = elapsed.wrapping_mul(self.srate as i64 as u64) / 1_000_000_000;
        self.l.ts = self.l.ts.wrapping_add(adv);
        before
    }

    pub fn state(&self) -> SeqState {
        self.l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq_rand() -> impl FnMut() -> u32 {
        let vals = [0x11223344u32, 0xaabbccdd, 0x12345];
        let mut i = 0;
        move || {
            let v = vals[i % 3];
            i += 1;
            v
        }
    }

    #[test]
    fn first_packet_layout() {
        let mut s = Synth::new(8000, 20, seq_rand());
        let mut b = [0xffu8; 40];
        assert_eq!(s.next_into(20, 0, &mut b, false), Some(32));
        assert_eq!(&b[..4], &[0x80, 0x80, 0x23, 0x45]);
        assert_eq!(&b[4..8], &0xaabbccdcu32.to_be_bytes());
        assert_eq!(&b[8..12], &0x11223344u32.to_ne_bytes());
        assert!(b[12..].iter().all(|&x| x == 0));
        assert_eq!(s.next_into(20, 8, &mut b, false), Some(32));
        assert_eq!(b[1], 8);
        assert_eq!(&b[2..4], &[0x23, 0x46]);
        assert_eq!(&b[4..8], &(0xaabbccdcu32 + 160).to_be_bytes());
    }

    #[test]
    fn filled_moves_payload_and_small_buffer_fails() {
        let mut s = Synth::new(8000, 30, seq_rand());
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(s.next_into(4, 0, &mut b, true), Some(16));
        assert_eq!(&b[12..16], &[1, 2, 3, 4]);
        assert_eq!(&b[16..], &[0; 4]);
        let before = s.state();
        assert_eq!(s.next_into(9, 0, &mut b, true), None);
        assert_eq!(s.state(), before);
        assert_eq!(s.state().ts, 0xaabbccdc + 240);
    }

    #[test]
    fn skip_marker_and_resync() {
        let mut s = Synth::new(16000, 20, seq_rand());
        s.skip(3);
        assert_eq!(s.state().ts, 0xaabbccdc + 480);
        assert_eq!(s.set_marker(0), 1);
        assert_eq!(s.set_marker(3), 0);
        let st = s.state();
        let t0 = clock::monotonic_ns(); // construction (the last stamp) was before this
        std::thread::sleep(std::time::Duration::from_millis(10));
        let before = s.resync();
        let t1 = clock::monotonic_ns();
        assert_eq!(before, st);
        let adv = s.state().ts - st.ts;
        // at least the 10 ms slept; at most what was measured around it
        // (plus the time from construction to t0, well under 1 ms)
        let max = (t1 - t0) * 16 / 1_000_000 + 16;
        assert!(adv >= 160 && adv <= max, "advanced {adv}, max {max}");
    }

    #[test]
    fn packet_at_advances_sequence_only() {
        let mut s = Synth::new(8000, 20, seq_rand());
        assert_eq!(s.ssrc(), 0x11223344);
        assert_eq!(s.next_seq(), 0x2345);
        assert_eq!(s.next_ts(), 0xaabbccdc);
        let mut b = [0xffu8; 20];
        b[..4].copy_from_slice(&[9, 8, 7, 6]);
        assert_eq!(
            s.next_into_at(4, 101, 0x01020304, true, &mut b, true),
            Some(16)
        );
        assert_eq!(&b[..4], &[0x80, 0x80 | 101, 0x23, 0x45]);
        assert_eq!(&b[4..8], &[1, 2, 3, 4]);
        assert_eq!(&b[8..12], &0x11223344u32.to_ne_bytes());
        assert_eq!(&b[12..], &[9, 8, 7, 6, 0, 0, 0, 0]);
        assert_eq!(s.next_seq(), 0x2346);
        assert_eq!(s.next_ts(), 0xaabbccdc);
        // the pending first-packet marker is neither used nor cleared
        let h = s.next_header_at(101, 5, false);
        assert_eq!(h[1], 101);
        assert_eq!(&h[4..8], &5u32.to_be_bytes());
        let h = s.next_header(0);
        assert_eq!(&h[..4], &[0x80, 0x80, 0x23, 0x47]);
        assert_eq!(&h[4..8], &0xaabbccdcu32.to_be_bytes());
        assert_eq!(s.next_ts(), 0xaabbccdc + 160);
        // too small: nothing moves
        let before = s.state();
        assert_eq!(s.next_into_at(9, 0, 0, false, &mut b, false), None);
        assert_eq!(s.state(), before);
    }

    #[test]
    fn audio_unchanged_by_interleaved_packets_at() {
        // b sends an extra packet_at after every audio packet: b's audio
        // headers equal a's except that they take every other seq number
        let mut a = Synth::new(48000, 30, seq_rand());
        let mut b = Synth::new(48000, 30, seq_rand());
        for i in 0..10u16 {
            let ha = a.next_header(8);
            let hb = b.next_header(8);
            assert_eq!(
                u16::from_be_bytes([hb[2], hb[3]]),
                0x2345u16.wrapping_add(2 * i)
            );
            assert_eq!(
                u16::from_be_bytes([ha[2], ha[3]]),
                0x2345u16.wrapping_add(i)
            );
            assert_eq!((&ha[..2], &ha[4..]), (&hb[..2], &hb[4..]));
            b.next_header_at(101, 7, false);
            assert_eq!(a.state().ts, b.state().ts);
        }
    }
}
