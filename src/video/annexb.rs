//! H.264 Annex B byte streams (ITU-T H.264 annex B): splitting into NAL
//! units, writing with 4-byte start codes, and grouping a stream read from a
//! file into access units.

/// The start code this library writes before every NAL unit.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Position of the next `00 00 01` at or after `from`: (start of the start
/// code, first byte after it). A fourth leading zero belongs to the start
/// code (`00 00 00 01`), not to the NAL unit before it.
fn next_start_code(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 3 <= b.len() {
        // Skip fast over bytes that cannot end a start code.
        if b[i + 2] > 1 {
            i += 3;
            continue;
        }
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            let start = if i > from && b[i - 1] == 0 { i - 1 } else { i };
            return Some((start, i + 3));
        }
        i += 1;
    }
    None
}

/// The NAL units of an Annex B buffer, without start codes and without the
/// trailing zero bytes (trailing_zero_8bits) that may follow a NAL unit.
/// Bytes before the first start code are ignored; empty units are skipped.
pub fn nal_units(b: &[u8]) -> NalUnits<'_> {
    let pos = next_start_code(b, 0).map(|(_, p)| p).unwrap_or(b.len());
    NalUnits { b, pos }
}

/// Iterator returned by [`nal_units`].
pub struct NalUnits<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.b.len() {
            let (end, next) = match next_start_code(self.b, self.pos) {
                Some(x) => x,
                None => (self.b.len(), self.b.len()),
            };
            let mut nal = &self.b[self.pos..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            self.pos = next;
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// Append `nal` to `out` behind a 4-byte start code.
pub fn write_nal(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(nal);
}

/// NAL unit type (the low 5 bits of the header byte).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1f)
}

/// Splits an Annex B stream (a whole file) into access units, by the rules
/// of H.264 7.4.1.2.3 that matter for streams encoders write: an access
/// unit delimiter, SEI, SPS, PPS or prefix NAL starts a new one after a
/// slice, and so does a slice whose first_mb_in_slice is 0 (the first slice
/// of a primary picture). Each access unit is returned as its NAL units.
pub fn access_units(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut aus: Vec<Vec<&[u8]>> = Vec::new();
    let mut cur: Vec<&[u8]> = Vec::new();
    let mut seen_slice = false;
    for nal in nal_units(stream) {
        let t = nal_type(nal);
        let starts_au = match t {
            // first_mb_in_slice is ue(v); it is 0 exactly when the first bit
            // of the slice header is 1.
            1 | 5 => seen_slice && nal.get(1).is_some_and(|b| b & 0x80 != 0),
            6..=9 | 14..=18 => seen_slice,
            _ => false,
        };
        if starts_au && !cur.is_empty() {
            aus.push(std::mem::take(&mut cur));
            seen_slice = false;
        }
        if t == 1 || t == 5 {
            seen_slice = true;
        }
        cur.push(nal);
    }
    if !cur.is_empty() {
        aus.push(cur);
    }
    aus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let b = [
            9, 9, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 0, 0, 4, 0, 0,
        ];
        let n: Vec<&[u8]> = nal_units(&b).collect();
        assert_eq!(n, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0, 0, 4]]);
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
    }

    #[test]
    fn write_then_split_round_trips() {
        let nals: [&[u8]; 3] = [
            &[0x67, 0x42, 0, 0x1f],
            &[0x68, 0xce],
            &[0x65, 0x88, 0, 0, 3, 1],
        ];
        let mut out = Vec::new();
        for n in nals {
            write_nal(&mut out, n);
        }
        assert_eq!(&out[..5], &[0, 0, 0, 1, 0x67]);
        let back: Vec<&[u8]> = nal_units(&out).collect();
        assert_eq!(back, nals.to_vec());
    }

    #[test]
    fn groups_access_units() {
        let mut s = Vec::new();
        for n in [
            &[0x67, 1][..],
            &[0x68, 2],
            &[0x65, 0x80, 1],
            &[0x65, 0x40, 2], // second slice of the same picture
            &[0x41, 0x80, 3],
            &[0x06, 5],
            &[0x41, 0x80, 4],
        ] {
            write_nal(&mut s, n);
        }
        let aus = access_units(&s);
        assert_eq!(aus.len(), 3);
        assert_eq!(aus[0].len(), 4);
        assert_eq!(aus[1], vec![&[0x41, 0x80, 3][..]]);
        assert_eq!(aus[2].len(), 2);
    }
}
