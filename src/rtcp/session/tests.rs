//! Session behaviour: report contents, scheduling, RTT, events.

use super::*;
use crate::rtcp::packet::{Compound, Packet};
use crate::rtcp::timing::COMPENSATION;

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const WALL: u64 = 1_700_000_000 * S;

fn session(ssrc: u32, cname: &[u8], now: u64) -> Session {
    let mut s = Session::new(
        &SessionConfig {
            ssrc,
            cname,
            clock_rate: 8000,
            session_bw_bps: 0,
            max_sources: 256,
            seed: 1,
        },
        now,
    )
    .unwrap();
    s.set_random(Some(Box::new(|| 0.5)));
    s
}

fn rtp(ssrc: u32, seq: u16, ts: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend([0xffu8; 160]);
    p
}

fn packets(buf: &[u8]) -> Vec<Packet<'_>> {
    Compound::new(buf).map(|p| p.unwrap()).collect()
}

#[test]
fn config_is_checked() {
    let cfg = SessionConfig {
        ssrc: 1,
        cname: b"",
        clock_rate: 8000,
        session_bw_bps: 0,
        max_sources: 0,
        seed: 0,
    };
    assert_eq!(Session::new(&cfg, 0).unwrap_err(), SessionError::BadConfig);
    let long = [b'a'; 256];
    assert!(Session::new(
        &SessionConfig {
            cname: &long,
            ..cfg
        },
        0
    )
    .is_err());
    assert!(Session::new(
        &SessionConfig {
            cname: b"x",
            max_sources: MAX_SOURCES_LIMIT + 1,
            ..cfg
        },
        0
    )
    .is_err());
    assert!(Session::new(&SessionConfig { cname: b"x", ..cfg }, 0).is_ok());
}

#[test]
fn first_report_at_half_the_minimum_then_the_minimum() {
    let t0 = 100 * S;
    let mut s = session(1, b"a@b", t0);
    // Session::new drew the first interval from the seeded generator, in
    // 0.5..1.5 of `first`.
    let mut buf = [0u8; 1500];
    // 2.5 s * (0.5 + 0.5) / (e - 1.5)
    let first = (2.5 / COMPENSATION * 1e9) as u64;
    let due = s.next_report_ns();
    assert!(due > t0 + first / 2 && due < t0 + first * 3 / 2 + 1);
    // The interval only changes at the next schedule: poll at `due`.
    assert_eq!(s.poll(due - 1, WALL, &mut buf), Ok(None));
    // Recomputed with r = 0.5 the interval is `first`: if the default draw
    // was later than that, the report goes out now; else it is put off to
    // t0 + first.
    let at = due.max(t0 + first);
    let mut got = s.poll(due, WALL, &mut buf).unwrap();
    if got.is_none() {
        assert_eq!(s.next_report_ns(), t0 + first);
        got = s.poll(at, WALL, &mut buf).unwrap();
    }
    assert!(got.is_some());
    // After the first report the minimum is 5 s: 5 * 1.0 / (e - 1.5).
    let next = (5.0 / COMPENSATION * 1e9) as u64;
    assert_eq!(s.next_report_ns(), at + next);
}

#[test]
fn rr_with_cname_when_not_sending_sr_when_sending() {
    let mut s = session(0x1111, b"me@host", 0);
    let mut buf = [0u8; 1500];
    let n = s.report(S, WALL, &mut buf).unwrap();
    assert_eq!(check(&buf[..n]), 2);
    let p = packets(&buf[..n]);
    assert!(matches!(p[0], Packet::Rr { ssrc: 0x1111, .. }));
    let Packet::Sdes(sd) = p[1] else { panic!() };
    assert_eq!(sd.cname().unwrap().text, b"me@host");
    assert_eq!(sd.cname().unwrap().ssrc, 0x1111);

    // Send 50 packets of 160 octets, 20 ms apart, ts from 1000.
    for i in 0..50u16 {
        s.on_rtp_sent(
            &rtp(0x1111, i, 1000 + 160 * i as u32),
            S + i as u64 * 20 * MS,
        )
        .unwrap();
    }
    // Report 10 ms after the last packet: ts + 80.
    let now = S + 49 * 20 * MS + 10 * MS;
    let n = s.report(now, WALL + 500 * MS, &mut buf).unwrap();
    let p = packets(&buf[..n]);
    let Packet::Sr {
        ssrc, info, blocks, ..
    } = p[0]
    else {
        panic!()
    };
    assert_eq!(ssrc, 0x1111);
    assert_eq!((info.packets, info.octets), (50, 8000));
    assert_eq!(info.rtp_ts, 1000 + 160 * 49 + 80);
    assert_eq!(
        info.ntp,
        ((1_700_000_000u64 + 2_208_988_800) << 32) | 0x8000_0000
    );
    assert_eq!(blocks.len(), 0);
    assert_eq!(s.sender_stats().packets, 50);
    // Nothing sent since: RR again.
    let n = s.report(now + S, WALL, &mut buf).unwrap();
    assert!(matches!(packets(&buf[..n])[0], Packet::Rr { .. }));
    assert_eq!(s.rtcp_counts(), (3, 0));
}

fn check(buf: &[u8]) -> usize {
    crate::rtcp::packet::check_compound(buf).unwrap()
}

#[test]
fn two_sessions_exchange_reports_and_measure_rtt() {
    // A sends RTP to B; each leg of the path takes 10 ms.
    let mut a = session(0xaaaa, b"a", 0);
    let mut b = session(0xbbbb, b"b", 0);
    let mut buf = [0u8; 1500];
    for i in 0..100u16 {
        let t = i as u64 * 20 * MS;
        let pkt = rtp(0xaaaa, i, 160 * i as u32);
        a.on_rtp_sent(&pkt, t).unwrap();
        if i != 50 && i != 51 {
            b.on_rtp_received(&pkt, t + 10 * MS).unwrap();
        }
    }
    let t_sr = 2 * S;
    let n = a.report(t_sr, WALL, &mut buf).unwrap();
    assert_eq!(b.on_rtcp(&buf[..n], t_sr + 10 * MS), Ok(2));
    let ra = b.remote(0xaaaa).unwrap();
    assert_eq!(ra.cname(), b"a");
    assert_eq!(ra.last_sr.unwrap().0.packets, 100);
    // B reports 490 ms after the SR arrived.
    let t_rr = t_sr + 500 * MS;
    let n = b.report(t_rr, WALL, &mut buf).unwrap();
    let p = packets(&buf[..n]);
    let Packet::Rr { blocks, .. } = p[0] else {
        panic!()
    };
    let blk = blocks.get(0).unwrap();
    assert_eq!(blk.ssrc, 0xaaaa);
    assert_eq!(blk.cumulative_lost, 2);
    assert_eq!(blk.fraction_lost, (2 * 256 / 100) as u8);
    assert_eq!(blk.ext_highest_seq, 99);
    assert_eq!(blk.lsr, ((WALL / S + 2_208_988_800) as u32) << 16);
    assert_eq!(blk.dlsr, (490 * 65536 / 1000) as u32);
    a.on_rtcp(&buf[..n], t_rr + 10 * MS).unwrap();
    let rb = a.remote(0xbbbb).unwrap();
    let (about_us, _) = rb.report_about_us.unwrap();
    assert_eq!(about_us.cumulative_lost, 2);
    // RTT = A - LSR - DLSR = 20 ms, give or take the 1/65536 s of DLSR.
    let rtt = rb.rtt_ns.unwrap();
    assert!(rtt.abs_diff(20 * MS) < 20_000, "rtt {rtt}");
    assert_eq!(b.rtcp_counts(), (1, 1));
    assert_eq!(rb.rtcp_packets, 1);
}

#[test]
fn events_new_source_change_collision_bye() {
    let mut s = session(7, b"me", 0);
    s.on_rtp_received(&rtp(100, 1, 0), MS).unwrap();
    s.on_rtp_received(&rtp(100, 2, 160), 2 * MS).unwrap();
    assert_eq!(s.next_event(), Some(Event::NewSource(100)));
    assert_eq!(s.next_event(), None);
    s.on_rtp_received(&rtp(200, 9, 0), 3 * MS).unwrap();
    assert_eq!(s.next_event(), Some(Event::NewSource(200)));
    assert_eq!(
        s.next_event(),
        Some(Event::SsrcChanged { old: 100, new: 200 })
    );
    // Our own SSRC from elsewhere: reported once, not counted.
    assert_eq!(
        s.on_rtp_received(&rtp(7, 1, 0), 4 * MS),
        Ok(SeqStatus::Jump)
    );
    s.on_rtp_received(&rtp(7, 2, 0), 5 * MS).unwrap();
    assert_eq!(s.next_event(), Some(Event::Collision(7)));
    assert_eq!(s.next_event(), None);
    assert!(s.remote(7).is_none());
    s.change_ssrc(8);
    assert_eq!(s.ssrc(), 8);
    // A CNAME other than ours for our new SSRC is a collision too.
    let mut buf = [0u8; 200];
    let mut peer = session(8, b"someone-else", 0);
    let n = peer.report(S, WALL, &mut buf).unwrap();
    s.on_rtcp(&buf[..n], S).unwrap();
    assert_eq!(s.next_event(), Some(Event::Collision(8)));
    // BYE from 200.
    let mut p200 = session(200, b"p", 0);
    let n = p200.bye(S, WALL, Some(b"done"), &mut buf).unwrap();
    let pk = packets(&buf[..n]);
    assert_eq!(pk.len(), 3);
    assert!(matches!(
        pk[2],
        Packet::Bye {
            reason: Some(b"done"),
            ..
        }
    ));
    assert_eq!(p200.poll(10 * S, WALL, &mut buf), Err(SessionError::Closed));
    assert_eq!(
        p200.report(10 * S, WALL, &mut buf),
        Err(SessionError::Closed)
    );
    s.on_rtcp(&buf[..n], S).unwrap();
    assert_eq!(s.next_event(), Some(Event::Bye(200)));
    assert!(s.remote(200).unwrap().left);
}

#[test]
fn seq_restart_event() {
    let mut s = session(7, b"me", 0);
    for (i, q) in [1u16, 2, 3, 30000, 30001].iter().enumerate() {
        s.on_rtp_received(&rtp(5, *q, 0), i as u64 * MS).unwrap();
    }
    assert_eq!(s.next_event(), Some(Event::NewSource(5)));
    assert_eq!(s.next_event(), Some(Event::SeqRestart(5)));
}

#[test]
fn thirty_one_blocks_then_the_rest() {
    let mut s = session(1, b"me", 0);
    let mut buf = [0u8; 1500];
    for src in 0..40u32 {
        for q in 0..3u16 {
            s.on_rtp_received(&rtp(1000 + src, q, 160 * q as u32), q as u64 * 20 * MS)
                .unwrap();
        }
    }
    let n = s.report(S, WALL, &mut buf).unwrap();
    let Packet::Rr { blocks, .. } = packets(&buf[..n])[0] else {
        panic!()
    };
    assert_eq!(blocks.len(), 31);
    let first: Vec<u32> = blocks.iter().map(|b| b.ssrc).collect();
    assert_eq!(first, (1000..1031).collect::<Vec<_>>());
    let n = s.report(2 * S, WALL, &mut buf).unwrap();
    let Packet::Rr { blocks, .. } = packets(&buf[..n])[0] else {
        panic!()
    };
    assert_eq!(
        blocks.iter().map(|b| b.ssrc).collect::<Vec<_>>(),
        (1031..1040).collect::<Vec<_>>()
    );
    // Nobody sent since: no blocks.
    let n = s.report(3 * S, WALL, &mut buf).unwrap();
    let Packet::Rr { blocks, .. } = packets(&buf[..n])[0] else {
        panic!()
    };
    assert_eq!(blocks.len(), 0);
}

#[test]
fn report_that_does_not_fit_changes_nothing() {
    let mut s = session(1, b"me", 0);
    for q in 0..3u16 {
        s.on_rtp_received(&rtp(9, q, 0), 0).unwrap();
    }
    let mut small = [0u8; 40];
    assert_eq!(
        s.report(S, WALL, &mut small),
        Err(SessionError::Build(BuildError::NoRoom))
    );
    let mut buf = [0u8; 200];
    let n = s.report(S, WALL, &mut buf).unwrap();
    let Packet::Rr { blocks, .. } = packets(&buf[..n])[0] else {
        panic!()
    };
    assert_eq!(blocks.len(), 1);
}

#[test]
fn reconsideration_puts_the_report_off_when_members_join() {
    let mut s = session(1, b"me", 0);
    let due = s.next_report_ns();
    let mut buf = [0u8; 1500];
    // 200 members report before our first report is due.
    for m in 0..200u32 {
        let mut p = session(5000 + m, b"member-with-a-longish-cname@example.org", 0);
        let n = p.report(S, WALL, &mut buf).unwrap();
        s.on_rtcp(&buf[..n], S).unwrap();
    }
    assert_eq!(s.poll(due, WALL, &mut buf), Ok(None));
    // Receivers share 75 % of 500 B/s among 201 members; the initial
    // minimum no longer decides.
    let later = s.next_report_ns();
    assert!(later > due + 10 * S, "{later} {due}");
    assert!(s.poll(later, WALL, &mut buf).unwrap().is_some());
}

#[test]
fn silent_sources_time_out() {
    let mut s = session(1, b"me", 0);
    let mut buf = [0u8; 1500];
    s.on_rtp_received(&rtp(9, 0, 0), 0).unwrap();
    s.next_event();
    s.report(20 * S, WALL, &mut buf).unwrap();
    assert!(s.remote(9).is_some());
    s.report(30 * S, WALL, &mut buf).unwrap();
    assert!(s.remote(9).is_none());
    assert_eq!(s.next_event(), Some(Event::Timeout(9)));
}

#[test]
fn malformed_rtcp_takes_what_came_before() {
    let mut s = session(1, b"me", 0);
    let mut buf = [0u8; 200];
    let mut p = session(2, b"p", 0);
    let n = p.report(S, WALL, &mut buf).unwrap();
    let mut bad = buf[..n].to_vec();
    bad.extend([0x80, 201, 0, 9]);
    assert!(matches!(s.on_rtcp(&bad, S), Err(SessionError::Parse(_))));
    assert_eq!(s.remote(2).unwrap().cname(), b"p");
    assert_eq!(s.on_rtp_received(&[0x80, 0], 0), Err(SessionError::NotRtp));
    assert_eq!(s.on_rtp_sent(&[0x40; 12], 0), Err(SessionError::NotRtp));
}

#[test]
fn table_full_drops_new_sources() {
    let mut s = Session::new(
        &SessionConfig {
            ssrc: 1,
            cname: b"x",
            clock_rate: 8000,
            session_bw_bps: 64000,
            max_sources: 2,
            seed: 3,
        },
        0,
    )
    .unwrap();
    for src in 10..14 {
        s.on_rtp_received(&rtp(src, 0, 0), 0).unwrap();
    }
    assert_eq!((s.remotes().len(), s.sources_dropped()), (2, 2));
}

#[test]
fn default_random_intervals_spread_over_0_5_to_1_5() {
    let mut s = Session::new(
        &SessionConfig {
            ssrc: 1,
            cname: b"x",
            clock_rate: 8000,
            session_bw_bps: 0,
            max_sources: 0,
            seed: 42,
        },
        0,
    )
    .unwrap();
    let mut buf = [0u8; 200];
    let td = 5.0 / COMPENSATION;
    let (mut lo, mut hi) = (f64::MAX, 0f64);
    let mut now = S;
    for _ in 0..200 {
        s.report(now, WALL, &mut buf).unwrap();
        let t = (s.next_report_ns() - now) as f64 / 1e9;
        lo = lo.min(t);
        hi = hi.max(t);
        now = s.next_report_ns();
    }
    assert!(lo >= td * 0.5 && hi <= td * 1.5);
    assert!(lo < td * 0.6 && hi > td * 1.4, "{lo} {hi}");
}
