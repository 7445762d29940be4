"""High-performance RTP audio utility helpers."""

from array import array
from typing import Union, overload

_Pcm = Union[bytes, bytearray, memoryview, "array[int]"]

@overload
def linear2ulaw(pcm: int, /) -> int: ...
@overload
def linear2ulaw(pcm: _Pcm, /) -> bytes: ...
@overload
def ulaw2linear(data: int, /) -> int: ...
@overload
def ulaw2linear(data: Union[bytes, bytearray, memoryview], /) -> "array[int]": ...
def resample_linear(pcm: _Pcm, in_rate: int, out_rate: int) -> "array[int]":
    """Linear-interpolation resampling of PCM16."""

class RtpUtils:
    """The module's functions as static methods."""
    @staticmethod
    @overload
    def linear2ulaw(pcm: int) -> int: ...
    @staticmethod
    @overload
    def linear2ulaw(pcm: _Pcm) -> bytes: ...
    @staticmethod
    @overload
    def ulaw2linear(data: int) -> int: ...
    @staticmethod
    @overload
    def ulaw2linear(data: Union[bytes, bytearray, memoryview]) -> "array[int]": ...
    @staticmethod
    def resample_linear(pcm: _Pcm, in_rate: int, out_rate: int) -> "array[int]": ...
