/*
 * Differential harness: runs the same random call sequences against two
 * builds of librtpsynth (normally the original C 1.3.2 and this Rust
 * implementation) loaded side by side with dlopen(RTLD_LOCAL), and compares
 * every output:
 *   - rtp_packet_parse_raw: return code and every rtp_info field;
 *   - rtpjbuf_udp_in / rtpjbuf_flush: error code, the ready and drop lists
 *     frame by frame (type, lseq, jbcnt, data pointer, rtp_info, erasure
 *     lseq_start/lseq_end/ts_diff);
 *   - the generator (rsynth_*): every packet byte, return values, the whole
 *     caller buffer, marker state and the rsynth_resync position.
 *
 * Not registered with ctest (the original is not available in CI). Run by
 * hand, see docs/fuzzing.md:
 *     cc -O2 -o diff_original c-tests/diff/diff_original.c -ldl
 *     ./diff_original /tmp/orig/lib/librtpsynth.so.1 build/lib/librtpsynth.so.1 [streams] [seed]
 *
 * Each stream runs in a forked child so that an abort() or crash in either
 * library is reported (the original abort()s on some hostile inputs, see
 * d_assert in its rtpjbuf.c) instead of ending the run. A stream on which
 * library A (the reference) dies is counted as "reference died" and is not a
 * difference; a stream on which only library B dies is.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Layouts of the drop-in ABI (x86-64), identical in both libraries. */
struct rtp_profile { int ts_rate, sample_rate, nchannels, pt_kind; };
struct rtp_info {
    size_t data_size;
    unsigned int data_offset;
    int nsamples;
    uint32_t ts;
    uint16_t seq;
    uint32_t ssrc;
    int appendable;
    const struct rtp_profile *rtp_profile;
};
struct rtp_packet { struct rtp_info info; uint64_t lseq, jbcnt; const unsigned char *data; };
struct ers_frame { uint64_t lseq_start, lseq_end; uint32_t ts_diff; };
struct rtp_frame {
    int type;
    union { struct rtp_packet rtp; struct ers_frame ers; };
    struct rtp_frame *next;
};
struct rjb_udp_in_r { int error; struct rtp_frame *ready, *drop; };
struct rsynth_seq { unsigned long long ts, seq; };
typedef uint32_t (*randfunc_t)(void *);

struct lib {
    const char *path;
    void *h;
    const struct rtp_profile *profiles;
    int (*parse)(const unsigned char *, size_t, struct rtp_info *);
    void *(*jb_ctor)(unsigned int);
    void (*jb_dtor)(void *);
    void (*frame_dtor)(void *);
    struct rjb_udp_in_r (*udp_in)(void *, const unsigned char *, size_t);
    struct rjb_udp_in_r (*flush)(void *);
    void *(*rs_ctor)(int, int);
    void *(*rs_next)(void *, int, int);
    int (*rs_next_pa)(void *, int, int, char *, unsigned int, int);
    void (*rs_skip)(void *, int);
    void (*rs_free)(void *);
    void (*rs_dtor)(void *);
    unsigned int (*rs_mbt)(void *, unsigned int);
    void (*rs_resync)(void *, struct rsynth_seq *);
    void (*rs_randfunc)(randfunc_t, void *);
};

static void *sym(struct lib *l, const char *name) {
    void *p = dlsym(l->h, name);
    if (p == NULL) {
        fprintf(stderr, "%s: no symbol %s\n", l->path, name);
        exit(2);
    }
    return p;
}

static void load(struct lib *l, const char *path) {
    l->path = path;
    l->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (l->h == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(2);
    }
    l->profiles = sym(l, "rtp_profiles");
    *(void **)&l->parse = sym(l, "rtp_packet_parse_raw");
    *(void **)&l->jb_ctor = sym(l, "rtpjbuf_ctor");
    *(void **)&l->jb_dtor = sym(l, "rtpjbuf_dtor");
    *(void **)&l->frame_dtor = sym(l, "rtpjbuf_frame_dtor");
    *(void **)&l->udp_in = sym(l, "rtpjbuf_udp_in");
    *(void **)&l->flush = sym(l, "rtpjbuf_flush");
    *(void **)&l->rs_ctor = sym(l, "rsynth_ctor");
    *(void **)&l->rs_next = sym(l, "rsynth_next_pkt");
    *(void **)&l->rs_next_pa = sym(l, "rsynth_next_pkt_pa");
    *(void **)&l->rs_skip = sym(l, "rsynth_skip");
    *(void **)&l->rs_free = sym(l, "rsynth_pkt_free");
    *(void **)&l->rs_dtor = sym(l, "rsynth_dtor");
    *(void **)&l->rs_mbt = sym(l, "rsynth_set_mbt");
    *(void **)&l->rs_resync = sym(l, "rsynth_resync");
    *(void **)&l->rs_randfunc = sym(l, "rsynth_set_randfunc");
}

static struct lib A, B;

/* Shared with the parent across fork(). */
struct counters {
    uint64_t streams, parse_calls, udp_in_calls, flush_calls, frames, erasures;
    uint64_t gen_streams, gen_calls, gen_bytes;
    uint64_t a_died, b_died, diffs, known_dev, doomed;
    int died_step;
};

/* Which library the child is executing (1 = A, 2 = B, 0 = harness). */
static volatile sig_atomic_t cur_lib;
static volatile sig_atomic_t in_probe;

static struct counters *C;
static int cur_step;

static void on_fatal(int sig) {
    (void)sig;
    C->died_step = cur_step;
    if (in_probe)
        _exit(9);
    _exit(cur_lib == 1 ? 5 : cur_lib == 2 ? 6 : 7);
}

static uint64_t rng;
static uint32_t rnd(void) {
    uint64_t x = rng;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    rng = x;
    return (uint32_t)(x >> 32);
}
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

static uint64_t cur_seed;

/* Set while a jitter-buffer stream runs: on a difference the reference gets
 * one more call (a flush); if that abort()s, the reference was already past
 * the point where its behaviour is defined (rtpsynth decides such cases one
 * call earlier, e.g. dropping a late packet the original would hold and then
 * abort() on), and the stream counts as "reference doomed", not a difference. */
static void *probe_jb;
static void probe_reference(void);

#define DIFF(...) do { \
    probe_reference(); \
    fprintf(stderr, "DIFF seed=%" PRIu64 " step=%d: ", cur_seed, cur_step); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
    _exit(3); \
} while (0)

static void probe_reference(void) {
    if (probe_jb == NULL)
        return;
    in_probe = 1;
    cur_lib = 1;
    (void)A.flush(probe_jb);
    in_probe = 0;
}

static void cmp_info(const char *what, const struct rtp_info *a, const struct rtp_info *b, int ok) {
    if (a->data_size != b->data_size || a->data_offset != b->data_offset ||
        a->nsamples != b->nsamples || a->appendable != b->appendable)
        DIFF("%s: size/offset/nsamples/appendable %zu/%u/%d/%d vs %zu/%u/%d/%d", what,
             a->data_size, a->data_offset, a->nsamples, a->appendable,
             b->data_size, b->data_offset, b->nsamples, b->appendable);
    if (!ok)
        return;
    if (a->ts != b->ts || a->seq != b->seq || a->ssrc != b->ssrc)
        DIFF("%s: ts/seq/ssrc %u/%u/%u vs %u/%u/%u", what, a->ts, a->seq, a->ssrc, b->ts, b->seq, b->ssrc);
    if (a->rtp_profile - A.profiles != b->rtp_profile - B.profiles)
        DIFF("%s: profile index %td vs %td", what, a->rtp_profile - A.profiles, b->rtp_profile - B.profiles);
}

/* Known, documented deviation (docs/fuzzing.md): a pre-wrap straggler that
 * arrives before any wrap gets lseq 2^64-n in both; the original files it as
 * the newest packet (and usually abort()s on the next call), rtpsynth drops
 * it as late at once. Once either side shows such an lseq the stream is
 * counted as "known deviation" and no longer compared. */
static int negative_lseq(const struct rtp_frame *f) {
    for (; f != NULL; f = f->next)
        if ((f->type == 0 && f->rtp.lseq >= (1ull << 63)) || (f->type == 1 && f->ers.lseq_end >= (1ull << 63)))
            return 1;
    return 0;
}

static void cmp_list(const char *what, struct rtp_frame *a, struct rtp_frame *b) {
    int i = 0;
    for (; a != NULL && b != NULL; a = a->next, b = b->next, i++) {
        if (a->type != b->type)
            DIFF("%s[%d]: type %d vs %d", what, i, a->type, b->type);
        if (a->type == 1) {
            C->erasures++;
            if (a->ers.lseq_start != b->ers.lseq_start || a->ers.lseq_end != b->ers.lseq_end ||
                a->ers.ts_diff != b->ers.ts_diff)
                DIFF("%s[%d]: erasure %" PRIu64 "..%" PRIu64 " ts_diff %u vs %" PRIu64 "..%" PRIu64 " ts_diff %u",
                     what, i, a->ers.lseq_start, a->ers.lseq_end, a->ers.ts_diff,
                     b->ers.lseq_start, b->ers.lseq_end, b->ers.ts_diff);
            continue;
        }
        C->frames++;
        if (a->rtp.lseq != b->rtp.lseq || a->rtp.jbcnt != b->rtp.jbcnt || a->rtp.data != b->rtp.data)
            DIFF("%s[%d]: lseq %" PRIu64 " jbcnt %" PRIu64 " data %p vs lseq %" PRIu64 " jbcnt %" PRIu64 " data %p",
                 what, i, a->rtp.lseq, a->rtp.jbcnt, (const void *)a->rtp.data,
                 b->rtp.lseq, b->rtp.jbcnt, (const void *)b->rtp.data);
        cmp_info(what, &a->rtp.info, &b->rtp.info, 1);
    }
    if (a != NULL || b != NULL)
        DIFF("%s: list lengths differ at %d (%s longer)", what, i, a != NULL ? "A" : "B");
}

static void free_list(struct lib *l, struct rtp_frame *f) {
    while (f != NULL) {
        struct rtp_frame *n = f->next;
        if (f->type == 0) {
            cur_lib = l == &A ? 1 : 2;
            l->frame_dtor(f);
        }
        f = n;
    }
}

static void cmp_res(const char *what, struct rjb_udp_in_r ra, struct rjb_udp_in_r rb) {
    char w[64];
    if (negative_lseq(ra.ready) || negative_lseq(ra.drop) || negative_lseq(rb.ready) || negative_lseq(rb.drop))
        _exit(8);
    if (ra.error != rb.error)
        DIFF("%s: error %d vs %d", what, ra.error, rb.error);
    snprintf(w, sizeof(w), "%s.ready", what);
    cmp_list(w, ra.ready, rb.ready);
    snprintf(w, sizeof(w), "%s.drop", what);
    cmp_list(w, ra.drop, rb.drop);
    free_list(&A, ra.ready);
    free_list(&A, ra.drop);
    free_list(&B, rb.ready);
    free_list(&B, rb.drop);
}

/* ---- jitter buffer streams ---- */

#define MAXPKT 1600

static unsigned char *mkpkt(uint16_t seq, uint32_t ts, uint32_t ssrc, int pt, size_t *len) {
    size_t plen = below(4) == 0 ? below(400) : 160;
    unsigned char *p = malloc(12 + plen + 1);
    p[0] = 0x80; p[1] = (unsigned char)pt;
    p[2] = seq >> 8; p[3] = seq & 0xff;
    p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
    memcpy(p + 8, &ssrc, 4);
    for (size_t i = 0; i < plen; i++)
        p[12 + i] = (unsigned char)rnd();
    *len = 12 + plen;
    return p;
}

static void corrupt(unsigned char *p, size_t *len) {
    switch (below(5)) {
    case 0: *len = below(12); break;                    /* truncated */
    case 1: p[0] = (unsigned char)rnd(); break;          /* version, X, P, CC */
    case 2: p[0] |= 0x20; p[*len - 1] = (unsigned char)rnd(); break; /* padding */
    case 3: p[0] |= 0x10; break;                         /* extension */
    default: p[below((uint32_t)*len)] ^= (unsigned char)(1u << below(8)); break;
    }
}

static void jb_stream(void) {
    static const unsigned caps[] = {1, 2, 3, 4, 5, 8, 16, 32, 64, 100};
    unsigned cap = below(3) == 0 ? caps[below(10)] : 1 + below(64);
    void *ja = (cur_lib = 1, A.jb_ctor)(cap);
    probe_jb = ja;
    void *jbb = (cur_lib = 2, B.jb_ctor)(cap);
    if (ja == NULL || jbb == NULL)
        DIFF("jb_ctor(%u) %p vs %p", cap, ja, jbb);
    uint16_t seq;
    switch (below(4)) {
    case 0: seq = (uint16_t)(65535 - below(40)); break;  /* wrap soon */
    case 1: seq = (uint16_t)below(3); break;            /* lseq 0 start */
    default: seq = (uint16_t)rnd(); break;
    }
    uint32_t ts = below(2) ? rnd() : 0xffffffffu - below(2000);
    uint32_t ssrc = rnd();
    uint32_t step = below(4) == 0 ? below(2000) : 160;
    int pt = below(3) == 0 ? (int)below(128) : 0;
    int n = 20 + below(600);
    int p_loss = below(20), p_reorder = below(30), p_dup = below(15), p_corrupt = below(8);
    int p_jump = below(3) == 0 ? below(5) : 0, p_flush = below(4) == 0 ? below(10) : 0;
    unsigned char **pkts = calloc((size_t)n * 2 + 8, sizeof(*pkts));
    size_t npk = 0;
    /* pending reordered packets: sent a few steps later */
    unsigned char *held[4] = {0}; size_t heldlen[4]; int heldat[4];
    for (cur_step = 0; cur_step < n; cur_step++) {
        if ((int)below(100) < p_flush) {
            C->flush_calls++;
            struct rjb_udp_in_r ra = (cur_lib = 1, A.flush)(ja), rb = (cur_lib = 2, B.flush)(jbb);
            cmp_res("flush", ra, rb);
        }
        if ((int)below(100) < p_jump) {
            seq = (uint16_t)(seq + below(65536));
            ts += rnd() % 0x1000000;
        }
        size_t len;
        unsigned char *p = mkpkt(seq, ts, ssrc, pt, &len);
        pkts[npk++] = p;
        seq++;
        ts += step;
        if ((int)below(100) < p_loss)
            continue;
        if ((int)below(100) < p_corrupt)
            corrupt(p, &len);
        if ((int)below(100) < p_reorder) {
            int k = (int)below(4);
            if (held[k] == NULL) {
                held[k] = p; heldlen[k] = len; heldat[k] = cur_step + 1 + (int)below(cap + 3);
                continue;
            }
        }
        for (int rep = (int)below(100) < p_dup ? 2 : 1; rep > 0; rep--) {
            C->udp_in_calls++;
            struct rtp_info ia, ib;
            memset(&ia, 0x5a, sizeof(ia)); memset(&ib, 0x5a, sizeof(ib));
            int ea = (cur_lib = 1, A.parse)(p, len, &ia), eb = (cur_lib = 2, B.parse)(p, len, &ib);
            C->parse_calls++;
            if (ea != eb)
                DIFF("parse: %d vs %d", ea, eb);
            cmp_info("parse", &ia, &ib, ea == 1);
            struct rjb_udp_in_r ra = (cur_lib = 1, A.udp_in)(ja, p, len), rb = (cur_lib = 2, B.udp_in)(jbb, p, len);
            cmp_res("udp_in", ra, rb);
        }
        for (int k = 0; k < 4; k++) {
            if (held[k] != NULL && heldat[k] <= cur_step) {
                C->udp_in_calls++;
                struct rjb_udp_in_r ra = (cur_lib = 1, A.udp_in)(ja, held[k], heldlen[k]);
                struct rjb_udp_in_r rb = (cur_lib = 2, B.udp_in)(jbb, held[k], heldlen[k]);
                cmp_res("udp_in(late)", ra, rb);
                held[k] = NULL;
            }
        }
    }
    C->flush_calls++;
    {
        struct rjb_udp_in_r ra = (cur_lib = 1, A.flush)(ja);
        struct rjb_udp_in_r rb = (cur_lib = 2, B.flush)(jbb);
        cmp_res("final flush", ra, rb);
    }
    probe_jb = NULL;
    (cur_lib = 1, A.jb_dtor)(ja);
    (cur_lib = 2, B.jb_dtor)(jbb);
    for (size_t i = 0; i < npk; i++)
        free(pkts[i]);
    free(pkts);
}

/* ---- generator streams ---- */

static uint32_t gen_state;
static uint32_t gen_rand(void *arg) {
    (void)arg;
    gen_state = gen_state * 1103515245u + 12345u;
    return gen_state ^ (gen_state >> 16);
}

static void gen_stream(void) {
    static const int ptimes[] = {10, 20, 30, 40, 60, 1, 0, 7, 1000};
    int srate = below(2) ? 8000 : (int)below(96000) + 1;
    int ptime = below(3) ? ptimes[below(9)] : (int)below(200000) - 100000;
    uint32_t seed = rnd();
    (cur_lib = 1, A.rs_randfunc)(gen_rand, NULL);
    (cur_lib = 2, B.rs_randfunc)(gen_rand, NULL);
    gen_state = seed;
    void *sa = (cur_lib = 1, A.rs_ctor)(srate, ptime);
    gen_state = seed;
    void *sb = (cur_lib = 2, B.rs_ctor)(srate, ptime);
    int n = 10 + below(300);
    static char ba[4096 + 64], bb[4096 + 64];
    for (cur_step = 0; cur_step < n; cur_step++) {
        C->gen_calls++;
        switch (below(6)) {
        case 0: case 1: case 2: {
            int plen = below(4) ? 160 : (int)below(2048);
            unsigned blen = below(4) ? (unsigned)plen + 12 + below(100) : below(2100);
            int pt = below(2) ? 0 : (int)rnd();   /* any int: only 7 bits count */
            int filled = below(3) == 0 ? (int)rnd() : 0;
            for (size_t i = 0; i < sizeof(ba); i++)
                ba[i] = bb[i] = (char)(i * 7 + cur_step);
            int ra = (cur_lib = 1, A.rs_next_pa)(sa, plen, pt, ba, blen, filled);
            int rb = (cur_lib = 2, B.rs_next_pa)(sb, plen, pt, bb, blen, filled);
            if (ra != rb)
                DIFF("next_pkt_pa(plen %d blen %u) %d vs %d", plen, blen, ra, rb);
            if (memcmp(ba, bb, sizeof(ba)) != 0) {
                size_t i = 0;
                while (ba[i] == bb[i]) i++;
                DIFF("next_pkt_pa(plen %d blen %u filled %d) buffer differs at byte %zu: %02x vs %02x",
                     plen, blen, filled, i, (unsigned char)ba[i], (unsigned char)bb[i]);
            }
            C->gen_bytes += ra > 0 ? (uint64_t)ra : 0;
            break;
        }
        case 3: {
            int plen = (int)below(1500);
            int pt = (int)below(256);
            unsigned char *pa = (cur_lib = 1, A.rs_next)(sa, plen, pt), *pb = (cur_lib = 2, B.rs_next)(sb, plen, pt);
            if (pa == NULL || pb == NULL)
                DIFF("next_pkt NULL %p %p", (void *)pa, (void *)pb);
            if (memcmp(pa, pb, 12 + (size_t)plen) != 0)
                DIFF("next_pkt(plen %d pt %d) differs", plen, pt);
            C->gen_bytes += 12 + (uint64_t)plen;
            (cur_lib = 1, A.rs_free)(pa);
            (cur_lib = 2, B.rs_free)(pb);
            break;
        }
        case 4: {
            /* keep ts_inc * npkts inside int: the original multiplies in int */
            int ts_inc = 80 * ptime / 10;
            int lim = ts_inc == 0 ? 1000000 : (int)(0x7fffffff / (ts_inc < 0 ? -(long)ts_inc : ts_inc));
            int npkts = lim > 0 ? (int)(rnd() % (unsigned)lim) * (below(4) == 0 ? -1 : 1) : 0;
            (cur_lib = 1, A.rs_skip)(sa, npkts);
            (cur_lib = 2, B.rs_skip)(sb, npkts);
            break;
        }
        default: {
            unsigned v = below(2) ? below(2) : rnd();
            unsigned oa = (cur_lib = 1, A.rs_mbt)(sa, v), ob = (cur_lib = 2, B.rs_mbt)(sb, v);
            if (oa != ob)
                DIFF("set_mbt(%u) old %u vs %u", v, oa, ob);
            break;
        }
        }
    }
    /* resync advances by wall time, so only the position it reports (taken
     * before advancing) is compared, once, at the end. */
    struct rsynth_seq qa, qb;
    (cur_lib = 1, A.rs_resync)(sa, &qa);
    (cur_lib = 2, B.rs_resync)(sb, &qb);
    if (qa.ts != qb.ts || qa.seq != qb.seq)
        DIFF("resync position %llu/%llu vs %llu/%llu", qa.ts, qa.seq, qb.ts, qb.seq);
    (cur_lib = 1, A.rs_dtor)(sa);
    (cur_lib = 2, B.rs_dtor)(sb);
    C->gen_streams++;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s libA.so libB.so [streams=2000] [seed=1]\n", argv[0]);
        return 2;
    }
    load(&A, argv[1]);
    load(&B, argv[2]);
    long nstreams = argc > 3 ? atol(argv[3]) : 2000;
    uint64_t seed0 = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;
    C = mmap(NULL, sizeof(*C), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (C == MAP_FAILED)
        return 2;
    memset(C, 0, sizeof(*C));
    int shown = 0;
    for (long s = 0; s < nstreams; s++) {
        cur_seed = seed0 * 1000003u + (uint64_t)s;
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGABRT, on_fatal);
            signal(SIGFPE, on_fatal);
            signal(SIGSEGV, on_fatal);
            signal(SIGBUS, on_fatal);
            signal(SIGILL, on_fatal);
            rng = cur_seed * 0x9e3779b97f4a7c15ull + 1;
            if (rnd() % 4 == 0)
                gen_stream();
            else
                jb_stream();
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        C->streams++;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
            C->diffs++;
            continue;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 9) {
            C->doomed++;
            continue;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 8) {
            C->known_dev++;
            continue;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 5) {
            /* the reference abort()ed (d_assert) or trapped: its behaviour is
             * undefined there, so this is not a difference */
            C->a_died++;
            if (shown++ < 10)
                fprintf(stderr, "stream seed=%" PRIu64 ": library A died at step %d (not counted as a difference)\n",
                        cur_seed, C->died_step);
            continue;
        }
        C->b_died++;
        fprintf(stderr, "stream seed=%" PRIu64 ": library B (or the harness) died, status %#x\n", cur_seed, st);
    }
    printf("streams %" PRIu64 " (jbuf %" PRIu64 ", generator %" PRIu64 ")\n", C->streams,
           C->streams - C->gen_streams, C->gen_streams);
    printf("jbuf: udp_in %" PRIu64 ", flush %" PRIu64 ", parse %" PRIu64 ", rtp frames %" PRIu64 ", erasures %" PRIu64 "\n",
           C->udp_in_calls, C->flush_calls, C->parse_calls, C->frames, C->erasures);
    printf("generator: calls %" PRIu64 ", packet bytes %" PRIu64 "\n", C->gen_calls, C->gen_bytes);
    printf("streams where A died (abort/signal, not a difference): %" PRIu64 "\n", C->a_died);
    printf("streams where B or the harness died: %" PRIu64 "\n", C->b_died);
    printf("streams stopped at the known pre-wrap-straggler deviation: %" PRIu64 "\n", C->known_dev);
    printf("streams differing one call before the reference abort()s: %" PRIu64 "\n", C->doomed);
    printf("%" PRIu64 " differences\n", C->diffs);
    return C->diffs != 0 || C->b_died != 0;
}
