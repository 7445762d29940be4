use super::*;

#[derive(Debug, PartialEq, Eq)]
enum Out {
    Ers(u64, u64, u32),
    Ready(u64),
    Run,
    Drop(u64),
}

#[derive(Default)]
struct Rec(Vec<Out>);

impl Sink<u32> for Rec {
    fn erasure(&mut self, e: Erasure) {
        self.0.push(Out::Ers(e.lseq_start, e.lseq_end, e.ts_diff));
    }
    fn ready(&mut self, f: Frame<u32>) {
        self.0.push(Out::Ready(f.lseq));
    }
    fn drop_run(&mut self) {
        self.0.push(Out::Run);
    }
    fn dropped(&mut self, f: Frame<u32>) {
        self.0.push(Out::Drop(f.lseq));
    }
}

/// A minimal RTP datagram with `seq` and timestamp `seq * 160`.
fn datagram(seq: u16) -> [u8; 12] {
    let mut p = [0x80, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(seq as u32 * 160).to_be_bytes());
    p
}

fn feed(jb: &mut JitterBuffer<u32>, seq: u16) -> Vec<Out> {
    let mut r = Rec::default();
    jb.udp_in(&datagram(seq), || Some(seq as u32), |_, _| {}, &mut r)
        .expect("a valid datagram");
    r.0
}

use Out::*;

#[test]
fn in_order_after_lseq_zero_is_immediate() {
    let mut jb = JitterBuffer::new(8);
    assert_eq!(feed(&mut jb, 0), vec![Ready(0)]);
    assert_eq!(feed(&mut jb, 1), vec![Ready(1)]);
    assert!(jb.is_empty());
}

#[test]
fn warm_up_waits_for_capacity() {
    let mut jb = JitterBuffer::new(3);
    assert!(feed(&mut jb, 5).is_empty());
    assert!(feed(&mut jb, 6).is_empty());
    assert_eq!(feed(&mut jb, 7), vec![Ready(5), Ready(6), Ready(7)]);
    assert_eq!(feed(&mut jb, 8), vec![Ready(8)]);
}

#[test]
fn gap_released_with_erasure_when_full() {
    let mut jb = JitterBuffer::new(3);
    feed(&mut jb, 0);
    assert!(feed(&mut jb, 3).is_empty());
    assert!(feed(&mut jb, 4).is_empty());
    assert_eq!(feed(&mut jb, 6), vec![Ers(1, 2, 320), Ready(3), Ready(4)]);
    // 5 now fills the gap to 6
    assert_eq!(feed(&mut jb, 5), vec![Ready(5), Ready(6)]);
}

#[test]
fn reorder_dup_and_late() {
    let mut jb = JitterBuffer::new(8);
    feed(&mut jb, 0);
    assert!(feed(&mut jb, 2).is_empty());
    assert_eq!(feed(&mut jb, 2), vec![Run, Drop(2)]);
    assert_eq!(feed(&mut jb, 1), vec![Ready(1), Ready(2)]);
    assert_eq!(feed(&mut jb, 1), vec![Run, Drop(1)]);
    assert_eq!(feed(&mut jb, 0), vec![Run, Drop(0)]);
    let st = jb.stats();
    assert_eq!((st.dup, st.late), (1, 2));
}

#[test]
fn flush_drops_all_runs_but_last() {
    let mut jb = JitterBuffer::new(16);
    feed(&mut jb, 0);
    for s in [3, 4, 7, 10, 11] {
        assert!(feed(&mut jb, s).is_empty());
    }
    let mut r = Rec::default();
    jb.flush(&mut r);
    // runs [3,4] [7] [10,11]: ers spans from the last delivered packet
    assert_eq!(
        r.0,
        vec![
            Run,
            Drop(3),
            Drop(4),
            Run,
            Drop(7),
            Ers(1, 9, 1440),
            Ready(10),
            Ready(11)
        ]
    );
    assert!(jb.is_empty());
    assert_eq!(feed(&mut jb, 12), vec![Ready(12)]);
}

/// A packet far ahead of the held ones moves them from the direct-mapped
/// window to the sorted ring; order, duplicates and flush are the same
/// there, and the window takes over again once the ring is empty.
#[test]
fn far_ahead_packet_behind_held_ones() {
    let mut jb = JitterBuffer::new(8);
    feed(&mut jb, 0);
    assert!(feed(&mut jb, 2).is_empty());
    assert!(feed(&mut jb, 3).is_empty());
    assert!(feed(&mut jb, 1000).is_empty());
    assert_eq!(feed(&mut jb, 3), vec![Run, Drop(3)]);
    assert_eq!(feed(&mut jb, 1), vec![Ready(1), Ready(2), Ready(3)]);
    assert!(feed(&mut jb, 5).is_empty());
    assert!(feed(&mut jb, 999).is_empty());
    let mut r = Rec::default();
    jb.flush(&mut r);
    assert_eq!(
        r.0,
        vec![Run, Drop(5), Ers(4, 998, 159_200), Ready(999), Ready(1000)]
    );
    assert!(jb.is_empty());
    assert_eq!(feed(&mut jb, 1001), vec![Ready(1001)]);
    assert!(feed(&mut jb, 1003).is_empty());
    assert_eq!(feed(&mut jb, 1002), vec![Ready(1002), Ready(1003)]);
    assert_eq!(jb.stats().dup, 1);
}

/// After the purge empties the buffer right behind a delivery, the next
/// packet is filed unchecked as the original does; at the next packet that
/// parses (where the original asserts and aborts) it gets the wrap-out
/// rule against the last delivered packet, or is dropped as late.
#[test]
fn packet_filed_behind_the_last_delivered_one_is_settled_next_call() {
    let mut jb = JitterBuffer::new(2);
    assert!(feed(&mut jb, 65532).is_empty());
    assert_eq!(feed(&mut jb, 65534), vec![Ready(65532)]);
    assert_eq!(feed(&mut jb, 65534), vec![Run, Drop(65534)]);
    // 5 is held as lseq 5, behind 65532
    assert_eq!(feed(&mut jb, 5), vec![Run, Drop(65534)]);
    // (ts_diff: `datagram`'s timestamps are seq * 160, which fall back at
    // the wrap)
    assert_eq!(
        feed(&mut jb, 6),
        vec![Ers(65533, 65540, 467_899_192), Ready(65541), Ready(65542)]
    );
    assert_eq!(jb.stats().seq_wraps, 1);

    let mut jb = JitterBuffer::new(2);
    assert!(feed(&mut jb, 1000).is_empty());
    assert_eq!(feed(&mut jb, 1002), vec![Ready(1000)]);
    assert_eq!(feed(&mut jb, 1002), vec![Run, Drop(1002)]);
    // 990 is held, behind 1000
    assert_eq!(feed(&mut jb, 990), vec![Run, Drop(1002)]);
    let late = jb.stats().late;
    assert_eq!(feed(&mut jb, 1003), vec![Run, Drop(990)]);
    assert_eq!(jb.stats().late, late + 1);
    assert_eq!(feed(&mut jb, 1001), vec![Ready(1001)]);
    // 1003 was passed over twice: stale at capacity 2
    assert_eq!(feed(&mut jb, 1002), vec![Run, Drop(1003), Ready(1002)]);
}

#[test]
fn sequence_wrap_and_prewrap_straggler() {
    let mut jb = JitterBuffer::new(4);
    feed(&mut jb, 0);
    for s in 1..=65534u16 {
        assert_eq!(feed(&mut jb, s), vec![Ready(s as u64)]);
    }
    assert!(feed(&mut jb, 0).is_empty()); // 65535 missing: held as lseq 65536
    assert_eq!(feed(&mut jb, 65535), vec![Ready(65535), Ready(65536)]);
    assert_eq!(feed(&mut jb, 1), vec![Ready(65537)]);
    assert_eq!(feed(&mut jb, 65533), vec![Run, Drop(65533)]);
    assert_eq!(jb.stats().seq_wraps, 1);
}

#[test]
fn stale_tail_is_purged_after_capacity_calls() {
    let mut jb = JitterBuffer::new(3);
    feed(&mut jb, 0);
    assert!(feed(&mut jb, 2).is_empty());
    assert!(feed(&mut jb, 1000).is_empty());
    // two held (>= capacity - 1): every call ages the tail (1000)
    assert_eq!(feed(&mut jb, 2), vec![Run, Drop(2)]);
    assert_eq!(feed(&mut jb, 2), vec![Run, Drop(2)]);
    assert_eq!(feed(&mut jb, 2), vec![Run, Drop(1000), Run, Drop(2)]);
    assert_eq!(feed(&mut jb, 1), vec![Ready(1), Ready(2)]);
    assert!(jb.is_empty());
}

#[test]
fn full_buffer_releases_head_run_with_erasure() {
    let mut jb = JitterBuffer::new(3);
    feed(&mut jb, 0);
    feed(&mut jb, 2);
    feed(&mut jb, 1000);
    assert_eq!(feed(&mut jb, 3), vec![Ers(1, 1, 160), Ready(2), Ready(3)]);
}

#[test]
fn huge_gap_erasure_does_not_divide_by_zero() {
    let jb = JitterBuffer::<u32> {
        last_lseq: 5,
        last_ts: 0,
        ..JitterBuffer::new(4)
    };
    let e = jb.erasure_before(6 + u32::MAX as u64, 1000).unwrap();
    assert_eq!(e.ts_diff, 1000);
}

#[test]
fn drain_delivers_every_run_in_order() {
    let mut jb = JitterBuffer::new(16);
    feed(&mut jb, 0);
    for s in [3, 4, 7, 10, 11] {
        assert!(feed(&mut jb, s).is_empty());
    }
    let mut r = Rec::default();
    jb.drain(&mut r);
    assert_eq!(
        r.0,
        vec![
            Ers(1, 2, 320),
            Ready(3),
            Ready(4),
            Ers(5, 6, 320),
            Ready(7),
            Ers(8, 9, 320),
            Ready(10),
            Ready(11)
        ]
    );
    assert!(jb.is_empty());
    assert_eq!(feed(&mut jb, 12), vec![Ready(12)]);
    assert_eq!(feed(&mut jb, 11), vec![Run, Drop(11)]);
}

#[test]
fn drain_during_warm_up_has_no_leading_erasure() {
    let mut jb = JitterBuffer::new(16);
    for s in [5, 6, 9] {
        assert!(feed(&mut jb, s).is_empty());
    }
    let mut r = Rec::default();
    jb.drain(&mut r);
    assert_eq!(r.0, vec![Ready(5), Ready(6), Ers(7, 8, 320), Ready(9)]);
    let mut r = Rec::default();
    jb.drain(&mut r);
    assert!(r.0.is_empty());
}

/// The failures of `udp_in` keep what the purge released, as the original
/// returns its `drop` list with the error; nothing is filed.
#[test]
fn udp_in_failures_keep_the_purged_tail() {
    let aged = || {
        let mut jb = JitterBuffer::new(3);
        feed(&mut jb, 0);
        assert!(feed(&mut jb, 2).is_empty());
        assert!(feed(&mut jb, 1000).is_empty());
        assert_eq!(feed(&mut jb, 2), vec![Run, Drop(2)]);
        assert_eq!(feed(&mut jb, 2), vec![Run, Drop(2)]);
        jb // the next call purges 1000
    };
    let mut jb = aged();
    let mut r = Rec::default();
    let bad = [0x40u8; 12]; // version 1
    let e = jb.udp_in(&bad, || Some(7), |_, _| {}, &mut r);
    assert_eq!(
        e,
        Err(InputError::Parse(crate::rtp::ParseError {
            kind: crate::rtp::ParseErrorKind::BadVersion,
            data_offset: 0
        }))
    );
    assert_eq!(r.0, vec![Run, Drop(1000)]);
    assert_eq!(jb.len(), 1);

    let mut jb = aged();
    let mut r = Rec::default();
    let mut filled = false;
    let e = jb.udp_in(&datagram(3), || None, |_, _| filled = true, &mut r);
    assert_eq!(e, Err(InputError::NoMemory));
    assert!(!filled);
    assert_eq!(r.0, vec![Run, Drop(1000)]);
    assert_eq!(jb.len(), 1);
}

#[test]
fn udp_in_fills_the_item_with_the_parse() {
    let mut jb = JitterBuffer::<(u16, u32)>::new(4);
    struct Keep(Vec<(u16, u32)>);
    impl Sink<(u16, u32)> for Keep {
        fn erasure(&mut self, _: Erasure) {}
        fn ready(&mut self, f: Frame<(u16, u32)>) {
            self.0.push(f.item);
        }
        fn drop_run(&mut self) {}
        fn dropped(&mut self, _: Frame<(u16, u32)>) {}
    }
    let mut k = Keep(Vec::new());
    let fill = |it: &mut (u16, u32), p: &crate::rtp::Parsed| *it = (p.seq, p.ts);
    jb.udp_in(&datagram(0), || Some((0, 0)), fill, &mut k)
        .unwrap();
    assert_eq!(k.0, vec![(0, 0)]);
    jb.udp_in(&datagram(1), || Some((9, 9)), fill, &mut k)
        .unwrap();
    assert_eq!(k.0, vec![(0, 0), (1, 160)]);
}
