//! An RTCP session for one local SSRC (RFC 3550 section 6): accounts the
//! RTP we send and receive, takes the RTCP we receive (remote reports,
//! LSR/DLSR and round-trip time, CNAMEs, BYE), builds our compound reports
//! and schedules them by the A.7 interval with timer reconsideration.
//!
//! All times are the caller's: `now_ns`/`arrival_ns` on one monotonic clock,
//! `wall_ns` (ns since the Unix epoch) only for the NTP field of our SRs.
//! The remote-source table is allocated when the session is made; nothing
//! allocates per packet.

use std::collections::VecDeque;

use super::packet::{sdes, Compound, Packet, ParseError, SenderInfo};
use super::report_block::{ReportBlock, REPORT_BLOCK_LEN};
use super::stats::{RecvStats, SeqStatus};
use super::timing::{self, IntervalInput};
use super::writer::{BuildError, SdesChunk, Writer};
use crate::rtp;

/// Largest remote-source table a session accepts.
pub const MAX_SOURCES_LIMIT: usize = 4096;
/// Remote sources when the configuration says 0.
pub const DEFAULT_MAX_SOURCES: usize = 32;
/// Session bandwidth when the configuration says 0: G.711 at 20 ms with
/// IPv4/UDP/RTP headers is 80 kbit/s.
pub const DEFAULT_SESSION_BW_BPS: u32 = 80_000;
/// Most report blocks in one report (the count field's limit).
pub const MAX_BLOCKS: usize = 31;
const EVENT_QUEUE: usize = 32;
const SENT_SR_MEMORY: usize = 8;
const NS: f64 = 1e9;

/// How a session is set up.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig<'a> {
    pub ssrc: u32,
    /// Our CNAME, 1..=255 bytes.
    pub cname: &'a [u8],
    /// RTP clock rate of the media, Hz (for jitter and the SR timestamp).
    pub clock_rate: u32,
    /// Session bandwidth in bit/s (RTCP takes 5 % of it); 0: 80000.
    pub session_bw_bps: u32,
    /// Most remote sources tracked; 0: 32.
    pub max_sources: usize,
    /// Seed of the default random source for the interval.
    pub seed: u64,
}

/// Why a session call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// A configuration value out of range.
    BadConfig,
    /// The session was closed (BYE built).
    Closed,
    /// The report does not fit the buffer.
    Build(BuildError),
    /// Malformed RTCP; the sub-packets before the bad one were taken.
    Parse(ParseError),
    /// Not an RTP packet.
    NotRtp,
}

/// Something the caller should know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A remote source appeared (RTP or RTCP).
    NewSource(u32),
    /// A new remote RTP sender appeared while another was the last one
    /// (in a point-to-point session: the peer changed its SSRC).
    SsrcChanged { old: u32, new: u32 },
    /// A packet from elsewhere carries our SSRC (RFC 3550 8.2): pick a new
    /// one with `change_ssrc`.
    Collision(u32),
    /// The remote source said BYE.
    Bye(u32),
    /// The remote source was silent for 5 intervals and was dropped.
    Timeout(u32),
    /// The remote source's sequence numbers restarted after a large jump.
    SeqRestart(u32),
}

/// What we know of one remote source.
#[derive(Clone, Debug)]
pub struct Remote {
    pub ssrc: u32,
    /// Reception statistics of its RTP.
    pub stats: RecvStats,
    /// Time of its last RTP packet, if any.
    pub last_rtp_ns: Option<u64>,
    /// Time of its last RTP or RTCP packet.
    pub last_heard_ns: u64,
    /// Its last SR's sender information and arrival time.
    pub last_sr: Option<(SenderInfo, u64)>,
    /// The last report block it sent about us, and its arrival time.
    pub report_about_us: Option<(ReportBlock, u64)>,
    /// Round-trip time from that block (RFC 3550 6.4.1), ns.
    pub rtt_ns: Option<u64>,
    /// It sent BYE.
    pub left: bool,
    /// Compound RTCP packets received from it.
    pub rtcp_packets: u64,
    rtp_since_report: bool,
    cname: [u8; 255],
    cname_len: u8,
}

impl Remote {
    fn new(ssrc: u32, clock_rate: u32, now_ns: u64) -> Remote {
        Remote {
            ssrc,
            stats: RecvStats::new(clock_rate),
            last_rtp_ns: None,
            last_heard_ns: now_ns,
            last_sr: None,
            report_about_us: None,
            rtt_ns: None,
            left: false,
            rtcp_packets: 0,
            rtp_since_report: false,
            cname: [0; 255],
            cname_len: 0,
        }
    }

    /// Its CNAME, empty until an SDES carried one.
    pub fn cname(&self) -> &[u8] {
        &self.cname[..self.cname_len as usize]
    }
}

/// Our sending side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    pub packets: u64,
    /// Payload octets.
    pub octets: u64,
    /// RTP timestamp of the last packet sent and when.
    pub last: Option<(u32, u64)>,
}

/// The random source of the interval: uniform values in 0..1.
pub type RandomFn = Box<dyn FnMut() -> f64>;

/// One RTCP session for one local SSRC.
pub struct Session {
    ssrc: u32,
    cname: Vec<u8>,
    clock_rate: u32,
    remotes: Vec<Remote>,
    max_sources: usize,
    sources_dropped: u64,
    last_sender: Option<u32>,
    sender: SenderStats,
    sent_since_report: bool,
    /// (LSR, send time) of our recent SRs, for the RTT.
    sent_srs: [(u32, u64); SENT_SR_MEMORY],
    sent_srs_next: usize,
    rtcp_bw: f64,
    avg_rtcp_size: f64,
    initial: bool,
    tp: u64,
    tn: u64,
    rng_state: u64,
    rng: Option<RandomFn>,
    events: VecDeque<Event>,
    events_dropped: u64,
    collision_reported: bool,
    closed: bool,
    block_rotate: usize,
    rtcp_sent: u64,
    rtcp_received: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("ssrc", &self.ssrc)
            .field("remotes", &self.remotes.len())
            .field("next_report_ns", &self.tn)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session starting at `now_ns`; the first report is due after half
    /// the usual minimum interval, randomised.
    pub fn new(cfg: &SessionConfig, now_ns: u64) -> Result<Session, SessionError> {
        if cfg.cname.is_empty() || cfg.cname.len() > 255 || cfg.max_sources > MAX_SOURCES_LIMIT {
            return Err(SessionError::BadConfig);
        }
        let max_sources = if cfg.max_sources == 0 {
            DEFAULT_MAX_SOURCES
        } else {
            cfg.max_sources
        };
        let bw = if cfg.session_bw_bps == 0 {
            DEFAULT_SESSION_BW_BPS
        } else {
            cfg.session_bw_bps
        };
        let mut s = Session {
            ssrc: cfg.ssrc,
            cname: cfg.cname.to_vec(),
            clock_rate: cfg.clock_rate,
            remotes: Vec::with_capacity(max_sources),
            max_sources,
            sources_dropped: 0,
            last_sender: None,
            sender: SenderStats::default(),
            sent_since_report: false,
            sent_srs: [(0, 0); SENT_SR_MEMORY],
            sent_srs_next: 0,
            rtcp_bw: bw as f64 / 8.0 * timing::RTCP_BW_FRACTION,
            avg_rtcp_size: 0.0,
            initial: true,
            tp: now_ns,
            tn: now_ns,
            rng_state: cfg.seed | 1,
            rng: None,
            events: VecDeque::with_capacity(EVENT_QUEUE),
            events_dropped: 0,
            collision_reported: false,
            closed: false,
            block_rotate: 0,
            rtcp_sent: 0,
            rtcp_received: 0,
        };
        // The probable size of the first report: an RR and our CNAME.
        s.avg_rtcp_size = (s.report_len(0, false, None) + timing::LOWER_LAYER_OCTETS) as f64;
        s.tn = now_ns + s.next_interval_ns();
        Ok(s)
    }

    /// Replace the random source of the interval (values in 0..1); for
    /// tests and for callers with their own generator.
    pub fn set_random(&mut self, f: Option<RandomFn>) {
        self.rng = f;
    }

    fn random(&mut self) -> f64 {
        if let Some(f) = self.rng.as_mut() {
            return f();
        }
        // xorshift64*: plenty for spreading report times.
        let mut x = self.rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn cname(&self) -> &[u8] {
        &self.cname
    }

    /// Take a new SSRC (after a collision): our sender statistics restart.
    pub fn change_ssrc(&mut self, ssrc: u32) {
        self.ssrc = ssrc;
        self.sender = SenderStats::default();
        self.sent_since_report = false;
        self.sent_srs = [(0, 0); SENT_SR_MEMORY];
        self.collision_reported = false;
    }

    /// Our sending statistics.
    pub fn sender_stats(&self) -> SenderStats {
        self.sender
    }

    /// Compound RTCP packets built by `report`/`poll`/`bye`, and taken by
    /// `on_rtcp`.
    pub fn rtcp_counts(&self) -> (u64, u64) {
        (self.rtcp_sent, self.rtcp_received)
    }

    /// Remote sources known, in order of appearance (a timed-out one is
    /// replaced by the last).
    pub fn remotes(&self) -> &[Remote] {
        &self.remotes
    }

    pub fn remote(&self, ssrc: u32) -> Option<&Remote> {
        self.remotes.iter().find(|r| r.ssrc == ssrc)
    }

    /// Sources not tracked because the table was full.
    pub fn sources_dropped(&self) -> u64 {
        self.sources_dropped
    }

    /// The oldest pending event.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events lost because the queue (32) was full.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() == EVENT_QUEUE {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(e);
    }

    /// When the next report is due (on the `now_ns` clock).
    pub fn next_report_ns(&self) -> u64 {
        self.tn
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Account an RTP packet we sent (`pkt` is the whole packet).
    pub fn on_rtp_sent(&mut self, pkt: &[u8], now_ns: u64) -> Result<(), SessionError> {
        let p = rtp::parse(pkt).map_err(|_| SessionError::NotRtp)?;
        self.on_sent(p.ts, now_ns, p.data_size);
        Ok(())
    }

    /// Account an RTP packet we sent, by its fields.
    pub fn on_sent(&mut self, ts: u32, now_ns: u64, payload_len: usize) {
        self.sender.packets += 1;
        self.sender.octets += payload_len as u64;
        self.sender.last = Some((ts, now_ns));
        self.sent_since_report = true;
    }

    /// Account an RTP packet received at `arrival_ns`.
    pub fn on_rtp_received(
        &mut self,
        pkt: &[u8],
        arrival_ns: u64,
    ) -> Result<SeqStatus, SessionError> {
        let p = rtp::parse(pkt).map_err(|_| SessionError::NotRtp)?;
        Ok(self.on_received(p.ssrc, p.seq, p.ts, arrival_ns, p.data_size))
    }

    /// Account an RTP packet received, by its fields. A packet with our own
    /// SSRC is a collision and is not counted (returns `Jump`); so is one
    /// from a source the full table cannot take.
    pub fn on_received(
        &mut self,
        ssrc: u32,
        seq: u16,
        ts: u32,
        arrival_ns: u64,
        payload_len: usize,
    ) -> SeqStatus {
        if ssrc == self.ssrc {
            self.collision(ssrc);
            return SeqStatus::Jump;
        }
        let Some(i) = self.find_or_add(ssrc, arrival_ns) else {
            return SeqStatus::Jump;
        };
        let r = &mut self.remotes[i];
        let first_rtp = r.last_rtp_ns.is_none();
        r.last_rtp_ns = Some(arrival_ns);
        r.last_heard_ns = arrival_ns;
        r.rtp_since_report = true;
        let st = r.stats.on_rtp(seq, ts, arrival_ns, payload_len);
        if st == SeqStatus::Restarted {
            self.push_event(Event::SeqRestart(ssrc));
        }
        if first_rtp {
            if let Some(old) = self.last_sender.filter(|&o| o != ssrc) {
                self.push_event(Event::SsrcChanged { old, new: ssrc });
            }
        }
        self.last_sender = Some(ssrc);
        st
    }

    fn collision(&mut self, ssrc: u32) {
        if !self.collision_reported {
            self.collision_reported = true;
            self.push_event(Event::Collision(ssrc));
        }
    }

    fn find_or_add(&mut self, ssrc: u32, now_ns: u64) -> Option<usize> {
        if let Some(i) = self.remotes.iter().position(|r| r.ssrc == ssrc) {
            return Some(i);
        }
        if self.remotes.len() >= self.max_sources {
            self.sources_dropped += 1;
            return None;
        }
        self.remotes
            .push(Remote::new(ssrc, self.clock_rate, now_ns));
        self.push_event(Event::NewSource(ssrc));
        Some(self.remotes.len() - 1)
    }

    /// Take a compound RTCP packet received at `arrival_ns`. Returns the
    /// number of sub-packets taken; on malformed input the ones before the
    /// bad one are taken and the error is returned.
    pub fn on_rtcp(&mut self, buf: &[u8], arrival_ns: u64) -> Result<usize, SessionError> {
        self.rtcp_received += 1;
        self.avg_rtcp_size +=
            ((buf.len() + timing::LOWER_LAYER_OCTETS) as f64 - self.avg_rtcp_size) / 16.0;
        let mut n = 0;
        let mut counted: Option<u32> = None;
        for p in Compound::new(buf) {
            let p = p.map_err(SessionError::Parse)?;
            n += 1;
            let from = match p {
                Packet::Sr {
                    ssrc, info, blocks, ..
                } => {
                    if let Some(r) = self.heard(ssrc, arrival_ns) {
                        r.stats.on_sr(info.ntp, arrival_ns);
                        r.last_sr = Some((info, arrival_ns));
                    }
                    self.take_blocks(ssrc, blocks.iter(), arrival_ns);
                    Some(ssrc)
                }
                Packet::Rr { ssrc, blocks, .. } => {
                    self.heard(ssrc, arrival_ns);
                    self.take_blocks(ssrc, blocks.iter(), arrival_ns);
                    Some(ssrc)
                }
                Packet::Sdes(s) => {
                    for item in s.items().filter(|i| i.kind == sdes::CNAME) {
                        if item.ssrc == self.ssrc {
                            if item.text != self.cname.as_slice() {
                                self.collision(item.ssrc);
                            }
                        } else if let Some(r) = self.heard(item.ssrc, arrival_ns) {
                            r.cname[..item.text.len()].copy_from_slice(item.text);
                            r.cname_len = item.text.len() as u8;
                        }
                    }
                    None
                }
                Packet::Bye { ssrcs, .. } => {
                    for s in ssrcs.iter() {
                        if let Some(i) = self.remotes.iter().position(|r| r.ssrc == s) {
                            if !self.remotes[i].left {
                                self.remotes[i].left = true;
                                self.push_event(Event::Bye(s));
                            }
                        }
                    }
                    None
                }
                _ => None,
            };
            if let (Some(ssrc), None) = (from, counted) {
                counted = Some(ssrc);
                if let Some(r) = self.remotes.iter_mut().find(|r| r.ssrc == ssrc) {
                    r.rtcp_packets += 1;
                }
            }
        }
        Ok(n)
    }

    /// A remote source was heard from; None for our own SSRC (a collision)
    /// or when the table is full.
    fn heard(&mut self, ssrc: u32, now_ns: u64) -> Option<&mut Remote> {
        if ssrc == self.ssrc {
            self.collision(ssrc);
            return None;
        }
        let i = self.find_or_add(ssrc, now_ns)?;
        let r = &mut self.remotes[i];
        r.last_heard_ns = now_ns;
        Some(r)
    }

    fn take_blocks(
        &mut self,
        from: u32,
        blocks: impl Iterator<Item = ReportBlock>,
        arrival_ns: u64,
    ) {
        for b in blocks.filter(|b| b.ssrc == self.ssrc) {
            let rtt = self.rtt(&b, arrival_ns);
            if let Some(r) = self.remotes.iter_mut().find(|r| r.ssrc == from) {
                r.report_about_us = Some((b, arrival_ns));
                if rtt.is_some() {
                    r.rtt_ns = rtt;
                }
            }
        }
    }

    /// RFC 3550 6.4.1: RTT = A - LSR - DLSR, with A and LSR taken on our
    /// monotonic clock (the SR's send time is remembered by its LSR).
    fn rtt(&self, b: &ReportBlock, arrival_ns: u64) -> Option<u64> {
        if b.lsr == 0 {
            return None;
        }
        let &(_, sent) = self
            .sent_srs
            .iter()
            .find(|(lsr, at)| *lsr == b.lsr && *at != 0)?;
        arrival_ns
            .checked_sub(sent)?
            .checked_sub(timing::units16_to_ns(b.dlsr))
    }

    fn counts(&self, now_ns: u64) -> (usize, usize) {
        let two_intervals = 2 * self.last_interval_ns();
        let mut members = 1;
        let mut senders = usize::from(self.sent_since_report);
        for r in self.remotes.iter().filter(|r| !r.left) {
            members += 1;
            if r.last_rtp_ns
                .is_some_and(|t| now_ns.saturating_sub(t) <= two_intervals)
            {
                senders += 1;
            }
        }
        (members, senders)
    }

    fn interval_input(&self, now_ns: u64) -> IntervalInput {
        let (members, senders) = self.counts(now_ns);
        IntervalInput {
            members,
            senders,
            rtcp_bw: self.rtcp_bw,
            we_sent: self.sent_since_report,
            avg_rtcp_size: self.avg_rtcp_size,
            initial: self.initial,
        }
    }

    fn last_interval_ns(&self) -> u64 {
        self.tn.saturating_sub(self.tp).max(5_000_000_000)
    }

    fn next_interval_ns(&mut self) -> u64 {
        let input = self.interval_input(self.tp);
        let r = self.random();
        (timing::interval(&input, r) * NS) as u64
    }

    /// Build our next report if it is due at `now_ns` (A.7 with timer
    /// reconsideration: when the recomputed interval ends later, the report
    /// is put off and None returned). Returns the compound's length.
    pub fn poll(
        &mut self,
        now_ns: u64,
        wall_ns: u64,
        buf: &mut [u8],
    ) -> Result<Option<usize>, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        if now_ns < self.tn {
            return Ok(None);
        }
        let input = self.interval_input(now_ns);
        let r = self.random();
        let t = (timing::interval(&input, r) * NS) as u64;
        if self.tp + t > now_ns {
            self.tn = self.tp + t;
            return Ok(None);
        }
        self.report(now_ns, wall_ns, buf).map(Some)
    }

    /// Build our next report now, whether due or not: SR if we sent RTP
    /// since the last report, else RR; report blocks for up to 31 sources
    /// heard since then; SDES with our CNAME. Schedules the next one.
    pub fn report(
        &mut self,
        now_ns: u64,
        wall_ns: u64,
        buf: &mut [u8],
    ) -> Result<usize, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        self.build(now_ns, wall_ns, buf, None)
    }

    /// Build the last report, with BYE (and an optional reason, at most 255
    /// bytes); the session is closed afterwards.
    pub fn bye(
        &mut self,
        now_ns: u64,
        wall_ns: u64,
        reason: Option<&[u8]>,
        buf: &mut [u8],
    ) -> Result<usize, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        if reason.is_some_and(|r| r.len() > 255) {
            return Err(SessionError::Build(BuildError::Invalid));
        }
        let n = self.build(now_ns, wall_ns, buf, Some(reason.unwrap_or(&[])))?;
        self.closed = true;
        Ok(n)
    }

    /// Length of a compound with `blocks` blocks, SR or RR, our SDES and
    /// maybe a BYE.
    fn report_len(&self, blocks: usize, sr: bool, bye: Option<&[u8]>) -> usize {
        let report = if sr { 28 } else { 8 } + blocks * REPORT_BLOCK_LEN;
        let sdes = 4 + ((4 + 2 + self.cname.len() + 4) & !3);
        let bye = match bye {
            None => 0,
            Some([]) => 8,
            Some(r) => 8 + ((1 + r.len() + 3) & !3),
        };
        report + sdes + bye
    }

    fn build(
        &mut self,
        now_ns: u64,
        wall_ns: u64,
        buf: &mut [u8],
        bye: Option<&[u8]>,
    ) -> Result<usize, SessionError> {
        self.expire(now_ns);
        let sr = self.sent_since_report;
        // Which sources get a block: heard (RTP) since the last report, not
        // gone, up to 31, starting where the last report stopped.
        let n_remote = self.remotes.len();
        let mut picked = [0usize; MAX_BLOCKS];
        let mut nb = 0;
        for k in 0..n_remote {
            let i = (self.block_rotate + k) % n_remote;
            let r = &self.remotes[i];
            if r.rtp_since_report && !r.left && r.stats.is_valid() {
                if nb == MAX_BLOCKS {
                    break;
                }
                picked[nb] = i;
                nb += 1;
            }
        }
        if buf.len() < self.report_len(nb, sr, bye) {
            return Err(SessionError::Build(BuildError::NoRoom));
        }
        let mut blocks = [ReportBlock::default(); MAX_BLOCKS];
        for (b, &i) in blocks.iter_mut().zip(&picked[..nb]) {
            let r = &mut self.remotes[i];
            *b = r.stats.report_block(r.ssrc, now_ns);
            r.rtp_since_report = false;
        }
        if nb > 0 && n_remote > 0 {
            self.block_rotate = (picked[nb - 1] + 1) % n_remote;
        }
        let ssrc = self.ssrc;
        let info = sr.then(|| self.sender_info(now_ns, wall_ns));
        let mut w = Writer::new(buf);
        let res = (|| {
            match info {
                Some(info) => w.sr(ssrc, &info, &blocks[..nb])?,
                None => w.rr(ssrc, &blocks[..nb])?,
            }
            w.sdes(&[SdesChunk {
                ssrc,
                items: &[(sdes::CNAME, &self.cname)],
            }])?;
            if let Some(reason) = bye {
                w.bye(&[ssrc], (!reason.is_empty()).then_some(reason))?;
            }
            Ok(w.len())
        })();
        let len = res.map_err(SessionError::Build)?;
        if let Some(info) = info {
            self.sent_srs[self.sent_srs_next] = (timing::ntp_middle(info.ntp), now_ns.max(1));
            self.sent_srs_next = (self.sent_srs_next + 1) % SENT_SR_MEMORY;
        }
        self.rtcp_sent += 1;
        self.avg_rtcp_size +=
            ((len + timing::LOWER_LAYER_OCTETS) as f64 - self.avg_rtcp_size) / 16.0;
        self.sent_since_report = false;
        self.initial = false;
        self.tp = now_ns;
        self.tn = now_ns + self.next_interval_ns();
        Ok(len)
    }

    /// The sender information of an SR built at `now_ns`: the NTP time of
    /// `wall_ns` and the RTP timestamp of the same instant, extrapolated
    /// from the last packet sent at the clock rate.
    pub fn sender_info(&self, now_ns: u64, wall_ns: u64) -> SenderInfo {
        let rtp_ts = match self.sender.last {
            Some((ts, at)) => {
                let dt = now_ns as i128 - at as i128;
                let ticks = (dt * self.clock_rate as i128).div_euclid(1_000_000_000);
                ts.wrapping_add(ticks as u32)
            }
            None => 0,
        };
        SenderInfo {
            ntp: timing::ntp_from_unix_ns(wall_ns),
            rtp_ts,
            packets: self.sender.packets as u32,
            octets: self.sender.octets as u32,
        }
    }

    /// Drop remote sources silent for 5 deterministic intervals (RFC 3550
    /// 6.3.5), at least 25 s.
    fn expire(&mut self, now_ns: u64) {
        let mut input = self.interval_input(now_ns);
        input.initial = false;
        let td = (timing::deterministic_interval(&input) * NS) as u64;
        let limit = 5 * td;
        let mut i = 0;
        while i < self.remotes.len() {
            if now_ns.saturating_sub(self.remotes[i].last_heard_ns) > limit {
                let ssrc = self.remotes[i].ssrc;
                self.remotes.swap_remove(i);
                if self.last_sender == Some(ssrc) {
                    self.last_sender = None;
                }
                self.push_event(Event::Timeout(ssrc));
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
