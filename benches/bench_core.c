/*
 * bench_core: throughput of the drop-in core through the public ABI, in
 * million packets per second (Mpps). Uses only what librtpsynth 1.3.2
 * declares, so the same binary also runs against the original library:
 *   ./bench_core                        (this library)
 *   LD_LIBRARY_PATH=/path/to/original ./bench_core
 *   BENCH_RING=2097152 ./bench_core   (cold datagrams, see RING below)
 *   BENCH_PASSES=4 valgrind --tool=callgrind ./bench_core reorder
 *                                     (a fixed amount of work, once, for
 *                                      instruction counts on a loaded host)
 * Each figure is the best of 3 runs of about 0.5 s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "rtpsynth.h"

#define PLEN 170
#define POOL 65536             /* one full sequence-number cycle */
/* Datagram buffers, reused round-robin: 2048 (372 KiB) keeps them cache-hot
 * like a socket's receive buffers; BENCH_RING=2097152 (a 2M-packet stream
 * in memory, 364 MiB) makes every datagram a cache miss. */
static size_t RING = 2048;
static int RUNS = 3;
/* BENCH_PASSES=n: the jitter buffer benches feed their schedule exactly n
 * times, once, instead of for ~0.5 s three times. */
static unsigned long PASSES = 0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void taint(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static unsigned long long rng = 88172645463325252ULL;
static unsigned int xrand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned int)(rng >> 32);
}

static double bench_next_pkt(void) {
    void *rs = rsynth_ctor(8000, 30);
    uint64_t n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 100000; i++) {
            void *p = rsynth_next_pkt(rs, PLEN, 0);
            taint(p);
            rsynth_pkt_free(p);
        }
        n += 100000;
    } while ((t = now() - t0) < 0.5);
    rsynth_dtor(rs);
    return n / t / 1e6;
}

static double bench_next_pkt_pa(void) {
    void *rs = rsynth_ctor(8000, 30);
    static char buf[12 + PLEN];
    uint64_t n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 100000; i++) {
            int r = rsynth_next_pkt_pa(rs, PLEN, 0, buf, sizeof(buf), 0);
            taint(buf);
            (void)r;
        }
        n += 100000;
    } while ((t = now() - t0) < 0.5);
    rsynth_dtor(rs);
    return n / t / 1e6;
}

/* RING datagram buffers, taken in turn across passes. Datagrams arrive in
 * batches of BATCH, as from one recvmmsg: each slot of a batch gets its
 * scheduled packet's seq and ts, then the batch is fed to the buffer. (Writing
 * each header just before its own call made every library's first header
 * load wait for a failed store-to-load forward: a cost of the bench, not of
 * receiving, where the kernel's copy is long done.) */
#define BATCH 32
static unsigned char *ring;
static size_t next_slot;
#define RING_MAX ((size_t)1 << 21)

static void make_ring(void) {
    void *rs = rsynth_ctor(8000, 20);
    ring = malloc((size_t)RING * (12 + PLEN));
    for (size_t i = 0; i < RING; i++)
        rsynth_next_pkt_pa(rs, PLEN, 0, (char *)ring + (size_t)i * (12 + PLEN), 12 + PLEN, 0);
    rsynth_dtor(rs);
}

static inline const unsigned char *receive(uint32_t seq) {
    unsigned char *p = ring + next_slot * (12 + PLEN);
    if (++next_slot == RING)
        next_slot = 0;
    uint32_t ts = seq * 160;
    p[2] = seq >> 8; p[3] = seq;
    p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
    return p;
}

static uint64_t drain(struct rjb_udp_in_r r) {
    uint64_t n = 0;
    for (struct rtp_frame *f = r.ready, *nx; f; f = nx) {
        nx = f->next;
        if (f->type == RFT_RTP) { rtpjbuf_frame_dtor(f); n++; }
    }
    for (struct rtp_frame *f = r.drop, *nx; f; f = nx) {
        nx = f->next;
        rtpjbuf_frame_dtor(f);
    }
    return n;
}

/* Feed `sched` (indices into the pool) round and round for ~0.5 s. */
static double bench_jbuf(const uint32_t *sched, size_t nsched, unsigned cap, uint64_t *delivered) {
    void *jb = rtpjbuf_ctor(cap);
    uint64_t n = 0, out = 0;
    double t0 = now(), t;
    unsigned long pass = 0;
    const unsigned char *batch[BATCH];
    do {
        for (size_t i = 0; i < nsched; i += BATCH) {
            size_t nb = nsched - i < BATCH ? nsched - i : BATCH;
            for (size_t k = 0; k < nb; k++)
                batch[k] = receive(sched[i + k]);
            for (size_t k = 0; k < nb; k++)
                out += drain(rtpjbuf_udp_in(jb, batch[k], 12 + PLEN));
        }
        n += nsched;
        t = now() - t0;
    } while (PASSES ? ++pass < PASSES : t < 0.5);
    out += drain(rtpjbuf_flush(jb));
    rtpjbuf_dtor(jb);
    *delivered = out;
    return n / t / 1e6;
}

static double best(double (*f)(void)) {
    double b = 0;
    for (int i = 0; i < RUNS; i++) {
        double v = f();
        if (v > b) b = v;
    }
    return b;
}

/* With an argument (synth, inorder, reorder) only that part runs. */
int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : "";
    if (getenv("BENCH_RING"))
        RING = strtoul(getenv("BENCH_RING"), NULL, 10);
    if (RING == 0 || RING > RING_MAX)
        RING = RING_MAX;
    if (getenv("BENCH_PASSES")) {
        PASSES = strtoul(getenv("BENCH_PASSES"), NULL, 10);
        RUNS = 1;
    }
#define WANT(x) (only[0] == 0 || strcmp(only, x) == 0)
    printf("%-44s %8s\n", "operation", "Mpps");
    if (WANT("synth")) {
        printf("%-44s %8.2f\n", "rsynth_next_pkt + rsynth_pkt_free (170 B)", best(bench_next_pkt));
        printf("%-44s %8.2f\n", "rsynth_next_pkt_pa (170 B)", best(bench_next_pkt_pa));
    }

    make_ring();
    /* in order: the schedule is one whole seq cycle, so it repeats seamlessly */
    uint32_t *inorder = malloc(POOL * sizeof(*inorder));
    for (uint32_t i = 0; i < POOL; i++)
        inorder[i] = i;
    /* windows of 16 shuffled, 1% duplicated, 1% lost */
    uint32_t *reord = malloc(2 * POOL * sizeof(*reord));
    size_t nr = 0;
    for (uint32_t base = 0; base < POOL; base += 16) {
        uint32_t w[16];
        for (int i = 0; i < 16; i++) w[i] = base + i;
        for (int i = 15; i > 0; i--) {
            int j = xrand() % (i + 1);
            uint32_t t = w[i]; w[i] = w[j]; w[j] = t;
        }
        for (int i = 0; i < 16; i++) {
            unsigned r = xrand() % 100;
            if (r == 0) continue;                    /* lost */
            reord[nr++] = w[i];
            if (r == 1) reord[nr++] = w[i];          /* duplicated */
        }
    }
    double b = 0, v;
    uint64_t d;
    if (WANT("inorder")) {
        for (int i = 0; i < RUNS; i++)
            if ((v = bench_jbuf(inorder, POOL, 32, &d)) > b) b = v;
        printf("%-44s %8.2f\n", "rtpjbuf_udp_in, in order (cap 32)", b);
    }
    b = 0;
    if (WANT("reorder")) {
        for (int i = 0; i < RUNS; i++)
            if ((v = bench_jbuf(reord, nr, 32, &d)) > b) b = v;
        printf("%-44s %8.2f\n", "rtpjbuf_udp_in, 16-windows shuffled 1%dup 1%loss", b);
    }
    free(inorder);
    free(reord);
    free(ring);
    return 0;
}
