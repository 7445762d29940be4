//! rtpproc.h: the periodic scheduler behind opaque handles. A C callback
//! and its `arg` become a core `Task`.

#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::{Mutex, OnceLock};

use super::handle::{boxed_handle, ffi_ctor, free_box, try_box_from, try_ref};
use super::EPANIC;
use crate::proc::{Channel, Error, Proc, ProcConfig, Task, TaskError};

/// `struct rtpproc` (opaque). Boxed for `rtpproc_ctor`; the singleton of
/// `rtpproc_get` is a static that `rtpproc_dtor` recognises and leaves alone.
pub struct rtpproc {
    _private: [u8; 0],
}

boxed_handle!(rtpproc => Proc);

/// `struct rtpproc_chan` (opaque).
pub struct rtpproc_chan {
    _private: [u8; 0],
}

boxed_handle!(rtpproc_chan => Channel);

/// `rtpproc_cb_t`: returns the next run time (CLOCK_MONOTONIC ns), 0 to
/// stop; a non-zero `*err` stops the channel too.
pub type rtpproc_cb_t = Option<
    unsafe extern "C" fn(arg: *mut c_void, now_ns: u64, deadline_ns: u64, err: *mut c_int) -> u64,
>;

type CFn = unsafe extern "C" fn(*mut c_void, u64, u64, *mut c_int) -> u64;

struct CTask {
    f: CFn,
    arg: *mut c_void,
}

// SAFETY: the task moves to the worker thread together with `arg`, an
// opaque pointer we never dereference. rtpproc.h tells the caller that the
// callback runs on the worker thread with that `arg`, so making `arg`
// usable there is the caller's part of the contract.
unsafe impl Send for CTask {}

impl Task for CTask {
    fn run(&mut self, now_ns: u64, deadline_ns: u64) -> Result<u64, TaskError> {
        let mut err: c_int = 0;
        // SAFETY: `f` is the non-NULL callback the caller registered with
        // this `arg`; `err` is a valid, exclusive int for the whole call.
        let next = unsafe { (self.f)(self.arg, now_ns, deadline_ns, &mut err) };
        match err {
            0 => Ok(next),
            e => Err(TaskError::Failed(e)),
        }
    }
}

/// What `rtpproc_chan_close` returns for a channel whose callback panicked
/// (a Rust panic unwinding out of a C callback cannot happen; this is a
/// panic inside the library's own task wrapper).
const TASK_PANICKED: c_int = -libc::ECANCELED;

fn close_result(r: Result<(), TaskError>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(TaskError::Failed(e)) => e,
        Err(TaskError::Panicked) => TASK_PANICKED,
    }
}

/// The scheduler settings from the environment (documented in rtpproc.h):
/// `RTPSYNTH_PROC_MIN_WAKE_NS` and `RTPSYNTH_PROC_MAX_WAKE_NS` (decimal
/// ns, capped at 1 ms) and
/// `RTPSYNTH_PROC_RT_PRIORITY` (1..=99). Unset or unparsable: defaults.
fn config_from_env() -> ProcConfig {
    let num = |name: &str| -> Option<u64> {
        std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
    };
    let mut c = ProcConfig::default();
    if let Some(v) = num("RTPSYNTH_PROC_MIN_WAKE_NS") {
        c.min_wake_ns = v.min(crate::proc::MAX_MIN_WAKE_NS);
    }
    if let Some(v) = num("RTPSYNTH_PROC_MAX_WAKE_NS") {
        c.max_wake_ns = v.min(crate::proc::MAX_MIN_WAKE_NS);
    }
    c.rt_priority = num("RTPSYNTH_PROC_RT_PRIORITY")
        .filter(|p| (1..=99).contains(p))
        .map(|p| p as u8);
    c
}

static SINGLETON: OnceLock<Proc> = OnceLock::new();
static SINGLETON_INIT: Mutex<()> = Mutex::new(());

fn singleton_ptr() -> *mut rtpproc {
    SINGLETON
        .get()
        .map_or(ptr::null_mut(), |p| (p as *const Proc).cast_mut().cast())
}

/// Map a core error to the negative errno of the header; never a value in
/// -7..-1 (those are RTP parser codes).
fn errno_of(e: Error) -> c_int {
    match e {
        Error::NoMemory => -libc::ENOMEM,
        Error::Shutdown => -libc::ESHUTDOWN,
        Error::Spawn(os) => match -os.abs().max(1) {
            v if (-7..=-1).contains(&v) => -libc::EAGAIN,
            v => v,
        },
    }
}

/// The process-wide scheduler, started on first use. NULL only if its
/// worker thread could not be started (a later call tries again).
#[no_mangle]
pub extern "C" fn rtpproc_get() -> *mut rtpproc {
    super::ffi_boundary!(ptr::null_mut(), {
        let p = singleton_ptr();
        if !p.is_null() {
            return p;
        }
        let _g = SINGLETON_INIT.lock().unwrap_or_else(|e| e.into_inner());
        if SINGLETON.get().is_none() {
            match Proc::with_config(config_from_env()) {
                Ok(core) => {
                    let _ = SINGLETON.set(core);
                }
                Err(_) => return ptr::null_mut(),
            }
        }
        singleton_ptr()
    })
}

/// A private scheduler with its own worker thread.
///
/// # Safety
/// `err` is NULL or points to a writable int.
#[no_mangle]
pub unsafe extern "C" fn rtpproc_ctor(err: *mut c_int) -> *mut rtpproc {
    ffi_ctor!(err, {
        Proc::with_config(config_from_env()).map_err(errno_of)
    })
}

/// # Safety
/// `p` is NULL or a live scheduler handle; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtpproc_create_channel(
    p: *mut rtpproc,
    cb: rtpproc_cb_t,
    arg: *mut c_void,
    err: *mut c_int,
) -> *mut rtpproc_chan {
    ffi_ctor!(err, {
        let p = try_ref!(p, Err(-libc::EINVAL));
        let Some(f) = cb else {
            return Err(-libc::EINVAL);
        };
        p.create_channel(Box::new(CTask { f, arg }))
            .map_err(errno_of)
    })
}

/// # Safety
/// `ch` is NULL or a live channel handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpproc_chan_close(ch: *mut rtpproc_chan) -> c_int {
    super::ffi_boundary!(EPANIC, {
        // SAFETY: NULL or a live channel handle, not used again (contract).
        match unsafe { try_box_from(ch) } {
            Some(ch) => close_result(ch.close()),
            None => -libc::EINVAL,
        }
    })
}

/// # Safety
/// `p` is NULL or a live scheduler handle.
#[no_mangle]
pub unsafe extern "C" fn rtpproc_shutdown(p: *mut rtpproc) {
    super::ffi_boundary!((), {
        let p = try_ref!(p);
        p.shutdown();
    })
}

/// # Safety
/// `p` is NULL, the singleton (ignored) or a handle from `rtpproc_ctor`
/// not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn rtpproc_dtor(p: *mut rtpproc) {
    super::ffi_boundary!((), {
        if p.is_null() || p == singleton_ptr() {
            return;
        }
        // SAFETY: a private handle from rtpproc_ctor, not used again (the
        // contract). Dropping shuts the worker down; channels still open
        // keep the shared state alive.
        unsafe { free_box(p) };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn count(arg: *mut c_void, now: u64, _d: u64, _e: *mut c_int) -> u64 {
        // SAFETY: the tests pass a pointer to a live AtomicU64.
        let n = unsafe { &*(arg as *const std::sync::atomic::AtomicU64) };
        n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        now + 1_000_000
    }

    /// Counts its call and unschedules itself: exactly one call.
    unsafe extern "C" fn once(arg: *mut c_void, now: u64, d: u64, e: *mut c_int) -> u64 {
        // SAFETY: forwarded contract: `arg` points to a live AtomicU64.
        unsafe { count(arg, now, d, e) };
        0
    }

    #[test]
    fn null_arguments() {
        let mut e = 0;
        // SAFETY: NULL handles and a valid err pointer.
        unsafe {
            assert!(
                rtpproc_create_channel(ptr::null_mut(), Some(count), ptr::null_mut(), &mut e)
                    .is_null()
            );
            assert_eq!(e, -libc::EINVAL);
            let p = rtpproc_ctor(&mut e);
            assert!(!p.is_null());
            assert_eq!(e, 0);
            e = 1;
            assert!(rtpproc_create_channel(p, None, ptr::null_mut(), &mut e).is_null());
            assert_eq!(e, -libc::EINVAL);
            assert_eq!(rtpproc_chan_close(ptr::null_mut()), -libc::EINVAL);
            rtpproc_shutdown(ptr::null_mut());
            rtpproc_dtor(ptr::null_mut());
            rtpproc_dtor(p);
        }
    }

    #[test]
    fn singleton_is_shared_and_dtor_is_noop() {
        let a = rtpproc_get();
        let b = rtpproc_get();
        assert!(!a.is_null());
        assert_eq!(a, b);
        let n = std::sync::atomic::AtomicU64::new(0);
        // SAFETY: live handles; `n` outlives the channel.
        unsafe {
            rtpproc_dtor(a);
            let ch = rtpproc_create_channel(
                a,
                Some(once),
                &n as *const _ as *mut c_void,
                ptr::null_mut(),
            );
            assert!(!ch.is_null());
            assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 1);
            assert_eq!(rtpproc_chan_close(ch), 0);
        }
    }
}
