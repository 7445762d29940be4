//! rtpserver.h: the UDP I/O thread behind opaque handles.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use super::handle::{ffi_ctor, free_box, try_box_from, try_ref, Castable, OwnershipBox};
use super::EPANIC;
use crate::server::{ChanConfig, Channel, Server, MAX_DATAGRAM};

/// `struct rtpsrv` (opaque to C).
pub struct rtpsrv {
    _private: [u8; 0],
}

impl Castable for rtpsrv {
    type Ownership = OwnershipBox;
    type RustType = Server;
}

/// `struct rtpsrv_chan` (opaque to C).
pub struct rtpsrv_chan {
    _private: [u8; 0],
}

impl Castable for rtpsrv_chan {
    type Ownership = OwnershipBox;
    type RustType = Channel;
}

/// `rtpsrv_pkt_in_t`.
pub type rtpsrv_pkt_in_t = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        pkt: *const u8,
        len: usize,
        from: *const libc::sockaddr,
        fromlen: libc::socklen_t,
        rtime_ns: u64,
    ),
>;

/// `struct rtpsrv_chan_cfg`.
#[repr(C)]
pub struct rtpsrv_chan_cfg {
    pub bind_host: *const c_char,
    pub bind_port: u16,
    pub bind_family: c_int,
    pub queue_size: c_uint,
}

/// `struct rtpsrv_chan_stats`.
#[repr(C)]
pub struct rtpsrv_chan_stats {
    pub rx_pkts: u64,
    pub rx_bytes: u64,
    pub tx_pkts: u64,
    pub tx_bytes: u64,
    pub tx_queue_full: u64,
    pub tx_errors: u64,
}

/// The C callback and its argument, moved to the worker thread.
struct CCallback {
    f: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const libc::sockaddr,
        libc::socklen_t,
        u64,
    ),
    arg: *mut c_void,
}

// SAFETY: the header documents that `pkt_in` is called with `arg` on the
// server's worker thread; making that legal is the caller's contract.
unsafe impl Send for CCallback {}

impl CCallback {
    fn call(
        &self,
        pkt: &[u8],
        from: &libc::sockaddr_storage,
        fromlen: libc::socklen_t,
        rtime: u64,
    ) {
        let from: *const libc::sockaddr = (from as *const libc::sockaddr_storage).cast();
        // SAFETY: the caller-supplied function is called with its own `arg`,
        // a payload pointer valid for `len` bytes and a source address valid
        // for `fromlen` bytes, all for the duration of the call.
        unsafe { (self.f)(self.arg, pkt.as_ptr(), pkt.len(), from, fromlen, rtime) }
    }
}

fn c_str<'a>(p: *const c_char) -> Result<Option<&'a str>, c_int> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string argument is NUL-terminated per the header.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| -libc::EINVAL)
}

/// Start a server and its worker thread; see rtpserver.h.
///
/// # Safety
/// `err` is NULL or points to a writable int.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_ctor(tick_hz: c_uint, err: *mut c_int) -> *mut rtpsrv {
    ffi_ctor!(err, { Server::new(tick_hz).map_err(|e| -e) })
}

/// Open a channel; see rtpserver.h.
///
/// # Safety
/// `srv` must be NULL or a live server; `cfg` NULL or a readable config
/// whose `bind_host` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_create_channel(
    srv: *mut rtpsrv,
    cfg: *const rtpsrv_chan_cfg,
    pkt_in: rtpsrv_pkt_in_t,
    arg: *mut c_void,
    err: *mut c_int,
) -> *mut rtpsrv_chan {
    ffi_ctor!(err, {
        let s = try_ref!(srv, Err(-libc::EINVAL));
        // SAFETY: non-NULL `cfg` is readable per the contract.
        let Some(cfg) = (unsafe { cfg.as_ref() }) else {
            return Err(-libc::EINVAL);
        };
        let Some(f) = pkt_in else {
            return Err(-libc::EINVAL);
        };
        let ccfg = ChanConfig {
            bind_host: c_str(cfg.bind_host)?,
            bind_port: cfg.bind_port,
            bind_family: cfg.bind_family,
            queue_size: cfg.queue_size,
        };
        let cb = CCallback { f, arg };
        s.create_channel(&ccfg, Box::new(move |p, a, l, t| cb.call(p, a, l, t)))
            .map_err(|e| -e)
    })
}

/// The bound local address; see rtpserver.h.
///
/// # Safety
/// Pointers must be NULL or valid as documented.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_local_addr(
    ch: *const rtpsrv_chan,
    addr: *mut libc::sockaddr_storage,
    addrlen: *mut libc::socklen_t,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if addr.is_null() || addrlen.is_null() {
            return -libc::EINVAL;
        }
        let la = c.local_addr();
        // SAFETY: both pointers are non-NULL and writable per the contract.
        unsafe {
            *addr = *la.storage();
            *addrlen = la.len();
        }
        0
    })
}

/// Set the destination of queued packets; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `host` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_set_target(
    ch: *mut rtpsrv_chan,
    host: *const c_char,
    port: u16,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        let host = match c_str(host) {
            Ok(Some(h)) => h,
            Ok(None) => return -libc::EINVAL,
            Err(e) => return e,
        };
        match c.set_target(host, port) {
            Ok(()) => 0,
            Err(e) => -e,
        }
    })
}

/// Queue a copy of a packet; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `pkt` readable for `len` bytes (or NULL when len 0).
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_send_pkt(
    ch: *mut rtpsrv_chan,
    pkt: *const c_void,
    len: usize,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if len > MAX_DATAGRAM {
            return -libc::EMSGSIZE;
        }
        // SAFETY: a non-NULL `pkt` has `len` readable bytes per the contract.
        let Some(bytes) = (unsafe { super::bytes(pkt.cast(), len) }) else {
            return -libc::EINVAL;
        };
        match c.send(bytes) {
            Ok(()) => 0,
            Err(e) => -e,
        }
    })
}

/// Copy the channel's counters; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or live; `st` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_stats(
    ch: *const rtpsrv_chan,
    st: *mut rtpsrv_chan_stats,
) -> c_int {
    super::ffi_boundary!(EPANIC, {
        let c = try_ref!(ch, -libc::EINVAL);
        if st.is_null() {
            return -libc::EINVAL;
        }
        let s = c.stats();
        // SAFETY: `st` is non-NULL and writable per the contract.
        unsafe {
            *st = rtpsrv_chan_stats {
                rx_pkts: s.rx_pkts,
                rx_bytes: s.rx_bytes,
                tx_pkts: s.tx_pkts,
                tx_bytes: s.tx_bytes,
                tx_queue_full: s.tx_queue_full,
                tx_errors: s.tx_errors,
            }
        };
        0
    })
}

/// Close a channel and free its handle; see rtpserver.h.
///
/// # Safety
/// `ch` NULL or a live channel handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_chan_close(ch: *mut rtpsrv_chan) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: NULL or a live channel handle, not used again (contract).
        match unsafe { try_box_from(ch) } {
            Some(c) => {
                c.close();
                0
            }
            None => -libc::EINVAL,
        }
    })
}

/// Stop the worker; idempotent; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_shutdown(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        try_ref!(srv).shutdown();
    })
}

/// Shut down (if not yet) and free the server handle; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_dtor(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        // SAFETY: NULL or a live server, not used again (the contract).
        unsafe { free_box(srv) };
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn null_arguments_are_errors() {
        let mut err = 0;
        // SAFETY: NULL everywhere is the documented error case.
        unsafe {
            assert!(rtpsrv_create_channel(
                ptr::null_mut(),
                ptr::null(),
                None,
                ptr::null_mut(),
                &mut err
            )
            .is_null());
            assert_eq!(err, -libc::EINVAL);
            assert_eq!(
                rtpsrv_chan_send_pkt(ptr::null_mut(), ptr::null(), 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_set_target(ptr::null_mut(), ptr::null(), 0),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_stats(ptr::null(), ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(
                rtpsrv_chan_local_addr(ptr::null(), ptr::null_mut(), ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(rtpsrv_chan_close(ptr::null_mut()), -libc::EINVAL);
            rtpsrv_shutdown(ptr::null_mut());
            rtpsrv_dtor(ptr::null_mut());
        }
        // SAFETY: `err` is a valid int.
        let s = unsafe { rtpsrv_ctor(0, &mut err) };
        assert!(!s.is_null());
        let cfg = rtpsrv_chan_cfg {
            bind_host: c"127.0.0.1".as_ptr(),
            bind_port: 0,
            bind_family: 0,
            queue_size: 0,
        };
        // SAFETY: live server, valid cfg, NULL callback is the error tested.
        unsafe {
            assert!(rtpsrv_create_channel(s, &cfg, None, ptr::null_mut(), &mut err).is_null());
            assert_eq!(err, -libc::EINVAL);
            rtpsrv_dtor(s);
        }
    }
}
