//! RTP wire format (RFC 3550 section 5.1): header parsing, the static
//! payload-type profile table and per-codec sample counting.

pub mod parse;
pub mod profile;
pub mod samples;

pub use parse::{parse, ParseError, ParseErrorKind, Parsed};
pub use profile::{Profile, PtKind, PROFILES};

/// Size of the fixed RTP header (no CSRC entries).
pub const RTP_HDR_LEN: usize = 12;

/// Payload types named by the original's `enum rtp_type`.
pub mod pt {
    pub const PCMU: u8 = 0;
    pub const GSM: u8 = 3;
    pub const G723: u8 = 4;
    pub const PCMA: u8 = 8;
    pub const G722: u8 = 9;
    pub const G729: u8 = 18;
}
