//! Statistics against hand-computed RFC 3550 appendix A figures.

use super::*;

const MS: u64 = 1_000_000;

/// Feed `seqs` at 8 kHz, 20 ms apart, timestamps 160 apart by sequence.
fn feed(st: &mut RecvStats, seqs: &[u16]) -> Vec<SeqStatus> {
    let mut out = vec![];
    for (i, &s) in seqs.iter().enumerate() {
        out.push(st.on_rtp(s, (s as u32).wrapping_mul(160), i as u64 * 20 * MS, 160));
    }
    out
}

#[test]
fn probation_then_valid() {
    let mut st = RecvStats::new(8000);
    assert_eq!(st.on_rtp(10, 0, 0, 160), SeqStatus::Probation);
    assert!(!st.is_valid());
    assert_eq!((st.received(), st.expected(), st.packets()), (0, 0, 1));
    assert_eq!(st.on_rtp(11, 160, 20 * MS, 160), SeqStatus::Validated);
    assert!(st.is_valid());
    assert_eq!((st.received(), st.expected(), st.lost()), (2, 2, 0));
}

#[test]
fn probation_restarts_on_a_gap() {
    let mut st = RecvStats::new(8000);
    let r = feed(&mut st, &[10, 20, 21, 22]);
    use SeqStatus::*;
    assert_eq!(r, vec![Probation, Probation, Validated, Valid]);
    // Counted from 20.
    assert_eq!(
        (st.received(), st.expected(), st.lost(), st.packets()),
        (3, 3, 0, 4)
    );
}

#[test]
fn probation_across_the_wrap() {
    let mut st = RecvStats::new(8000);
    let r = feed(&mut st, &[65535, 0, 1]);
    assert_eq!(r[1], SeqStatus::Validated);
    // Cycles count from validation (A.1's init_seq at 0), the run counted
    // from 65535.
    assert_eq!((st.expected(), st.ext_max_seq(), st.lost()), (3, 1, 0));
}

#[test]
fn clean_stream_across_the_wrap() {
    let mut st = RecvStats::new(8000);
    let seqs: Vec<u16> = (0..100u16).map(|i| 65530u16.wrapping_add(i)).collect();
    feed(&mut st, &seqs);
    assert_eq!(
        (st.received(), st.expected(), st.lost(), st.duplicates()),
        (100, 100, 0, 0)
    );
    // 65530 + 99 = 65629 = one cycle + 93.
    assert_eq!(st.ext_max_seq(), 65629);
    let rb = st.report_block(7, 0);
    assert_eq!(rb.ext_highest_seq, 65629);
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, 0));
}

#[test]
fn loss_and_fraction_per_interval() {
    let mut st = RecvStats::new(8000);
    let seqs: Vec<u16> = (0..20).filter(|s| ![5, 6, 10].contains(s)).collect();
    feed(&mut st, &seqs);
    assert_eq!((st.expected(), st.received(), st.lost()), (20, 17, 3));
    let rb = st.report_block(1, 0);
    // 3 * 256 / 20 = 38.4
    assert_eq!(
        (rb.fraction_lost, rb.cumulative_lost, rb.ext_highest_seq),
        (38, 3, 19)
    );
    // A clean interval: fraction 0, cumulative stays.
    let seqs: Vec<u16> = (20..30).collect();
    feed(&mut st, &seqs);
    let rb = st.report_block(1, 0);
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, 3));
    // An interval with 1 of 4 lost: 64/256.
    feed(&mut st, &[30, 31, 33]);
    let rb = st.report_block(1, 0);
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (64, 4));
    // Nothing received at all in an interval: no new expected, fraction 0.
    let rb = st.report_block(1, 0);
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, 4));
}

#[test]
fn everything_lost_in_an_interval_is_255() {
    let mut st = RecvStats::new(8000);
    feed(&mut st, &[0, 1]);
    st.report_block(1, 0);
    // A jump of 100: 98 lost, 1 received: 98*256/99 = 253.
    feed(&mut st, &[100]);
    assert_eq!(st.report_block(1, 0).fraction_lost, 253);
}

#[test]
fn duplicates_make_lost_negative() {
    let mut st = RecvStats::new(8000);
    let r = feed(&mut st, &[0, 1, 2, 3, 4, 4, 5, 6, 3, 7, 8, 9, 9]);
    assert_eq!(r[5], SeqStatus::Duplicate);
    assert_eq!(r[8], SeqStatus::Duplicate);
    assert_eq!(r[12], SeqStatus::Duplicate);
    assert_eq!(
        (st.expected(), st.received(), st.duplicates(), st.packets()),
        (10, 13, 3, 13)
    );
    assert_eq!(st.lost(), -3);
    let rb = st.report_block(1, 0);
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, -3));
}

#[test]
fn reordering_is_not_loss() {
    let mut st = RecvStats::new(8000);
    let r = feed(&mut st, &[0, 1, 2, 4, 3, 5, 7, 6]);
    assert!(r[2..].iter().all(|s| *s == SeqStatus::Valid));
    assert_eq!(
        (st.expected(), st.received(), st.lost(), st.duplicates()),
        (8, 8, 0, 0)
    );
    assert_eq!(st.ext_max_seq(), 7);
}

#[test]
fn reordering_across_the_wrap() {
    let mut st = RecvStats::new(8000);
    feed(&mut st, &[65533, 65534, 0, 65535, 1]);
    assert_eq!((st.expected(), st.received(), st.lost()), (5, 5, 0));
    assert_eq!(st.ext_max_seq(), 65537);
}

#[test]
fn restart_after_a_large_jump() {
    let mut st = RecvStats::new(8000);
    let seqs: Vec<u16> = (0..10).collect();
    feed(&mut st, &seqs);
    use SeqStatus::*;
    let r = feed(&mut st, &[5000, 5001, 5002]);
    assert_eq!(r, vec![Jump, Restarted, Valid]);
    // Counted again from 5000, as a new stream.
    assert_eq!((st.expected(), st.received(), st.lost()), (3, 3, 0));
    assert_eq!(st.ext_max_seq(), 5002);
    assert_eq!(st.packets(), 13);
}

#[test]
fn a_single_stray_jump_is_ignored() {
    let mut st = RecvStats::new(8000);
    let r = feed(&mut st, &[0, 1, 2, 40000, 3, 4]);
    assert_eq!(r[3], SeqStatus::Jump);
    assert_eq!(
        (st.expected(), st.received(), st.lost(), st.packets()),
        (5, 5, 0, 6)
    );
    // A packet far behind (beyond MAX_MISORDER) is a jump too.
    let seqs: Vec<u16> = (5..300).collect();
    feed(&mut st, &seqs);
    assert_eq!(st.on_rtp(50, 0, 0, 0), SeqStatus::Jump);
    assert_eq!(st.lost(), 0);
}

#[test]
fn forward_gap_within_dropout_is_loss() {
    let mut st = RecvStats::new(8000);
    feed(&mut st, &[0, 1, 2999]);
    assert_eq!((st.expected(), st.received(), st.lost()), (3000, 3, 2997));
    // 3000 ahead is a jump (udelta == MAX_DROPOUT).
    assert_eq!(st.on_rtp(5999, 0, 0, 0), SeqStatus::Jump);
}

#[test]
fn duplicate_window_forgets_skipped_numbers() {
    let mut st = RecvStats::new(8000);
    let seqs: Vec<u16> = (0..200).collect();
    feed(&mut st, &seqs);
    assert_eq!(st.on_rtp(150, 0, 0, 0), SeqStatus::Duplicate);
    // 400 - 256 = 144: the bit of 350 once held 94, never received.
    assert_eq!(st.on_rtp(400, 0, 0, 0), SeqStatus::Valid);
    assert_eq!(st.on_rtp(350, 0, 0, 0), SeqStatus::Valid);
    assert_eq!(st.on_rtp(350, 0, 0, 0), SeqStatus::Duplicate);
    assert_eq!(st.on_rtp(301, 0, 0, 0), SeqStatus::Valid);
    assert_eq!(st.duplicates(), 2);
    // expected 401, received 200 + 1 dup + 400 + 350 + 350dup + 301.
    assert_eq!((st.expected(), st.received()), (401, 205));
    assert_eq!(st.lost(), 401 - 205);
}

#[test]
fn jitter_zero_on_a_perfect_clock() {
    let mut st = RecvStats::new(8000);
    let seqs: Vec<u16> = (0..50).collect();
    feed(&mut st, &seqs);
    assert_eq!(st.jitter(), 0.0);
    assert_eq!(st.max_jitter(), 0.0);
}

#[test]
fn jitter_under_alternating_delay() {
    // Every other packet 1 ms late: |D| = 8 timestamp units each time, so
    // J_n = 8 * (1 - (15/16)^n) after n differences.
    let mut st = RecvStats::new(8000);
    for i in 0..40u64 {
        let late = if i % 2 == 1 { MS } else { 0 };
        st.on_rtp(
            i as u16,
            i as u32 * 160,
            1_000 * MS + i * 20 * MS + late,
            160,
        );
        let n = i as i32;
        let want = 8.0 * (1.0 - (15.0f64 / 16.0).powi(n));
        assert!(
            (st.jitter() - want).abs() < 1e-9,
            "n={n} {} {want}",
            st.jitter()
        );
    }
    assert!((st.max_jitter() - st.jitter()).abs() < 1e-12);
    assert!((st.jitter_ms() - st.jitter() / 8.0).abs() < 1e-12);
    assert_eq!(st.report_block(1, 0).jitter, st.jitter() as u32);
}

#[test]
fn jitter_keeps_sub_unit_arrival_time() {
    // 0.1 ms late at 8 kHz is 0.8 timestamp units: J = 0.8 / 16.
    let mut st = RecvStats::new(8000);
    st.on_rtp(0, 0, 0, 0);
    st.on_rtp(1, 160, 20 * MS + 100_000, 0);
    assert!((st.jitter() - 0.05).abs() < 1e-12);
    // At 90 kHz, 1 us is 0.09 units.
    let mut st = RecvStats::new(90000);
    st.on_rtp(0, 0, 0, 0);
    st.on_rtp(1, 3000, 33_333_334, 0);
    // 33333334 ns * 90000 / 1e9 = 3000.00006; |D| = 0.00006.
    assert!((st.jitter() - 0.00006 / 16.0).abs() < 1e-12);
}

#[test]
fn max_jitter_holds_the_peak() {
    let mut st = RecvStats::new(8000);
    st.on_rtp(0, 0, 0, 0);
    st.on_rtp(1, 160, 40 * MS, 0); // 20 ms late: D = 160, J = 10
    assert!((st.jitter() - 10.0).abs() < 1e-12);
    st.on_rtp(2, 320, 60 * MS, 0); // D = 0: J = 10 - 10/16
    assert!((st.jitter() - 9.375).abs() < 1e-12);
    assert!((st.max_jitter() - 10.0).abs() < 1e-12);
    assert!((st.max_jitter_ms() - 1.25).abs() < 1e-12);
}

#[test]
fn jitter_over_the_timestamp_wrap() {
    let mut st = RecvStats::new(8000);
    st.on_rtp(0, u32::MAX - 79, 0, 0);
    st.on_rtp(1, 80, 20 * MS, 0);
    assert_eq!(st.jitter(), 0.0);
}

#[test]
fn unknown_clock_rate_leaves_jitter_zero() {
    let mut st = RecvStats::new(0);
    st.on_rtp(0, 0, 0, 0);
    st.on_rtp(1, 999, 5 * MS, 0);
    assert_eq!((st.jitter(), st.jitter_ms()), (0.0, 0.0));
}

#[test]
fn lsr_and_dlsr() {
    let mut st = RecvStats::new(8000);
    feed(&mut st, &[0, 1]);
    let rb = st.report_block(1, 5_000 * MS);
    assert_eq!((rb.lsr, rb.dlsr), (0, 0));
    st.on_sr(0x1122_3344_5566_7788, 1_000 * MS);
    let rb = st.report_block(1, 2_500 * MS);
    assert_eq!((rb.lsr, rb.dlsr), (0x3344_5566, 65536 + 32768));
    // An SR "from the future" gives a zero delay, never a wrap.
    assert_eq!(st.report_block(1, 0).dlsr, 0);
    assert_eq!(dlsr_units(u64::MAX), u32::MAX);
}

#[test]
fn cumulative_lost_is_clamped_in_the_block() {
    let mut st = RecvStats::new(8000);
    feed(&mut st, &[0, 1]);
    for _ in 0..0x80_0005 {
        st.on_rtp(1, 0, 0, 0);
    }
    assert_eq!(st.lost(), -0x80_0005);
    assert_eq!(st.report_block(1, 0).cumulative_lost, -0x80_0000);
}

#[test]
fn octets_sum_payloads() {
    let mut st = RecvStats::new(8000);
    st.on_rtp(0, 0, 0, 100);
    st.on_rtp(1, 0, 0, 60);
    st.on_rtp(1, 0, 0, 60);
    assert_eq!((st.octets(), st.packets()), (220, 3));
}
