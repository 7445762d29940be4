//! The packets a jitter buffer holds back, sorted by lseq: a direct-mapped
//! `Window` while they span fewer lseqs than its size (every stream with
//! ordinary reordering and loss), the sorted `Ring` while they do not (a
//! sequence jump leaves a far-ahead packet held behind older ones). The
//! switch to the ring moves every held frame once; the switch back happens
//! when the ring runs empty. Both keep the same order, so which one holds
//! the frames never shows in what the buffer releases.

use super::ring::Ring;
use super::window::{Filed, Window};
use super::Frame;

pub(super) struct Pending<T> {
    window: Window<T>,
    ring: Ring<T>,
    /// The frames are in `ring` (and `window` is empty).
    spilled: bool,
}

/// Where `Pending::file` put a frame.
pub(super) enum Placed<T> {
    /// Filed.
    Kept,
    /// A frame with its lseq is held already; here it is back.
    Dup(Frame<T>),
}

impl<T> Pending<T> {
    /// Storage for a buffer of `capacity` packets: a window of twice that
    /// (losses spread the held lseqs a little beyond the count), at most
    /// 4096 slots; larger spans use the ring. Both are allocated here, so
    /// that taking in a datagram allocates nothing (up to 1024 packets
    /// held; a larger buffer's ring grows when it fills).
    pub fn new(capacity: u32) -> Self {
        Pending {
            window: Window::with_size(2 * capacity.clamp(4, 2048) as usize),
            ring: Ring::with_capacity(capacity.clamp(4, 1024) as usize),
            spilled: false,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        if self.spilled {
            self.ring.len()
        } else {
            self.window.len()
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    pub fn front(&self) -> Option<&Frame<T>> {
        if self.spilled {
            self.ring.front()
        } else {
            self.window.front()
        }
    }

    /// The oldest held lseq, without touching its frame.
    #[inline(always)]
    pub fn front_lseq(&self) -> Option<u64> {
        if self.spilled {
            self.ring.front().map(|f| f.lseq)
        } else {
            self.window.front_lseq()
        }
    }

    #[inline]
    pub fn back(&self) -> Option<&Frame<T>> {
        if self.spilled {
            self.ring.back()
        } else {
            self.window.back()
        }
    }

    pub fn back_mut(&mut self) -> Option<&mut Frame<T>> {
        if self.spilled {
            self.ring.back_mut()
        } else {
            self.window.back_mut()
        }
    }

    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<Frame<T>> {
        if !self.spilled {
            return self.window.pop_front();
        }
        let f = self.ring.pop_front();
        self.spilled = !self.ring.is_empty();
        f
    }

    pub fn pop_back(&mut self) -> Option<Frame<T>> {
        if !self.spilled {
            return self.window.pop_back();
        }
        let f = self.ring.pop_back();
        self.spilled = !self.ring.is_empty();
        f
    }

    /// File `f` in lseq order.
    #[inline(always)]
    pub fn file(&mut self, f: Frame<T>) -> Placed<T> {
        if !self.spilled {
            match self.window.file(f) {
                Filed::Kept => return Placed::Kept,
                Filed::Dup(f) => return Placed::Dup(f),
                Filed::TooWide(f) => return self.spill(f),
            }
        }
        let (pos, dup) = self.ring.position_after(f.lseq);
        if dup {
            return Placed::Dup(f);
        }
        if pos == self.ring.len() {
            self.ring.push_back(f);
        } else {
            self.ring.insert(pos, f);
        }
        Placed::Kept
    }

    /// Move the window's frames to the ring, then file `f` there.
    #[cold]
    fn spill(&mut self, f: Frame<T>) -> Placed<T> {
        while let Some(held) = self.window.pop_front() {
            self.ring.push_back(held);
        }
        self.spilled = true;
        self.file(f)
    }

    /// The first frame of the run of consecutive lseqs that ends with the
    /// newest frame.
    pub fn last_run_head(&self) -> Option<&Frame<T>> {
        if self.spilled {
            self.ring.last_run_head()
        } else {
            self.window.last_run_head()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_to_the_ring_and_comes_back_when_empty() {
        let mut p = Pending::new(4); // a window of 64 slots
        for l in [10, 12, 11] {
            p.file(Frame::bare(l));
        }
        assert!(matches!(p.file(Frame::bare(5000)), Placed::Kept));
        assert_eq!(p.back().unwrap().lseq, 5000);
        assert!(p.spilled);
        assert!(matches!(p.file(Frame::bare(13)), Placed::Kept));
        assert_eq!(p.back().unwrap().lseq, 5000);
        assert!(matches!(p.file(Frame::bare(12)), Placed::Dup(_)));
        assert_eq!(p.len(), 5);
        assert_eq!(p.last_run_head().unwrap().lseq, 5000);
        assert_eq!(p.back().unwrap().lseq, 5000);
        assert_eq!(p.pop_back().unwrap().lseq, 5000);
        assert_eq!(p.last_run_head().unwrap().lseq, 10);
        let order: Vec<u64> = std::iter::from_fn(|| p.pop_front().map(|f| f.lseq)).collect();
        assert_eq!(order, vec![10, 11, 12, 13]);
        assert!(!p.spilled && p.is_empty());
        assert!(matches!(p.file(Frame::bare(70_000)), Placed::Kept));
        assert_eq!(p.back().unwrap().lseq, 70_000);
        assert!(!p.spilled);
    }
}
