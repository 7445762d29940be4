//! `rtpsynth_strerror`: one describing function for every error value the
//! library returns (parser codes, `RJB_*` codes and negative errno values).

use std::ffi::{c_char, c_int, CStr};

use crate::rtp::ParseErrorKind;

/// `RJB_ENOMEM` of the original: no memory for a frame.
pub const RJB_ENOMEM: c_int = -1007;
/// Ours: a NULL handle or an impossible argument given to `rtpjbuf_*`.
pub const RJB_EINVAL: c_int = -1008;

fn parser_kind(code: c_int) -> Option<ParseErrorKind> {
    use ParseErrorKind::*;
    [
        TooShort,
        BadVersion,
        TooShortForExtSize,
        TooShortForExt,
        TooShortForPadSize,
        TooShortForPad,
        BadPadSize,
    ]
    .into_iter()
    .find(|k| k.code() == code)
}

fn errno_text(e: c_int) -> &'static CStr {
    match e {
        libc::EINVAL => c"invalid argument",
        libc::ENOMEM => c"out of memory",
        libc::ENOBUFS => c"no room: queue full or output buffer too small",
        libc::EADDRINUSE => c"address already in use",
        libc::EADDRNOTAVAIL => c"address not available",
        libc::EAFNOSUPPORT => c"address family not supported",
        libc::EDESTADDRREQ => c"no target address set",
        libc::EMSGSIZE => c"message too long",
        libc::ESHUTDOWN => c"already shut down",
        libc::EMFILE => c"too many open files in this process",
        libc::ENFILE => c"too many open files in the system",
        libc::EAGAIN => c"resource temporarily unavailable",
        libc::EBUSY => c"busy",
        libc::EBADMSG => c"corrupted data",
        libc::ENOTSUP => c"not supported",
        libc::ERANGE => c"value out of range",
        libc::EACCES => c"permission denied",
        libc::ECONNREFUSED => c"connection refused",
        libc::ENETUNREACH => c"network unreachable",
        libc::EDEADLK => c"operation would deadlock",
        libc::EOVERFLOW => c"value too large for the result type",
        libc::EPROTO => c"protocol or internal codec error",
        libc::EBADF => c"bad or closed handle",
        libc::ECANCELED => c"operation canceled",
        libc::ENODATA => c"no data",
        libc::ENOTRECOVERABLE => c"internal error in rtpsynth (a bug: please report it)",
        _ => c"unknown error",
    }
}

pub(crate) fn describe(err: c_int) -> &'static CStr {
    if err == 0 {
        return c"success";
    }
    if err == 1 {
        return c"no error";
    }
    if let Some(k) = parser_kind(err) {
        return k.describe();
    }
    match err {
        RJB_ENOMEM => c"out of memory for a jitter buffer frame",
        RJB_EINVAL => c"invalid jitter buffer handle or argument",
        e if e < 0 => errno_text(e.wrapping_neg()),
        _ => c"unknown error",
    }
}

/// Describe any error value returned by this library. Never NULL; the string
/// is static.
#[no_mangle]
pub extern "C" fn rtpsynth_strerror(err: c_int) -> *const c_char {
    describe(err).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parser_code_matches_core_text() {
        for code in -7..=-1 {
            let k = parser_kind(code).unwrap();
            assert_eq!(describe(code), k.describe());
        }
        assert_eq!(
            describe(-libc::ENOBUFS).to_str().unwrap(),
            "no room: queue full or output buffer too small"
        );
        assert!(describe(crate::ffi::EPANIC)
            .to_str()
            .unwrap()
            .starts_with("internal error"));
        assert_eq!(describe(12345).to_str().unwrap(), "unknown error");
        assert_eq!(describe(i32::MIN).to_str().unwrap(), "unknown error");
    }
}
