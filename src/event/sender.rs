//! RFC 4733 sender: turns "event E from media time T for D units" into the
//! packet of each packet time, for a caller that interleaves them with its
//! audio in one SSRC and sequence space.
//!
//! The caller ticks once per packet time. While an event is on, each tick
//! yields the event packet that replaces the audio packet of that packet
//! time; the caller still advances its audio clock by one packet time, so
//! the audio resumes at the media time it would have had (RFC 4733 2.5.1.2:
//! the event packets are the audio's replacement, on the same clock).

use super::payload::{EventPayload, MAX_SEGMENT_DURATION, MAX_VOLUME};

/// Copies of a final packet (event end or segment end) in all
/// (RFC 4733 2.5.1.4: sent three times).
const FINAL_COPIES: u8 = 3;

/// Default volume: -10 dBm0, a typical DTMF level.
pub const DEFAULT_VOLUME: u8 = 10;

/// Why the sender refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// A rate, packet time, duration or volume out of range.
    InvalidArgument,
    /// An event is still being sent (its end packets included).
    Busy,
}

/// One event packet: the RTP timestamp and marker to send it with, and its
/// payload (`payload.encode()` gives the 4 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPacket {
    pub ts: u32,
    pub marker: bool,
    pub payload: EventPayload,
}

#[derive(Clone, Copy, Debug)]
struct Active {
    event: u8,
    volume: u8,
    /// Timestamp of the segment being sent.
    seg_ts: u32,
    /// Units from the event start to the start of that segment.
    seg_start: u64,
    /// Units from the event start to the end of the last packet time.
    elapsed: u64,
    /// The event's whole duration once known.
    total: Option<u64>,
    /// Copies of `last` still to send.
    repeats: u8,
    /// Set once the event's final packet went out: the sender is idle after
    /// its copies.
    ended: bool,
    first: bool,
    last: EventPacket,
}

/// The sender for one RTP stream (one clock rate, one packet time).
#[derive(Clone, Debug)]
pub struct EventSender {
    clock_rate: u32,
    unit: u32,
    volume: u8,
    act: Option<Active>,
}

impl EventSender {
    /// A sender at the audio codec's clock rate (Hz: 8000 for G.711, 48000
    /// for Opus) with the audio's packet time (ms). One packet time must be
    /// 1..=65535 timestamp units.
    pub fn new(clock_rate: u32, ptime_ms: u32) -> Result<EventSender, SendError> {
        let unit = clock_rate as u64 * ptime_ms as u64 / 1000;
        if clock_rate == 0 || unit == 0 || unit > MAX_SEGMENT_DURATION as u64 {
            return Err(SendError::InvalidArgument);
        }
        Ok(EventSender {
            clock_rate,
            unit: unit as u32,
            volume: DEFAULT_VOLUME,
            act: None,
        })
    }

    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Timestamp units per packet time.
    pub fn units_per_packet(&self) -> u32 {
        self.unit
    }

    /// Timestamp units in `ms` milliseconds at this clock rate.
    pub fn units_from_ms(&self, ms: u32) -> u64 {
        ms as u64 * self.clock_rate as u64 / 1000
    }

    /// Volume (0-63, in -dBm0) of events started from now on.
    pub fn set_volume(&mut self, volume: u8) -> Result<(), SendError> {
        if volume > MAX_VOLUME {
            return Err(SendError::InvalidArgument);
        }
        self.volume = volume;
        Ok(())
    }

    /// True while an event (or its end packets) is being sent.
    pub fn is_active(&self) -> bool {
        self.act.is_some()
    }

    /// Start event `event` at media time `ts` (the timestamp the audio packet
    /// of the next packet time would carry). `duration` in timestamp units
    /// (at least 1; the last packet time may be partly used), or None to
    /// send until `finish`. The next `next_packet` yields its first packet.
    pub fn start(&mut self, event: u8, ts: u32, duration: Option<u64>) -> Result<(), SendError> {
        if self.act.is_some() {
            return Err(SendError::Busy);
        }
        if duration == Some(0) {
            return Err(SendError::InvalidArgument);
        }
        let payload = EventPayload {
            event,
            end: false,
            volume: self.volume,
            duration: 0,
        };
        self.act = Some(Active {
            event,
            volume: self.volume,
            seg_ts: ts,
            seg_start: 0,
            elapsed: 0,
            total: duration,
            repeats: 0,
            ended: false,
            first: true,
            last: EventPacket {
                ts,
                marker: false,
                payload,
            },
        });
        Ok(())
    }

    /// End the current event with the packet time in progress: the next
    /// packet is its end packet (unless the event was set to end earlier).
    /// Nothing happens when idle.
    pub fn finish(&mut self) {
        let unit = self.unit as u64;
        if let Some(a) = self.act.as_mut() {
            let t = a.elapsed + unit;
            a.total = Some(a.total.map_or(t, |old| old.min(t)).max(1));
        }
    }

    /// Drop the current event at once, without end packets (e.g. the call
    /// ends). Receivers then end it by timeout.
    pub fn abort(&mut self) {
        self.act = None;
    }

    /// The packet of this packet time, or None when no event is on (send
    /// audio). Call once per packet time, in step with the audio clock.
    pub fn next_packet(&mut self) -> Option<EventPacket> {
        let unit = self.unit as u64;
        let a = self.act.as_mut()?;
        let e = a.elapsed + unit;
        a.elapsed = a.total.map_or(e, |t| e.min(t));
        if a.repeats > 0 {
            a.repeats -= 1;
            let p = a.last;
            if a.repeats == 0 && a.ended {
                self.act = None;
            }
            return Some(p);
        }
        let seg_dur = a.elapsed - a.seg_start;
        let base = EventPayload {
            event: a.event,
            end: false,
            volume: a.volume,
            duration: 0,
        };
        let pkt = if a.total == Some(a.elapsed) && seg_dur <= MAX_SEGMENT_DURATION as u64 {
            a.ended = true;
            a.repeats = FINAL_COPIES - 1;
            EventPacket {
                ts: a.seg_ts,
                marker: a.first,
                payload: EventPayload {
                    end: true,
                    duration: seg_dur as u16,
                    ..base
                },
            }
        } else if seg_dur >= MAX_SEGMENT_DURATION as u64 {
            // a full segment: its final packet (no E bit: the event goes on),
            // then the rest continues from ts + 0xffff without a marker
            let p = EventPacket {
                ts: a.seg_ts,
                marker: a.first,
                payload: EventPayload {
                    duration: MAX_SEGMENT_DURATION as u16,
                    ..base
                },
            };
            a.repeats = FINAL_COPIES - 1;
            a.seg_start += MAX_SEGMENT_DURATION as u64;
            a.seg_ts = a.seg_ts.wrapping_add(MAX_SEGMENT_DURATION);
            p
        } else {
            EventPacket {
                ts: a.seg_ts,
                marker: a.first,
                payload: EventPayload {
                    duration: seg_dur as u16,
                    ..base
                },
            }
        };
        a.first = false;
        // copies of a final packet never carry the marker
        a.last = EventPacket {
            marker: false,
            ..pkt
        };
        if a.ended && a.repeats == 0 {
            self.act = None;
        }
        Some(pkt)
    }
}
