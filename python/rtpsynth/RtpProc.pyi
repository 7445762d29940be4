"""Generic singleton RTP processing scheduler."""

from typing import Callable, Optional

ProcIn = Callable[[int, int], Optional[int]]

class ChannelProcError(RuntimeError):
    """A channel's callback failed; the cause is its exception."""

class RtpProcChannel:
    """A channel of the RtpProc scheduler."""
    def close(self) -> None:
        """Unschedule; raises ChannelProcError if the callback failed."""
    @property
    def closed(self) -> bool:
        """True once closed."""
    @property
    def id(self) -> int:
        """The channel's number."""

class RtpProc:
    """The process-wide scheduler: ``RtpProc()`` returns the same object."""
    def __init__(self) -> None: ...
    def create_channel(self, proc_in: ProcIn) -> RtpProcChannel:
        """Run ``proc_in(now_ns, deadline_ns)`` now and then at the times it
        returns (None: stop)."""
    def shutdown(self) -> None:
        """Stop the worker; idempotent."""
