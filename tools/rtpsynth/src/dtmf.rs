//! Telephone events (RFC 4733) for `send --dtmf` and `recv`: the library's
//! `event::EventSender` makes the packets that replace the audio of their
//! packet times, `event::EventReceiver` turns received ones back into
//! digits. This module holds the schedule and the output formats.

use std::collections::VecDeque;

use rtpsynth::event::{dtmf_char, dtmf_event, EventPacket, EventSender, ReceivedEvent};
use serde_json::{json, Value};

use crate::fail::Fail;

pub const DEFAULT_PT: u8 = 101;
pub const DEFAULT_MS: u32 = 100;
pub const DEFAULT_GAP_MS: u32 = 60;
/// Longest digit accepted (a minute: far beyond any real key press).
const MAX_MS: u32 = 60_000;

/// One `DIGITS@SEC`: the event codes and the start in ms from the start.
pub fn parse_spec(spec: &str) -> Result<(Vec<u8>, u64), Fail> {
    let bad = |why: &str| {
        Fail::usage(format!(
            "--dtmf {spec}: {why} (expected DIGITS@SEC, e.g. 123#@1.5)"
        ))
    };
    let (digits, sec) = spec.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    if digits.is_empty() {
        return Err(bad("no digits"));
    }
    let events = digits
        .chars()
        .map(|c| {
            dtmf_event(c).ok_or_else(|| bad(&format!("'{c}' is not a DTMF digit (0-9 * # A-D)")))
        })
        .collect::<Result<Vec<u8>, Fail>>()?;
    let s: f64 = sec.parse().map_err(|_| bad("bad number of seconds"))?;
    if !(s.is_finite() && (0.0..1e9).contains(&s)) {
        return Err(bad("bad number of seconds"));
    }
    Ok((events, (s * 1000.0).round() as u64))
}

/// The events of one stream, in the order and at the times asked.
pub struct Schedule {
    sender: EventSender,
    pt: u8,
    units: u64,
    gap_packets: u32,
    ptime_ms: u32,
    queue: VecDeque<(u64, u8)>,
    gap_left: u32,
    was_active: bool,
    pub sent_events: u64,
}

impl Schedule {
    /// `specs` as given on the command line; `rate` the audio clock.
    pub fn new(
        specs: &[String],
        pt: u8,
        ms: u32,
        gap_ms: u32,
        rate: u32,
        ptime_ms: u32,
    ) -> Result<Schedule, Fail> {
        if ms == 0 || ms > MAX_MS {
            return Err(Fail::usage(format!(
                "--dtmf-ms {ms}: expected 1..={MAX_MS} milliseconds"
            )));
        }
        if gap_ms > MAX_MS {
            return Err(Fail::usage(format!(
                "--dtmf-gap {gap_ms}: expected 0..={MAX_MS} milliseconds"
            )));
        }
        let sender = EventSender::new(rate, ptime_ms)
            .map_err(|e| Fail::usage(format!("telephone events at {rate} Hz: {e:?}")))?;
        let mut queue = Vec::new();
        for s in specs {
            let (events, at) = parse_spec(s)?;
            queue.extend(events.into_iter().map(|e| (at, e)));
        }
        // Groups in time order; the digits of one group keep theirs.
        queue.sort_by_key(|&(at, _)| at);
        Ok(Schedule {
            units: sender.units_from_ms(ms),
            sender,
            pt,
            gap_packets: gap_ms.div_ceil(ptime_ms),
            ptime_ms,
            queue: queue.into(),
            gap_left: 0,
            was_active: false,
            sent_events: 0,
        })
    }

    pub fn pt(&self) -> u8 {
        self.pt
    }

    /// The packet time `k` (0-based) whose audio would carry timestamp
    /// `ts`: the event packet that replaces the audio, or None (send audio).
    /// A digit starts at the first packet time at or after its start, once
    /// the previous one (end packets included) is out and `--dtmf-gap` of
    /// audio has followed it.
    pub fn tick(&mut self, k: u64, ts: u32) -> Option<EventPacket> {
        if !self.sender.is_active() {
            if self.was_active {
                self.was_active = false;
                self.gap_left = self.gap_packets;
            }
            if self.gap_left > 0 {
                self.gap_left -= 1;
                return None;
            }
            let now_ms = k * self.ptime_ms as u64;
            if let Some(&(at, ev)) = self.queue.front() {
                if at <= now_ms && self.sender.start(ev, ts, Some(self.units)).is_ok() {
                    self.queue.pop_front();
                    self.was_active = true;
                    self.sent_events += 1;
                }
            }
        }
        self.sender.next_packet()
    }
}

/// A received event's digit: 0-9 * # A-D, or the event number above 15.
pub fn digit(event: u8) -> String {
    match dtmf_char(event) {
        Some(c) => c.to_string(),
        None => event.to_string(),
    }
}

/// Duration in whole milliseconds at `rate`.
pub fn duration_ms(e: &ReceivedEvent, rate: u32) -> u64 {
    if rate == 0 {
        return 0;
    }
    (e.duration * 1000 + rate as u64 / 2) / rate as u64
}

/// The line `recv` prints for an event.
pub fn line(e: &ReceivedEvent, rate: u32) -> String {
    format!("dtmf {} {}", digit(e.event), duration_ms(e, rate))
}

/// The stats' `dtmf` array entry for an event.
pub fn entry(e: &ReceivedEvent, rate: u32) -> Value {
    json!({ "digit": digit(e.event), "duration_ms": duration_ms(e, rate), "ts": e.ts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtpsynth::event::EndReason;

    #[test]
    fn specs_parse() {
        assert_eq!(parse_spec("12#@1.5").unwrap(), (vec![1, 2, 11], 1500));
        assert_eq!(parse_spec("a*@0").unwrap(), (vec![12, 10], 0));
        for bad in ["", "12", "@1", "1x@1", "1@-1", "1@nan", "1@"] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digits_follow_each_other_with_the_gap() {
        // 8 kHz, 20 ms: 100 ms digits are 5 packets + 2 end copies, then
        // 60 ms (3 packets) of audio.
        let specs = vec!["12@0.04".to_string()];
        let mut s = Schedule::new(&specs, 101, 100, 60, 8000, 20).unwrap();
        let mut kinds = String::new();
        let mut starts = Vec::new();
        for k in 0..24u64 {
            let ts = 1000 + k as u32 * 160;
            match s.tick(k, ts) {
                Some(p) => {
                    kinds.push(if p.payload.end { 'E' } else { 'e' });
                    if p.marker {
                        starts.push((k, p.ts, p.payload.event));
                    }
                }
                None => kinds.push('a'),
            }
        }
        assert_eq!(kinds, "aaeeeeEEEaaaeeeeEEEaaaaa");
        assert_eq!(starts, vec![(2, 1320, 1), (12, 2920, 2)]);
        assert_eq!(s.sent_events, 2);
    }

    #[test]
    fn output_formats() {
        let e = ReceivedEvent {
            ssrc: 1,
            event: 11,
            ts: 77,
            duration: 800,
            volume: 10,
            end: EndReason::EndBit,
            first_arrival_ns: 0,
        };
        assert_eq!(line(&e, 8000), "dtmf # 100");
        assert_eq!(entry(&e, 8000)["ts"], 77);
        assert_eq!(digit(16), "16");
    }
}
