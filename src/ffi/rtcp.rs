//! rtcp.h: RTCP build/parse, receiver statistics and the session.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::slice;

use super::handle::{boxed_handle, ffi_ctor, ffi_dtor, try_mut, try_ref};
use super::{bytes, EPANIC};
use crate::rtcp::packet::{self, fir_entries, nack_seqs, CompoundError, Packet, ParseErrorKind};
use crate::rtcp::session::{Event, Remote, Session, SessionConfig, SessionError};
use crate::rtcp::stats::{RecvStats, SeqStatus};
use crate::rtcp::writer::{BuildError, SdesChunk, Writer};
use crate::rtcp::{timing, ReportBlock, SenderInfo};

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rtcp_sender_info {
    pub ntp: u64,
    pub rtp_ts: u32,
    pub packets: u32,
    pub octets: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rtcp_report_block {
    pub ssrc: u32,
    pub fraction_lost: u32,
    pub cumulative_lost: i32,
    pub ext_highest_seq: u32,
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

#[repr(C)]
pub struct rtcp_sdes_item {
    pub r#type: c_int,
    pub text: *const c_char,
    pub len: usize,
}

#[repr(C)]
pub struct rtcp_pkt {
    pub raw: *const u8,
    pub raw_len: usize,
    pub offset: usize,
    pub r#type: c_int,
    pub count: c_int,
    pub malformed: c_int,
    pub ssrc: u32,
    pub media_ssrc: u32,
    pub sender: rtcp_sender_info,
    pub n: c_uint,
    pub app_name: [c_char; 4],
    pub data: *const u8,
    pub data_len: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rtcp_stats_info {
    pub packets: u64,
    pub octets: u64,
    pub received: u64,
    pub expected: u64,
    pub lost: i64,
    pub duplicates: u64,
    pub ext_highest_seq: u32,
    pub valid: c_int,
    pub jitter: f64,
    pub jitter_ms: f64,
    pub max_jitter_ms: f64,
}

#[repr(C)]
pub struct rtcp_session_cfg {
    pub size: usize,
    pub ssrc: u32,
    pub clock_rate: u32,
    pub cname: *const c_char,
    pub session_bw_bps: u32,
    pub max_sources: c_uint,
    pub seed: u64,
}

#[repr(C)]
pub struct rtcp_event {
    pub r#type: c_int,
    pub ssrc: u32,
    pub old_ssrc: u32,
}

#[repr(C)]
pub struct rtcp_sender_stats {
    pub packets: u64,
    pub octets: u64,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
}

#[repr(C)]
pub struct rtcp_remote_info {
    pub ssrc: u32,
    pub left: c_int,
    pub stats: rtcp_stats_info,
    pub has_sr: c_int,
    pub last_sr: rtcp_sender_info,
    pub last_sr_arrival_ns: u64,
    pub has_report: c_int,
    pub report_about_us: rtcp_report_block,
    pub rtt_ns: i64,
    pub rtcp_packets: u64,
    pub cname: [c_char; 256],
}

/// Opaque receiver-statistics handle.
pub struct rtcp_stats {
    _private: [u8; 0],
}

boxed_handle!(rtcp_stats => RecvStats);

/// Opaque session handle.
pub struct rtcp_session {
    _private: [u8; 0],
}

boxed_handle!(rtcp_session => Session);

const EINVAL: c_int = -libc::EINVAL;
/// Most SDES items / FIR entries one call takes (converted on the stack).
const MAX_ITEMS: usize = 255;

fn build_err(e: BuildError) -> c_int {
    -match e {
        BuildError::NoRoom => libc::ENOBUFS,
        BuildError::TooMany => libc::E2BIG,
        BuildError::Invalid | BuildError::Padded => libc::EINVAL,
    }
}

fn session_err(e: SessionError) -> c_int {
    match e {
        SessionError::BadConfig => EINVAL,
        SessionError::Closed => -libc::ESHUTDOWN,
        SessionError::Build(b) => build_err(b),
        SessionError::Parse(_) | SessionError::NotRtp => -libc::EBADMSG,
    }
}

fn malformed_code(k: ParseErrorKind) -> c_int {
    match k {
        ParseErrorKind::Truncated => 1,
        ParseErrorKind::BadVersion => 2,
        ParseErrorKind::LengthPastBuffer => 3,
        ParseErrorKind::BadPadding => 4,
        ParseErrorKind::PaddingNotLast => 5,
        ParseErrorKind::TooShort => 6,
        ParseErrorKind::CountMismatch => 7,
        ParseErrorKind::BadSdes => 8,
        ParseErrorKind::BadBody => 9,
    }
}

fn seq_status(s: SeqStatus) -> c_int {
    match s {
        SeqStatus::Valid => 0,
        SeqStatus::Duplicate => 1,
        SeqStatus::Probation => 2,
        SeqStatus::Validated => 3,
        SeqStatus::Jump => 4,
        SeqStatus::Restarted => 5,
    }
}

impl From<&rtcp_report_block> for ReportBlock {
    fn from(b: &rtcp_report_block) -> ReportBlock {
        ReportBlock {
            ssrc: b.ssrc,
            fraction_lost: b.fraction_lost.min(255) as u8,
            cumulative_lost: b.cumulative_lost,
            ext_highest_seq: b.ext_highest_seq,
            jitter: b.jitter,
            lsr: b.lsr,
            dlsr: b.dlsr,
        }
    }
}

impl From<ReportBlock> for rtcp_report_block {
    fn from(b: ReportBlock) -> rtcp_report_block {
        rtcp_report_block {
            ssrc: b.ssrc,
            fraction_lost: b.fraction_lost as u32,
            cumulative_lost: b.cumulative_lost,
            ext_highest_seq: b.ext_highest_seq,
            jitter: b.jitter,
            lsr: b.lsr,
            dlsr: b.dlsr,
        }
    }
}

impl From<SenderInfo> for rtcp_sender_info {
    fn from(s: SenderInfo) -> rtcp_sender_info {
        rtcp_sender_info {
            ntp: s.ntp,
            rtp_ts: s.rtp_ts,
            packets: s.packets,
            octets: s.octets,
        }
    }
}

fn stats_info(st: &RecvStats) -> rtcp_stats_info {
    rtcp_stats_info {
        packets: st.packets(),
        octets: st.octets(),
        received: st.received(),
        expected: st.expected(),
        lost: st.lost(),
        duplicates: st.duplicates(),
        ext_highest_seq: st.ext_max_seq() as u32,
        valid: st.is_valid() as c_int,
        jitter: st.jitter(),
        jitter_ms: st.jitter_ms(),
        max_jitter_ms: st.max_jitter_ms(),
    }
}

/// Write one packet with `f` into the caller's `buf[0..cap]`.
///
/// # Safety
/// A non-NULL `buf` has `cap` writable bytes.
unsafe fn build(
    buf: *mut c_void,
    cap: usize,
    f: impl FnOnce(&mut Writer) -> Result<(), BuildError>,
) -> c_int {
    if buf.is_null() {
        return EINVAL;
    }
    // SAFETY: non-NULL with cap writable bytes per this fn's contract;
    // capped so the length always fits the c_int result.
    let out = unsafe { slice::from_raw_parts_mut(buf.cast::<u8>(), cap.min(c_int::MAX as usize)) };
    let mut w = Writer::new(out);
    match f(&mut w) {
        Ok(()) => w.len() as c_int,
        Err(e) => build_err(e),
    }
}

/// The caller's array `p[0..n]`; None for NULL with n > 0.
///
/// # Safety
/// A non-NULL `p` has `n` readable elements.
unsafe fn array<'a, T>(p: *const T, n: usize) -> Option<&'a [T]> {
    match (p.is_null(), n) {
        (_, 0) => Some(&[]),
        (true, _) => None,
        // SAFETY: per this fn's contract.
        (false, n) => Some(unsafe { slice::from_raw_parts(p, n) }),
    }
}

/// Text for an RTCP_MALFORMED_* value.
#[no_mangle]
pub extern "C" fn rtcp_malformed_str(code: c_int) -> *const c_char {
    super::ffi_boundary!(c"unknown".as_ptr(), {
        let s: &CStr = match code {
            1 => c"truncated RTCP header",
            2 => c"RTCP version is not 2",
            3 => c"RTCP length runs past the buffer",
            4 => c"bad RTCP padding count",
            5 => c"RTCP padding on a packet that is not the last",
            6 => c"RTCP packet too short for its type",
            7 => c"RTCP count does not fit the packet length",
            8 => c"malformed SDES chunk",
            9 => c"malformed RTCP packet body",
            _ => c"unknown",
        };
        s.as_ptr()
    })
}

/// RFC 5761 demultiplexing: 1 for RTCP.
///
/// # Safety
/// A non-NULL `buf` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_is_rtcp(buf: *const c_void, len: usize) -> c_int {
    super::ffi_boundary!(0, {
        // SAFETY: per the contract.
        match unsafe { bytes(buf.cast(), len) } {
            Some(b) => packet::is_rtcp(b) as c_int,
            None => 0,
        }
    })
}

/// Build an SR.
///
/// # Safety
/// `buf` has cap writable bytes; `si` is readable; `blocks` has n elements.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_sr(
    buf: *mut c_void,
    cap: usize,
    ssrc: u32,
    si: *const rtcp_sender_info,
    blocks: *const rtcp_report_block,
    n: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract (NULL checked).
        let (Some(si), Some(bl)) = (unsafe { si.as_ref() }, unsafe { array(blocks, n as usize) })
        else {
            return EINVAL;
        };
        if n as usize > packet::MAX_COUNT {
            return -libc::E2BIG;
        }
        let mut rb = [ReportBlock::default(); packet::MAX_COUNT];
        for (d, s) in rb.iter_mut().zip(bl) {
            *d = s.into();
        }
        let info = SenderInfo {
            ntp: si.ntp,
            rtp_ts: si.rtp_ts,
            packets: si.packets,
            octets: si.octets,
        };
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.sr(ssrc, &info, &rb[..bl.len()])) }
    })
}

/// Build an RR.
///
/// # Safety
/// `buf` has cap writable bytes; `blocks` has n elements.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_rr(
    buf: *mut c_void,
    cap: usize,
    ssrc: u32,
    blocks: *const rtcp_report_block,
    n: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(bl) = (unsafe { array(blocks, n as usize) }) else {
            return EINVAL;
        };
        if n as usize > packet::MAX_COUNT {
            return -libc::E2BIG;
        }
        let mut rb = [ReportBlock::default(); packet::MAX_COUNT];
        for (d, s) in rb.iter_mut().zip(bl) {
            *d = s.into();
        }
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.rr(ssrc, &rb[..bl.len()])) }
    })
}

/// Build an SDES packet with one chunk.
///
/// # Safety
/// `buf` has cap writable bytes; `items` has n elements whose text has len
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_sdes(
    buf: *mut c_void,
    cap: usize,
    ssrc: u32,
    items: *const rtcp_sdes_item,
    n: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(its) = (unsafe { array(items, n as usize) }) else {
            return EINVAL;
        };
        if its.len() > MAX_ITEMS {
            return -libc::E2BIG;
        }
        let mut conv: [(u8, &[u8]); MAX_ITEMS] = [(0, &[]); MAX_ITEMS];
        for (d, it) in conv.iter_mut().zip(its) {
            if !(1..=255).contains(&it.r#type) || it.len > 255 {
                return EINVAL;
            }
            // SAFETY: text has len readable bytes per the contract.
            let Some(t) = (unsafe { bytes(it.text.cast(), it.len) }) else {
                return EINVAL;
            };
            *d = (it.r#type as u8, t);
        }
        let chunk = SdesChunk {
            ssrc,
            items: &conv[..its.len()],
        };
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.sdes(&[chunk])) }
    })
}

/// Build a BYE.
///
/// # Safety
/// `buf` has cap writable bytes; `ssrcs` has n elements; `reason` has
/// reason_len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_bye(
    buf: *mut c_void,
    cap: usize,
    ssrcs: *const u32,
    n: c_uint,
    reason: *const c_char,
    reason_len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(ss) = (unsafe { array(ssrcs, n as usize) }) else {
            return EINVAL;
        };
        let r = if reason.is_null() || reason_len == 0 {
            None
        } else {
            // SAFETY: non-NULL with reason_len readable bytes per the contract.
            Some(unsafe { slice::from_raw_parts(reason.cast::<u8>(), reason_len) })
        };
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.bye(ss, r)) }
    })
}

/// Build an APP packet.
///
/// # Safety
/// `buf` has cap writable bytes; `name` has 4 readable bytes; `data` has
/// len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_app(
    buf: *mut c_void,
    cap: usize,
    subtype: c_uint,
    ssrc: u32,
    name: *const c_char,
    data: *const c_void,
    len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        if name.is_null() || subtype > 31 {
            return EINVAL;
        }
        // SAFETY: name has 4 readable bytes per the contract.
        let nm = unsafe { slice::from_raw_parts(name.cast::<u8>(), 4) };
        // SAFETY: per the contract.
        let Some(d) = (unsafe { bytes(data.cast(), len) }) else {
            return EINVAL;
        };
        let nm = [nm[0], nm[1], nm[2], nm[3]];
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.app(subtype as u8, ssrc, nm, d)) }
    })
}

/// Build a generic NACK.
///
/// # Safety
/// `buf` has cap writable bytes; `lost` has n elements.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_nack(
    buf: *mut c_void,
    cap: usize,
    sender: u32,
    media: u32,
    lost: *const u16,
    n: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(l) = (unsafe { array(lost, n) }) else {
            return EINVAL;
        };
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.nack(sender, media, l)) }
    })
}

/// Build a PLI.
///
/// # Safety
/// `buf` has cap writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_pli(
    buf: *mut c_void,
    cap: usize,
    sender: u32,
    media: u32,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.pli(sender, media)) }
    })
}

/// Build a FIR.
///
/// # Safety
/// `buf` has cap writable bytes; `ssrcs` and `seqs` have n elements.
#[no_mangle]
pub unsafe extern "C" fn rtcp_build_fir(
    buf: *mut c_void,
    cap: usize,
    sender: u32,
    ssrcs: *const u32,
    seqs: *const u8,
    n: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let (Some(ss), Some(qs)) = (unsafe { array(ssrcs, n as usize) }, unsafe {
            array(seqs, n as usize)
        }) else {
            return EINVAL;
        };
        if ss.len() > MAX_ITEMS {
            return -libc::E2BIG;
        }
        let mut e = [(0u32, 0u8); MAX_ITEMS];
        for (d, (s, q)) in e.iter_mut().zip(ss.iter().zip(qs)) {
            *d = (*s, *q);
        }
        // SAFETY: per the contract.
        unsafe { build(buf, cap, |w| w.fir(sender, &e[..ss.len()])) }
    })
}

/// Pad a compound packet.
///
/// # Safety
/// `buf` has cap writable bytes, the first len of them initialised.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pad(
    buf: *mut c_void,
    len: usize,
    cap: usize,
    align: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        if buf.is_null() || len == 0 || len > cap {
            return EINVAL;
        }
        // SAFETY: per the contract; capped to what a c_int can report.
        let out =
            unsafe { slice::from_raw_parts_mut(buf.cast::<u8>(), cap.min(c_int::MAX as usize)) };
        let Some(mut w) = Writer::resume(out, len) else {
            return EINVAL;
        };
        match w.pad(align as usize) {
            Ok(()) => w.len() as c_int,
            Err(e) => build_err(e),
        }
    })
}

fn fill_pkt(pkt: &mut rtcp_pkt, p: &Packet, raw: &[u8], offset: usize) {
    pkt.raw = raw.as_ptr();
    pkt.raw_len = raw.len();
    pkt.offset = offset;
    pkt.r#type = p.pt() as c_int;
    pkt.count = (raw[0] & 0x1f) as c_int;
    pkt.malformed = 0;
    pkt.ssrc = 0;
    pkt.media_ssrc = 0;
    pkt.sender = rtcp_sender_info::default();
    pkt.n = 0;
    pkt.app_name = [0; 4];
    pkt.data = std::ptr::null();
    pkt.data_len = 0;
    let mut data = |d: &[u8]| {
        pkt.data = d.as_ptr();
        pkt.data_len = d.len();
    };
    match *p {
        Packet::Sr {
            ssrc, info, blocks, ..
        } => {
            pkt.ssrc = ssrc;
            pkt.sender = info.into();
            pkt.n = blocks.len() as c_uint;
        }
        Packet::Rr { ssrc, blocks, .. } => {
            pkt.ssrc = ssrc;
            pkt.n = blocks.len() as c_uint;
        }
        Packet::Sdes(s) => {
            pkt.ssrc = s.items().next().map_or(0, |i| i.ssrc);
            if pkt.ssrc == 0 && s.chunks() > 0 && raw.len() >= 8 {
                pkt.ssrc = packet::be32(raw, 4);
            }
            pkt.n = s.items().count() as c_uint;
        }
        Packet::Bye { ssrcs, reason } => {
            pkt.ssrc = ssrcs.get(0).unwrap_or(0);
            pkt.n = ssrcs.len() as c_uint;
            if let Some(r) = reason {
                data(r);
            }
        }
        Packet::App {
            ssrc,
            name,
            data: d,
            ..
        } => {
            data(d);
            pkt.ssrc = ssrc;
            pkt.app_name = name.map(|c| c as c_char);
        }
        Packet::Nack { sender, media, fci } => {
            pkt.ssrc = sender;
            pkt.media_ssrc = media;
            pkt.n = nack_seqs(fci).count() as c_uint;
        }
        Packet::Pli { sender, media } => {
            pkt.ssrc = sender;
            pkt.media_ssrc = media;
        }
        Packet::Fir { sender, media, fci } => {
            pkt.ssrc = sender;
            pkt.media_ssrc = media;
            pkt.n = (fci.len() / 8) as c_uint;
        }
        Packet::Other { pt, body, .. } => {
            data(body);
            if (pt == packet::PT_RTPFB || pt == packet::PT_PSFB) && body.len() >= 8 {
                pkt.ssrc = packet::be32(body, 0);
                pkt.media_ssrc = packet::be32(body, 4);
            }
        }
    }
}

/// Decode the next sub-packet of a compound.
///
/// # Safety
/// `buf` has len readable bytes; `offset` and `pkt` are writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_parse_next(
    buf: *const c_void,
    len: usize,
    offset: *mut usize,
    pkt: *mut rtcp_pkt,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract (NULL checked).
        let (Some(b), Some(off), Some(pkt)) = (
            unsafe { bytes(buf.cast(), len) },
            unsafe { offset.as_mut() },
            unsafe { pkt.as_mut() },
        ) else {
            return EINVAL;
        };
        let at = *off;
        if at > b.len() {
            return EINVAL;
        }
        if at == b.len() && at > 0 {
            return 0;
        }
        match packet::parse_one(&b[at..]) {
            Ok((p, n)) => {
                fill_pkt(pkt, &p, &b[at..at + n], at);
                *off = at + n;
                1
            }
            Err(k) => {
                pkt.malformed = malformed_code(k);
                pkt.offset = at;
                pkt.raw = std::ptr::null();
                pkt.raw_len = 0;
                -libc::EBADMSG
            }
        }
    })
}

/// Check the compound rules.
///
/// # Safety
/// `buf` has len readable bytes; `malformed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_check_compound(
    buf: *const c_void,
    len: usize,
    malformed: *mut c_int,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(b) = (unsafe { bytes(buf.cast(), len) }) else {
            return EINVAL;
        };
        match packet::check_compound(b) {
            Ok(n) => n.min(c_int::MAX as usize) as c_int,
            Err(CompoundError::Parse(e)) => {
                super::set_err(malformed, malformed_code(e.kind));
                -libc::EBADMSG
            }
            Err(CompoundError::FirstNotReport) => -libc::EPROTO,
            Err(CompoundError::NoCname) => -libc::ENOENT,
        }
    })
}

/// Re-decode the sub-packet a `rtcp_pkt` describes.
///
/// # Safety
/// `pkt` is NULL or readable, and its raw/raw_len (as rtcp_parse_next set
/// them) point into a buffer still alive.
unsafe fn reparse<'a>(pkt: *const rtcp_pkt) -> Option<Packet<'a>> {
    // SAFETY: per this fn's contract.
    let pkt = unsafe { pkt.as_ref() }?;
    if pkt.raw.is_null() || pkt.raw_len == 0 {
        return None;
    }
    // SAFETY: raw/raw_len came from rtcp_parse_next over the caller's
    // live buffer (this fn's contract).
    let raw = unsafe { slice::from_raw_parts(pkt.raw, pkt.raw_len) };
    match packet::parse_one(raw) {
        Ok((p, n)) if n == raw.len() => Some(p),
        _ => None,
    }
}

/// Report block i of an SR/RR.
///
/// # Safety
/// `pkt` as filled by rtcp_parse_next over a live buffer; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pkt_block(
    pkt: *const rtcp_pkt,
    i: c_uint,
    out: *mut rtcp_report_block,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let (Some(p), Some(out)) = (unsafe { reparse(pkt) }, unsafe { out.as_mut() }) else {
            return EINVAL;
        };
        let b = match p {
            Packet::Sr { blocks, .. } | Packet::Rr { blocks, .. } => blocks.get(i as usize),
            _ => None,
        };
        match b {
            Some(b) => {
                *out = b.into();
                0
            }
            None => EINVAL,
        }
    })
}

/// SDES item i.
///
/// # Safety
/// `pkt` as filled by rtcp_parse_next over a live buffer; out-pointers NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pkt_sdes_item(
    pkt: *const rtcp_pkt,
    i: c_uint,
    ssrc: *mut u32,
    r#type: *mut c_int,
    text: *mut *const u8,
    len: *mut usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(Packet::Sdes(s)) = (unsafe { reparse(pkt) }) else {
            return EINVAL;
        };
        let Some(item) = s.items().nth(i as usize) else {
            return EINVAL;
        };
        // SAFETY: each out-pointer is NULL or writable per the contract.
        unsafe {
            if let Some(x) = ssrc.as_mut() {
                *x = item.ssrc;
            }
            if let Some(x) = r#type.as_mut() {
                *x = item.kind as c_int;
            }
            if let Some(x) = text.as_mut() {
                *x = item.text.as_ptr();
            }
            if let Some(x) = len.as_mut() {
                *x = item.text.len();
            }
        }
        0
    })
}

/// BYE SSRC i.
///
/// # Safety
/// `pkt` as filled by rtcp_parse_next over a live buffer; `ssrc` writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pkt_bye_ssrc(
    pkt: *const rtcp_pkt,
    i: c_uint,
    ssrc: *mut u32,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let (Some(Packet::Bye { ssrcs, .. }), Some(out)) =
            (unsafe { reparse(pkt) }, unsafe { ssrc.as_mut() })
        else {
            return EINVAL;
        };
        match ssrcs.get(i as usize) {
            Some(s) => {
                *out = s;
                0
            }
            None => EINVAL,
        }
    })
}

/// The sequence numbers of a generic NACK.
///
/// # Safety
/// `pkt` as filled by rtcp_parse_next over a live buffer; `seqs` has cap
/// writable elements.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pkt_nack_seqs(
    pkt: *const rtcp_pkt,
    seqs: *mut u16,
    cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(Packet::Nack { fci, .. }) = (unsafe { reparse(pkt) }) else {
            return EINVAL;
        };
        if seqs.is_null() && cap > 0 {
            return EINVAL;
        }
        let out: &mut [u16] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL with cap writable elements per the contract.
            unsafe { slice::from_raw_parts_mut(seqs, cap) }
        };
        let mut n = 0usize;
        for s in nack_seqs(fci) {
            if let Some(d) = out.get_mut(n) {
                *d = s;
            }
            n += 1;
        }
        n.min(c_int::MAX as usize) as c_int
    })
}

/// FIR entry i.
///
/// # Safety
/// `pkt` as filled by rtcp_parse_next over a live buffer; out-pointers NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_pkt_fir_entry(
    pkt: *const rtcp_pkt,
    i: c_uint,
    ssrc: *mut u32,
    seq: *mut u8,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let Some(Packet::Fir { fci, .. }) = (unsafe { reparse(pkt) }) else {
            return EINVAL;
        };
        let Some((s, q)) = fir_entries(fci).nth(i as usize) else {
            return EINVAL;
        };
        // SAFETY: NULL or writable per the contract.
        unsafe {
            if let Some(x) = ssrc.as_mut() {
                *x = s;
            }
            if let Some(x) = seq.as_mut() {
                *x = q;
            }
        }
        0
    })
}

/// New receiver statistics.
///
/// # Safety
/// `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_ctor(clock_rate: u32, err: *mut c_int) -> *mut rtcp_stats {
    ffi_ctor!(err, { Ok(RecvStats::new(clock_rate)) })
}

/// Free receiver statistics; NULL is fine.
///
/// # Safety
/// `st` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_dtor(st: *mut rtcp_stats) {
    ffi_dtor!(st)
}

/// Account one RTP packet.
///
/// # Safety
/// `st` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_rtp(
    st: *mut rtcp_stats,
    seq: u16,
    ts: u32,
    arrival_ns: u64,
    payload_len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let st = try_mut!(st, EINVAL);
        seq_status(st.on_rtp(seq, ts, arrival_ns, payload_len))
    })
}

/// Record an SR from the source.
///
/// # Safety
/// `st` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_sr(st: *mut rtcp_stats, ntp: u64, arrival_ns: u64) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let st = try_mut!(st, EINVAL);
        st.on_sr(ntp, arrival_ns);
        0
    })
}

/// Current figures.
///
/// # Safety
/// `st` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_get(st: *const rtcp_stats, out: *mut rtcp_stats_info) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let st = try_ref!(st, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return EINVAL;
        };
        *out = stats_info(st);
        0
    })
}

/// The report block about this source.
///
/// # Safety
/// `st` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_stats_block(
    st: *mut rtcp_stats,
    ssrc: u32,
    now_ns: u64,
    out: *mut rtcp_report_block,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let st = try_mut!(st, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return EINVAL;
        };
        *out = st.report_block(ssrc, now_ns).into();
        0
    })
}

/// NTP timestamp of a Unix wall-clock time.
#[no_mangle]
pub extern "C" fn rtcp_ntp_from_unix_ns(wall_ns: u64) -> u64 {
    super::ffi_boundary!(0, { timing::ntp_from_unix_ns(wall_ns) })
}

/// New session.
///
/// # Safety
/// `cfg` is NULL or readable for cfg->size bytes with a NUL-terminated
/// cname; `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_ctor(
    cfg: *const rtcp_session_cfg,
    now_ns: u64,
    err: *mut c_int,
) -> *mut rtcp_session {
    ffi_ctor!(err, {
        // SAFETY: NULL or readable per the contract.
        let cfg = unsafe { cfg.as_ref() }.ok_or(EINVAL)?;
        if cfg.size < std::mem::size_of::<rtcp_session_cfg>() || cfg.cname.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: a NUL-terminated string per the contract.
        let cname = unsafe { CStr::from_ptr(cfg.cname) }.to_bytes();
        if cname.len() > 255 {
            return Err(EINVAL);
        }
        Session::new(
            &SessionConfig {
                ssrc: cfg.ssrc,
                cname,
                clock_rate: cfg.clock_rate,
                session_bw_bps: cfg.session_bw_bps,
                max_sources: cfg.max_sources as usize,
                seed: cfg.seed,
            },
            now_ns,
        )
        .map_err(session_err)
    })
}

/// Free a session; NULL is fine.
///
/// # Safety
/// `s` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_dtor(s: *mut rtcp_session) {
    ffi_dtor!(s)
}

/// Replace the interval's random source.
///
/// # Safety
/// `s` is NULL or a live handle; `rand`, when not NULL, may be called with
/// `arg` during this session's calls.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_set_rand(
    s: *mut rtcp_session,
    rand: Option<unsafe extern "C" fn(arg: *mut c_void) -> f64>,
    arg: *mut c_void,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_mut!(s, EINVAL);
        s.set_random(rand.map(|f| {
            Box::new(move || {
                // SAFETY: the caller registered f with arg for exactly this
                // use (the function's contract).
                unsafe { f(arg) }
            }) as Box<dyn FnMut() -> f64>
        }));
        0
    })
}

/// The accounting calls' one shape: a live session takes the caller's
/// datagram; the core's result as a count or status, or the session's error.
///
/// # Safety
/// `s` is NULL or a live handle used by one thread; a non-NULL `buf` has len
/// readable bytes.
unsafe fn feed(
    s: *mut rtcp_session,
    buf: *const c_void,
    len: usize,
    take: impl FnOnce(&mut Session, &[u8]) -> Result<c_int, SessionError>,
) -> c_int {
    let s = try_mut!(s, EINVAL);
    // SAFETY: per this fn's contract.
    let Some(b) = (unsafe { bytes(buf.cast(), len) }) else {
        return EINVAL;
    };
    take(s, b).unwrap_or_else(session_err)
}

/// Account an RTP packet sent.
///
/// # Safety
/// `s` is NULL or a live handle; `pkt` has len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_rtp_sent(
    s: *mut rtcp_session,
    pkt: *const c_void,
    len: usize,
    now_ns: u64,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe { feed(s, pkt, len, |s, p| s.on_rtp_sent(p, now_ns).map(|()| 0)) }
    })
}

/// Account an RTP packet received.
///
/// # Safety
/// `s` is NULL or a live handle; `pkt` has len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_rtp_in(
    s: *mut rtcp_session,
    pkt: *const c_void,
    len: usize,
    arrival_ns: u64,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe {
            feed(s, pkt, len, |s, p| {
                s.on_rtp_received(p, arrival_ns).map(seq_status)
            })
        }
    })
}

/// Take a compound RTCP packet received.
///
/// # Safety
/// `s` is NULL or a live handle; `buf` has len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_rtcp_in(
    s: *mut rtcp_session,
    buf: *const c_void,
    len: usize,
    arrival_ns: u64,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe {
            feed(s, buf, len, |s, b| {
                s.on_rtcp(b, arrival_ns)
                    .map(|n| n.min(c_int::MAX as usize) as c_int)
            })
        }
    })
}

/// When the next report is due.
///
/// # Safety
/// `s` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_next_report(s: *const rtcp_session) -> u64 {
    super::ffi_boundary!(0, {
        let s = try_ref!(s, 0);
        s.next_report_ns()
    })
}

/// The caller's output buffer.
///
/// # Safety
/// A non-NULL `buf` has cap writable bytes.
unsafe fn out_buf<'a>(buf: *mut c_void, cap: usize) -> Option<&'a mut [u8]> {
    if buf.is_null() {
        return None;
    }
    // SAFETY: per this fn's contract; capped so lengths fit a c_int.
    Some(unsafe { slice::from_raw_parts_mut(buf.cast::<u8>(), cap.min(c_int::MAX as usize)) })
}

/// The report builders' one shape: a live session writes into the
/// caller's buffer; the length written, 0 when nothing was due, or the
/// session's error.
///
/// # Safety
/// `s` is NULL or a live handle used by one thread; a non-NULL `buf` has cap
/// writable bytes.
unsafe fn build_into(
    s: *mut rtcp_session,
    buf: *mut c_void,
    cap: usize,
    build: impl FnOnce(&mut Session, &mut [u8]) -> Result<Option<usize>, SessionError>,
) -> c_int {
    let s = try_mut!(s, EINVAL);
    // SAFETY: per this fn's contract.
    let Some(out) = (unsafe { out_buf(buf, cap) }) else {
        return EINVAL;
    };
    match build(s, out) {
        // out_buf caps the buffer at c_int::MAX, so the length fits.
        Ok(n) => n.unwrap_or(0) as c_int,
        Err(e) => session_err(e),
    }
}

/// Build the next report if due.
///
/// # Safety
/// `s` is NULL or a live handle; `buf` has cap writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_poll(
    s: *mut rtcp_session,
    now_ns: u64,
    wall_ns: u64,
    buf: *mut c_void,
    cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe { build_into(s, buf, cap, |s, out| s.poll(now_ns, wall_ns, out)) }
    })
}

/// Build the next report now.
///
/// # Safety
/// `s` is NULL or a live handle; `buf` has cap writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_report(
    s: *mut rtcp_session,
    now_ns: u64,
    wall_ns: u64,
    buf: *mut c_void,
    cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        unsafe {
            build_into(s, buf, cap, |s, out| {
                s.report(now_ns, wall_ns, out).map(Some)
            })
        }
    })
}

/// Build the last report with BYE and close.
///
/// # Safety
/// `s` is NULL or a live handle; `reason` NULL or NUL-terminated; `buf`
/// has cap writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_bye(
    s: *mut rtcp_session,
    now_ns: u64,
    wall_ns: u64,
    reason: *const c_char,
    buf: *mut c_void,
    cap: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let r = if reason.is_null() {
            None
        } else {
            // SAFETY: NUL-terminated per the contract.
            Some(unsafe { CStr::from_ptr(reason) }.to_bytes())
        };
        // SAFETY: per the contract.
        unsafe {
            build_into(s, buf, cap, |s, out| {
                s.bye(now_ns, wall_ns, r, out).map(Some)
            })
        }
    })
}

/// Take the oldest event.
///
/// # Safety
/// `s` is NULL or a live handle; `ev` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_next_event(
    s: *mut rtcp_session,
    ev: *mut rtcp_event,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_mut!(s, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(ev) = (unsafe { ev.as_mut() }) else {
            return EINVAL;
        };
        let Some(e) = s.next_event() else {
            return 0;
        };
        let (t, ssrc, old) = match e {
            Event::NewSource(x) => (1, x, 0),
            Event::SsrcChanged { old, new } => (2, new, old),
            Event::Collision(x) => (3, x, 0),
            Event::Bye(x) => (4, x, 0),
            Event::Timeout(x) => (5, x, 0),
            Event::SeqRestart(x) => (6, x, 0),
        };
        *ev = rtcp_event {
            r#type: t,
            ssrc,
            old_ssrc: old,
        };
        1
    })
}

/// Take a new SSRC.
///
/// # Safety
/// `s` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_set_ssrc(s: *mut rtcp_session, ssrc: u32) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_mut!(s, EINVAL);
        s.change_ssrc(ssrc);
        0
    })
}

/// Our sending figures.
///
/// # Safety
/// `s` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_sender_stats(
    s: *const rtcp_session,
    out: *mut rtcp_sender_stats,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_ref!(s, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return EINVAL;
        };
        let st = s.sender_stats();
        let (sent, recv) = s.rtcp_counts();
        *out = rtcp_sender_stats {
            packets: st.packets,
            octets: st.octets,
            rtcp_sent: sent,
            rtcp_received: recv,
        };
        0
    })
}

/// Number of remote sources.
///
/// # Safety
/// `s` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_remote_count(s: *const rtcp_session) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_ref!(s, EINVAL);
        s.remotes().len() as c_int
    })
}

fn remote_info(r: &Remote, out: &mut rtcp_remote_info) {
    out.ssrc = r.ssrc;
    out.left = r.left as c_int;
    out.stats = stats_info(&r.stats);
    out.has_sr = r.last_sr.is_some() as c_int;
    let (sr, at) = r.last_sr.unwrap_or_default();
    out.last_sr = sr.into();
    out.last_sr_arrival_ns = at;
    out.has_report = r.report_about_us.is_some() as c_int;
    out.report_about_us = r.report_about_us.map(|(b, _)| b).unwrap_or_default().into();
    out.rtt_ns = r.rtt_ns.map_or(-1, |v| v.min(i64::MAX as u64) as i64);
    out.rtcp_packets = r.rtcp_packets;
    out.cname = [0; 256];
    for (d, s) in out.cname.iter_mut().zip(r.cname()) {
        *d = *s as c_char;
    }
}

/// Remote source by index.
///
/// # Safety
/// `s` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_remote(
    s: *const rtcp_session,
    idx: c_uint,
    out: *mut rtcp_remote_info,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_ref!(s, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let (Some(out), Some(r)) = (unsafe { out.as_mut() }, s.remotes().get(idx as usize)) else {
            return EINVAL;
        };
        remote_info(r, out);
        0
    })
}

/// Remote source by SSRC.
///
/// # Safety
/// `s` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtcp_session_remote_by_ssrc(
    s: *const rtcp_session,
    ssrc: u32,
    out: *mut rtcp_remote_info,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let s = try_ref!(s, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return EINVAL;
        };
        match s.remote(ssrc) {
            Some(r) => {
                remote_info(r, out);
                0
            }
            None => -libc::ENOENT,
        }
    })
}
