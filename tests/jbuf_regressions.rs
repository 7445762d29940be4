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

/// A minimal RTP datagram with `seq` and timestamp `seq * 160`.
fn datagram(seq: u16) -> [u8; 12] {
    let mut p = [0x80, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(seq as u32 * 160).to_be_bytes());
    p
}

fn feed(jb: &mut JitterBuffer<u16>, seq: u16) -> Vec<Ev> {
    let mut r = Rec::default();
    jb.udp_in(&datagram(seq), || Some(seq), |_, _| {}, &mut r)
        .expect("a valid datagram");
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
        let take = |evs: Vec<Ev>, delivered: &mut Vec<u64>| {
            for e in evs {
                if let Ev::Ready(l, _) = e {
                    delivered.push(l);
                }
            }
        };
        take(feed(&mut jb, 300), &mut delivered);
        let evs = feed(&mut jb, 65535);
        assert!(
            evs.contains(&Ev::Drop(u64::MAX, 65535)),
            "cap {cap}: {evs:?}"
        );
        assert_eq!(jb.stats().late, 1);
        take(flush(&mut jb), &mut delivered);
        for s in 301..310 {
            take(feed(&mut jb, s), &mut delivered);
        }
        take(feed(&mut jb, 65534), &mut delivered);
        take(flush(&mut jb), &mut delivered);
        assert!(
            delivered.windows(2).all(|w| w[0] < w[1]),
            "cap {cap}: {delivered:?}"
        );
        assert!(
            delivered.iter().all(|&l| l < 0x10000),
            "cap {cap}: {delivered:?}"
        );
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

fn ready_lseqs(evs: &[Ev]) -> Vec<u64> {
    evs.iter()
        .filter_map(|e| {
            if let Ev::Ready(l, _) = e {
                Some(*l)
            } else {
                None
            }
        })
        .collect()
}

/// fuzz_jbuf: when purge_stale_tail empties the buffer (its stale tail was
/// the only packet held), the next packet takes the "fresh buffer" path that
/// skips the late check, as in the original, and is held behind the last
/// delivered one. It was once delivered behind an erasure running
/// backwards (lseq_end < lseq_start), lseq going backwards. The original
/// abort()s on the next call that parses; there it is dropped as late.
#[test]
fn late_packet_after_stale_purge_emptied_buffer_is_dropped() {
    let mut jb = JitterBuffer::new(2);
    let mut evs = Vec::new();
    for s in [65499u16, 65500, 65510] {
        evs.extend(feed(&mut jb, s)); // warm-up release, then 65510 held
    }
    evs.extend(feed(&mut jb, 65500)); // duplicate; 65510 aged once
    let e = feed(&mut jb, 65499); // 65510 purged as stale; 65499 held
    assert_eq!(e, vec![Ev::Run, Ev::Drop(65510, 65510)]);
    assert_eq!((jb.len(), jb.stats().late, jb.stats().dup), (1, 0, 1));
    evs.extend(e);
    let e = feed(&mut jb, 65501);
    assert_eq!(
        e,
        vec![Ev::Run, Ev::Drop(65499, 65499), Ev::Ready(65501, 65501)]
    );
    assert_eq!(jb.stats().late, 1);
    evs.extend(e);
    evs.extend(flush(&mut jb));
    assert_eq!(ready_lseqs(&evs), vec![65499, 65500, 65501]);
}

/// fuzz_jbuf, same path: a sequence wrap right after the purge emptied the
/// buffer was not recognised (the wrap-out rule looks at last_max_lseq, which
/// the purge had reset), so seq 2 after 65500 was filed, and delivered, as
/// lseq 2. It is filed so (as the original does), and given the wrap-out
/// rule against the last delivered packet on the next call, where the
/// original abort()s.
#[test]
fn wrap_after_stale_purge_emptied_buffer_is_detected() {
    let mut jb = JitterBuffer::new(2);
    let mut evs = Vec::new();
    for s in [65499u16, 65500, 65510, 65500, 65499] {
        evs.extend(feed(&mut jb, s));
    }
    // 65499 is held, behind 65500; on the next call it is dropped as late,
    // and 2 is held as lseq 2
    assert_eq!(jb.len(), 1);
    assert_eq!(feed(&mut jb, 2), vec![Ev::Run, Ev::Drop(65499, 65499)]);
    assert_eq!(jb.stats().seq_wraps, 0);
    let e = feed(&mut jb, 3); // 2 becomes 65538: 65501..65537 missing
    assert_eq!(jb.stats().seq_wraps, 1);
    let ts_gap = (2u32 * 160).wrapping_sub(65500 * 160);
    assert_eq!(e[0], Ev::Ers(65501, 65537, ts_gap.wrapping_mul(37) / 38)); // 32-bit, as the original
    assert_eq!(ready_lseqs(&e), vec![65538, 65539]);
}

/// fuzz_jbuf: a capacity-1 buffer keeps the original's path above, so it can
/// hold a packet behind the last delivered one until the next call purges
/// it; a flush in between delivered it (lseq backwards, backwards erasure).
/// The original abort()s in that flush.
#[test]
fn flush_drops_held_late_packet_capacity_one() {
    let mut jb = JitterBuffer::new(1);
    assert_eq!(ready_lseqs(&feed(&mut jb, 0)), vec![0]);
    assert_eq!(ready_lseqs(&feed(&mut jb, 1)), vec![1]);
    assert!(feed(&mut jb, 5).is_empty());
    assert_eq!(feed(&mut jb, 0), vec![Ev::Run, Ev::Drop(5, 5)]); // 0 now held
    assert_eq!(flush(&mut jb), vec![Ev::Run, Ev::Drop(0, 0)]);
    assert!(jb.is_empty());
    assert_eq!(ready_lseqs(&feed(&mut jb, 2)), vec![2]);
}
