//! The frame-assembling receive buffer: packets go in by sequence number
//! (any order, duplicates allowed), whole frames come out in sequence order
//! once every packet from the frame's first to its marker packet is there.
//! A frame that cannot be completed within the latency bound is dropped and
//! reported; a frame whose payloads do not rebuild is dropped as corrupt.
//! Nothing is allocated per packet once the slots have grown to the packet
//! size.

use std::collections::VecDeque;

use super::{Codec, StartHint};

/// A packet's RTP fields that the assembler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub arrival_ns: u64,
    /// Arrived after a retransmission request (or as RTX).
    pub recovered: bool,
}

/// What happened to an inserted packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Stored; `ext` is its extended sequence number.
    Stored { ext: u64 },
    /// Already held.
    Duplicate,
    /// Older than what was already emitted or given up.
    Late,
    /// So far ahead that the buffer started over at this packet (what was
    /// pending is reported as dropped).
    Reset { ext: u64 },
}

/// A complete frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub ts: u32,
    pub keyframe: bool,
    pub first_seq: u16,
    pub last_seq: u16,
    pub packets: u32,
    /// Some packet of it came after a retransmission request.
    pub recovered: bool,
    /// A frame was dropped since the last key frame: a decoder may lack
    /// this frame's references.
    pub after_loss: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Packets missing past the latency bound (or its start unknown).
    Incomplete,
    /// All packets there but they do not form a valid frame.
    Corrupt,
    /// Discarded to make room in a full buffer, or when the buffer started
    /// over after a sequence number jump.
    Overflow,
}

/// A frame given up on (its received packets are discarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub ts: u32,
    pub packets: u32,
    pub reason: DropReason,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Output<'a> {
    Frame(FrameInfo, &'a [u8]),
    Dropped(Dropped),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssemblerStats {
    pub frames: u64,
    pub keyframes: u64,
    pub dropped_frames: u64,
    pub packets: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Sequence numbers given up on (never received in time).
    pub lost: u64,
    pub resets: u64,
}

#[derive(Default)]
struct Slot {
    ext: u64,
    present: bool,
    ts: u32,
    marker: bool,
    recovered: bool,
    arrival_ns: u64,
    hint: Option<StartHint>,
    data: Vec<u8>,
}

/// What came just before `next`, which decides whether a packet whose
/// payload cannot tell (H.264) starts a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prev {
    Initial,
    Consumed { ts: u32, marker: bool },
    Lost,
}

pub struct Assembler {
    codec: Codec,
    slots: Vec<Slot>,
    mask: u64,
    max_latency_ns: u64,
    started: bool,
    next: u64,
    highest: u64,
    prev: Prev,
    need_key: bool,
    /// Arrival of the packet consumed last, when it was received.
    prev_arrival: Option<u64>,
    drops: VecDeque<Dropped>,
    last_drop_ts: Option<u32>,
    frame: Vec<u8>,
    stats: AssemblerStats,
}

/// Extended sequence numbers start here so that reordering before the first
/// packet never goes below zero.
const EXT_BASE: u64 = 1 << 32;

impl Assembler {
    /// `max_packets` (rounded up to a power of two, at least 16) bounds the
    /// packets held, hence the largest frame; `max_latency_ns` how long a
    /// frame may wait for missing packets, counted from the arrival of its
    /// oldest received packet.
    pub fn new(codec: Codec, max_packets: usize, max_latency_ns: u64) -> Self {
        let cap = max_packets.clamp(16, 1 << 16).next_power_of_two();
        Assembler {
            codec,
            slots: (0..cap).map(|_| Slot::default()).collect(),
            mask: cap as u64 - 1,
            max_latency_ns,
            started: false,
            next: 0,
            highest: 0,
            prev: Prev::Initial,
            need_key: false,
            prev_arrival: None,
            drops: VecDeque::new(),
            last_drop_ts: None,
            frame: Vec::new(),
            stats: AssemblerStats::default(),
        }
    }

    pub fn stats(&self) -> &AssemblerStats {
        &self.stats
    }

    /// Extended sequence number of the first packet not yet emitted or
    /// given up on (meaningful once a packet came).
    pub fn next_ext(&self) -> u64 {
        self.next
    }

    /// Highest extended sequence number seen (meaningful once a packet came).
    pub fn highest_ext(&self) -> u64 {
        self.highest
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// A frame was dropped and no key frame has been emitted since.
    pub fn keyframe_needed(&self) -> bool {
        self.need_key
    }

    /// The extended sequence number `seq` has relative to the highest seen.
    pub fn extend(&self, seq: u16) -> u64 {
        let delta = seq.wrapping_sub(self.highest as u16) as i16;
        self.highest.wrapping_add_signed(i64::from(delta))
    }

    pub fn insert(&mut self, m: PacketMeta, payload: &[u8]) -> Insert {
        self.stats.packets += 1;
        if !self.started {
            self.started = true;
            self.next = EXT_BASE + u64::from(m.seq);
            self.highest = self.next;
        }
        let mut ext = self.extend(m.seq);
        let mut reset = false;
        if ext < self.next && self.prev == Prev::Initial && self.highest - ext <= self.mask {
            // reordered before the stream's first packet: nothing was
            // consumed yet, so the buffer can start earlier
            self.next = ext;
        }
        if ext < self.next {
            self.stats.late += 1;
            return Insert::Late;
        }
        if ext - self.next > self.mask {
            if ext - self.highest > self.mask {
                self.start_over(m.seq);
                ext = self.next;
                reset = true;
            } else {
                self.make_room(ext);
            }
        }
        let s = &mut self.slots[(ext & self.mask) as usize];
        if s.present && s.ext == ext {
            self.stats.duplicates += 1;
            return Insert::Duplicate;
        }
        s.ext = ext;
        s.present = true;
        s.ts = m.ts;
        s.marker = m.marker;
        s.recovered = m.recovered;
        s.arrival_ns = m.arrival_ns;
        s.hint = None;
        s.data.clear();
        s.data.extend_from_slice(payload);
        self.highest = self.highest.max(ext);
        if reset {
            Insert::Reset { ext }
        } else {
            Insert::Stored { ext }
        }
    }

    /// The buffer is full up to `ext`: give up on the oldest packets (lost
    /// or discarded) until `ext` fits.
    fn make_room(&mut self, ext: u64) {
        while ext - self.next > self.mask {
            let i = self.next;
            if self.present(i) {
                self.discard(i, DropReason::Overflow);
            } else {
                self.stats.lost += 1;
                self.prev = Prev::Lost;
                self.need_key = true;
                self.next = i + 1;
            }
        }
    }

    /// Drop everything pending and continue at `seq`.
    fn start_over(&mut self, seq: u16) {
        self.stats.resets += 1;
        for i in self.next..=self.highest {
            let idx = (i & self.mask) as usize;
            if self.slots[idx].present && self.slots[idx].ext == i {
                self.discard(i, DropReason::Overflow);
            }
        }
        self.next = EXT_BASE + u64::from(seq);
        self.highest = self.next;
        self.prev = Prev::Lost;
        self.prev_arrival = None;
        self.need_key = true;
    }

    fn present(&self, i: u64) -> bool {
        let s = &self.slots[(i & self.mask) as usize];
        s.present && s.ext == i
    }

    fn slot(&self, i: u64) -> &Slot {
        &self.slots[(i & self.mask) as usize]
    }

    /// Whether the oldest packet waiting has waited past the bound.
    fn expired(&self, now_ns: u64) -> bool {
        (self.next..=self.highest)
            .find(|&i| self.present(i))
            .is_some_and(|i| self.slot(i).arrival_ns.saturating_add(self.max_latency_ns) <= now_ns)
    }

    /// Whether the missing packet at `next` is past waiting for: measured
    /// from the packet before it when that one came, else from the oldest
    /// packet after it.
    fn missing_expired(&self, now_ns: u64) -> bool {
        match self.prev_arrival {
            Some(t) if t.saturating_add(self.max_latency_ns) <= now_ns => true,
            _ => self.expired(now_ns),
        }
    }

    fn consume(&mut self, i: u64) {
        let s = &mut self.slots[(i & self.mask) as usize];
        s.present = false;
        self.prev_arrival = Some(s.arrival_ns);
        self.prev = Prev::Consumed {
            ts: s.ts,
            marker: s.marker,
        };
        self.next = i + 1;
    }

    fn discard(&mut self, i: u64, reason: DropReason) {
        let ts = self.slot(i).ts;
        self.consume(i);
        self.need_key = true;
        match self.drops.back_mut() {
            Some(d) if d.ts == ts => d.packets += 1,
            _ if self.last_drop_ts == Some(ts) && reason != DropReason::Overflow => {}
            _ => {
                self.stats.dropped_frames += 1;
                self.last_drop_ts = Some(ts);
                self.drops.push_back(Dropped {
                    ts,
                    packets: 1,
                    reason,
                });
            }
        }
    }

    fn is_start(&mut self, i: u64) -> bool {
        let idx = (i & self.mask) as usize;
        let hint = match self.slots[idx].hint {
            Some(h) => h,
            None => {
                let h = self.codec.start_hint(&self.slots[idx].data);
                self.slots[idx].hint = Some(h);
                h
            }
        };
        match (hint, self.prev) {
            (StartHint::Yes, _) => true,
            (StartHint::No, _) => false,
            (StartHint::Maybe, Prev::Initial) => true,
            (StartHint::Maybe, Prev::Consumed { ts, marker }) => marker || ts != self.slots[idx].ts,
            (StartHint::Maybe, Prev::Lost) => false,
        }
    }

    /// The next frame or drop report, if one is ready at `now_ns`. Frames
    /// come out in sequence order. `now_ns == u64::MAX` gives up on
    /// everything still incomplete (end of stream).
    pub fn poll(&mut self, now_ns: u64) -> Option<Output<'_>> {
        loop {
            if let Some(d) = self.drops.pop_front() {
                return Some(Output::Dropped(d));
            }
            if !self.started || self.next > self.highest {
                return None;
            }
            let i = self.next;
            if !self.present(i) {
                if self.missing_expired(now_ns) {
                    self.stats.lost += 1;
                    self.prev = Prev::Lost;
                    self.need_key = true;
                    self.next = i + 1;
                    continue;
                }
                return None;
            }
            if !self.is_start(i) {
                // At the stream's start the first packet may still come.
                if self.prev == Prev::Initial && !self.expired(now_ns) {
                    return None;
                }
                self.discard(i, DropReason::Incomplete);
                continue;
            }
            let ts = self.slot(i).ts;
            let mut e = i;
            let end = loop {
                if self.slot(e).marker {
                    break Some(e);
                }
                if e == self.highest || !self.present(e + 1) {
                    break None;
                }
                if self.slot(e + 1).ts != ts {
                    break Some(e);
                }
                e += 1;
            };
            let Some(e) = end else {
                if self.expired(now_ns) {
                    for k in i..=e {
                        self.discard(k, DropReason::Incomplete);
                    }
                    continue;
                }
                return None;
            };
            return Some(self.emit(i, e));
        }
    }

    fn emit(&mut self, i: u64, e: u64) -> Output<'_> {
        let mask = self.mask;
        let slots = &self.slots;
        let res = self.codec.depacketize(
            (i..=e).map(|k| &slots[(k & mask) as usize].data[..]),
            &mut self.frame,
        );
        let ts = self.slot(i).ts;
        let recovered = (i..=e).any(|k| self.slot(k).recovered);
        let info = FrameInfo {
            ts,
            keyframe: false,
            first_seq: i as u16,
            last_seq: e as u16,
            packets: (e - i + 1) as u32,
            recovered,
            after_loss: false,
        };
        match res {
            Ok(keyframe) => {
                for k in i..=e {
                    self.consume(k);
                }
                if keyframe {
                    self.need_key = false;
                    self.stats.keyframes += 1;
                }
                self.stats.frames += 1;
                let after_loss = self.need_key;
                Output::Frame(
                    FrameInfo {
                        keyframe,
                        after_loss,
                        ..info
                    },
                    &self.frame,
                )
            }
            Err(_) => {
                for k in i..=e {
                    self.discard(k, DropReason::Corrupt);
                }
                match self.drops.pop_front() {
                    Some(d) => Output::Dropped(d),
                    None => Output::Dropped(Dropped {
                        ts,
                        packets: info.packets,
                        reason: DropReason::Corrupt,
                    }),
                }
            }
        }
    }
}
