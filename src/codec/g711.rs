//! G.711 companding.
//!
//! * µ-law exactly as the original's RtpUtils (python/RtpUtils_mod.c):
//!   bias 0x84, magnitude clipped to 32635 before biasing, full 16-bit
//!   input (no pre-scaling).
//! * A-law as ITU-T G.711 in the classic Sun `g711.c` reference (the revised
//!   version that shifts the input right by 3 first, so -1..-8 encode like
//!   0 with the negative sign: 0x55).
//!
//! The scalar functions are the definitions; the buffer forms use 64 Ki
//! entry encode tables and 256 entry decode tables, all computed at compile
//! time from the scalar functions (so they cannot disagree).

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// µ-law encode of one 16-bit sample (the original's `linear2ulaw_scalar`).
pub const fn linear2ulaw(sample: i16) -> u8 {
    let s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    let mut mag = if s < 0 { -s } else { s };
    if mag > ULAW_CLIP {
        mag = ULAW_CLIP;
    }
    mag += ULAW_BIAS;
    // Exponent: position of the highest set bit among bits 7..14, minus 7.
    // mag is in 0x84..=0x7fff, so bit 7 or a higher one is always set.
    let exponent = (31 - (mag as u32).leading_zeros() as i32) - 7;
    let mantissa = (mag >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// µ-law decode of one code word (the original's `ulaw2linear_scalar`).
pub const fn ulaw2linear(ulaw: u8) -> i16 {
    let u = !ulaw;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0f) as i32;
    let mag = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -mag as i16
    } else {
        mag as i16
    }
}

/// A-law encode of one 16-bit sample (Sun g711.c `linear2alaw`).
pub const fn linear2alaw(sample: i16) -> u8 {
    let v = (sample as i32) >> 3; // 13-bit value, floor division
    let (mask, mag) = if v >= 0 { (0xd5, v) } else { (0x55, -v - 1) };
    // Segment: smallest seg with mag <= 0x1f << seg (i.e. mag < 32 << seg).
    let seg = if mag < 32 {
        0
    } else {
        32 - (mag as u32).leading_zeros() as i32 - 5
    };
    let aval = if seg >= 8 {
        0x7f
    } else {
        let q = if seg < 2 {
            (mag >> 1) & 0x0f
        } else {
            (mag >> seg) & 0x0f
        };
        (seg << 4) | q
    };
    (aval ^ mask) as u8
}

/// A-law decode of one code word (Sun g711.c `alaw2linear`).
pub const fn alaw2linear(alaw: u8) -> i16 {
    let a = (alaw ^ 0x55) as i32;
    let seg = (a & 0x70) >> 4;
    let mut t = (a & 0x0f) << 4;
    t += if seg == 0 { 8 } else { 0x108 };
    if seg > 1 {
        t <<= seg - 1;
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

/// Encode tables are indexed by the sample's bit pattern (`s as u16`).
const fn enc_table(alaw: bool) -> [u8; 65536] {
    let mut t = [0u8; 65536];
    let mut i = 0;
    while i < 65536 {
        let s = i as u16 as i16;
        t[i] = if alaw { linear2alaw(s) } else { linear2ulaw(s) };
        i += 1;
    }
    t
}

const fn dec_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw2linear(i as u8)
        } else {
            ulaw2linear(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_ENC: [u8; 65536] = enc_table(false);
static ALAW_ENC: [u8; 65536] = enc_table(true);
static ULAW_DEC: [i16; 256] = dec_table(false);
static ALAW_DEC: [i16; 256] = dec_table(true);

#[inline(always)]
fn encode_buf(table: &[u8; 65536], input: &[i16], out: &mut [u8]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    // Unrolled by 8 so the loads, lookups and stores pipeline well.
    let mut ic = input.chunks_exact(8);
    let mut oc = out.chunks_exact_mut(8);
    for (i8, o8) in (&mut ic).zip(&mut oc) {
        // One 8-byte store instead of eight byte stores.
        let mut w = 0u64;
        for k in 0..8 {
            w |= (table[i8[k] as u16 as usize] as u64) << (8 * k);
        }
        o8.copy_from_slice(&w.to_le_bytes());
    }
    for (s, o) in ic.remainder().iter().zip(oc.into_remainder()) {
        *o = table[*s as u16 as usize];
    }
}

#[inline(always)]
fn decode_buf(table: &[i16; 256], input: &[u8], out: &mut [i16]) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    let mut ic = input.chunks_exact(8);
    let mut oc = out.chunks_exact_mut(8);
    for (i8, o8) in (&mut ic).zip(&mut oc) {
        // Two 8-byte stores instead of eight 2-byte stores.
        let mut lo = 0u64;
        let mut hi = 0u64;
        for k in 0..4 {
            lo |= (table[i8[k] as usize] as u16 as u64) << (16 * k);
            hi |= (table[i8[k + 4] as usize] as u16 as u64) << (16 * k);
        }
        o8[0] = lo as i16;
        o8[1] = (lo >> 16) as i16;
        o8[2] = (lo >> 32) as i16;
        o8[3] = (lo >> 48) as i16;
        o8[4] = hi as i16;
        o8[5] = (hi >> 16) as i16;
        o8[6] = (hi >> 32) as i16;
        o8[7] = (hi >> 48) as i16;
    }
    for (b, o) in ic.remainder().iter().zip(oc.into_remainder()) {
        *o = table[*b as usize];
    }
}

/// µ-law encode `min(input.len(), out.len())` samples.
pub fn linear2ulaw_buf(input: &[i16], out: &mut [u8]) {
    encode_buf(&ULAW_ENC, input, out)
}

/// µ-law decode `min(input.len(), out.len())` code words.
pub fn ulaw2linear_buf(input: &[u8], out: &mut [i16]) {
    decode_buf(&ULAW_DEC, input, out)
}

/// A-law encode `min(input.len(), out.len())` samples.
pub fn linear2alaw_buf(input: &[i16], out: &mut [u8]) {
    encode_buf(&ALAW_ENC, input, out)
}

/// A-law decode `min(input.len(), out.len())` code words.
pub fn alaw2linear_buf(input: &[u8], out: &mut [i16]) {
    decode_buf(&ALAW_DEC, input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Literal port of the original's loop-based µ-law encoder.
    fn ref_ulaw(sample: i64) -> u8 {
        let sign = if sample < 0 { 0x80 } else { 0 };
        let mut mag = sample.abs();
        if mag > 32635 {
            mag = 32635;
        }
        mag += 0x84;
        let (mut exponent, mut mask) = (7i64, 0x4000i64);
        while exponent > 0 && (mag & mask) == 0 {
            exponent -= 1;
            mask >>= 1;
        }
        let mantissa = (mag >> (exponent + 3)) & 0x0f;
        (!(sign | (exponent << 4) | mantissa) & 0xff) as u8
    }

    /// Sun g711.c with its segment-end search table.
    fn ref_alaw(pcm: i16) -> u8 {
        const SEG_AEND: [i32; 8] = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
        let mut v = (pcm as i32) >> 3;
        let mask = if v >= 0 {
            0xd5
        } else {
            v = -v - 1;
            0x55
        };
        let seg = SEG_AEND.iter().position(|&e| v <= e).unwrap_or(8) as i32;
        if seg >= 8 {
            return (0x7f ^ mask) as u8;
        }
        let mut a = seg << 4;
        a |= if seg < 2 {
            (v >> 1) & 0xf
        } else {
            (v >> seg) & 0xf
        };
        (a ^ mask) as u8
    }

    fn ref_alaw_dec(a: u8) -> i16 {
        let a = a ^ 0x55;
        let mut t = ((a & 0xf) as i32) << 4;
        let seg = ((a & 0x70) >> 4) as i32;
        match seg {
            0 => t += 8,
            1 => t += 0x108,
            _ => {
                t += 0x108;
                t <<= seg - 1;
            }
        }
        (if a & 0x80 != 0 { t } else { -t }) as i16
    }

    #[test]
    fn ulaw_matches_original_for_every_input() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(linear2ulaw(s), ref_ulaw(s as i64), "sample {s}");
        }
    }

    #[test]
    fn alaw_matches_sun_for_every_input() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(linear2alaw(s), ref_alaw(s), "sample {s}");
        }
        for a in 0..=255u8 {
            assert_eq!(alaw2linear(a), ref_alaw_dec(a), "code {a}");
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(linear2ulaw(0), 0xff);
        assert_eq!(linear2ulaw(-1), 0x7f);
        assert_eq!(linear2ulaw(32767), 0x80);
        assert_eq!(linear2ulaw(-32768), 0x00);
        assert_eq!(ulaw2linear(0xff), 0);
        assert_eq!(ulaw2linear(0x80), 32124);
        assert_eq!(ulaw2linear(0x00), -32124);
        assert_eq!(linear2alaw(0), 0xd5);
        assert_eq!(linear2alaw(-1), 0x55);
        assert_eq!(linear2alaw(32767), 0xaa);
        assert_eq!(linear2alaw(-32768), 0x2a);
        assert_eq!(alaw2linear(0xd5), 8);
        assert_eq!(alaw2linear(0x55), -8);
        assert_eq!(alaw2linear(0xaa), 32256);
        assert_eq!(alaw2linear(0x2a), -32256);
    }

    #[test]
    fn round_trips_are_stable() {
        for c in 0..=255u8 {
            // every code's decoded value encodes back to a code decoding alike
            assert_eq!(ulaw2linear(linear2ulaw(ulaw2linear(c))), ulaw2linear(c));
            assert_eq!(linear2alaw(alaw2linear(c)), c);
        }
    }

    #[test]
    fn buffers_match_scalars() {
        let input: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let mut u = vec![0u8; input.len()];
        let mut a = vec![0u8; input.len()];
        linear2ulaw_buf(&input, &mut u);
        linear2alaw_buf(&input, &mut a);
        for (i, &s) in input.iter().enumerate() {
            assert_eq!(u[i], linear2ulaw(s));
            assert_eq!(a[i], linear2alaw(s));
        }
        // odd lengths exercise the remainder path
        let codes: Vec<u8> = (0..=255u8).chain(0..=10).collect();
        let mut du = vec![0i16; codes.len()];
        let mut da = vec![0i16; codes.len()];
        ulaw2linear_buf(&codes, &mut du);
        alaw2linear_buf(&codes, &mut da);
        for (i, &c) in codes.iter().enumerate() {
            assert_eq!(du[i], ulaw2linear(c));
            assert_eq!(da[i], alaw2linear(c));
        }
        let mut short = [0u8; 3];
        linear2ulaw_buf(&input[..5], &mut short);
        assert_eq!(
            short,
            [
                linear2ulaw(input[0]),
                linear2ulaw(input[1]),
                linear2ulaw(input[2])
            ]
        );
    }
}
