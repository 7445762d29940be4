//! The scheduler's timer queue: a bucketed timer wheel that pops entries in
//! exactly the order of a binary heap keyed by `(key, seq)`, at O(1) per
//! entry for deadlines within its horizon.
//!
//! Entries live in three places, split by their tick (`key >> TICK_SHIFT`)
//! against `cur_tick`:
//! - `ready`: ticks before `cur_tick`, in a small binary heap (one or two
//!   ticks' worth of entries: cache-hot, unlike a heap of every channel);
//! - the wheel: ticks in `cur_tick .. cur_tick + SLOTS`, one unordered
//!   list per tick (a slot holds one tick only, so no wrap-around mixing);
//! - `far`: later ticks, in a binary heap (deadlines more than ~268 ms
//!   ahead; moved into the wheel as it turns).
//!
//! Every ready entry precedes every wheel entry, which precedes every far
//! entry, so the minimum of `ready` is the global minimum. When `ready` is
//! empty the next occupied tick (found through an occupancy bitmap) is
//! drained into it: a bucket is put in `(key, seq)` order only when it
//! becomes due. Entries scheduled before `cur_tick` (late ones, catch-up)
//! go straight into `ready`.
//!
//! Nodes live in one arena with an in-place free list, and the two heaps
//! never hold more than the arena's capacity, so after `reserve` a push
//! never allocates (the worker must not fail to schedule). Deletion is the
//! caller's business (lazy: stale entries are dropped by `retain` or when
//! they reach the top).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, TryReserveError};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) struct Entry {
    pub key: u64,
    pub seq: u64,
    pub slot: u32,
}

/// 2^15 ns = 32.8 us per tick: about the worker's minimum wake-up spacing,
/// so a wake-up drains one or two buckets.
const TICK_SHIFT: u32 = 15;
/// 8192 ticks: a horizon of ~268 ms, beyond any RTP packet time.
const SLOTS: usize = 8192;
const WORDS: usize = SLOTS / 64;
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Node {
    e: Entry,
    next: u32,
}

pub(super) struct Wheel {
    nodes: Vec<Node>,
    free_node: u32,
    heads: Vec<u32>,
    occupied: [u64; WORDS],
    in_wheel: usize,
    cur_tick: u64,
    ready: BinaryHeap<Reverse<Entry>>,
    far: BinaryHeap<Reverse<Entry>>,
}

fn tick_of(key: u64) -> u64 {
    key >> TICK_SHIFT
}

fn index_of(tick: u64) -> usize {
    (tick % SLOTS as u64) as usize
}

impl Wheel {
    pub(super) fn new() -> Wheel {
        Wheel {
            nodes: Vec::new(),
            free_node: NIL,
            heads: vec![NIL; SLOTS],
            occupied: [0; WORDS],
            in_wheel: 0,
            cur_tick: 0,
            ready: BinaryHeap::new(),
            far: BinaryHeap::new(),
        }
    }

    /// Entries held, stale ones included.
    pub(super) fn len(&self) -> usize {
        self.in_wheel + self.ready.len() + self.far.len()
    }

    /// How many entries fit without allocating.
    pub(super) fn capacity(&self) -> usize {
        self.nodes
            .capacity()
            .min(self.ready.capacity())
            .min(self.far.capacity())
    }

    /// Make room for `want` entries in all.
    pub(super) fn reserve(&mut self, want: usize) -> Result<(), TryReserveError> {
        self.nodes
            .try_reserve(want.saturating_sub(self.nodes.len()))?;
        self.ready
            .try_reserve(want.saturating_sub(self.ready.len()))?;
        self.far.try_reserve(want.saturating_sub(self.far.len()))
    }

    /// Add an entry. Never allocates while `len() < capacity()`.
    pub(super) fn push(&mut self, e: Entry) {
        let tick = tick_of(e.key);
        if self.len() == 0 {
            // Nothing to keep in order against: start the wheel here.
            self.cur_tick = tick;
        }
        if tick < self.cur_tick {
            self.ready.push(Reverse(e));
        } else if tick - self.cur_tick >= SLOTS as u64 {
            self.far.push(Reverse(e));
        } else {
            self.link(tick, e);
        }
    }

    fn link(&mut self, tick: u64, e: Entry) {
        let i = index_of(tick);
        let node = Node {
            e,
            next: self.heads[i],
        };
        let n = if self.free_node != NIL {
            let n = self.free_node;
            self.free_node = self.nodes[n as usize].next;
            self.nodes[n as usize] = node;
            n
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        };
        self.heads[i] = n;
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_wheel += 1;
    }

    /// The smallest entry, if any.
    pub(super) fn peek(&mut self) -> Option<Entry> {
        if self.ready.is_empty() {
            self.advance();
        }
        self.ready.peek().map(|r| r.0)
    }

    /// Remove the smallest entry (the one `peek` returned).
    pub(super) fn pop(&mut self) -> Option<Entry> {
        if self.ready.is_empty() {
            self.advance();
        }
        self.ready.pop().map(|r| r.0)
    }

    /// Move the next occupied tick (of the wheel, or of `far` if it comes
    /// first) into `ready`; `ready` is empty.
    fn advance(&mut self) {
        let wheel_next = self.next_occupied_tick();
        let far_next = self.far.peek().map(|r| tick_of(r.0.key));
        let tick = match (wheel_next, far_next) {
            (Some(w), Some(f)) => w.min(f),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return,
        };
        // Everything in the wheel is at `tick` or later: its bucket holds
        // only that tick; take it, then let `far` catch up with the turn.
        self.cur_tick = tick;
        let i = index_of(tick);
        let mut n = std::mem::replace(&mut self.heads[i], NIL);
        self.occupied[i / 64] &= !(1 << (i % 64));
        while n != NIL {
            let node = self.nodes[n as usize];
            self.ready.push(Reverse(node.e));
            self.nodes[n as usize].next = self.free_node;
            self.free_node = n;
            self.in_wheel -= 1;
            n = node.next;
        }
        self.cur_tick = tick + 1;
        while let Some(&Reverse(e)) = self.far.peek() {
            let t = tick_of(e.key);
            if t >= self.cur_tick && t - self.cur_tick >= SLOTS as u64 {
                break;
            }
            self.far.pop();
            if t < self.cur_tick {
                self.ready.push(Reverse(e));
            } else {
                self.link(t, e);
            }
        }
    }

    /// The earliest tick with a non-empty bucket.
    fn next_occupied_tick(&self) -> Option<u64> {
        if self.in_wheel == 0 {
            return None;
        }
        let start = index_of(self.cur_tick);
        // Scan the bitmap from `start`, wrapping once; the distance from
        // `start` is the distance in ticks from `cur_tick`.
        let (w0, b0) = (start / 64, start % 64);
        let first = self.occupied[w0] & (!0u64 << b0);
        if first != 0 {
            let i = w0 * 64 + first.trailing_zeros() as usize;
            return Some(self.cur_tick + (i - start) as u64);
        }
        for k in 1..=WORDS {
            let w = (w0 + k) % WORDS;
            let mut bits = self.occupied[w];
            if k == WORDS {
                bits &= (1u64 << b0).wrapping_sub(1);
            }
            if bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                let dist = (i + SLOTS - start) % SLOTS;
                return Some(self.cur_tick + dist as u64);
            }
        }
        None
    }

    /// Keep only the entries `keep` accepts.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.ready.retain(|r| keep(&r.0));
        self.far.retain(|r| keep(&r.0));
        for w in 0..WORDS {
            let mut bits = self.occupied[w];
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let mut n = self.heads[i];
                let mut kept = NIL;
                while n != NIL {
                    let node = self.nodes[n as usize];
                    if keep(&node.e) {
                        self.nodes[n as usize].next = kept;
                        kept = n;
                    } else {
                        self.nodes[n as usize].next = self.free_node;
                        self.free_node = n;
                        self.in_wheel -= 1;
                    }
                    n = node.next;
                }
                self.heads[i] = kept;
                if kept == NIL {
                    self.occupied[w] &= !(1 << (i % 64));
                }
            }
        }
    }

    /// Drop every entry (keeps the memory).
    pub(super) fn clear(&mut self) {
        self.retain(|_| false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: u64 = 1 << TICK_SHIFT;

    /// Pops everything and checks it against a sorted copy (the heap order).
    fn drain_sorted(w: &mut Wheel, mut want: Vec<Entry>) {
        want.sort();
        let mut got = Vec::new();
        while let Some(e) = w.pop() {
            got.push(e);
        }
        assert_eq!(got, want);
        assert_eq!(w.len(), 0);
    }

    fn rng(state: &mut u64) -> u64 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        x
    }

    #[test]
    fn pops_in_key_then_seq_order_across_ready_wheel_and_far() {
        let mut w = Wheel::new();
        w.reserve(1000).unwrap();
        let base = 5_000_000_000u64;
        let mut all = Vec::new();
        let mut s = 7u64;
        for seq in 0..900u64 {
            // some in one tick (ties broken by seq), some far beyond the
            // horizon, some before the start
            let key = match seq % 5 {
                0 => base + (rng(&mut s) % 3) * 10,
                1 => base + rng(&mut s) % (SLOTS as u64 * TICK * 3),
                2 => base - rng(&mut s) % (50 * TICK),
                3 => u64::MAX - rng(&mut s) % 1000,
                _ => base + rng(&mut s) % (200 * TICK),
            };
            let e = Entry {
                key,
                seq,
                slot: seq as u32,
            };
            w.push(e);
            all.push(e);
        }
        assert_eq!(w.len(), 900);
        drain_sorted(&mut w, all);
    }

    #[test]
    fn interleaved_pushes_while_popping_match_a_heap() {
        // Model: a reference BinaryHeap gets the same operations.
        let mut w = Wheel::new();
        w.reserve(4096).unwrap();
        let mut h: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
        let mut s = 99u64;
        let mut now = 1_000_000_000u64;
        let mut seq = 1u64;
        for round in 0..20_000u32 {
            let r = rng(&mut s);
            if r % 3 != 0 && h.len() < 4000 {
                let key = match r % 7 {
                    0 => now.saturating_sub(rng(&mut s) % (100 * TICK)), // late
                    1 => now + rng(&mut s) % (2 * SLOTS as u64 * TICK),  // far
                    2 => now,
                    _ => now + rng(&mut s) % (20_000_000), // 20 ms
                };
                let e = Entry {
                    key,
                    seq,
                    slot: round,
                };
                seq += 1;
                w.push(e);
                h.push(Reverse(e));
            } else {
                assert_eq!(w.peek(), h.peek().map(|r| r.0));
                let got = w.pop();
                assert_eq!(got, h.pop().map(|r| r.0));
                if let Some(e) = got {
                    now = now.max(e.key);
                }
            }
            assert_eq!(w.len(), h.len());
            assert!(w.len() <= w.capacity());
        }
        let rest: Vec<Entry> = h.into_iter().map(|r| r.0).collect();
        drain_sorted(&mut w, rest);
    }

    #[test]
    fn wraps_around_the_wheel_many_times() {
        let mut w = Wheel::new();
        w.reserve(64).unwrap();
        let period = 20_000_000u64;
        let mut key = 123_456_789u64;
        // one channel at 20 ms for 100 turns of the wheel's horizon
        let turns = 100 * (SLOTS as u64 * TICK) / period;
        for seq in 0..turns {
            w.push(Entry { key, seq, slot: 0 });
            let e = w.pop().unwrap();
            assert_eq!((e.key, e.seq), (key, seq));
            key += period;
        }
        assert_eq!(w.pop(), None);
    }

    #[test]
    fn retain_removes_inside_a_bucket_and_keeps_the_order() {
        let mut w = Wheel::new();
        w.reserve(256).unwrap();
        let base = 77 * TICK;
        let mut all = Vec::new();
        for seq in 0..200u64 {
            let e = Entry {
                key: base + (seq % 4) * TICK + (seq % 3),
                seq,
                slot: seq as u32,
            };
            w.push(e);
            all.push(e);
        }
        // take the first bucket into ready, then delete across all parts
        let first = w.pop().unwrap();
        all.retain(|e| *e != first);
        w.retain(|e| e.seq % 2 == 0);
        all.retain(|e| e.seq % 2 == 0);
        assert_eq!(w.len(), all.len());
        // the freed nodes are reused without growing the arena
        let cap = w.capacity();
        for seq in 1000..1050u64 {
            let e = Entry {
                key: base + 2 * TICK,
                seq,
                slot: 0,
            };
            w.push(e);
            all.push(e);
        }
        assert_eq!(w.capacity(), cap);
        drain_sorted(&mut w, all);
        w.push(Entry {
            key: 1,
            seq: 1,
            slot: 1,
        });
        w.clear();
        assert_eq!(w.len(), 0);
        assert_eq!(w.pop(), None);
    }
}
