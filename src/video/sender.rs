//! A video stream's send side: frames to RTP packets (headers from the
//! drop-in generator's explicit-timestamp call), a retransmission history
//! answering NACKs, optionally as RFC 4588 RTX, and keyframe requests
//! handed to the application.

use super::history::History;
use super::packetizer::Packetizer;
use super::{Codec, VideoError, MAX_MTU, MIN_MTU};
use crate::rtcp::packet::{fir_entries, nack_seqs};
use crate::rtcp::{Compound, Packet};
use crate::rtp::RTP_HDR_LEN;
use crate::synth::Synth;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderConfig {
    pub codec: Codec,
    pub pt: u8,
    /// Largest RTP packet (header + payload).
    pub mtu: usize,
    pub ssrc: u32,
    pub first_seq: u16,
    /// Packets kept for retransmission (0: none) and for how long.
    pub history_packets: usize,
    pub history_age_ns: u64,
    /// RTX (RFC 4588): payload type, SSRC, first sequence number.
    pub rtx: Option<(u8, u32, u16)>,
    pub first_picture_id: u16,
}

impl SenderConfig {
    pub fn new(codec: Codec, pt: u8, mtu: usize, ssrc: u32, first_seq: u16) -> Self {
        SenderConfig {
            codec,
            pt,
            mtu,
            ssrc,
            first_seq,
            history_packets: 512,
            history_age_ns: 1_000_000_000,
            rtx: None,
            first_picture_id: 0,
        }
    }
}

/// A keyframe request that came in from the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframeRequest {
    /// RFC 4585 Picture Loss Indication.
    Pli,
    /// RFC 5104 Full Intra Request (with its command sequence number).
    Fir { seq: u8 },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    pub frames: u64,
    pub packets: u64,
    pub bytes: u64,
    pub nacked: u64,
    pub retransmitted: u64,
    /// NACKed packets no longer in the history.
    pub not_found: u64,
    pub plis: u64,
    pub firs: u64,
}

/// Builds a generator whose packets carry `ssrc` and start at `seq`. The
/// generator stores the SSRC in host byte order (the original's quirk), so
/// it is handed the value whose host-order bytes are the big-endian ones.
fn generator(ssrc: u32, seq: u16) -> Synth {
    let draws = [u32::from_ne_bytes(ssrc.to_be_bytes()), 0, u32::from(seq)];
    let mut i = 0;
    Synth::new(super::CLOCK_RATE as i32, 20, move || {
        let v = draws[i % 3];
        i += 1;
        v
    })
}

pub struct Sender {
    cfg: SenderConfig,
    media: Synth,
    rtx: Option<Synth>,
    pk: Packetizer,
    hist: History,
    buf: Vec<u8>,
    stats: SenderStats,
    on_keyframe: Option<Box<dyn FnMut(KeyframeRequest)>>,
}

impl Sender {
    pub fn new(cfg: SenderConfig) -> Result<Self, VideoError> {
        if !(MIN_MTU..=MAX_MTU).contains(&cfg.mtu)
            || cfg.pt > 127
            || cfg
                .rtx
                .is_some_and(|(pt, ssrc, _)| pt > 127 || pt == cfg.pt || ssrc == cfg.ssrc)
        {
            return Err(VideoError::InvalidArgument);
        }
        Ok(Sender {
            media: generator(cfg.ssrc, cfg.first_seq),
            rtx: cfg.rtx.map(|(_, ssrc, seq)| generator(ssrc, seq)),
            // RTX adds the 2-byte original sequence number: keep room for it.
            pk: Packetizer::new(
                cfg.codec,
                cfg.mtu - RTP_HDR_LEN - if cfg.rtx.is_some() { 2 } else { 0 },
                cfg.first_picture_id,
            )?,
            hist: History::new(cfg.history_packets, cfg.history_age_ns),
            buf: Vec::with_capacity(cfg.mtu + 2),
            stats: SenderStats::default(),
            on_keyframe: None,
            cfg,
        })
    }

    pub fn config(&self) -> &SenderConfig {
        &self.cfg
    }

    pub fn stats(&self) -> &SenderStats {
        &self.stats
    }

    /// The sequence number the next media packet carries.
    pub fn next_seq(&self) -> u16 {
        self.media.state().seq as u16
    }

    /// Called for every PLI/FIR passed to `keyframe_request`.
    pub fn set_keyframe_callback(&mut self, f: Option<Box<dyn FnMut(KeyframeRequest)>>) {
        self.on_keyframe = f;
    }

    /// Packetize one frame with RTP timestamp `ts` (90 kHz), keep the
    /// packets in the history (sent at `now_ns`) and hand each to `emit`.
    /// Returns the number of packets.
    pub fn send_frame(
        &mut self,
        frame: &[u8],
        ts: u32,
        now_ns: u64,
        mut emit: impl FnMut(&[u8]),
    ) -> Result<usize, VideoError> {
        let Sender {
            cfg,
            media,
            pk,
            hist,
            buf,
            stats,
            ..
        } = self;
        let pt = i32::from(cfg.pt);
        let n = pk.packetize(frame, |head, body, last| {
            buf.clear();
            buf.extend_from_slice(&media.next_header_at(pt, ts, last));
            buf.extend_from_slice(head);
            buf.extend_from_slice(body);
            hist.store(u16::from_be_bytes([buf[2], buf[3]]), buf, now_ns);
            stats.packets += 1;
            stats.bytes += buf.len() as u64;
            emit(buf);
        })?;
        stats.frames += 1;
        Ok(n)
    }

    /// Resend the packet with sequence number `seq` through `emit`: as it
    /// was, or wrapped in RTX when configured. `NotFound` when it is no
    /// longer in the history (or too old at `now_ns`).
    pub fn resend(
        &mut self,
        seq: u16,
        now_ns: u64,
        mut emit: impl FnMut(&[u8]),
    ) -> Result<(), VideoError> {
        self.stats.nacked += 1;
        let Some(orig) = self.hist.get(seq, now_ns) else {
            self.stats.not_found += 1;
            return Err(VideoError::NotFound);
        };
        match (&mut self.rtx, self.cfg.rtx) {
            (Some(gen), Some((rtx_pt, _, _))) => {
                let ts = u32::from_be_bytes([orig[4], orig[5], orig[6], orig[7]]);
                let marker = orig[1] & 0x80 != 0;
                self.buf.clear();
                self.buf
                    .extend_from_slice(&gen.next_header_at(i32::from(rtx_pt), ts, marker));
                self.buf.extend_from_slice(&orig[2..4]);
                self.buf.extend_from_slice(&orig[RTP_HDR_LEN..]);
                emit(&self.buf);
            }
            _ => emit(orig),
        }
        self.stats.retransmitted += 1;
        Ok(())
    }

    /// Answer a generic NACK: resend each listed packet still held. Returns
    /// the number resent.
    pub fn on_nack(&mut self, seqs: &[u16], now_ns: u64, mut emit: impl FnMut(&[u8])) -> usize {
        seqs.iter()
            .filter(|&&s| self.resend(s, now_ns, &mut emit).is_ok())
            .count()
    }

    /// The SSRC media packets carry.
    pub fn ssrc(&self) -> u32 {
        self.cfg.ssrc
    }

    /// Handle an incoming RTCP packet (compound or reduced-size): generic
    /// NACKs for this stream are answered through `emit`, PLI and FIR for
    /// it go to `keyframe_request`. Other packets are skipped. Returns the
    /// number of packets resent; `Malformed` when the first sub-packet does
    /// not parse (feedback before a malformed one is still acted on).
    pub fn on_rtcp(
        &mut self,
        buf: &[u8],
        now_ns: u64,
        mut emit: impl FnMut(&[u8]),
    ) -> Result<usize, VideoError> {
        let mut resent = 0;
        let ssrc = self.cfg.ssrc;
        for (i, p) in Compound::new(buf).enumerate() {
            let p = match p {
                Ok(p) => p,
                Err(_) if i == 0 => return Err(VideoError::Malformed),
                Err(_) => break,
            };
            match p {
                Packet::Nack { media, fci, .. } if media == ssrc => {
                    for seq in nack_seqs(fci) {
                        if self.resend(seq, now_ns, &mut emit).is_ok() {
                            resent += 1;
                        }
                    }
                }
                Packet::Pli { media, .. } if media == ssrc => {
                    self.keyframe_request(KeyframeRequest::Pli)
                }
                Packet::Fir { fci, .. } => {
                    for (s, seq) in fir_entries(fci) {
                        if s == ssrc {
                            self.keyframe_request(KeyframeRequest::Fir { seq });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(resent)
    }

    /// A keyframe request came in: count it and tell the application.
    pub fn keyframe_request(&mut self, req: KeyframeRequest) {
        match req {
            KeyframeRequest::Pli => self.stats.plis += 1,
            KeyframeRequest::Fir { .. } => self.stats.firs += 1,
        }
        if let Some(f) = self.on_keyframe.as_mut() {
            f(req);
        }
    }
}
