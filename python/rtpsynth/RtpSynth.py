"""Python interface to RTP packet generator."""

from rtpsynth._rtpsynth import RtpSynth as _m

RtpSynth = _m.RtpSynth
set_randfunc = _m.set_randfunc

__all__ = ["RtpSynth", "set_randfunc"]
