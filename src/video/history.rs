//! The sender's retransmission history: the last packets sent, bounded by
//! count (a ring indexed by sequence number) and by age.

pub struct History {
    slots: Vec<Entry>,
    mask: usize,
    max_age_ns: u64,
}

#[derive(Default)]
struct Entry {
    valid: bool,
    seq: u16,
    sent_ns: u64,
    pkt: Vec<u8>,
}

impl History {
    /// Keeps at most `count` packets (rounded up to a power of two, at most
    /// 32768); 0 keeps none. Packets older than `max_age_ns` are not resent.
    pub fn new(count: usize, max_age_ns: u64) -> Self {
        let cap = if count == 0 {
            0
        } else {
            count.min(1 << 15).next_power_of_two()
        };
        History {
            slots: (0..cap).map(|_| Entry::default()).collect(),
            mask: cap.wrapping_sub(1),
            max_age_ns,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Remember a sent packet (its RTP header included).
    pub fn store(&mut self, seq: u16, pkt: &[u8], now_ns: u64) {
        if self.slots.is_empty() {
            return;
        }
        let e = &mut self.slots[usize::from(seq) & self.mask];
        e.valid = true;
        e.seq = seq;
        e.sent_ns = now_ns;
        e.pkt.clear();
        e.pkt.extend_from_slice(pkt);
    }

    /// The packet sent with `seq`, if still held and not older than the age
    /// bound at `now_ns`.
    pub fn get(&self, seq: u16, now_ns: u64) -> Option<&[u8]> {
        let e = self.slots.get(usize::from(seq) & self.mask)?;
        (e.valid && e.seq == seq && now_ns.saturating_sub(e.sent_ns) <= self.max_age_ns)
            .then_some(&e.pkt[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_count_and_age() {
        let mut h = History::new(3, 1000);
        assert_eq!(h.capacity(), 4);
        for s in 65534u16..=65535 {
            h.store(s, &[s as u8], 0);
        }
        for s in 0u16..3 {
            h.store(s, &[s as u8], 500);
        }
        assert_eq!(h.get(65534, 500), None, "overwritten by seq 2");
        assert_eq!(h.get(65535, 500), Some(&[255u8][..]));
        assert_eq!(h.get(65535, 1001), None, "too old");
        assert_eq!(h.get(2, 1500), Some(&[2u8][..]));
        assert_eq!(h.get(3, 0), None);
        let none = History::new(0, 1000);
        assert_eq!(none.get(0, 0), None);
    }
}
