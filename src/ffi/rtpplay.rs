//! rtpplay.h: the adaptive playout buffer (src/playout/) behind an opaque
//! handle.

#![allow(non_camel_case_types)]

use std::ffi::c_int;
use std::mem::{offset_of, size_of};

use super::handle::{ffi_ctor, free_box, try_mut, try_ref, Castable, OwnershipBox};
use super::EPANIC;
use crate::playout::{
    status, Codec, Config, Mode, Playout, PlayoutError, PlcMode, PutOutcome, Stats,
};

pub const RTPPLAY_CODEC_PCMU: c_int = 1;
pub const RTPPLAY_CODEC_PCMA: c_int = 2;
pub const RTPPLAY_CODEC_L16: c_int = 3;
pub const RTPPLAY_CODEC_OPUS: c_int = 4;
pub const RTPPLAY_MODE_ADAPTIVE: c_int = 0;
pub const RTPPLAY_MODE_FIXED: c_int = 1;
pub const RTPPLAY_F_PLC_STANDARD: u32 = 0x1;

/// `struct rtpplay_cfg` (rtpplay.h, same order).
#[repr(C)]
pub struct rtpplay_cfg {
    pub size: usize,
    pub codec: c_int,
    pub pt: c_int,
    pub rate: u32,
    pub frame_ms: u32,
    pub mode: c_int,
    pub min_ms: u32,
    pub max_ms: u32,
    pub fixed_ms: u32,
    pub capacity: u32,
    pub max_payload: u32,
    pub flags: u32,
}

/// `struct rtpplay_stats` (rtpplay.h, same order).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtpplay_stats {
    pub size: usize,
    pub received: u64,
    pub played: u64,
    pub late: u64,
    pub discarded: u64,
    pub duplicates: u64,
    pub concealed_frames: u64,
    pub fec_frames: u64,
    pub expansions: u64,
    pub compressions: u64,
    pub expanded_samples: u64,
    pub compressed_samples: u64,
    pub resets: u64,
    pub pauses: u64,
    pub talkspurts: u64,
    pub delay_count: u64,
    pub current_delay_ns: i64,
    pub target_delay_ns: i64,
    pub mean_delay_ns: f64,
    pub p95_delay_ns: f64,
    pub skew_ppm: f64,
}

/// `struct rtpplay_played` (rtpplay.h, same order).
#[repr(C)]
pub struct rtpplay_played {
    pub arrival_ns: u64,
    pub playout_ns: u64,
    pub ts: u32,
    pub seq: u16,
}

/// Opaque playout buffer handle.
pub struct rtpplay {
    _private: [u8; 0],
}

impl Castable for rtpplay {
    type Ownership = OwnershipBox;
    type RustType = Playout;
}

fn ns(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

fn config(c: &rtpplay_cfg) -> Result<Config, c_int> {
    let einval = Err(-libc::EINVAL);
    if c.size < size_of::<rtpplay_cfg>() {
        return einval;
    }
    let codec = match c.codec {
        RTPPLAY_CODEC_PCMU | RTPPLAY_CODEC_PCMA if c.rate != 0 && c.rate != 8000 => return einval,
        RTPPLAY_CODEC_PCMU => Codec::Pcmu,
        RTPPLAY_CODEC_PCMA => Codec::Pcma,
        RTPPLAY_CODEC_L16 => Codec::L16 {
            rate: if c.rate == 0 { 8000 } else { c.rate },
        },
        RTPPLAY_CODEC_OPUS => Codec::Opus {
            rate: if c.rate == 0 { 48000 } else { c.rate },
        },
        _ => return einval,
    };
    let pt = match c.pt {
        -1 => None,
        0..=127 => Some(c.pt as u8),
        _ => return einval,
    };
    let mode = match c.mode {
        RTPPLAY_MODE_ADAPTIVE => Mode::Adaptive {
            min_ms: c.min_ms,
            max_ms: c.max_ms,
        },
        RTPPLAY_MODE_FIXED => Mode::Fixed { ms: c.fixed_ms },
        _ => return einval,
    };
    if c.flags & !RTPPLAY_F_PLC_STANDARD != 0 {
        return einval;
    }
    Ok(Config {
        codec,
        pt,
        ptime_ms: if c.frame_ms == 0 { 20 } else { c.frame_ms },
        mode,
        capacity: c.capacity as usize,
        max_payload: c.max_payload as usize,
        plc: if c.flags & RTPPLAY_F_PLC_STANDARD != 0 {
            PlcMode::Standard
        } else {
            PlcMode::ZeroDelay
        },
    })
}

fn errno(e: PlayoutError) -> c_int {
    -match e {
        PlayoutError::BadConfig => libc::EINVAL,
        PlayoutError::BufferTooSmall => libc::ENOBUFS,
        PlayoutError::NotRtp(_) => libc::EBADMSG,
        PlayoutError::Codec => libc::ENOMEM,
    }
}

/// Defaults for a codec.
///
/// # Safety
/// `cfg` is NULL or points to a writable `struct rtpplay_cfg`.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_cfg_init(cfg: *mut rtpplay_cfg, codec: c_int) -> c_int {
    super::ffi_boundary!(EPANIC, {
        if cfg.is_null() {
            return -libc::EINVAL;
        }
        let v = rtpplay_cfg {
            size: size_of::<rtpplay_cfg>(),
            codec,
            pt: -1,
            rate: 0,
            frame_ms: 20,
            mode: RTPPLAY_MODE_ADAPTIVE,
            min_ms: 0,
            max_ms: 500,
            fixed_ms: 0,
            capacity: 0,
            max_payload: 0,
            flags: 0,
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { cfg.write(v) };
        0
    })
}

/// New playout buffer; NULL on error with the error in *err.
///
/// # Safety
/// `cfg` is NULL or points to a readable `struct rtpplay_cfg` whose `size`
/// bytes are readable; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_ctor(cfg: *const rtpplay_cfg, err: *mut c_int) -> *mut rtpplay {
    ffi_ctor!(err, {
        // SAFETY: NULL or readable per the contract.
        let Some(c) = (unsafe { cfg.as_ref() }) else {
            return Err(-libc::EINVAL);
        };
        Playout::new(config(c)?).map_err(errno)
    })
}

/// Give the buffer one datagram.
///
/// # Safety
/// `p` is NULL or a live handle; `pkt` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_put(
    p: *mut rtpplay,
    pkt: *const u8,
    len: usize,
    arrival_ns: u64,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_mut!(p, -libc::EINVAL);
        // SAFETY: `len` readable bytes at a non-NULL `pkt` per the contract.
        let Some(pkt) = (unsafe { super::bytes(pkt, len) }) else {
            return -libc::EINVAL;
        };
        match p.put(pkt, ns(arrival_ns)) {
            Ok(o) => match o {
                PutOutcome::Stored => 0,
                PutOutcome::Candidate => 1,
                PutOutcome::Late => 2,
                PutOutcome::Duplicate => 3,
                PutOutcome::Discarded => 4,
                PutOutcome::OtherPayloadType => 5,
                PutOutcome::Empty => 6,
            },
            Err(e) => errno(e),
        }
    })
}

/// Write the frame that starts playing at now_ns.
///
/// # Safety
/// `p` is NULL or a live handle; `pcm` has `pcm_cap` writable samples.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_get(
    p: *mut rtpplay,
    now_ns: u64,
    pcm: *mut i16,
    pcm_cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_mut!(p, -libc::EINVAL);
        if pcm.is_null() {
            return -libc::EINVAL;
        }
        let n = p.frame_len();
        if pcm_cap < n {
            return -libc::ENOBUFS;
        }
        // SAFETY: non-NULL with pcm_cap >= n writable samples per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(pcm, n) };
        match p.get(ns(now_ns), out) {
            Ok(flags) => (flags & 0x7f) as c_int,
            Err(e) => errno(e),
        }
    })
}

/// Samples per get.
///
/// # Safety
/// `p` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_frame_len(p: *const rtpplay) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_ref!(p, -libc::EINVAL);
        p.frame_len() as c_int
    })
}

/// Output sample rate.
///
/// # Safety
/// `p` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_rate(p: *const rtpplay) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_ref!(p, -libc::EINVAL);
        p.rate() as c_int
    })
}

fn c_stats(s: &Stats) -> rtpplay_stats {
    rtpplay_stats {
        size: size_of::<rtpplay_stats>(),
        received: s.received,
        played: s.played,
        late: s.late,
        discarded: s.discarded,
        duplicates: s.duplicates,
        concealed_frames: s.concealed_frames,
        fec_frames: s.fec_frames,
        expansions: s.expansions,
        compressions: s.compressions,
        expanded_samples: s.expanded_samples,
        compressed_samples: s.compressed_samples,
        resets: s.resets,
        pauses: s.pauses,
        talkspurts: s.talkspurts,
        delay_count: s.delay_count,
        current_delay_ns: s.current_delay_ns,
        target_delay_ns: s.target_delay_ns,
        mean_delay_ns: s.mean_delay_ns,
        p95_delay_ns: s.p95_delay_ns,
        skew_ppm: s.skew_ppm,
    }
}

/// Fill the first st->size bytes of *st.
///
/// # Safety
/// `p` is NULL or a live handle; `st` is NULL or points to `st->size`
/// writable bytes starting with a readable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_stats(p: *const rtpplay, st: *mut rtpplay_stats) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_ref!(p, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: non-NULL, starts with a readable size_t per the contract.
        let want = unsafe { st.cast::<usize>().read() };
        if want < offset_of!(rtpplay_stats, played) {
            return -libc::EINVAL;
        }
        let v = c_stats(&p.stats());
        let n = want.min(size_of::<rtpplay_stats>());
        // SAFETY: `v` is a plain repr(C) value of size_of bytes, n <= that;
        // `st` has `want >= n` writable bytes per the contract. `size` stays
        // the caller's value (the first field is copied from `want`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&v as *const rtpplay_stats).cast::<u8>(),
                st.cast::<u8>(),
                n,
            );
            st.cast::<usize>().write(want);
        }
        0
    })
}

/// Mean delay per minute, ms.
///
/// # Safety
/// `p` is NULL or a live handle; `ms` has `cap` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_delay_by_minute(
    p: *const rtpplay,
    ms: *mut f64,
    cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_ref!(p, -libc::EINVAL);
        if ms.is_null() && cap > 0 {
            return -libc::EINVAL;
        }
        let mut count = 0usize;
        for (i, m) in p.delay_by_minute().enumerate() {
            if i < cap {
                let v = m.map_or(f64::NAN, |ns| ns / 1e6);
                // SAFETY: i < cap writable doubles at non-NULL `ms`.
                unsafe { ms.add(i).write(v) };
            }
            count = i + 1;
        }
        count.min(c_int::MAX as usize) as c_int
    })
}

/// The oldest uncollected played-packet record.
///
/// # Safety
/// `p` is NULL or a live handle; `rec` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_next_played(p: *mut rtpplay, rec: *mut rtpplay_played) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_mut!(p, -libc::EINVAL);
        if rec.is_null() {
            return -libc::EINVAL;
        }
        match p.next_played() {
            Some(r) => {
                let v = rtpplay_played {
                    arrival_ns: r.arrival_ns.max(0) as u64,
                    playout_ns: r.playout_ns.max(0) as u64,
                    ts: r.ts,
                    seq: r.seq,
                };
                // SAFETY: non-NULL and writable per the contract.
                unsafe { rec.write(v) };
                1
            }
            None => 0,
        }
    })
}

/// Drop everything buffered.
///
/// # Safety
/// `p` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_reset(p: *mut rtpplay) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let p = try_mut!(p, -libc::EINVAL);
        p.reset();
        0
    })
}

/// Destroy a buffer; NULL is fine.
///
/// # Safety
/// `p` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpplay_dtor(p: *mut rtpplay) {
    super::ffi_boundary!((), {
        // SAFETY: NULL or a live handle not used again (the contract).
        unsafe { free_box(p) };
    })
}

// Flags pass through unchanged: the header's values are the core's.
const _: () = assert!(
    status::PLAYING == 0x1
        && status::CONCEALED == 0x2
        && status::FEC == 0x4
        && status::EXPANDED == 0x8
        && status::COMPRESSED == 0x10
        && status::PAUSED == 0x20
        && status::WAITING == 0x40
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_header() {
        // x86-64 / LP64 sizes of the C structs in rtpplay.h
        assert_eq!(size_of::<rtpplay_cfg>(), 56);
        assert_eq!(size_of::<rtpplay_stats>(), 8 + 15 * 8 + 2 * 8 + 3 * 8);
        assert_eq!(size_of::<rtpplay_played>(), 24);
    }

    #[test]
    fn null_and_bad_arguments() {
        let mut err = 0;
        // SAFETY: NULL pointers are allowed by every function's contract.
        unsafe {
            assert!(rtpplay_ctor(std::ptr::null(), &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            assert_eq!(
                rtpplay_put(std::ptr::null_mut(), std::ptr::null(), 0, 0),
                -libc::EINVAL
            );
            assert_eq!(rtpplay_frame_len(std::ptr::null()), -libc::EINVAL);
            rtpplay_dtor(std::ptr::null_mut());
            let mut c = std::mem::zeroed::<rtpplay_cfg>();
            assert_eq!(rtpplay_cfg_init(&mut c, RTPPLAY_CODEC_PCMU), 0);
            c.pt = 200;
            assert!(rtpplay_ctor(&c, &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            c.pt = 0;
            let p = rtpplay_ctor(&c, &mut err);
            assert!(!p.is_null());
            assert_eq!(rtpplay_frame_len(p), 160);
            assert_eq!(rtpplay_put(p, [0u8; 4].as_ptr(), 4, 0), -libc::EBADMSG);
            let mut pcm = [0i16; 100];
            assert_eq!(rtpplay_get(p, 0, pcm.as_mut_ptr(), 100), -libc::ENOBUFS);
            rtpplay_dtor(p);
        }
    }
}
