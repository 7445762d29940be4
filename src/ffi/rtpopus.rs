//! rtpopus.h: Opus encoder/decoder handles and jitter-buffer concealment.

#![allow(non_camel_case_types)]

use std::ffi::c_int;
use std::slice;

use super::handle::{boxed_handle, ffi_ctor, ffi_dtor, try_mut};
use super::rtpjbuf::ers_frame;
use super::EPANIC;
use crate::codec::opus::{max_frame, App, Decoder, Encoder, OpusError, Setting};

/// `RTPOPUS_*` setting names: libopus's OPUS_SET_*_REQUEST values.
pub const RTPOPUS_BITRATE: c_int = 4002;
pub const RTPOPUS_COMPLEXITY: c_int = 4010;
pub const RTPOPUS_INBAND_FEC: c_int = 4012;
pub const RTPOPUS_PACKET_LOSS_PERC: c_int = 4014;
pub const RTPOPUS_DTX: c_int = 4016;

/// libopus's OPUS_APPLICATION_* values, as rtpopus.h documents them.
const APP_VOIP: c_int = 2048;
const APP_AUDIO: c_int = 2049;
const APP_RESTRICTED_LOWDELAY: c_int = 2051;

/// Opaque encoder handle.
pub struct rtpopus_enc {
    _private: [u8; 0],
}

boxed_handle!(rtpopus_enc => Encoder);

/// Opaque decoder handle.
pub struct rtpopus_dec {
    _private: [u8; 0],
}

boxed_handle!(rtpopus_dec => Decoder);

fn errno(e: OpusError) -> c_int {
    -match e {
        OpusError::BadArg | OpusError::InvalidState => libc::EINVAL,
        OpusError::BufferTooSmall => libc::ENOBUFS,
        OpusError::InvalidPacket => libc::EBADMSG,
        OpusError::Internal => libc::EPROTO,
        OpusError::Unimplemented => libc::ENOTSUP,
        OpusError::AllocFail => libc::ENOMEM,
    }
}

/// New encoder; NULL on error with the error in *err.
///
/// # Safety
/// `err` is NULL or points to a writable int.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_enc_ctor(
    srate: c_int,
    channels: c_int,
    application: c_int,
    err: *mut c_int,
) -> *mut rtpopus_enc {
    ffi_ctor!(err, {
        let app = match application {
            APP_VOIP => App::Voip,
            APP_AUDIO => App::Audio,
            APP_RESTRICTED_LOWDELAY => App::LowDelay,
            _ => return Err(-libc::EINVAL),
        };
        Encoder::new(srate, channels, app).map_err(errno)
    })
}

/// Change one encoder setting.
///
/// # Safety
/// `e` is NULL or a live encoder handle.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_enc_set(e: *mut rtpopus_enc, param: c_int, value: c_int) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let e = try_mut!(e, -libc::EINVAL);
        let what = match param {
            RTPOPUS_BITRATE => Setting::Bitrate,
            RTPOPUS_COMPLEXITY => Setting::Complexity,
            RTPOPUS_INBAND_FEC => Setting::InbandFec,
            RTPOPUS_PACKET_LOSS_PERC => Setting::PacketLossPerc,
            RTPOPUS_DTX => Setting::Dtx,
            _ => return -libc::EINVAL,
        };
        match e.set(what, value) {
            Ok(()) => 0,
            Err(x) => errno(x),
        }
    })
}

/// Encode one frame of frame_size samples per channel.
///
/// # Safety
/// `e` is NULL or a live handle; `pcm` holds frame_size * channels samples;
/// `out` has out_cap writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_encode(
    e: *mut rtpopus_enc,
    pcm: *const i16,
    frame_size: c_int,
    out: *mut u8,
    out_cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let e = try_mut!(e, -libc::EINVAL);
        if pcm.is_null() || out.is_null() || frame_size <= 0 {
            return -libc::EINVAL;
        }
        let fs = frame_size as usize;
        if fs > max_frame(e.sample_rate()) {
            return -libc::EINVAL;
        }
        if out_cap == 0 {
            return -libc::ENOBUFS;
        }
        // SAFETY: per the contract; fs * channels is at most 11520.
        let pcm = unsafe { slice::from_raw_parts(pcm, fs * e.channels()) };
        // SAFETY: non-NULL with out_cap writable bytes per the contract;
        // libopus never writes more than 1275 * 3 + 7 bytes, capped below.
        let out = unsafe { slice::from_raw_parts_mut(out, out_cap.min(1 << 16)) };
        match e.encode(pcm, out) {
            Ok(n) => n as c_int,
            Err(x) => errno(x),
        }
    })
}

/// Destroy an encoder; NULL is fine.
///
/// # Safety
/// `e` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_enc_dtor(e: *mut rtpopus_enc) {
    ffi_dtor!(e)
}

/// New decoder; NULL on error with the error in *err.
///
/// # Safety
/// `err` is NULL or points to a writable int.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_dec_ctor(
    srate: c_int,
    channels: c_int,
    err: *mut c_int,
) -> *mut rtpopus_dec {
    ffi_ctor!(err, { Decoder::new(srate, channels).map_err(errno) })
}

/// The decoder's output slice for `frame_cap` samples per channel.
///
/// # Safety
/// `pcm` is non-NULL with frame_cap * channels writable samples.
unsafe fn pcm_out<'a>(pcm: *mut i16, frame_cap: c_int, channels: usize) -> &'a mut [i16] {
    // SAFETY: per this function's contract; frame_cap > 0 was checked and
    // frame_cap * channels fits in usize (channels <= 2).
    unsafe { slice::from_raw_parts_mut(pcm, frame_cap as usize * channels) }
}

/// Decode one packet (or conceal a lost one when data is NULL / len 0).
///
/// # Safety
/// `d` is NULL or a live handle; `data` has len readable bytes; `pcm` has
/// frame_cap * channels writable samples.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_decode(
    d: *mut rtpopus_dec,
    data: *const u8,
    len: usize,
    pcm: *mut i16,
    frame_cap: c_int,
    fec: c_int,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let d = try_mut!(d, -libc::EINVAL);
        if pcm.is_null() || frame_cap <= 0 || len > c_int::MAX as usize {
            return -libc::EINVAL;
        }
        let packet = if data.is_null() || len == 0 {
            None
        } else {
            // SAFETY: non-NULL with len readable bytes per the contract.
            Some(unsafe { slice::from_raw_parts(data, len) })
        };
        // SAFETY: checked above; the caller provides the room.
        let out = unsafe { pcm_out(pcm, frame_cap, d.channels()) };
        match d.decode(packet, out, fec != 0) {
            Ok(n) => n as c_int,
            Err(x) => errno(x),
        }
    })
}

/// Conceal the span of a jitter-buffer erasure frame.
///
/// # Safety
/// `d` is NULL or a live handle; `ers` NULL or readable; `pcm` has
/// frame_cap * channels writable samples.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_conceal(
    d: *mut rtpopus_dec,
    ers: *const ers_frame,
    pcm: *mut i16,
    frame_cap: c_int,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let d = try_mut!(d, -libc::EINVAL);
        // SAFETY: a non-NULL `ers` points to a readable erasure frame.
        let Some(ers) = (unsafe { ers.as_ref() }) else {
            return -libc::EINVAL;
        };
        if pcm.is_null() || frame_cap < 0 {
            return -libc::EINVAL;
        }
        if d.conceal_len(ers.ts_diff) > frame_cap as usize {
            return -libc::ENOBUFS;
        }
        // SAFETY: non-NULL, frame_cap * channels writable samples per the contract.
        let out = unsafe { pcm_out(pcm, frame_cap, d.channels()) };
        match d.conceal(ers.ts_diff, out) {
            Ok(n) => n as c_int,
            Err(x) => errno(x),
        }
    })
}

/// Destroy a decoder; NULL is fine.
///
/// # Safety
/// `d` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpopus_dec_dtor(d: *mut rtpopus_dec) {
    ffi_dtor!(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn null_and_bad_arguments_are_errors() {
        let mut err = 0;
        // SAFETY: `err` is a valid int; the other pointers are NULL or valid.
        unsafe {
            assert!(rtpopus_enc_ctor(44100, 1, 2048, &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            assert!(rtpopus_dec_ctor(48000, 3, &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            assert_eq!(
                rtpopus_enc_set(ptr::null_mut(), RTPOPUS_BITRATE, 1),
                -libc::EINVAL
            );
            assert_eq!(
                rtpopus_encode(ptr::null_mut(), ptr::null(), 960, ptr::null_mut(), 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpopus_decode(ptr::null_mut(), ptr::null(), 0, ptr::null_mut(), 960, 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpopus_conceal(ptr::null_mut(), ptr::null(), ptr::null_mut(), 0),
                -libc::EINVAL
            );
            let d = rtpopus_dec_ctor(16000, 2, &mut err);
            assert!(!d.is_null());
            assert_eq!(err, 0);
            let ers = ers_frame {
                lseq_start: 1,
                lseq_end: 1,
                ts_diff: 960,
            };
            let mut pcm = [0i16; 2 * 320];
            assert_eq!(
                rtpopus_conceal(d, &ers, pcm.as_mut_ptr(), 319),
                -libc::ENOBUFS
            );
            assert_eq!(rtpopus_conceal(d, &ers, pcm.as_mut_ptr(), 320), 320);
            assert_eq!(
                rtpopus_conceal(d, &ers, ptr::null_mut(), 320),
                -libc::EINVAL
            );
            rtpopus_dec_dtor(d);
            rtpopus_enc_dtor(ptr::null_mut());
            rtpopus_dec_dtor(ptr::null_mut());
        }
    }

    #[test]
    fn opus_codes_never_leak() {
        for e in [
            OpusError::BadArg,
            OpusError::BufferTooSmall,
            OpusError::InvalidPacket,
            OpusError::Internal,
            OpusError::Unimplemented,
            OpusError::InvalidState,
            OpusError::AllocFail,
        ] {
            let v = errno(e);
            assert!(v < -7, "{e:?} -> {v}");
            assert_ne!(
                crate::ffi::error::describe(v).to_str().unwrap(),
                "unknown error"
            );
        }
    }
}
