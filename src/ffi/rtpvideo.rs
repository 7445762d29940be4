//! rtpvideo.h: video senders and receivers over the safe core in
//! `crate::video`.

#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_void};
use std::ptr;

use super::handle::{boxed_handle, ffi_ctor, ffi_dtor, try_mut, try_ref};
use super::{bytes, EPANIC};
use crate::video::assembler::{DropReason, Output};
use crate::video::receiver::Pushed;
use crate::video::{
    Codec, KeyframeRequest, Receiver, ReceiverConfig, Sender, SenderConfig, VideoError,
};

pub const RTPVID_H264: c_int = 1;
pub const RTPVID_VP8: c_int = 2;
pub const RTPVID_VP9: c_int = 3;
const DEFAULT_MTU: usize = 1200;

pub type rtpvid_pkt_cb = Option<unsafe extern "C" fn(arg: *mut c_void, pkt: *const u8, len: usize)>;
pub type rtpvid_keyframe_cb =
    Option<unsafe extern "C" fn(arg: *mut c_void, kind: c_int, fir_seq: c_int)>;

/// Opaque sender handle.
pub struct rtpvid_send {
    _private: [u8; 0],
}
boxed_handle!(rtpvid_send => Sender);

/// Opaque receiver handle.
pub struct rtpvid_recv {
    _private: [u8; 0],
}
boxed_handle!(rtpvid_recv => Receiver);

#[repr(C)]
pub struct rtpvid_send_cfg {
    pub size: usize,
    pub codec: c_int,
    pub pt: c_int,
    pub mtu: u32,
    pub ssrc: u32,
    pub first_seq: u16,
    pub first_picture_id: u16,
    pub history: u32,
    pub history_age_ns: u64,
    pub rtx_pt: c_int,
    pub rtx_ssrc: u32,
    pub rtx_first_seq: u16,
}

#[repr(C)]
pub struct rtpvid_send_stats {
    pub frames: u64,
    pub packets: u64,
    pub bytes: u64,
    pub nacked: u64,
    pub retransmitted: u64,
    pub not_found: u64,
    pub plis: u64,
    pub firs: u64,
}

#[repr(C)]
pub struct rtpvid_recv_cfg {
    pub size: usize,
    pub codec: c_int,
    pub pt: c_int,
    pub rtx_pt: c_int,
    pub max_packets: u32,
    pub max_latency_ns: u64,
    pub nack: c_int,
    pub rtt_ns: u64,
    pub keyframe_interval_ns: u64,
}

#[repr(C)]
pub struct rtpvid_frame {
    pub data: *const u8,
    pub len: usize,
    pub ts: u32,
    pub first_seq: u16,
    pub last_seq: u16,
    pub packets: u32,
    pub flags: c_int,
    pub drop_reason: c_int,
}

#[repr(C)]
pub struct rtpvid_recv_stats {
    pub packets: u64,
    pub frames: u64,
    pub keyframes: u64,
    pub dropped_frames: u64,
    pub duplicates: u64,
    pub late: u64,
    pub lost: u64,
    pub resets: u64,
    pub nack_requested: u64,
    pub recovered: u64,
    pub nack_given_up: u64,
    pub rtx_packets: u64,
    pub ignored: u64,
    pub malformed: u64,
    pub keyframe_requests: u64,
}

fn errno(e: VideoError) -> c_int {
    -match e {
        VideoError::InvalidArgument => libc::EINVAL,
        VideoError::EmptyFrame => libc::ENODATA,
        VideoError::Malformed => libc::EBADMSG,
        VideoError::TooLarge => libc::ENOBUFS,
        VideoError::NotFound => libc::ENOENT,
    }
}

fn codec(c: c_int) -> Result<Codec, c_int> {
    match c {
        RTPVID_H264 => Ok(Codec::H264),
        RTPVID_VP8 => Ok(Codec::Vp8),
        RTPVID_VP9 => Ok(Codec::Vp9),
        _ => Err(-libc::EINVAL),
    }
}

fn pt(p: c_int) -> Result<u8, c_int> {
    u8::try_from(p)
        .ok()
        .filter(|&p| p <= 127)
        .ok_or(-libc::EINVAL)
}

fn or_default(v: u64, d: u64) -> u64 {
    if v == 0 {
        d
    } else {
        v
    }
}

/// A C packet callback as a Rust closure.
fn pkt_sink(
    cb: unsafe extern "C" fn(*mut c_void, *const u8, usize),
    arg: *mut c_void,
) -> impl FnMut(&[u8]) {
    move |p: &[u8]| {
        // SAFETY: the caller gave a valid callback; the packet outlives the call.
        unsafe { cb(arg, p.as_ptr(), p.len()) }
    }
}

/// New sender.
///
/// # Safety
/// `cfg` is NULL or points to a readable `rtpvid_send_cfg` of at least
/// `cfg->size` bytes; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_ctor(
    cfg: *const rtpvid_send_cfg,
    err: *mut c_int,
) -> *mut rtpvid_send {
    ffi_ctor!(err, {
        // SAFETY: NULL or a readable config per this function's contract.
        let c = unsafe { cfg.as_ref() }.ok_or(-libc::EINVAL)?;
        if c.size < std::mem::size_of::<rtpvid_send_cfg>() {
            return Err(-libc::EINVAL);
        }
        let mtu = if c.mtu == 0 {
            DEFAULT_MTU
        } else {
            c.mtu as usize
        };
        let mut sc = SenderConfig::new(codec(c.codec)?, pt(c.pt)?, mtu, c.ssrc, c.first_seq);
        sc.first_picture_id = c.first_picture_id;
        sc.history_packets = c.history as usize;
        sc.history_age_ns = or_default(c.history_age_ns, 1_000_000_000);
        if c.rtx_pt != -1 {
            sc.rtx = Some((pt(c.rtx_pt)?, c.rtx_ssrc, c.rtx_first_seq));
        }
        if c.history > 1 << 15 {
            return Err(-libc::EINVAL);
        }
        Sender::new(sc).map_err(errno)
    })
}

/// Packetize one frame.
///
/// # Safety
/// `s` is NULL or a live sender; `frame` has `len` readable bytes; `cb` is
/// a valid callback.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_frame(
    s: *mut rtpvid_send,
    frame: *const u8,
    len: usize,
    ts: u32,
    now_ns: u64,
    cb: rtpvid_pkt_cb,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let s = try_mut!(s, -libc::EINVAL);
        let Some(cb) = cb else {
            return -libc::EINVAL;
        };
        // SAFETY: `len` readable bytes at `frame` per the contract.
        let Some(frame) = (unsafe { bytes(frame, len) }) else {
            return -libc::EINVAL;
        };
        match s.send_frame(frame, ts, now_ns, pkt_sink(cb, arg)) {
            Ok(n) => n.min(c_int::MAX as usize) as c_int,
            Err(e) => errno(e),
        }
    })
}

/// Handle incoming RTCP.
///
/// # Safety
/// As `rtpvid_send_frame`, with `buf` of `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_rtcp(
    s: *mut rtpvid_send,
    buf: *const u8,
    len: usize,
    now_ns: u64,
    cb: rtpvid_pkt_cb,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let s = try_mut!(s, -libc::EINVAL);
        let Some(cb) = cb else {
            return -libc::EINVAL;
        };
        // SAFETY: `len` readable bytes at `buf` per the contract.
        let Some(buf) = (unsafe { bytes(buf, len) }) else {
            return -libc::EINVAL;
        };
        match s.on_rtcp(buf, now_ns, pkt_sink(cb, arg)) {
            Ok(n) => n.min(c_int::MAX as usize) as c_int,
            Err(e) => errno(e),
        }
    })
}

/// Resend listed packets.
///
/// # Safety
/// As `rtpvid_send_frame`, with `seqs` holding `n` readable numbers.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_nack(
    s: *mut rtpvid_send,
    seqs: *const u16,
    n: usize,
    now_ns: u64,
    cb: rtpvid_pkt_cb,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let s = try_mut!(s, -libc::EINVAL);
        let Some(cb) = cb else {
            return -libc::EINVAL;
        };
        let seqs: &[u16] = match (seqs.is_null(), n) {
            (_, 0) => &[],
            (true, _) => return -libc::EINVAL,
            // SAFETY: `n` readable numbers at `seqs` per the contract.
            (false, n) => unsafe { std::slice::from_raw_parts(seqs, n) },
        };
        s.on_nack(seqs, now_ns, pkt_sink(cb, arg))
            .min(c_int::MAX as usize) as c_int
    })
}

/// Set the keyframe request callback.
///
/// # Safety
/// `s` is NULL or a live sender; `cb`, when set, stays callable with `arg`
/// until replaced or the sender is freed.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_set_keyframe_cb(
    s: *mut rtpvid_send,
    cb: rtpvid_keyframe_cb,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let s = try_mut!(s, -libc::EINVAL);
        s.set_keyframe_callback(cb.map(|f| {
            Box::new(move |r: KeyframeRequest| {
                let (kind, seq) = match r {
                    KeyframeRequest::Pli => (1, 0),
                    KeyframeRequest::Fir { seq } => (2, c_int::from(seq)),
                };
                // SAFETY: the application keeps the callback valid (contract above).
                unsafe { f(arg, kind, seq) }
            }) as Box<dyn FnMut(KeyframeRequest)>
        }));
        0
    })
}

/// Copy the sender's counters.
///
/// # Safety
/// `s` is NULL or a live sender; `st` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_stats(
    s: *const rtpvid_send,
    st: *mut rtpvid_send_stats,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let s = try_ref!(s, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        let x = s.stats();
        let out = rtpvid_send_stats {
            frames: x.frames,
            packets: x.packets,
            bytes: x.bytes,
            nacked: x.nacked,
            retransmitted: x.retransmitted,
            not_found: x.not_found,
            plis: x.plis,
            firs: x.firs,
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { st.write(out) };
        0
    })
}

/// Free a sender.
///
/// # Safety
/// `s` is NULL or a live sender, not used again.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_send_dtor(s: *mut rtpvid_send) {
    ffi_dtor!(s)
}

/// New receiver.
///
/// # Safety
/// `cfg` is NULL or points to a readable `rtpvid_recv_cfg` of at least
/// `cfg->size` bytes; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_ctor(
    cfg: *const rtpvid_recv_cfg,
    err: *mut c_int,
) -> *mut rtpvid_recv {
    ffi_ctor!(err, {
        // SAFETY: NULL or a readable config per this function's contract.
        let c = unsafe { cfg.as_ref() }.ok_or(-libc::EINVAL)?;
        if c.size < std::mem::size_of::<rtpvid_recv_cfg>() {
            return Err(-libc::EINVAL);
        }
        let mut rc = ReceiverConfig::new(codec(c.codec)?, pt(c.pt)?);
        if c.rtx_pt != -1 {
            rc.rtx_pt = Some(pt(c.rtx_pt)?);
        }
        if c.max_packets > 1 << 16 {
            return Err(-libc::EINVAL);
        }
        if c.max_packets != 0 {
            rc.max_packets = c.max_packets as usize;
        }
        rc.max_latency_ns = or_default(c.max_latency_ns, rc.max_latency_ns);
        rc.nack = c.nack != 0;
        rc.rtt_ns = or_default(c.rtt_ns, rc.rtt_ns);
        rc.keyframe_interval_ns = or_default(c.keyframe_interval_ns, rc.keyframe_interval_ns);
        Receiver::new(rc).map_err(errno)
    })
}

/// Take one datagram.
///
/// # Safety
/// `r` is NULL or a live receiver; `pkt` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_pkt(
    r: *mut rtpvid_recv,
    pkt: *const u8,
    len: usize,
    arrival_ns: u64,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        // SAFETY: `len` readable bytes at `pkt` per the contract.
        let Some(pkt) = (unsafe { bytes(pkt, len) }) else {
            return -libc::EINVAL;
        };
        match r.push(pkt, arrival_ns) {
            Ok(Pushed::Stored) => 0,
            Ok(Pushed::Duplicate) => 1,
            Ok(Pushed::Late) => 2,
            Ok(Pushed::Ignored) => 3,
            Err(e) => errno(e),
        }
    })
}

/// The next frame or drop report.
///
/// # Safety
/// `r` is NULL or a live receiver; `f` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_frame(
    r: *mut rtpvid_recv,
    now_ns: u64,
    f: *mut rtpvid_frame,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        if f.is_null() {
            return -libc::EINVAL;
        }
        let (ret, out) = match r.poll(now_ns) {
            None => return 0,
            Some(Output::Frame(info, data)) => (
                1,
                rtpvid_frame {
                    data: data.as_ptr(),
                    len: data.len(),
                    ts: info.ts,
                    first_seq: info.first_seq,
                    last_seq: info.last_seq,
                    packets: info.packets,
                    flags: c_int::from(info.keyframe)
                        | c_int::from(info.recovered) << 1
                        | c_int::from(info.after_loss) << 2,
                    drop_reason: 0,
                },
            ),
            Some(Output::Dropped(d)) => (
                2,
                rtpvid_frame {
                    data: ptr::null(),
                    len: 0,
                    ts: d.ts,
                    first_seq: 0,
                    last_seq: 0,
                    packets: d.packets,
                    flags: 0,
                    drop_reason: match d.reason {
                        DropReason::Incomplete => 1,
                        DropReason::Corrupt => 2,
                        DropReason::Overflow => 3,
                    },
                },
            ),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { f.write(out) };
        ret
    })
}

/// Build the RTCP feedback due.
///
/// # Safety
/// `r` is NULL or a live receiver; `buf` has `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_feedback(
    r: *mut rtpvid_recv,
    now_ns: u64,
    sender_ssrc: u32,
    buf: *mut u8,
    cap: usize,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        if buf.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: `cap` writable bytes at `buf` per the contract.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        match r.feedback(now_ns, sender_ssrc, buf) {
            Ok(n) => n.min(c_int::MAX as usize) as c_int,
            Err(e) => errno(e),
        }
    })
}

/// The NACK list due now, as sequence numbers.
///
/// # Safety
/// `r` is NULL or a live receiver; `seqs` has room for `cap` numbers.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_nacks(
    r: *mut rtpvid_recv,
    now_ns: u64,
    seqs: *mut u16,
    cap: usize,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        if seqs.is_null() && cap > 0 {
            return -libc::EINVAL;
        }
        let out: &mut [u16] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: room for `cap` numbers at `seqs` per the contract.
            unsafe { std::slice::from_raw_parts_mut(seqs, cap) }
        };
        let mut n = 0;
        r.nacks_due(now_ns, cap.min(c_int::MAX as usize), |s| {
            out[n] = s;
            n += 1;
        });
        n as c_int
    })
}

/// Whether a keyframe request is due.
///
/// # Safety
/// `r` is NULL or a live receiver.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_keyframe_due(r: *mut rtpvid_recv, now_ns: u64) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        c_int::from(r.keyframe_request_due(now_ns))
    })
}

/// The media SSRC.
///
/// # Safety
/// `r` is NULL or a live receiver; `ssrc` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_ssrc(r: *const rtpvid_recv, ssrc: *mut u32) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_ref!(r, -libc::EINVAL);
        if ssrc.is_null() {
            return -libc::EINVAL;
        }
        match r.ssrc() {
            Some(v) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { ssrc.write(v) };
                1
            }
            None => 0,
        }
    })
}

/// Set the RTT used to pace NACKs.
///
/// # Safety
/// `r` is NULL or a live receiver.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_set_rtt(r: *mut rtpvid_recv, rtt_ns: u64) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_mut!(r, -libc::EINVAL);
        r.set_rtt(rtt_ns);
        0
    })
}

/// Copy the receiver's counters.
///
/// # Safety
/// `r` is NULL or a live receiver; `st` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_stats(
    r: *const rtpvid_recv,
    st: *mut rtpvid_recv_stats,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let r = try_ref!(r, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        let x = r.stats();
        let a = x.assembler;
        let out = rtpvid_recv_stats {
            packets: a.packets,
            frames: a.frames,
            keyframes: a.keyframes,
            dropped_frames: a.dropped_frames,
            duplicates: a.duplicates,
            late: a.late,
            lost: a.lost,
            resets: a.resets,
            nack_requested: x.nack.requested,
            recovered: x.nack.recovered,
            nack_given_up: x.nack.given_up,
            rtx_packets: x.rtx_packets,
            ignored: x.ignored,
            malformed: x.malformed,
            keyframe_requests: x.keyframe_requests,
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { st.write(out) };
        0
    })
}

/// Free a receiver.
///
/// # Safety
/// `r` is NULL or a live receiver, not used again.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_recv_dtor(r: *mut rtpvid_recv) {
    ffi_dtor!(r)
}

/// Whether a frame is a key frame.
///
/// # Safety
/// `frame` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpvid_is_keyframe(
    codec_id: c_int,
    frame: *const u8,
    len: usize,
) -> c_int {
    ffi_boundary!(EPANIC, {
        let Ok(c) = codec(codec_id) else {
            return -libc::EINVAL;
        };
        // SAFETY: `len` readable bytes at `frame` per the contract.
        let Some(frame) = (unsafe { bytes(frame, len) }) else {
            return -libc::EINVAL;
        };
        c_int::from(c.is_keyframe(frame))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn struct_layouts_are_the_headers() {
        assert_eq!(size_of::<rtpvid_send_cfg>(), 56);
        assert_eq!(offset_of!(rtpvid_send_cfg, history_age_ns), 32);
        assert_eq!(offset_of!(rtpvid_send_cfg, rtx_first_seq), 48);
        assert_eq!(size_of::<rtpvid_recv_cfg>(), 56);
        assert_eq!(size_of::<rtpvid_frame>(), 40);
        assert_eq!(size_of::<rtpvid_recv_stats>(), 15 * 8);
        assert_eq!(size_of::<rtpvid_send_stats>(), 8 * 8);
    }
}
