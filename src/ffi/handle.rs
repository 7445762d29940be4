//! One way to turn C handles into Rust objects (after rustls-ffi's
//! `Castable`): every opaque C type names the Rust value behind it and how
//! that value is owned; the helpers here are the only code that casts
//! between the two.
//!
//! A handle type is a zero-sized Rust struct with the C name (cbindgen emits
//! it as an opaque `struct NAME;`) plus an `impl Castable`:
//!
//! ```ignore
//! pub struct rtpopus_enc { _private: [u8; 0] }
//! impl Castable for rtpopus_enc {
//!     type Ownership = OwnershipBox;
//!     type RustType = Encoder;
//! }
//! ```
//!
//! The pointer handed to C is a `Box<RustType>` cast to `*mut NAME`; a
//! function taking the handle gets the Rust value back with `try_ref!` /
//! `try_mut!` (returning its documented error for NULL) and the destructor
//! with `free_box`. Constructors use `ffi_ctor!`, which also maps a caught
//! panic to `EPANIC`.

use std::ffi::c_int;
use std::ptr;

/// The value is a `Box<RustType>` owned by the C caller between the
/// constructor and the destructor.
pub(crate) enum OwnershipBox {}

/// Links an opaque C handle type to the Rust value behind it.
pub(crate) trait Castable {
    /// How C holds the value (`OwnershipBox`; a borrowed or shared kind
    /// would be added here, next to it).
    type Ownership;
    /// What the handle points to.
    type RustType;
}

/// Move `v` to the heap and return it as the C handle.
pub(crate) fn to_boxed_mut_ptr<C>(v: C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    Box::into_raw(Box::new(v)).cast()
}

/// Borrow the value behind a handle; None for NULL.
///
/// # Safety
/// `p` is NULL or a live handle of type `C` (from `to_boxed_mut_ptr::<C>`,
/// or the address of a `C::RustType` that outlives the borrow, such as the
/// scheduler singleton), not freed while the borrow lasts.
pub(crate) unsafe fn try_from<'a, C: Castable>(p: *const C) -> Option<&'a C::RustType> {
    // SAFETY: per this function's contract the pointer is NULL or points to
    // a live `C::RustType`.
    unsafe { p.cast::<C::RustType>().as_ref() }
}

/// Borrow the value behind a boxed handle mutably; None for NULL.
///
/// # Safety
/// As `try_from`, and no other reference to the value exists while this one
/// lasts (the headers make such handles single-threaded).
pub(crate) unsafe fn try_from_mut<'a, C>(p: *mut C) -> Option<&'a mut C::RustType>
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: per this function's contract.
    unsafe { p.cast::<C::RustType>().as_mut() }
}

/// Take back ownership of a boxed handle; None for NULL.
///
/// # Safety
/// `p` is NULL or came from `to_boxed_mut_ptr::<C>` and is not used again.
pub(crate) unsafe fn try_box_from<C>(p: *mut C) -> Option<Box<C::RustType>>
where
    C: Castable<Ownership = OwnershipBox>,
{
    if p.is_null() {
        return None;
    }
    // SAFETY: per this function's contract `p` is the pointer of a Box we
    // leaked in `to_boxed_mut_ptr`, handed back exactly once.
    Some(unsafe { Box::from_raw(p.cast::<C::RustType>()) })
}

/// Drop the value behind a boxed handle; NULL is fine.
///
/// # Safety
/// As `try_box_from`.
pub(crate) unsafe fn free_box<C>(p: *mut C)
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: per this function's contract.
    drop(unsafe { try_box_from(p) });
}

/// The end of every constructor: a boxed handle and `*err = 0`, or NULL
/// and `*err = e`.
pub(crate) fn new_handle<C>(err: *mut c_int, r: Result<C::RustType, c_int>) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    match r {
        Ok(v) => {
            super::set_err(err, 0);
            to_boxed_mut_ptr::<C>(v)
        }
        Err(e) => {
            super::set_err(err, e);
            ptr::null_mut()
        }
    }
}

/// `boxed_handle!(NAME => RustType);`: the `Castable` impl of a handle type
/// whose value C owns as a `Box` (the type itself stays a plain declaration
/// next to it, where cbindgen sees it).
macro_rules! boxed_handle {
    ($name:ty => $rust:ty) => {
        impl $crate::ffi::handle::Castable for $name {
            type Ownership = $crate::ffi::handle::OwnershipBox;
            type RustType = $rust;
        }
    };
}
pub(crate) use boxed_handle;

/// The whole body of a destructor: `ffi_dtor!(handle)` frees the boxed
/// handle (NULL is fine); a panic in the value's `Drop` is caught. Only in
/// an `unsafe extern "C" fn` whose `# Safety` section requires the handle
/// to be NULL or live and not used again.
macro_rules! ffi_dtor {
    ($p:expr) => {
        $crate::ffi::ffi_boundary!((), {
            // SAFETY: the enclosing destructor requires its handle to be
            // NULL or live, and not used again (its `# Safety` section).
            unsafe { $crate::ffi::handle::free_box($p) }
        })
    };
}
pub(crate) use ffi_dtor;

/// `let v = try_ref!(handle, error_value);`: the value behind a handle, or
/// return `error_value` for NULL (`try_ref!(handle)` in functions returning
/// nothing). Only in an `unsafe extern "C" fn` whose
/// `# Safety` section requires the handle to be NULL or live.
macro_rules! try_ref {
    ($p:expr) => {
        $crate::ffi::handle::try_ref!($p, {})
    };
    ($p:expr, $err:expr) => {
        // SAFETY: the enclosing exported function requires its handle to be
        // NULL or live (its `# Safety` section and the header say so).
        match unsafe { $crate::ffi::handle::try_from($p) } {
            Some(v) => v,
            None => return $err,
        }
    };
}
pub(crate) use try_ref;

/// `let v = try_mut!(handle, error_value);`: as `try_ref!`, mutably, for
/// boxed handles used by one thread at a time.
macro_rules! try_mut {
    ($p:expr) => {
        $crate::ffi::handle::try_mut!($p, {})
    };
    ($p:expr, $err:expr) => {
        // SAFETY: the enclosing exported function requires its handle to be
        // NULL or live and used by one thread at a time (header contract).
        match unsafe { $crate::ffi::handle::try_from_mut($p) } {
            Some(v) => v,
            None => return $err,
        }
    };
}
pub(crate) use try_mut;

/// A constructor body: `ffi_ctor!(err, { ... Ok(value) or Err(-errno) })`
/// returns the boxed handle (`*err = 0`) or NULL with the error in `*err`;
/// a panic inside becomes NULL with `EPANIC`. The body is a closure, so `?`
/// and `return Err(..)` work in it.
macro_rules! ffi_ctor {
    ($err:expr, $body:block) => {{
        let err_out: *mut ::std::ffi::c_int = $err;
        $crate::ffi::ffi_boundary!(
            {
                $crate::ffi::set_err(err_out, $crate::ffi::EPANIC);
                ::std::ptr::null_mut()
            },
            {
                #[allow(clippy::redundant_closure_call)]
                let r: Result<_, ::std::ffi::c_int> = (|| $body)();
                $crate::ffi::handle::new_handle(err_out, r)
            }
        )
    }};
}
pub(crate) use ffi_ctor;

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing(u32);
    struct CThing {
        _private: [u8; 0],
    }
    impl Castable for CThing {
        type Ownership = OwnershipBox;
        type RustType = Thing;
    }

    fn ctor(v: u32, err: *mut c_int) -> *mut CThing {
        ffi_ctor!(err, {
            if v == 0 {
                return Err(-libc::EINVAL);
            }
            if v == 7 {
                panic!("inside a constructor");
            }
            Ok(Thing(v))
        })
    }

    unsafe fn get(p: *const CThing) -> c_int {
        let t = try_ref!(p, -libc::EINVAL);
        t.0 as c_int
    }

    #[test]
    fn round_trip_null_and_errors() {
        let mut err = 99;
        let p = ctor(5, &mut err);
        assert!(!p.is_null());
        assert_eq!(err, 0);
        // SAFETY: `p` is live until free_box below; NULL is allowed.
        unsafe {
            assert_eq!(get(p), 5);
            assert_eq!(get(ptr::null()), -libc::EINVAL);
            try_from_mut(p).unwrap().0 = 6;
            assert_eq!(get(p), 6);
            free_box(p);
            free_box::<CThing>(ptr::null_mut());
        }
        assert!(ctor(0, &mut err).is_null());
        assert_eq!(err, -libc::EINVAL);
        assert!(ctor(0, ptr::null_mut()).is_null());
    }

    #[test]
    fn a_panic_is_reported_as_epanic() {
        let mut err = 0;
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let p = ctor(7, &mut err);
        std::panic::set_hook(prev);
        assert!(p.is_null());
        assert_eq!(err, crate::ffi::EPANIC);
    }
}
