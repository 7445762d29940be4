//! Address handling: numeric hosts only (no name resolution), families.
//! Strict on purpose: no trimming, brackets only around an IPv6 literal,
//! an empty string is not the wildcard (the absent host is), and an IPv6
//! address (IPv4-mapped included) is never silently turned into IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::{Error, Result};

/// Address family wanted for a bind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// From the host (IPv4 when there is none).
    #[default]
    Auto,
    V4,
    V6,
}

/// Parse a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "[::1]") address.
pub fn parse_host(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')?
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    host.parse::<IpAddr>().ok()
}

/// The address to bind: `host` None means the wildcard of the family.
pub fn bind_addr(host: Option<&str>, port: u16, fam: Family) -> Result<SocketAddr> {
    let ip = match host {
        None => match fam {
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
        Some(h) => {
            let ip = parse_host(h).ok_or(Error::Invalid)?;
            match (fam, ip) {
                (Family::V4, IpAddr::V6(_)) | (Family::V6, IpAddr::V4(_)) => {
                    return Err(Error::Invalid)
                }
                _ => ip,
            }
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// The destination `to` as a socket bound to `local` sends to it: an IPv4
/// target from an IPv6 socket becomes IPv4-mapped; any IPv6 target from an
/// IPv4 socket is FamilyMismatch. Port 0 is Invalid.
pub fn target_for(to: SocketAddr, local: &SocketAddr) -> Result<SocketAddr> {
    if to.port() == 0 {
        return Err(Error::Invalid);
    }
    match (local, to) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => Ok(to),
        (SocketAddr::V6(_), SocketAddr::V4(v4)) => Ok(SocketAddr::new(
            IpAddr::V6(v4.ip().to_ipv6_mapped()),
            v4.port(),
        )),
        (SocketAddr::V4(_), SocketAddr::V6(_)) => Err(Error::FamilyMismatch),
    }
}

/// `target_for` from numeric text.
pub fn target_addr(host: &str, port: u16, local: &SocketAddr) -> Result<SocketAddr> {
    let ip = parse_host(host).ok_or(Error::Invalid)?;
    target_for(SocketAddr::new(ip, port), local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn binds() {
        assert_eq!(bind_addr(None, 0, Family::Auto), Ok(sa("0.0.0.0:0")));
        assert_eq!(bind_addr(None, 7, Family::V6), Ok(sa("[::]:7")));
        assert_eq!(bind_addr(Some("::1"), 5, Family::Auto), Ok(sa("[::1]:5")));
        assert_eq!(bind_addr(Some("[::1]"), 5, Family::V6), Ok(sa("[::1]:5")));
        let bad = [
            (Some("127.0.0.1"), Family::V6),
            (Some("::1"), Family::V4),
            (Some("localhost"), Family::Auto),
            (Some("1.2.3"), Family::Auto),
            (Some(""), Family::Auto),
            (Some(" 127.0.0.1 "), Family::Auto),
            (Some("127.0.0.1 "), Family::V4),
            (Some("[127.0.0.1]"), Family::Auto),
            (Some("[::1"), Family::Auto),
            (Some("::ffff:127.0.0.1"), Family::V4),
        ];
        for (h, f) in bad {
            assert_eq!(bind_addr(h, 5, f), Err(Error::Invalid), "{h:?} {f:?}");
        }
    }

    #[test]
    fn targets() {
        let l4 = sa("127.0.0.1:1");
        let l6 = sa("[::]:1");
        assert_eq!(target_addr("127.0.0.1", 9, &l4), Ok(sa("127.0.0.1:9")));
        assert_eq!(
            target_addr("127.0.0.1", 9, &l6),
            Ok(sa("[::ffff:127.0.0.1]:9"))
        );
        assert_eq!(target_addr("[::1]", 9, &l6), Ok(sa("[::1]:9")));
        assert_eq!(target_addr("::1", 9, &l4), Err(Error::FamilyMismatch));
        assert_eq!(
            target_addr("::ffff:127.0.0.1", 9, &l4),
            Err(Error::FamilyMismatch)
        );
        assert_eq!(target_addr("[127.0.0.1]", 9, &l4), Err(Error::Invalid));
        assert_eq!(target_addr(" 127.0.0.1", 9, &l4), Err(Error::Invalid));
        assert_eq!(target_addr("", 9, &l4), Err(Error::Invalid));
        assert_eq!(target_addr("::1", 0, &l6), Err(Error::Invalid));
        assert_eq!(target_addr("example.org", 9, &l6), Err(Error::Invalid));
        assert_eq!(target_for(sa("10.0.0.1:0"), &l4), Err(Error::Invalid));
    }
}
