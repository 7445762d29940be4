//! rtpserver.h: the UDP I/O thread behind opaque handles.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr;

use crate::server::{ChanConfig, Channel, Server, MAX_DATAGRAM};

/// `struct rtpsrv` (opaque to C).
pub struct rtpsrv {
    core: Server,
}

/// `struct rtpsrv_chan` (opaque to C).
pub struct rtpsrv_chan {
    core: Channel,
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

fn srv_ref<'a>(srv: *const rtpsrv) -> Option<&'a rtpsrv> {
    // SAFETY: non-NULL handles come from rtpsrv_ctor and stay valid until
    // rtpsrv_dtor.
    unsafe { srv.as_ref() }
}

fn chan_ref<'a>(ch: *const rtpsrv_chan) -> Option<&'a rtpsrv_chan> {
    // SAFETY: non-NULL handles come from rtpsrv_create_channel and stay
    // valid until rtpsrv_chan_close.
    unsafe { ch.as_ref() }
}

/// Start a server and its worker thread; see rtpserver.h.
#[no_mangle]
pub extern "C" fn rtpsrv_ctor(tick_hz: c_uint, err: *mut c_int) -> *mut rtpsrv {
    super::ffi_boundary!(
        {
            super::set_err(err, -libc::ENOMEM);
            ptr::null_mut()
        },
        {
            match Server::new(tick_hz) {
                Ok(core) => {
                    super::set_err(err, 0);
                    Box::into_raw(Box::new(rtpsrv { core }))
                }
                Err(e) => {
                    super::set_err(err, -e);
                    ptr::null_mut()
                }
            }
        }
    )
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
    super::ffi_boundary!(
        {
            super::set_err(err, -libc::ENOMEM);
            ptr::null_mut()
        },
        {
            let fail = |e: c_int| {
                super::set_err(err, e);
                ptr::null_mut()
            };
            let Some(s) = srv_ref(srv) else {
                return fail(-libc::EINVAL);
            };
            // SAFETY: non-NULL `cfg` is readable per the contract.
            let Some(cfg) = (unsafe { cfg.as_ref() }) else {
                return fail(-libc::EINVAL);
            };
            let Some(f) = pkt_in else {
                return fail(-libc::EINVAL);
            };
            let host = match c_str(cfg.bind_host) {
                Ok(h) => h,
                Err(e) => return fail(e),
            };
            let ccfg = ChanConfig {
                bind_host: host,
                bind_port: cfg.bind_port,
                bind_family: cfg.bind_family,
                queue_size: cfg.queue_size,
            };
            let cb = CCallback { f, arg };
            match s
                .core
                .create_channel(&ccfg, Box::new(move |p, a, l, t| cb.call(p, a, l, t)))
            {
                Ok(core) => {
                    super::set_err(err, 0);
                    Box::into_raw(Box::new(rtpsrv_chan { core }))
                }
                Err(e) => fail(-e),
            }
        }
    )
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
    super::ffi_boundary!(-libc::EINVAL, {
        let Some(c) = chan_ref(ch) else {
            return -libc::EINVAL;
        };
        if addr.is_null() || addrlen.is_null() {
            return -libc::EINVAL;
        }
        let la = c.core.local_addr();
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
    super::ffi_boundary!(-libc::EINVAL, {
        let Some(c) = chan_ref(ch) else {
            return -libc::EINVAL;
        };
        let host = match c_str(host) {
            Ok(Some(h)) => h,
            Ok(None) => return -libc::EINVAL,
            Err(e) => return e,
        };
        match c.core.set_target(host, port) {
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
    super::ffi_boundary!(-libc::EINVAL, {
        let Some(c) = chan_ref(ch) else {
            return -libc::EINVAL;
        };
        if len > MAX_DATAGRAM {
            return -libc::EMSGSIZE;
        }
        // SAFETY: a non-NULL `pkt` has `len` readable bytes per the contract.
        let Some(bytes) = (unsafe { super::bytes(pkt.cast(), len) }) else {
            return -libc::EINVAL;
        };
        match c.core.send(bytes) {
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
    super::ffi_boundary!(-libc::EINVAL, {
        let Some(c) = chan_ref(ch) else {
            return -libc::EINVAL;
        };
        if st.is_null() {
            return -libc::EINVAL;
        }
        let s = c.core.stats();
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
    super::ffi_boundary!(-libc::EINVAL, {
        if ch.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: came from Box::into_raw in rtpsrv_create_channel.
        let b = unsafe { Box::from_raw(ch) };
        b.core.close();
        0
    })
}

/// Stop the worker; idempotent; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_shutdown(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        if let Some(s) = srv_ref(srv) {
            s.core.shutdown();
        }
    })
}

/// Shut down (if not yet) and free the server handle; see rtpserver.h.
///
/// # Safety
/// `srv` NULL or a live server, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpsrv_dtor(srv: *mut rtpsrv) {
    super::ffi_boundary!((), {
        if !srv.is_null() {
            // SAFETY: came from Box::into_raw in rtpsrv_ctor.
            drop(unsafe { Box::from_raw(srv) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let s = rtpsrv_ctor(0, &mut err);
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
