//! Splits frames into RTP payloads of at most a given size, per codec, and
//! numbers pictures (VP8/VP9 PictureID).

use super::{h264, vp8, vp9, Codec, VideoError};

pub struct Packetizer {
    codec: Codec,
    max_payload: usize,
    picture_id: u16,
    scratch: Vec<u8>,
    group: Vec<(usize, usize)>,
}

impl Packetizer {
    /// `max_payload` is the MTU less the RTP header; at least 8.
    pub fn new(
        codec: Codec,
        max_payload: usize,
        first_picture_id: u16,
    ) -> Result<Self, VideoError> {
        if max_payload < 8 {
            return Err(VideoError::InvalidArgument);
        }
        Ok(Packetizer {
            codec,
            max_payload,
            picture_id: first_picture_id & 0x7fff,
            scratch: Vec::new(),
            group: Vec::new(),
        })
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The PictureID the next VP8/VP9 frame will carry.
    pub fn picture_id(&self) -> u16 {
        self.picture_id
    }

    /// Split one frame (an Annex B access unit for H.264, one compressed
    /// frame for VP8/VP9) into payloads: `emit(head, body, last)` gets each
    /// payload as `head` followed by `body`, and `last` on the final one
    /// (the packet that carries the marker bit). Returns the number of
    /// payloads; `EmptyFrame` (and no call) for an empty frame or an Annex
    /// B buffer without a NAL unit.
    pub fn packetize(
        &mut self,
        frame: &[u8],
        mut emit: impl FnMut(&[u8], &[u8], bool),
    ) -> Result<usize, VideoError> {
        if frame.is_empty() {
            return Err(VideoError::EmptyFrame);
        }
        // NAL unit types 0 and 24..31 are unspecified in H.264 and mean
        // aggregation or fragmentation units in RTP: sent as single NAL unit
        // packets, they would be misread.
        if self.codec == Codec::H264
            && super::annexb::nal_units(frame).any(|n| matches!(n[0] & 0x1f, 0 | 24..=31))
        {
            return Err(VideoError::Malformed);
        }
        let mut n = 0usize;
        let mut count = |h: &[u8], b: &[u8], last: bool| {
            n += 1;
            emit(h, b, last)
        };
        match self.codec {
            Codec::H264 => h264::packetize(
                frame,
                self.max_payload,
                &mut self.scratch,
                &mut self.group,
                &mut count,
            ),
            Codec::Vp8 => vp8::packetize(frame, self.max_payload, self.picture_id, &mut count),
            Codec::Vp9 => vp9::packetize(frame, self.max_payload, self.picture_id, &mut count),
        }
        if n == 0 {
            return Err(VideoError::EmptyFrame);
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        Ok(n)
    }
}
