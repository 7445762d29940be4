//! Number of audio samples carried by a payload, per codec, with the
//! original's arithmetic (including G.722 counting at the 8 kHz RTP clock).

use super::pt;

pub const NSAMPLES_UNKNOWN: i32 = -1;

/// G.723.1 frame length from the two low bits of its first octet.
fn g723_frame_len(first: u8) -> Option<usize> {
    match first & 3 {
        0 => Some(24), // 6.3 kbit/s
        1 => Some(20), // 5.3 kbit/s
        2 => Some(4),  // SID
        _ => None,
    }
}

fn g723_samples(payload: &[u8]) -> i32 {
    let mut pos = 0usize;
    let mut samples = 0i32;
    while pos < payload.len() {
        samples = samples.wrapping_add(240);
        match g723_frame_len(payload[pos]) {
            Some(n) => pos += n,
            None => return NSAMPLES_UNKNOWN,
        }
    }
    samples
}

/// Samples in `payload` for payload type `pt`, or `NSAMPLES_UNKNOWN`.
#[inline]
pub fn count(payload_type: u8, payload: &[u8]) -> i32 {
    let n = payload.len();
    match payload_type {
        pt::PCMU | pt::PCMA | pt::G722 => n as i32,
        pt::G729 => ((n / 10) * 80 + if n % 10 == 0 { 0 } else { 80 }) as i32,
        pt::GSM => (160 * (n / 33)) as i32,
        pt::G723 => g723_samples(payload),
        _ => NSAMPLES_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_codec_counts() {
        assert_eq!(count(pt::PCMU, &[0; 160]), 160);
        assert_eq!(count(pt::PCMA, &[0; 80]), 80);
        assert_eq!(count(pt::G722, &[0; 160]), 160);
        assert_eq!(count(pt::G729, &[0; 20]), 160);
        assert_eq!(count(pt::G729, &[0; 22]), 240);
        assert_eq!(count(pt::GSM, &[0; 66]), 320);
        assert_eq!(count(pt::GSM, &[0; 32]), 0);
        assert_eq!(count(96, &[0; 10]), NSAMPLES_UNKNOWN);
    }

    #[test]
    fn g723_walks_frames() {
        // 24-byte 6.3k frame then a 4-byte SID
        let mut p = vec![0u8; 28];
        p[24] = 2;
        assert_eq!(count(pt::G723, &p), 480);
        // 5.3k frame, truncated: still counted once
        assert_eq!(count(pt::G723, &[1, 0, 0]), 240);
        // reserved code 3 makes the count unknown
        assert_eq!(count(pt::G723, &[3]), NSAMPLES_UNKNOWN);
    }
}
