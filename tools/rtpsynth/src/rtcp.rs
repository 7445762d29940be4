//! RTCP for `send` and `recv` (`--rtcp`, `--rtcp-mux`): the library's RTCP
//! session (`rtpsynth::rtcp::Session`) accounts what is sent and received,
//! takes the peer's reports and builds ours; this module opens the ports
//! and decides where our reports go.
//!
//! Where RTCP goes (DESIGN 5.2): to the source of the peer's RTCP once some
//! has come; before that to the peer's RTP address + 1, or to the RTP
//! address itself with rtcp-mux.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use rtpsynth::rtcp::{Session, SessionConfig};
use rtpsynth::server::{ChanConfig, ChanOptions, Channel, PktIn, Server};
use serde_json::{json, Map, Value};

use crate::fail::Fail;

pub use rtpsynth::rtcp::packet::is_rtcp;

/// Room for one compound report (RR/SR with up to 31 blocks, SDES, BYE).
const REPORT_ROOM: usize = 1500;
/// Where `send` without `--bind` looks for an even/odd pair of ports.
pub const PAIR_PORTS: std::ops::RangeInclusive<u16> = 16384..=65534;

/// How RTCP travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    /// On the RTP port + 1 (RFC 3550 section 11).
    Pair,
    /// On the RTP port (RFC 5761).
    Mux,
}

impl Mode {
    pub fn from_flags(rtcp: bool, mux: bool) -> Mode {
        match (rtcp, mux) {
            (_, true) => Mode::Mux,
            (true, false) => Mode::Pair,
            (false, false) => Mode::Off,
        }
    }
}

/// One RTCP session and what the tool counts around it.
pub struct Link {
    pub session: Session,
    mode: Mode,
    /// Where the peer's RTCP came from.
    heard_from: Option<SocketAddr>,
    /// Keep the first source of the peer's RTCP (`--latch`, RFC 4961)
    /// instead of following the latest.
    lock_first: bool,
    clock_rate: u32,
    target_fixed: bool,
    /// Compound datagrams put on the wire and received.
    pub sent: u64,
    pub received: u64,
    /// Octets of the compound datagrams sent.
    pub sent_octets: u64,
    buf: Vec<u8>,
}

/// Nanoseconds since the Unix epoch, for the NTP field of SRs.
fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A CNAME for our session (RFC 3550 6.5.1 allows any unique name; the
/// SSRC makes it unique enough for one run).
fn cname(ssrc: u32) -> Vec<u8> {
    format!("rtpsynth-{ssrc:08x}@localhost").into_bytes()
}

impl Link {
    /// `target_fixed`: the RTP port's target is set by the caller (`send`:
    /// the RTP peer; TCP: the connection's), and with mux our RTCP follows
    /// it.
    pub fn new(
        mode: Mode,
        target_fixed: bool,
        ssrc: u32,
        clock_rate: u32,
        now_ns: u64,
    ) -> Result<Link, Fail> {
        let name = cname(ssrc);
        let session = Session::new(
            &SessionConfig {
                ssrc,
                cname: &name,
                clock_rate,
                session_bw_bps: 0,
                max_sources: 0,
                seed: u64::from(crate::util::random_u32()) << 32
                    | u64::from(crate::util::random_u32()),
            },
            now_ns,
        )
        .map_err(|e| Fail::runtime(format!("cannot start the RTCP session: {e:?}")))?;
        Ok(Link {
            session,
            mode,
            heard_from: None,
            lock_first: false,
            clock_rate,
            target_fixed,
            sent: 0,
            sent_octets: 0,
            received: 0,
            buf: vec![0; REPORT_ROOM],
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn set_lock_first(&mut self, on: bool) {
        self.lock_first = on;
    }

    pub fn set_target_fixed(&mut self, on: bool) {
        self.target_fixed = on;
    }

    pub fn locks_first(&self) -> bool {
        self.lock_first
    }

    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// A compound RTCP datagram from `from` (None: unknown, e.g. a capture).
    /// Malformed RTCP still counts as received; what parsed before the bad
    /// part is taken by the session.
    pub fn on_rtcp(&mut self, d: &[u8], from: Option<SocketAddr>, arrival_ns: u64) {
        self.received += 1;
        let _ = self.session.on_rtcp(d, arrival_ns);
        if let Some(f) = from {
            if !(self.lock_first && self.heard_from.is_some()) {
                self.heard_from = Some(f);
            }
        }
    }

    /// Where our RTCP goes, given where the peer's RTP is (its source, or
    /// the `--to` address).
    pub fn destination(&self, rtp_peer: Option<SocketAddr>) -> Option<SocketAddr> {
        if let Some(f) = self.heard_from {
            return Some(f);
        }
        let mut p = rtp_peer?;
        match self.mode {
            Mode::Off => return None,
            Mode::Mux => {}
            Mode::Pair => p.set_port(p.port().checked_add(1)?),
        }
        Some(p)
    }

    /// Send our report if one is due (A.7 timing) and there is somewhere
    /// to send it.
    pub fn poll(&mut self, chan: &Channel, rtp_peer: Option<SocketAddr>, now_ns: u64) {
        let Some(to) = self.destination(rtp_peer) else {
            return;
        };
        if let Ok(Some(n)) = self.session.poll(now_ns, wall_ns(), &mut self.buf) {
            self.put(chan, to, n);
        }
    }

    /// Our last report, with BYE; returns whether it went out.
    pub fn bye(&mut self, chan: &Channel, rtp_peer: Option<SocketAddr>, now_ns: u64) -> bool {
        let Some(to) = self.destination(rtp_peer) else {
            return false;
        };
        match self.session.bye(now_ns, wall_ns(), None, &mut self.buf) {
            Ok(n) => self.put(chan, to, n),
            Err(_) => false,
        }
    }

    /// An RTCP datagram built outside the session (RFC 4585 feedback, as a
    /// reduced-size packet: RFC 5506) to where our reports go; returns
    /// whether it went out.
    pub fn send_feedback(
        &mut self,
        chan: &Channel,
        rtp_peer: Option<SocketAddr>,
        pkt: &[u8],
    ) -> bool {
        match self.destination(rtp_peer) {
            Some(to) => self.transmit(chan, to, pkt),
            None => false,
        }
    }

    fn put(&mut self, chan: &Channel, to: SocketAddr, n: usize) -> bool {
        let buf = std::mem::take(&mut self.buf);
        let ok = self.transmit(chan, to, &buf[..n]);
        self.buf = buf;
        ok
    }

    fn transmit(&mut self, chan: &Channel, to: SocketAddr, pkt: &[u8]) -> bool {
        // With rtcp-mux the channel's target is the RTP peer already:
        // moving it would move the RTP too.
        let shared = self.mode == Mode::Mux && self.target_fixed;
        if !shared && chan.set_target_addr(to).is_err() {
            return false;
        }
        let ok = chan.send(pkt).is_ok();
        if ok {
            self.sent += 1;
            self.sent_octets += pkt.len() as u64;
        }
        ok
    }

    /// `send`'s RTCP figures: counts, RTT and what the peer's receiver
    /// reports said about us last.
    pub fn sender_json(&self, obj: &mut Map<String, Value>) {
        let about_us = self
            .session
            .remotes()
            .iter()
            .filter_map(|r| r.report_about_us.map(|(b, at)| (b, at, r.rtt_ns)))
            .max_by_key(|&(_, at, _)| at);
        let rtt = self
            .session
            .remotes()
            .iter()
            .filter(|r| r.rtt_ns.is_some())
            .max_by_key(|r| r.report_about_us.map_or(0, |(_, at)| at))
            .and_then(|r| r.rtt_ns);
        let clock = self.session_clock();
        obj.insert("rtcp_sent".into(), json!(self.sent));
        obj.insert("rtcp_received".into(), json!(self.received));
        obj.insert("rtt_ms".into(), json!(rtt.map(|ns| ns as f64 / 1e6)));
        let (fl, cl, jit) = match about_us {
            Some((b, _, _)) => (
                json!(b.fraction_lost as f64 / 256.0),
                json!(b.cumulative_lost),
                json!(if clock > 0 {
                    Some(b.jitter as f64 * 1000.0 / clock as f64)
                } else {
                    None
                }),
            ),
            None => (Value::Null, Value::Null, Value::Null),
        };
        obj.insert("remote_fraction_lost".into(), fl);
        obj.insert("remote_cumulative_lost".into(), cl);
        obj.insert("remote_jitter_ms".into(), jit);
    }

    fn session_clock(&self) -> u32 {
        self.clock_rate
    }

    /// `recv`'s RTCP figures for the stream of `ssrc`.
    pub fn stream_json(&self, ssrc: u32, obj: &mut Map<String, Value>) {
        let r = self.session.remote(ssrc);
        obj.insert("rtcp_sent".into(), json!(self.sent));
        obj.insert(
            "rtcp_received".into(),
            json!(r.map_or(0, |r| r.rtcp_packets)),
        );
        obj.insert(
            "rtt_ms".into(),
            json!(r.and_then(|r| r.rtt_ns).map(|ns| ns as f64 / 1e6)),
        );
    }

    /// Stream objects for the sources heard only through RTCP.
    pub fn rtcp_only_streams(&self, has_rtp: impl Fn(u32) -> bool) -> Vec<Value> {
        self.session
            .remotes()
            .iter()
            .filter(|r| !has_rtp(r.ssrc) && r.rtcp_packets > 0)
            .map(|r| {
                let mut o = Map::new();
                o.insert("ssrc".into(), json!(r.ssrc));
                o.insert("pt".into(), Value::Null);
                o.insert("packets".into(), json!(0));
                o.insert("octets".into(), json!(0));
                o.insert("lost".into(), json!(0));
                o.insert("duplicates".into(), json!(0));
                o.insert("late".into(), json!(0));
                o.insert("jitter_ms".into(), Value::Null);
                o.insert("max_jitter_ms".into(), Value::Null);
                self.stream_json(r.ssrc, &mut o);
                o.insert("dtmf".into(), json!([]));
                Value::Object(o)
            })
            .collect()
    }
}

/// The RTCP channel of a pair, or None (off, or carried on the RTP port).
pub struct Ports {
    pub rtp: Channel,
    pub rtcp: Option<Channel>,
}

impl Ports {
    /// The channel our RTCP leaves from.
    pub fn rtcp_chan(&self) -> &Channel {
        self.rtcp.as_ref().unwrap_or(&self.rtp)
    }
}

/// Open the RTP port, and the RTCP port as `mode` says: `on_rtp` gets the
/// RTP port's datagrams (None: dropped), `on_rtcp` the RTCP (on port + 1,
/// or split off the RTP port by RFC 5761 with mux). Port 0 with `Pair`
/// takes a free even/odd pair.
/// `stun`: the RTP port answers STUN Binding Requests (RFC 5389).
pub fn open(
    server: &Server,
    cfg: &ChanConfig,
    mode: Mode,
    stun: bool,
    on_rtp: Option<PktIn>,
    on_rtcp: PktIn,
) -> Result<Ports, rtpsynth::server::Error> {
    let rtp_opts = || ChanOptions {
        stun,
        ..ChanOptions::default()
    };
    match mode {
        Mode::Off => Ok(Ports {
            rtp: server.create_channel_with(cfg, rtp_opts(), on_rtp)?,
            rtcp: None,
        }),
        Mode::Mux => {
            let opts = ChanOptions {
                rtcp: Some(on_rtcp),
                ..rtp_opts()
            };
            Ok(Ports {
                rtp: server.create_channel_with(cfg, opts, on_rtp)?,
                rtcp: None,
            })
        }
        Mode::Pair if cfg.bind_port == 0 => {
            let (rtp, rtcp) = server.create_pair(
                cfg,
                PAIR_PORTS,
                (rtp_opts(), on_rtp),
                (ChanOptions::default(), Some(on_rtcp)),
            )?;
            Ok(Ports {
                rtp,
                rtcp: Some(rtcp),
            })
        }
        Mode::Pair => {
            let rtp = server.create_channel_with(cfg, rtp_opts(), on_rtp)?;
            let c2 = ChanConfig {
                bind_port: cfg
                    .bind_port
                    .checked_add(1)
                    .ok_or(rtpsynth::server::Error::Invalid)?,
                ..*cfg
            };
            let rtcp = server.create_channel_with(&c2, ChanOptions::default(), Some(on_rtcp))?;
            Ok(Ports {
                rtp,
                rtcp: Some(rtcp),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr_from(ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 201, 0, 1];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    }

    #[test]
    fn reports_go_to_port_plus_one_then_to_the_peers_rtcp() {
        let peer: SocketAddr = "127.0.0.1:5004".parse().unwrap();
        let mut l = Link::new(Mode::Pair, false, 1, 8000, 0).unwrap();
        assert_eq!(l.destination(None), None);
        assert_eq!(
            l.destination(Some(peer)),
            Some("127.0.0.1:5005".parse().unwrap())
        );
        let from: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        l.on_rtcp(&rr_from(2), Some(from), 1);
        assert_eq!(l.destination(Some(peer)), Some(from));
        // From a capture: no source, the rule stays.
        l.on_rtcp(&rr_from(2), None, 2);
        assert_eq!(l.destination(Some(peer)), Some(from));
        assert_eq!(l.received, 2);
        assert_eq!(l.session.remote(2).map(|r| r.rtcp_packets), Some(2));
        let mut m = Link::new(Mode::Mux, true, 1, 8000, 0).unwrap();
        assert_eq!(m.destination(Some(peer)), Some(peer));
        m.set_mode(Mode::Off);
        assert_eq!(m.destination(Some(peer)), None);
        // --latch: the first source stays.
        let mut k = Link::new(Mode::Pair, false, 1, 8000, 0).unwrap();
        k.set_lock_first(true);
        k.on_rtcp(&rr_from(2), Some(from), 1);
        k.on_rtcp(&rr_from(2), Some("127.0.0.1:9999".parse().unwrap()), 2);
        assert_eq!(k.destination(Some(peer)), Some(from));
    }

    #[test]
    fn sender_json_reads_the_last_block_about_us() {
        let mut l = Link::new(Mode::Pair, true, 0x1234, 8000, 0).unwrap();
        let mut o = Map::new();
        l.sender_json(&mut o);
        assert!(o["remote_cumulative_lost"].is_null());
        assert_eq!(o["rtcp_received"], 0);
        // An RR from 2 with one block about 0x1234: 64/256 lost, 3
        // cumulative, jitter 80 (10 ms at 8 kHz).
        let mut p = vec![0x81, 201, 0, 7];
        p.extend_from_slice(&2u32.to_be_bytes());
        p.extend_from_slice(&0x1234u32.to_be_bytes());
        p.extend_from_slice(&[64, 0, 0, 3]);
        p.extend_from_slice(&100u32.to_be_bytes());
        p.extend_from_slice(&80u32.to_be_bytes());
        p.extend_from_slice(&[0; 8]);
        l.on_rtcp(&p, None, 5);
        l.sender_json(&mut o);
        assert_eq!(o["remote_fraction_lost"], 0.25);
        assert_eq!(o["remote_cumulative_lost"], 3);
        assert_eq!(o["remote_jitter_ms"], 10.0);
        assert!(o["rtt_ms"].is_null());
        assert_eq!(o["rtcp_received"], 1);
    }

    #[test]
    fn modes_from_flags() {
        assert_eq!(Mode::from_flags(false, false), Mode::Off);
        assert_eq!(Mode::from_flags(true, false), Mode::Pair);
        assert_eq!(Mode::from_flags(false, true), Mode::Mux);
        assert_eq!(Mode::from_flags(true, true), Mode::Mux);
    }
}
