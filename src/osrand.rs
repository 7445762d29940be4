//! Values from the OS random source (getrandom(2)): SSRCs, initial
//! sequence numbers and timestamps that differ between processes (RFC 3550
//! section 5.1 wants them unpredictable).

/// `N` values from the kernel's random pool; None if it cannot supply them.
pub fn u32s<const N: usize>() -> Option<[u32; N]> {
    let mut out = [0u32; N];
    let len = std::mem::size_of_val(&out);
    let base = out.as_mut_ptr().cast::<u8>();
    let mut got = 0usize;
    while got < len {
        // SAFETY: `base + got .. base + len` lies inside `out`, which is
        // writable and lives across the call; any bit pattern is a valid
        // u32. Flags 0 block only until the pool is initialised at boot.
        let n = unsafe { libc::getrandom(base.add(got).cast(), len - got, 0) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return None;
        }
        got += n as usize;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_fill_and_differ() {
        let a = super::u32s::<8>().unwrap();
        let b = super::u32s::<8>().unwrap();
        assert_ne!(a, b);
    }
}
