/*
 * bench_rtcp: cost of RTCP through the public ABI (rtcp.h).
 *  - stats update: rtcp_stats_rtp per received packet (target < 20 ns);
 *  - session input: rtcp_session_rtp_in per packet (RTP header parse,
 *    source lookup among 31, statistics);
 *  - report: rtcp_session_report of a compound with 31 report blocks
 *    (RR + 31 blocks + SDES CNAME, 780 bytes; target < 2 us), timed per
 *    call (the 31 packets that make each source reportable are fed
 *    between the timed calls);
 *  - parse: walking that compound with rtcp_parse_next + every block.
 * Each figure is the best of 3 runs of about 0.5 s.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rtcp.h"

#define RUNS 3

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void taint(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static double bench_stats(void) {
    struct rtcp_stats *st = rtcp_stats_ctor(8000, NULL);
    uint64_t n = 0, t0 = now_ns(), t;
    uint32_t jit = 1;
    do {
        for (uint32_t i = 0; i < 1000000; i++) {
            jit = jit * 1103515245u + 12345u;
            uint64_t k = n + i;
            rtcp_stats_rtp(st, (uint16_t)k, (uint32_t)k * 160u, k * 20000000ull + (jit >> 12), 160);
        }
        n += 1000000;
    } while ((t = now_ns() - t0) < 500000000ull);
    struct rtcp_stats_info in;
    rtcp_stats_get(st, &in);
    taint(&in);
    rtcp_stats_dtor(st);
    return (double)t / (double)n;
}

static void rtp(uint8_t *p, uint32_t ssrc, uint16_t seq, uint32_t ts) {
    p[0] = 0x80; p[1] = 0;
    p[2] = (uint8_t)(seq >> 8); p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24); p[5] = (uint8_t)(ts >> 16); p[6] = (uint8_t)(ts >> 8); p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24); p[9] = (uint8_t)(ssrc >> 16); p[10] = (uint8_t)(ssrc >> 8); p[11] = (uint8_t)ssrc;
}

static struct rtcp_session *mk_session(void) {
    struct rtcp_session_cfg cfg = { .size = sizeof cfg, .ssrc = 1, .clock_rate = 8000,
                                    .cname = "bench@example.org", .max_sources = 64, .seed = 1 };
    return rtcp_session_ctor(&cfg, 0, NULL);
}

static double bench_session_in(void) {
    struct rtcp_session *s = mk_session();
    uint8_t pkt[172];
    memset(pkt, 0xff, sizeof pkt);
    uint64_t n = 0, t0 = now_ns(), t;
    do {
        for (uint32_t i = 0; i < 31 * 20000; i++) {
            uint32_t src = i % 31, k = (uint32_t)(n / 31) + i / 31;
            rtp(pkt, 100 + src, (uint16_t)k, k * 160u);
            rtcp_session_rtp_in(s, pkt, sizeof pkt, (uint64_t)k * 20000000ull + src * 1000);
        }
        n += 31 * 20000;
    } while ((t = now_ns() - t0) < 500000000ull);
    rtcp_session_dtor(s);
    return (double)t / (double)n;
}

static double bench_report(int *len) {
    struct rtcp_session *s = mk_session();
    uint8_t pkt[172], out[1500];
    memset(pkt, 0xff, sizeof pkt);
    uint64_t n = 0, spent = 0, t0 = now_ns();
    uint32_t k = 0;
    do {
        for (uint32_t src = 0; src < 31; src++) {
            rtp(pkt, 100 + src, (uint16_t)k, k * 160u);
            rtcp_session_rtp_in(s, pkt, sizeof pkt, (uint64_t)k * 20000000ull);
        }
        k++;
        uint64_t a = now_ns();
        *len = rtcp_session_report(s, (uint64_t)k * 20000000ull, 1700000000ull * 1000000000ull, out, sizeof out);
        spent += now_ns() - a;
        taint(out);
        n++;
    } while (now_ns() - t0 < 500000000ull);
    rtcp_session_dtor(s);
    return (double)spent / (double)n;
}

static double bench_parse(void) {
    struct rtcp_report_block b[31];
    for (int i = 0; i < 31; i++)
        b[i] = (struct rtcp_report_block){ .ssrc = (uint32_t)i, .fraction_lost = 3, .cumulative_lost = i,
                                           .ext_highest_seq = 70000, .jitter = 12 };
    uint8_t buf[1500];
    int n = rtcp_build_rr(buf, sizeof buf, 1, b, 31);
    struct rtcp_sdes_item it = { RTCP_SDES_CNAME, "bench@example.org", 17 };
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 1, &it, 1);
    uint64_t iters = 0, t0 = now_ns(), t;
    do {
        for (int i = 0; i < 10000; i++) {
            size_t pos = 0;
            struct rtcp_pkt p;
            while (rtcp_parse_next(buf, (size_t)n, &pos, &p) == 1) {
                if (p.type == RTCP_RR)
                    for (unsigned j = 0; j < p.n; j++) {
                        struct rtcp_report_block o;
                        rtcp_pkt_block(&p, j, &o);
                        taint(&o);
                    }
            }
        }
        iters += 10000;
    } while ((t = now_ns() - t0) < 500000000ull);
    return (double)t / (double)iters;
}

static double best(double (*f)(void)) {
    double b = 1e300;
    for (int r = 0; r < RUNS; r++) {
        double v = f();
        if (v < b)
            b = v;
    }
    return b;
}

int main(void) {
    printf("stats update (rtcp_stats_rtp):            %7.1f ns/packet (target < 20)\n", best(bench_stats));
    printf("session input, 31 sources (rtp_in):       %7.1f ns/packet\n", best(bench_session_in));
    int len = 0;
    double rb = 1e300;
    for (int r = 0; r < RUNS; r++) {
        double v = bench_report(&len);
        if (v < rb)
            rb = v;
    }
    printf("compound report, 31 blocks (%d bytes):   %7.1f ns/report (target < 2000)\n", len, rb);
    printf("parse that compound + read 31 blocks:     %7.1f ns\n", best(bench_parse));
    return 0;
}
