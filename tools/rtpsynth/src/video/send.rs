//! `send --codec h264|vp8|vp9`: the frames of the input file, `--fps`
//! apart, through `video::Sender`, with RTCP as the audio path does it
//! (`crate::rtcp::Link`: SRs out, the peer's RRs in) and, with `--nack`,
//! retransmissions from the sender's history when NACKs come in.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rtpsynth::clock::monotonic_ns;
use rtpsynth::rtp::RTP_HDR_LEN;
use rtpsynth::server::{ChanConfig, Channel, Family, PktIn, Server};
use rtpsynth::video::{self, Codec};
use serde_json::json;

use super::{check_nack, default_pt, name, read_frames, refuse_audio_options, sdp_text};
use crate::cli::SendArgs;
use crate::fail::Fail;
use crate::rtcp::{self, Link};
use crate::util;

pub const DEFAULT_FPS: u32 = 30;
pub const DEFAULT_MTU: u32 = 1200;
/// How long `send --nack` keeps answering NACKs after its last media
/// packet (DESIGN 5.2).
const NACK_LINGER: Duration = Duration::from_secs(1);
/// Packets the retransmission history holds (it also drops what is older
/// than the library's default age bound, 1 s).
const HISTORY_PACKETS: usize = 2048;
/// RTCP is looked at this often while waiting for the next frame.
const RTCP_POLL: Duration = Duration::from_millis(5);

/// An RTCP datagram from the I/O thread: bytes, source, arrival time.
type RtcpIn = (Vec<u8>, Option<SocketAddr>, u64);

/// The sending stream: the library's video sender, its channels and the
/// RTCP session.
struct VideoTx {
    sender: video::Sender,
    chan: Channel,
    /// The RTCP port of a pair (None: RTCP shares `chan`).
    rtcp_chan: Option<Channel>,
    link: Link,
    rtcp_in: mpsc::Receiver<RtcpIn>,
    to: SocketAddr,
    nack: bool,
    /// Media packets handed to the I/O thread.
    queued: u64,
    /// Retransmissions handed to the I/O thread, and their octets.
    resent: u64,
    resent_octets: u64,
}

impl VideoTx {
    /// Packetize and queue one frame; Err when the library refuses it.
    fn frame(&mut self, f: &[u8], ts: u32) -> Result<(), video::VideoError> {
        let now = monotonic_ns();
        let (chan, session, queued) = (&self.chan, &mut self.link.session, &mut self.queued);
        self.sender.send_frame(f, ts, now, |pkt| {
            // A full queue drops the packet (counted by the server).
            if chan.send(pkt).is_ok() {
                *queued += 1;
                session.on_sent(ts, now, pkt.len() - RTP_HDR_LEN);
            }
        })?;
        Ok(())
    }

    /// Take the RTCP that came in and send ours when due, until `until`.
    fn serve_until(&mut self, until: Instant) {
        loop {
            self.poll_rtcp();
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.rtcp_in.recv_timeout(left.min(RTCP_POLL)) {
                Ok(d) => self.rtcp(d),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left.min(RTCP_POLL))
                }
            }
        }
    }

    fn take_rtcp(&mut self) {
        while let Ok(d) = self.rtcp_in.try_recv() {
            self.rtcp(d);
        }
    }

    /// One RTCP datagram of the peer: its reports go to the session, its
    /// NACKs (with `--nack`) to the sender's history.
    fn rtcp(&mut self, (d, from, at): RtcpIn) {
        if self.link.mode() == rtcp::Mode::Off {
            return;
        }
        self.link.on_rtcp(&d, from, at);
        if self.nack {
            let (chan, resent, octets) = (&self.chan, &mut self.resent, &mut self.resent_octets);
            // Malformed feedback is ignored, as the session ignores it.
            let _ = self.sender.on_rtcp(&d, monotonic_ns(), |pkt| {
                if chan.send(pkt).is_ok() {
                    *resent += 1;
                    *octets += pkt.len() as u64;
                }
            });
        }
    }

    fn poll_rtcp(&mut self) {
        if self.link.mode() != rtcp::Mode::Off {
            let out = self.rtcp_chan.as_ref().unwrap_or(&self.chan);
            self.link.poll(out, Some(self.to), monotonic_ns());
        }
    }

    /// Our RTCP that shares the RTP channel: (datagrams, octets).
    fn rtcp_on_chan(&self) -> (u64, u64) {
        match self.rtcp_chan {
            None => (self.link.sent, self.link.sent_octets),
            Some(_) => (0, 0),
        }
    }

    /// Let the I/O thread put what was queued on the wire (2 s at most).
    fn drain(&self) {
        let queued = self.queued + self.resent + self.rtcp_on_chan().0;
        let until = Instant::now() + Duration::from_secs(2);
        while {
            let st = self.chan.stats();
            st.tx_pkts + st.tx_errors < queued && Instant::now() < until
        } {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The last report, with BYE.
    fn bye(&mut self) {
        if self.link.mode() == rtcp::Mode::Off {
            return;
        }
        self.take_rtcp();
        let out = self.rtcp_chan.as_ref().unwrap_or(&self.chan);
        if self.link.bye(out, Some(self.to), monotonic_ns()) {
            let _ = out.drain(Duration::from_secs(1));
        }
    }
}

/// `send --codec h264|vp8|vp9`.
pub fn send(a: SendArgs, c: Codec) -> Result<(), Fail> {
    refuse_audio_options(&[
        ("--dtmf", !a.dtmf.is_empty()),
        ("--dtmf-pt", a.dtmf_pt.is_some()),
        ("--dtmf-ms", a.dtmf_ms.is_some()),
        ("--dtmf-gap", a.dtmf_gap.is_some()),
    ])?;
    check_nack(a.nack, a.rtcp, a.rtcp_mux)?;
    if a.tone.is_some() {
        return Err(Fail::usage(
            "--tone is for audio codecs; video takes --input FILE",
        ));
    }
    let Some(input) = &a.input else {
        return Err(Fail::usage(format!(
            "--codec {} needs --input FILE ({})",
            name(c),
            if c == Codec::H264 {
                "H.264 Annex B"
            } else {
                "IVF"
            }
        )));
    };
    let fps = a.fps.unwrap_or(DEFAULT_FPS);
    if !(1..=1000).contains(&fps) {
        return Err(Fail::usage(format!("--fps {fps}: expected 1..1000")));
    }
    let mtu = a.mtu.unwrap_or(DEFAULT_MTU) as usize;
    if !(video::MIN_MTU..=video::MAX_MTU).contains(&mtu) {
        return Err(Fail::usage(format!(
            "--mtu {mtu}: expected {}..{}",
            video::MIN_MTU,
            video::MAX_MTU
        )));
    }
    let pt = a.pt.unwrap_or(default_pt(c));
    if pt > 127 {
        return Err(Fail::usage(format!("--pt {pt}: expected 0..127")));
    }
    let limit = a
        .duration
        .map(|d| util::seconds("--duration", d))
        .transpose()?;
    for (opt, p) in [("--sdp", &a.sdp), ("--stats", &a.stats)] {
        if let Some(p) = p {
            util::check_writable(opt, p)?;
        }
    }
    let rtcp_mode = rtcp::Mode::from_flags(a.rtcp, a.rtcp_mux);
    crate::transport::check(a.tcp, rtcp_mode, false)?;
    let mut frames = read_frames(c, input)?;
    if let Some(l) = limit {
        let n = (l.as_secs_f64() * fps as f64).ceil() as usize;
        frames.truncate(n.max(1));
    }
    let ssrc = a.ssrc.unwrap_or_else(util::random_u32);
    let mut cfg = video::SenderConfig::new(c, pt, mtu, ssrc, util::random_u32() as u16);
    cfg.first_picture_id = util::random_u32() as u16 & 0x7fff;
    cfg.history_packets = if a.nack { HISTORY_PACKETS } else { 0 };
    let sender =
        video::Sender::new(cfg).map_err(|e| Fail::usage(format!("video sender: {e:?}")))?;
    let ts0 = util::random_u32();

    let server =
        Server::new(0).map_err(|e| Fail::runtime(format!("cannot start the I/O thread: {e}")))?;
    let bind_host = a.bind.map(|b| b.ip().to_string());
    let chan_cfg = ChanConfig {
        bind_host: bind_host.as_deref(),
        bind_port: a.bind.map_or(0, |b| b.port()),
        bind_family: if a.to.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        },
        // a key frame is many packets at once
        queue_size: 4096,
    };
    let (rtcp_tx, rtcp_in) = mpsc::sync_channel::<RtcpIn>(4096);
    let on_rtcp: PktIn = Box::new(move |d, from, t| {
        let _ = rtcp_tx.try_send((d.to_vec(), from.to_socket_addr(), t));
    });
    let tcp_ended = Arc::new(AtomicBool::new(false));
    let (chan, rtcp_chan) =
        crate::send::open_channels(&server, &chan_cfg, &a, rtcp_mode, on_rtcp, &tcp_ended)?;
    let mut tx = VideoTx {
        sender,
        chan,
        rtcp_chan,
        link: Link::new(rtcp_mode, true, ssrc, video::CLOCK_RATE, monotonic_ns())?,
        rtcp_in,
        to: a.to,
        nack: a.nack,
        queued: 0,
        resent: 0,
        resent_octets: 0,
    };
    if let Some(path) = &a.sdp {
        std::fs::write(path, sdp_text(c, pt, fps, a.to, util::random_u32() >> 1))
            .map_err(|e| Fail::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!(
        "rtpsynth: sending {} {} frames at {fps} fps to {} (ssrc {ssrc})",
        frames.len(),
        name(c),
        a.to
    );
    let stop = util::stop_flag()?;
    let ended = || stop.load(Ordering::Relaxed) || tcp_ended.load(Ordering::Acquire);
    let start = Instant::now();
    let mut refused = 0u64;
    for (i, f) in frames.iter().enumerate() {
        let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / fps as u64);
        tx.serve_until(due);
        if ended() {
            break;
        }
        let ts = ts0.wrapping_add((i as u64 * 90_000 / fps as u64) as u32);
        if tx.frame(f, ts).is_err() {
            refused += 1;
        }
    }
    if a.nack {
        // The receiver asks for the last packets after they were due.
        let until = Instant::now() + NACK_LINGER;
        while !ended() && Instant::now() < until {
            tx.serve_until(until.min(Instant::now() + Duration::from_millis(50)));
        }
    }
    tx.drain();
    tx.bye();
    let mut st = tx.chan.stats();
    let (rtcp_pkts, rtcp_octets) = tx.rtcp_on_chan();
    // What went out on the RTP channel beyond the media: our RTCP when
    // muxed, and the retransmissions.
    st.tx_pkts = st.tx_pkts.saturating_sub(rtcp_pkts + tx.resent);
    st.tx_bytes = st.tx_bytes.saturating_sub(rtcp_octets + tx.resent_octets);
    let elapsed = start.elapsed().as_secs_f64();
    server.shutdown();
    tx.take_rtcp();
    let vs = *tx.sender.stats();
    let octets = st.tx_bytes.saturating_sub(st.tx_pkts * RTP_HDR_LEN as u64);
    eprintln!(
        "rtpsynth: sent {} frames in {} packets ({octets} payload octets) in {elapsed:.2} s, {} dropped on a full queue, {} send errors, {refused} frames refused, {} retransmitted",
        vs.frames, st.tx_pkts, st.tx_queue_full, st.tx_errors, vs.retransmitted
    );
    if let Some(path) = &a.stats {
        let mut stream = json!({
            "ssrc": ssrc,
            "pt": pt,
            "packets": st.tx_pkts,
            "octets": octets,
            "frames": vs.frames,
            "frames_refused": refused,
            "queue_full": st.tx_queue_full,
            "send_errors": st.tx_errors,
            "nack_received": vs.nacked,
            "retransmitted": vs.retransmitted,
            "retransmit_missed": vs.not_found,
            "pli_received": vs.plis,
            "fir_received": vs.firs,
        });
        if let Some(obj) = stream.as_object_mut() {
            tx.link.sender_json(obj);
        }
        util::write_json(path, &json!({ "streams": [stream] }))?;
    }
    if refused > 0 {
        return Err(Fail::runtime(format!(
            "{refused} frames could not be packetized (not valid {} frames)",
            name(c)
        )));
    }
    Ok(())
}
