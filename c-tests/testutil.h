/* Minimal assertion helpers shared by the C tests (not a public header). */
#ifndef RTPSYNTH_TESTUTIL_H
#define RTPSYNTH_TESTUTIL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

/* atomic: threaded tests CHECK from several threads */
static atomic_int tu_checks;

#define CHECK(cond) do { \
    tu_checks++; \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        exit(1); \
    } \
} while (0)

#define CHECK_EQ(a, b) do { \
    long long tu_a = (long long)(a), tu_b = (long long)(b); \
    tu_checks++; \
    if (tu_a != tu_b) { \
        fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
            __FILE__, __LINE__, #a, tu_a, #b, tu_b); \
        exit(1); \
    } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *tu_sa = (a), *tu_sb = (b); \
    tu_checks++; \
    if (strcmp(tu_sa, tu_sb) != 0) { \
        fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", %s == \"%s\"\n", \
            __FILE__, __LINE__, #a, tu_sa, #b, tu_sb); \
        exit(1); \
    } \
} while (0)

/* Scale a count down under valgrind (RTPSYNTH_UNDER_VALGRIND=1). */
static inline long tu_scaled(long normal, long under_valgrind) {
    const char *v = getenv("RTPSYNTH_UNDER_VALGRIND");
    return (v != NULL && *v != '\0' && *v != '0') ? under_valgrind : normal;
}

#define TEST_DONE(name) do { \
    printf("%s: %d checks passed\n", name, (int)atomic_load(&tu_checks)); \
    return 0; \
} while (0)

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t tu_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void tu_sleep_ms(unsigned ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Poll until *counter >= n or timeout_ms passes; 1 if reached. */
static inline int tu_wait_count(atomic_int *counter, int n, unsigned timeout_ms) {
    uint64_t end = tu_now_ns() + timeout_ms * 1000000ULL;
    while (tu_now_ns() < end) {
        if (atomic_load(counter) >= n)
            return 1;
        tu_sleep_ms(2);
    }
    return atomic_load(counter) >= n;
}

/* Deterministic xorshift generator for reproducible random streams. */
static inline unsigned int tu_rand(unsigned long long *s) {
    unsigned long long x = *s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    *s = x;
    return (unsigned int)(x >> 32);
}

#ifdef RTPSYNTH_RTPJBUF_H
/*
 * Jitter-buffer trace helpers (include rtpjbuf.h before testutil.h).
 * Frame lists are rendered as text, RTP frames as their lseq ("7", or "7j2"
 * when jbcnt is 2) and erasures as "E<start>-<end>/<ts_diff>", separated by
 * spaces; rendering checks every frame and frees the RTP frames the way a
 * drop-in caller does (rtpjbuf_frame_dtor, never on the erasure frame).
 */
#include <stdint.h>

#define TU_PLEN 160
#define TU_TS0 1000u
#define TU_NDGRAM 4096
static unsigned char tu_dgram[TU_NDGRAM][12 + TU_PLEN];
static unsigned tu_next_dgram;
static long tu_rtp_freed;

/* RTP datagram of stream index n: seq n & 0xffff, ts TU_TS0 + 160 n, PCMU,
 * payload starting with n; kept in a ring of TU_NDGRAM slots. */
static inline const unsigned char *tu_pkt_ts(uint64_t n, uint32_t ts) {
    unsigned char *p = tu_dgram[tu_next_dgram++ % TU_NDGRAM];
    memset(p, 0, sizeof(tu_dgram[0]));
    p[0] = 0x80; p[1] = 0;
    p[2] = (unsigned char)(n >> 8); p[3] = (unsigned char)n;
    p[4] = (unsigned char)(ts >> 24); p[5] = (unsigned char)(ts >> 16);
    p[6] = (unsigned char)(ts >> 8); p[7] = (unsigned char)ts;
    p[8] = 0xca; p[9] = 0xfe; p[10] = 0xba; p[11] = 0xbe;
    memcpy(p + 12, &n, sizeof(n));
    return p;
}

static inline const unsigned char *tu_pkt(uint64_t n) {
    return tu_pkt_ts(n, TU_TS0 + 160u * (uint32_t)n);
}

static inline void tu_check_rtp(int line, const struct rtp_frame *fp) {
    const unsigned char *d = fp->rtp.data;
    if (fp->type != RFT_RTP || d == NULL ||
        (unsigned)((d[2] << 8) | d[3]) != fp->rtp.info.seq ||
        (fp->rtp.lseq & 0xffff) != fp->rtp.info.seq ||
        (((uint32_t)d[4] << 24) | ((uint32_t)d[5] << 16) | ((uint32_t)d[6] << 8) | d[7]) != fp->rtp.info.ts) {
        fprintf(stderr, "line %d: bad RTP frame (type %d, lseq %llu, seq %u)\n", line,
            (int)fp->type, (unsigned long long)fp->rtp.lseq, (unsigned)fp->rtp.info.seq);
        exit(1);
    }
}

/* Render (and consume) a ready or drop list into out. */
static inline void tu_render(int line, struct rtp_frame *fp, int is_ready, char *out, size_t cap) {
    size_t len = 0;
    int first = 1;
    uint64_t expect_next = 0;
    int have_expect = 0;
    out[0] = '\0';
    while (fp != NULL) {
        struct rtp_frame *next = fp->next;
        char item[96];
        if (fp->type == RFT_ERS) {
            if (!is_ready || !first || next == NULL) {
                fprintf(stderr, "line %d: erasure frame out of place\n", line);
                exit(1);
            }
            snprintf(item, sizeof(item), "E%llu-%llu/%u", (unsigned long long)fp->ers.lseq_start,
                (unsigned long long)fp->ers.lseq_end, (unsigned)fp->ers.ts_diff);
            expect_next = fp->ers.lseq_end + 1;
            have_expect = 1;
        } else {
            tu_check_rtp(line, fp);
            if (is_ready && have_expect && fp->rtp.lseq != expect_next) {
                fprintf(stderr, "line %d: ready list not consecutive at lseq %llu\n", line,
                    (unsigned long long)fp->rtp.lseq);
                exit(1);
            }
            expect_next = fp->rtp.lseq + 1;
            have_expect = 1;
            if (fp->rtp.jbcnt != 0)
                snprintf(item, sizeof(item), "%lluj%llu", (unsigned long long)fp->rtp.lseq,
                    (unsigned long long)fp->rtp.jbcnt);
            else
                snprintf(item, sizeof(item), "%llu", (unsigned long long)fp->rtp.lseq);
            rtpjbuf_frame_dtor(fp);
            tu_rtp_freed++;
        }
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", first ? "" : " ", item);
        first = 0;
        fp = next;
    }
    if (len >= cap) {
        fprintf(stderr, "line %d: rendered list too long\n", line);
        exit(1);
    }
}

static char tu_ready[4096], tu_drop[4096];

/* Feed one datagram; render ready/drop into tu_ready/tu_drop; return error. */
static inline int tu_feed(int line, void *jb, const unsigned char *d, size_t len) {
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, d, len);
    tu_render(line, r.ready, 1, tu_ready, sizeof(tu_ready));
    tu_render(line, r.drop, 0, tu_drop, sizeof(tu_drop));
    return r.error;
}

static inline void tu_flush(int line, void *jb) {
    struct rjb_udp_in_r r = rtpjbuf_flush(jb);
    CHECK_EQ(r.error, 0);
    tu_render(line, r.ready, 1, tu_ready, sizeof(tu_ready));
    tu_render(line, r.drop, 0, tu_drop, sizeof(tu_drop));
}

static inline void tu_expect(int line, const char *what, const char *got, const char *want) {
    tu_checks++;
    if (getenv("TU_RECORD") != NULL) {  /* print what happened, to derive expectations */
        printf("line %d: %s \"%s\"%s\n", line, what, got, strcmp(got, want) ? "   <-- differs" : "");
        return;
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "line %d: %s is \"%s\", expected \"%s\"\n", line, what, got, want);
        exit(1);
    }
}

/* IN(n, ready, drop): feed stream index n and check both lists. */
#define IN(jb, n, r, d) do { \
    CHECK_EQ(tu_feed(__LINE__, (jb), tu_pkt(n), 12 + TU_PLEN), 0); \
    tu_expect(__LINE__, "ready", tu_ready, (r)); \
    tu_expect(__LINE__, "drop", tu_drop, (d)); \
} while (0)

#define FLUSH(jb, r, d) do { \
    tu_flush(__LINE__, (jb)); \
    tu_expect(__LINE__, "ready", tu_ready, (r)); \
    tu_expect(__LINE__, "drop", tu_drop, (d)); \
} while (0)
#endif /* RTPSYNTH_RTPJBUF_H */

#endif
