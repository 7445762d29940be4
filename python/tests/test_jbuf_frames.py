"""The frame objects of RtpJBuf (plain C-level types with free lists):
references held and released, members read-only, reuse of freed objects."""

import gc
import sys
import weakref

import pytest

import rtpsynth.RtpJBuf as J
from rtpsynth.RtpJBuf import (ERSFrame, FrameWrapper, RTPFrame, RTPFrameType,
                              RTPFrameUnion, RTPInfo, RTPPacket, RtpJBuf)
from rtpsynth.RtpSynth import RtpSynth

KINDS = ("RTPInfo", "RTPPacket", "ERSFrame", "RTPFrameUnion", "RTPFrame", "FrameWrapper")


class Marker:
    """An opaque value that can be weakly referenced."""


def stream(n, payload_of=lambda i: bytes([i & 0xFF]) * 160):
    rs = RtpSynth(8000, 20)
    return [rs.next_pkt(160, 0, payload_of(i)) for i in range(n)]


def rtp_frames(ws):
    return [w for w in ws if w.content.type == RTPFrameType.RTP]


def test_types_look_like_the_original():
    for cls in (RTPInfo, RTPPacket, ERSFrame, RTPFrameUnion, RTPFrame, FrameWrapper):
        assert cls.__module__ == "rtpsynth.RtpJBuf"
        assert cls.__doc__
        with pytest.raises(TypeError, match=rf"{cls.__name__}\(\) takes no arguments"):
            cls(1)
        with pytest.raises(TypeError):
            class Sub(cls):     # not subclassable, as the original's
                pass
    w = FrameWrapper()
    assert (w.content, w.data, w.rtp_data, w.opaque) == (None, None, None, None)
    assert RTPFrameUnion().ers is None and RTPFrame().type == RTPFrameType.RTP
    e = ERSFrame()
    assert (e.lseq_start, e.lseq_end, e.ts_diff, e.type) == (0, 0, 0, RTPFrameType.ERS)
    i = RTPInfo()
    assert (i.data_size, i.data_offset, i.nsamples, i.ts, i.seq, i.ssrc, i.appendable) == \
        (0, 0, 0, 0, 0, 0, False)


def test_attributes_are_read_only():
    jb = RtpJBuf(4)
    jb.udp_in(stream(1)[0])
    (w,) = rtp_frames(jb.flush())
    pkt = w.content.frame.rtp
    for obj, name in ((w, "content"), (w, "data"), (w, "rtp_data"), (w, "opaque"),
                      (w.content, "type"), (w.content, "frame"), (w.content.frame, "rtp"),
                      (pkt, "lseq"), (pkt, "info"), (pkt.info, "seq")):
        with pytest.raises(AttributeError):
            setattr(obj, name, 1)
    assert not hasattr(w, "__dict__")


def test_values_survive_reuse_of_freed_objects():
    # Many rounds of make / drop: freed objects are reused; every value read
    # must belong to its own packet.
    pkts = stream(3000, lambda i: i.to_bytes(2, "big") * 80)
    jb = RtpJBuf(8)
    seen = 0
    lseq0 = None
    for i, p in enumerate(pkts):
        for w in jb.udp_in(p, i):
            c = w.content
            assert c.type == RTPFrameType.RTP
            pkt = c.frame.rtp
            lseq0 = pkt.lseq if lseq0 is None else lseq0
            i = w.opaque
            p = pkts[i]
            assert pkt.lseq - lseq0 == i
            assert w.data is p
            assert w.rtp_data == i.to_bytes(2, "big") * 80
            assert pkt.info is pkt.info and pkt.info.seq == (pkt.info.seq & 0xFFFF)
            assert pkt.info.data_size == 160 and pkt.info.data_offset == 12
            assert str(w) == repr(w) == f"RTP_Frame(seq={pkt.lseq})"
            seen += 1
    seen += len(jb.flush())
    assert seen == len(pkts)


def test_references_are_released():
    J._set_dealloc_counting(True)
    J._reset_dealloc_counts()
    try:
        jb = RtpJBuf(4)
        markers = [Marker() for _ in range(50)]
        refs = [weakref.ref(m) for m in markers]
        pkts = stream(50)
        kept = pkts[11]
        data_rc = sys.getrefcount(kept)
        out = []
        for i in range(len(pkts)):
            if i % 7 == 3:
                continue                # lost: erasures
            out += jb.udp_in(pkts[i], markers[i])
        out += jb.flush()
        # Touch every lazily made object once.
        for w in out:
            c = w.content
            if c.type == RTPFrameType.RTP:
                _ = c.frame.rtp.info.ts
            else:
                assert w.opaque is None and w.data is None and w.rtp_data is None
        assert sys.getrefcount(kept) == data_rc + 1        # held by its wrapper
        del markers, out, c, w
        gc.collect()
        assert all(r() is None for r in refs)               # opaque released
        assert sys.getrefcount(kept) == data_rc             # datagram released
        counts = J._get_dealloc_counts()
        for k in KINDS:
            assert counts[f"{k}_created"] > 0, k
            assert counts[f"{k}_created"] == counts[f"{k}_freed"], k
    finally:
        J._set_dealloc_counting(False)


def test_objects_outlive_the_buffer():
    jb = RtpJBuf(4)
    jb.udp_in(stream(1)[0])
    (w,) = rtp_frames(jb.flush())
    del jb
    gc.collect()
    pkt = w.content.frame.rtp
    del w
    assert pkt.lseq == pkt.info.seq and pkt.info.data_size == 160
