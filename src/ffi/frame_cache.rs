//! Recycles the malloc'd `struct rtp_frame` blocks of rtpjbuf.h, so that
//! the steady state of a jitter buffer allocates nothing. Every block is
//! still an individual malloc'd block, so callers that free() frames
//! directly (as the original allows) stay correct.
//!
//! Blocks come back through `rtpjbuf_frame_dtor`, which knows nothing but
//! the block, so they go to a per-thread cache. A thread-local lookup in a
//! shared library is a `__tls_get_addr` call, so each buffer takes blocks
//! from that cache a batch at a time into its own `Stash`.

use std::cell::Cell;
use std::ptr::NonNull;

use super::rtpjbuf::rtp_frame;

/// Blocks kept per thread; more are freed.
const MAX: usize = 256;
/// Blocks moved from the thread's cache to a stash per refill.
const BATCH: usize = 16;

type Block = NonNull<rtp_frame>;

struct Cache {
    len: Cell<usize>,
    blocks: [Cell<Option<Block>>; MAX],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for b in &self.blocks[..self.len.get()] {
            if let Some(p) = b.take() {
                // SAFETY: cached blocks are malloc'd and owned by the cache.
                unsafe { libc::free(p.as_ptr().cast()) }
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache {
            len: Cell::new(0),
            blocks: [const { Cell::new(None) }; MAX],
        }
    };
}

fn malloc_block() -> Option<Block> {
    // SAFETY: plain allocation of one frame; NULL is handled by NonNull::new.
    NonNull::new(unsafe { libc::malloc(std::mem::size_of::<rtp_frame>()) }.cast())
}

/// Take back a block we own; frees it when the cache is full (or the
/// thread is exiting).
pub fn give(p: Block) {
    let kept = CACHE
        .try_with(|c| {
            let n = c.len.get();
            if n == MAX {
                return false;
            }
            c.blocks[n].set(Some(p));
            c.len.set(n + 1);
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: the caller hands over a malloc'd block it owns.
        unsafe { libc::free(p.as_ptr().cast()) }
    }
}

/// One jitter buffer's blocks at hand.
pub struct Stash {
    len: usize,
    blocks: [Option<Block>; BATCH],
}

impl Stash {
    pub const fn new() -> Self {
        Stash {
            len: 0,
            blocks: [None; BATCH],
        }
    }

    /// An uninitialized frame-sized malloc block.
    #[inline]
    pub fn take(&mut self) -> Option<Block> {
        if self.len == 0 {
            self.refill();
        }
        let i = self.len.checked_sub(1)?;
        self.len = i;
        self.blocks[i].take()
    }

    /// Fill up from the thread's cache, then from malloc: a short cache
    /// would otherwise send every datagram back here.
    #[cold]
    fn refill(&mut self) {
        let _ = CACHE.try_with(|c| {
            let mut n = c.len.get();
            while self.len < BATCH && n > 0 {
                n -= 1;
                self.blocks[self.len] = c.blocks[n].take();
                self.len += 1;
            }
            c.len.set(n);
        });
        while self.len < BATCH {
            let Some(p) = malloc_block() else { break };
            self.blocks[self.len] = Some(p);
            self.len += 1;
        }
    }
}

impl Drop for Stash {
    fn drop(&mut self) {
        for b in &mut self.blocks[..self.len] {
            if let Some(p) = b.take() {
                give(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached() -> usize {
        CACHE.with(|c| c.len.get())
    }

    #[test]
    fn blocks_go_round_through_the_thread_cache() {
        // A fresh thread: a fresh cache.
        std::thread::spawn(|| {
            let mut s = Stash::new();
            let p = s.take().unwrap();
            assert_eq!((s.len, cached()), (BATCH - 1, 0), "a batch from malloc");
            give(p);
            assert_eq!(cached(), 1);
            let mut out: Vec<Block> = (0..BATCH - 1).map(|_| s.take().unwrap()).collect();
            assert_eq!(s.len, 0);
            out.push(s.take().unwrap());
            assert_eq!(cached(), 0, "the refill took the block given back");
            assert!(out.contains(&p) || s.blocks[..s.len].contains(&Some(p)));
            // The cache keeps MAX blocks and frees the rest.
            out.extend((0..MAX).map(|_| malloc_block().unwrap()));
            for b in out {
                give(b);
            }
            assert_eq!(cached(), MAX);
            drop(s); // its blocks are freed: the cache is full
            assert_eq!(cached(), MAX);
        })
        .join()
        .unwrap();
    }
}
