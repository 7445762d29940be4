"""RtpUtils on every kind of buffer: the zero-copy buffer-protocol path
(CPython 3.11+), the unaligned-copy path and the original's errors."""

import sys
from array import array

import pytest

from rtpsynth.RtpUtils import linear2ulaw, resample_linear, ulaw2linear

SIZES = (0, 1, 2, 3, 159, 160, 161, 1023)


def samples(n):
    return [((i * 7919) % 65536) - 32768 for i in range(n)]


def ref_ulaw(xs):
    return bytes(linear2ulaw(x) for x in xs)   # the scalar path


@pytest.mark.parametrize("n", SIZES)
def test_linear2ulaw_same_for_every_buffer_kind(n):
    xs = samples(n)
    a = array("h", xs)
    want = ref_ulaw(xs)
    raw = a.tobytes()
    # An unaligned, contiguous int16 view: a bytearray slice at offset 1.
    padded = bytearray(1) + bytearray(raw)
    unaligned = memoryview(padded)[1:].cast("h")
    for obj in (a, raw, bytearray(raw), memoryview(raw), memoryview(a),
                memoryview(raw).cast("h"), unaligned, array("b", raw)):
        assert linear2ulaw(obj) == want, type(obj)


@pytest.mark.parametrize("n", SIZES)
def test_ulaw2linear_same_for_every_buffer_kind(n):
    codes = bytes((i * 37) & 0xFF for i in range(n))
    want = [ulaw2linear(c) for c in codes]
    padded = bytearray(1) + bytearray(codes)
    for obj in (codes, bytearray(codes), memoryview(codes), memoryview(padded)[1:],
                array("B", codes), array("b", codes)):
        out = ulaw2linear(obj)
        assert isinstance(out, array) and out.typecode == "h"
        assert out.tolist() == want, type(obj)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("rates", [(8000, 16000), (16000, 8000), (8000, 8000), (8000, 11025)])
def test_resample_same_for_every_buffer_kind(n, rates):
    xs = samples(n)
    a = array("h", xs)
    raw = a.tobytes()
    want = resample_linear(raw, *rates).tolist()
    if rates[0] == rates[1]:
        assert want == xs
    padded = bytearray(1) + bytearray(raw)
    for obj in (a, bytearray(raw), memoryview(a), memoryview(padded)[1:].cast("h")):
        out = resample_linear(obj, *rates)
        assert out.typecode == "h" and out.tolist() == want, type(obj)


def test_buffer_is_released_after_each_call():
    # A view still held would make the array refuse to resize (BufferError).
    a = array("h", [1, 2, 3])
    linear2ulaw(a)
    resample_linear(a, 8000, 16000)
    with pytest.raises(TypeError):
        linear2ulaw(array("i", [1]))
    a.append(4)
    b = bytearray(b"\x00\x01")
    ulaw2linear(b)
    with pytest.raises(ValueError):
        linear2ulaw(bytearray(3))
    b.extend(b"\x02")
    assert len(a) == 4 and len(b) == 3


def test_buffer_errors_as_the_original():
    h = array("h", range(8))
    cases = [
        (lambda: linear2ulaw(array("i", [1, 2])), TypeError,
         "expected a PCM16 buffer (itemsize 2) or PCM16 bytes"),
        (lambda: linear2ulaw(array("b", [1, 2, 3])), ValueError,
         "PCM16 byte buffer length must be even"),
        (lambda: linear2ulaw(memoryview(h)[::2]), BufferError,
         "memoryview: underlying buffer is not C-contiguous"),
        (lambda: linear2ulaw("abc"), TypeError, "a bytes-like object is required, not 'str'"),
        (lambda: linear2ulaw(None), TypeError,
         "a bytes-like object is required, not 'NoneType'"),
        (lambda: linear2ulaw([1, 2]), TypeError, "a bytes-like object is required, not 'list'"),
        (lambda: ulaw2linear(array("h", [1])), TypeError, "ulaw2linear expects bytes-like input"),
        (lambda: ulaw2linear(memoryview(b"abcd")[::2]), BufferError,
         "memoryview: underlying buffer is not C-contiguous"),
        (lambda: resample_linear(array("i", [1]), 8000, 16000), TypeError,
         "expected a PCM16 buffer (itemsize 2) or PCM16 bytes"),
        (lambda: resample_linear(memoryview(h)[::2], 8000, 16000), BufferError,
         "memoryview: underlying buffer is not C-contiguous"),
        (lambda: resample_linear(bytearray(3), 8000, 16000), ValueError,
         "PCM16 byte buffer length must be even"),
    ]
    for call, exc, msg in cases:
        with pytest.raises(exc) as ei:
            call()
        if sys.version_info >= (3, 11):
            assert str(ei.value) == msg
        else:   # no buffer protocol in abi3: through memoryview(obj)
            assert str(ei.value).endswith(msg)
