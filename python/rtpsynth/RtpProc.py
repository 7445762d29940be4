"""Generic singleton RTP processing scheduler."""

from rtpsynth._rtpsynth import RtpProc as _m

RtpProc = _m.RtpProc
RtpProcChannel = _m.RtpProcChannel
ChannelProcError = _m.ChannelProcError

__all__ = ["RtpProc", "RtpProcChannel", "ChannelProcError"]
