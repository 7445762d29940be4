//! The RFC 4733 telephone-event payload (section 2.3): one 4-byte block of
//! event code, end bit, volume and duration, and the names of the DTMF
//! events 0-15 (section 3.2).

/// Length of one event block.
pub const PAYLOAD_LEN: usize = 4;

/// Largest duration one segment can carry (RFC 4733 2.5.1.3: a longer event
/// continues in a new segment whose timestamp is this much later).
pub const MAX_SEGMENT_DURATION: u32 = 0xffff;

/// Largest volume: the field holds the power level as -0..-63 dBm0.
pub const MAX_VOLUME: u8 = 63;

/// The DTMF events 0-15 in event-code order.
const DTMF_CHARS: &[u8; 16] = b"0123456789*#ABCD";

/// One decoded event block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventPayload {
    /// Event code, 0-255 (0-15 are the DTMF digits).
    pub event: u8,
    /// The E bit: this packet reports the end of the event (or segment).
    pub end: bool,
    /// Power level in -dBm0, 0-63 (larger is quieter).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units, from the packet's timestamp.
    pub duration: u16,
}

/// Why a payload does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Fewer than 4 bytes.
    TooShort,
}

impl EventPayload {
    /// Encode into 4 bytes: event, E|R|volume, duration (network order). The
    /// R bit is sent as 0; a volume above 63 is clipped to 63.
    pub fn encode(&self) -> [u8; PAYLOAD_LEN] {
        let d = self.duration.to_be_bytes();
        let flags = ((self.end as u8) << 7) | self.volume.min(MAX_VOLUME);
        [self.event, flags, d[0], d[1]]
    }

    /// Decode the first block of a payload; the reserved bit is ignored as
    /// RFC 4733 asks. Bytes after the first 4 are not looked at.
    pub fn decode(b: &[u8]) -> Result<EventPayload, PayloadError> {
        if b.len() < PAYLOAD_LEN {
            return Err(PayloadError::TooShort);
        }
        Ok(EventPayload {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// The character of DTMF event `event` ('0'-'9', '*', '#', 'A'-'D'), or
/// None for events above 15.
pub fn dtmf_char(event: u8) -> Option<char> {
    DTMF_CHARS.get(event as usize).map(|&c| c as char)
}

/// The event code of a DTMF character (lower-case 'a'-'d' accepted too).
pub fn dtmf_event(c: char) -> Option<u8> {
    let up = c.to_ascii_uppercase();
    DTMF_CHARS
        .iter()
        .position(|&d| d as char == up)
        .map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip_and_layout() {
        let p = EventPayload {
            event: 11,
            end: true,
            volume: 10,
            duration: 0x0320,
        };
        assert_eq!(p.encode(), [11, 0x8a, 0x03, 0x20]);
        assert_eq!(EventPayload::decode(&p.encode()), Ok(p));
        for ev in [0u8, 15, 16, 255] {
            for end in [false, true] {
                for vol in [0u8, 63] {
                    for dur in [0u16, 1, 0xffff] {
                        let p = EventPayload {
                            event: ev,
                            end,
                            volume: vol,
                            duration: dur,
                        };
                        assert_eq!(EventPayload::decode(&p.encode()), Ok(p));
                    }
                }
            }
        }
    }

    #[test]
    fn reserved_bit_ignored_volume_clipped_short_rejected() {
        let p = EventPayload::decode(&[5, 0x40 | 0x3f, 0, 1, 0xff]).unwrap();
        assert_eq!((p.event, p.end, p.volume, p.duration), (5, false, 63, 1));
        let q = EventPayload {
            event: 1,
            end: false,
            volume: 200,
            duration: 0,
        };
        assert_eq!(q.encode()[1], 63);
        assert_eq!(
            EventPayload::decode(&[1, 2, 3]),
            Err(PayloadError::TooShort)
        );
        assert_eq!(EventPayload::decode(&[]), Err(PayloadError::TooShort));
    }

    #[test]
    fn dtmf_names() {
        let all: String = (0..16).map(|e| dtmf_char(e).unwrap()).collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(dtmf_char(16), None);
        for (i, c) in all.chars().enumerate() {
            assert_eq!(dtmf_event(c), Some(i as u8));
        }
        assert_eq!(dtmf_event('d'), Some(15));
        assert_eq!(dtmf_event('E'), None);
        assert_eq!(dtmf_event('5'), Some(5));
    }
}
