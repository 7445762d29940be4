//! rtpsynth.h: the RTP packet generator behind a `void *` handle.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void};
use std::ptr;

use parking_lot::Mutex;

use super::handle::{boxed_handle, ffi_dtor, to_boxed_mut_ptr, try_mut, try_ref};
use crate::clock::ClockConfig;
use crate::synth::Synth;

/// `struct rsynth_seq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rsynth_seq {
    pub ts: c_ulonglong,
    pub seq: c_ulonglong,
}

/// `rsynth_randfunc_t`.
pub type rsynth_randfunc_t = Option<unsafe extern "C" fn(arg: *mut c_void) -> u32>;

struct RandSource {
    func: rsynth_randfunc_t,
    arg: *mut c_void,
}

// SAFETY: `arg` is an opaque value owned by the C caller, who installs it
// process-wide exactly as the original's global does; we only pass it back.
unsafe impl Send for RandSource {}

extern "C" {
    /// glibc's random(): the original's default source (libc does not bind it).
    fn random() -> std::ffi::c_long;
}

static RAND: Mutex<RandSource> = Mutex::new(RandSource {
    func: None,
    arg: ptr::null_mut(),
});

fn draw() -> u32 {
    let (func, arg) = {
        let r = RAND.lock();
        (r.func, r.arg)
    };
    match func {
        // SAFETY: the caller installed `f` with this `arg` through
        // rsynth_set_randfunc and keeps both valid while installed.
        Some(f) => unsafe { f(arg) },
        // SAFETY: random() has no preconditions.
        None => unsafe { random() as u32 },
    }
}

/// Install the generator used by later `rsynth_ctor` calls (three draws
/// each: SSRC, timestamp, sequence number); NULL restores `random()`.
#[no_mangle]
pub extern "C" fn rsynth_set_randfunc(func: rsynth_randfunc_t, arg: *mut c_void) {
    super::ffi_boundary!((), {
        let mut r = RAND.lock();
        r.func = func;
        r.arg = if func.is_some() { arg } else { ptr::null_mut() };
    })
}

/// What the drop-in's `void *` generator handle points to.
pub(crate) enum rsynth_inst {}

boxed_handle!(rsynth_inst => Synth);

/// The clock settings from the environment, read once per process
/// (rtpsynth.h): `RTPSYNTH_NO_TSC` set to anything turns TSC stamps off.
fn clock_config_from_env() -> ClockConfig {
    ClockConfig {
        allow_tsc: std::env::var_os("RTPSYNTH_NO_TSC").is_none(),
    }
}

/// Create a generator. Returns NULL only when out of memory.
#[no_mangle]
pub extern "C" fn rsynth_ctor(srate: c_int, ptime: c_int) -> *mut c_void {
    super::ffi_boundary!(ptr::null_mut(), {
        crate::clock::configure(clock_config_from_env);
        to_boxed_mut_ptr::<rsynth_inst>(Synth::new(srate, ptime, draw)).cast()
    })
}

/// Write the next packet into `buf` (see rtpsynth.h). Returns its length,
/// or -1 when `blen` is too small, `plen` is negative or a pointer is NULL.
///
/// # Safety
/// `buf` must point to `blen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rsynth_next_pkt_pa(
    ri: *mut c_void,
    plen: c_int,
    pt: c_int,
    buf: *mut c_char,
    blen: c_uint,
    filled: c_int,
) -> c_int {
    super::ffi_boundary!(-1, {
        let s = try_mut!(ri.cast::<rsynth_inst>(), -1);
        let write = |s: &mut Synth, plen, b: &mut [u8]| s.next_into(plen, pt, b, filled != 0);
        // SAFETY: forwarded contract: `buf` has `blen` writable bytes.
        unsafe { write_packet(s, plen, buf, blen, write) }
    })
}

/// Check the caller's sizes and pointer, then let `write` (the core's
/// packet writer, `Synth::next_into` or `next_into_at`) fill the buffer.
/// -1 for a NULL `buf`, a negative `plen` or a buffer too small.
///
/// # Safety
/// A non-NULL `buf` must point to `blen` writable bytes.
unsafe fn write_packet(
    s: &mut Synth,
    plen: c_int,
    buf: *mut c_char,
    blen: c_uint,
    write: impl FnOnce(&mut Synth, usize, &mut [u8]) -> Option<usize>,
) -> c_int {
    let Ok(plen) = usize::try_from(plen) else {
        return -1;
    };
    if buf.is_null() || s.header_len() + plen > c_int::MAX as usize {
        return -1;
    }
    // SAFETY: a non-NULL `buf` has `blen` writable bytes (contract).
    let buf = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), blen as usize) };
    write(s, plen, buf).map_or(-1, |len| len as c_int)
}

/// Like `rsynth_next_pkt_pa`, but the packet carries the caller's
/// timestamp and marker bit; only the sequence number advances (see
/// rtpsynth.h). -1 when `blen` is too small, `plen` is negative or a
/// pointer is NULL.
///
/// # Safety
/// `buf` must point to `blen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rsynth_next_pkt_at(
    ri: *mut c_void,
    plen: c_int,
    pt: c_int,
    ts: u32,
    marker: c_int,
    buf: *mut c_char,
    blen: c_uint,
    pa: c_int,
) -> c_int {
    super::ffi_boundary!(-1, {
        let s = try_mut!(ri.cast::<rsynth_inst>(), -1);
        let write = |s: &mut Synth, plen, b: &mut [u8]| {
            s.next_into_at(plen, pt, ts, marker != 0, b, pa != 0)
        };
        // SAFETY: forwarded contract: `buf` has `blen` writable bytes.
        unsafe { write_packet(s, plen, buf, blen, write) }
    })
}

/// The generator's SSRC (0 for a NULL handle).
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor*`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_get_ssrc(ri: *const c_void) -> u32 {
    super::ffi_boundary!(0, { try_ref!(ri.cast::<rsynth_inst>(), 0).ssrc() })
}

/// The next packet's sequence number (0 for a NULL handle).
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor*`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_get_seq(ri: *const c_void) -> u16 {
    super::ffi_boundary!(0, { try_ref!(ri.cast::<rsynth_inst>(), 0).next_seq() })
}

/// The next packet's timestamp, low 32 bits (0 for a NULL handle).
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor*`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_get_ts(ri: *const c_void) -> u32 {
    super::ffi_boundary!(0, { try_ref!(ri.cast::<rsynth_inst>(), 0).next_ts() })
}

/// Three values from the OS random source (getrandom(2)), for an SSRC,
/// initial timestamp and sequence number that differ between processes.
/// None if the kernel cannot supply them.
pub fn os_random_draws() -> Option<[u32; 3]> {
    let mut b = [0u8; 12];
    let mut got = 0usize;
    while got < b.len() {
        // SAFETY: the range `got..12` of `b` is writable; flags 0 blocks
        // only until the pool is initialised at boot.
        let n = unsafe { libc::getrandom(b[got..].as_mut_ptr().cast(), b.len() - got, 0) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return None;
        }
        got += n as usize;
    }
    let w = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Some([w(0), w(4), w(8)])
}

/// Create a generator whose SSRC, timestamp and sequence number come from
/// the OS random source. NULL when out of memory or getrandom fails.
#[no_mangle]
pub extern "C" fn rsynth_ctor_random(srate: c_int, ptime: c_int) -> *mut c_void {
    super::ffi_boundary!(ptr::null_mut(), {
        crate::clock::configure(clock_config_from_env);
        let Some(d) = os_random_draws() else {
            return ptr::null_mut();
        };
        let mut it = d.into_iter();
        let s = Synth::new(srate, ptime, || it.next().unwrap_or(0));
        to_boxed_mut_ptr::<rsynth_inst>(s).cast()
    })
}

/// Allocate (malloc) and return the next packet with a zeroed payload of
/// `plen` bytes; free it with `rsynth_pkt_free` or free(). NULL on a NULL
/// handle, a negative `plen` or no memory.
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_next_pkt(ri: *mut c_void, plen: c_int, pt: c_int) -> *mut c_void {
    super::ffi_boundary!(ptr::null_mut(), {
        let s = try_mut!(ri.cast::<rsynth_inst>(), ptr::null_mut());
        if plen < 0 || plen as usize > c_int::MAX as usize - s.header_len() {
            return ptr::null_mut();
        }
        let hl = s.header_len();
        let rs = hl + plen as usize;
        // SAFETY: plain allocation; checked for NULL below.
        let p = unsafe { libc::malloc(rs) }.cast::<u8>();
        if p.is_null() {
            return ptr::null_mut();
        }
        let h = s.next_header(pt);
        // SAFETY: `p` holds `rs = hl + plen` bytes.
        unsafe {
            ptr::copy_nonoverlapping(h.as_ptr(), p, hl);
            ptr::write_bytes(p.add(hl), 0, plen as usize);
        }
        p.cast()
    })
}

/// Advance the timestamp by `npkts` packet times without sending.
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_skip(ri: *mut c_void, npkts: c_int) {
    super::ffi_boundary!((), {
        try_mut!(ri.cast::<rsynth_inst>()).skip(npkts);
    })
}

/// Free a packet from `rsynth_next_pkt` (free(); NULL is fine).
///
/// # Safety
/// `rnp` must be NULL or a block from `rsynth_next_pkt` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn rsynth_pkt_free(rnp: *mut c_void) {
    // SAFETY: per the contract above; free(NULL) is a no-op.
    unsafe { libc::free(rnp) }
}

/// Destroy a generator (NULL is fine).
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_dtor(ri: *mut c_void) {
    ffi_dtor!(ri.cast::<rsynth_inst>())
}

/// Set the marker bit for the next packet; returns the previous value
/// (0 for a NULL handle).
///
/// # Safety
/// `ri` must be NULL or a live handle from `rsynth_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rsynth_set_mbt(ri: *mut c_void, new_st: c_uint) -> c_uint {
    super::ffi_boundary!(0, {
        let s = try_mut!(ri.cast::<rsynth_inst>(), 0);
        s.set_marker(new_st)
    })
}

/// Store the current position in `*rsp` (if not NULL), then move the
/// timestamp forward by the time elapsed since the last packet.
///
/// # Safety
/// `rsp` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rsynth_resync(ri: *mut c_void, rsp: *mut rsynth_seq) {
    super::ffi_boundary!((), {
        let s = try_mut!(ri.cast::<rsynth_inst>());
        let before = s.resync();
        // SAFETY: the caller passes NULL or a writable rsynth_seq.
        if let Some(out) = unsafe { rsp.as_mut() } {
            *out = rsynth_seq {
                ts: before.ts,
                seq: before.seq,
            };
        }
    })
}
