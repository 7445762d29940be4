"""Python interface to the RTP jitter buffer."""

from typing import Any, Dict, List, Optional, Union

RTP_PARSER_OK: int
RJB_ENOMEM: int

class RTPParseError(Exception):
    """The datagram given to ``RtpJBuf.udp_in()`` is not a valid RTP packet."""

class RTPFrameType:
    """Frame type constants."""
    RTP: int
    ERS: int

class RTPInfo:
    """Parsed RTP header fields of a received packet."""
    def __init__(self) -> None: ...
    @property
    def data_size(self) -> int:
        """Payload length in bytes."""
    @property
    def data_offset(self) -> int:
        """Offset of the payload in the datagram."""
    @property
    def nsamples(self) -> int:
        """Samples in the payload, -1 when unknown."""
    @property
    def ts(self) -> int:
        """RTP timestamp."""
    @property
    def seq(self) -> int:
        """RTP sequence number."""
    @property
    def ssrc(self) -> int:
        """SSRC."""
    @property
    def appendable(self) -> bool:
        """Whether payloads of this type may be appended."""
    @property
    def rtp_profile(self) -> int:
        """Address of the payload type's profile entry (opaque)."""

class RTPPacket:
    """A received RTP packet."""
    def __init__(self) -> None: ...
    @property
    def info(self) -> RTPInfo:
        """The parsed header."""
    @property
    def lseq(self) -> int:
        """Logical sequence number (counts across 16-bit wraps)."""
    @property
    def data(self) -> int:
        """Address of the datagram (opaque)."""

class ERSFrame:
    """An erasure: ``lseq_start..lseq_end`` were lost."""
    def __init__(self) -> None: ...
    @property
    def lseq_start(self) -> int:
        """First lost logical sequence number."""
    @property
    def lseq_end(self) -> int:
        """Last lost logical sequence number."""
    @property
    def ts_diff(self) -> int:
        """Timestamp span of the lost packets."""
    @property
    def type(self) -> int:
        """``RTPFrameType.ERS``."""

class RTPFrameUnion:
    """Union view of a frame: ``rtp`` is the packet, ``ers`` None."""
    def __init__(self) -> None: ...
    @property
    def rtp(self) -> Optional[RTPPacket]:
        """The packet."""
    @property
    def ers(self) -> None:
        """Always None."""

class RTPFrame:
    """An RTP frame."""
    def __init__(self) -> None: ...
    @property
    def type(self) -> int:
        """``RTPFrameType.RTP``."""
    @property
    def frame(self) -> Optional[RTPFrameUnion]:
        """The frame's union view."""

class FrameWrapper:
    """One item of the lists ``udp_in`` and ``flush`` return."""
    def __init__(self) -> None: ...
    @property
    def content(self) -> Union[RTPFrame, ERSFrame, None]:
        """The RTP frame or the erasure."""
    @property
    def data(self) -> Optional[bytes]:
        """The whole datagram (None for an erasure)."""
    @property
    def rtp_data(self) -> Optional[bytes]:
        """The payload (None for an erasure)."""
    @property
    def opaque(self) -> Any:
        """The value given to ``udp_in`` with the packet."""

class RtpJBuf:
    """RTP jitter buffer: ``RtpJBuf(capacity)``."""
    def __init__(self, capacity: int) -> None: ...
    def udp_in(self, data: Union[bytes, bytearray, memoryview], opaque: Any = None) -> List[FrameWrapper]:
        """Feed one datagram; return the frames that became ready."""
    def flush(self) -> List[FrameWrapper]:
        """Release everything held."""
    @property
    def dropped(self) -> int:
        """RTP packets dropped so far (late, duplicate, pushed out)."""

def _get_dealloc_counts() -> Dict[str, int]: ...
def _reset_dealloc_counts() -> None: ...
def _set_dealloc_counting(flag: object) -> None: ...
def _get_dealloc_counting() -> bool: ...
