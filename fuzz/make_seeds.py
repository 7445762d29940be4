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


# --- stun: records [flags u8][len u16][bytes]; flag 1 forces the STUN
# header, flag 2 appends a FINGERPRINT (see fuzz_stun.c)
def st(flags, body):
    return bytes([flags]) + struct.pack(">H", len(body)) + bytes(body)


TID = bytes(range(0x40, 0x4c))
BREQ = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + TID
PRIO = b"\x00\x24\x00\x04\x6e\x00\x1e\xff"
USER = b"\x00\x06\x00\x09abcd:efgh\x00\x00\x00"
put("stun", "plain_request", st(0, BREQ))
put("stun", "forced_request", st(1, BREQ + PRIO))
put("stun", "fingerprint", st(3, BREQ + PRIO + USER))
put("stun", "ice_like", st(3, BREQ + USER + PRIO + b"\x80\x2a\x00\x08" + bytes(8) + b"\x00\x25\x00\x00"))
put("stun", "indication", st(1, b"\x00\x11" + BREQ[2:]) + st(1, b"\x01\x01" + BREQ[2:]))
put("stun", "bad_attr", st(1, BREQ + b"\x00\x06\x00\x40abc\x00"))
put("stun", "rtp_and_rtcp", st(0, b"\x80\x00\x00\x01" + bytes(8) + b"\xd5" * 20) + st(0, b"\x81\xc8\x00\x06" + bytes(24)))
put("stun", "mixed", st(3, BREQ) + st(0, b"") + st(1, BREQ[:19]) + st(2, BREQ + PRIO) + st(0, BREQ + b"\x80\x28\x00\x04\x00\x00\x00\x00"))


# --- tcp: records [chunk u8][chunk % 32 + 1 bytes of stream] (fuzz_tcp.c)
def tc(stream, chunk=31):
    out = b""
    while stream:
        k = chunk % 32 + 1
        out += bytes([chunk]) + stream[:k]
        stream = stream[k:]
        chunk = (chunk * 7 + 3) % 256
    return out


def fr(pkt):
    return struct.pack(">H", len(pkt)) + pkt


put("tcp", "one_rtp", tc(fr(rtp(payload=b"\xd5" * 40))))
put("tcp", "many_small", tc(b"".join(fr(bytes([i]) * i) for i in range(20)), chunk=0))
put("tcp", "empty_frames", tc(fr(b"") * 5 + fr(b"x")))
put("tcp", "partial_tail", tc(fr(b"abc") + b"\x00\x10abc"))
put("tcp", "big_frame", tc(fr(bytes(range(256)) * 10)))
put("tcp", "len_only", tc(b"\xff"))
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
# --- event: payload bytes (count, bytes), timeout, then ops
#     push: op (%5 in 0..2; 0x80 marker, 0x08 SSRC 2, 0x10 segment byte,
#     0x20 duration 0xffff), dt byte (2 ms units, 32 = 0), ts byte (x160),
#     [segment byte], seq u16, event, flags (0x80 E | volume), [duration u16]
def ev_push(ts, seq, ev, end, dur, marker=0, ssrc2=0, dt=42, seg=None):
    op = (0x80 if marker else 0) | (0x08 if ssrc2 else 0) | (0x10 if seg is not None else 0)
    b = [op, dt, ts] + ([seg] if seg is not None else []) + [seq >> 8, seq & 0xff, ev, (0x80 if end else 0) | 10]
    return b + [dur >> 8, dur & 0xff]


def ev_event(ts, seq, ev, n, **kw):
    out = []
    for i in range(1, n + 1):
        out += ev_push(ts, seq, ev, i == n, 160 * i, marker=(i == 1), **kw)
        seq += 1
    for _ in range(2):
        out += ev_push(ts, seq, ev, 1, 160 * n, **kw)
        seq += 1
    return out


EVH = [4, 1, 0x8a, 3, 0x20, 1]
put("event", "one", EVH + ev_event(1, 10, 1, 5))
put("event", "two_same_digit", EVH + ev_event(1, 10, 2, 4) + ev_event(3, 20, 2, 4))
put("event", "end_lost_timeout", EVH + ev_event(1, 10, 0, 5)[:4 * 10] + [4, 250, 4, 250])
put("event", "dups_reorder", EVH + ev_push(2, 5, 1, 0, 160, marker=1) + ev_push(1, 1, 0, 0, 160, marker=1)
    + ev_push(1, 2, 0, 1, 320) + ev_push(2, 6, 1, 0, 320) + ev_push(2, 6, 1, 0, 320) + ev_push(1, 2, 0, 1, 320)
    + ev_push(2, 7, 1, 1, 480))
put("event", "segments", EVH + ev_push(0, 1, 2, 0, 160, marker=1, seg=0) + ev_push(0, 2, 2, 0, 0xffff, seg=0)
    + ev_push(0, 3, 2, 0, 480, seg=1) + ev_push(0, 4, 2, 0, 0xffff, seg=1) + ev_push(0, 5, 2, 1, 800, seg=2))
put("event", "ssrc_change", EVH + ev_push(1, 1, 1, 0, 160, marker=1) + ev_push(1, 2, 1, 0, 320)
    + ev_push(5, 900, 1, 0, 480, ssrc2=1) + ev_push(5, 901, 1, 1, 640, ssrc2=1) + ev_push(1, 3, 1, 1, 480)
    + ev_push(6, 902, 2, 0, 160, marker=1, ssrc2=1) + [4 | 0x40, 32])
put("event", "junk", [2, 0x80, 0x65, 0] + [3, 32, 12] + [0x80, 0xe5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    + [3, 32, 3, 1, 2, 3] + [3, 32, 0] + ev_event(2, 1, 1, 2))
# --- playout: config byte, then ops (see fuzz/targets/fuzz_playout.c)
def pl_put(seq_d=1, ts_d8=5, payload=b"\xd5" * 40, ssrc=None, marker=0, other_pt=None):
    f = (1 if ssrc is not None else 0) | (4 if marker else 0)
    if other_pt is not None:
        f |= 8 | (other_pt << 4)
    b = bytes([0x00, f, seq_d & 0xff]) + struct.pack(">h", ts_d8)
    if ssrc is not None:
        b += struct.pack(">I", ssrc)
    return b + bytes([len(payload)]) + payload


def pl_time(units):  # units of 100 us
    return bytes([0x02]) + struct.pack(">H", units)


def pl_get(n=1):
    return bytes([0x03 | ((n - 1) << 4)])


STEP = pl_time(50)  # 5 ms: one 40-sample packet at 8 kHz
steady = b"".join(pl_put(marker=(k == 0)) + STEP + pl_get() for k in range(40))
put("playout", "pcmu_steady", bytes([0x00]) + steady)
put("playout", "pcma_fixed_std_plc", bytes([0x01 | 0x20 | 0x40]) + steady)
lossy = b"".join((pl_put(seq_d=2 if k % 7 == 3 else 1, ts_d8=10 if k % 7 == 3 else 5)
                  if k % 9 else pl_put(seq_d=-1, ts_d8=-5)) + STEP + pl_get() for k in range(40))
put("playout", "l16_loss_reorder", bytes([0x02]) + lossy)
put("playout", "l16_16k_small_frames", bytes([0x03 | 0x10]) + lossy)
ssrc = steady[:len(steady) // 2] + pl_put(ssrc=0xbeef, seq_d=77, ts_d8=999, marker=1) + STEP + \
    b"".join(pl_put() + STEP + pl_get(2) for _ in range(15))
put("playout", "ssrc_change", bytes([0x00]) + ssrc)
pause = steady[:len(steady) // 2] + pl_time(3000) + pl_get(16) + pl_put(ts_d8=2000, marker=1) + steady
put("playout", "dtx_pause", bytes([0x00]) + pause)
opus_pkt = bytes([0x08]) + bytes(range(1, 40))  # SILK NB 10 ms, code 0
opus = b"".join(pl_put(ts_d8=60, payload=opus_pkt) + pl_time(100) + pl_get() for _ in range(30))
put("playout", "opus", bytes([0x04]) + opus)
put("playout", "opus_16k_full_buffer", bytes([0x05 | 0x80]) + opus)
put("playout", "times_backward_huge", bytes([0x00]) + steady[:200] + bytes([0x06, 0xff, 0xff]) +
    bytes([0x0a, 0xff, 0xff]) + steady[:200] + pl_get(16))
put("playout", "raw_and_other_pt", bytes([0x00]) + bytes([0x01, 12]) + bytes([0x80] + [0] * 11) +
    pl_put(other_pt=8) + bytes([0x01, 5, 1, 2, 3, 4, 5]) + steady[:300])
