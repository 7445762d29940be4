//! A direct-mapped window of frames: the frame with logical sequence number
//! `lseq` lives in slot `lseq % size`, so filing a reordered packet is one
//! store and a bit set instead of a search and a shift, and a duplicate is
//! one bit test. It holds frames only while the newest and the oldest are
//! less than `size` apart; the caller (`Pending`) switches to the sorted
//! ring when a packet would break that.
//!
//! A bitmap mirrors which slots are full, so that finding the next oldest
//! (or newest) frame after a pop is a count of zero bits, not a walk over
//! empty slots.

use super::Frame;

/// Bitmap words: at most 4096 slots.
const WORDS: usize = 64;

/// The bitmap word of slot `i` (the modulo is what lets the compiler drop
/// the bounds check: slots never exceed `WORDS * 64`).
#[inline(always)]
fn word(i: usize) -> usize {
    i / 64 % WORDS
}

pub(super) struct Window<T> {
    /// Power-of-two number of slots.
    slots: Box<[Option<Frame<T>>]>,
    /// Bit `i % 64` of word `i / 64` is set when slot `i` is full. A fixed
    /// array (512 bytes): indexed through `word`, it needs no bounds check
    /// on the per-packet path.
    bits: [u64; WORDS],
    /// Oldest and newest lseq held (meaningless when `len` is 0).
    min: u64,
    max: u64,
    len: usize,
    /// Number of slots - 1.
    mask: u64,
}

/// Where `Window::file` put a frame, or why it did not.
pub(super) enum Filed<T> {
    /// Filed.
    Kept,
    /// A frame with this lseq is held already; here is the new one back.
    Dup(Frame<T>),
    /// Held frames and this one would span `size` or more: not filed.
    TooWide(Frame<T>),
}

impl<T> Window<T> {
    /// A window of `size` slots, rounded up to a power of two, from 64 (one
    /// bitmap word) to 4096.
    pub fn with_size(size: usize) -> Self {
        let size = size.clamp(64, WORDS * 64).next_power_of_two();
        Window {
            slots: (0..size).map(|_| None).collect(),
            bits: [0; WORDS],
            min: 0,
            max: 0,
            len: 0,
            mask: size as u64 - 1,
        }
    }

    #[inline(always)]
    fn size(&self) -> u64 {
        self.mask + 1
    }

    #[inline(always)]
    fn slot(&self, lseq: u64) -> usize {
        (lseq & self.mask) as usize
    }

    #[inline(always)]
    fn is_set(&self, lseq: u64) -> bool {
        let i = self.slot(lseq);
        self.bits[word(i)] & (1 << (i % 64)) != 0
    }

    #[inline(always)]
    fn put(&mut self, f: Frame<T>) {
        let i = self.slot(f.lseq);
        self.bits[word(i)] |= 1 << (i % 64);
        self.slots[i] = Some(f);
        self.len += 1;
    }

    #[inline(always)]
    fn take(&mut self, lseq: u64) -> Option<Frame<T>> {
        let i = self.slot(lseq);
        self.bits[word(i)] &= !(1 << (i % 64));
        self.len -= 1;
        self.slots[i].take()
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn front(&self) -> Option<&Frame<T>> {
        if self.len == 0 {
            return None;
        }
        self.slots[self.slot(self.min)].as_ref()
    }

    #[inline(always)]
    pub fn front_lseq(&self) -> Option<u64> {
        (self.len != 0).then_some(self.min)
    }

    #[inline(always)]
    pub fn back(&self) -> Option<&Frame<T>> {
        if self.len == 0 {
            return None;
        }
        self.slots[self.slot(self.max)].as_ref()
    }

    pub fn back_mut(&mut self) -> Option<&mut Frame<T>> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(self.max);
        self.slots[i].as_mut()
    }

    /// File `f` at its lseq.
    #[inline(always)]
    pub fn file(&mut self, f: Frame<T>) -> Filed<T> {
        let lseq = f.lseq;
        if self.len == 0 {
            self.min = lseq;
            self.max = lseq;
            self.put(f);
            return Filed::Kept;
        }
        // Whether a reordered packet lands before, inside or behind the held
        // span is a coin flip no predictor learns: bounds by min/max (cmov),
        // not by branches on the side.
        let lo = self.min.min(lseq);
        let hi = self.max.max(lseq);
        if hi - lo >= self.size() {
            return Filed::TooWide(f);
        }
        // Outside the held span the slot is free (the held lseqs and this one
        // lie within fewer than `size` consecutive numbers), so one bit test
        // finds duplicates wherever the packet lands.
        if self.is_set(lseq) {
            return Filed::Dup(f);
        }
        self.min = lo;
        self.max = hi;
        self.put(f);
        Filed::Kept
    }

    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<Frame<T>> {
        if self.len == 0 {
            return None;
        }
        let f = self.take(self.min);
        if self.len > 0 {
            self.min = self.next_after(self.min);
        }
        f
    }

    pub fn pop_back(&mut self) -> Option<Frame<T>> {
        if self.len == 0 {
            return None;
        }
        let f = self.take(self.max);
        if self.len > 0 {
            self.max = self.prev_before(self.max);
        }
        f
    }

    /// The held frame with this lseq.
    pub fn get(&self, lseq: u64) -> Option<&Frame<T>> {
        if self.len == 0 || lseq < self.min || lseq > self.max {
            return None;
        }
        self.slots[self.slot(lseq)].as_ref()
    }

    /// The first frame of the run of consecutive lseqs that ends with the
    /// newest frame.
    pub fn last_run_head(&self) -> Option<&Frame<T>> {
        if self.len == 0 {
            return None;
        }
        let mut l = self.max;
        while l > self.min && self.is_set(l - 1) {
            l -= 1;
        }
        self.get(l)
    }

    /// The lseq of the next held frame after `lseq` (one is held: `max`).
    #[inline(always)]
    fn next_after(&self, lseq: u64) -> u64 {
        let mut d = 1;
        while d < self.size() {
            let i = self.slot(lseq.wrapping_add(d));
            let w = self.bits[word(i)] >> (i % 64);
            if w != 0 {
                return lseq.wrapping_add(d + w.trailing_zeros() as u64);
            }
            d += 64 - (i % 64) as u64;
        }
        self.max
    }

    /// The lseq of the held frame before `lseq` (one is held: `min`).
    fn prev_before(&self, lseq: u64) -> u64 {
        let mut d = 1;
        while d < self.size() {
            let i = self.slot(lseq.wrapping_sub(d));
            let w = self.bits[word(i)] << (63 - i % 64);
            if w != 0 {
                return lseq.wrapping_sub(d + w.leading_zeros() as u64);
            }
            d += (i % 64) as u64 + 1;
        }
        self.min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut Window<()>) -> Vec<u64> {
        std::iter::from_fn(|| w.pop_front().map(|f| f.lseq)).collect()
    }

    #[test]
    fn files_in_order_across_slot_wraps_and_words() {
        let mut w = Window::with_size(64);
        for l in [1000, 1063, 1001, 1040, 1020] {
            assert!(matches!(w.file(Frame::bare(l)), Filed::Kept));
        }
        assert!(matches!(w.file(Frame::bare(1040)), Filed::Dup(f) if f.lseq == 1040));
        assert!(matches!(w.file(Frame::bare(1064)), Filed::TooWide(_)));
        assert!(matches!(w.file(Frame::bare(999)), Filed::TooWide(_)));
        assert_eq!(w.len(), 5);
        assert_eq!(w.back().unwrap().lseq, 1063);
        assert_eq!(w.pop_back().unwrap().lseq, 1063);
        assert_eq!(w.back().unwrap().lseq, 1040);
        assert!(matches!(w.file(Frame::bare(999)), Filed::Kept));
        assert_eq!(w.back().unwrap().lseq, 1040);
        assert_eq!(drain(&mut w), vec![999, 1000, 1001, 1020, 1040]);
        assert!(w.front().is_none() && w.pop_back().is_none());
    }

    #[test]
    fn last_run_head_and_get() {
        let mut w = Window::with_size(128);
        for l in [5, 6, 9, 10, 11] {
            w.file(Frame::bare(l));
        }
        assert_eq!(w.last_run_head().unwrap().lseq, 9);
        assert_eq!(w.get(6).unwrap().lseq, 6);
        assert!(w.get(7).is_none() && w.get(4).is_none() && w.get(12).is_none());
        w.pop_back();
        w.pop_back();
        w.pop_back();
        assert_eq!(w.last_run_head().unwrap().lseq, 5);
    }

    #[test]
    fn extreme_lseqs_do_not_wrap_the_span() {
        let mut w = Window::with_size(64);
        w.file(Frame::bare(u64::MAX - 1));
        assert!(matches!(w.file(Frame::bare(u64::MAX)), Filed::Kept));
        assert!(matches!(w.file(Frame::bare(0)), Filed::TooWide(_)));
        assert!(matches!(w.file(Frame::bare(u64::MAX - 63)), Filed::Kept));
        assert_eq!(w.pop_back().unwrap().lseq, u64::MAX);
        assert_eq!(w.back().unwrap().lseq, u64::MAX - 1);
        assert_eq!(drain(&mut w), vec![u64::MAX - 63, u64::MAX - 1]);
    }

    /// Against a sorted Vec model: every pop agrees, at every gap size.
    #[test]
    fn agrees_with_a_sorted_model() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut w = Window::with_size(256);
        let mut model: Vec<u64> = Vec::new();
        let mut base = 1u64 << 40;
        for _ in 0..200_000 {
            let r = next();
            match r % 8 {
                0 | 1 => {
                    assert_eq!(w.pop_front().map(|f| f.lseq), model.first().copied());
                    if !model.is_empty() {
                        model.remove(0);
                    }
                }
                2 => {
                    assert_eq!(w.pop_back().map(|f| f.lseq), model.pop());
                }
                _ => {
                    let l = base + (r >> 8) % 300;
                    match w.file(Frame::bare(l)) {
                        Filed::TooWide(_) => {
                            let lo = model.first().map_or(l, |&m| m.min(l));
                            let hi = model.last().map_or(l, |&m| m.max(l));
                            assert!(hi - lo >= 256);
                        }
                        Filed::Dup(_) => assert!(model.contains(&l)),
                        Filed::Kept => {
                            let p = model.partition_point(|&m| m < l);
                            assert!(model.get(p) != Some(&l));
                            model.insert(p, l);
                        }
                    }
                }
            }
            assert_eq!(w.len(), model.len());
            assert_eq!(w.front().map(|f| f.lseq), model.first().copied());
            assert_eq!(w.back().map(|f| f.lseq), model.last().copied());
            if model.is_empty() {
                base += next() % 1000;
            }
        }
    }
}
