//! A double-ended ring of frames kept sorted by the jitter buffer: O(1) at
//! both ends, insertion by shifting from the tail (where reordered packets
//! land). Smaller and cheaper per operation than `VecDeque` for this use.

use super::Frame;

pub(super) struct Ring<T> {
    /// Power-of-two number of slots; live frames are `len` slots from `head`.
    slots: Vec<Option<Frame<T>>>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    pub fn with_capacity(n: usize) -> Self {
        let size = n.max(4).next_power_of_two();
        Ring {
            slots: (0..size).map(|_| None).collect(),
            head: 0,
            len: 0,
        }
    }

    #[inline]
    fn slot(&self, i: usize) -> usize {
        (self.head + i) & (self.slots.len() - 1)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&Frame<T>> {
        if i < self.len {
            self.slots[self.slot(i)].as_ref()
        } else {
            None
        }
    }

    #[inline]
    pub fn front(&self) -> Option<&Frame<T>> {
        self.get(0)
    }

    #[inline]
    pub fn back(&self) -> Option<&Frame<T>> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn back_mut(&mut self) -> Option<&mut Frame<T>> {
        let i = self.len.checked_sub(1)?;
        let s = self.slot(i);
        self.slots[s].as_mut()
    }

    #[inline]
    fn grow_if_full(&mut self) {
        if self.len == self.slots.len() {
            self.grow();
        }
    }

    #[cold]
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mut slots: Vec<Option<Frame<T>>> = (0..size).map(|_| None).collect();
        for (i, dst) in slots.iter_mut().enumerate().take(self.len) {
            let s = self.slot(i);
            *dst = self.slots[s].take();
        }
        self.slots = slots;
        self.head = 0;
    }

    #[inline]
    pub fn push_back(&mut self, f: Frame<T>) {
        self.grow_if_full();
        let s = self.slot(self.len);
        self.slots[s] = Some(f);
        self.len += 1;
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<Frame<T>> {
        if self.len == 0 {
            return None;
        }
        let f = self.slots[self.head].take();
        self.head = self.slot(1);
        self.len -= 1;
        f
    }

    pub fn pop_back(&mut self) -> Option<Frame<T>> {
        let i = self.len.checked_sub(1)?;
        let s = self.slot(i);
        self.len = i;
        self.slots[s].take()
    }

    /// Insert so that `f` becomes element `pos` (`pos <= len`), moving
    /// whichever side of `pos` is shorter.
    pub fn insert(&mut self, pos: usize, f: Frame<T>) {
        self.grow_if_full();
        let mask = self.slots.len() - 1;
        // The free slot travels to `pos`; swapping moves frames without a
        // drop check on the (empty) destination.
        if pos < self.len - pos {
            self.head = (self.head + mask) & mask;
            for i in 0..pos {
                let (to, from) = (self.slot(i), self.slot(i + 1));
                self.slots.swap(to, from);
            }
        } else {
            let mut i = self.len;
            while i > pos {
                let (to, from) = (self.slot(i), self.slot(i - 1));
                self.slots.swap(to, from);
                i -= 1;
            }
        }
        let s = self.slot(pos);
        self.slots[s] = Some(f);
        self.len += 1;
    }

    /// Index just past the last element whose lseq is <= `lseq`, searching
    /// from the tail, and whether that element's lseq equals it.
    pub fn position_after(&self, lseq: u64) -> (usize, bool) {
        let mut i = self.len;
        while i > 0 {
            match self.get(i - 1) {
                Some(f) if f.lseq > lseq => i -= 1,
                Some(f) => return (i, f.lseq == lseq),
                None => break,
            }
        }
        (0, false)
    }

    /// The first frame of the last run of consecutive lseqs.
    pub fn last_run_head(&self) -> Option<&Frame<T>> {
        let mut i = self.len.checked_sub(1)?;
        while i > 0 {
            match (self.get(i - 1), self.get(i)) {
                (Some(a), Some(b)) if a.lseq.wrapping_add(1) == b.lseq => i -= 1,
                _ => break,
            }
        }
        self.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lseqs(r: &Ring<()>) -> Vec<u64> {
        (0..r.len()).map(|i| r.get(i).unwrap().lseq).collect()
    }

    #[test]
    fn last_run_head_across_the_wrap() {
        let mut r = Ring::with_capacity(4);
        assert!(r.last_run_head().is_none());
        for l in [1, 2, 3] {
            r.push_back(Frame::bare(l));
        }
        r.pop_front();
        r.pop_front();
        for l in [5, 6] {
            r.push_back(Frame::bare(l)); // 3 | 5 6, the run wraps the slots
        }
        assert_eq!(r.last_run_head().unwrap().lseq, 5);
        r.pop_back();
        r.pop_back();
        assert_eq!(r.last_run_head().unwrap().lseq, 3);
        r.push_back(Frame::bare(4));
        assert_eq!(r.last_run_head().unwrap().lseq, 3);
    }

    #[test]
    fn wraps_grows_and_keeps_order() {
        let mut r = Ring::with_capacity(4);
        for l in [1, 2, 3] {
            r.push_back(Frame::bare(l));
        }
        assert_eq!(r.pop_front().unwrap().lseq, 1);
        assert_eq!(r.pop_front().unwrap().lseq, 2);
        for l in [5, 6, 8] {
            r.push_back(Frame::bare(l)); // wraps around the 4 slots
        }
        r.insert(r.position_after(7).0, Frame::bare(7));
        r.insert(r.position_after(4).0, Frame::bare(4)); // grows to 8 slots
        assert_eq!(lseqs(&r), vec![3, 4, 5, 6, 7, 8]);
        r.insert(1, Frame::bare(100)); // the front side moves
        r.insert(5, Frame::bare(200)); // the back side moves
        assert_eq!(lseqs(&r), vec![3, 100, 4, 5, 6, 200, 7, 8]);
        r.insert(0, Frame::bare(1)); // grows while moving
        assert_eq!(lseqs(&r), vec![1, 3, 100, 4, 5, 6, 200, 7, 8]);
        for x in [1, 3, 100, 4] {
            assert_eq!(r.pop_front().unwrap().lseq, x);
        }
        r.insert(r.len(), Frame::bare(9));
        assert_eq!(lseqs(&r), vec![5, 6, 200, 7, 8, 9]);
        assert_eq!(r.position_after(6), (2, true));
        assert_eq!(r.position_after(0), (0, false));
        assert_eq!(r.pop_back().unwrap().lseq, 9);
        assert_eq!(r.back().unwrap().lseq, 8);
        assert_eq!(r.front().unwrap().lseq, 5);
        while r.pop_front().is_some() {}
        assert!(r.is_empty() && r.back().is_none() && r.pop_back().is_none());
    }
}
