//! The C ABI. Every exported function checks its pointers, converts types,
//! calls the safe core and maps errors; none lets a panic cross into C.
//! Handles are turned into Rust values only through `handle` (one pattern
//! for every opaque type); a caught panic is reported as `EPANIC` by the
//! new APIs (the drop-in functions keep the original's error values).

use std::ffi::c_int;

/// What the errno-style APIs return when the boundary caught a panic (a bug
/// in this library): `-ENOTRECOVERABLE`, never confused with bad input or
/// out of memory.
pub(crate) const EPANIC: c_int = -libc::ENOTRECOVERABLE;

/// Run `$body`; if it panics, return `$default` instead of unwinding into C
/// (or abort, see `caught_panic`).
macro_rules! ffi_boundary {
    ($default:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                $crate::ffi::caught_panic();
                $default
            }
        }
    };
}
pub(crate) use ffi_boundary;

/// Called when the boundary caught a panic. With `RTPSYNTH_ABORT_ON_PANIC`
/// set (to anything) the process aborts instead of getting the error value:
/// the corpus replays and other tests set it so that a panic fails them
/// (rtpsynth_error.h). Read only here, on the cold path.
#[cold]
pub(crate) fn caught_panic() {
    if std::env::var_os("RTPSYNTH_ABORT_ON_PANIC").is_some() {
        eprintln!("rtpsynth: panic caught at the C boundary; aborting (RTPSYNTH_ABORT_ON_PANIC)");
        std::process::abort();
    }
}

/// Store `e` in `*err` when `err` is not NULL (constructors' error out-param).
pub(crate) fn set_err(err: *mut std::ffi::c_int, e: std::ffi::c_int) {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` points to a writable int per every header.
        unsafe { *err = e };
    }
}

/// The caller's `len` bytes at `p` as a slice: empty for `len == 0` (any
/// `p`), None for a NULL `p` with `len > 0`.
///
/// # Safety
/// A non-NULL `p` must point to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    match (p.is_null(), len) {
        (_, 0) => Some(&[]),
        (true, _) => None,
        // SAFETY: non-NULL with `len` readable bytes per this fn's contract.
        (false, n) => Some(unsafe { std::slice::from_raw_parts(p, n) }),
    }
}

pub mod error;
mod frame_cache;
pub(crate) mod handle;
pub mod rtcp;
pub mod rtp;
pub mod rtpevent;
pub mod rtpjbuf;
pub mod rtpopus;
pub mod rtpplay;
pub mod rtpproc;
pub mod rtpserver;
pub mod rtpsynth;
pub mod rtputils;
pub mod rtpvideo;
