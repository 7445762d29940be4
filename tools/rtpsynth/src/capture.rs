//! Reading UDP datagrams out of a capture file: pcap or pcapng (through
//! pcap-parser), Ethernet / Linux cooked v1 and v2 / raw IP / BSD loopback
//! link layers, IPv4 and IPv6 (through etherparse), each with the capture's
//! timestamp in nanoseconds.

use std::fs::File;
use std::io::BufReader;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, Linktype, PcapBlockOwned, PcapError};

use crate::fail::Fail;

/// One UDP datagram of the capture.
pub struct Datagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: &'a [u8],
    pub ts_ns: u64,
}

/// Why reading stopped before a clean end of file.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// The file ends inside a record.
    Truncated,
    /// A record or block that does not parse.
    Damaged(String),
    /// Reading the file failed.
    Io(String),
}

struct Interface {
    linktype: Linktype,
    /// Timestamp units per second and offset in seconds (pcapng).
    units: u64,
    offset_s: i64,
}

pub struct Capture {
    reader: Box<dyn PcapReaderIterator + Send>,
    ifaces: Vec<Interface>,
    /// Records whose captured length is below the original length.
    pub snapped: u64,
    pub records: u64,
}

const BUF: usize = 1 << 20;
const MAX_BUF: usize = 1 << 28;

impl Capture {
    /// Open a capture; an unreadable file or one that is not pcap/pcapng is
    /// a usage error.
    pub fn open(path: &Path) -> Result<Capture, Fail> {
        let bad = |why: &str| Fail::usage(format!("--pcap {}: {why}", path.display()));
        let f = File::open(path).map_err(|e| bad(&e.to_string()))?;
        let reader = match create_reader(BUF, BufReader::new(f)) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(bad("empty file")),
            Err(PcapError::Incomplete(_)) => return Err(bad("too short to be a capture")),
            Err(PcapError::ReadError) => return Err(bad("read error")),
            Err(_) => return Err(bad("not a pcap or pcapng capture")),
        };
        Ok(Capture {
            reader,
            ifaces: Vec::new(),
            snapped: 0,
            records: 0,
        })
    }

    /// Call `f` for every UDP datagram, in file order. Returns how reading
    /// ended: Ok at a clean end of file.
    pub fn for_each_udp(&mut self, mut f: impl FnMut(&Datagram) -> bool) -> Result<(), Cut> {
        loop {
            let (used, go_on) = match self.reader.next() {
                Ok((used, block)) => {
                    let mut go_on = true;
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let units = if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            };
                            self.ifaces = vec![Interface {
                                linktype: h.network,
                                units,
                                offset_s: 0,
                            }];
                        }
                        PcapBlockOwned::Legacy(b) => {
                            self.records += 1;
                            if b.caplen < b.origlen {
                                self.snapped += 1;
                            }
                            if let Some(i) = self.ifaces.first() {
                                let frac = b.ts_usec as u64 * (1_000_000_000 / i.units);
                                let ts = b.ts_sec as u64 * 1_000_000_000 + frac;
                                if let Some(d) = udp_of(i.linktype, b.data, ts) {
                                    go_on = f(&d);
                                }
                            }
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => self.ifaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.ifaces.push(Interface {
                                linktype: idb.linktype,
                                units: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                                offset_s: idb.ts_offset(),
                            });
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            self.records += 1;
                            if epb.caplen < epb.origlen {
                                self.snapped += 1;
                            }
                            if let Some(i) = self.ifaces.get(epb.if_id as usize) {
                                let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                                let ts = to_ns(raw, i.units, i.offset_s);
                                let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                                if let Some(d) = udp_of(i.linktype, data, ts) {
                                    go_on = f(&d);
                                }
                            }
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            self.records += 1;
                            if let Some(i) = self.ifaces.first() {
                                if let Some(d) = udp_of(i.linktype, spb.data, 0) {
                                    go_on = f(&d);
                                }
                            }
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    (used, go_on)
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    self.reader
                        .refill()
                        .map_err(|e| Cut::Io(format!("{e:?}")))?;
                    continue;
                }
                Err(PcapError::BufferTooSmall) => {
                    let cap = self.reader.data().len().max(BUF) * 2;
                    if cap > MAX_BUF || !self.reader.grow(cap) {
                        return Err(Cut::Damaged("a record larger than 256 MiB".into()));
                    }
                    self.reader
                        .refill()
                        .map_err(|e| Cut::Io(format!("{e:?}")))?;
                    continue;
                }
                Err(PcapError::UnexpectedEof) => return Err(Cut::Truncated),
                Err(PcapError::ReadError) => return Err(Cut::Io("read error".into())),
                Err(e) => return Err(Cut::Damaged(format!("{e:?}"))),
            };
            self.reader.consume(used);
            if !go_on {
                return Ok(());
            }
        }
    }
}

/// A pcapng timestamp in nanoseconds.
fn to_ns(raw: u64, units: u64, offset_s: i64) -> u64 {
    let secs = (raw / units) as i64 + offset_s;
    let frac = ((raw % units) as u128 * 1_000_000_000 / units as u128) as u64;
    (secs.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(frac)
}

/// The UDP datagram inside one link-layer frame, if it is one (IP
/// fragments are not reassembled).
pub fn udp_of(link: Linktype, data: &[u8], ts_ns: u64) -> Option<Datagram<'_>> {
    let sliced = match link {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => SlicedPacket::from_ip(data).ok()?,
        Linktype::LINUX_SLL => SlicedPacket::from_ip(ip_behind(data, 16, 14)?).ok()?,
        Linktype::LINUX_SLL2 => SlicedPacket::from_ip(ip_behind(data, 20, 0)?).ok()?,
        // BSD loopback: a 4-byte address family in host order, then IP.
        Linktype::NULL | Linktype::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        _ => return None,
    };
    if sliced.is_ip_payload_fragmented() {
        return None;
    }
    let (sip, dip): (IpAddr, IpAddr) = match sliced.net.as_ref()? {
        NetSlice::Ipv4(v) => (
            v.header().source_addr().into(),
            v.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(v) => (
            v.header().source_addr().into(),
            v.header().destination_addr().into(),
        ),
        _ => return None,
    };
    match sliced.transport? {
        TransportSlice::Udp(u) => Some(Datagram {
            src: SocketAddr::new(sip, u.source_port()),
            dst: SocketAddr::new(dip, u.destination_port()),
            payload: u.payload(),
            ts_ns,
        }),
        _ => None,
    }
}

/// The IP packet behind a Linux cooked header of `hdr` bytes whose
/// protocol (EtherType) field sits at `proto_at`.
fn ip_behind(data: &[u8], hdr: usize, proto_at: usize) -> Option<&[u8]> {
    let proto = u16::from_be_bytes([*data.get(proto_at)?, *data.get(proto_at + 1)?]);
    match proto {
        0x0800 | 0x86dd => data.get(hdr..),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4/UDP packet from 10.0.0.1:1000 to 10.0.0.2:2000 (checksums 0).
    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ];
        p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let ulen = 8 + payload.len();
        p.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn link_layers() {
        let ip = ipv4_udp(b"hello");
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        for (lt, frame) in [
            (Linktype::ETHERNET, &eth),
            (Linktype::RAW, &ip),
            (Linktype::LINUX_SLL, &sll),
            (Linktype::LINUX_SLL2, &sll2),
        ] {
            let d = udp_of(lt, frame, 5).unwrap_or_else(|| panic!("{lt:?}"));
            assert_eq!(d.payload, b"hello");
            assert_eq!(d.src, "10.0.0.1:1000".parse().unwrap());
            assert_eq!(d.dst, "10.0.0.2:2000".parse().unwrap());
            assert_eq!(d.ts_ns, 5);
        }
        assert!(udp_of(Linktype::ETHERNET, &ip[..10], 0).is_none());
        sll[15] = 0x06; // ARP
        assert!(udp_of(Linktype::LINUX_SLL, &sll, 0).is_none());
    }

    #[test]
    fn pcapng_time() {
        assert_eq!(to_ns(1_500_000, 1_000_000, 0), 1_500_000_000);
        assert_eq!(to_ns(3, 1_000_000_000, 2), 2_000_000_003);
    }
}
