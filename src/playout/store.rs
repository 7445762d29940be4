//! Packets waiting for playout, ordered by media time, in storage that is
//! allocated once: a fixed number of slots with a fixed payload area each.

/// What the buffer keeps of a packet besides its payload.
#[derive(Clone, Copy, Debug, Default)]
pub struct Meta {
    /// Media time of the first sample, in RTP ticks on the buffer's
    /// continuous timeline.
    pub t: i64,
    /// Duration in RTP ticks.
    pub dur: i64,
    pub seq: u16,
    pub ts: u32,
    pub arrival: i64,
    pub marker: bool,
}

pub enum Insert {
    Stored,
    Duplicate,
    /// Stored after dropping the packet due first (the buffer was full).
    StoredDroppedOldest,
}

pub struct Store {
    meta: Vec<Meta>,
    len: Vec<usize>,
    data: Vec<u8>,
    max_payload: usize,
    /// Slot indices sorted by `t`.
    order: Vec<u16>,
    free: Vec<u16>,
}

impl Store {
    pub fn new(slots: usize, max_payload: usize) -> Self {
        let slots = slots.clamp(1, u16::MAX as usize);
        Store {
            meta: vec![Meta::default(); slots],
            len: vec![0; slots],
            data: vec![0; slots * max_payload],
            max_payload,
            order: Vec::with_capacity(slots),
            free: (0..slots as u16).rev().collect(),
        }
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn count(&self) -> usize {
        self.order.len()
    }

    /// The packet due first.
    pub fn first(&self) -> Option<&Meta> {
        self.order.first().map(|&i| &self.meta[i as usize])
    }

    /// End (t + dur) of the latest packet held.
    pub fn end(&self) -> Option<i64> {
        self.order
            .last()
            .map(|&i| self.meta[i as usize].t + self.meta[i as usize].dur)
    }

    pub fn first_payload(&self) -> &[u8] {
        match self.order.first() {
            Some(&i) => self.payload(i as usize),
            None => &[],
        }
    }

    /// The payload of the packet after the first one, if it starts at `t`.
    pub fn second_at(&self, t: i64) -> Option<(&Meta, &[u8])> {
        let &i = self.order.get(1)?;
        let m = &self.meta[i as usize];
        (m.t == t).then(|| (m, self.payload(i as usize)))
    }

    fn payload(&self, i: usize) -> &[u8] {
        let at = i * self.max_payload;
        &self.data[at..at + self.len[i]]
    }

    /// Copy a packet in (`payload.len() <= max_payload`).
    pub fn insert(&mut self, m: Meta, payload: &[u8]) -> Insert {
        let pos = match self
            .order
            .binary_search_by(|&i| self.meta[i as usize].t.cmp(&m.t))
        {
            Ok(_) => return Insert::Duplicate,
            Err(p) => p,
        };
        let mut res = Insert::Stored;
        let (slot, pos) = match self.free.pop() {
            Some(s) => (s, pos),
            None => {
                res = Insert::StoredDroppedOldest;
                let s = self.order.remove(0);
                (s, pos.saturating_sub(1))
            }
        };
        let i = slot as usize;
        let n = payload.len().min(self.max_payload);
        self.meta[i] = m;
        self.len[i] = n;
        let at = i * self.max_payload;
        self.data[at..at + n].copy_from_slice(&payload[..n]);
        self.order.insert(pos, slot);
        res
    }

    pub fn pop_first(&mut self) -> Option<Meta> {
        if self.order.is_empty() {
            return None;
        }
        let s = self.order.remove(0);
        self.free.push(s);
        Some(self.meta[s as usize])
    }

    pub fn clear(&mut self) -> usize {
        let n = self.order.len();
        while let Some(s) = self.order.pop() {
            self.free.push(s);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: i64) -> Meta {
        Meta {
            t,
            dur: 160,
            ..Meta::default()
        }
    }

    #[test]
    fn orders_by_time_and_drops_oldest_when_full() {
        let mut s = Store::new(3, 4);
        assert!(matches!(s.insert(m(320), &[3]), Insert::Stored));
        assert!(matches!(s.insert(m(0), &[1, 1]), Insert::Stored));
        assert!(matches!(s.insert(m(160), &[2, 2, 2, 2, 2]), Insert::Stored));
        assert!(matches!(s.insert(m(160), &[9]), Insert::Duplicate));
        assert_eq!(s.first().unwrap().t, 0);
        assert_eq!(s.first_payload(), &[1, 1]);
        assert_eq!(s.second_at(160).unwrap().1, &[2, 2, 2, 2]);
        assert!(matches!(
            s.insert(m(480), &[4]),
            Insert::StoredDroppedOldest
        ));
        assert_eq!(s.pop_first().unwrap().t, 160);
        assert_eq!(s.end(), Some(640));
        assert_eq!(s.clear(), 2);
        assert!(s.is_empty());
    }
}
