//! rtputils.h: G.711 and the linear resampler.

use std::ffi::c_int;
use std::slice;

use libc::ssize_t;

use crate::codec::g711;
use crate::codec::resample::{self, ResampleError};

fn resample_err(e: ResampleError) -> ssize_t {
    (match e {
        ResampleError::BadRate => -libc::EINVAL,
        ResampleError::Overflow => -libc::EOVERFLOW,
        ResampleError::OutputTooSmall(_) => -libc::ENOBUFS,
    }) as ssize_t
}

/// µ-law encode one sample.
#[no_mangle]
pub extern "C" fn rtpu_linear2ulaw(s: i16) -> u8 {
    super::ffi_boundary!(0, { g711::linear2ulaw(s) })
}

/// µ-law decode one code word.
#[no_mangle]
pub extern "C" fn rtpu_ulaw2linear(u: u8) -> i16 {
    super::ffi_boundary!(0, { g711::ulaw2linear(u) })
}

/// A-law encode one sample.
#[no_mangle]
pub extern "C" fn rtpu_linear2alaw(s: i16) -> u8 {
    super::ffi_boundary!(0, { g711::linear2alaw(s) })
}

/// A-law decode one code word.
#[no_mangle]
pub extern "C" fn rtpu_alaw2linear(a: u8) -> i16 {
    super::ffi_boundary!(0, { g711::alaw2linear(a) })
}

/// Run `f` over the C buffers `input[0..n]` and `out[0..n]`; nothing for
/// n == 0 or a NULL pointer.
///
/// # Safety
/// When n > 0 and both are non-NULL, `input` has n readable and `out` n
/// writable elements, and the two do not overlap.
unsafe fn with_bufs<I, O>(input: *const I, n: usize, out: *mut O, f: fn(&[I], &mut [O])) {
    if n == 0 || input.is_null() || out.is_null() {
        return;
    }
    // SAFETY: per this function's contract.
    let (i, o) = unsafe {
        (
            slice::from_raw_parts(input, n),
            slice::from_raw_parts_mut(out, n),
        )
    };
    f(i, o)
}

/// µ-law encode n samples.
///
/// # Safety
/// `input` holds n samples and `out` n bytes (see rtputils.h).
#[no_mangle]
pub unsafe extern "C" fn rtpu_linear2ulaw_buf(input: *const i16, n: usize, out: *mut u8) {
    // SAFETY: the caller's contract is with_bufs's.
    super::ffi_boundary!((), {
        unsafe { with_bufs(input, n, out, g711::linear2ulaw_buf) }
    })
}

/// µ-law decode n bytes.
///
/// # Safety
/// `input` holds n bytes and `out` n samples.
#[no_mangle]
pub unsafe extern "C" fn rtpu_ulaw2linear_buf(input: *const u8, n: usize, out: *mut i16) {
    // SAFETY: the caller's contract is with_bufs's.
    super::ffi_boundary!((), {
        unsafe { with_bufs(input, n, out, g711::ulaw2linear_buf) }
    })
}

/// A-law encode n samples.
///
/// # Safety
/// `input` holds n samples and `out` n bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpu_linear2alaw_buf(input: *const i16, n: usize, out: *mut u8) {
    // SAFETY: the caller's contract is with_bufs's.
    super::ffi_boundary!((), {
        unsafe { with_bufs(input, n, out, g711::linear2alaw_buf) }
    })
}

/// A-law decode n bytes.
///
/// # Safety
/// `input` holds n bytes and `out` n samples.
#[no_mangle]
pub unsafe extern "C" fn rtpu_alaw2linear_buf(input: *const u8, n: usize, out: *mut i16) {
    // SAFETY: the caller's contract is with_bufs's.
    super::ffi_boundary!((), {
        unsafe { with_bufs(input, n, out, g711::alaw2linear_buf) }
    })
}

/// Exact output length of `rtpu_resample_linear` for n_in samples.
#[no_mangle]
pub extern "C" fn rtpu_resample_linear_len(
    n_in: usize,
    in_rate: c_int,
    out_rate: c_int,
) -> ssize_t {
    super::ffi_boundary!(-libc::EINVAL as ssize_t, {
        match resample::output_len(n_in, in_rate, out_rate) {
            Ok(n) => n as ssize_t,
            Err(e) => resample_err(e),
        }
    })
}

/// Resample n_in samples into out (out_cap samples of room).
///
/// # Safety
/// `input` holds n_in samples and `out` out_cap samples; they do not overlap.
#[no_mangle]
pub unsafe extern "C" fn rtpu_resample_linear(
    input: *const i16,
    n_in: usize,
    in_rate: c_int,
    out_rate: c_int,
    out: *mut i16,
    out_cap: usize,
) -> ssize_t {
    super::ffi_boundary!(-libc::EINVAL as ssize_t, {
        if (input.is_null() && n_in > 0) || (out.is_null() && out_cap > 0) {
            return -libc::EINVAL as ssize_t;
        }
        if n_in > isize::MAX as usize / 2 || out_cap > isize::MAX as usize / 2 {
            return -libc::EINVAL as ssize_t;
        }
        let i: &[i16] = if n_in == 0 {
            &[]
        } else {
            // SAFETY: non-NULL with n_in readable samples per the contract.
            unsafe { slice::from_raw_parts(input, n_in) }
        };
        let o: &mut [i16] = if out_cap == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL with out_cap writable samples per the contract.
            unsafe { slice::from_raw_parts_mut(out, out_cap) }
        };
        match resample::resample_linear(i, in_rate, out_rate, o) {
            Ok(n) => n as ssize_t,
            Err(e) => resample_err(e),
        }
    })
}
