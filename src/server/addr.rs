//! Address handling: numeric hosts only (no name resolution), families.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Address family wanted for a bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Auto,
    V4,
    V6,
}

impl Family {
    /// 0 auto, 4 IPv4, 6 IPv6; anything else is None.
    pub fn from_code(code: i32) -> Option<Family> {
        match code {
            0 => Some(Family::Auto),
            4 => Some(Family::V4),
            6 => Some(Family::V6),
            _ => None,
        }
    }
}

/// Parse a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "[::1]").
pub fn parse_host(host: &str) -> Option<IpAddr> {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    h.parse::<IpAddr>().ok()
}

/// The address to bind: `host` None means the wildcard of the family.
pub fn bind_addr(host: Option<&str>, port: u16, fam: Family) -> Result<SocketAddr, i32> {
    let ip = match host.filter(|h| !h.is_empty()) {
        None => match fam {
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
        Some(h) => {
            let ip = parse_host(h).ok_or(libc::EINVAL)?;
            match (fam, ip) {
                (Family::V4, IpAddr::V6(_)) | (Family::V6, IpAddr::V4(_)) => {
                    return Err(libc::EINVAL)
                }
                _ => ip,
            }
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// The destination for a socket bound to `local`: an IPv4 target from an
/// IPv6 socket becomes IPv4-mapped; an IPv6 target from an IPv4 socket is
/// EAFNOSUPPORT. Port 0 is EINVAL.
pub fn target_addr(host: &str, port: u16, local: &SocketAddr) -> Result<SocketAddr, i32> {
    if port == 0 {
        return Err(libc::EINVAL);
    }
    let ip = parse_host(host).ok_or(libc::EINVAL)?;
    match (local, ip) {
        (SocketAddr::V4(_), IpAddr::V4(_)) | (SocketAddr::V6(_), IpAddr::V6(_)) => {
            Ok(SocketAddr::new(ip, port))
        }
        (SocketAddr::V6(_), IpAddr::V4(v4)) => {
            Ok(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), port))
        }
        (SocketAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => Ok(SocketAddr::new(IpAddr::V4(v4), port)),
            None => Err(libc::EAFNOSUPPORT),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds() {
        assert_eq!(
            bind_addr(None, 0, Family::Auto).unwrap(),
            "0.0.0.0:0".parse().unwrap()
        );
        assert_eq!(
            bind_addr(None, 7, Family::V6).unwrap(),
            "[::]:7".parse().unwrap()
        );
        assert_eq!(
            bind_addr(Some("::1"), 5, Family::Auto).unwrap(),
            "[::1]:5".parse().unwrap()
        );
        assert_eq!(
            bind_addr(Some("[::1]"), 5, Family::V6).unwrap(),
            "[::1]:5".parse().unwrap()
        );
        assert_eq!(
            bind_addr(Some("127.0.0.1"), 5, Family::V6),
            Err(libc::EINVAL)
        );
        assert_eq!(bind_addr(Some("::1"), 5, Family::V4), Err(libc::EINVAL));
        assert_eq!(
            bind_addr(Some("localhost"), 5, Family::Auto),
            Err(libc::EINVAL)
        );
        assert_eq!(bind_addr(Some("1.2.3"), 5, Family::Auto), Err(libc::EINVAL));
        assert_eq!(Family::from_code(5), None);
    }

    #[test]
    fn targets() {
        let l4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let l6: SocketAddr = "[::]:1".parse().unwrap();
        assert_eq!(
            target_addr("127.0.0.1", 9, &l4).unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        assert_eq!(
            target_addr("127.0.0.1", 9, &l6).unwrap(),
            "[::ffff:127.0.0.1]:9".parse().unwrap()
        );
        assert_eq!(target_addr("::1", 9, &l4), Err(libc::EAFNOSUPPORT));
        assert_eq!(target_addr("::1", 0, &l6), Err(libc::EINVAL));
        assert_eq!(target_addr("example.org", 9, &l6), Err(libc::EINVAL));
    }
}
