//! `recv --playout adaptive|fixed`: the decoded stream through the
//! library's playout buffer (`rtpsynth::playout`), on a clock of packet
//! arrival times.
//!
//! The buffer's `get` depends only on its `now_ns` and the packets `put`
//! before it, so one frame per packet time on a clock that starts at the
//! first arrival, with every frame due before a packet's arrival taken
//! before that packet is put, gives what a listener hears live; the same
//! code then runs a capture as fast as it reads. The output holds the
//! frames from the first one that plays to the end of what was received
//! (the buffer drained once input ends).

use rtpsynth::playout::{status, Codec, Config, Mode, Playout, PutOutcome};
use serde_json::{json, Value};

use crate::cli;
use crate::codec::Audio;
use crate::fail::Fail;

/// Output frame: one packet time of the usual 20 ms.
const FRAME_MS: u32 = 20;
/// Beyond the largest delay, how long the drain may run (concealment of a
/// stream that ends mid-pause stops well before).
const DRAIN_SLACK_MS: i64 = 2000;

/// The tool's playout mode, or None for `off`.
pub fn mode(p: cli::Playout) -> Option<Mode> {
    match p {
        cli::Playout::Off => None,
        cli::Playout::Adaptive { min_ms, max_ms } => Some(Mode::Adaptive { min_ms, max_ms }),
        cli::Playout::Fixed { ms } => Some(Mode::Fixed { ms }),
    }
}

fn codec(a: Audio) -> Codec {
    match a {
        Audio::Pcmu => Codec::Pcmu,
        Audio::Pcma => Codec::Pcma,
        Audio::L16 => Codec::L16 { rate: a.rate() },
        Audio::Opus => Codec::Opus { rate: a.rate() },
    }
}

/// The playout buffer of the decoded stream and its output clock.
pub struct Player {
    po: Playout,
    frame_ns: i64,
    max_ms: u32,
    /// `now_ns` of the next `get` (None before the first packet).
    next_get: Option<i64>,
    /// A frame has played: from here on every frame is output.
    started: bool,
    frame: Vec<i16>,
    /// Frames output.
    pub frames: u64,
}

impl Player {
    pub fn new(a: Audio, pt: u8, mode: Mode) -> Result<Player, Fail> {
        let max_ms = match mode {
            Mode::Adaptive { max_ms, .. } => max_ms,
            Mode::Fixed { ms } => ms,
        };
        let mut cfg = Config::new(codec(a));
        cfg.pt = Some(pt);
        cfg.ptime_ms = FRAME_MS;
        cfg.mode = mode;
        let po = Playout::new(cfg)
            .map_err(|e| Fail::usage(format!("--playout: refused by the library ({e:?})")))?;
        let frame = vec![0; po.frame_len()];
        Ok(Player {
            frame_ns: FRAME_MS as i64 * 1_000_000,
            po,
            max_ms,
            next_get: None,
            started: false,
            frame,
            frames: 0,
        })
    }

    /// One packet of the decoded stream, after the frames due before it.
    pub fn packet(&mut self, d: &[u8], arrival_ns: u64, out: &mut impl FnMut(&[i16])) {
        let t = arrival_ns as i64;
        self.play_until(t, out);
        // Not RTP cannot happen (parsed by the caller); what the buffer
        // did with the packet is in its counters.
        let _: Option<PutOutcome> = self.po.put(d, t).ok();
    }

    /// Take every frame due before `t`.
    fn play_until(&mut self, t: i64, out: &mut impl FnMut(&[i16])) {
        let next = *self.next_get.get_or_insert(t);
        let mut now = next;
        while now < t {
            self.get(now, out);
            now += self.frame_ns;
        }
        self.next_get = Some(now);
    }

    fn get(&mut self, now: i64, out: &mut impl FnMut(&[i16])) -> u32 {
        // The frame is always frame_len() long: cannot fail.
        let flags = self.po.get(now, &mut self.frame).unwrap_or(0);
        self.started |= flags & status::PLAYING != 0;
        if self.started {
            out(&self.frame);
            self.frames += 1;
        }
        flags
    }

    /// Input ended: play out what is buffered, up to the frame where the
    /// last of it has played (concealment or a pause starts).
    pub fn finish(&mut self, out: &mut impl FnMut(&[i16])) {
        let Some(mut now) = self.next_get else {
            return;
        };
        let end = now + (self.max_ms as i64 + DRAIN_SLACK_MS) * 1_000_000;
        while now < end {
            let flags = self.get(now, out);
            now += self.frame_ns;
            let playing = flags & status::PLAYING != 0;
            let idle = flags & (status::CONCEALED | status::PAUSED) != 0 || !playing;
            if self.po.buffered_packets() == 0 && idle && (self.started || !playing) {
                break;
            }
        }
        self.next_get = Some(now);
    }

    /// The stream object's `playout` member (DESIGN.md 5.2).
    pub fn json(&self) -> Value {
        let s = self.po.stats();
        let ms = |ns: f64| ns / 1e6;
        let some = s.delay_count > 0;
        json!({
            "mean_delay_ms": some.then(|| ms(s.mean_delay_ns)),
            "p95_delay_ms": some.then(|| ms(s.p95_delay_ns)),
            "late": s.late,
            "discarded": s.discarded,
            "concealed_frames": s.concealed_frames,
            "target_delay_ms": ms(s.target_delay_ns as f64),
            "delay_by_minute_ms": self
                .po
                .delay_by_minute()
                .map(|m| m.map(ms))
                .collect::<Vec<_>>(),
            "played": s.played,
            "duplicates": s.duplicates,
            "frame_ms": FRAME_MS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ts: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&[0x7f; 160]);
        p
    }

    /// A steady stream at a fixed delay: the output is its media time, the
    /// delays are the fixed one (within a frame's lattice).
    #[test]
    fn fixed_delay_steady_stream() {
        let mut pl = Player::new(Audio::Pcmu, 0, Mode::Fixed { ms: 60 }).unwrap();
        let mut samples = 0usize;
        let mut out = |f: &[i16]| samples += f.len();
        let t0 = 1_000_000_000u64;
        for i in 0..100u16 {
            pl.packet(
                &rtp(i, i as u32 * 160),
                t0 + i as u64 * 20_000_000,
                &mut out,
            );
        }
        pl.finish(&mut out);
        let v = pl.json();
        assert_eq!(v["late"], 0);
        assert_eq!(v["played"], 100);
        let mean = v["mean_delay_ms"].as_f64().unwrap();
        assert!((60.0..=80.0).contains(&mean), "mean {mean}");
        // 100 packets of 20 ms, plus at most the frame where the
        // concealment after the last one starts.
        assert!((100 * 160..=101 * 160).contains(&samples), "{samples}");
        assert_eq!(v["delay_by_minute_ms"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn nothing_received_nothing_played() {
        let mut pl = Player::new(Audio::Pcmu, 0, Mode::Fixed { ms: 60 }).unwrap();
        let mut samples = 0usize;
        pl.finish(&mut |f: &[i16]| samples += f.len());
        assert_eq!(samples, 0);
        assert!(pl.json()["mean_delay_ms"].is_null());
    }
}
