"""RTP I/O thread and channel primitives."""

from rtpsynth._rtpsynth import RtpServer as _m

RtpServer = _m.RtpServer
RtpChannel = _m.RtpChannel
RtpQueueFullError = _m.RtpQueueFullError

__all__ = ["RtpServer", "RtpChannel", "RtpQueueFullError"]
