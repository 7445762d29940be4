//! Cheap "when did this happen" stamps for the generator.
//!
//! The original reads CLOCK_MONOTONIC for every packet (about 25 ns here) only
//! so that `rsynth_resync` can measure the pause since the last packet. We
//! take a raw TSC reading instead where the kernel itself trusts the TSC
//! (clocksource `tsc`, constant and nonstop TSC), and convert a stamp to
//! nanoseconds only when a pause is measured. The conversion ratio is
//! measured over the interval from a process-wide anchor (taken before the
//! first stamp) to now; since that interval contains the measured pause, the
//! absolute error of the pause is bounded by the jitter of two clock reads
//! (well under a microsecond), whatever the pause's length.
//! Elsewhere, or when `ClockConfig::allow_tsc` is off (the C library's
//! `RTPSYNTH_NO_TSC`), stamps are plain CLOCK_MONOTONIC nanoseconds.

use std::sync::OnceLock;

/// How stamps are taken. Process-wide: fixed by the first `configure` (or,
/// without one, the first stamp, with the defaults) and never changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Use the CPU's time-stamp counter where the kernel itself trusts it
    /// (default); `false`: every stamp reads CLOCK_MONOTONIC.
    pub allow_tsc: bool,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig { allow_tsc: true }
    }
}

/// Nanoseconds of CLOCK_MONOTONIC.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always
    // supported on Linux, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[derive(Clone, Copy)]
struct Anchor {
    tsc: u64,
    ns: u64,
}

static ANCHOR: OnceLock<Option<Anchor>> = OnceLock::new();

fn make_anchor(cfg: ClockConfig) -> Option<Anchor> {
    if !cfg.allow_tsc || !tsc_trusted() {
        return None;
    }
    let ns = monotonic_ns();
    Some(Anchor {
        tsc: read_tsc()?,
        ns,
    })
}

/// `Some(anchor)` when TSC stamps are in use.
fn tsc_anchor() -> Option<Anchor> {
    *ANCHOR.get_or_init(|| make_anchor(ClockConfig::default()))
}

/// Fix the process-wide `ClockConfig` from `cfg()` unless it is already
/// fixed (`cfg` is then not called). Call before the first stamp.
pub fn configure(cfg: impl FnOnce() -> ClockConfig) {
    ANCHOR.get_or_init(|| make_anchor(cfg()));
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> Option<u64> {
    // SAFETY: RDTSC is available on every x86_64 CPU and has no memory effects.
    Some(unsafe { core::arch::x86_64::_rdtsc() })
}

#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> Option<u64> {
    None
}

fn tsc_trusted() -> bool {
    if cfg!(not(target_arch = "x86_64")) {
        return false;
    }
    let src =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    if src.trim() != "tsc" {
        return false;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    has("constant_tsc") && has("nonstop_tsc")
}

/// An opaque point in time, cheap to take.
#[derive(Clone, Copy, Debug)]
pub struct Stamp(u64);

/// Call once before the first `Stamp::now` that will be measured (it fixes
/// the anchor, which must precede every stamp).
pub fn init() {
    let _ = tsc_anchor();
}

impl Stamp {
    #[inline]
    pub fn now() -> Stamp {
        match tsc_anchor() {
            Some(_) => Stamp(read_tsc().unwrap_or(0)),
            None => Stamp(monotonic_ns()),
        }
    }

    /// Nanoseconds from this stamp to now.
    pub fn elapsed_ns(self) -> u64 {
        match tsc_anchor() {
            Some(a) => {
                let now_ns = monotonic_ns();
                let now_tsc = read_tsc().unwrap_or(a.tsc);
                let span_tsc = now_tsc.saturating_sub(a.tsc);
                if span_tsc == 0 {
                    return 0;
                }
                let ticks = now_tsc.saturating_sub(self.0).min(span_tsc);
                let span_ns = now_ns.saturating_sub(a.ns);
                (ticks as u128 * span_ns as u128 / span_tsc as u128) as u64
            }
            None => monotonic_ns().saturating_sub(self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_tracks_sleep_to_the_microsecond_scale() {
        init();
        let s = Stamp::now();
        let t0 = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let e = s.elapsed_ns();
        let real = monotonic_ns() - t0;
        // elapsed is measured before `real`, from a stamp taken before `t0`
        assert!(
            e + 200_000 > real && e < real + 200_000,
            "elapsed {e} vs {real}"
        );
    }
}
