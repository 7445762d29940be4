//! Learning a channel's target from what it receives (symmetric RTP,
//! RFC 4961; rtpengine's endpoint learning, pjmedia's probation).

use super::sys::RawAddr;

/// How a channel learns where to send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Latch {
    /// The target is what `set_target` says; sources change nothing.
    #[default]
    Off,
    /// Take the first source that sends `probation` packets in a row (0 and
    /// 1 both mean the very first packet), then lock: later sources are
    /// still delivered but never move the target again (until re-armed).
    Lock { probation: u32 },
    /// Every packet from a new source moves the target there.
    Follow,
}

/// The learning state of one channel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latcher {
    mode: Latch,
    candidate: Option<RawAddr>,
    seen: u32,
    locked: bool,
    current: Option<RawAddr>,
}

impl Latcher {
    pub fn new(mode: Latch) -> Latcher {
        Latcher {
            mode,
            ..Latcher::default()
        }
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// A packet arrived from `from`: Some(address) when the target moves.
    pub fn observe(&mut self, from: &RawAddr) -> Option<RawAddr> {
        match self.mode {
            Latch::Off => None,
            Latch::Follow => {
                if self.current.as_ref() == Some(from) {
                    return None;
                }
                self.current = Some(*from);
                Some(*from)
            }
            Latch::Lock { probation } => {
                if self.locked {
                    return None;
                }
                if self.candidate.as_ref() == Some(from) {
                    self.seen = self.seen.saturating_add(1);
                } else {
                    self.candidate = Some(*from);
                    self.seen = 1;
                }
                if self.seen < probation.max(1) {
                    return None;
                }
                self.locked = true;
                self.current = Some(*from);
                Some(*from)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> RawAddr {
        RawAddr::from(s.parse::<std::net::SocketAddr>().unwrap())
    }

    #[test]
    fn off_never_moves() {
        let mut l = Latcher::new(Latch::Off);
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
    }

    #[test]
    fn lock_takes_the_first_and_keeps_it() {
        let mut l = Latcher::new(Latch::Lock { probation: 0 });
        assert_eq!(l.observe(&a("10.0.0.1:5")), Some(a("10.0.0.1:5")));
        assert!(l.is_locked());
        assert_eq!(l.observe(&a("10.0.0.2:5")), None);
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
    }

    #[test]
    fn probation_needs_n_in_a_row_from_one_source() {
        let mut l = Latcher::new(Latch::Lock { probation: 3 });
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
        // a stray packet restarts the count for the new source
        assert_eq!(l.observe(&a("10.0.0.9:5")), None);
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
        assert_eq!(l.observe(&a("10.0.0.1:5")), None);
        assert!(!l.is_locked());
        assert_eq!(l.observe(&a("10.0.0.1:5")), Some(a("10.0.0.1:5")));
        assert!(l.is_locked());
        assert_eq!(l.observe(&a("10.0.0.9:5")), None);
    }

    #[test]
    fn follow_moves_on_every_change_only() {
        let mut l = Latcher::new(Latch::Follow);
        assert_eq!(l.observe(&a("[::1]:5")), Some(a("[::1]:5")));
        assert_eq!(l.observe(&a("[::1]:5")), None);
        assert_eq!(l.observe(&a("[::1]:6")), Some(a("[::1]:6")));
        assert_eq!(l.observe(&a("[::1]:5")), Some(a("[::1]:5")));
    }
}
