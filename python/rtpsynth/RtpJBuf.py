"""Python interface to the RTP jitter buffer."""

from rtpsynth._rtpsynth import RtpJBuf as _m

RtpJBuf = _m.RtpJBuf
RTPParseError = _m.RTPParseError
RTPFrameType = _m.RTPFrameType
RTPInfo = _m.RTPInfo
RTPPacket = _m.RTPPacket
ERSFrame = _m.ERSFrame
RTPFrameUnion = _m.RTPFrameUnion
RTPFrame = _m.RTPFrame
FrameWrapper = _m.FrameWrapper
RTP_PARSER_OK = _m.RTP_PARSER_OK
RJB_ENOMEM = _m.RJB_ENOMEM
_get_dealloc_counts = _m._get_dealloc_counts
_reset_dealloc_counts = _m._reset_dealloc_counts
_set_dealloc_counting = _m._set_dealloc_counting
_get_dealloc_counting = _m._get_dealloc_counting

__all__ = [
    "RtpJBuf", "RTPParseError", "RTPFrameType", "RTPInfo", "RTPPacket",
    "ERSFrame", "RTPFrameUnion", "RTPFrame", "FrameWrapper",
    "RTP_PARSER_OK", "RJB_ENOMEM",
]
