"""rtpsynth: RTP packet generator, jitter buffer, UDP I/O thread, processing
scheduler and audio helpers, over the rtpsynth-rs Rust core.

Import the modules as in the original package::

    from rtpsynth.RtpSynth import RtpSynth
    from rtpsynth.RtpJBuf import RtpJBuf
    from rtpsynth.RtpServer import RtpServer
    from rtpsynth.RtpProc import RtpProc
    from rtpsynth.RtpUtils import RtpUtils
"""
