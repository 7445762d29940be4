//! rtp.h and rtp_info.h: the profile table, `rtp_packet_parse_raw` and
//! `rtp_packet_parse_errstr`, with the original's struct layouts.

#![allow(non_camel_case_types, non_upper_case_globals)]

use std::ffi::{c_char, c_int, c_uint};

use crate::rtp::{self, Parsed, PROFILES};

/// `struct rtp_profile`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rtp_profile {
    pub ts_rate: c_int,
    pub sample_rate: c_int,
    pub nchannels: c_int,
    pub pt_kind: c_int,
}

/// `struct rtp_info` (40 bytes on x86-64).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rtp_info {
    pub data_size: usize,
    pub data_offset: c_uint,
    pub nsamples: c_int,
    pub ts: u32,
    pub seq: u16,
    pub ssrc: u32,
    pub appendable: c_int,
    pub rtp_profile: *const rtp_profile,
}

/// `rtp_parser_err_t` values.
pub const RTP_PARSER_NOTPARSED: c_int = 0;
pub const RTP_PARSER_OK: c_int = 1;

const fn c_table() -> [rtp_profile; 128] {
    let mut t = [rtp_profile {
        ts_rate: 0,
        sample_rate: 0,
        nchannels: 0,
        pt_kind: 0,
    }; 128];
    let mut i = 0;
    while i < 128 {
        let p = PROFILES[i];
        t[i] = rtp_profile {
            ts_rate: p.ts_rate,
            sample_rate: p.sample_rate,
            nchannels: p.nchannels,
            pt_kind: p.pt_kind as c_int,
        };
        i += 1;
    }
    t
}

/// The payload profile table, indexed by payload type.
#[no_mangle]
pub static rtp_profiles: [rtp_profile; 128] = c_table();

/// Fill `info` from a successful parse.
pub(crate) fn store_parsed(info: &mut rtp_info, p: &Parsed) {
    *info = rtp_info {
        data_size: p.data_size,
        data_offset: p.data_offset,
        nsamples: p.nsamples,
        ts: p.ts,
        seq: p.seq,
        ssrc: p.ssrc,
        appendable: p.appendable as c_int,
        rtp_profile: &rtp_profiles[p.pt as usize & 0x7f],
    };
}

/// What the original leaves in `info` on failure: sizes reset, the header
/// offset reached, the rest untouched.
pub(crate) fn store_failure(info: &mut rtp_info, data_offset: u32) {
    info.data_size = 0;
    info.data_offset = data_offset;
    info.appendable = 1;
    info.nsamples = rtp::samples::NSAMPLES_UNKNOWN;
}

/// Parse `buf` into `info`; `info` is written as the original does.
pub(crate) fn parse_into(buf: &[u8], info: &mut rtp_info) -> c_int {
    match rtp::parse(buf) {
        Ok(p) => {
            store_parsed(info, &p);
            RTP_PARSER_OK
        }
        Err(e) => {
            store_failure(info, e.data_offset);
            e.kind.code()
        }
    }
}

/// Parse one RTP datagram. NULL `rinfo`, or NULL `buf` with a nonzero
/// `size`, returns `RTP_PARSER_NOTPARSED` and writes nothing.
///
/// # Safety
/// `buf` must point to `size` readable bytes and `rinfo` to a writable
/// `struct rtp_info`.
#[no_mangle]
pub unsafe extern "C" fn rtp_packet_parse_raw(
    buf: *const u8,
    size: usize,
    rinfo: *mut rtp_info,
) -> c_int {
    super::ffi_boundary!(RTP_PARSER_NOTPARSED, {
        // SAFETY: the caller passes a writable rtp_info or NULL.
        let Some(info) = (unsafe { rinfo.as_mut() }) else {
            return RTP_PARSER_NOTPARSED;
        };
        // SAFETY: a non-NULL `buf` has `size` readable bytes per the contract.
        let Some(data) = (unsafe { super::bytes(buf, size) }) else {
            return RTP_PARSER_NOTPARSED;
        };
        parse_into(data, info)
    })
}

/// Describe a parser result. Unlike the original (which aborts), unknown
/// codes get a generic text. Never NULL.
#[no_mangle]
pub extern "C" fn rtp_packet_parse_errstr(ecode: c_int) -> *const c_char {
    match ecode {
        RTP_PARSER_NOTPARSED => c"packet not parsed".as_ptr(),
        RTP_PARSER_OK => c"no error".as_ptr(),
        _ => super::error::describe(ecode).as_ptr(),
    }
}
