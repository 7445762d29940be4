//! Writes the playout test traces as pcap files (nanosecond timestamps,
//! Ethernet/IPv4/UDP to port 5004, PCMU 20 ms) and prints each trace's
//! oracle (the smallest fixed delay that plays 99 % of the packets in time,
//! and the mean delay of the packets it plays):
//!
//!   cargo run --release --example playout_traces -- OUT_DIR [SECONDS]
//!
//! The same generator drives tests/playout_traces.rs; the pcaps are for
//! running the traces through other receivers (`rtpsynth recv --pcap`).

#[path = "../tests/playout_support/mod.rs"]
mod playout_support;

use playout_support::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: playout_traces OUT_DIR [SECONDS (default 300)]");
        std::process::exit(2);
    };
    let secs: u32 = match args.next().map(|s| s.parse()) {
        None => 300,
        Some(Ok(s)) if s > 0 => s,
        _ => {
            eprintln!("playout_traces: SECONDS must be a positive number");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("playout_traces: {dir}: {e}");
        std::process::exit(1);
    }
    for (i, (name, pat)) in all_patterns().into_iter().enumerate() {
        let t = make_trace(name, pat, secs, 1000 + i as u64);
        let o = oracle(&t);
        let path = format!("{dir}/{name}.pcap");
        if let Err(e) = std::fs::write(&path, pcap(&t)) {
            eprintln!("playout_traces: {path}: {e}");
            std::process::exit(1);
        }
        println!(
            "{path}: {} sent, {} received, oracle delay {:.1} ms, oracle mean {:.1} ms",
            t.sent,
            t.arrivals.len(),
            o.delay_ns / 1e6,
            o.mean_ns / 1e6
        );
    }
}
