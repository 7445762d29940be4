/*
 * Shared body of the video depacketizer harnesses (fuzz_video_h264.c,
 * _vp8.c, _vp9.c). The first input byte picks a mode:
 *  - even: the rest is a list of raw datagrams (u16 length + bytes, each
 *    with a u8 arrival step) fed to a receiver: any result must be a
 *    documented value and every frame returned must be well formed
 *    (non-empty; H.264 in Annex B with 4-byte start codes);
 *  - odd: the rest is frames (u16 length + bytes) packetized by a sender
 *    at an input-chosen MTU, then delivered with input-chosen loss,
 *    duplication and reordering: every frame the receiver returns must be
 *    exactly the frame sent with its timestamp (never a corrupt one).
 */
#ifndef RTPSYNTH_FUZZ_VIDEO_H
#define RTPSYNTH_FUZZ_VIDEO_H

#include <stdint.h>

#include "fuzz_common.h"
#include "rtpvideo.h"

#define FV_MAXF 64
#define FV_MAXP 2048

struct fv_pkts {
    uint8_t *p[FV_MAXP];
    size_t len[FV_MAXP];
    int n;
};

static void fv_keep(void *arg, const uint8_t *pkt, size_t len) {
    struct fv_pkts *ps = arg;
    if (ps->n >= FV_MAXP)
        return;
    ps->p[ps->n] = malloc(len);
    FZ_CHECK(ps->p[ps->n] != NULL);
    memcpy(ps->p[ps->n], pkt, len);
    ps->len[ps->n++] = len;
}

/* The frame sent, as the receiver rebuilds it: its NAL units (between
 * 00 00 01 start codes, trailing zero bytes dropped, empty ones skipped)
 * each behind 00 00 00 01. */
static uint8_t *fv_annexb_norm(const uint8_t *b, size_t len, size_t *out_len) {
    uint8_t *o = malloc(len * 2 + 8);
    FZ_CHECK(o != NULL);
    size_t n = 0, i = 0, start = SIZE_MAX;
    while (1) {
        int sc = i + 3 <= len && b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1;
        if (sc || i >= len) {
            if (start != SIZE_MAX) {
                size_t e = i < len ? i : len;
                while (e > start && b[e - 1] == 0)
                    e--;
                if (e > start) {
                    memcpy(o + n, "\0\0\0\1", 4);
                    memcpy(o + n + 4, b + start, e - start);
                    n += 4 + e - start;
                }
            }
            if (i >= len)
                break;
            start = i + 3;
            i += 3;
            continue;
        }
        i++;
    }
    *out_len = n;
    return o;
}

static void fv_check_frame(int codec, const struct rtpvid_frame *f) {
    FZ_CHECK(f->data != NULL && f->len > 0);
    FZ_CHECK(f->drop_reason == 0);
    FZ_CHECK((f->flags & ~7) == 0);
    if (codec == RTPVID_H264)
        FZ_CHECK(f->len > 4 && memcmp(f->data, "\0\0\0\1", 4) == 0);
}

static void fv_raw(int codec, struct fz_in *in) {
    struct rtpvid_recv_cfg rc = {sizeof(rc), codec, 96, 97, 64, 1000, 1, 10, 100};
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, NULL);
    FZ_CHECK(r != NULL);
    uint64_t t = 0;
    while (fz_left(in)) {
        size_t want = fz_u16(in) % 1500;
        t += fz_u8(in);
        const uint8_t *d;
        size_t n = fz_bytes(in, want, &d);
        uint8_t *copy = malloc(n ? n : 1);
        FZ_CHECK(copy != NULL);
        if (n)
            memcpy(copy, d, n);
        int rr = rtpvid_recv_pkt(r, copy, n, t);
        FZ_CHECK(rr == -EBADMSG || (rr >= RTPVID_STORED && rr <= RTPVID_IGNORED));
        free(copy);
        struct rtpvid_frame f;
        int ev;
        while ((ev = rtpvid_recv_frame(r, t, &f)) > 0)
            if (ev == RTPVID_FRAME)
                fv_check_frame(codec, &f);
            else
                FZ_CHECK(ev == RTPVID_DROPPED && f.drop_reason >= 1 && f.drop_reason <= 3);
        FZ_CHECK(ev == 0);
        uint8_t fb[256];
        FZ_CHECK(rtpvid_recv_feedback(r, t, 1, fb, sizeof(fb)) >= 0);
    }
    struct rtpvid_frame f;
    int ev;
    while ((ev = rtpvid_recv_frame(r, UINT64_MAX, &f)) > 0)
        if (ev == RTPVID_FRAME)
            fv_check_frame(codec, &f);
    FZ_CHECK(ev == 0);
    rtpvid_recv_dtor(r);
}

static void fv_round_trip(int codec, struct fz_in *in) {
    unsigned mtu = RTPVID_MIN_MTU + fz_u8(in) * 4u;
    struct rtpvid_send_cfg sc = {sizeof(sc), codec, 96, mtu, 7, fz_u16(in), 0, 0, 0, -1, 0, 0};
    struct rtpvid_send *s = rtpvid_send_ctor(&sc, NULL);
    FZ_CHECK(s != NULL);
    const uint8_t *frames[FV_MAXF];
    size_t lens[FV_MAXF];
    int nf = 0;
    static struct fv_pkts ps;
    ps.n = 0;
    uint8_t loss = fz_u8(in), dup = fz_u8(in), swap = fz_u8(in);
    while (fz_left(in) && nf < FV_MAXF) {
        size_t want = fz_u16(in) % 4096;
        const uint8_t *d;
        size_t n = fz_bytes(in, want, &d);
        int k = rtpvid_send_frame(s, d, n, 1000u * (uint32_t)nf, 0, fv_keep, &ps);
        if (k == -ENODATA || (codec == RTPVID_H264 && k == -EBADMSG))
            continue;
        FZ_CHECK(k >= 1);
        frames[nf] = d;
        lens[nf++] = n;
    }
    for (int i = 0; i < ps.n; i++)
        FZ_CHECK(ps.len[i] <= mtu);
    struct rtpvid_recv_cfg rc = {sizeof(rc), codec, 96, -1, 4096, 100, 0, 0, 0};
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, NULL);
    FZ_CHECK(r != NULL);
    unsigned long long rng = (unsigned long long)loss << 16 | (unsigned)dup << 8 | swap | 1;
    int last = -1;
    for (int i = 0; i < ps.n; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned v = (unsigned)(rng >> 33);
        int j = i;
        /* The stream's first packet always comes first: a receiver cannot
         * know of packets before the first it sees (docs/video.md). */
        if (i > 0 && swap && v % 256 < swap && i + 1 < ps.n) {
            uint8_t *tp = ps.p[i];
            size_t tl = ps.len[i];
            ps.p[i] = ps.p[i + 1];
            ps.len[i] = ps.len[i + 1];
            ps.p[i + 1] = tp;
            ps.len[i + 1] = tl;
        }
        if (i == 0 || (v >> 8) % 256 >= loss / 4u)
            FZ_CHECK(rtpvid_recv_pkt(r, ps.p[j], ps.len[j], (uint64_t)i) >= 0);
        if ((v >> 16) % 256 < dup / 4u)
            FZ_CHECK(rtpvid_recv_pkt(r, ps.p[j], ps.len[j], (uint64_t)i) >= 0);
        struct rtpvid_frame f;
        int ev;
        while ((ev = rtpvid_recv_frame(r, (uint64_t)i, &f)) > 0) {
            if (ev != RTPVID_FRAME)
                continue;
            fv_check_frame(codec, &f);
            int k = (int)(f.ts / 1000u);
            FZ_CHECK(f.ts % 1000u == 0 && k < nf && k > last);
            last = k;
            if (codec == RTPVID_H264) {
                size_t nl;
                uint8_t *norm = fv_annexb_norm(frames[k], lens[k], &nl);
                FZ_CHECK(f.len == nl && memcmp(f.data, norm, nl) == 0);
                free(norm);
            } else {
                FZ_CHECK(f.len == lens[k] && memcmp(f.data, frames[k], f.len) == 0);
            }
        }
    }
    for (int i = 0; i < ps.n; i++)
        free(ps.p[i]);
    rtpvid_recv_dtor(r);
    rtpvid_send_dtor(s);
}

static int fuzz_video(int codec, const uint8_t *data, size_t size) {
    struct fz_in in = {data, size};
    if (fz_u8(&in) & 1)
        fv_round_trip(codec, &in);
    else
        fv_raw(codec, &in);
    return 0;
}

#endif
