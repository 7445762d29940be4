//! Round trips through the writer and the parser, and every malformed shape.

use super::*;
use crate::rtcp::writer::{BuildError, SdesChunk, Writer};

fn block(i: u32) -> ReportBlock {
    ReportBlock {
        ssrc: 0x1000 + i,
        fraction_lost: i as u8,
        cumulative_lost: -(i as i32) * 3,
        ext_highest_seq: 70000 + i,
        jitter: 10 * i,
        lsr: 0xabcd_0000 + i,
        dlsr: 65536 + i,
    }
}

fn collect(buf: &[u8]) -> Vec<Packet<'_>> {
    Compound::new(buf).map(|p| p.unwrap()).collect()
}

#[test]
fn sr_rr_round_trip_with_31_blocks() {
    let blocks: Vec<_> = (0..31).map(block).collect();
    let mut buf = [0u8; 2048];
    let mut w = Writer::new(&mut buf);
    let info = SenderInfo {
        ntp: 0xe000_0001_8000_0000,
        rtp_ts: 12345,
        packets: 50,
        octets: 8000,
    };
    w.sr(0xaabbccdd, &info, &blocks).unwrap();
    w.rr(0x11223344, &blocks[..3]).unwrap();
    assert_eq!(
        w.sr(1, &info, &(0..32).map(block).collect::<Vec<_>>()),
        Err(BuildError::TooMany)
    );
    let n = w.len();
    assert_eq!(n, 28 + 31 * 24 + 8 + 3 * 24);
    assert_eq!(buf[0], 0x80 | 31);
    assert_eq!(buf[1], 200);
    let pkts = collect(&buf[..n]);
    assert_eq!(pkts.len(), 2);
    match pkts[0] {
        Packet::Sr {
            ssrc,
            info: i,
            blocks: b,
            ext,
        } => {
            assert_eq!((ssrc, i, ext.len()), (0xaabbccdd, info, 0));
            assert_eq!(b.iter().collect::<Vec<_>>(), blocks);
            assert_eq!(b.get(30), Some(blocks[30]));
            assert_eq!(b.get(31), None);
        }
        _ => panic!(),
    }
    match pkts[1] {
        Packet::Rr {
            ssrc, blocks: b, ..
        } => {
            assert_eq!(ssrc, 0x11223344);
            assert_eq!(b.iter().collect::<Vec<_>>(), &blocks[..3]);
        }
        _ => panic!(),
    }
}

#[test]
fn sdes_bye_app_round_trip() {
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf);
    w.rr(1, &[]).unwrap();
    let items: &[(u8, &[u8])] = &[
        (sdes::CNAME, b"user@host"),
        (sdes::TOOL, b"rtpsynth"),
        (sdes::NOTE, b""),
    ];
    let items2: &[(u8, &[u8])] = &[(sdes::NAME, b"abc")];
    w.sdes(&[
        SdesChunk { ssrc: 1, items },
        SdesChunk {
            ssrc: 2,
            items: items2,
        },
        SdesChunk {
            ssrc: 3,
            items: &[],
        },
    ])
    .unwrap();
    w.bye(&[1, 2], Some(b"shutting down")).unwrap();
    w.bye(&[], None).unwrap();
    w.app(5, 9, *b"TEST", &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let n = w.len();
    assert_eq!(n % 4, 0);
    let pkts = collect(&buf[..n]);
    assert_eq!(pkts.len(), 5);
    let Packet::Sdes(s) = pkts[1] else { panic!() };
    assert_eq!(s.chunks(), 3);
    let got: Vec<_> = s
        .items()
        .map(|i| (i.ssrc, i.kind, i.text.to_vec()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, sdes::CNAME, b"user@host".to_vec()),
            (1, sdes::TOOL, b"rtpsynth".to_vec()),
            (1, sdes::NOTE, vec![]),
            (2, sdes::NAME, b"abc".to_vec()),
        ]
    );
    assert_eq!(s.cname().unwrap().text, b"user@host");
    let Packet::Bye { ssrcs, reason } = pkts[2] else {
        panic!()
    };
    assert_eq!(
        (ssrcs.iter().collect::<Vec<_>>(), reason),
        (vec![1, 2], Some(&b"shutting down"[..]))
    );
    let Packet::Bye { ssrcs, reason } = pkts[3] else {
        panic!()
    };
    assert_eq!((ssrcs.len(), reason), (0, None));
    assert_eq!(
        pkts[4],
        Packet::App {
            subtype: 5,
            ssrc: 9,
            name: *b"TEST",
            data: &[1, 2, 3, 4, 5, 6, 7, 8]
        }
    );
    assert_eq!(check_compound(&buf[..n]), Ok(5));
}

#[test]
fn sdes_item_exactly_filling_a_word_gets_a_terminating_word() {
    // 4 ssrc + 2 + 2 text = 8: the terminator needs a word of its own.
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    w.sdes(&[SdesChunk {
        ssrc: 7,
        items: &[(sdes::CNAME, b"ab")],
    }])
    .unwrap();
    assert_eq!(w.len(), 4 + 12);
    assert_eq!(&buf[12..16], &[0, 0, 0, 0]);
    let p = collect(&buf[..16]);
    let Packet::Sdes(s) = p[0] else { panic!() };
    assert_eq!(s.cname().unwrap().text, b"ab");
}

#[test]
fn feedback_round_trip() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    let lost = [100u16, 101, 103, 116, 117, 200, 65535, 0, 1];
    w.nack(1, 2, &lost).unwrap();
    w.pli(3, 4).unwrap();
    w.fir(5, &[(6, 7), (8, 9)]).unwrap();
    let n = w.len();
    let pkts = collect(&buf[..n]);
    let Packet::Nack { sender, media, fci } = pkts[0] else {
        panic!()
    };
    assert_eq!((sender, media), (1, 2));
    // 100 covers 101, 103, 116 (bit 15); 117 starts a new entry; 200; 65535 covers 0 and 1.
    assert_eq!(fci.len(), 4 * 4);
    assert_eq!(&fci[0..4], &[0, 100, 0x80, 0x05]);
    assert_eq!(nack_seqs(fci).collect::<Vec<_>>(), lost);
    assert_eq!(
        pkts[1],
        Packet::Pli {
            sender: 3,
            media: 4
        }
    );
    let Packet::Fir { sender, media, fci } = pkts[2] else {
        panic!()
    };
    assert_eq!((sender, media), (5, 0));
    assert_eq!(fir_entries(fci).collect::<Vec<_>>(), vec![(6, 7), (8, 9)]);
    // Unsorted input is still complete.
    let mut w = Writer::new(&mut buf);
    w.nack(1, 2, &[5, 3, 4, 3]).unwrap();
    let n = w.len();
    let Packet::Nack { fci, .. } = collect(&buf[..n])[0] else {
        panic!()
    };
    let mut got: Vec<_> = nack_seqs(fci).collect();
    got.sort();
    got.dedup();
    assert_eq!(got, vec![3, 4, 5]);
}

#[test]
fn padding_only_on_the_last() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    w.rr(1, &[block(1)]).unwrap();
    w.sdes(&[SdesChunk {
        ssrc: 1,
        items: &[(sdes::CNAME, b"x")],
    }])
    .unwrap();
    let before = w.len();
    w.pad(64).unwrap();
    let n = w.len();
    assert_eq!(n % 64, 0);
    assert!(n > before);
    assert_eq!(buf[n - 1] as usize, n - before);
    assert_eq!(w_err_after_pad(&mut [0u8; 64]), Err(BuildError::Padded));
    let pkts = collect(&buf[..n]);
    let Packet::Sdes(s) = pkts[1] else { panic!() };
    assert_eq!(s.cname().unwrap().text, b"x");
    assert_eq!(check_compound(&buf[..n]), Ok(2));
    // Padding bit on the first of two packets.
    let mut bad = buf[..n].to_vec();
    bad[0] |= 0x20;
    assert_eq!(
        Compound::new(&bad).next(),
        Some(Err(ParseError {
            kind: ParseErrorKind::PaddingNotLast,
            offset: 0
        }))
    );
}

fn w_err_after_pad(buf: &mut [u8]) -> Result<(), BuildError> {
    let mut w = Writer::new(buf);
    w.rr(1, &[]).unwrap();
    w.pad(16).unwrap();
    w.rr(1, &[])
}

#[test]
fn pad_when_already_aligned_adds_nothing() {
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    w.rr(1, &[]).unwrap();
    w.pad(8).unwrap();
    assert_eq!(w.len(), 8);
    assert_eq!(buf[0] & 0x20, 0);
    assert_eq!(Writer::new(&mut buf).pad(6), Err(BuildError::Invalid));
}

#[test]
fn builder_errors() {
    let mut small = [0u8; 20];
    let mut w = Writer::new(&mut small);
    assert_eq!(w.rr(1, &[block(1)]), Err(BuildError::NoRoom));
    assert_eq!(w.len(), 0);
    w.rr(1, &[]).unwrap();
    let long = [b'a'; 256];
    assert_eq!(
        w.sdes(&[SdesChunk {
            ssrc: 1,
            items: &[(1, &long)]
        }]),
        Err(BuildError::Invalid)
    );
    assert_eq!(
        w.sdes(&[SdesChunk {
            ssrc: 1,
            items: &[(0, b"x")]
        }]),
        Err(BuildError::Invalid)
    );
    assert_eq!(w.bye(&[1], Some(&long)), Err(BuildError::Invalid));
    assert_eq!(w.app(32, 1, *b"ABCD", &[]), Err(BuildError::Invalid));
    assert_eq!(w.app(1, 1, *b"ABCD", &[1, 2]), Err(BuildError::Invalid));
    assert_eq!(w.nack(1, 2, &[]), Err(BuildError::Invalid));
    assert_eq!(w.fir(1, &[]), Err(BuildError::Invalid));
    assert_eq!(w.bye(&[0; 32], None), Err(BuildError::TooMany));
    assert_eq!(w.len(), 8);
}

fn err(buf: &[u8]) -> ParseErrorKind {
    for p in Compound::new(buf) {
        if let Err(e) = p {
            return e.kind;
        }
    }
    panic!("no error in {buf:?}");
}

#[test]
fn malformed_shapes() {
    use ParseErrorKind::*;
    assert_eq!(err(&[]), Truncated);
    assert_eq!(err(&[0x80, 201, 0]), Truncated);
    assert_eq!(err(&[0x40, 201, 0, 1, 0, 0, 0, 1]), BadVersion);
    assert_eq!(err(&[0x80, 201, 0, 2, 0, 0, 0, 1]), LengthPastBuffer);
    // A valid RR followed by 2 stray bytes.
    assert_eq!(err(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201]), Truncated);
    // RR claiming one block with none.
    assert_eq!(err(&[0x81, 201, 0, 1, 0, 0, 0, 1]), CountMismatch);
    // RR without its SSRC.
    assert_eq!(err(&[0x80, 201, 0, 0]), TooShort);
    // SR with only 4 words of sender info.
    let mut sr = vec![0x80, 200, 0, 4];
    sr.extend([0; 16]);
    assert_eq!(err(&sr), TooShort);
    // Padding: count 0, count past the body.
    assert_eq!(err(&[0xa0, 201, 0, 1, 0, 0, 0, 0]), BadPadding);
    assert_eq!(err(&[0xa0, 201, 0, 1, 0, 0, 0, 9]), BadPadding);
    // Padding that eats into the RR's SSRC.
    assert_eq!(err(&[0xa0, 201, 0, 1, 0, 0, 0, 2]), TooShort);
    // SDES: chunk count beyond the body, item past the end, missing terminator.
    assert_eq!(
        err(&[0x82, 202, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]),
        CountMismatch
    );
    assert_eq!(err(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', 0]), BadSdes);
    assert_eq!(
        err(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b']),
        BadSdes
    );
    // SDES with bytes after its chunks.
    assert_eq!(
        err(&[0x81, 202, 0, 3, 0, 0, 0, 1, 1, 1, b'a', 0, 0, 0, 0, 0]),
        CountMismatch
    );
    // BYE: SSRC count beyond the body; reason past the body.
    assert_eq!(err(&[0x82, 203, 0, 1, 0, 0, 0, 1]), CountMismatch);
    assert_eq!(
        err(&[0x81, 203, 0, 2, 0, 0, 0, 1, 5, b'a', b'b', b'c']),
        BadBody
    );
    // APP without name.
    assert_eq!(err(&[0x80, 204, 0, 1, 0, 0, 0, 1]), TooShort);
    // Feedback without media SSRC; NACK and FIR without entries; FIR half entry.
    assert_eq!(err(&[0x81, 205, 0, 1, 0, 0, 0, 1]), TooShort);
    assert_eq!(err(&[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]), BadBody);
    assert_eq!(err(&[0x84, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]), BadBody);
    assert_eq!(
        err(&[0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]),
        BadBody
    );
}

#[test]
fn errors_carry_the_offset_and_stop_the_walk() {
    let mut buf = vec![0x80, 201, 0, 1, 0, 0, 0, 1];
    buf.extend([0x80, 201, 0, 9, 0, 0, 0, 1]);
    let mut c = Compound::new(&buf);
    assert!(matches!(c.next(), Some(Ok(Packet::Rr { ssrc: 1, .. }))));
    assert_eq!(
        c.next(),
        Some(Err(ParseError {
            kind: ParseErrorKind::LengthPastBuffer,
            offset: 8
        }))
    );
    assert_eq!(c.next(), None);
}

#[test]
fn unknown_types_and_fmts_are_passed_through() {
    // XR (207) and an RTPFB FMT 15 (transport-cc).
    let buf = [
        0x80, 207, 0, 1, 0, 0, 0, 1, 0x8f, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2,
    ];
    let p = collect(&buf);
    assert_eq!(
        p[0],
        Packet::Other {
            pt: 207,
            count: 0,
            body: &[0, 0, 0, 1]
        }
    );
    assert_eq!(p[1].pt(), 205);
    assert!(matches!(p[1], Packet::Other { count: 15, .. }));
}

#[test]
fn compound_rules() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    w.sdes(&[SdesChunk {
        ssrc: 1,
        items: &[(sdes::CNAME, b"x")],
    }])
    .unwrap();
    w.rr(1, &[]).unwrap();
    let n = w.len();
    assert_eq!(
        check_compound(&buf[..n]),
        Err(CompoundError::FirstNotReport)
    );
    let mut w = Writer::new(&mut buf);
    w.rr(1, &[]).unwrap();
    w.sdes(&[SdesChunk {
        ssrc: 1,
        items: &[(sdes::NAME, b"x")],
    }])
    .unwrap();
    let n = w.len();
    assert_eq!(check_compound(&buf[..n]), Err(CompoundError::NoCname));
    assert!(matches!(check_compound(&[]), Err(CompoundError::Parse(_))));
}

#[test]
fn demux_rfc5761() {
    assert!(is_rtcp(&[0x80, 200, 0, 6]));
    assert!(is_rtcp(&[0x81, 201, 0, 1, 0, 0, 0, 1]));
    assert!(is_rtcp(&[0x80, 223, 0, 0]));
    assert!(is_rtcp(&[0x80, 192, 0, 0]));
    assert!(!is_rtcp(&[0x80, 191, 0, 0]));
    assert!(!is_rtcp(&[0x80, 224, 0, 0]));
    // RTP PT 0 and PT 96 with marker.
    assert!(!is_rtcp(&[0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert!(!is_rtcp(&[0x80, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert!(!is_rtcp(&[0x80, 200]));
    assert!(!is_rtcp(&[0x00, 200, 0, 0]));
}

#[test]
fn never_panics_on_prefixes_and_flips() {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf);
    w.sr(1, &SenderInfo::default(), &[block(1), block(2)])
        .unwrap();
    w.sdes(&[SdesChunk {
        ssrc: 1,
        items: &[(sdes::CNAME, b"abc"), (sdes::TOOL, b"t")],
    }])
    .unwrap();
    w.bye(&[1], Some(b"bye")).unwrap();
    w.nack(1, 2, &[1, 2, 40]).unwrap();
    w.fir(1, &[(2, 3)]).unwrap();
    w.pad(32).unwrap();
    let n = w.len();
    let good = buf[..n].to_vec();
    assert_eq!(Compound::new(&good).filter(|p| p.is_ok()).count(), 5);
    for cut in 0..n {
        for p in Compound::new(&good[..cut]) {
            if let Ok(Packet::Sdes(s)) = p {
                s.items().count();
            }
        }
    }
    for i in 0..n {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            for p in Compound::new(&b) {
                match p {
                    Ok(Packet::Sdes(s)) => {
                        s.items().count();
                    }
                    Ok(Packet::Nack { fci, .. }) => {
                        nack_seqs(fci).count();
                    }
                    _ => {}
                }
            }
        }
    }
}
