//! Regression tests for jitter-buffer findings of the fuzzers and the
//! differential harness (see docs/fuzzing.md). Each test is named after what
//! was found.

use rtpsynth::jbuf::{Erasure, Frame, JitterBuffer, Sink};

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Ers(u64, u64, u32),
    Ready(u64, u16),
    Run,
    Drop(u64, u16),
}

#[derive(Default)]
struct Rec(Vec<Ev>);

impl Sink<u16> for Rec {
    fn erasure(&mut self, e: Erasure) {
        self.0.push(Ev::Ers(e.lseq_start, e.lseq_end, e.ts_diff));
    }
    fn ready(&mut self, f: Frame<u16>) {
        self.0.push(Ev::Ready(f.lseq, f.item));
    }
    fn drop_run(&mut self) {
        self.0.push(Ev::Run);
    }
    fn dropped(&mut self, f: Frame<u16>) {
        self.0.push(Ev::Drop(f.lseq, f.item));
    }
}

fn feed(jb: &mut JitterBuffer<u16>, seq: u16) -> Vec<Ev> {
    let mut r = Rec::default();
    if let Some(f) = jb.purge_stale_tail() {
        r.drop_run();
        r.dropped(f);
    }
    jb.insert(seq, seq as u32 * 160, seq, &mut r);
    r.0
}

fn flush(jb: &mut JitterBuffer<u16>) -> Vec<Ev> {
    let mut r = Rec::default();
    jb.flush(&mut r);
    r.0
}

/// fuzz_jbuf: a stream whose first packets are just after a wrap (seq 300)
/// followed by a packet from before the wrap (seq 65535) gave it lseq
/// 2^64-1. A flush then delivered it behind an erasure 0..2^64-2 (the
/// original traps dividing by zero there), and since 2^64-1 is the "nothing
/// delivered yet" sentinel the buffer restarted and delivered lseq 65535
/// again: lseq went backwards and frames were reported twice.
#[test]
fn pre_wrap_straggler_before_any_wrap_is_dropped_as_late() {
    // (capacity 1 purges seq 300 before 65535 arrives: no straggler there)
    for cap in [2u32, 5, 64] {
        let mut jb = JitterBuffer::new(cap);
        let mut delivered: Vec<u64> = Vec::new();
        let mut take = |evs: Vec<Ev>, delivered: &mut Vec<u64>| {
            for e in evs {
                if let Ev::Ready(l, _) = e {
                    delivered.push(l);
                }
            }
        };
        take(feed(&mut jb, 300), &mut delivered);
        let evs = feed(&mut jb, 65535);
        assert!(evs.contains(&Ev::Drop(u64::MAX, 65535)), "cap {cap}: {evs:?}");
        assert_eq!(jb.stats().late, 1);
        take(flush(&mut jb), &mut delivered);
        for s in 301..310 {
            take(feed(&mut jb, s), &mut delivered);
        }
        take(feed(&mut jb, 65534), &mut delivered);
        take(flush(&mut jb), &mut delivered);
        assert!(delivered.windows(2).all(|w| w[0] < w[1]), "cap {cap}: {delivered:?}");
        assert!(delivered.iter().all(|&l| l < 0x10000), "cap {cap}: {delivered:?}");
        assert_eq!(delivered.first(), Some(&300));
        assert_eq!(delivered.last(), Some(&309));
    }
}

/// The same straggler after a real wrap keeps the original's behaviour: it
/// is placed before the wrap (lseq 65535) and is simply late.
#[test]
fn pre_wrap_straggler_after_a_wrap_keeps_original_lseq() {
    let mut jb = JitterBuffer::new(4);
    let mut all = Vec::new();
    for s in 65533..=65535u16 {
        all.extend(feed(&mut jb, s));
    }
    all.extend(feed(&mut jb, 0));
    all.extend(feed(&mut jb, 1));
    all.extend(feed(&mut jb, 65534));
    assert!(all.contains(&Ev::Ready(0x10000, 0)), "{all:?}");
    assert!(all.contains(&Ev::Drop(65534, 65534)), "{all:?}");
}
