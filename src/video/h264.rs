//! H.264 RTP payload format (RFC 6184), packetization-mode 1: single NAL
//! unit packets, STAP-A aggregation and FU-A fragmentation.

use super::annexb::{self, nal_units, write_nal};
use super::{Corrupt, StartHint};

const STAP_A: u8 = 24;
const FU_A: u8 = 28;
const IDR: u8 = 5;

/// Packetize one access unit given in Annex B. `emit(head, body, last)` is
/// called for each RTP payload, which is `head` followed by `body`;
/// `max_payload` bounds `head.len() + body.len()` and must be at least 3.
/// `scratch` is reused for STAP-A payloads.
pub(crate) fn packetize(
    au: &[u8],
    max_payload: usize,
    scratch: &mut Vec<u8>,
    group: &mut Vec<(usize, usize)>,
    mut emit: impl FnMut(&[u8], &[u8], bool),
) {
    // NAL units as (offset, len) into `au`, so the list can be kept between
    // calls without borrowing the access unit.
    group.clear();
    let base = au.as_ptr() as usize;
    let mut nals = nal_units(au).peekable();
    // small NAL units waiting to be aggregated
    let mut agg_len = 1usize;
    while let Some(nal) = nals.next() {
        let more = nals.peek().is_some();
        let off = nal.as_ptr() as usize - base;
        if nal.len() <= max_payload {
            if !group.is_empty() && agg_len + 2 + nal.len() > max_payload {
                flush(au, group, scratch, false, &mut emit);
                agg_len = 1;
            }
            group.push((off, nal.len()));
            agg_len += 2 + nal.len();
            if !more {
                flush(au, group, scratch, true, &mut emit);
            }
            continue;
        }
        if !group.is_empty() {
            flush(au, group, scratch, false, &mut emit);
            agg_len = 1;
        }
        fragment(nal, max_payload, !more, &mut emit);
    }
}

fn flush(
    au: &[u8],
    group: &mut Vec<(usize, usize)>,
    scratch: &mut Vec<u8>,
    last: bool,
    emit: &mut impl FnMut(&[u8], &[u8], bool),
) {
    if let [(off, len)] = group[..] {
        emit(&[], &au[off..off + len], last);
    } else {
        scratch.clear();
        // F is the OR and NRI the maximum of the aggregated units'.
        let (mut f, mut nri) = (0u8, 0u8);
        for &(off, _) in group.iter() {
            f |= au[off] & 0x80;
            nri = nri.max(au[off] & 0x60);
        }
        scratch.push(f | nri | STAP_A);
        for &(off, len) in group.iter() {
            scratch.extend_from_slice(&(len as u16).to_be_bytes());
            scratch.extend_from_slice(&au[off..off + len]);
        }
        emit(scratch, &[], last);
    }
    group.clear();
}

fn fragment(
    nal: &[u8],
    max_payload: usize,
    last_nal: bool,
    emit: &mut impl FnMut(&[u8], &[u8], bool),
) {
    let indicator = (nal[0] & 0xe0) | FU_A;
    let ty = nal[0] & 0x1f;
    let data = &nal[1..];
    let chunk = max_payload - 2;
    // Equal-sized fragments: the last one is not a runt.
    let n = data.len().div_ceil(chunk);
    let size = data.len().div_ceil(n);
    let mut pos = 0;
    while pos < data.len() {
        let end = (pos + size).min(data.len());
        let mut fu = ty;
        if pos == 0 {
            fu |= 0x80;
        }
        let is_end = end == data.len();
        if is_end {
            fu |= 0x40;
        }
        emit(&[indicator, fu], &data[pos..end], is_end && last_nal);
        pos = end;
    }
}

/// Whether a payload can start an access unit: an FU-A fragment other than
/// the first cannot; nor can a slice other than a picture's first (its
/// first_mb_in_slice, ue(v), is not 0: the header's first bit is 0), nor
/// an end of sequence or stream. Anything else may or may not.
pub(crate) fn start_hint(p: &[u8]) -> StartHint {
    // the first NAL header and the byte after it
    let (nal, next) = match p {
        [i, h, ..] if i & 0x1f == FU_A => {
            if h & 0x80 == 0 {
                return StartHint::No;
            }
            (h & 0x1f, p.get(2))
        }
        [i, _, _, n, ..] if i & 0x1f == STAP_A => (n & 0x1f, p.get(4)),
        [n, ..] => (n & 0x1f, p.get(1)),
        [] => return StartHint::No,
    };
    match nal {
        1..=5 if next.is_some_and(|b| b & 0x80 == 0) => StartHint::No,
        10 | 11 => StartHint::No,
        _ => StartHint::Maybe,
    }
}

/// Rebuilds an access unit in Annex B (4-byte start codes) from the
/// payloads of its packets in sequence order. Returns whether it holds an
/// IDR slice. Any malformed or unsupported payload, or an FU-A that is not
/// complete from its start to its end fragment, makes the whole access unit
/// `Corrupt` (and `out` is then unspecified).
pub(crate) fn depacketize<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<bool, Corrupt> {
    out.clear();
    let mut key = false;
    let mut fu_type: Option<u8> = None;
    for p in payloads {
        let Some(&h) = p.first() else {
            return Err(Corrupt);
        };
        match h & 0x1f {
            1..=23 => {
                if fu_type.is_some() {
                    return Err(Corrupt);
                }
                key |= h & 0x1f == IDR;
                write_nal(out, p);
            }
            STAP_A => {
                if fu_type.is_some() {
                    return Err(Corrupt);
                }
                let mut rest = &p[1..];
                if rest.is_empty() {
                    return Err(Corrupt);
                }
                while !rest.is_empty() {
                    let [a, b, tail @ ..] = rest else {
                        return Err(Corrupt);
                    };
                    let n = usize::from(u16::from_be_bytes([*a, *b]));
                    if n == 0 || n > tail.len() || tail[0] & 0x1f == 0 || tail[0] & 0x1f > 23 {
                        return Err(Corrupt);
                    }
                    key |= annexb::nal_type(tail) == IDR;
                    write_nal(out, &tail[..n]);
                    rest = &tail[n..];
                }
            }
            FU_A => {
                let [_, fu, data @ ..] = p else {
                    return Err(Corrupt);
                };
                let (s, e, ty) = (fu & 0x80 != 0, fu & 0x40 != 0, fu & 0x1f);
                if data.is_empty() || (s && e) || ty == 0 || ty > 23 {
                    return Err(Corrupt);
                }
                match (s, fu_type) {
                    (true, None) => {
                        out.extend_from_slice(&annexb::START_CODE);
                        out.push((h & 0xe0) | ty);
                        key |= ty == IDR;
                    }
                    (false, Some(t)) if t == ty => {}
                    _ => return Err(Corrupt),
                }
                out.extend_from_slice(data);
                fu_type = if e { None } else { Some(ty) };
            }
            _ => return Err(Corrupt),
        }
    }
    if fu_type.is_some() || out.is_empty() {
        return Err(Corrupt);
    }
    Ok(key)
}

/// Whether an Annex B access unit holds an IDR slice.
pub fn is_keyframe(au: &[u8]) -> bool {
    nal_units(au).any(|n| annexb::nal_type(n) == IDR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(au: &[u8], max: usize) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let (mut s, mut g) = (Vec::new(), Vec::new());
        packetize(au, max, &mut s, &mut g, |h, b, last| {
            let mut p = h.to_vec();
            p.extend_from_slice(b);
            out.push((p, last));
        });
        out
    }

    fn au(nals: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for n in nals {
            write_nal(&mut v, n);
        }
        v
    }

    #[test]
    fn aggregates_parameter_sets_and_fragments_big_slices() {
        let sps = [0x67u8, 0x42, 0xc0, 0x1e];
        let pps = [0x68u8, 0xce, 0x3c, 0x80];
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000).map(|i| (i * 7 % 251) as u8 + 1))
            .collect();
        let a = au(&[&sps, &pps, &idr]);
        let pk = packets(&a, 1188);
        assert_eq!(pk[0].0[0], 0x60 | 24, "STAP-A with the highest NRI");
        assert_eq!(&pk[0].0[1..3], &[0, 4]);
        assert_eq!(pk.len(), 1 + 3);
        assert!(pk.iter().all(|(p, _)| p.len() <= 1188));
        assert_eq!(pk[1].0[0], 0x60 | 28);
        assert_eq!(pk[1].0[1], 0x80 | 5);
        assert_eq!(pk[2].0[1], 5);
        assert_eq!(pk[3].0[1], 0x40 | 5);
        let marks: Vec<bool> = pk.iter().map(|x| x.1).collect();
        assert_eq!(marks, [false, false, false, true]);
        let mut out = Vec::new();
        assert_eq!(depacketize(pk.iter().map(|x| &x.0[..]), &mut out), Ok(true));
        assert_eq!(out, a);
    }

    #[test]
    fn single_nal_and_marker_on_aggregate() {
        let a = au(&[&[0x41, 1, 2, 3]]);
        let pk = packets(&a, 100);
        assert_eq!(pk, vec![(vec![0x41, 1, 2, 3], true)]);
        let a = au(&[&[0x06, 5, 5], &[0x41, 1, 2, 3]]);
        let pk = packets(&a, 100);
        assert_eq!(pk.len(), 1);
        assert!(pk[0].1);
        let mut out = Vec::new();
        assert_eq!(
            depacketize(pk.iter().map(|x| &x.0[..]), &mut out),
            Ok(false)
        );
        assert_eq!(out, a);
    }

    #[test]
    fn every_size_round_trips_at_small_mtus() {
        for max in [3usize, 4, 7, 50] {
            for len in 1..200usize {
                let nal: Vec<u8> = std::iter::once(0x41)
                    .chain((1..len).map(|i| i as u8 | 1))
                    .collect();
                let a = au(&[&[0x67, 9], &nal, &[0x68, 8]]);
                let pk = packets(&a, max);
                assert!(
                    pk.iter().all(|(p, _)| p.len() <= max),
                    "max {max} len {len}"
                );
                assert_eq!(pk.iter().filter(|x| x.1).count(), 1);
                assert!(pk.last().unwrap().1);
                let mut out = Vec::new();
                depacketize(pk.iter().map(|x| &x.0[..]), &mut out).unwrap();
                assert_eq!(out, a, "max {max} len {len}");
            }
        }
    }

    #[test]
    fn broken_fragments_are_corrupt() {
        let nal: Vec<u8> = [0x65, 0x88].into_iter().chain(1..=100u8).collect();
        let pk = packets(&au(&[&nal]), 30);
        let mut out = Vec::new();
        let all: Vec<&[u8]> = pk.iter().map(|x| &x.0[..]).collect();
        // (a lost middle fragment is invisible in the payloads: the
        // assembler's sequence numbers catch it)
        for skip in [0, all.len() - 1] {
            let some = all
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| *p);
            assert_eq!(depacketize(some, &mut out), Err(Corrupt));
        }
        for bad in [
            &[][..],
            &[0x18],
            &[0x18, 0, 5, 0x41],
            &[0x1c, 0x85],
            &[0x1c, 0xc5, 1],
            &[0x19, 1],
            &[0],
        ] {
            assert_eq!(
                depacketize([bad].into_iter(), &mut out),
                Err(Corrupt),
                "{bad:?}"
            );
        }
        assert_eq!(start_hint(all[1]), StartHint::No);
        assert_eq!(start_hint(all[0]), StartHint::Maybe);
        // a second slice (first_mb_in_slice != 0) never starts a picture
        assert_eq!(start_hint(&[0x41, 0x40, 1]), StartHint::No);
        assert_eq!(start_hint(&[0x41, 0x80, 1]), StartHint::Maybe);
        assert_eq!(start_hint(&[0x18, 0, 2, 0x41, 0x40]), StartHint::No);
        assert_eq!(start_hint(&[0x18, 0, 2, 0x67, 0x40]), StartHint::Maybe);
    }
}
