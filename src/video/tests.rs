//! Tests across the video modules: packetizer -> assembler under loss,
//! reordering and duplication.

use super::assembler::{Assembler, DropReason, Output, PacketMeta};
use super::{annexb, Codec, Packetizer};

struct Pkt {
    meta: PacketMeta,
    payload: Vec<u8>,
}

/// Deterministic xorshift for the randomized tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A plausible frame of the codec: H.264 access units with parameter sets
/// on key frames, VP8/VP9 with the right key frame bits.
fn frame(codec: Codec, i: usize, rng: &mut Rng) -> Vec<u8> {
    let key = i % 10 == 0;
    let len = if key {
        4000 + rng.below(3000)
    } else {
        50 + rng.below(2500)
    } as usize;
    let body: Vec<u8> = (0..len).map(|_| rng.next() as u8 | 1).collect();
    match codec {
        Codec::H264 => {
            let mut au = Vec::new();
            if key {
                annexb::write_nal(&mut au, &[0x67, 0x42, 0xc0, 0x1e, 0xd9]);
                annexb::write_nal(&mut au, &[0x68, 0xce, 0x3c, 0x80]);
            }
            let slices = 1 + i % 3;
            for (k, part) in body.chunks(body.len().div_ceil(slices)).enumerate() {
                let mut nal = vec![
                    if key { 0x65 } else { 0x41 },
                    if k == 0 { 0x88 } else { 0x1a },
                ];
                nal.extend_from_slice(part);
                annexb::write_nal(&mut au, &nal);
            }
            au
        }
        Codec::Vp8 => {
            let mut f = body;
            f[0] = if key { 0x10 } else { 0x11 };
            f
        }
        Codec::Vp9 => {
            let mut f = body;
            f[0] = if key { 0x82 } else { 0x86 };
            f
        }
    }
}

fn stream(codec: Codec, frames: &[Vec<u8>], mtu_payload: usize, seq0: u16) -> Vec<Pkt> {
    let mut p = Packetizer::new(codec, mtu_payload, 100).unwrap();
    let mut out = Vec::new();
    let mut seq = seq0;
    for (i, f) in frames.iter().enumerate() {
        let ts = 1000u32.wrapping_add(3000 * i as u32);
        p.packetize(f, |h, b, last| {
            let mut payload = h.to_vec();
            payload.extend_from_slice(b);
            out.push(Pkt {
                meta: PacketMeta {
                    seq,
                    ts,
                    marker: last,
                    arrival_ns: 0,
                    recovered: false,
                },
                payload,
            });
            seq = seq.wrapping_add(1);
        })
        .unwrap();
    }
    out
}

/// Everything the assembler returns, as (ts, frame) or drops.
fn drain(
    a: &mut Assembler,
    now: u64,
    frames: &mut Vec<(u32, Vec<u8>, bool)>,
    drops: &mut Vec<(u32, DropReason)>,
) {
    while let Some(o) = a.poll(now) {
        match o {
            Output::Frame(info, data) => frames.push((info.ts, data.to_vec(), info.keyframe)),
            Output::Dropped(d) => drops.push((d.ts, d.reason)),
        }
    }
}

const CODECS: [Codec; 3] = [Codec::H264, Codec::Vp8, Codec::Vp9];

#[test]
fn in_order_stream_rebuilds_every_frame() {
    for codec in CODECS {
        let mut rng = Rng(7);
        let frames: Vec<Vec<u8>> = (0..40).map(|i| frame(codec, i, &mut rng)).collect();
        let pkts = stream(codec, &frames, 1188, 65500);
        let mut a = Assembler::new(codec, 1024, 1_000_000);
        let (mut got, mut drops) = (Vec::new(), Vec::new());
        for p in &pkts {
            a.insert(p.meta, &p.payload);
            drain(&mut a, 0, &mut got, &mut drops);
        }
        assert!(drops.is_empty(), "{codec:?}: {drops:?}");
        assert_eq!(got.len(), frames.len(), "{codec:?}");
        for (i, (ts, data, key)) in got.iter().enumerate() {
            assert_eq!(*ts, 1000 + 3000 * i as u32);
            assert_eq!(data, &frames[i], "{codec:?} frame {i}");
            assert_eq!(*key, i % 10 == 0);
        }
    }
}

#[test]
fn reordering_and_duplicates_change_nothing() {
    for codec in CODECS {
        let mut rng = Rng(99);
        let frames: Vec<Vec<u8>> = (0..60).map(|i| frame(codec, i, &mut rng)).collect();
        let pkts = stream(codec, &frames, 500, 10);
        // shuffle within windows of 8 and send 10 % twice
        let mut order: Vec<usize> = (0..pkts.len()).collect();
        for w in order.chunks_mut(8) {
            for k in (1..w.len()).rev() {
                w.swap(k, rng.below(k as u64 + 1) as usize);
            }
        }
        let mut a = Assembler::new(codec, 1024, 1_000_000);
        let (mut got, mut drops) = (Vec::new(), Vec::new());
        for &k in &order {
            a.insert(pkts[k].meta, &pkts[k].payload);
            if rng.below(10) == 0 {
                a.insert(pkts[k].meta, &pkts[k].payload);
            }
            drain(&mut a, 0, &mut got, &mut drops);
        }
        drain(&mut a, u64::MAX, &mut got, &mut drops);
        assert!(drops.is_empty(), "{codec:?}: {drops:?}");
        let want: Vec<&Vec<u8>> = frames.iter().collect();
        let have: Vec<&Vec<u8>> = got.iter().map(|g| &g.1).collect();
        assert_eq!(have, want, "{codec:?}");
        assert!(a.stats().duplicates > 0);
    }
}

/// Random loss, reordering and duplication: every frame that comes out is
/// exactly a frame that was sent, in order; every frame that had a packet
/// lost is not emitted; every frame with all its packets is emitted unless
/// its start could not be told (H.264 after a lost packet).
#[test]
fn loss_never_yields_a_corrupt_frame() {
    for codec in CODECS {
        for seed in 1..6u64 {
            let mut rng = Rng(seed * 7919);
            let frames: Vec<Vec<u8>> = (0..80).map(|i| frame(codec, i, &mut rng)).collect();
            let mut pkts = stream(codec, &frames, 300, rng.next() as u16);
            let mut lost_ts = std::collections::HashSet::new();
            let mut sent = Vec::new();
            for p in pkts.drain(..) {
                if rng.below(100) < 3 {
                    lost_ts.insert(p.meta.ts);
                    continue;
                }
                sent.push(p);
            }
            for k in 1..sent.len() {
                if rng.below(5) == 0 {
                    sent.swap(k - 1, k);
                }
            }
            let mut a = Assembler::new(codec, 1024, 3000);
            let (mut got, mut drops) = (Vec::new(), Vec::new());
            for (t, p) in sent.iter_mut().enumerate() {
                p.meta.arrival_ns = t as u64 * 10;
                a.insert(p.meta, &p.payload);
                drain(&mut a, t as u64 * 10, &mut got, &mut drops);
            }
            drain(&mut a, u64::MAX, &mut got, &mut drops);
            let mut last_ts = None;
            for (ts, data, _) in &got {
                let i = ((ts - 1000) / 3000) as usize;
                assert_eq!(data, &frames[i], "{codec:?} seed {seed}: frame {i} differs");
                assert!(!lost_ts.contains(ts), "{codec:?}: frame {i} had a loss");
                assert!(last_ts.is_none_or(|l| l < *ts), "out of order");
                last_ts = Some(*ts);
            }
            for (ts, reason) in &drops {
                assert_ne!(
                    *reason,
                    DropReason::Corrupt,
                    "{codec:?} seed {seed} ts {ts}"
                );
            }
            let complete = frames.len() - lost_ts.len();
            assert!(got.len() <= complete);
            if codec != Codec::H264 {
                let missing: Vec<u32> = (0..frames.len() as u32)
                    .map(|i| 1000 + 3000 * i)
                    .filter(|t| !lost_ts.contains(t) && !got.iter().any(|g| g.0 == *t))
                    .collect();
                assert_eq!(got.len(), complete, "{codec:?} seed {seed}: not emitted {missing:?}, drops {drops:?}, lost {lost_ts:?}");
            } else {
                assert!(
                    got.len() + lost_ts.len() * 2 >= frames.len(),
                    "{codec:?} seed {seed}: got {} lost {} of {} drops {:?}",
                    got.len(),
                    lost_ts.len(),
                    frames.len(),
                    drops
                );
            }
            assert!(!drops.is_empty() || lost_ts.is_empty());
        }
    }
}

#[test]
fn waits_for_a_retransmission_within_the_bound() {
    let mut rng = Rng(3);
    let frames: Vec<Vec<u8>> = (0..3).map(|i| frame(Codec::H264, i, &mut rng)).collect();
    let pkts = stream(Codec::H264, &frames, 1000, 0);
    let hole = 2;
    let mut a = Assembler::new(Codec::H264, 64, 100);
    let (mut got, mut drops) = (Vec::new(), Vec::new());
    for (k, p) in pkts.iter().enumerate() {
        if k != hole {
            let mut m = p.meta;
            m.arrival_ns = 10;
            a.insert(m, &p.payload);
        }
    }
    drain(&mut a, 109, &mut got, &mut drops);
    assert!(got.is_empty() && drops.is_empty(), "waits");
    let mut m = pkts[hole].meta;
    m.recovered = true;
    a.insert(m, &pkts[hole].payload);
    let Some(Output::Frame(info, data)) = a.poll(109) else {
        panic!("frame expected");
    };
    assert!(info.recovered && info.keyframe);
    assert_eq!(data, &frames[0][..]);
    drain(&mut a, 109, &mut got, &mut drops);
    assert_eq!(got.len(), 2);
}

#[test]
fn gives_up_after_the_bound_and_reports() {
    let mut rng = Rng(5);
    let frames: Vec<Vec<u8>> = (0..4).map(|i| frame(Codec::Vp8, i, &mut rng)).collect();
    let pkts = stream(Codec::Vp8, &frames, 1000, 0);
    let hole = 1; // inside the key frame
    let mut a = Assembler::new(Codec::Vp8, 64, 100);
    let (mut got, mut drops) = (Vec::new(), Vec::new());
    for (k, p) in pkts.iter().enumerate() {
        if k != hole {
            a.insert(p.meta, &p.payload);
        }
    }
    drain(&mut a, 99, &mut got, &mut drops);
    assert!(got.is_empty() && drops.is_empty());
    assert!(!a.keyframe_needed());
    drain(&mut a, 100, &mut got, &mut drops);
    assert_eq!(drops, vec![(1000, DropReason::Incomplete)]);
    assert_eq!(got.len(), 3);
    assert!(a.keyframe_needed(), "no key frame since the loss");
    assert_eq!(a.stats().lost, 1);
    // a late copy of the lost packet is refused
    assert_eq!(
        a.insert(pkts[hole].meta, &pkts[hole].payload),
        super::assembler::Insert::Late
    );
}

#[test]
fn corrupt_payload_is_dropped_as_corrupt() {
    let mut a = Assembler::new(Codec::H264, 64, 100);
    let m = PacketMeta {
        seq: 1,
        ts: 9,
        marker: true,
        arrival_ns: 0,
        recovered: false,
    };
    a.insert(m, &[0x1c, 0x05, 1, 2]); // FU-A middle fragment alone, marker set
    assert_eq!(a.poll(99), None, "the stream's start may still come");
    let out = a.poll(100);
    assert!(matches!(out, Some(Output::Dropped(d)) if d.reason == DropReason::Incomplete));
    a.insert(PacketMeta { seq: 2, ..m }, &[0x19, 0, 0]); // STAP-B: unsupported
    let out = a.poll(100);
    assert!(
        matches!(out, Some(Output::Dropped(d)) if d.reason == DropReason::Corrupt),
        "{out:?}"
    );
}

#[test]
fn sequence_jump_starts_over() {
    let mut rng = Rng(11);
    let frames: Vec<Vec<u8>> = (0..2).map(|i| frame(Codec::Vp9, i, &mut rng)).collect();
    let first = stream(Codec::Vp9, &frames[..1], 100, 0);
    let second = stream(Codec::Vp9, &frames[1..], 100, 30000);
    let mut a = Assembler::new(Codec::Vp9, 64, 100);
    let (mut got, mut drops) = (Vec::new(), Vec::new());
    a.insert(first[0].meta, &first[0].payload);
    for p in &second {
        a.insert(p.meta, &p.payload);
    }
    drain(&mut a, 0, &mut got, &mut drops);
    assert_eq!(drops, vec![(1000, DropReason::Overflow)]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, frames[1]);
    assert_eq!(a.stats().resets, 1);
}

/// Sender -> lossy link -> receiver, with RTCP NACK (and RTX) back through
/// a lossy link: every frame comes out, identical, and the lost packets are
/// counted as recovered.
fn lossy_link(codec: Codec, rtx: bool, loss_pct: u64, seed: u64) -> (usize, super::ReceiverStats) {
    use super::{Receiver, ReceiverConfig, Sender, SenderConfig};
    use std::collections::BTreeMap;
    let mut rng = Rng(seed);
    let frames: Vec<Vec<u8>> = (0..150).map(|i| frame(codec, i, &mut rng)).collect();
    let mut scfg = SenderConfig::new(codec, 96, 1200, 0x1234_5678, 65000);
    if rtx {
        scfg.rtx = Some((97, 0x8765_4321, 100));
    }
    let mut snd = Sender::new(scfg).unwrap();
    let mut rcfg = ReceiverConfig::new(codec, 96);
    rcfg.nack = true;
    rcfg.rtx_pt = rtx.then_some(97);
    rcfg.rtt_ns = 40_000_000;
    let mut rcv = Receiver::new(rcfg).unwrap();
    const DELAY: u64 = 20_000_000;
    // (time, order) -> datagram, per direction
    let mut to_rcv: BTreeMap<(u64, u64), Vec<u8>> = BTreeMap::new();
    let mut to_snd: BTreeMap<(u64, u64), Vec<u8>> = BTreeMap::new();
    let mut order = 0u64;
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut drops = 0;
    let mut fb = [0u8; 1500];
    let mut now = 0u64;
    let end = frames.len() as u64 * 33_333_333 + 2_000_000_000;
    while now < end {
        if now % 33_333_333 < 1_000_000 || now == 0 {
            let i = (now / 33_333_333) as usize;
            if i < frames.len() {
                let mut out = Vec::new();
                snd.send_frame(&frames[i], 3000 * i as u32, now, |p| out.push(p.to_vec()))
                    .unwrap();
                for p in out {
                    // (nothing before the first packet it sees can be
                    // asked for: the first frame goes through whole)
                    if i == 0 || rng.below(100) >= loss_pct {
                        order += 1;
                        to_rcv.insert((now + DELAY, order), p);
                    }
                }
            }
        }
        while let Some(e) = to_rcv.first_entry() {
            if e.key().0 > now {
                break;
            }
            let p = e.remove();
            rcv.push(&p, now).unwrap();
        }
        while let Some(o) = rcv.poll(now) {
            match o {
                Output::Frame(_, data) => got.push(data.to_vec()),
                Output::Dropped(_) => drops += 1,
            }
        }
        let n = rcv.feedback(now, 1, &mut fb).unwrap();
        if n > 0 && rng.below(100) >= loss_pct {
            order += 1;
            to_snd.insert((now + DELAY, order), fb[..n].to_vec());
        }
        while let Some(e) = to_snd.first_entry() {
            if e.key().0 > now {
                break;
            }
            let p = e.remove();
            let mut out = Vec::new();
            snd.on_rtcp(&p, now, |r| out.push(r.to_vec())).unwrap();
            for r in out {
                if rng.below(100) >= loss_pct {
                    order += 1;
                    to_rcv.insert((now + DELAY, order), r);
                }
            }
        }
        now += 1_000_000;
    }
    while let Some(o) = rcv.poll(u64::MAX) {
        match o {
            Output::Frame(_, data) => got.push(data.to_vec()),
            Output::Dropped(_) => drops += 1,
        }
    }
    assert_eq!(
        drops,
        0,
        "{codec:?} rtx {rtx}: frames dropped, {:?}",
        rcv.stats()
    );
    assert_eq!(got.len(), frames.len(), "{codec:?} rtx {rtx}");
    let bad = got.iter().zip(&frames).position(|(a, b)| a != b);
    assert_eq!(bad, None, "{codec:?} rtx {rtx}: frame differs");
    if rtx {
        assert!(rcv.stats().rtx_packets > 0);
    }
    assert_eq!(snd.stats().frames, frames.len() as u64);
    (got.len(), rcv.stats())
}

#[test]
fn nack_recovers_every_frame_under_two_percent_loss() {
    for codec in CODECS {
        for rtx in [false, true] {
            let (n, st) = lossy_link(codec, rtx, 2, 41 + rtx as u64);
            assert_eq!(n, 150);
            assert!(st.nack.recovered > 0, "{codec:?}: {st:?}");
            assert_eq!(st.assembler.lost, 0);
        }
    }
}

#[test]
fn sender_answers_pli_and_fir_through_the_callback() {
    use super::{KeyframeRequest, Sender, SenderConfig};
    use std::sync::{Arc, Mutex};
    let mut s = Sender::new(SenderConfig::new(Codec::Vp8, 97, 1200, 42, 0)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    s.set_keyframe_callback(Some(Box::new(move |r| seen2.lock().unwrap().push(r))));
    let mut buf = [0u8; 100];
    let mut w = crate::rtcp::Writer::new(&mut buf);
    w.pli(1, 42).unwrap();
    w.pli(1, 43).unwrap(); // another stream's
    w.fir(1, &[(42, 7), (5, 8)]).unwrap();
    let n = w.len();
    assert_eq!(s.on_rtcp(&buf[..n], 0, |_| ()), Ok(0));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![KeyframeRequest::Pli, KeyframeRequest::Fir { seq: 7 }]
    );
    assert_eq!((s.stats().plis, s.stats().firs), (1, 1));
    assert_eq!(
        s.on_rtcp(&[1, 2, 3], 0, |_| ()),
        Err(super::VideoError::Malformed)
    );
}

#[test]
fn h264_frames_with_rtp_only_nal_types_are_refused() {
    let mut p = Packetizer::new(Codec::H264, 1000, 0).unwrap();
    for bad in [
        &[0, 0, 1, 0x18, 1, 2][..],
        &[0, 0, 1, 0x41, 0x88, 0, 0, 1, 0x1c, 5],
        &[0, 0, 1, 0x00, 1],
    ] {
        let mut n = 0;
        assert_eq!(
            p.packetize(bad, |_, _, _| n += 1),
            Err(super::VideoError::Malformed)
        );
        assert_eq!(n, 0);
    }
    assert_eq!(
        p.packetize(&[1, 2, 3], |_, _, _| ()),
        Err(super::VideoError::EmptyFrame)
    );
}
