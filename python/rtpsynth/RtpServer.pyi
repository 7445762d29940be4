"""RTP I/O thread and channel primitives."""

from typing import Callable, Optional, Tuple, Union

PktIn = Callable[[bytes, Tuple[str, int], int], object]

class RtpQueueFullError(Exception):
    """The channel's output queue is full."""

class RtpChannel:
    """A UDP channel of an RtpServer."""
    def set_target(self, host: str, port: int) -> None:
        """Send queued packets to ``host``:``port``."""
    def send_pkt(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Queue a copy of ``data``; raises RtpQueueFullError when full."""
    def close(self) -> None:
        """Close; afterwards ``pkt_in`` never runs again."""
    @property
    def local_addr(self) -> Tuple[str, int]:
        """The bound address."""
    @property
    def closed(self) -> bool:
        """True once closed."""

class RtpServer:
    """RTP I/O thread: ``RtpServer(tick_hz=200)``."""
    def __init__(self, tick_hz: int = 200) -> None: ...
    @property
    def tick_ns(self) -> int:
        """Output tick length in ns."""
    def create_channel(
        self,
        pkt_in: PktIn,
        bind_host: Optional[str] = None,
        bind_port: int = 0,
        queue_size: int = 32,
        bind_family: Union[int, str, None] = None,
    ) -> RtpChannel:
        """Bind a UDP socket and deliver datagrams to
        ``pkt_in(data, (host, port), rtime_ns)``."""
    def shutdown(self) -> None:
        """Stop the worker and release the channels' callbacks."""
