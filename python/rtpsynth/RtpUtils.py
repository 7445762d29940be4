"""High-performance RTP audio utility helpers."""

from rtpsynth._rtpsynth import RtpUtils as _m

RtpUtils = _m.RtpUtils
linear2ulaw = _m.linear2ulaw
ulaw2linear = _m.ulaw2linear
resample_linear = _m.resample_linear

__all__ = ["RtpUtils", "linear2ulaw", "ulaw2linear", "resample_linear"]
