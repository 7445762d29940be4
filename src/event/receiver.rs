//! RFC 4733 receiver: RTP packets of the telephone-event payload type in, in
//! arrival order (straight from the socket, before any jitter buffer: the
//! event packets of one event share a timestamp, which a jitter buffer
//! ordering by timestamp would mangle), each event out exactly once with its
//! final duration.
//!
//! Rules (RFC 4733 2.5.2):
//! - An event is identified by its SSRC and timestamp. A new timestamp is a
//!   new event even with the same code (back-to-back identical digits).
//! - The duration reported is the largest seen; it counts from the event's
//!   start, so a lost first packet loses nothing.
//! - An event ends at its first E-bit packet; the other end copies, late
//!   updates and duplicates of it are dropped. Without an end packet it ends
//!   when nothing arrived for it for `timeout_ns`, or when a later event is
//!   established (has 2 packets or its end), or on an SSRC change.
//! - A packet whose timestamp is a whole number of 0xffff units after an open
//!   event's, with the same code and no marker, continues that event
//!   (2.5.1.3 segments); the durations add up.
//! - An SSRC change ends the old source's events unless the new source's
//!   packet continues the running one (same code, no marker, within the
//!   timeout). An event carried over keeps its mapping on the source it
//!   left, so two sources interleaving around a change each continue it at
//!   their own timestamps: the duration is the most either reached.
//! - Events are reported in timestamp order; packets of events older than
//!   the last one reported are dropped as stale.
//!
//! Nothing allocates after construction.

use super::payload::{EventPayload, MAX_SEGMENT_DURATION};
use crate::rtp;

/// Open events tracked at once (an event plus reordered successors).
const MAX_OPEN: usize = 4;
/// Capacity of the queue of finished events not yet taken.
const QUEUE_CAP: usize = 64;
/// Packets of a later event after which an open event without end is over.
const SUCCESSOR_PACKETS: u32 = 2;
/// Most segments joined across a gap of lost packets.
const MAX_SEGMENT_GAP: u32 = 16;

/// Default end-of-event timeout when no end packet arrives.
pub const DEFAULT_TIMEOUT_NS: u64 = 300_000_000;

/// How an event came to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// An end packet (E bit) arrived.
    EndBit,
    /// Nothing arrived for it for the timeout.
    Timeout,
    /// A later event began.
    NextEvent,
    /// Packets of another SSRC arrived.
    SsrcChange,
    /// The caller flushed the receiver.
    Flush,
}

/// A finished event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedEvent {
    pub ssrc: u32,
    /// Event code (DTMF 0-15, see `dtmf_char`).
    pub event: u8,
    /// Timestamp of the event's start (of its first segment seen).
    pub ts: u32,
    /// Final duration in timestamp units, all segments together.
    pub duration: u64,
    /// Volume of the last packet, in -dBm0.
    pub volume: u8,
    pub end: EndReason,
    /// Arrival time of the event's first packet seen.
    pub first_arrival_ns: u64,
}

/// What became of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketVerdict {
    /// It started a new event.
    NewEvent,
    /// It updated or ended an open event (or continued it in a new segment).
    Update,
    /// A copy of something already known, or of an event already reported.
    Duplicate,
    /// Not RTP, another payload type, or a payload shorter than 4 bytes.
    Invalid,
}

/// Counters since construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    pub packets: u64,
    pub events: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// Finished events dropped because the queue was full.
    pub overflow: u64,
}

/// Where an event stands in one source's timestamps.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    start_ts: u32,
    seg_ts: u32,
    /// Units before the current segment.
    seg_base: u64,
    seg_max: u16,
}

impl Mapping {
    fn starting(ts: u32, seg_base: u64, seg_max: u16) -> Mapping {
        Mapping {
            start_ts: ts,
            seg_ts: ts,
            seg_base,
            seg_max,
        }
    }

    /// Units up to the end of the current segment.
    fn units(&self) -> u64 {
        self.seg_base + self.seg_max as u64
    }

    /// How far after the current segment `ts` is, when it is a later
    /// segment within the gap allowed.
    fn later_segment(&self, ts: u32) -> Option<u32> {
        let d = ts.wrapping_sub(self.seg_ts);
        (ts_after(ts, self.seg_ts)
            && d % MAX_SEGMENT_DURATION == 0
            && d / MAX_SEGMENT_DURATION <= MAX_SEGMENT_GAP)
            .then_some(d)
    }

    /// `ts` is an earlier segment of this event.
    fn earlier_segment(&self, ts: u32) -> bool {
        ts_after(self.seg_ts, ts)
            && !ts_after(self.start_ts, ts)
            && ts.wrapping_sub(self.start_ts) % MAX_SEGMENT_DURATION == 0
    }

    /// `ts` is this event's current segment, a later or an earlier one.
    fn fits(&self, ts: u32) -> bool {
        ts == self.seg_ts || self.later_segment(ts).is_some() || self.earlier_segment(ts)
    }
}

#[derive(Clone, Copy, Debug)]
struct Open {
    event: u8,
    volume: u8,
    /// Where the event stands in the current source's timestamps.
    at: Mapping,
    /// Duration reached before the last SSRC change carried the event over.
    floor: u64,
    /// The event's mapping on the source it was carried over from, so that
    /// packets of two sources interleaving around a change (reordering, a
    /// forked stream) continue their own timestamps: the durations of the
    /// two do not add up.
    other: Option<(u32, Mapping)>,
    ended: Option<EndReason>,
    packets: u32,
    first_ns: u64,
    last_ns: u64,
}

impl Open {
    fn duration(&self) -> u64 {
        self.floor.max(self.at.units())
    }
}

/// The stream followed: its SSRC, open events and what was reported.
#[derive(Clone, Copy, Debug)]
struct Source {
    ssrc: u32,
    /// Segment timestamp of the latest event reported (packets at or before
    /// it are stale).
    horizon: Option<u32>,
}

/// RFC 4733 receiver for one payload type.
pub struct EventReceiver {
    pt: u8,
    timeout_ns: u64,
    cur: Option<Source>,
    /// The source before the last SSRC change: its stray packets are dropped.
    prev: Option<Source>,
    /// Open events of `cur`, sorted by timestamp (oldest first).
    open: [Option<Open>; MAX_OPEN],
    queue: [Option<ReceivedEvent>; QUEUE_CAP],
    q_head: usize,
    q_len: usize,
    stats: ReceiverStats,
}

/// `a` is after `b` in RTP timestamp order.
fn ts_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl EventReceiver {
    /// A receiver for event packets of payload type `pt` (0-127); events
    /// without an end packet end after `timeout_ns` without packets.
    pub fn new(pt: u8, timeout_ns: u64) -> EventReceiver {
        EventReceiver {
            pt: pt & 0x7f,
            timeout_ns,
            cur: None,
            prev: None,
            open: [None; MAX_OPEN],
            queue: [None; QUEUE_CAP],
            q_head: 0,
            q_len: 0,
            stats: ReceiverStats::default(),
        }
    }

    pub fn payload_type(&self) -> u8 {
        self.pt
    }

    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Finished events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.q_len
    }

    /// Take the oldest finished event.
    pub fn pop(&mut self) -> Option<ReceivedEvent> {
        if self.q_len == 0 {
            return None;
        }
        let e = self.queue[self.q_head].take();
        self.q_head = (self.q_head + 1) % QUEUE_CAP;
        self.q_len -= 1;
        e
    }

    /// Feed one RTP datagram that arrived at `arrival_ns`. Packets of other
    /// payload types are counted as invalid and otherwise ignored. Also ends
    /// events whose timeout passed at `arrival_ns`.
    pub fn push_rtp(&mut self, pkt: &[u8], arrival_ns: u64) -> PacketVerdict {
        let v = match rtp::parse(pkt) {
            Ok(p) if p.pt == self.pt => {
                let off = p.data_offset as usize;
                match EventPayload::decode(&pkt[off..off + p.data_size]) {
                    Ok(pl) => return self.push(p.ssrc, p.ts, p.marker, pl, arrival_ns),
                    Err(_) => PacketVerdict::Invalid,
                }
            }
            _ => PacketVerdict::Invalid,
        };
        self.stats.packets += 1;
        self.stats.invalid += 1;
        self.poll(arrival_ns);
        v
    }

    /// Feed one event packet already taken apart.
    pub fn push(
        &mut self,
        ssrc: u32,
        ts: u32,
        marker: bool,
        pl: EventPayload,
        arrival_ns: u64,
    ) -> PacketVerdict {
        self.stats.packets += 1;
        let v = self.process(ssrc, ts, marker, pl, arrival_ns);
        if v == PacketVerdict::Duplicate {
            self.stats.duplicates += 1;
        }
        self.poll(arrival_ns);
        v
    }

    /// End the open events whose timeout passed at `now_ns` and queue what is
    /// finished. Returns the number of events waiting in the queue.
    pub fn poll(&mut self, now_ns: u64) -> usize {
        for o in self.open.iter_mut().flatten() {
            if o.ended.is_none() && now_ns.saturating_sub(o.last_ns) >= self.timeout_ns {
                o.ended = Some(EndReason::Timeout);
            }
        }
        self.emit_ready();
        self.q_len
    }

    /// End every open event now (end of stream) and queue them.
    pub fn flush(&mut self) -> usize {
        self.close_all(EndReason::Flush);
        self.q_len
    }

    fn close_all(&mut self, why: EndReason) {
        for o in self.open.iter_mut().flatten() {
            o.ended.get_or_insert(why);
        }
        self.emit_ready();
    }

    fn process(
        &mut self,
        ssrc: u32,
        ts: u32,
        marker: bool,
        pl: EventPayload,
        now: u64,
    ) -> PacketVerdict {
        let stale = |s: &Source| s.horizon.is_some_and(|h| !ts_after(ts, h));
        match self.cur {
            Some(c) if c.ssrc == ssrc => {
                if stale(&c) {
                    return PacketVerdict::Duplicate;
                }
            }
            _ => {
                if let Some(p) = self.prev.filter(|p| p.ssrc == ssrc) {
                    if stale(&p) {
                        return PacketVerdict::Duplicate;
                    }
                }
                let carried = self.carry_over(ssrc, ts, marker, pl, now);
                if self.cur.is_some() {
                    self.close_all(EndReason::SsrcChange);
                }
                // the old source's horizon is kept to recognise its strays;
                // a source that comes back starts over from its horizon
                let back = self.prev.filter(|p| p.ssrc == ssrc);
                self.prev = self.cur;
                self.cur = Some(back.unwrap_or(Source {
                    ssrc,
                    horizon: None,
                }));
                if let Some((from, mut o)) = carried {
                    // the new source goes on with the event: one event, its
                    // duration continuing from what the old source reached
                    // (or, for the source it came from, from where that
                    // source's own timestamps had it)
                    o.floor = o.duration();
                    let left = (from, o.at);
                    o.at = match o.other {
                        Some((back, m)) if back == ssrc => m,
                        _ => Mapping::starting(ts, o.floor.saturating_sub(pl.duration as u64), 0),
                    };
                    o.other = Some(left);
                    self.open[0] = Some(o);
                }
            }
        }

        // an open event: same segment, or a later segment of it
        for i in 0..MAX_OPEN {
            let Some(o) = self.open[i].as_mut() else {
                continue;
            };
            if ts == o.at.seg_ts {
                if pl.event != o.event || o.ended.is_some() {
                    return PacketVerdict::Duplicate;
                }
                o.last_ns = now;
                o.packets += 1;
                o.volume = pl.volume;
                let grew = pl.duration > o.at.seg_max;
                o.at.seg_max = o.at.seg_max.max(pl.duration);
                if pl.end {
                    o.ended = Some(EndReason::EndBit);
                    self.close_older(i);
                    return PacketVerdict::Update;
                }
                self.successor_seen(i);
                return if grew {
                    PacketVerdict::Update
                } else {
                    PacketVerdict::Duplicate
                };
            }
            let continues = !marker && pl.event == o.event && o.ended.is_none();
            if let Some(d) = o.at.later_segment(ts).filter(|_| continues) {
                // a later segment: the earlier ones were full (0xffff each)
                o.at.seg_base += d as u64;
                o.at.seg_ts = ts;
                o.at.seg_max = pl.duration;
                o.last_ns = now;
                o.packets += 1;
                o.volume = pl.volume;
                if pl.end {
                    o.ended = Some(EndReason::EndBit);
                    self.close_older(i);
                }
                return PacketVerdict::Update;
            }
            if o.at.earlier_segment(ts) {
                // a late packet of an earlier segment of this event (or,
                // with another code, a packet claiming its timestamp)
                return PacketVerdict::Duplicate;
            }
        }

        // a new event: insert in timestamp order
        if self.open.iter().flatten().count() == MAX_OPEN {
            if let Some(o) = self.open[0].as_mut() {
                o.ended.get_or_insert(EndReason::NextEvent);
            }
            self.emit_ready();
            if self.open.iter().flatten().count() == MAX_OPEN {
                return PacketVerdict::Duplicate;
            }
        }
        let new = Open {
            event: pl.event,
            volume: pl.volume,
            at: Mapping::starting(ts, 0, pl.duration),
            floor: 0,
            other: None,
            ended: pl.end.then_some(EndReason::EndBit),
            packets: 1,
            first_ns: now,
            last_ns: now,
        };
        let n = self.open.iter().flatten().count();
        let mut at = n;
        while at > 0 && self.open[at - 1].is_some_and(|o| ts_after(o.at.seg_ts, ts)) {
            self.open[at] = self.open[at - 1];
            at -= 1;
        }
        self.open[at] = Some(new);
        if pl.end {
            self.close_older(at);
        } else {
            self.successor_seen(at);
        }
        PacketVerdict::NewEvent
    }

    /// On an SSRC change to `ssrc`: the old source's newest open event,
    /// taken out of the open list with the old SSRC, when this packet
    /// continues it (same code, no marker, within the timeout of its last
    /// packet; back on the source it was carried over from, at a timestamp
    /// of the event there).
    fn carry_over(
        &mut self,
        ssrc: u32,
        ts: u32,
        marker: bool,
        pl: EventPayload,
        now: u64,
    ) -> Option<(u32, Open)> {
        let from = self.cur?.ssrc;
        if marker {
            return None;
        }
        let i = self.open.iter().rposition(Option::is_some)?;
        let o = self.open[i]?;
        let live = o.ended.is_none() && now.saturating_sub(o.last_ns) < self.timeout_ns;
        let returns_elsewhere = o.other.is_some_and(|(back, m)| back == ssrc && !m.fits(ts));
        if !live || o.event != pl.event || returns_elsewhere {
            return None;
        }
        self.open[i] = None;
        Some((from, o))
    }

    /// Event `i` got a packet: open events before it end once it has enough.
    fn successor_seen(&mut self, i: usize) {
        if self.open[i].is_some_and(|o| o.packets >= SUCCESSOR_PACKETS) {
            self.close_older(i);
        }
    }

    fn close_older(&mut self, i: usize) {
        for o in self.open[..i].iter_mut().flatten() {
            o.ended.get_or_insert(EndReason::NextEvent);
        }
    }

    /// Queue the finished events at the front of the open list, in order.
    fn emit_ready(&mut self) {
        while let Some(o) = self.open[0].filter(|o| o.ended.is_some()) {
            self.open.copy_within(1.., 0);
            self.open[MAX_OPEN - 1] = None;
            if let Some(c) = self.cur.as_mut() {
                // never backwards: a long event's later segment can lie
                // beyond the start of an event reported after it
                c.horizon = match c.horizon {
                    Some(h) if ts_after(h, o.at.seg_ts) => Some(h),
                    _ => Some(o.at.seg_ts),
                };
            }
            let ev = ReceivedEvent {
                ssrc: self.cur.map_or(0, |c| c.ssrc),
                event: o.event,
                ts: o.at.start_ts,
                duration: o.duration(),
                volume: o.volume,
                end: o.ended.unwrap_or(EndReason::Flush),
                first_arrival_ns: o.first_ns,
            };
            self.stats.events += 1;
            if self.q_len == QUEUE_CAP {
                self.stats.overflow += 1;
                continue;
            }
            self.queue[(self.q_head + self.q_len) % QUEUE_CAP] = Some(ev);
            self.q_len += 1;
        }
    }
}
