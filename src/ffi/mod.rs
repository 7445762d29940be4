//! The C ABI. Every exported function checks its pointers, converts types,
//! calls the safe core and maps errors; none lets a panic cross into C.

/// Run `$body`; if it panics, return `$default` instead of unwinding into C.
macro_rules! ffi_boundary {
    ($default:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $default,
        }
    };
}
pub(crate) use ffi_boundary;

pub mod error;
pub mod rtp;
pub mod rtpjbuf;
pub mod rtpopus;
pub mod rtpproc;
pub mod rtpserver;
pub mod rtpsynth;
pub mod rtputils;
