//! Sender and receiver together: the sender's output checked packet by
//! packet against RFC 4733, and the receiver on crafted streams.

use super::*;
use crate::synth::Synth;

const PT: u8 = 101;

/// Every packet of one event, from `start` to idle.
fn send_all(tx: &mut EventSender, ev: u8, ts: u32, dur: u64) -> Vec<EventPacket> {
    tx.start(ev, ts, Some(dur)).unwrap();
    let mut v = Vec::new();
    while let Some(p) = tx.next_packet() {
        v.push(p);
        assert!(v.len() < 100_000);
    }
    v
}

/// RFC 4733 rules over one event's packets; returns the total duration.
fn check_rfc4733(pkts: &[EventPacket], ev: u8, ts0: u32, unit: u32, dur: u64) -> u64 {
    assert!(pkts[0].marker, "marker on the first packet");
    assert!(
        pkts[1..].iter().all(|p| !p.marker),
        "marker on the first packet only"
    );
    assert!(pkts
        .iter()
        .all(|p| p.payload.event == ev && p.payload.volume == 10));
    let n = pkts.len();
    // three identical end packets close the event, nothing with E before
    let last = pkts[n - 1];
    assert!(pkts[n - 3..]
        .iter()
        .all(|p| p.payload.end && (p.ts, p.payload) == (last.ts, last.payload)));
    assert!(pkts[..n - 3].iter().all(|p| !p.payload.end));
    let mut total = 0u64;
    let mut seg_ts = ts0;
    let mut prev_dur = 0u32;
    let mut i = 0;
    while i < n {
        let p = pkts[i];
        let d = p.payload.duration as u32;
        if p.ts != seg_ts {
            // a new segment follows a full one (RFC 4733 2.5.1.3), its
            // duration counting from the end of that one: the three packet
            // times of the full segment's final packets have passed
            assert_eq!(prev_dur, 0xffff);
            assert_eq!(p.ts, seg_ts.wrapping_add(0xffff));
            total += 0xffff;
            seg_ts = p.ts;
            assert!(d <= 4 * unit && (d >= 3 * unit || p.payload.end), "{d}");
            prev_dur = d - d.min(unit);
        }
        if d == 0xffff && !p.payload.end {
            // final packet of a segment: sent three times
            assert!(pkts[i..i + 3].iter().all(|q| *q == p));
            i += 3;
            prev_dur = d;
            continue;
        }
        if i < n - 3 {
            assert_eq!(d, prev_dur + unit, "duration grows by one packet time");
        } else if i == n - 3 {
            // the end: the final duration, in the last packet time
            assert!(d > prev_dur && d <= prev_dur + unit, "{d} after {prev_dur}");
        }
        prev_dur = d;
        i += 1;
    }
    total += prev_dur as u64;
    assert_eq!(total, dur);
    total
}

#[test]
fn sender_follows_rfc4733_at_8k_and_48k_10_20_30ms() {
    for rate in [8000u32, 48000] {
        for ptime in [10u32, 20, 30] {
            let mut tx = EventSender::new(rate, ptime).unwrap();
            let unit = tx.units_per_packet();
            assert_eq!(unit, rate * ptime / 1000);
            for ms in [ptime, 100, 125, 1000] {
                let dur = tx.units_from_ms(ms);
                let pkts = send_all(&mut tx, 5, 0xfffff000, dur);
                check_rfc4733(&pkts, 5, 0xfffff000, unit, dur);
                assert_eq!(pkts.len() as u64, dur.div_ceil(unit as u64) + 2);
                assert!(!tx.is_active());
            }
        }
    }
}

#[test]
fn sender_long_event_in_segments() {
    for (rate, ptime) in [(8000u32, 20u32), (48000, 30), (48000, 10)] {
        let mut tx = EventSender::new(rate, ptime).unwrap();
        let unit = tx.units_per_packet();
        for dur in [0xffffu64, 0x10000, 3 * 0xffff + 1234, 2 * 0xffff] {
            let pkts = send_all(&mut tx, 9, 1000, dur);
            check_rfc4733(&pkts, 9, 1000, unit, dur);
        }
    }
}

#[test]
fn sender_open_ended_finish_busy_and_bad_args() {
    assert_eq!(
        EventSender::new(0, 20).err(),
        Some(SendError::InvalidArgument)
    );
    assert_eq!(
        EventSender::new(8000, 0).err(),
        Some(SendError::InvalidArgument)
    );
    assert_eq!(
        EventSender::new(48000, 2000).err(),
        Some(SendError::InvalidArgument)
    );
    let mut tx = EventSender::new(8000, 20).unwrap();
    assert_eq!(tx.set_volume(64), Err(SendError::InvalidArgument));
    assert_eq!(tx.start(1, 0, Some(0)), Err(SendError::InvalidArgument));
    assert_eq!(tx.next_packet(), None);
    tx.start(1, 0, None).unwrap();
    assert_eq!(tx.start(2, 0, None), Err(SendError::Busy));
    let mut pkts: Vec<_> = (0..7).map_while(|_| tx.next_packet()).collect();
    assert_eq!(pkts.len(), 7);
    tx.finish();
    while let Some(p) = tx.next_packet() {
        pkts.push(p);
    }
    assert_eq!(pkts.len(), 10);
    check_rfc4733(&pkts, 1, 0, 160, 8 * 160);
    // abort: idle at once
    tx.start(3, 0, None).unwrap();
    tx.next_packet().unwrap();
    tx.abort();
    assert_eq!(tx.next_packet(), None);
}

/// The sender's packets as RTP through the drop-in generator, interleaved
/// with audio; returns (datagrams, audio timestamps seen after the event).
fn rtp_stream(synth: &mut Synth, tx: &mut EventSender, ev: u8, dur: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    tx.start(ev, synth.next_ts(), Some(dur)).unwrap();
    while let Some(p) = tx.next_packet() {
        buf[..4].copy_from_slice(&p.payload.encode());
        let n = synth
            .next_into_at(4, PT as i32, p.ts, p.marker, &mut buf, true)
            .unwrap();
        synth.skip(1);
        out.push(buf[..n].to_vec());
    }
    out
}

fn seq_rand() -> impl FnMut() -> u32 {
    let mut v = [0x5eed5eedu32, 0xfffff000, 0xfffe].into_iter();
    move || v.next().unwrap_or(0)
}

#[test]
fn audio_resumes_at_the_right_timestamp() {
    let mut s = Synth::new(8000, 20, seq_rand());
    let mut tx = EventSender::new(8000, 20).unwrap();
    let a0 = s.next_header(0);
    let ts0 = s.next_ts();
    let pkts = rtp_stream(&mut s, &mut tx, 7, 800);
    assert_eq!(pkts.len(), 7);
    let a1 = s.next_header(0);
    // seq continuous over audio, events, audio; audio ts = 7 packet times on
    let seq = |h: &[u8]| u16::from_be_bytes([h[2], h[3]]);
    assert_eq!(seq(&a0).wrapping_add(1), seq(&pkts[0]));
    assert_eq!(seq(&pkts[6]).wrapping_add(1), seq(&a1));
    assert_eq!(
        u32::from_be_bytes([a1[4], a1[5], a1[6], a1[7]]),
        ts0.wrapping_add(7 * 160)
    );
    for p in &pkts {
        assert_eq!(&p[4..8], &ts0.to_be_bytes());
        assert_eq!(p[1] & 0x7f, PT);
    }
    assert_eq!(a1[1] & 0x80, 0);
}

struct Rx {
    rx: EventReceiver,
    got: Vec<ReceivedEvent>,
}

impl Rx {
    fn new() -> Rx {
        Rx {
            rx: EventReceiver::new(PT, 300_000_000),
            got: Vec::new(),
        }
    }
    fn feed(&mut self, pkt: &[u8], t_ms: u64) -> PacketVerdict {
        let v = self.rx.push_rtp(pkt, t_ms * 1_000_000);
        while let Some(e) = self.rx.pop() {
            self.got.push(e);
        }
        v
    }
    fn poll(&mut self, t_ms: u64) {
        self.rx.poll(t_ms * 1_000_000);
        while let Some(e) = self.rx.pop() {
            self.got.push(e);
        }
    }
    fn summary(&self) -> Vec<(u8, u64, EndReason)> {
        self.got
            .iter()
            .map(|e| (e.event, e.duration, e.end))
            .collect()
    }
}

fn stream_of(evs: &[(u8, u64)]) -> (Vec<Vec<u8>>, Vec<usize>) {
    let mut s = Synth::new(8000, 20, seq_rand());
    let mut tx = EventSender::new(8000, 20).unwrap();
    let mut all = Vec::new();
    let mut starts = Vec::new();
    for &(ev, dur) in evs {
        starts.push(all.len());
        all.extend(rtp_stream(&mut s, &mut tx, ev, dur));
        // 60 ms of audio between digits
        for _ in 0..3 {
            s.next_header(0);
        }
    }
    (all, starts)
}

#[test]
fn receiver_clean_stream_once_each() {
    let (pkts, _) = stream_of(&[(1, 800), (2, 1600), (11, 480)]);
    let mut r = Rx::new();
    for (i, p) in pkts.iter().enumerate() {
        r.feed(p, 20 * i as u64);
    }
    assert_eq!(
        r.summary(),
        vec![
            (1, 800, EndReason::EndBit),
            (2, 1600, EndReason::EndBit),
            (11, 480, EndReason::EndBit)
        ]
    );
    assert_eq!(r.got[0].ts, 0xfffff000);
    assert_eq!(
        r.got[0].ssrc,
        u32::from_be_bytes(0x5eed5eedu32.to_ne_bytes())
    );
    r.poll(100_000);
    assert_eq!(r.got.len(), 3);
    let st = r.rx.stats();
    assert_eq!((st.packets, st.events), (pkts.len() as u64, 3));
}

#[test]
fn receiver_losses() {
    let (pkts, _) = stream_of(&[(4, 800)]); // 5 updates + 2 copies
                                            // first lost; a middle one lost; all three end packets lost
    let cases: [(&[usize], u64, EndReason); 4] = [
        (&[0], 800, EndReason::EndBit),
        (&[2], 800, EndReason::EndBit),
        (&[4, 5, 6], 640, EndReason::Timeout),
        (&[0, 1, 2, 3, 5, 6], 800, EndReason::EndBit),
    ];
    for (lost, dur, why) in cases {
        let mut r = Rx::new();
        let mut last = 0;
        for (i, p) in pkts.iter().enumerate() {
            if !lost.contains(&i) {
                last = 20 * i as u64;
                r.feed(p, last);
            }
        }
        r.poll(last + 299);
        if why == EndReason::Timeout {
            assert!(r.got.is_empty(), "not before the timeout");
        }
        r.poll(last + 300);
        assert_eq!(r.summary(), vec![(4, dur, why)], "lost {lost:?}");
    }
}

#[test]
fn receiver_end_lost_then_next_event_ends_it() {
    let (pkts, s) = stream_of(&[(4, 800), (4, 800)]);
    let mut r = Rx::new();
    for (i, p) in pkts.iter().enumerate() {
        if !(4..7).contains(&i) {
            r.feed(p, 20 * i as u64);
        }
        if i == s[1] {
            assert!(
                r.got.is_empty(),
                "one packet of the next event is not enough"
            );
        }
        if i == s[1] + 1 {
            assert_eq!(r.summary(), vec![(4, 640, EndReason::NextEvent)]);
        }
    }
    assert_eq!(
        r.summary(),
        vec![(4, 640, EndReason::NextEvent), (4, 800, EndReason::EndBit)]
    );
    assert_ne!(r.got[0].ts, r.got[1].ts);
}

#[test]
fn receiver_duplicates_and_back_to_back_same_digit() {
    let (pkts, _) = stream_of(&[(5, 480), (5, 480), (5, 480)]);
    let mut r = Rx::new();
    let mut dups = 0;
    for (i, p) in pkts.iter().enumerate() {
        r.feed(p, 20 * i as u64);
        if r.feed(p, 20 * i as u64) == PacketVerdict::Duplicate {
            dups += 1;
        }
    }
    assert_eq!(dups, pkts.len());
    assert_eq!(r.summary(), vec![(5, 480, EndReason::EndBit); 3]);
    // replaying the whole stream afterwards reports nothing more
    for p in &pkts {
        assert_eq!(r.feed(p, 10_000), PacketVerdict::Duplicate);
    }
    r.poll(100_000);
    assert_eq!(r.got.len(), 3);
}

#[test]
fn receiver_reordering_across_events() {
    let (pkts, s) = stream_of(&[(1, 800), (2, 800), (3, 800)]);
    // A's end packets after B's first two; C's first packet before B's last
    let mut order: Vec<usize> = (0..pkts.len()).collect();
    let a_end = order.remove(4);
    order.insert(s[1] + 1, a_end);
    let b_last = order.remove(s[2] - 1);
    order.insert(s[2] + 1, b_last);
    // and swap two updates inside C
    order.swap(s[2] + 2, s[2] + 3);
    let mut r = Rx::new();
    for (k, &i) in order.iter().enumerate() {
        r.feed(&pkts[i], 20 * k as u64);
    }
    assert_eq!(
        r.summary(),
        vec![
            (1, 800, EndReason::EndBit),
            (2, 800, EndReason::EndBit),
            (3, 800, EndReason::EndBit)
        ]
    );
}

#[test]
fn receiver_heavy_reordering_reports_once_in_order() {
    // A's packets delayed behind two of B's: A is over by then (it is
    // reported, once, with what was known, before B) and its late packets
    // are dropped as stale
    let (pkts, s) = stream_of(&[(1, 320), (2, 320)]);
    let mut r = Rx::new();
    r.feed(&pkts[s[1]], 0);
    r.feed(&pkts[0], 1);
    assert!(r.got.is_empty());
    for (k, p) in pkts[s[1] + 1..].iter().enumerate() {
        r.feed(p, 2 + k as u64);
    }
    for (k, p) in pkts[1..s[1]].iter().enumerate() {
        assert_eq!(r.feed(p, 20 + k as u64), PacketVerdict::Duplicate);
    }
    assert_eq!(
        r.summary(),
        vec![(1, 160, EndReason::NextEvent), (2, 320, EndReason::EndBit)]
    );
}

#[test]
fn receiver_long_event_segments_join() {
    let dur = 3 * 0xffff + 4000;
    let (pkts, _) = stream_of(&[(0, dur)]);
    for drop_segment_2 in [false, true] {
        let mut r = Rx::new();
        let seg_ts = |p: &[u8]| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        let second = seg_ts(&pkts[0]).wrapping_add(0xffff);
        for (i, p) in pkts.iter().enumerate() {
            if drop_segment_2 && seg_ts(p) == second {
                continue;
            }
            r.feed(p, 20 * i as u64);
        }
        assert_eq!(r.summary(), vec![(0, dur, EndReason::EndBit)]);
    }
}

#[test]
fn receiver_ssrc_change_mid_event() {
    let (pkts, _) = stream_of(&[(8, 1600)]);
    let other = |p: &[u8], ts_off: u32, marker: bool| {
        let mut q = p.to_vec();
        q[8..12].copy_from_slice(&[9, 9, 9, 9]);
        let ts = u32::from_be_bytes([q[4], q[5], q[6], q[7]]).wrapping_add(ts_off);
        q[4..8].copy_from_slice(&ts.to_be_bytes());
        q[1] = if marker { q[1] | 0x80 } else { q[1] & 0x7f };
        q
    };
    // rewritten stream goes on with the event: one event
    let mut r = Rx::new();
    for (i, p) in pkts.iter().enumerate() {
        let q = if i < 4 {
            p.clone()
        } else {
            other(p, 5000, false)
        };
        r.feed(&q, 20 * i as u64);
    }
    r.poll(10_000);
    assert_eq!(r.summary(), vec![(8, 1600, EndReason::EndBit)]);
    assert_eq!(r.got[0].ssrc, 0x09090909);
    // a new source starting a new event: the old one ends there
    let mut r = Rx::new();
    for p in &pkts[..4] {
        r.feed(p, 0);
    }
    let q = other(&pkts[0], 5000, true);
    r.feed(&q, 80);
    assert_eq!(r.summary(), vec![(8, 640, EndReason::SsrcChange)]);
    // a stray late packet of the old source is dropped
    assert_eq!(r.feed(&pkts[2], 81), PacketVerdict::Duplicate);
    r.poll(10_000);
    assert_eq!(r.summary()[1], (8, 160, EndReason::Timeout));
    assert_eq!(r.got.len(), 2);
}

#[test]
fn receiver_two_sources_of_one_event_do_not_add_up() {
    // A forked stream: each packet comes from two SSRCs with their own
    // timestamps, in bursts of three per source (the receiver follows one
    // source at a time, so the event hops between them). The duration is
    // what the sources say, not the sum of their progress between hops.
    let (pkts, _) = stream_of(&[(8, 1600)]);
    let fork = |p: &[u8]| {
        let mut q = p.to_vec();
        q[8..12].copy_from_slice(&[9, 9, 9, 9]);
        let ts = u32::from_be_bytes([q[4], q[5], q[6], q[7]]).wrapping_add(5000);
        q[4..8].copy_from_slice(&ts.to_be_bytes());
        q[1] &= 0x7f;
        q
    };
    let mut r = Rx::new();
    for (c, chunk) in pkts.chunks(3).enumerate() {
        for p in chunk {
            r.feed(p, 60 * c as u64);
        }
        for p in chunk {
            r.feed(&fork(p), 60 * c as u64 + 1);
        }
    }
    r.poll(10_000);
    let s = r.summary();
    // The first hop aligns the forked source's first packet (160) with
    // where the event stood (480): that offset of 320 is the only excess
    // (the first report ends at the first E bit, of either source). Summing
    // the progress of every hop gave 2080.
    assert!(!s.is_empty());
    assert!(
        s.iter().all(|&(ev, dur, end)| ev == 8
            && (1600..=1600 + 320).contains(&dur)
            && end == EndReason::EndBit),
        "{s:?}"
    );
}

#[test]
fn receiver_ignores_other_payload_types_and_junk() {
    let (pkts, _) = stream_of(&[(3, 320)]);
    let mut r = Rx::new();
    let mut audio = pkts[0].clone();
    audio[1] = 0;
    assert_eq!(r.feed(&audio, 0), PacketVerdict::Invalid);
    assert_eq!(r.feed(&pkts[0][..14], 0), PacketVerdict::Invalid);
    assert_eq!(r.feed(&[0u8; 3], 0), PacketVerdict::Invalid);
    for p in &pkts {
        r.feed(p, 1);
    }
    assert_eq!(r.summary(), vec![(3, 320, EndReason::EndBit)]);
    assert_eq!(r.rx.stats().invalid, 3);
}

#[test]
fn receiver_random_garbage_never_panics() {
    let mut st = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        st
    };
    let mut rx = EventReceiver::new(PT, 50_000_000);
    let mut n = 0;
    for i in 0..200_000u64 {
        let r = next();
        let mut p = [0u8; 16];
        p[0] = 0x80;
        p[1] = PT | ((r as u8) & 0x80);
        p[4..8].copy_from_slice(&((r >> 8) as u32 % 0x30000).to_be_bytes());
        p[8] = (r >> 40) as u8 & 1;
        p[12] = (r >> 41) as u8 & 3;
        p[13] = (r >> 43) as u8;
        p[14] = (r >> 51) as u8;
        p[15] = (r >> 59) as u8;
        rx.push_rtp(&p, i * 1_000_000);
        while rx.pop().is_some() {
            n += 1;
        }
    }
    rx.flush();
    while rx.pop().is_some() {
        n += 1;
    }
    assert_eq!(n as u64, rx.stats().events);
}
