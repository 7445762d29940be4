#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/ (deterministic; rerun after
changing an input format). Seeds are small hand-made inputs that reach the
interesting paths quickly; the fuzzer does the rest."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def rtp(pt=0, seq=1000, ts=160000, ssrc=0x11223344, payload=b"\xd5" * 160,
        cc=0, ext=None, pad=0, marker=0, version=2):
    b0 = version << 6 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | cc
    h = struct.pack(">BBHII", b0, marker << 7 | pt, seq, ts, ssrc)
    h += b"\x00\x00\x00\x07" * cc
    if ext is not None:
        h += struct.pack(">HH", 0xbede, len(ext) // 4) + ext
    p = payload + (b"\x00" * (pad - 1) + bytes([pad]) if pad else b"")
    return h + p


# --- parse: one datagram per file
put("parse", "pcmu", rtp())
put("parse", "pcma_marker", rtp(pt=8, marker=1, payload=b"\x55" * 80))
put("parse", "g729_cn", rtp(pt=18, payload=b"\x01" * 22))
put("parse", "g723_frames", rtp(pt=4, payload=bytes([0] + [9] * 23 + [1] + [9] * 19 + [2, 0, 0, 0])))
put("parse", "g723_bad", rtp(pt=4, payload=b"\x03" * 4))
put("parse", "gsm", rtp(pt=3, payload=b"\xd0" * 66))
put("parse", "g722", rtp(pt=9, payload=b"\x00" * 160))
put("parse", "dyn_pt", rtp(pt=101, payload=b"\x00\x01\x02\x03"))
put("parse", "csrc_ext_pad", rtp(cc=2, ext=b"\x10\x20\x30\x40", pad=4))
put("parse", "empty_payload", rtp(payload=b""))
put("parse", "short", rtp()[:11])
put("parse", "version1", rtp(version=1))
put("parse", "ext_short", rtp(ext=b"", payload=b"")[:14])
put("parse", "pad_zero", rtp(payload=b"\x01\x02\x03\x00")[:-0] if False else
    bytes([0xa0]) + rtp(payload=b"\x01\x02\x03\x00")[1:])
put("parse", "pad_too_big", bytes([0xa0]) + rtp(payload=b"\x01\x02\x03\xff")[1:])


# --- jbuf: header (capacity, flags, seq, ts, step, pt) then opcodes
def jb(cap, seq, ops, ts=1000, step=160, pt=0, flags=0):
    return struct.pack(">BBHIHB", cap, flags, seq, ts, step, pt) + bytes(ops)


NEXT = 0x02 | (10 << 3)          # next packet, 40-byte payload
put("jbuf", "in_order", jb(7, 100, [NEXT] * 40))
put("jbuf", "from_zero", jb(3, 0, [NEXT] * 20))
put("jbuf", "wrap", jb(9, 65528, [NEXT] * 30))
put("jbuf", "wrap_straggler", jb(15, 65530, [NEXT] * 8 + [0x03, 0xfa] + [NEXT] * 4 + [0x03, 0xf0, 0x00]))
put("jbuf", "loss_reorder", jb(4, 500, [NEXT, NEXT, 0x03, 2, NEXT, 0x03, 0xfd, NEXT, 0x03, 5, NEXT, NEXT, 0x05, 1, NEXT, 0x00]))
put("jbuf", "dups", jb(8, 10, [NEXT, 0x05, 0, NEXT, 0x05, 0, 0x05, 1, NEXT] * 4))
put("jbuf", "jump", jb(6, 40000, [NEXT] * 5 + [0x04, 0x01, 0x00, 0, 0, 0, 0] + [NEXT] * 5 + [0x04, 0xff, 0x00, 0xff, 0, 0, 0] + [NEXT] * 5))
put("jbuf", "cap1", jb(0, 5, [NEXT, 0x03, 3, NEXT, 0x00, NEXT, 0x03, 0xfe, NEXT]))
put("jbuf", "cap64_stale", jb(63, 2000, [NEXT, 0x03, 40] + [NEXT] * 3 + [0x03, 0xd0] + [NEXT] * 70))
put("jbuf", "variants", jb(5, 77, [0x06, 0x12, 1, 0x06, 0x23, 5, 0x06, 0x3f, 2, 3, 0x06, 0x80] + [NEXT] * 6))
put("jbuf", "garbage", jb(4, 1, [0x01, 5, 1, 2, 3, 4, 5, NEXT, 0x01, 12, 0x40] + [0] * 11 + [NEXT, 0x00]))
put("jbuf", "ts_jump", jb(4, 300, [NEXT, 0x07, 0xff, 0xff, 0xff, 0x00, NEXT, 0x03, 3, 0x07, 0x80, 0, 0, 0, NEXT, 0x00]))
put("jbuf", "dtor_held", jb(30, 9, [NEXT, 0x03, 4, NEXT, NEXT], flags=0x40))
put("jbuf", "big_cap", jb(0xc4, 1, [NEXT, 0x03, 3] + [NEXT] * 50))


# --- synth: srate, ptime, 3 random draws, then opcodes
def sy(srate, ptime, ops, draws=(0x11223344, 0xaabbccdd, 0x0000fff0)):
    return struct.pack(">ii", srate, ptime) + struct.pack(">III", *draws) + bytes(ops)


PA = [0x00, 0x40, 0x00, 0xa0, 0, 0, 0, 0, 0x00, 0xc0]      # plen 160 pt 0 blen 192
put("synth", "basic", sy(8000, 20, PA * 4 + [0x02, 0x40, 0x00, 0x50, 0, 0, 0, 8]))
put("synth", "filled", sy(16000, 30, [0x80, 0x40, 0x00, 0x10, 0, 0, 0, 0, 0x00, 0x20, 0, 0, 0, 1] + PA))
put("synth", "small_buf", sy(8000, 20, [0x00, 0x40, 0x00, 0xa0, 0, 0, 0, 0, 0x00, 0x10] + PA))
put("synth", "neg_plen", sy(8000, 20, [0x00, 0x00, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x03, 0, 0, 0, 0, 0x00, 0x10, 0x02, 0x04, 0, 0, 0, 0]))
put("synth", "skip_mbt", sy(8000, 10, [0x03, 5, 0x83, 0x80, 0, 0, 0, 0x14, 0x94, 0, 0, 0, 3] + PA + [0x05] + PA + [0x85] + PA))
put("synth", "wrap", sy(48000, 60, PA * 20, draws=(1, 0xfffffff0, 0xfffe)))
put("synth", "nulls_fresh", sy(-1, -20, [0x06, 0x07, 0, 0, 0x1f, 0x40, 0x12, 0x34, 0x56, 0x78] + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + PA))
put("synth", "huge_ptime", sy(0x7fffffff, 0x3fffffff, PA * 3 + [0x83, 0x7f, 0xff, 0xff, 0xff] + PA))


# --- rtcp: the input is both a compound RTCP packet (parser) and a session
# script (ssrc:4, rate:1, then records op:1 dt_ms:2 len:1 bytes)
def rtcp_hdr(count, pt, body, pad=0):
    n = len(body) + pad
    b0 = 0x80 | (0x20 if pad else 0) | count
    padding = (b"\x00" * (pad - 1) + bytes([pad])) if pad else b""
    return struct.pack(">BBH", b0, pt, (n + 4) // 4 - 1) + body + padding


def block(ssrc, frac=0, lost=0, ext=0, jit=0, lsr=0, dlsr=0):
    return struct.pack(">IIIIII", ssrc, frac << 24 | (lost & 0xffffff), ext, jit, lsr, dlsr)


def sr(ssrc, blocks=b"", n=0, pkts=10, octets=1600):
    return rtcp_hdr(n, 200, struct.pack(">IQIII", ssrc, 0xe0000000_80000000, 1234, pkts, octets) + blocks)


def rr(ssrc, blocks=b"", n=0):
    return rtcp_hdr(n, 201, struct.pack(">I", ssrc) + blocks)


def sdes(ssrc, items):
    body = struct.pack(">I", ssrc)
    for t, text in items:
        body += bytes([t, len(text)]) + text
    body += b"\x00" * (4 - len(body) % 4)
    return rtcp_hdr(1, 202, body)


def bye(ssrcs, reason=b""):
    body = b"".join(struct.pack(">I", s) for s in ssrcs)
    if reason:
        r = bytes([len(reason)]) + reason
        body += r + b"\x00" * (-len(r) % 4)
    return rtcp_hdr(len(ssrcs), 203, body)


def rec(op, dt, data):
    return struct.pack(">BHB", op, dt, len(data)) + data


SRC = 0x5555
put("rtcp", "sr_sdes", sr(SRC, block(0x1111, 12, 3, 70000, 40, 0x12345678, 65536), 1) + sdes(SRC, [(1, b"a@b"), (6, b"tool")]))
put("rtcp", "rr_bye", rr(SRC, block(1) + block(2, 255, -5 & 0xffffff), 2) + sdes(SRC, [(1, b"x")]) + bye([SRC, 9], b"gone"))
put("rtcp", "feedback_padded",
    rr(SRC) + sdes(SRC, [(1, b"c")]) + rtcp_hdr(1, 205, struct.pack(">IIHH", SRC, 7, 100, 0x8005)) +
    rtcp_hdr(1, 206, struct.pack(">II", SRC, 7)) + rtcp_hdr(4, 206, struct.pack(">IIIB3x", SRC, 0, 7, 3)) +
    rtcp_hdr(3, 204, struct.pack(">I4sI", SRC, b"TEST", 42), pad=8))
put("rtcp", "xr_other", rr(SRC) + rtcp_hdr(0, 207, struct.pack(">I", SRC) + b"\x04\x00\x00\x02" + b"\x00" * 8))
put("rtcp", "bad_length", rr(SRC)[:4] + b"\x00")
script = struct.pack(">IB", 0x7777, 0)
for i in range(40):
    if i % 7 != 3:
        script += rec(0, 20, rtp(seq=100 + i, ts=160 * i, ssrc=0x4444, payload=b"\xd5" * 40))
    script += rec(4, 0, rtp(seq=9000 + i, ts=160 * i, ssrc=0x7777, payload=b"\xd5" * 40))
    if i % 10 == 9:
        script += rec(6, 0, b"")
script += rec(2, 5, sr(0x4444, block(0x7777, 5, 2, 9039, 3), 1) + sdes(0x4444, [(1, b"peer")]))
script += rec(5 | (30 << 3), 6000, b"") + rec(0xff, 10, b"")
put("rtcp", "session_script", script)
collide = struct.pack(">IB", 0x4444, 1) + rec(0, 1, rtp(ssrc=0x4444)[:60]) + rec(2, 1, bye([0x4444])) + rec(6, 30000, b"")
put("rtcp", "session_collision", collide)
