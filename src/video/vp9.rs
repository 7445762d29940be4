//! VP9 RTP payload format (RFC 9628), non-flexible mode without layer
//! indices: each packet's descriptor is I=1 with a 15-bit PictureID, P=1
//! for inter frames, B on the first and E on the last packet of the frame.
//! The depacketizer also accepts the other descriptor fields (layer
//! indices, flexible-mode reference indices, scalability structure).

use super::{Corrupt, StartHint};

pub(crate) const DESCRIPTOR_LEN: usize = 3;

const I: u8 = 0x80;
const P: u8 = 0x40;
const L: u8 = 0x20;
const F: u8 = 0x10;
const B: u8 = 0x08;
const E: u8 = 0x04;
const V: u8 = 0x02;

pub(crate) fn packetize(
    frame: &[u8],
    max_payload: usize,
    picture_id: u16,
    mut emit: impl FnMut(&[u8], &[u8], bool),
) {
    let chunk = max_payload - DESCRIPTOR_LEN;
    let n = frame.len().div_ceil(chunk).max(1);
    let size = frame.len().div_ceil(n).max(1);
    let pid = (picture_id & 0x7fff) | 0x8000;
    let inter = if is_keyframe(frame) { 0 } else { P };
    let mut pos = 0;
    loop {
        let end = (pos + size).min(frame.len());
        let last = end == frame.len();
        let b0 = I | inter | if pos == 0 { B } else { 0 } | if last { E } else { 0 };
        emit(&[b0, (pid >> 8) as u8, pid as u8], &frame[pos..end], last);
        pos = end;
        if last {
            break;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub begin: bool,
    pub end: bool,
    pub spatial_id: u8,
    pub picture_id: Option<u16>,
    pub len: usize,
}

fn byte(p: &[u8], at: usize) -> Result<u8, Corrupt> {
    p.get(at).copied().ok_or(Corrupt)
}

pub(crate) fn parse(p: &[u8]) -> Result<Descriptor, Corrupt> {
    let b0 = byte(p, 0)?;
    let mut d = Descriptor {
        begin: b0 & B != 0,
        end: b0 & E != 0,
        spatial_id: 0,
        picture_id: None,
        len: 1,
    };
    if b0 & I != 0 {
        let m = byte(p, 1)?;
        if m & 0x80 != 0 {
            d.picture_id = Some(u16::from(m & 0x7f) << 8 | u16::from(byte(p, 2)?));
            d.len = 3;
        } else {
            d.picture_id = Some(u16::from(m));
            d.len = 2;
        }
    }
    if b0 & L != 0 {
        d.spatial_id = (byte(p, d.len)? >> 1) & 0x07;
        d.len += if b0 & F != 0 { 1 } else { 2 };
    }
    if b0 & F != 0 && b0 & P != 0 {
        // up to three reference indices, N bit set on all but the last
        for k in 0.. {
            if k == 3 {
                return Err(Corrupt);
            }
            let r = byte(p, d.len)?;
            d.len += 1;
            if r & 1 == 0 {
                break;
            }
        }
    }
    if b0 & V != 0 {
        let ss = byte(p, d.len)?;
        d.len += 1;
        let n_s = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            d.len += 4 * n_s;
        }
        if ss & 0x08 != 0 {
            let n_g = byte(p, d.len)?;
            d.len += 1;
            for _ in 0..n_g {
                let g = byte(p, d.len)?;
                d.len += 1 + usize::from((g >> 2) & 0x03);
            }
        }
    }
    if d.len >= p.len() {
        return Err(Corrupt);
    }
    Ok(d)
}

pub(crate) fn start_hint(p: &[u8]) -> StartHint {
    match parse(p) {
        Ok(d) if d.begin && d.spatial_id == 0 => StartHint::Yes,
        _ => StartHint::No,
    }
}

/// Rebuilds a picture: every layer frame in it must run from a B packet to
/// an E packet, all with the same PictureID.
pub(crate) fn depacketize<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<bool, Corrupt> {
    out.clear();
    let mut pid = None;
    let mut open = false;
    for (i, p) in payloads.enumerate() {
        let d = parse(p)?;
        if i == 0 {
            pid = d.picture_id;
        } else if d.picture_id != pid {
            return Err(Corrupt);
        }
        if d.begin == open {
            return Err(Corrupt);
        }
        open = !d.end;
        out.extend_from_slice(&p[d.len..]);
    }
    if open || out.is_empty() {
        return Err(Corrupt);
    }
    Ok(is_keyframe(out))
}

/// Whether a VP9 frame (or the first frame of a superframe) is a key frame,
/// from its uncompressed header.
pub fn is_keyframe(frame: &[u8]) -> bool {
    let Some(&b) = frame.first() else {
        return false;
    };
    if b >> 6 != 2 {
        return false;
    }
    let profile = (b >> 5) & 1 | ((b >> 4) & 1) << 1;
    let mut bit = 4;
    if profile == 3 {
        bit += 1;
    }
    let get = |k: u32| (b >> (7 - k)) & 1;
    // show_existing_frame, then frame_type (0 = key frame)
    get(bit) == 0 && get(bit + 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(frame: &[u8], max: usize, pid: u16) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        packetize(frame, max, pid, |h, b, last| {
            let mut p = h.to_vec();
            p.extend_from_slice(b);
            out.push((p, last));
        });
        out
    }

    #[test]
    fn keyframe_bits() {
        assert!(is_keyframe(&[0x82, 0x49]));
        assert!(!is_keyframe(&[0x86, 0]));
        assert!(!is_keyframe(&[0x88]));
        assert!(!is_keyframe(&[0x02]));
        assert!(is_keyframe(&[0xb0])); // profile 3, reserved bit, show_existing 0, key
    }

    #[test]
    fn descriptor_and_round_trip() {
        let mut key = vec![0x82u8, 0x49, 0x83, 0x42];
        key.extend((0..3000u32).map(|i| (i * 5) as u8));
        let pk = packets(&key, 1200, 0x7fff);
        assert_eq!(pk.len(), 3);
        assert_eq!(&pk[0].0[..3], &[0x88, 0xff, 0xff]);
        assert_eq!(pk[1].0[0], 0x80);
        assert_eq!(pk[2].0[0], 0x84);
        let mut out = Vec::new();
        assert_eq!(depacketize(pk.iter().map(|x| &x.0[..]), &mut out), Ok(true));
        assert_eq!(out, key);
        let inter = [0x86u8, 1, 2, 3];
        let pk = packets(&inter, 1200, 3);
        assert_eq!(pk.len(), 1);
        assert_eq!(&pk[0].0[..3], &[0xcc, 0x80, 3]);
        assert_eq!(
            depacketize(pk.iter().map(|x| &x.0[..]), &mut out),
            Ok(false)
        );
        assert!(depacketize([&[0xc8u8, 0x80, 3, 1][..]].into_iter(), &mut out).is_err());
    }

    #[test]
    fn parses_layers_and_scalability_structure() {
        // I (7-bit), L non-flexible (2 bytes), V with Y (1 layer) and G (1 group, 1 ref)
        let p = [0xaeu8, 0x05, 0x02, 0x09, 0x18, 0, 1, 0, 2, 1, 0x04, 7, 0xee];
        let d = parse(&p).unwrap();
        assert_eq!(d.len, 12);
        assert_eq!(d.spatial_id, 1);
        assert_eq!(start_hint(&p), StartHint::No);
        // flexible with three P_DIFFs then a fourth is an error
        assert_eq!(parse(&[0x50, 1, 1, 0, 9]).unwrap().len, 4);
        assert!(parse(&[0x50, 1, 1, 1, 1, 9]).is_err());
    }
}
