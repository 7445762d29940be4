//! A video stream's receive side: RTP parsing, SSRC and payload type
//! filtering, RFC 4588 RTX unwrapping, frame assembly, NACK generation and
//! keyframe requests (PLI) when a frame is lost.

use super::assembler::{Assembler, AssemblerStats, Insert, Output, PacketMeta};
use super::nack::{NackList, NackStats};
use super::{Codec, VideoError};
use crate::rtcp::Writer;
use crate::rtp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    pub codec: Codec,
    pub pt: u8,
    /// RTX payload type (RFC 4588), if retransmissions come that way.
    pub rtx_pt: Option<u8>,
    /// How long a frame may wait for missing packets.
    pub max_latency_ns: u64,
    /// Packets the buffer holds (bounds the largest frame).
    pub max_packets: usize,
    /// Generate NACKs for missing packets.
    pub nack: bool,
    /// Round-trip time until `set_rtt` says otherwise.
    pub rtt_ns: u64,
    /// Keyframe requests are at least this far apart.
    pub keyframe_interval_ns: u64,
}

impl ReceiverConfig {
    pub fn new(codec: Codec, pt: u8) -> Self {
        ReceiverConfig {
            codec,
            pt,
            rtx_pt: None,
            max_latency_ns: 500_000_000,
            max_packets: 1024,
            nack: false,
            rtt_ns: 100_000_000,
            keyframe_interval_ns: 500_000_000,
        }
    }
}

/// What `push` did with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Stored,
    Duplicate,
    Late,
    /// Another payload type or SSRC than this stream's: ignored.
    Ignored,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    pub assembler: AssemblerStats,
    pub nack: NackStats,
    pub rtx_packets: u64,
    pub ignored: u64,
    pub malformed: u64,
    pub keyframe_requests: u64,
}

pub struct Receiver {
    cfg: ReceiverConfig,
    asm: Assembler,
    nacks: NackList,
    ssrc: Option<u32>,
    rtx_ssrc: Option<u32>,
    last_kf_req: Option<u64>,
    stats: ReceiverStats,
}

impl Receiver {
    pub fn new(cfg: ReceiverConfig) -> Result<Self, VideoError> {
        if cfg.pt > 127
            || cfg.rtx_pt.is_some_and(|p| p > 127 || p == cfg.pt)
            || cfg.max_packets == 0
        {
            return Err(VideoError::InvalidArgument);
        }
        Ok(Receiver {
            asm: Assembler::new(cfg.codec, cfg.max_packets, cfg.max_latency_ns),
            nacks: NackList::new(cfg.max_packets, cfg.max_latency_ns, 10, cfg.rtt_ns),
            cfg,
            ssrc: None,
            rtx_ssrc: None,
            last_kf_req: None,
            stats: ReceiverStats::default(),
        })
    }

    pub fn config(&self) -> &ReceiverConfig {
        &self.cfg
    }

    /// The media SSRC (locked to the first packet of the payload type).
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    pub fn set_rtt(&mut self, rtt_ns: u64) {
        self.nacks.set_rtt(rtt_ns);
    }

    pub fn stats(&self) -> ReceiverStats {
        ReceiverStats {
            assembler: *self.asm.stats(),
            nack: *self.nacks.stats(),
            ..self.stats
        }
    }

    /// Take one RTP datagram that arrived at `arrival_ns`.
    pub fn push(&mut self, pkt: &[u8], arrival_ns: u64) -> Result<Pushed, VideoError> {
        let p = rtp::parse(pkt).map_err(|_| {
            self.stats.malformed += 1;
            VideoError::Malformed
        })?;
        let mut payload = &pkt[p.data_offset as usize..p.data_offset as usize + p.data_size];
        let mut seq = p.seq;
        let mut via_rtx = false;
        if Some(p.pt) == self.cfg.rtx_pt {
            if self.rtx_ssrc.is_some_and(|s| s != p.ssrc) {
                self.stats.ignored += 1;
                return Ok(Pushed::Ignored);
            }
            let [a, b, rest @ ..] = payload else {
                self.stats.malformed += 1;
                return Err(VideoError::Malformed);
            };
            self.rtx_ssrc = Some(p.ssrc);
            self.stats.rtx_packets += 1;
            seq = u16::from_be_bytes([*a, *b]);
            payload = rest;
            via_rtx = true;
        } else if p.pt != self.cfg.pt || self.ssrc.is_some_and(|s| s != p.ssrc) {
            self.stats.ignored += 1;
            return Ok(Pushed::Ignored);
        } else {
            self.ssrc = Some(p.ssrc);
        }
        if via_rtx && !self.asm.started() {
            // a retransmission of a stream not yet seen tells nothing
            self.stats.ignored += 1;
            return Ok(Pushed::Ignored);
        }
        let ext_guess = self.asm.extend(seq);
        let asked = self.asm.started() && self.nacks.received(ext_guess);
        let prev_high = self.asm.highest_ext();
        let was_started = self.asm.started();
        let meta = PacketMeta {
            seq,
            ts: p.ts,
            marker: p.marker,
            arrival_ns,
            recovered: asked || via_rtx,
        };
        Ok(match self.asm.insert(meta, payload) {
            Insert::Stored { ext } => {
                if self.cfg.nack && was_started && ext > prev_high + 1 {
                    self.nacks.gap(prev_high + 1, ext, arrival_ns);
                }
                Pushed::Stored
            }
            Insert::Reset { .. } => {
                self.nacks.clear();
                Pushed::Stored
            }
            Insert::Duplicate => Pushed::Duplicate,
            Insert::Late => Pushed::Late,
        })
    }

    /// The next complete frame or drop report ready at `now_ns` (see
    /// [`Assembler::poll`]).
    pub fn poll(&mut self, now_ns: u64) -> Option<Output<'_>> {
        // What the previous poll gave up on is no longer asked for.
        if self.asm.started() {
            self.nacks.forget_below(self.asm.next_ext());
        }
        self.asm.poll(now_ns)
    }

    /// Sequence numbers to NACK now (at most `max`), through `f`.
    pub fn nacks_due(&mut self, now_ns: u64, max: usize, f: impl FnMut(u16)) -> usize {
        if !self.cfg.nack {
            return 0;
        }
        if self.asm.started() {
            self.nacks.forget_below(self.asm.next_ext());
        }
        self.nacks.due(now_ns, max, f)
    }

    /// Build the feedback due at `now_ns` into `buf` as a reduced-size RTCP
    /// packet (RFC 5506; put it behind a receiver report for a compound
    /// one): a generic NACK for the missing packets due a request, and a
    /// PLI when a keyframe request is due. Returns the length, 0 when
    /// nothing is due; `TooLarge` when `buf` cannot hold even one NACK
    /// entry and a PLI (nothing is consumed then).
    pub fn feedback(
        &mut self,
        now_ns: u64,
        sender_ssrc: u32,
        buf: &mut [u8],
    ) -> Result<usize, VideoError> {
        // NACK header 12 + 4 per entry, PLI 12
        const MIN: usize = 12 + 4 + 12;
        if buf.len() < MIN {
            return Err(VideoError::TooLarge);
        }
        let Some(media) = self.ssrc else {
            return Ok(0);
        };
        // one entry can carry 17 numbers; at worst one entry each
        let room = (buf.len() - 24) / 4;
        let mut lost = [0u16; 256];
        let mut n = 0;
        self.nacks_due(now_ns, room.min(lost.len()), |s| {
            lost[n] = s;
            n += 1;
        });
        let pli = self.keyframe_request_due(now_ns);
        let mut w = Writer::new(buf);
        if n > 0 {
            w.nack(sender_ssrc, media, &lost[..n])
                .map_err(|_| VideoError::TooLarge)?;
        }
        if pli {
            w.pli(sender_ssrc, media)
                .map_err(|_| VideoError::TooLarge)?;
        }
        Ok(w.len())
    }

    /// Whether to send a keyframe request (PLI) now: a frame was lost and
    /// no key frame came since, and the last request is older than the
    /// configured interval. Counts the request when it says yes.
    pub fn keyframe_request_due(&mut self, now_ns: u64) -> bool {
        if !self.asm.keyframe_needed() {
            return false;
        }
        if self
            .last_kf_req
            .is_some_and(|t| now_ns < t.saturating_add(self.cfg.keyframe_interval_ns))
        {
            return false;
        }
        self.last_kf_req = Some(now_ns);
        self.stats.keyframe_requests += 1;
        true
    }
}
