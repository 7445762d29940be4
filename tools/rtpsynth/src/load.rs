//! `rtpsynth load`: N RTP streams, stream i to PORT + 2i, each from its own
//! socket on the library's RtpServer, each paced by its own RtpProc channel
//! (start times spread over one packet interval).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtpsynth::clock::monotonic_ns;
use rtpsynth::proc::{Proc, TaskError};
use rtpsynth::server::{ChanConfig, Channel, Error, Family, Server};
use rtpsynth::synth::Synth;
use serde_json::json;

use crate::cli::LoadArgs;
use crate::codec::{Audio, Encoder};
use crate::fail::Fail;
use crate::send::{tone_sample, DEFAULT_TONE_HZ};
use crate::util;

/// Payloads cycled through by every stream: one second of the test tone.
fn payload_cycle(codec: Audio, ptime_ms: u32) -> Result<Vec<Vec<u8>>, Fail> {
    let rate = codec.rate();
    let spp = (rate * ptime_ms / 1000) as usize;
    let mut enc = Encoder::new(codec, 32000)?;
    let n_pkts = (1000 / ptime_ms).max(1) as u64;
    (0..n_pkts)
        .map(|k| {
            let pcm: Vec<i16> = (0..spp as u64)
                .map(|i| tone_sample(DEFAULT_TONE_HZ, rate, k * spp as u64 + i))
                .collect();
            let mut out = Vec::new();
            enc.encode(&pcm, &mut out)?;
            Ok(out)
        })
        .collect()
}

fn target(to: SocketAddr, i: u32) -> Result<SocketAddr, Fail> {
    let port = to.port() as u32 + 2 * i;
    if port > 65535 {
        return Err(Fail::usage(format!(
            "--to {to} --channels {}: stream {i} would need port {port}",
            i + 1
        )));
    }
    Ok(SocketAddr::new(to.ip(), port as u16))
}

pub fn run(a: LoadArgs) -> Result<(), Fail> {
    let codec = Audio::from_cli(a.codec)?;
    let dur = util::seconds("--duration", a.duration)?;
    target(a.to, a.channels - 1)?;
    if let Some(p) = &a.stats {
        util::check_writable("--stats", p)?;
    }
    // The packet time follows the rate (20 ms at the default 50 pps), kept
    // to what the codec can carry.
    let ptime = match codec {
        Audio::Opus => 20,
        _ => (1000 / a.pps).clamp(1, 200),
    };
    let payloads = Arc::new(payload_cycle(codec, ptime)?);
    let rate = codec.rate();
    let extra_steps = (rate / 8000) as i32 - 1;
    let pt = codec.default_pt() as i32;
    let stop = util::stop_flag()?;

    let server =
        Server::new(0).map_err(|e| Fail::runtime(format!("cannot start the I/O thread: {e}")))?;
    let fam = if a.to.is_ipv6() {
        Family::V6
    } else {
        Family::V4
    };
    let mut chans: Vec<Arc<Channel>> = Vec::with_capacity(a.channels as usize);
    for i in 0..a.channels {
        let cfg = ChanConfig {
            bind_host: None,
            bind_port: 0,
            bind_family: fam,
            queue_size: 0,
        };
        let ch = server
            .create_channel(&cfg, Box::new(|_, _, _| {}))
            .map_err(|e| {
                Fail::runtime(format!(
                    "cannot open the socket of stream {i}: {e}{}",
                    if e == Error::Os(EMFILE) {
                        " (raise ulimit -n)"
                    } else {
                        ""
                    }
                ))
            })?;
        let t = target(a.to, i)?;
        ch.set_target(&t.ip().to_string(), t.port())
            .map_err(|e| Fail::runtime(format!("--to {t}: {e}")))?;
        chans.push(Arc::new(ch));
    }

    let sched =
        Proc::new().map_err(|e| Fail::runtime(format!("cannot start the scheduler: {e}")))?;
    let period_ns = 1_000_000_000u64 / a.pps as u64;
    let start_ns = monotonic_ns();
    // Each stream sends exactly this many packets, on its deadlines (a late
    // scheduler catches up rather than sending fewer).
    let per_stream = ((dur.as_secs_f64() * a.pps as f64).round() as u64).max(1);
    let finished = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(chans.len());
    for (i, ch) in chans.iter().enumerate() {
        let ch = ch.clone();
        let payloads = payloads.clone();
        let finished = finished.clone();
        let offset = period_ns * i as u64 / a.channels as u64;
        let mut draws = [util::random_u32(), util::random_u32(), util::random_u32()].into_iter();
        let mut synth = Synth::new(rate as i32, ptime as i32, move || draws.next().unwrap_or(0));
        let mut k = 0usize;
        let mut pkt = Vec::with_capacity(1500);
        let task = move |_now: u64, deadline: u64| -> Result<u64, TaskError> {
            if deadline == 0 {
                return Ok(start_ns + offset);
            }
            if k as u64 >= per_stream {
                finished.fetch_add(1, Ordering::Relaxed);
                return Ok(0);
            }
            pkt.clear();
            pkt.extend_from_slice(&synth.next_header(pt));
            if extra_steps > 0 {
                synth.skip(extra_steps);
            }
            pkt.extend_from_slice(&payloads[k % payloads.len()]);
            k += 1;
            // A full queue is counted by the server (tx_queue_full).
            let _ = ch.send(&pkt);
            Ok(deadline + period_ns)
        };
        let t = sched
            .create_channel(Box::new(task))
            .map_err(|e| Fail::runtime(format!("cannot schedule stream {i}: {e}")))?;
        tasks.push(t);
    }

    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = (Instant::now(), 0u64);
    let totals = |chans: &[Arc<Channel>]| {
        chans.iter().fold((0u64, 0u64, 0u64), |acc, c| {
            let s = c.stats();
            (
                acc.0 + s.tx_pkts,
                acc.1 + s.tx_queue_full,
                acc.2 + s.tx_errors,
            )
        })
    };
    while (finished.load(Ordering::Relaxed) as usize) < chans.len() && !stop.load(Ordering::Relaxed)
    {
        std::thread::sleep(Duration::from_millis(50));
        if tty && last.0.elapsed() >= Duration::from_secs(1) {
            let (pkts, qfull, _) = totals(&chans);
            let rate = (pkts - last.1) as f64 / last.0.elapsed().as_secs_f64();
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r{pkts} packets sent, {qfull} queue-full drops, {rate:.0} pkt/s   "
            );
            let _ = err.flush();
            last = (Instant::now(), pkts);
        }
    }
    for t in tasks {
        let _ = t.close();
    }
    sched.shutdown();
    std::thread::sleep(Duration::from_millis(20));
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let (pkts, qfull, errs) = totals(&chans);
    server.shutdown();
    if tty {
        eprintln!();
    }
    let pps = pkts as f64 / elapsed;
    eprintln!(
        "rtpsynth: {} streams, {pkts} packets sent in {elapsed:.2} s ({pps:.0} pkt/s), {qfull} queue-full drops, {errs} send errors",
        a.channels
    );
    if let Some(p) = &a.stats {
        util::write_json(
            p,
            &json!({
                "channels": a.channels,
                "packets": pkts,
                "queue_full": qfull,
                "pps": pps,
            }),
        )?;
    }
    Ok(())
}

/// "Too many open files" (Linux errno), without a libc dependency.
const EMFILE: i32 = 24;
