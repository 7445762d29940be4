"""Python interface to RTP packet generator."""

from typing import Callable, Optional, SupportsBytes, Union

_Payload = Union[bytes, bytearray, memoryview, SupportsBytes]

class RtpSynth:
    """RTP packet generator: ``RtpSynth(srate, ptime)``.

    Random SSRC, initial timestamp and sequence number (from the function
    given to :func:`set_randfunc`, if any); marker bit on the first packet;
    timestamp step ``8 * ptime``.
    """

    def __init__(self, srate: int, ptime: int) -> None: ...
    def next_pkt(self, plen: int, pt: int, pload: Optional[_Payload] = None) -> bytes:
        """Next packet: 12-byte header with payload type ``pt`` and ``plen``
        payload bytes from ``pload`` (zero-padded) or zeros."""
    def pkt_free(self, pkt: object) -> None:
        """Compatibility no-op (accepts a capsule or an int)."""
    def set_mbt(self, new_st: int) -> int:
        """Set the marker bit of the next packet; return the previous value."""
    def resync(self, ts: int = ..., seq: int = ...) -> None:
        """Advance the timestamp by the time elapsed since the last packet."""
    def skip(self, npkts: int) -> None:
        """Advance the timestamp as if ``npkts`` packets had been sent."""

def set_randfunc(func: Optional[Callable[..., int]]) -> None:
    """Install the random source of later RtpSynth objects (``func()`` or
    ``func(32)``); None restores the built-in one."""
