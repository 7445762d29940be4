//! A channel's bounded, lossy output queue: a power-of-two ring of packet
//! buffers. Buffers keep their capacity when reused and are swapped (not
//! copied) between the ring and the worker, so steady-state operation
//! allocates nothing per packet.

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    Full,
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
    /// `size` must be a power of two (checked by the caller).
    pub fn new(size: usize) -> TxQueue {
        debug_assert!(size.is_power_of_two());
        let mut slots = Vec::new();
        slots.resize_with(size, Vec::new);
        TxQueue {
            slots,
            mask: size - 1,
            head: 0,
            len: 0,
            lent: 0,
        }
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
        slot.extend_from_slice(pkt);
        self.len += 1;
        Ok(())
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
    /// rest go back into their slots to be sent later.
    pub fn commit(&mut self, spares: &mut [Vec<u8>], sent: usize) {
        let n = self.lent;
        let sent = sent.min(n);
        for (i, spare) in spares.iter_mut().enumerate().take(n).skip(sent) {
            std::mem::swap(&mut self.slots[(self.head + i) & self.mask], spare);
        }
        self.head = (self.head + sent) & self.mask;
        self.len -= sent;
        self.lent = 0;
    }

    /// Forget every queued packet.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.lent = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_bounded_and_lossy() {
        let mut q = TxQueue::new(4);
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
        let mut q = TxQueue::new(2);
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
}
