//! rtpevent.h: RFC 4733 events (payload, sender, receiver) and in-band DTMF
//! (tone generator, detector).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_double, c_int, c_uint, c_void};
use std::ptr;

use super::handle::{boxed_handle, ffi_ctor, ffi_dtor, try_mut, try_ref};
use super::rtpsynth::rsynth_inst;
use super::EPANIC;
use crate::event::{
    dtmf_char, dtmf_event, DetectorEvent, DtmfDetector, DtmfTone, EndReason, EventPacket,
    EventPayload, EventReceiver, EventSender, PacketVerdict, PayloadError, SendError,
};
use crate::rtp::RTP_HDR_LEN;

const EINVAL: c_int = -libc::EINVAL;

/// `struct rtpev_payload`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rtpev_payload {
    pub event: u8,
    pub end: u8,
    pub volume: u8,
    pub duration: u16,
}

impl From<EventPayload> for rtpev_payload {
    fn from(p: EventPayload) -> Self {
        rtpev_payload {
            event: p.event,
            end: p.end as u8,
            volume: p.volume,
            duration: p.duration,
        }
    }
}

/// `struct rtpev_pkt`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rtpev_pkt {
    pub ts: u32,
    pub marker: c_int,
    pub payload: [u8; 4],
    pub info: rtpev_payload,
}

/// `struct rtpev_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rtpev_event {
    pub ssrc: u32,
    pub ts: u32,
    pub duration: u64,
    pub first_arrival_ns: u64,
    pub event: u8,
    pub digit: c_char,
    pub volume: u8,
    pub end_reason: u8,
}

/// `struct rtpev_rx_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rtpev_rx_stats {
    pub packets: u64,
    pub events: u64,
    pub duplicates: u64,
    pub ignored: u64,
    pub overflow: u64,
}

/// `struct rtpev_det_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rtpev_det_event {
    pub type_: c_int,
    pub event: u8,
    pub digit: c_char,
    pub at: u64,
    pub duration: u64,
}

/// Opaque sender handle.
pub struct rtpev_tx {
    _private: [u8; 0],
}

boxed_handle!(rtpev_tx => EventSender);

/// Opaque receiver handle.
pub struct rtpev_rx {
    _private: [u8; 0],
}

boxed_handle!(rtpev_rx => EventReceiver);

/// Opaque tone generator handle.
pub struct rtpev_tone {
    _private: [u8; 0],
}

boxed_handle!(rtpev_tone => DtmfTone);

/// Opaque detector handle.
pub struct rtpev_det {
    _private: [u8; 0],
}

boxed_handle!(rtpev_det => DtmfDetector);

fn send_errno(e: SendError) -> c_int {
    match e {
        SendError::InvalidArgument => EINVAL,
        SendError::Busy => -libc::EBUSY,
    }
}

fn digit_of(event: u8) -> c_char {
    dtmf_char(event).map_or(0, |c| c as u8 as c_char)
}

/// Encode an event block (see rtpevent.h).
///
/// # Safety
/// `p` is NULL or readable; `out` is NULL or has `out_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpev_payload_encode(
    p: *const rtpev_payload,
    out: *mut u8,
    out_len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: NULL or readable per the contract.
        let Some(p) = (unsafe { p.as_ref() }) else {
            return EINVAL;
        };
        if out.is_null() || p.volume > 63 {
            return EINVAL;
        }
        if out_len < 4 {
            return -libc::ENOBUFS;
        }
        let b = EventPayload {
            event: p.event,
            end: p.end != 0,
            volume: p.volume,
            duration: p.duration,
        }
        .encode();
        // SAFETY: `out` has at least 4 writable bytes (checked above).
        unsafe { ptr::copy_nonoverlapping(b.as_ptr(), out, 4) };
        4
    })
}

/// Decode the first event block of a payload.
///
/// # Safety
/// `buf` is NULL or has `len` readable bytes; `p` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_payload_decode(
    buf: *const u8,
    len: usize,
    p: *mut rtpev_payload,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: per the contract.
        let (Some(b), Some(out)) = (unsafe { super::bytes(buf, len) }, unsafe { p.as_mut() })
        else {
            return EINVAL;
        };
        match EventPayload::decode(b) {
            Ok(v) => {
                *out = v.into();
                0
            }
            Err(PayloadError::TooShort) => -libc::EBADMSG,
        }
    })
}

/// The character of a DTMF event, 0 above 15.
#[no_mangle]
pub extern "C" fn rtpev_dtmf_char(event: c_int) -> c_char {
    super::ffi_boundary!(0, {
        match u8::try_from(event) {
            Ok(e) => digit_of(e),
            Err(_) => 0,
        }
    })
}

/// The event code of a DTMF character, or -EINVAL.
#[no_mangle]
pub extern "C" fn rtpev_dtmf_event(c: c_char) -> c_int {
    super::ffi_boundary!(EPANIC, {
        dtmf_event(c as u8 as char).map_or(EINVAL, c_int::from)
    })
}

/// New sender; NULL with the error in *err.
///
/// # Safety
/// `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_ctor(
    clock_rate: c_uint,
    ptime_ms: c_uint,
    err: *mut c_int,
) -> *mut rtpev_tx {
    ffi_ctor!(err, {
        EventSender::new(clock_rate, ptime_ms).map_err(send_errno)
    })
}

/// Set the volume of later events.
///
/// # Safety
/// `tx` is NULL or a live sender.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_set_volume(tx: *mut rtpev_tx, volume: c_int) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let tx = try_mut!(tx, EINVAL);
        let Ok(v) = u8::try_from(volume) else {
            return EINVAL;
        };
        tx.set_volume(v).map_or_else(send_errno, |()| 0)
    })
}

/// Start an event.
///
/// # Safety
/// `tx` is NULL or a live sender.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_start(
    tx: *mut rtpev_tx,
    event: c_int,
    ts: u32,
    duration_ms: u32,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let tx = try_mut!(tx, EINVAL);
        let Ok(ev) = u8::try_from(event) else {
            return EINVAL;
        };
        let dur = (duration_ms > 0).then(|| tx.units_from_ms(duration_ms).max(1));
        tx.start(ev, ts, dur).map_or_else(send_errno, |()| 0)
    })
}

/// End the current event with the packet time in progress.
///
/// # Safety
/// `tx` is NULL or a live sender.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_finish(tx: *mut rtpev_tx) -> c_int {
    super::ffi_boundary!(EPANIC, {
        try_mut!(tx, EINVAL).finish();
        0
    })
}

/// Stop at once, without end packets.
///
/// # Safety
/// `tx` is NULL or a live sender.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_abort(tx: *mut rtpev_tx) -> c_int {
    super::ffi_boundary!(EPANIC, {
        try_mut!(tx, EINVAL).abort();
        0
    })
}

/// 1 while sending an event, 0 when idle.
///
/// # Safety
/// `tx` is NULL or a live sender.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_active(tx: *const rtpev_tx) -> c_int {
    super::ffi_boundary!(EPANIC, { try_ref!(tx, EINVAL).is_active() as c_int })
}

fn to_c_pkt(p: &EventPacket) -> rtpev_pkt {
    rtpev_pkt {
        ts: p.ts,
        marker: p.marker as c_int,
        payload: p.payload.encode(),
        info: p.payload.into(),
    }
}

/// This packet time's event packet: 1, or 0 when no event is on.
///
/// # Safety
/// `tx` is NULL or a live sender; `pkt` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_next(tx: *mut rtpev_tx, pkt: *mut rtpev_pkt) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let tx = try_mut!(tx, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { pkt.as_mut() }) else {
            return EINVAL;
        };
        match tx.next_packet() {
            Some(p) => {
                *out = to_c_pkt(&p);
                1
            }
            None => 0,
        }
    })
}

/// This packet time's event packet through a drop-in generator.
///
/// # Safety
/// `tx` is NULL or a live sender; `rs` NULL or a live generator handle;
/// `buf` NULL or `blen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_next_rsynth(
    tx: *mut rtpev_tx,
    rs: *mut c_void,
    pt: c_int,
    buf: *mut c_char,
    blen: c_uint,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let tx = try_mut!(tx, EINVAL);
        let s = try_mut!(rs.cast::<rsynth_inst>(), EINVAL);
        if buf.is_null() || !(0..=127).contains(&pt) {
            return EINVAL;
        }
        let Some(p) = tx.next_packet() else { return 0 };
        let mut pkt = [0u8; RTP_HDR_LEN + 4];
        pkt[..4].copy_from_slice(&p.payload.encode());
        if (blen as usize) < pkt.len() {
            return -libc::ENOBUFS;
        }
        let Some(n) = s.next_into_at(4, pt, p.ts, p.marker, &mut pkt, true) else {
            return -libc::ENOBUFS;
        };
        s.skip(1);
        // SAFETY: `buf` has `blen >= n` writable bytes per the contract.
        unsafe {
            ptr::copy_nonoverlapping(pkt.as_ptr(), buf.cast::<u8>(), n);
            ptr::write_bytes(buf.cast::<u8>().add(n), 0, blen as usize - n);
        }
        n as c_int
    })
}

/// Destroy a sender; NULL is fine.
///
/// # Safety
/// `tx` is NULL or a live sender, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tx_dtor(tx: *mut rtpev_tx) {
    ffi_dtor!(tx)
}

/// New receiver; NULL with the error in *err.
///
/// # Safety
/// `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_ctor(
    pt: c_int,
    timeout_ns: u64,
    err: *mut c_int,
) -> *mut rtpev_rx {
    ffi_ctor!(err, {
        if !(0..=127).contains(&pt) {
            return Err(EINVAL);
        }
        let t = if timeout_ns == 0 {
            crate::event::receiver::DEFAULT_TIMEOUT_NS
        } else {
            timeout_ns
        };
        Ok(EventReceiver::new(pt as u8, t))
    })
}

/// Feed one datagram.
///
/// # Safety
/// `rx` is NULL or a live receiver; `pkt` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_push(
    rx: *mut rtpev_rx,
    pkt: *const u8,
    len: usize,
    arrival_ns: u64,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let rx = try_mut!(rx, EINVAL);
        // SAFETY: per the contract.
        let Some(b) = (unsafe { super::bytes(pkt, len) }) else {
            return EINVAL;
        };
        match rx.push_rtp(b, arrival_ns) {
            PacketVerdict::Invalid => 0,
            PacketVerdict::NewEvent => 1,
            PacketVerdict::Update => 2,
            PacketVerdict::Duplicate => 3,
        }
    })
}

fn count(n: usize) -> c_int {
    n.min(c_int::MAX as usize) as c_int
}

/// End timed-out events; returns the number waiting.
///
/// # Safety
/// `rx` is NULL or a live receiver.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_poll(rx: *mut rtpev_rx, now_ns: u64) -> c_int {
    super::ffi_boundary!(EPANIC, { count(try_mut!(rx, EINVAL).poll(now_ns)) })
}

/// End every open event; returns the number waiting.
///
/// # Safety
/// `rx` is NULL or a live receiver.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_flush(rx: *mut rtpev_rx) -> c_int {
    super::ffi_boundary!(EPANIC, { count(try_mut!(rx, EINVAL).flush()) })
}

/// Take the oldest finished event.
///
/// # Safety
/// `rx` is NULL or a live receiver; `ev` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_get(rx: *mut rtpev_rx, ev: *mut rtpev_event) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let rx = try_mut!(rx, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { ev.as_mut() }) else {
            return EINVAL;
        };
        let Some(e) = rx.pop() else { return 0 };
        *out = rtpev_event {
            ssrc: e.ssrc,
            ts: e.ts,
            duration: e.duration,
            first_arrival_ns: e.first_arrival_ns,
            event: e.event,
            digit: digit_of(e.event),
            volume: e.volume,
            end_reason: match e.end {
                EndReason::EndBit => 1,
                EndReason::Timeout => 2,
                EndReason::NextEvent => 3,
                EndReason::SsrcChange => 4,
                EndReason::Flush => 5,
            },
        };
        1
    })
}

/// Counters since construction.
///
/// # Safety
/// `rx` is NULL or a live receiver; `st` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_stats(rx: *const rtpev_rx, st: *mut rtpev_rx_stats) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let rx = try_ref!(rx, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { st.as_mut() }) else {
            return EINVAL;
        };
        let s = rx.stats();
        *out = rtpev_rx_stats {
            packets: s.packets,
            events: s.events,
            duplicates: s.duplicates,
            ignored: s.invalid,
            overflow: s.overflow,
        };
        0
    })
}

/// Destroy a receiver; NULL is fine.
///
/// # Safety
/// `rx` is NULL or a live receiver, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpev_rx_dtor(rx: *mut rtpev_rx) {
    ffi_dtor!(rx)
}

/// New tone generator; NULL with the error in *err.
///
/// # Safety
/// `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tone_ctor(
    event: c_int,
    srate: c_int,
    low_dbm0: c_double,
    high_dbm0: c_double,
    err: *mut c_int,
) -> *mut rtpev_tone {
    ffi_ctor!(err, {
        let (Ok(ev), Ok(rate)) = (u8::try_from(event), u32::try_from(srate)) else {
            return Err(EINVAL);
        };
        DtmfTone::new(ev, rate, low_dbm0, high_dbm0).map_err(|_| EINVAL)
    })
}

/// Write the next n samples of the tone.
///
/// # Safety
/// `t` is NULL or a live generator; `pcm` NULL or `n` writable samples.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tone_fill(t: *mut rtpev_tone, pcm: *mut i16, n: usize) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let t = try_mut!(t, EINVAL);
        if n > c_int::MAX as usize || (pcm.is_null() && n > 0) {
            return EINVAL;
        }
        if n == 0 {
            return 0;
        }
        // SAFETY: non-NULL with `n` writable samples per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(pcm, n) };
        t.fill(out);
        n as c_int
    })
}

/// Destroy a tone generator; NULL is fine.
///
/// # Safety
/// `t` is NULL or a live generator, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpev_tone_dtor(t: *mut rtpev_tone) {
    ffi_dtor!(t)
}

/// New detector; NULL with the error in *err.
///
/// # Safety
/// `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_det_ctor(srate: c_int, err: *mut c_int) -> *mut rtpev_det {
    ffi_ctor!(err, {
        let Ok(rate) = u32::try_from(srate) else {
            return Err(EINVAL);
        };
        DtmfDetector::new(rate).map_err(|_| EINVAL)
    })
}

/// Feed samples; returns the number of events waiting.
///
/// # Safety
/// `d` is NULL or a live detector; `pcm` NULL or `n` readable samples.
#[no_mangle]
pub unsafe extern "C" fn rtpev_det_process(d: *mut rtpev_det, pcm: *const i16, n: usize) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let d = try_mut!(d, EINVAL);
        if pcm.is_null() && n > 0 {
            return EINVAL;
        }
        if n == 0 {
            return count(d.process(&[]));
        }
        // SAFETY: non-NULL with `n` readable samples per the contract.
        let s = unsafe { std::slice::from_raw_parts(pcm, n) };
        count(d.process(s))
    })
}

/// End a digit still present; returns the number of events waiting.
///
/// # Safety
/// `d` is NULL or a live detector.
#[no_mangle]
pub unsafe extern "C" fn rtpev_det_flush(d: *mut rtpev_det) -> c_int {
    super::ffi_boundary!(EPANIC, { count(try_mut!(d, EINVAL).flush()) })
}

/// Take the oldest detector event.
///
/// # Safety
/// `d` is NULL or a live detector; `ev` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpev_det_get(d: *mut rtpev_det, ev: *mut rtpev_det_event) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let d = try_mut!(d, EINVAL);
        // SAFETY: NULL or writable per the contract.
        let Some(out) = (unsafe { ev.as_mut() }) else {
            return EINVAL;
        };
        let Some(e) = d.pop() else { return 0 };
        *out = match e {
            DetectorEvent::Start { event, at } => rtpev_det_event {
                type_: 1,
                event,
                digit: digit_of(event),
                at,
                duration: 0,
            },
            DetectorEvent::End {
                event,
                at,
                duration,
            } => rtpev_det_event {
                type_: 2,
                event,
                digit: digit_of(event),
                at,
                duration,
            },
        };
        1
    })
}

/// Destroy a detector; NULL is fine.
///
/// # Safety
/// `d` is NULL or a live detector, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpev_det_dtor(d: *mut rtpev_det) {
    ffi_dtor!(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_the_header() {
        assert_eq!(size_of::<rtpev_payload>(), 6);
        assert_eq!(offset_of!(rtpev_payload, duration), 4);
        assert_eq!(size_of::<rtpev_pkt>(), 20);
        assert_eq!(offset_of!(rtpev_pkt, info), 12);
        assert_eq!(size_of::<rtpev_event>(), 32);
        assert_eq!(offset_of!(rtpev_event, end_reason), 27);
        assert_eq!(size_of::<rtpev_rx_stats>(), 40);
        assert_eq!(size_of::<rtpev_det_event>(), 24);
        assert_eq!(offset_of!(rtpev_det_event, at), 8);
    }
}
