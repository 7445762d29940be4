//! Differential test of the jitter buffer against a reference model.
//!
//! `Model` below is a second, deliberately naive implementation of the
//! original librtpsynth 1.3.2 `rtpjbuf.c` semantics, written statement by
//! statement from that file: a sorted `Vec` standing in for the linked list,
//! the same `size` counter, the same `purge_stale_tail`, the same lseq wrap
//! rules (pre-wrap straggler / wrap-out), the same late/duplicate test
//! (distance truncated to an `int`), the same release rule (capacity reached
//! or the head is the next lseq), the same erasure arithmetic in 32 bits and
//! the same flush order (every run but the last dropped, later runs first).
//! One deliberate deviation is modelled (marked DEVIATION below): a pre-wrap
//! straggler that arrives before any wrap is dropped as late.
//! Wherever the original would `abort()` (its `d_assert`) or trap (the
//! division by zero in `insert_ers_frame`), the model returns `Undefined`:
//! from that point the original has no behaviour to copy, so the comparison
//! of that stream stops there and only "no panic" is checked for the rest.
//!
//! The property test drives `rtpsynth::jbuf::JitterBuffer::udp_in` (the call
//! the C shim `rtpjbuf_udp_in` makes: purge the stale tail, parse, insert) and the
//! model side by side on random streams with reordering, duplicates, loss,
//! sequence wrap (starts near 65535), huge jumps, timestamp jumps, corrupted
//! datagrams and flushes, across capacities 1..=64, and asserts identical
//! output for every call: error code, ready list (erasure then frames) and
//! drop list (frame identity, order, lseq, jbcnt, erasure range, ts_diff).
//! It also checks stream invariants on the real buffer: lseq strictly
//! increasing over everything delivered, every gap between delivered frames
//! covered by exactly one erasure, every packet handed back exactly once.
//!
//! Scale with PROPTEST_CASES (default 512) and JBUF_MODEL_STREAMS (the seeded
//! sweep, default 3000).

use proptest::prelude::*;
use rtpsynth::jbuf::{Erasure, Frame, InputError, JitterBuffer, Sink};

// ---------------------------------------------------------------- the model

const DEF: u64 = u64::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Rtp { id: u32, lseq: u64, jbcnt: u64 },
    Ers { start: u64, end: u64, ts_diff: u32 },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Out {
    error: i32,
    ready: Vec<Item>,
    drop: Vec<Item>,
}

/// The original would abort()/trap here; the payload says where.
#[derive(Debug)]
struct Undefined(#[allow(dead_code)] &'static str);

#[derive(Clone, Copy, Debug)]
struct Pkt {
    id: u32,
    lseq: u64,
    jbcnt: u64,
    ts: u32,
}

impl Pkt {
    fn item(&self) -> Item {
        Item::Rtp {
            id: self.id,
            lseq: self.lseq,
            jbcnt: self.jbcnt,
        }
    }
}

struct Model {
    last_lseq: u64,
    last_ts: u32,
    last_max_lseq: u64,
    lseq_mask: u64,
    capacity: u32,
    size: u32,
    list: Vec<Pkt>, // sorted by lseq, list[0] is the head
}

fn check(cond: bool, what: &'static str) -> Result<(), Undefined> {
    if cond {
        Ok(())
    } else {
        Err(Undefined(what))
    }
}

/// rtp_packet_parse_raw reduced to what the jitter buffer uses: the error
/// code, or (seq, ts).
fn model_parse(b: &[u8]) -> Result<(u16, u32), i32> {
    if b.len() < 12 {
        return Err(-1);
    }
    if b[0] >> 6 != 2 {
        return Err(-2);
    }
    let mut off = 12 + 4 * (b[0] & 0x0f) as usize;
    if b[0] & 0x10 != 0 {
        if b.len() < off + 4 {
            return Err(-3);
        }
        off += 4 + 4 * u16::from_be_bytes([b[off + 2], b[off + 3]]) as usize;
    }
    if b.len() < off {
        return Err(-4);
    }
    let mut pad = 0;
    if b[0] & 0x20 != 0 {
        if off == b.len() {
            return Err(-5);
        }
        pad = b[b.len() - 1] as usize;
        if pad == 0 {
            return Err(-7);
        }
    }
    if b.len() < off + pad {
        return Err(-6);
    }
    Ok((
        u16::from_be_bytes([b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

impl Model {
    fn new(capacity: u32) -> Model {
        Model {
            last_lseq: DEF,
            last_ts: 0,
            last_max_lseq: DEF,
            lseq_mask: 0,
            capacity,
            size: 0,
            list: Vec::new(),
        }
    }

    fn purge_stale_tail(&mut self) -> Option<Pkt> {
        if self.list.is_empty() || self.size < self.capacity.wrapping_sub(1) {
            return None;
        }
        let tail = self.list.last_mut().unwrap();
        tail.jbcnt += 1;
        if tail.jbcnt < self.capacity as u64 {
            return None;
        }
        let fp = self.list.pop().unwrap();
        self.size -= 1;
        if self.last_max_lseq == fp.lseq {
            self.last_max_lseq = self.list.last().map_or(DEF, |p| p.lseq);
        }
        Some(fp)
    }

    /// insert_ers_frame: the erasure in front of `fp`, if any.
    fn ers(&self, fp: &Pkt) -> Result<Option<Item>, Undefined> {
        if self.last_lseq.wrapping_add(1) == fp.lseq {
            return Ok(None);
        }
        let start = self.last_lseq.wrapping_add(1);
        let end = fp.lseq.wrapping_sub(1);
        let ts_diff: u32 = if self.last_ts > fp.ts {
            ((1u64 << 32) + fp.ts as u64 - self.last_ts as u64) as u32
        } else {
            fp.ts - self.last_ts
        };
        let lseq_diff = end.wrapping_sub(start).wrapping_add(1) as u32;
        check(
            lseq_diff.wrapping_add(1) != 0,
            "insert_ers_frame: division by zero",
        )?;
        Ok(Some(Item::Ers {
            start,
            end,
            ts_diff: ts_diff.wrapping_mul(lseq_diff) / lseq_diff.wrapping_add(1),
        }))
    }

    fn save_last(&mut self, p: &Pkt) -> Result<(), Undefined> {
        check(
            self.last_lseq == DEF || self.last_lseq < p.lseq,
            "save_last",
        )?;
        self.last_lseq = p.lseq;
        self.last_ts = p.ts;
        Ok(())
    }

    fn udp_in(&mut self, data: &[u8], id: u32) -> Result<Out, Undefined> {
        let mut out = Out::default();
        if let Some(p) = self.purge_stale_tail() {
            out.drop.push(p.item());
        }
        let (seq, ts) = match model_parse(data) {
            Ok(v) => v,
            Err(e) => {
                out.error = e;
                return Ok(out);
            }
        };
        let mut fp = Pkt {
            id,
            lseq: self.lseq_mask | seq as u64,
            jbcnt: 0,
            ts,
        };
        let warm_up = self.last_lseq == DEF;
        if self.last_max_lseq != DEF {
            check(
                self.list.is_empty()
                    || warm_up
                    || self.list[0].lseq.wrapping_sub(1) > self.last_lseq,
                "udp_in: head precedes last_lseq",
            )?;
            if self.last_max_lseq % 65536 < 536 && seq > 65000 {
                fp.lseq = fp.lseq.wrapping_sub(0x10000);
                if self.lseq_mask == 0 {
                    // DEVIATION (the only one): a pre-wrap straggler before
                    // any wrap gets a "negative" lseq; the original then
                    // misfiles it as the newest packet (abort()/SIGFPE later,
                    // or it delivers lseq 2^64-1 and restarts from the
                    // sentinel). rtpsynth drops it as late at once.
                    out.drop.insert(0, fp.item());
                    return Ok(out);
                }
            } else if self.last_max_lseq > 65000 && fp.lseq < self.last_max_lseq - 65000 {
                self.lseq_mask = self.lseq_mask.wrapping_add(0x10000);
                fp.lseq = fp.lseq.wrapping_add(0x10000);
            }
            if !warm_up && fp.lseq <= self.last_lseq {
                // late or duplicate: either way it goes to the front of drop
                out.drop.insert(0, fp.item());
                return Ok(out);
            }
            if !self.list.is_empty() {
                return self.insert_sorted(fp, warm_up, out);
            }
            check(self.size == 0, "udp_in: size")?;
            check(self.last_max_lseq < fp.lseq, "udp_in: last_max_lseq")?;
        } else {
            check(
                self.list.is_empty(),
                "udp_in: lms warm-up with a non-empty list",
            )?;
        }
        // lms_init
        // A packet behind last_lseq can get here unchecked (purge_stale_tail
        // emptied the buffer after a wrap): it is held like any other, and
        // the head check above abort()s on the next call that parses.
        self.last_max_lseq = fp.lseq;
        if (!warm_up && self.last_lseq == fp.lseq.wrapping_sub(1)) || (warm_up && fp.lseq == 0) {
            self.save_last(&fp)?;
            out.ready.push(fp.item());
        } else {
            self.list = vec![fp];
            self.size = 1;
        }
        Ok(out)
    }

    fn insert_sorted(&mut self, fp: Pkt, warm_up: bool, mut out: Out) -> Result<Out, Undefined> {
        let mut i = 0;
        while i < self.list.len() && self.list[i].lseq < fp.lseq {
            i += 1;
        }
        if i < self.list.len() && self.list[i].lseq == fp.lseq {
            out.drop.insert(0, fp.item()); // duplicate
            return Ok(out);
        }
        if i == self.list.len() {
            check(self.last_max_lseq < fp.lseq, "insert: last_max_lseq")?;
            self.last_max_lseq = fp.lseq;
        }
        self.list.insert(i, fp);
        self.size += 1;
        let flush = !warm_up && self.list[0].lseq == self.last_lseq.wrapping_add(1);
        if self.size == self.capacity || flush {
            let mut n = 1;
            while n < self.list.len() && self.list[n - 1].lseq.wrapping_add(1) == self.list[n].lseq
            {
                n += 1;
            }
            self.size -= n as u32;
            let run: Vec<Pkt> = self.list.drain(..n).collect();
            check(warm_up || self.last_lseq < run[0].lseq, "release: head")?;
            if !warm_up {
                if let Some(e) = self.ers(&run[0])? {
                    out.ready.push(e);
                }
            }
            self.save_last(run.last().unwrap())?;
            out.ready.extend(run.iter().map(Pkt::item));
            check((self.size == 0) == self.list.is_empty(), "release: size")?;
        }
        Ok(out)
    }

    fn flush(&mut self) -> Result<Out, Undefined> {
        let mut out = Out::default();
        if self.list.is_empty() {
            return Ok(out);
        }
        check(
            self.list[0].lseq.wrapping_sub(1) > self.last_lseq || self.last_lseq == DEF,
            "flush: head precedes last_lseq",
        )?;
        let list = std::mem::take(&mut self.list);
        let mut runs: Vec<Vec<Pkt>> = vec![vec![list[0]]];
        for p in &list[1..] {
            let prev = runs.last().unwrap().last().unwrap().lseq;
            if prev.wrapping_add(1) == p.lseq {
                runs.last_mut().unwrap().push(*p);
            } else {
                runs.push(vec![*p]);
            }
        }
        let last = runs.pop().unwrap();
        for r in runs {
            let mut v: Vec<Item> = r.iter().map(Pkt::item).collect();
            v.extend(out.drop);
            out.drop = v;
        }
        if let Some(e) = self.ers(&last[0])? {
            out.ready.push(e);
        }
        out.ready.extend(last.iter().map(Pkt::item));
        self.save_last(last.last().unwrap())?;
        self.size = 0;
        Ok(out)
    }
}

// ------------------------------------------- the implementation under test

/// Builds ready/drop lists the way src/ffi/rtpjbuf.rs's ListSink does.
#[derive(Default)]
struct VecSink {
    ready: Vec<Item>,
    runs: Vec<Vec<Item>>,
}

impl Sink<u32> for VecSink {
    fn erasure(&mut self, e: Erasure) {
        assert!(
            self.ready.is_empty(),
            "erasure after frames in one ready list"
        );
        self.ready.push(Item::Ers {
            start: e.lseq_start,
            end: e.lseq_end,
            ts_diff: e.ts_diff,
        });
    }
    fn ready(&mut self, f: Frame<u32>) {
        self.ready.push(Item::Rtp {
            id: f.item,
            lseq: f.lseq,
            jbcnt: f.jbcnt as u64,
        });
    }
    fn drop_run(&mut self) {
        self.runs.push(Vec::new());
    }
    fn dropped(&mut self, f: Frame<u32>) {
        if self.runs.is_empty() {
            self.runs.push(Vec::new());
        }
        self.runs.last_mut().unwrap().push(Item::Rtp {
            id: f.item,
            lseq: f.lseq,
            jbcnt: f.jbcnt as u64,
        });
    }
}

impl VecSink {
    fn finish(self, error: i32) -> Out {
        Out {
            error,
            ready: self.ready,
            drop: self.runs.into_iter().rev().flatten().collect(),
        }
    }
}

/// The core's `udp_in`, the same call `rtpjbuf_udp_in` makes.
fn real_udp_in(jb: &mut JitterBuffer<u32>, data: &[u8], id: u32) -> Out {
    let mut sink = VecSink::default();
    match jb.udp_in(data, || Some(id), |_, _| {}, &mut sink) {
        Ok(()) => sink.finish(0),
        Err(InputError::Parse(e)) => sink.finish(e.kind.code()),
        Err(InputError::NoMemory) => unreachable!("the item is always made"),
    }
}

fn real_flush(jb: &mut JitterBuffer<u32>) -> Out {
    let mut sink = VecSink::default();
    jb.flush(&mut sink);
    sink.finish(0)
}

// ------------------------------------------------------------ the streams

#[derive(Clone, Debug)]
enum Op {
    /// The next packet in order.
    Next,
    /// Lose `n` packets, then send the next.
    Lose(u16),
    /// Resend the packet `n` back (0 = duplicate of the last one sent).
    Back(u16),
    /// Jump the sequence number forward by any amount.
    Jump(u16),
    /// Jump the timestamp by any amount.
    TsJump(u32),
    /// The next packet, corrupted.
    Corrupt(u8, u16),
    Flush,
}

#[derive(Clone, Debug)]
struct Stream {
    capacity: u32,
    seq0: u16,
    ts0: u32,
    step: u32,
    ops: Vec<Op>,
}

fn packet(seq: u16, ts: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&[0xd5; 20]);
    p
}

fn corrupt(p: &mut Vec<u8>, kind: u8, x: u16) {
    match kind % 6 {
        0 => p.truncate(x as usize % 12),
        1 => p[0] = x as u8,
        2 => {
            p[0] |= 0x20;
            *p.last_mut().unwrap() = x as u8;
        }
        3 => {
            p[0] |= 0x10;
            p[14..16].copy_from_slice(&x.to_be_bytes());
        }
        4 => p[0] = 0x80 | (x as u8 & 0x0f),
        _ => {
            let i = x as usize % p.len();
            p[i] ^= 1 << (x % 8);
        }
    }
}

/// Lists each sent datagram (None for a flush).
fn datagrams(s: &Stream) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let (mut seq, mut ts) = (s.seq0, s.ts0);
    let mut sent: Vec<(u16, u32)> = Vec::new();
    for op in &s.ops {
        fn send(seq: u16, ts: u32, out: &mut Vec<Option<Vec<u8>>>, sent: &mut Vec<(u16, u32)>) {
            out.push(Some(packet(seq, ts)));
            sent.push((seq, ts));
        }
        match *op {
            Op::Next => {
                send(seq, ts, &mut out, &mut sent);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(s.step);
            }
            Op::Lose(n) => {
                seq = seq.wrapping_add(n);
                ts = ts.wrapping_add(s.step.wrapping_mul(n as u32));
                send(seq, ts, &mut out, &mut sent);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(s.step);
            }
            Op::Back(n) => {
                if let Some(&(q, t)) = sent
                    .len()
                    .checked_sub(1 + n as usize)
                    .and_then(|i| sent.get(i))
                {
                    send(q, t, &mut out, &mut sent);
                }
            }
            Op::Jump(n) => seq = seq.wrapping_add(n),
            Op::TsJump(n) => ts = ts.wrapping_add(n),
            Op::Corrupt(k, x) => {
                let mut p = packet(seq, ts);
                corrupt(&mut p, k, x);
                out.push(Some(p));
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(s.step);
            }
            Op::Flush => out.push(None),
        }
    }
    out
}

/// Invariants of everything the real buffer delivers.
#[derive(Default)]
struct Invariants {
    last_delivered: Option<u64>,
    seen: std::collections::HashSet<u32>,
}

impl Invariants {
    fn check(&mut self, out: &Out) -> Result<(), String> {
        let mut pending_ers: Option<(u64, u64)> = None;
        for (i, it) in out.ready.iter().enumerate() {
            match *it {
                Item::Ers { start, end, .. } => {
                    if i != 0 {
                        return Err("erasure not at the head of ready".into());
                    }
                    let expect = self.last_delivered.map_or(0, |l| l.wrapping_add(1));
                    if start != expect || end < start {
                        return Err(format!("erasure {start}..{end} does not start at {expect}"));
                    }
                    pending_ers = Some((start, end));
                }
                Item::Rtp { id, lseq, .. } => {
                    if !self.seen.insert(id) {
                        return Err(format!("packet {id} returned twice"));
                    }
                    if let Some((_, end)) = pending_ers.take() {
                        if end.wrapping_add(1) != lseq {
                            return Err(format!("erasure ends at {end}, next frame is {lseq}"));
                        }
                    } else if let Some(l) = self.last_delivered {
                        if l.wrapping_add(1) != lseq {
                            return Err(format!("gap {l} -> {lseq} without an erasure"));
                        }
                    }
                    if self.last_delivered.is_some_and(|l| lseq <= l) {
                        return Err(format!("lseq {lseq} not above {:?}", self.last_delivered));
                    }
                    self.last_delivered = Some(lseq);
                }
            }
        }
        if pending_ers.is_some() {
            return Err("erasure with no frame behind it".into());
        }
        for it in &out.drop {
            match *it {
                Item::Rtp { id, .. } => {
                    if !self.seen.insert(id) {
                        return Err(format!("packet {id} returned twice"));
                    }
                }
                Item::Ers { .. } => return Err("erasure in the drop list".into()),
            }
        }
        Ok(())
    }
}

/// Runs one stream on both; Err describes the first difference.
/// Returns (calls compared, whether the model reached undefined behaviour).
fn run(s: &Stream) -> Result<(usize, bool), String> {
    let mut model = Model::new(s.capacity);
    let mut jb: JitterBuffer<u32> = JitterBuffer::new(s.capacity);
    let mut inv = Invariants::default();
    let mut undefined = false;
    let mut compared = 0;
    let mut parsed_ids = Vec::new();
    for (i, d) in datagrams(s).iter().enumerate() {
        let id = i as u32;
        let (real, want) = match d {
            Some(b) => {
                if rtpsynth::rtp::parse(b).is_ok() {
                    parsed_ids.push(id);
                }
                (
                    real_udp_in(&mut jb, b, id),
                    if undefined {
                        None
                    } else {
                        Some(model.udp_in(b, id))
                    },
                )
            }
            None => (
                real_flush(&mut jb),
                if undefined { None } else { Some(model.flush()) },
            ),
        };
        match want {
            None => {}
            Some(Err(Undefined(_))) => undefined = true,
            Some(Ok(want)) => {
                compared += 1;
                if real != want {
                    return Err(format!(
                        "call {i} ({:?}):\n real  {real:?}\n model {want:?}",
                        d.as_ref().map(|_| "udp_in")
                    ));
                }
                inv.check(&real)
                    .map_err(|e| format!("call {i}: invariant: {e}"))?;
            }
        }
    }
    let fin = real_flush(&mut jb);
    if !undefined {
        match model.flush() {
            Ok(want) if want != fin => {
                return Err(format!("final flush:\n real  {fin:?}\n model {want:?}"))
            }
            Ok(_) => inv
                .check(&fin)
                .map_err(|e| format!("final flush: invariant: {e}"))?,
            Err(_) => undefined = true,
        }
    }
    if !jb.is_empty() {
        return Err(format!("{} frames left after flush", jb.len()));
    }
    if !undefined {
        // every parsed packet came back exactly once (check() saw no repeats)
        let missing: Vec<_> = parsed_ids
            .iter()
            .filter(|id| !inv.seen.contains(id))
            .collect();
        if !missing.is_empty() {
            return Err(format!("packets never returned: {missing:?}"));
        }
        if inv.seen.len() != parsed_ids.len() {
            return Err("returned packets that were not accepted".into());
        }
    }
    Ok((compared, undefined))
}

fn op_strategy(cap: u32) -> impl Strategy<Value = Op> {
    let back = (cap + 4) as u16;
    prop_oneof![
        40 => Just(Op::Next),
        6 => (1u16..(back + 3)).prop_map(Op::Lose),
        8 => (0u16..back).prop_map(Op::Back),
        1 => any::<u16>().prop_map(Op::Jump),
        1 => prop_oneof![Just(32000u16), Just(32768), Just(33000), Just(65000), Just(65535), Just(536)].prop_map(Op::Jump),
        1 => any::<u32>().prop_map(Op::TsJump),
        3 => (any::<u8>(), any::<u16>()).prop_map(|(k, x)| Op::Corrupt(k, x)),
        2 => Just(Op::Flush),
    ]
}

fn stream_strategy() -> impl Strategy<Value = Stream> {
    let seq0 = prop_oneof![
        any::<u16>(),
        (65400u16..=65535),
        (0u16..4),
        (64990u16..65010),
        (530u16..540)
    ];
    let step = prop_oneof![Just(160u32), Just(0u32), any::<u32>()];
    (1u32..=64, seq0, any::<u32>(), step).prop_flat_map(|(capacity, seq0, ts0, step)| {
        proptest::collection::vec(op_strategy(capacity), 0..400).prop_map(move |ops| Stream {
            capacity,
            seq0,
            ts0,
            step,
            ops,
        })
    })
}

fn env_num(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: env_num("PROPTEST_CASES", 512), ..ProptestConfig::default() })]

    #[test]
    fn jbuf_matches_reference_model(s in stream_strategy()) {
        if let Err(e) = run(&s) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ------------------------------------------------ seeded sweep (no shrinking)

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 32) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn random_stream(r: &mut Rng) -> Stream {
    let capacity = 1 + r.below(64);
    let seq0 = match r.below(4) {
        0 => 65535 - r.below(60) as u16,
        1 => r.below(3) as u16,
        _ => r.next() as u16,
    };
    let step = if r.below(4) == 0 { r.next() } else { 160 };
    let (p_lose, p_back, p_jump, p_corrupt, p_flush) =
        (r.below(20), r.below(25), r.below(3), r.below(6), r.below(5));
    let n = r.below(700);
    let mut ops = Vec::new();
    for _ in 0..n {
        let x = r.below(100);
        let op = if x < p_lose {
            Op::Lose(1 + r.below(capacity + 4) as u16)
        } else if x < p_lose + p_back {
            Op::Back(r.below(capacity + 6) as u16)
        } else if x < p_lose + p_back + p_jump {
            if r.below(2) == 0 {
                Op::Jump(r.next() as u16)
            } else {
                Op::TsJump(r.next())
            }
        } else if x < p_lose + p_back + p_jump + p_corrupt {
            Op::Corrupt(r.next() as u8, r.next() as u16)
        } else if x < p_lose + p_back + p_jump + p_corrupt + p_flush {
            Op::Flush
        } else {
            Op::Next
        };
        ops.push(op);
    }
    Stream {
        capacity,
        seq0,
        ts0: r.next(),
        step,
        ops,
    }
}

#[test]
fn jbuf_matches_reference_model_seeded_sweep() {
    let n = env_num("JBUF_MODEL_STREAMS", 3000);
    let (mut calls, mut undefined) = (0usize, 0u32);
    for seed in 0..n as u64 {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let s = random_stream(&mut r);
        match run(&s) {
            Ok((c, u)) => {
                calls += c;
                undefined += u as u32;
            }
            Err(e) => panic!("seed {seed}: {e}\nstream: {s:?}"),
        }
    }
    eprintln!("seeded sweep: {n} streams, {calls} calls compared, {undefined} streams reached the original's abort()");
    assert!(calls > n as usize, "the sweep compared almost nothing");
}

// ------------------------------------------------- hand-written edge cases

fn stream(capacity: u32, seq0: u16, ops: Vec<Op>) -> Stream {
    Stream {
        capacity,
        seq0,
        ts0: 1000,
        step: 160,
        ops,
    }
}

#[test]
fn model_agrees_on_wrap_from_65535() {
    let s = stream(4, 65530, vec![Op::Next; 20]);
    assert!(!run(&s).unwrap().1);
}

#[test]
fn model_agrees_on_pre_wrap_straggler() {
    let mut ops = vec![Op::Next; 8];
    ops.extend([Op::Back(5), Op::Next, Op::Back(3), Op::Flush, Op::Next]);
    assert!(!run(&stream(8, 65532, ops)).unwrap().1);
}

#[test]
fn model_agrees_on_capacity_one() {
    let ops = vec![
        Op::Next,
        Op::Lose(3),
        Op::Back(1),
        Op::Next,
        Op::Flush,
        Op::Next,
        Op::Back(0),
    ];
    assert!(!run(&stream(1, 7, ops)).unwrap().1);
}
