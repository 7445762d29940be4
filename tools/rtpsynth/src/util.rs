//! Small shared pieces: the stop flag set by SIGINT/SIGTERM, random numbers
//! for SSRC / sequence / timestamp, JSON output, durations.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::fail::Fail;

/// A flag raised by SIGINT or SIGTERM: every command polls it and ends
/// cleanly (writing its outputs) instead of dying.
pub fn stop_flag() -> Result<Arc<AtomicBool>, Fail> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, flag.clone())
            .map_err(|e| Fail::runtime(format!("cannot install a signal handler: {e}")))?;
    }
    Ok(flag)
}

/// A random 32-bit value (SipHash keyed by the OS's randomness, plus a
/// counter and the clock so that successive draws differ).
pub fn random_u32() -> u32 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(rtpsynth::clock::monotonic_ns());
    let v = h.finish();
    (v ^ (v >> 32)) as u32
}

/// A positive, finite number of seconds from the command line.
pub fn seconds(opt: &str, v: f64) -> Result<Duration, Fail> {
    if !(v.is_finite() && v > 0.0 && v < 1e9) {
        return Err(Fail::usage(format!(
            "{opt} {v}: expected a positive number of seconds"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Write a JSON document (with a trailing newline).
pub fn write_json(path: &Path, v: &serde_json::Value) -> Result<(), Fail> {
    let mut s = serde_json::to_string_pretty(v)
        .map_err(|e| Fail::runtime(format!("cannot format statistics: {e}")))?;
    s.push('\n');
    std::fs::write(path, s)
        .map_err(|e| Fail::runtime(format!("cannot write {}: {e}", path.display())))
}

/// Fails early, before any work, if `path` cannot be created.
pub fn check_writable(opt: &str, path: &Path) -> Result<(), Fail> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(|_| ())
        .map_err(|e| Fail::usage(format!("{opt} {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ() {
        let a: Vec<u32> = (0..8).map(|_| random_u32()).collect();
        let mut b = a.clone();
        b.sort();
        b.dedup();
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn seconds_checks() {
        assert!(seconds("--duration", 1.5).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(seconds("--duration", bad).is_err());
        }
    }
}
