//! VP8 RTP payload format (RFC 7741). Each packet carries the payload
//! descriptor with X=1, I=1 and a 15-bit PictureID; the first packet of a
//! frame has S=1 and partition index 0. Frames are split by size only (not
//! at partition boundaries), so every packet has partition index 0, which
//! RFC 7741 section 4.2 allows.

use super::{Corrupt, StartHint};

pub(crate) const DESCRIPTOR_LEN: usize = 4;

/// Packetize one frame; `emit(head, body, last)` as for H.264.
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
    let mut head = [0x90, 0x80, (pid >> 8) as u8, pid as u8];
    let mut pos = 0;
    loop {
        let end = (pos + size).min(frame.len());
        emit(&head, &frame[pos..end], end == frame.len());
        head[0] = 0x80;
        pos = end;
        if pos == frame.len() {
            break;
        }
    }
}

/// The parsed payload descriptor of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub start: bool,
    pub partition: u8,
    pub picture_id: Option<u16>,
    /// Offset of the VP8 payload in the RTP payload.
    pub len: usize,
}

pub(crate) fn parse(p: &[u8]) -> Result<Descriptor, Corrupt> {
    let b0 = *p.first().ok_or(Corrupt)?;
    let mut d = Descriptor {
        start: b0 & 0x10 != 0,
        partition: b0 & 0x07,
        picture_id: None,
        len: 1,
    };
    if b0 & 0x80 != 0 {
        let x = *p.get(1).ok_or(Corrupt)?;
        d.len = 2;
        if x & 0x80 != 0 {
            let m = *p.get(2).ok_or(Corrupt)?;
            if m & 0x80 != 0 {
                let lo = *p.get(3).ok_or(Corrupt)?;
                d.picture_id = Some(u16::from(m & 0x7f) << 8 | u16::from(lo));
                d.len = 4;
            } else {
                d.picture_id = Some(u16::from(m));
                d.len = 3;
            }
        }
        if x & 0x40 != 0 {
            d.len += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            d.len += 1; // TID|Y|KEYIDX
        }
    }
    if d.len >= p.len() {
        return Err(Corrupt);
    }
    Ok(d)
}

pub(crate) fn start_hint(p: &[u8]) -> StartHint {
    match parse(p) {
        Ok(d) if d.start && d.partition == 0 => StartHint::Yes,
        _ => StartHint::No,
    }
}

/// Rebuilds a frame from the payloads of its packets in order: the first
/// must start partition 0 and all must carry the same PictureID. Returns
/// whether it is a key frame.
pub(crate) fn depacketize<'a>(
    payloads: impl Iterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<bool, Corrupt> {
    out.clear();
    let mut pid = None;
    for (i, p) in payloads.enumerate() {
        let d = parse(p)?;
        if i == 0 {
            if !(d.start && d.partition == 0) {
                return Err(Corrupt);
            }
            pid = d.picture_id;
        } else if d.picture_id != pid {
            return Err(Corrupt);
        }
        out.extend_from_slice(&p[d.len..]);
    }
    out.first().map(|&b| is_key(b)).ok_or(Corrupt)
}

fn is_key(first: u8) -> bool {
    first & 1 == 0
}

/// Whether a VP8 frame is a key frame (frame tag bit 0 clear).
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|&b| is_key(b))
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
    fn descriptor_and_round_trip() {
        let frame: Vec<u8> = (0..2500u32).map(|i| (i * 13) as u8).collect();
        let pk = packets(&frame, 1188, 0x1234);
        assert_eq!(pk.len(), 3);
        assert_eq!(&pk[0].0[..4], &[0x90, 0x80, 0x92, 0x34]);
        assert_eq!(&pk[1].0[..4], &[0x80, 0x80, 0x92, 0x34]);
        assert!(pk.iter().all(|p| p.0.len() <= 1188));
        assert_eq!(
            pk.iter().map(|p| p.1).collect::<Vec<_>>(),
            [false, false, true]
        );
        let mut out = Vec::new();
        assert_eq!(depacketize(pk.iter().map(|x| &x.0[..]), &mut out), Ok(true));
        assert_eq!(out, frame);
        assert_eq!(start_hint(&pk[0].0), StartHint::Yes);
        assert_eq!(start_hint(&pk[1].0), StartHint::No);
        // a missing first packet or a foreign packet is caught
        assert!(depacketize(pk[1..].iter().map(|x| &x.0[..]), &mut out).is_err());
        let other = packets(&frame, 1188, 7);
        let mixed = [&pk[0].0[..], &other[1].0[..], &pk[2].0[..]];
        assert!(depacketize(mixed.into_iter(), &mut out).is_err());
    }

    #[test]
    fn parses_short_forms() {
        // no X: one byte
        assert_eq!(parse(&[0x10, 0xaa]).unwrap().len, 1);
        // X, I with 7-bit id, L, T
        let d = parse(&[0x90, 0xe0, 0x05, 0x11, 0x22, 0xaa]).unwrap();
        assert_eq!((d.len, d.picture_id), (5, Some(5)));
        assert!(parse(&[0x90, 0x80, 0x81]).is_err());
        assert!(parse(&[0x90]).is_err());
        assert!(parse(&[]).is_err());
    }
}
