//! Fixed-capacity RTP jitter buffer with librtpsynth's exact semantics.
//!
//! Received packets get a 64-bit logical sequence number (`lseq`) that keeps
//! counting across 16-bit wraps; they are released in `lseq` order, and a gap
//! is released as one erasure covering the missing range. Held packets live
//! in `jbuf::pending::Pending`: a direct-mapped window indexed by lseq (a
//! reordered packet is filed with one store, a duplicate found with one bit
//! test), or a sorted ring while a sequence jump spreads them wider than the
//! window; the in-order case never touches either. Every decision, counter and
//! output order is the original's; where the original would `abort()` on a
//! broken internal invariant (reachable only with hostile sequence numbers),
//! this code carries on with the general rule and never panics.
//!
//! The buffer is generic over the item carried with each packet, so the C
//! layer can move its own heap frames through it and the core stays safe.
//! `udp_in` is the original's whole per-datagram step (purge, parse,
//! insert); the C shim and every test go through it.

mod pending;
mod ring;
mod window;

use pending::{Pending, Placed};

use crate::rtp::{self, ParseError, Parsed};

/// Why `udp_in` did not take a datagram in. What it released before
/// failing (a purged stale tail) has still gone to the sink, as in the
/// original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    /// No item could be made for the datagram (`new_item` returned None:
    /// the C layer's allocation failed).
    NoMemory,
    /// The datagram is not a valid RTP packet.
    Parse(ParseError),
}

/// "Nothing yet" marker for `last_lseq` and `last_max_lseq`.
const UNSET: u64 = u64::MAX;

/// A packet inside or leaving the buffer.
#[derive(Debug)]
pub struct Frame<T> {
    pub lseq: u64,
    /// Calls that saw this frame as the stale tail of a nearly full buffer.
    /// (Never above the capacity, which is a u32: kept small so that frames
    /// move cheaply inside the ring.)
    pub jbcnt: u32,
    pub ts: u32,
    pub item: T,
}

impl<T> Frame<T> {
    /// A packet just taken in: not yet passed over by any call.
    #[inline(always)]
    fn fresh(lseq: u64, ts: u32, item: T) -> Self {
        Frame {
            lseq,
            jbcnt: 0,
            ts,
            item,
        }
    }
}

#[cfg(test)]
impl Frame<()> {
    /// A bare frame for the container tests.
    pub(crate) fn bare(lseq: u64) -> Self {
        Frame::fresh(lseq, 0, ())
    }
}

/// A run of lost packets reported in front of the next delivered packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub lseq_start: u64,
    pub lseq_end: u64,
    /// Timestamp span of the missing packets (the gap to the next packet
    /// scaled by n / (n + 1)).
    pub ts_diff: u32,
}

/// Receives what one call releases, in the order the original builds its
/// `ready` and `drop` lists.
pub trait Sink<T> {
    /// The ready list starts with this erasure.
    fn erasure(&mut self, e: Erasure);
    /// Append to the ready list.
    fn ready(&mut self, f: Frame<T>);
    /// Start a new run of dropped frames, placed in front of earlier runs.
    fn drop_run(&mut self);
    /// Append to the current drop run.
    fn dropped(&mut self, f: Frame<T>);
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub dup: u64,
    pub late: u64,
    pub seq_wraps: u64,
}

pub struct JitterBuffer<T> {
    last_lseq: u64,
    last_ts: u32,
    last_max_lseq: u64,
    /// A packet was filed unchecked into an emptied buffer after a
    /// delivery: it may be behind `last_lseq` (see `refile_head`).
    unchecked_head: bool,
    lseq_mask: u64,
    capacity: u32,
    pending: Pending<T>,
    stats: Stats,
}

impl<T> JitterBuffer<T> {
    pub fn new(capacity: u32) -> Self {
        JitterBuffer {
            last_lseq: UNSET,
            last_ts: 0,
            last_max_lseq: UNSET,
            unchecked_head: false,
            lseq_mask: 0,
            capacity,
            pending: Pending::new(capacity),
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Number of packets held back.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Age the newest held packet when the buffer is (nearly) full and give
    /// it up once it has been passed over `capacity` times: it is too far
    /// ahead to ever be released in order. The original runs this at the
    /// start of every `udp_in`, before the datagram is even parsed.
    fn purge_stale_tail(&mut self) -> Option<Frame<T>> {
        if self.pending.is_empty() || (self.pending.len() as u32) < self.capacity.wrapping_sub(1) {
            return None;
        }
        let tail = self.pending.back_mut()?;
        tail.jbcnt = tail.jbcnt.saturating_add(1);
        if tail.jbcnt < self.capacity {
            return None;
        }
        let f = self.pending.pop_back()?;
        if self.last_max_lseq == f.lseq {
            self.last_max_lseq = self.pending.back().map_or(UNSET, |p| p.lseq);
        }
        Some(f)
    }

    /// Take in one datagram, in the original's order: age the stale tail
    /// (a purged frame goes to the sink as its own drop run), get an item
    /// for the datagram from `new_item`, parse it, let `fill` record the
    /// parse in the item, then file the packet (`insert`). The item is
    /// made before the parse (as the original mallocs its frame first) so
    /// that the C layer can parse straight into its frame.
    #[inline]
    pub fn udp_in<S: Sink<T>>(
        &mut self,
        datagram: &[u8],
        new_item: impl FnOnce() -> Option<T>,
        fill: impl FnOnce(&mut T, &Parsed),
        sink: &mut S,
    ) -> Result<(), InputError> {
        if let Some(stale) = self.purge_stale_tail() {
            sink.drop_run();
            sink.dropped(stale);
        }
        let mut item = new_item().ok_or(InputError::NoMemory)?;
        let p = rtp::parse(datagram).map_err(InputError::Parse)?;
        fill(&mut item, &p);
        self.insert(p.seq, p.ts, item, sink);
        Ok(())
    }

    /// Take in one parsed packet (the last step of `udp_in`).
    fn insert<S: Sink<T>>(&mut self, seq: u16, ts: u32, item: T, sink: &mut S) {
        let lseq = self.lseq_mask | seq as u64;
        // Fast path: the next packet of an in-order stream, into an empty
        // buffer, in the same window of 65536. It is exactly what the
        // general path below would do with it: no pre-wrap straggler (its
        // seq is at most 536 when last_max_lseq % 65536 is below 536), no
        // wrap (it is ahead of last_max_lseq = last_lseq), not late, so it
        // goes straight to first_pending, which delivers it. Emptiness is
        // asked first: on a shuffled stream the general path asks it too,
        // and when it holds, the rest is mostly true, so the branches stay
        // predictable.
        if self.pending.is_empty()
            && lseq == self.last_lseq.wrapping_add(1)
            && self.last_lseq != UNSET
            && self.last_max_lseq == self.last_lseq
            && !self.unchecked_head
        {
            return self.first_pending(Frame::fresh(lseq, ts, item), false, sink);
        }
        let warm_up = self.last_lseq == UNSET;
        if self.unchecked_head {
            self.refile_head(sink);
        }
        // (after refile_head, which may have moved to the next window)
        let mut lseq = self.lseq_mask | seq as u64;
        if self.last_max_lseq == UNSET && self.pending.is_empty() {
            // Also after purge_stale_tail emptied the buffer following a
            // delivery: then the original files the packet unchecked, even
            // behind last_lseq (see refile_head).
            self.unchecked_head = !warm_up;
            return self.first_pending(Frame::fresh(lseq, ts, item), warm_up, sink);
        }
        if self.last_max_lseq != UNSET {
            if self.last_max_lseq % 65536 < 536 && seq > 65000 {
                // a pre-wrap straggler arriving after the wrap
                lseq = lseq.wrapping_sub(0x10000);
                if self.lseq_mask == 0 {
                    // No wrap seen yet: it precedes the first packet and its
                    // lseq went "negative" (2^64 - n). The original files it
                    // as the newest packet, after which it abort()s, or
                    // delivers it and then drops every later packet as late,
                    // or restarts from the UNSET sentinel and delivers
                    // packets twice. It is late: drop it as such (found by
                    // fuzz_jbuf; the one deliberate deviation on input the
                    // original survives, documented in rtpjbuf.h).
                    return self.reject(Frame::fresh(lseq, ts, item), false, sink);
                }
            } else {
                lseq = self.wrap_out(lseq, self.last_max_lseq);
            }
            if !warm_up && lseq <= self.last_lseq {
                // the original compares the distance truncated to an int
                let dup = self.last_lseq.wrapping_sub(lseq) as u32 == 0;
                return self.reject(Frame::fresh(lseq, ts, item), dup, sink);
            }
            if self.pending.is_empty() {
                return self.first_pending(Frame::fresh(lseq, ts, item), warm_up, sink);
            }
        }
        // last_max_lseq is the newest held lseq whenever a packet is held
        // (first_pending sets it, purge_stale_tail moves it back), so the
        // newest after filing is a max: a cmov, where "is it the newest?"
        // is a branch a reordered stream mispredicts (see Window::file).
        debug_assert_eq!(
            Some(self.last_max_lseq),
            self.pending.back().map(|f| f.lseq)
        );
        let f = Frame::fresh(lseq, ts, item);
        if let Placed::Dup(f) = self.pending.file(f) {
            return self.reject(f, true, sink);
        }
        self.last_max_lseq = self.last_max_lseq.max(lseq);
        let head = self.pending.front_lseq().unwrap_or(0);
        let next_due = !warm_up && head == self.last_lseq.wrapping_add(1);
        if self.pending.len() as u32 == self.capacity || next_due {
            self.release_head_run(warm_up, sink);
        }
    }

    /// The original asserts here (before its wrap and late checks) that the
    /// held head is ahead of the last delivered packet. It is not when,
    /// after purge_stale_tail emptied the buffer following a delivery, a
    /// packet was filed unchecked behind last_lseq (see `insert`): the
    /// original abort()s. That packet is the only one held. Give it the
    /// wrap-out rule against last_lseq, or drop it as late. (Found by
    /// fuzz_jbuf; until here every output matches the original's, which
    /// survives when that packet is purged first, or has lseq 0.)
    #[cold]
    #[inline(never)]
    fn refile_head<S: Sink<T>>(&mut self, sink: &mut S) {
        self.unchecked_head = false;
        match self.pending.front_lseq() {
            Some(head) if head.wrapping_sub(1) <= self.last_lseq => {}
            _ => return,
        }
        let Some(mut f) = self.pending.pop_front() else {
            return;
        };
        let lseq = self.wrap_out(f.lseq, self.last_lseq);
        if lseq <= self.last_lseq {
            self.last_max_lseq = UNSET;
            let dup = lseq == self.last_lseq;
            f.lseq = lseq;
            return self.reject(f, dup, sink);
        }
        f.lseq = lseq;
        // The buffer is empty again: the held frame lands as a first one
        // (keeping its jbcnt).
        self.first_pending(f, false, sink);
    }

    /// The wrap-out rule: an lseq more than 65000 behind `reference` means
    /// the 16-bit sequence number wrapped; move to the next 65536 window.
    fn wrap_out(&mut self, lseq: u64, reference: u64) -> u64 {
        if reference > 65000 && lseq < reference - 65000 {
            self.lseq_mask = self.lseq_mask.wrapping_add(0x10000);
            self.stats.seq_wraps += 1;
            return lseq.wrapping_add(0x10000);
        }
        lseq
    }

    /// Drop a duplicate or late packet.
    fn reject<S: Sink<T>>(&mut self, f: Frame<T>, dup: bool, sink: &mut S) {
        if dup {
            self.stats.dup += 1;
        } else {
            self.stats.late += 1;
        }
        sink.drop_run();
        sink.dropped(f);
    }

    /// The packet lands in an empty buffer: deliver it at once if it is the
    /// next one expected (or lseq 0 on a fresh buffer), else hold it.
    #[inline(always)]
    fn first_pending<S: Sink<T>>(&mut self, f: Frame<T>, warm_up: bool, sink: &mut S) {
        let lseq = f.lseq;
        self.last_max_lseq = lseq;
        let deliver = if warm_up {
            lseq == 0
        } else {
            self.last_lseq == lseq.wrapping_sub(1)
        };
        if deliver {
            self.save_last(lseq, f.ts);
            sink.ready(f);
        } else {
            self.pending.file(f);
        }
    }

    fn release_head_run<S: Sink<T>>(&mut self, warm_up: bool, sink: &mut S) {
        if !warm_up
            && self
                .pending
                .front_lseq()
                .is_some_and(|l| l <= self.last_lseq)
        {
            // A head at or behind the last delivered packet (one filed
            // with lseq 0, see refile_head): the original
            // abort()s on it here.
            self.drop_behind_last(sink);
        }
        let Some(head) = self.pending.front() else {
            return;
        };
        if !warm_up {
            if let Some(e) = self.erasure_before(head.lseq, head.ts) {
                sink.erasure(e);
            }
        }
        let mut prev: Option<u64> = None;
        while let Some(lseq) = self.pending.front_lseq() {
            if prev.is_some_and(|p| p.wrapping_add(1) != lseq) {
                break;
            }
            let Some(f) = self.pending.pop_front() else {
                break;
            };
            prev = Some(f.lseq);
            self.save_last(f.lseq, f.ts);
            sink.ready(f);
        }
    }

    fn erasure_before(&self, lseq: u64, ts: u32) -> Option<Erasure> {
        if self.last_lseq.wrapping_add(1) == lseq {
            return None;
        }
        let lseq_start = self.last_lseq.wrapping_add(1);
        let lseq_end = lseq.wrapping_sub(1);
        let ts_gap = ts.wrapping_sub(self.last_ts);
        let missing = lseq_end.wrapping_sub(lseq_start).wrapping_add(1) as u32;
        // The original divides by zero (SIGFPE) when the 32-bit count wraps;
        // n / (n + 1) tends to 1 there, so the whole gap is reported.
        let ts_diff = match missing.checked_add(1) {
            Some(d) => ts_gap.wrapping_mul(missing) / d,
            None => ts_gap,
        };
        Some(Erasure {
            lseq_start,
            lseq_end,
            ts_diff,
        })
    }

    fn save_last(&mut self, lseq: u64, ts: u32) {
        self.last_lseq = lseq;
        self.last_ts = ts;
    }

    /// Release everything held, in order, as at the end of a stream: unlike
    /// `flush` (the original's semantics, which drops every run but the
    /// last), each run is delivered, behind an erasure for the gap before it
    /// (no erasure before the first packet ever delivered).
    pub fn drain<S: Sink<T>>(&mut self, sink: &mut S) {
        self.drop_behind_last(sink);
        while !self.pending.is_empty() {
            let warm_up = self.last_lseq == UNSET;
            self.release_head_run(warm_up, sink);
        }
    }

    /// Release everything held: each run of consecutive packets but the last
    /// is dropped (later runs in front), the last run is delivered behind an
    /// erasure that spans from the last delivered packet.
    pub fn flush<S: Sink<T>>(&mut self, sink: &mut S) {
        self.drop_behind_last(sink);
        let Some(last) = self.pending.back() else {
            return;
        };
        let (last_lseq, last_ts) = (last.lseq, last.ts);
        let Some(head) = self.pending.last_run_head() else {
            return;
        };
        let start = head.lseq;
        let ers = self.erasure_before(head.lseq, head.ts);
        self.save_last(last_lseq, last_ts);
        let mut prev: Option<u64> = None;
        while let Some(f) = self.pending.pop_front() {
            if f.lseq < start {
                if prev.map_or(true, |p| p.wrapping_add(1) != f.lseq) {
                    sink.drop_run();
                }
                prev = Some(f.lseq);
                sink.dropped(f);
                continue;
            }
            if f.lseq == start {
                if let Some(e) = ers {
                    sink.erasure(e);
                }
            }
            sink.ready(f);
        }
    }

    /// Drop held packets at or behind the last delivered one.
    #[cold]
    #[inline(never)]
    fn drop_behind_last<S: Sink<T>>(&mut self, sink: &mut S) {
        if self.last_lseq != UNSET {
            // Held packets at or behind the last delivered one (filed
            // unchecked after purge_stale_tail emptied the buffer, see
            // `refile_head`): the original abort()s here, or,
            // for lseq 0, delivers it behind an erasure that ends at
            // 2^64 - 1. They are late: drop them (found by fuzz_jbuf).
            let mut first = true;
            while self
                .pending
                .front_lseq()
                .is_some_and(|l| l <= self.last_lseq)
            {
                let Some(f) = self.pending.pop_front() else {
                    break;
                };
                if first {
                    sink.drop_run();
                    first = false;
                }
                self.stats.late += 1;
                sink.dropped(f);
            }
        }
    }
}

#[cfg(test)]
mod tests;
