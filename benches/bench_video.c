/*
 * bench_video: packetize and depacketize throughput of rtpvideo.h, in MB/s
 * of frame data, per codec, at a 1200-byte MTU (H.264 frames are single
 * 60 kB IDR slices, so the H.264 figure is FU-A fragmentation). The
 * sender keeps no history (history 0) in the packetize figure and a
 * 1024-packet history in the "with history" one; the depacketize figure
 * feeds the packets to a receiver and takes the frames out. The frames
 * that come out are compared with those sent (a mismatch exits 1).
 *
 *   usage: bench_video [seconds per measurement, default 0.5]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtpvideo.h"

#define FRAME 60000
#define NF 16

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;
static void count(void *arg, const uint8_t *pkt, size_t len) {
    (void)arg;
    sink += len + pkt[0];
}

struct store {
    uint8_t *buf;
    size_t *len;
    size_t n, cap;
};

static void keep(void *arg, const uint8_t *pkt, size_t len) {
    struct store *s = arg;
    if (s->n < s->cap) {
        memcpy(s->buf + s->n * 1200, pkt, len);
        s->len[s->n++] = len;
    }
}

int main(int argc, char **argv) {
    double per = argc > 1 ? atof(argv[1]) : 0.5;
    static const int codecs[] = {RTPVID_H264, RTPVID_VP8, RTPVID_VP9};
    static const char *names[] = {"H.264 (FU-A)", "VP8", "VP9"};
    uint8_t *frames = malloc((size_t)NF * FRAME);
    if (frames == NULL)
        return 1;
    unsigned x = 1;
    for (size_t i = 0; i < (size_t)NF * FRAME; i++) {
        x = x * 1103515245u + 12345u;
        frames[i] = (uint8_t)(x >> 16) | 1; /* no start codes inside */
    }
    printf("bench_video: MTU 1200, %d-byte frames\n", FRAME);
    for (int c = 0; c < 3; c++) {
        for (int f = 0; f < NF; f++) {
            uint8_t *p = frames + (size_t)f * FRAME;
            if (codecs[c] == RTPVID_H264) {
                memcpy(p, "\0\0\0\1\x65\x88", 6);
            } else if (codecs[c] == RTPVID_VP8) {
                p[0] = 0x10;
            } else {
                p[0] = 0x82;
            }
        }
        double rates[2];
        for (int h = 0; h < 2; h++) {
            struct rtpvid_send_cfg sc = {sizeof(sc), codecs[c], 96, 1200, 1, 0, 0, h ? 1024 : 0, 0, -1, 0, 0};
            struct rtpvid_send *s = rtpvid_send_ctor(&sc, NULL);
            if (s == NULL)
                return 1;
            double best = 0, end = now() + per;
            uint32_t ts = 0;
            do {
                double t0 = now();
                for (int f = 0; f < NF; f++)
                    rtpvid_send_frame(s, frames + (size_t)f * FRAME, FRAME, ts += 3000, 0, count, NULL);
                double r = (double)NF * FRAME / (now() - t0) / 1e6;
                if (r > best)
                    best = r;
            } while (now() < end);
            rates[h] = best;
            rtpvid_send_dtor(s);
        }
        /* depacketize: packets prepared once, fed to fresh receivers */
        struct store st = {malloc((size_t)NF * 64 * 1200), malloc(NF * 64 * sizeof(size_t)), 0, NF * 64};
        struct rtpvid_send_cfg sc = {sizeof(sc), codecs[c], 96, 1200, 1, 0, 0, 0, 0, -1, 0, 0};
        struct rtpvid_send *s = rtpvid_send_ctor(&sc, NULL);
        if (s == NULL || st.buf == NULL || st.len == NULL)
            return 1;
        for (int f = 0; f < NF; f++)
            rtpvid_send_frame(s, frames + (size_t)f * FRAME, FRAME, 3000u * (uint32_t)f, 0, keep, &st);
        rtpvid_send_dtor(s);
        struct rtpvid_recv_cfg rc = {sizeof(rc), codecs[c], 96, -1, 0, 0, 0, 0, 0};
        struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, NULL);
        if (r == NULL)
            return 1;
        double best = 0, end = now() + per;
        uint16_t seq_off = 0;
        do {
            double t0 = now();
            int got = 0;
            for (size_t i = 0; i < st.n; i++) {
                /* renumber so that every pass is new to the receiver */
                uint8_t *p = st.buf + i * 1200;
                uint16_t seq = (uint16_t)((p[2] << 8 | p[3]) + seq_off);
                p[2] = (uint8_t)(seq >> 8);
                p[3] = (uint8_t)seq;
                rtpvid_recv_pkt(r, p, st.len[i], 0);
                struct rtpvid_frame fr;
                while (rtpvid_recv_frame(r, 0, &fr) == RTPVID_FRAME) {
                    if (fr.len != (codecs[c] == RTPVID_H264 ? FRAME : FRAME) ||
                        memcmp(fr.data + 4 * (codecs[c] == RTPVID_H264), frames + (size_t)got * FRAME + 4 * (codecs[c] == RTPVID_H264),
                               FRAME - 4 * (codecs[c] == RTPVID_H264)) != 0) {
                        fprintf(stderr, "%s: frame %d differs\n", names[c], got);
                        return 1;
                    }
                    got++;
                }
            }
            if (got != NF) {
                fprintf(stderr, "%s: %d of %d frames\n", names[c], got, NF);
                return 1;
            }
            double dt = now() - t0;
            double rate = (double)NF * FRAME / dt / 1e6;
            if (rate > best)
                best = rate;
            seq_off = (uint16_t)st.n;
        } while (now() < end);
        rtpvid_recv_dtor(r);
        free(st.buf);
        free(st.len);
        printf("%-13s packetize %8.0f MB/s   with history %8.0f MB/s   depacketize %8.0f MB/s\n", names[c], rates[0],
               rates[1], best);
    }
    free(frames);
    return 0;
}
