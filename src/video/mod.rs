//! Video over RTP: H.264 (RFC 6184), VP8 (RFC 7741) and VP9 (RFC 9628)
//! packetizers and depacketizers, a frame-assembling receive buffer with a
//! latency bound, and NACK retransmission (RFC 4585 / RFC 4588) with
//! keyframe requests. Safe Rust; the C API is `src/ffi/rtpvideo.rs`.
//!
//! File formats for tools: Annex B ([`annexb`]) and IVF ([`ivf`]).

pub mod annexb;
pub mod assembler;
pub mod h264;
pub mod history;
pub mod ivf;
pub mod nack;
pub mod packetizer;
pub mod receiver;
pub mod sender;
pub mod vp8;
pub mod vp9;

pub use assembler::{Assembler, DropReason, Dropped, FrameInfo, Output};
pub use packetizer::Packetizer;
pub use receiver::{Receiver, ReceiverConfig, ReceiverStats};
pub use sender::{KeyframeRequest, Sender, SenderConfig, SenderStats};

/// The RTP clock of every video payload format here.
pub const CLOCK_RATE: u32 = 90_000;

/// Smallest MTU accepted (RTP header plus a few payload bytes).
pub const MIN_MTU: usize = crate::rtp::RTP_HDR_LEN + 8;
/// Largest MTU accepted (a UDP datagram over IPv4).
pub const MAX_MTU: usize = 65_507;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    H264,
    Vp8,
    Vp9,
}

impl Codec {
    /// Whether a frame (Annex B access unit for H.264) is a key frame.
    pub fn is_keyframe(self, frame: &[u8]) -> bool {
        match self {
            Codec::H264 => h264::is_keyframe(frame),
            Codec::Vp8 => vp8::is_keyframe(frame),
            Codec::Vp9 => vp9::is_keyframe(frame),
        }
    }

    pub(crate) fn start_hint(self, payload: &[u8]) -> StartHint {
        match self {
            Codec::H264 => h264::start_hint(payload),
            Codec::Vp8 => vp8::start_hint(payload),
            Codec::Vp9 => vp9::start_hint(payload),
        }
    }

    /// Rebuild a frame from its packets' payloads; Ok(keyframe).
    pub(crate) fn depacketize<'a>(
        self,
        payloads: impl Iterator<Item = &'a [u8]>,
        out: &mut Vec<u8>,
    ) -> Result<bool, Corrupt> {
        match self {
            Codec::H264 => h264::depacketize(payloads, out),
            Codec::Vp8 => vp8::depacketize(payloads, out),
            Codec::Vp9 => vp9::depacketize(payloads, out),
        }
    }
}

/// Errors of the video core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoError {
    /// An argument out of range (MTU, sizes, payload types).
    InvalidArgument,
    /// A frame with nothing to send (empty, or Annex B without NAL units).
    EmptyFrame,
    /// Input that does not parse (RTP packet, file).
    Malformed,
    /// A size over what the format can carry.
    TooLarge,
    /// Not in the retransmission history (never sent, too old, overwritten).
    NotFound,
}

/// What a payload says about being the first of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StartHint {
    /// It is the first packet of a frame (VP8 S=1 partition 0, VP9 B).
    Yes,
    /// It is not (VP8/VP9 otherwise, H.264 FU-A continuation).
    No,
    /// The payload cannot tell (H.264): the packet before decides.
    Maybe,
}

/// A frame whose payloads do not rebuild into a valid frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

#[cfg(test)]
mod tests;
