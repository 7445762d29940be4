"""Argument checking: each bad argument raises the original's exception."""

import inspect
import socket
from array import array

import pytest

from conftest import run_python
from rtpsynth.RtpJBuf import (ERSFrame, FrameWrapper, RTPFrame, RTPFrameType,
                              RTPFrameUnion, RTPInfo, RTPPacket, RTPParseError,
                              RtpJBuf, RJB_ENOMEM, RTP_PARSER_OK)
from rtpsynth.RtpProc import ChannelProcError, RtpProcChannel
from rtpsynth.RtpServer import RtpChannel, RtpQueueFullError, RtpServer
from rtpsynth.RtpSynth import RtpSynth, set_randfunc
from rtpsynth.RtpUtils import RtpUtils, linear2ulaw, resample_linear, ulaw2linear


def test_exception_hierarchy_and_names():
    assert issubclass(ChannelProcError, RuntimeError)
    assert RTPParseError.__module__ == "rtpsynth.RtpJBuf"
    assert RtpQueueFullError.__module__ == "rtpsynth.RtpServer"
    assert ChannelProcError.__module__ == "rtpsynth.RtpProc"
    assert RtpSynth.__module__ == "rtpsynth.RtpSynth"
    assert RtpJBuf.__module__ == "rtpsynth.RtpJBuf"


def test_synth_bad_arguments():
    with pytest.raises(TypeError):
        RtpSynth(8000)
    with pytest.raises(TypeError):
        RtpSynth("8000", 20)
    with pytest.raises(TypeError):
        RtpSynth(8000.0, 20)
    rs = RtpSynth(8000, 20)
    with pytest.raises(ValueError, match="invalid packet length"):
        rs.next_pkt(-32, 0)
    with pytest.raises(ValueError, match="invalid packet length"):
        rs.next_pkt(2**31 - 1, 0)
    with pytest.raises(RuntimeError):
        rs.next_pkt(-1, 0)
    with pytest.raises(ValueError, match="payload is larger"):
        rs.next_pkt(10, 0, b"x" * 43)
    with pytest.raises(TypeError):
        rs.next_pkt(10, 0, 5)
    with pytest.raises(TypeError):
        rs.pkt_free("not a pointer")
    rs.pkt_free(0)
    with pytest.raises(TypeError):
        rs.resync(1)
    with pytest.raises(OverflowError):
        rs.set_mbt(-1)
    with pytest.raises(TypeError):
        set_randfunc(5)


def test_synth_packets_and_randfunc_order():
    draws = iter([0x11223344, 0x55667789, 0x0001ABCD])
    set_randfunc(lambda: next(draws))
    try:
        rs = RtpSynth(8000, 30)
    finally:
        set_randfunc(None)
    p1 = rs.next_pkt(4, 8, b"\x01\x02")
    p2 = rs.next_pkt(4, 8, bytearray(b"\x03\x04\x05\x06\x07"))
    assert len(p1) == 16 and len(p2) == 16
    assert p1[0] == 0x80 and p1[1] == 0x80 | 8      # marker on the first packet
    assert p2[1] == 8
    assert int.from_bytes(p1[2:4], "big") == 0xABCD  # seq & 0xffff
    assert int.from_bytes(p1[4:8], "big") == 0x55667788  # ts made even
    assert p1[8:12] == (0x11223344).to_bytes(4, "little")  # host order, as the original
    assert int.from_bytes(p2[2:4], "big") == 0xABCE
    assert int.from_bytes(p2[4:8], "big") == 0x55667788 + 240
    assert p1[12:] == b"\x01\x02\x00\x00"
    assert p2[12:] == b"\x03\x04\x05\x06"
    assert rs.set_mbt(1) == 0
    assert rs.next_pkt(0, 0)[1] == 0x80
    rs.skip(10)
    assert int.from_bytes(rs.next_pkt(0, 0)[4:8], "big") == 0x55667788 + 240 * 13


def test_randfunc_that_raises():
    def bad():
        raise KeyError("nope")
    set_randfunc(bad)
    try:
        with pytest.raises(RuntimeError) as ei:
            RtpSynth(8000, 20)
        assert isinstance(ei.value.__cause__, KeyError)
    finally:
        set_randfunc(None)


def test_jbuf_bad_arguments_and_objects():
    with pytest.raises(OverflowError):
        RtpJBuf(-1)
    with pytest.raises(TypeError):
        RtpJBuf()
    jb = RtpJBuf(4)
    with pytest.raises(TypeError):
        jb.udp_in(123)
    with pytest.raises(RTPParseError, match=r"rtpjbuf_udp_in\(\): error -1"):
        jb.udp_in(b"\x80\x00")
    with pytest.raises(RTPParseError, match="error -2"):
        jb.udp_in(b"\x00" * 12)
    assert jb.flush() == []
    for cls in (RTPInfo, RTPPacket, ERSFrame, RTPFrameUnion, RTPFrame, FrameWrapper):
        with pytest.raises(TypeError):
            cls(1)
    assert RTPPacket().info.seq == 0 and RTPPacket().lseq == 0
    assert RTPFrame().type == RTPFrameType.RTP and RTPFrame().frame is None
    assert RTPFrameUnion().rtp is None and ERSFrame().type == RTPFrameType.ERS
    assert str(FrameWrapper()) == "FrameWrapper" and FrameWrapper().data is None
    assert (RTPFrameType.RTP, RTPFrameType.ERS) == (0, 1)
    assert (RTP_PARSER_OK, RJB_ENOMEM) == (0, -1007)


UDP_IN_BINDING = """
    from rtpsynth.RtpJBuf import RtpJBuf
    from rtpsynth.RtpSynth import RtpSynth
    import inspect
    jb = RtpJBuf(4)
    rs = RtpSynth(8000, 20)
    p, q = rs.next_pkt(160, 0), rs.next_pkt(160, 0)
    errors = []
    for args, kw in (((), {}), ((p, 1, 2), {}), ((p,), {"bad": 1}),
                     ((p,), {"data": p}), ((), {"opaque": 1})):
        try:
            jb.udp_in(*args, **kw)
        except TypeError as e:
            errors.append(str(e))
    print(errors)
    out = jb.udp_in(opaque="o", data=p) + jb.udp_in(q, 7) + jb.flush()
    print([w.opaque for w in out if w.content.type == 0], jb.dropped)
    print(inspect.signature(RtpJBuf.udp_in))
"""


@pytest.mark.parametrize("no_fastcall", ["0", "1"])
def test_jbuf_udp_in_argument_binding(no_fastcall, monkeypatch):
    """udp_in binds its arguments itself, by METH_FASTCALL on CPython >= 3.10
    and by METH_VARARGS on 3.9 (forced here by RTPSYNTH_PY_NO_FASTCALL)."""
    monkeypatch.setenv("RTPSYNTH_PY_NO_FASTCALL", no_fastcall)
    r = run_python(UDP_IN_BINDING)
    assert r.returncode == 0, r.stderr
    errors, opaques, sig = r.stdout.splitlines()
    assert errors == str([
        "RtpJBuf.udp_in() missing 1 required positional argument: 'data'",
        "RtpJBuf.udp_in() takes from 1 to 2 positional arguments but 3 were given",
        "RtpJBuf.udp_in() got an unexpected keyword argument 'bad'",
        "RtpJBuf.udp_in() got multiple values for argument 'data'",
        "RtpJBuf.udp_in() missing 1 required positional argument: 'data'",
    ])
    # The failed calls fed nothing; keyword and positional opaques arrive.
    assert opaques == "['o', 7] 0"
    assert sig == "(self, /, data, opaque=None)"


def test_jbuf_frames_loss_and_identity():
    rs = RtpSynth(8000, 20)
    jb = RtpJBuf(4)
    pkts = [rs.next_pkt(160, 0, bytes([i]) * 160) for i in range(8)]
    out = []
    for i, p in enumerate(pkts):
        if i == 2:
            continue                    # lost
        out += jb.udp_in(memoryview(p), i)
    out += jb.flush()
    kinds = [w.content.type for w in out]
    assert kinds.count(RTPFrameType.ERS) == 1
    ers = next(w for w in out if w.content.type == RTPFrameType.ERS)
    assert ers.content.lseq_end == ers.content.lseq_start
    assert ers.content.ts_diff == 160
    assert ers.data is None and ers.rtp_data is None and ers.opaque is None
    assert str(ers).startswith("RTP_Erasure(seq_range=")
    rtp = [w for w in out if w.content.type == RTPFrameType.RTP]
    assert [w.opaque for w in rtp] == [0, 1, 3, 4, 5, 6, 7]
    for w in rtp:
        assert w.content is w.content
        pkt = w.content.frame.rtp
        assert pkt is w.content.frame.rtp
        assert w.rtp_data == bytes([w.opaque]) * 160
        assert w.data == pkts[w.opaque]
        assert pkt.info.data_size == 160 and pkt.info.data_offset == 12
        assert pkt.info.nsamples == 160 and pkt.info.appendable
        assert str(w) == f"RTP_Frame(seq={pkt.lseq})"
    assert jb.dropped == 0


def test_jbuf_duplicates_are_counted_as_dropped():
    rs = RtpSynth(8000, 20)
    jb = RtpJBuf(8)
    p = [rs.next_pkt(10, 0) for _ in range(3)]
    out = [w for x in (p[0], p[1], p[1], p[0], p[2]) for w in jb.udp_in(x)]
    assert out == [] and jb.dropped == 2     # held back, duplicates dropped
    out = jb.flush()
    assert [w.content.type for w in out] == [RTPFrameType.ERS] + [RTPFrameType.RTP] * 3
    assert [w.data for w in out[1:]] == p
    assert jb.dropped == 2


def test_utils_bad_arguments():
    with pytest.raises(ValueError, match="in_rate and out_rate must be > 0"):
        resample_linear(b"", 0, 8000)
    with pytest.raises(ValueError):
        resample_linear(b"\x00\x01\x02", 8000, 16000)
    with pytest.raises(TypeError):
        resample_linear(array("i", [1, 2]), 8000, 16000)
    with pytest.raises(TypeError):
        linear2ulaw("abc")
    with pytest.raises(TypeError):
        ulaw2linear(array("h", [1, 2]))
    with pytest.raises(OverflowError):
        linear2ulaw(2**70)
    assert linear2ulaw(bytearray(b"\x00\x00")) == b"\xff"
    assert ulaw2linear(0x1FF) == ulaw2linear(0xFF)
    assert RtpUtils.linear2ulaw(array("h", [])) == b""
    assert RtpUtils.ulaw2linear(b"").tolist() == []
    assert resample_linear(array("h", [5, 6]), 8000, 8000).tolist() == [5, 6]
    assert isinstance(RtpUtils(), RtpUtils)
    # One positional argument, no keywords, as the original's functions.
    for f, name in ((linear2ulaw, "pcm"), (ulaw2linear, "data")):
        with pytest.raises(TypeError, match=r"takes exactly one argument \(0 given\)"):
            f()
        with pytest.raises(TypeError, match=r"takes exactly one argument \(2 given\)"):
            f(b"\x00\x00", 1)
        with pytest.raises(TypeError, match="takes no keyword arguments"):
            f(**{name: b"\x00\x00"})
        assert str(inspect.signature(f)) == f"({name}, /)"


def test_server_bad_arguments():
    with pytest.raises(ValueError, match="tick_hz must be > 0"):
        RtpServer(tick_hz=0)
    with pytest.raises(OverflowError):
        RtpServer(tick_hz=-1)
    with pytest.raises(TypeError):
        RtpChannel()
    srv = RtpServer()
    try:
        assert srv.tick_ns == 5_000_000
        cb = lambda *_: None
        with pytest.raises(TypeError, match="pkt_in must be callable"):
            srv.create_channel(pkt_in=1)
        with pytest.raises(ValueError, match="queue_size must be > 0"):
            srv.create_channel(cb, "127.0.0.1", queue_size=0)
        with pytest.raises(ValueError, match="power of two"):
            srv.create_channel(cb, "127.0.0.1", queue_size=48)
        with pytest.raises((OverflowError, MemoryError)):
            srv.create_channel(cb, "127.0.0.1", queue_size=1 << 20)
        with pytest.raises(ValueError):
            srv.create_channel(cb, "127.0.0.1", bind_family="ipx")
        with pytest.raises(ValueError):
            srv.create_channel(cb, "127.0.0.1", bind_family=5)
        with pytest.raises(TypeError):
            srv.create_channel(cb, "127.0.0.1", bind_family=4.0)
        with pytest.raises(ValueError, match="port must be in range"):
            srv.create_channel(cb, "127.0.0.1", bind_port=70000)
        with pytest.raises(OSError):
            srv.create_channel(cb, "::1", bind_family=4)
        with pytest.raises(OSError):
            srv.create_channel(cb, "no-such-host.invalid")
        ch = srv.create_channel(cb, "localhost", bind_family="ipv4",
                                queue_size=4)
        assert ch.local_addr[0] == "127.0.0.1"
        with pytest.raises(RuntimeError, match="target is not set"):
            ch.send_pkt(b"x")
        with pytest.raises(ValueError, match="port must be in range"):
            ch.set_target("127.0.0.1", -1)
        with pytest.raises(TypeError):
            ch.set_target(1, 2)
        ch.set_target("localhost", ch.local_addr[1])
        with pytest.raises(TypeError):
            ch.send_pkt(7)
        ch.close()
        with pytest.raises(RuntimeError, match="channel is closed"):
            ch.send_pkt(b"x")
        with pytest.raises(RuntimeError, match="channel is closed"):
            ch.set_target("127.0.0.1", 9)
    finally:
        srv.shutdown()
    with pytest.raises(RuntimeError, match="shutting down"):
        srv.create_channel(lambda *_: None, "127.0.0.1")


def test_server_port_in_use():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    srv = RtpServer()
    try:
        with pytest.raises(OSError) as ei:
            srv.create_channel(lambda *_: None, "127.0.0.1", s.getsockname()[1])
        assert ei.value.errno == 98  # EADDRINUSE
    finally:
        srv.shutdown()
        s.close()


def test_proc_channel_not_constructible():
    with pytest.raises(TypeError):
        RtpProcChannel()
