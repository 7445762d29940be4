//! `--tcp`: RTP (and muxed RTCP) over one TCP connection with RFC 4571
//! framing, through the library's `Server::create_tcp_channel`. `send`
//! connects, `recv` listens and ends when the peer closes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtpsynth::server::{ChanConfig, Channel, PktIn, Server, StreamEvent, TcpMode};

use crate::fail::Fail;
use crate::rtcp::Mode;

/// What `--tcp` accepts next to it: RTCP only muxed (one connection).
pub fn check(tcp: bool, rtcp: Mode, stun: bool) -> Result<(), Fail> {
    if !tcp {
        return Ok(());
    }
    if rtcp == Mode::Pair {
        return Err(Fail::usage(
            "--rtcp with --tcp: RTCP shares the connection, use --rtcp-mux",
        ));
    }
    if stun {
        return Err(Fail::usage(
            "--stun with --tcp: STUN is answered over UDP only",
        ));
    }
    Ok(())
}

/// The connection's end (peer closed, or reset) raises `ended`.
fn events(ended: Arc<AtomicBool>) -> rtpsynth::server::EventCb {
    Box::new(move |ev, _, _| {
        if matches!(ev, StreamEvent::Closed | StreamEvent::Reset(_)) {
            ended.store(true, Ordering::Release);
        }
    })
}

/// Connect to `to`; waits until the connection is up (at most `limit`).
pub fn connect(
    server: &Server,
    cfg: &ChanConfig,
    to: SocketAddr,
    on_pkt: PktIn,
    ended: Arc<AtomicBool>,
    limit: Duration,
) -> Result<Channel, Fail> {
    let chan = server
        .create_tcp_channel(
            cfg,
            TcpMode::Connect(to),
            Some(on_pkt),
            Some(events(ended.clone())),
        )
        .map_err(|e| Fail::runtime(format!("cannot connect to {to}: {e}")))?;
    let end = Instant::now() + limit;
    while !chan.is_connected() {
        if ended.load(Ordering::Acquire) || Instant::now() >= end {
            return Err(Fail::runtime(format!("cannot connect to {to} over TCP")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(chan)
}

/// Listen; `ended` is raised when the first connection ends.
pub fn listen(
    server: &Server,
    cfg: &ChanConfig,
    on_pkt: PktIn,
    ended: Arc<AtomicBool>,
) -> Result<Channel, rtpsynth::server::Error> {
    server.create_tcp_channel(cfg, TcpMode::Listen, Some(on_pkt), Some(events(ended)))
}
