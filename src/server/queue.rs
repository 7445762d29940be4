//! A channel's bounded, lossy output queue: a power-of-two ring of packet
//! buffers. Buffers keep their capacity when reused and are swapped (not
//! copied) between the ring and the worker, so steady-state operation
//! allocates nothing per packet.
//!
//! Memory is bounded: a buffer that grew past `SLOT_KEEP` for a large
//! packet is freed once that packet is sent (the next packet through that
//! slot allocates again), so an idle queue keeps at most `SLOT_KEEP` bytes
//! per buffer in circulation whatever burst went through it.

/// Largest buffer capacity kept for reuse: covers every packet that fits a
/// 1500-byte MTU, with room to spare.
pub const SLOT_KEEP: usize = 2048;

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    Full,
    /// The slot's buffer could not grow.
    NoMemory,
}

pub struct TxQueue {
    slots: Vec<Vec<u8>>,
    mask: usize,
    head: usize,
    len: usize,
    /// Packets at the head lent to the worker (still counted in `len`).
    lent: usize,
}

impl TxQueue {
    /// `size` must be a power of two (checked by the caller). None when
    /// the ring itself cannot be allocated (the buffers are allocated on
    /// first use).
    pub fn new(size: usize) -> Option<TxQueue> {
        debug_assert!(size.is_power_of_two());
        let mut slots = Vec::new();
        slots.try_reserve_exact(size).ok()?;
        slots.resize_with(size, Vec::new);
        Some(TxQueue {
            slots,
            mask: size - 1,
            head: 0,
            len: 0,
            lent: 0,
        })
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy `pkt` in at the tail.
    pub fn push(&mut self, pkt: &[u8]) -> Result<(), PushError> {
        if self.len == self.slots.len() {
            return Err(PushError::Full);
        }
        let slot = &mut self.slots[(self.head + self.len) & self.mask];
        slot.clear();
        slot.try_reserve(pkt.len())
            .map_err(|_| PushError::NoMemory)?;
        slot.extend_from_slice(pkt);
        self.len += 1;
        Ok(())
    }

    /// Take back the packet the last `push` added (its send could not be
    /// scheduled).
    pub fn unpush(&mut self) {
        if self.len > self.lent {
            self.len -= 1;
        }
    }

    /// Lend up to `spares.len()` packets from the head to the worker by
    /// swapping them with the worker's spare buffers. Returns the count;
    /// `spares[..n]` then hold the packets. The slots stay occupied until
    /// `commit`.
    pub fn lend(&mut self, spares: &mut [Vec<u8>]) -> usize {
        debug_assert_eq!(self.lent, 0);
        let n = self.len.min(spares.len());
        for (i, spare) in spares.iter_mut().enumerate().take(n) {
            std::mem::swap(&mut self.slots[(self.head + i) & self.mask], spare);
        }
        self.lent = n;
        n
    }

    /// Finish a `lend`: the first `sent` lent packets leave the queue; the
    /// rest go back into their slots to be sent later. A sent packet's
    /// buffer larger than `SLOT_KEEP` is freed (never reallocated here:
    /// the worker does not allocate).
    pub fn commit(&mut self, spares: &mut [Vec<u8>], sent: usize) {
        let n = self.lent;
        let sent = sent.min(n);
        for spare in spares.iter_mut().take(sent) {
            if spare.capacity() > SLOT_KEEP {
                *spare = Vec::new();
            }
        }
        for (i, spare) in spares.iter_mut().enumerate().take(n).skip(sent) {
            std::mem::swap(&mut self.slots[(self.head + i) & self.mask], spare);
        }
        self.head = (self.head + sent) & self.mask;
        self.len -= sent;
        self.lent = 0;
    }

    /// Forget every queued packet (and free the oversized buffers).
    pub fn clear(&mut self) {
        for s in &mut self.slots {
            if s.capacity() > SLOT_KEEP {
                *s = Vec::new();
            }
        }
        self.head = 0;
        self.len = 0;
        self.lent = 0;
    }

    /// Bytes of buffer capacity the ring holds (tests and docs).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.capacity()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_bounded_and_lossy() {
        let mut q = TxQueue::new(4).unwrap();
        for i in 0..4u8 {
            q.push(&[i]).unwrap();
        }
        assert_eq!(q.push(&[9]), Err(PushError::Full));
        let mut spares = vec![Vec::new(); 3];
        assert_eq!(q.lend(&mut spares), 3);
        // still full while lent
        assert_eq!(q.push(&[9]), Err(PushError::Full));
        q.commit(&mut spares, 2);
        assert_eq!(spares[0], vec![0]);
        assert_eq!(spares[1], vec![1]);
        assert_eq!(q.len(), 2);
        q.push(&[4]).unwrap();
        q.push(&[5]).unwrap();
        let mut out = Vec::new();
        while !q.is_empty() {
            let mut sp = vec![Vec::new(); 2];
            let n = q.lend(&mut sp);
            out.extend(sp[..n].iter().cloned());
            q.commit(&mut sp, n);
        }
        assert_eq!(out, vec![vec![2], vec![3], vec![4], vec![5]]);
    }

    #[test]
    fn buffers_are_recycled_not_reallocated() {
        let mut q = TxQueue::new(2).unwrap();
        let mut spares = vec![Vec::new(); 2];
        for round in 0..10u8 {
            q.push(&[round; 100]).unwrap();
            q.push(&[round; 50]).unwrap();
            assert_eq!(q.lend(&mut spares), 2);
            assert_eq!(spares[0], vec![round; 100]);
            assert_eq!(spares[1].len(), 50);
            q.commit(&mut spares, 2);
        }
        // every buffer in circulation has kept its capacity
        assert!(spares.iter().all(|b| b.capacity() >= 50));
        assert!(q.slots.iter().all(|b| b.capacity() >= 50));
    }

    #[test]
    fn a_burst_of_large_packets_does_not_stay_allocated() {
        let mut q = TxQueue::new(64).unwrap();
        let mut spares = vec![Vec::new(); 16];
        let big = vec![7u8; 65507];
        for _ in 0..4 {
            while q.push(&big).is_ok() {}
            while !q.is_empty() {
                let n = q.lend(&mut spares);
                q.commit(&mut spares, n);
            }
        }
        let held = q.held_bytes() + spares.iter().map(|s| s.capacity()).sum::<usize>();
        assert!(held <= (64 + 16) * SLOT_KEEP, "{held}");
        // small packets after it reuse buffers as before
        q.push(&[1; 100]).unwrap();
        let n = q.lend(&mut spares);
        assert_eq!(spares[0], vec![1; 100]);
        q.commit(&mut spares, n);
        assert!(spares[0].capacity() >= 100);
    }
}
