//! The receiver's list of missing sequence numbers and when to ask for them
//! again (RFC 4585 generic NACK): a request per RTT at most, given up after
//! a deadline or a number of tries.

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
struct Missing {
    ext: u64,
    since_ns: u64,
    sent_ns: Option<u64>,
    tries: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NackStats {
    /// Sequence numbers put in a NACK (each try counts).
    pub requested: u64,
    /// Missing packets that arrived after being requested.
    pub recovered: u64,
    /// Missing packets given up (deadline, tries, list full).
    pub given_up: u64,
}

pub struct NackList {
    items: VecDeque<Missing>,
    max_items: usize,
    deadline_ns: u64,
    max_tries: u32,
    rtt_ns: u64,
    stats: NackStats,
}

/// Requests for one packet are at least this far apart whatever the RTT.
const MIN_INTERVAL_NS: u64 = 5_000_000;

impl NackList {
    pub fn new(max_items: usize, deadline_ns: u64, max_tries: u32, rtt_ns: u64) -> Self {
        NackList {
            items: VecDeque::new(),
            max_items: max_items.max(1),
            deadline_ns,
            max_tries: max_tries.max(1),
            rtt_ns,
            stats: NackStats::default(),
        }
    }

    pub fn set_rtt(&mut self, rtt_ns: u64) {
        self.rtt_ns = rtt_ns;
    }

    pub fn stats(&self) -> &NackStats {
        &self.stats
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.stats.given_up += self.items.len() as u64;
        self.items.clear();
    }

    /// Sequence numbers `from..to` (extended) were skipped at `now_ns`.
    pub fn gap(&mut self, from: u64, to: u64, now_ns: u64) {
        let from = from.max(to.saturating_sub(self.max_items as u64));
        for ext in from..to {
            if self.items.back().is_some_and(|m| m.ext >= ext) {
                continue;
            }
            if self.items.len() == self.max_items {
                self.items.pop_front();
                self.stats.given_up += 1;
            }
            self.items.push_back(Missing {
                ext,
                since_ns: now_ns,
                sent_ns: None,
                tries: 0,
            });
        }
    }

    /// A packet arrived: whether it had been requested.
    pub fn received(&mut self, ext: u64) -> bool {
        let Ok(i) = self.items.binary_search_by_key(&ext, |m| m.ext) else {
            return false;
        };
        let asked = self.items[i].tries > 0;
        self.items.remove(i);
        if asked {
            self.stats.recovered += 1;
        }
        asked
    }

    /// The receive buffer is past `ext`: stop asking for anything before it.
    pub fn forget_below(&mut self, ext: u64) {
        while self.items.front().is_some_and(|m| m.ext < ext) {
            self.items.pop_front();
            self.stats.given_up += 1;
        }
    }

    /// Calls `f` with each sequence number to request now, oldest first, at
    /// most `max` of them; drops those past their deadline or tries.
    /// Returns the count requested.
    pub fn due(&mut self, now_ns: u64, max: usize, mut f: impl FnMut(u16)) -> usize {
        let interval = self.rtt_ns.max(MIN_INTERVAL_NS);
        let (deadline, tries) = (self.deadline_ns, self.max_tries);
        let before = self.items.len();
        self.items
            .retain(|m| now_ns < m.since_ns.saturating_add(deadline) && m.tries < tries);
        self.stats.given_up += (before - self.items.len()) as u64;
        let mut n = 0;
        for m in self.items.iter_mut() {
            if n == max {
                break;
            }
            if m.sent_ns
                .is_some_and(|t| now_ns < t.saturating_add(interval))
            {
                continue;
            }
            m.sent_ns = Some(now_ns);
            m.tries += 1;
            f(m.ext as u16);
            n += 1;
        }
        self.stats.requested += n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_by_rtt_and_gives_up() {
        let mut l = NackList::new(100, 1_000_000_000, 3, 50_000_000);
        l.gap(10, 13, 0);
        let mut got = Vec::new();
        assert_eq!(l.due(0, 10, |s| got.push(s)), 3);
        assert_eq!(got, [10, 11, 12]);
        assert_eq!(l.due(10_000_000, 10, |_| ()), 0, "within one RTT");
        assert!(l.received(11));
        assert!(!l.received(11));
        got.clear();
        assert_eq!(l.due(50_000_000, 1, |s| got.push(s)), 1);
        assert_eq!(got, [10]);
        assert_eq!(l.due(50_000_000, 10, |s| got.push(s)), 1);
        assert_eq!(got, [10, 12]);
        l.due(100_000_000, 10, |_| ());
        // third try done: the next call gives up
        assert_eq!(l.due(150_000_000, 10, |_| ()), 0);
        assert!(l.is_empty());
        assert_eq!(l.stats().given_up, 2);
        assert_eq!(l.stats().recovered, 1);
    }

    #[test]
    fn deadline_forget_and_bound() {
        let mut l = NackList::new(4, 100, 10, 0);
        l.gap(0, 10, 0);
        assert_eq!(l.len(), 4);
        l.forget_below(8);
        assert_eq!(l.len(), 2);
        assert_eq!(l.due(100, 10, |_| ()), 0, "past the deadline");
        assert!(l.is_empty());
    }
}
