/*
 * Jitter buffer on hostile sequence numbers: random jumps, old packets up to
 * 600 behind, packets up to 700 ahead, fully random seqs, random
 * timestamps, capacities 1..40, flushes at random points. Every list
 * returned (frames, order, lseq, jbcnt, erasure ranges and ts_diff, which
 * datagram each frame points to) is hashed and compared with what
 * librtpsynth 1.3.2 returns for the same input. The original aborts on many
 * such streams (internal asserts); the runs below are ones it survives
 * (test_bad_input_ext.c covers the others against ours only). Mode 4 seed 2
 * is left out: it delivers a pre-wrap straggler before any wrap, where we
 * deliberately differ (rtpjbuf.h; test_jbuf_regressions.c checks ours).
 * Also checked: every datagram comes out exactly once, every frame freed.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

#define NMAX 20000
static unsigned char dg[NMAX][16];
static uint64_t hash;
static long in, out;

static void h64(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        hash ^= (v >> (8 * i)) & 0xff;
        hash *= 1099511628211ull;
    }
}

static void eat(struct rjb_udp_in_r r) {
    h64((uint64_t)(int64_t)r.error);
    for (struct rtp_frame *f = r.ready, *n; f != NULL; f = n) {
        n = f->next;
        h64((uint64_t)f->type);
        if (f->type == RFT_ERS) {
            CHECK(f == r.ready && n != NULL);
            h64(f->ers.lseq_start);
            h64(f->ers.lseq_end);
            h64(f->ers.ts_diff);
        } else {
            CHECK(f->rtp.data >= dg[0] && f->rtp.data <= dg[NMAX - 1]);
            h64(f->rtp.lseq);
            h64(f->rtp.jbcnt);
            h64((uint64_t)(f->rtp.data - dg[0]));
            out++;
            rtpjbuf_frame_dtor(f);
        }
    }
    h64(77);
    for (struct rtp_frame *f = r.drop, *n; f != NULL; f = n) {
        n = f->next;
        CHECK_EQ(f->type, RFT_RTP);
        h64((uint64_t)f->type);
        h64(f->rtp.lseq);
        h64(f->rtp.jbcnt);
        h64((uint64_t)(f->rtp.data - dg[0]));
        out++;
        rtpjbuf_frame_dtor(f);
    }
    h64(99);
}

/* mode bit 0: capacity 1..5 (else 1..40); bit 1: fully random seqs;
 * bit 2: random timestamps. Returns the hash after `checkpoint` packets. */
static uint64_t run(unsigned seed, int mode, int n, int checkpoint, uint64_t *at_end) {
    unsigned long long rs = seed * 2654435761ull + 1;
    unsigned cap = 1 + tu_rand(&rs) % ((mode & 1) ? 5 : 40);
    void *jb = rtpjbuf_ctor(cap);
    CHECK(jb != NULL);
    hash = 1469598103934665603ull;
    in = out = 0;
    uint64_t at_cp = 0;
    unsigned seq = tu_rand(&rs) & 0xffff;
    uint32_t ts = tu_rand(&rs);
    for (int i = 0; i < n; i++) {
        unsigned r = tu_rand(&rs) % 100, s;
        if (mode & 2)
            s = tu_rand(&rs) & 0xffff;
        else if (r < 5)
            s = tu_rand(&rs) & 0xffff;                  /* random jump */
        else if (r < 20)
            s = (seq - (tu_rand(&rs) % 600)) & 0xffff;  /* old */
        else if (r < 30)
            s = (seq + (tu_rand(&rs) % 700)) & 0xffff;  /* ahead */
        else
            s = (seq++) & 0xffff;
        uint32_t t = (mode & 4) ? tu_rand(&rs) : ts + 160u * s;
        unsigned char *p = dg[i];
        memset(p, 0, 16);
        p[0] = 0x80;
        p[2] = (unsigned char)(s >> 8); p[3] = (unsigned char)s;
        p[4] = (unsigned char)(t >> 24); p[5] = (unsigned char)(t >> 16);
        p[6] = (unsigned char)(t >> 8); p[7] = (unsigned char)t;
        in++;
        eat(rtpjbuf_udp_in(jb, p, 16));
        if (tu_rand(&rs) % 1000 == 0)
            eat(rtpjbuf_flush(jb));
        if (i + 1 == checkpoint)
            at_cp = hash;
    }
    eat(rtpjbuf_flush(jb));
    *at_end = hash;
    CHECK_EQ(out, in);
    struct rjb_udp_in_r r = rtpjbuf_flush(jb);
    CHECK(r.ready == NULL && r.drop == NULL && r.error == 0);
    rtpjbuf_dtor(jb);
    return at_cp;
}

static const struct {
    int mode;
    unsigned seed;
    uint64_t at_5k, at_end;
} runs[] = {
    {0, 1, 0x383d7d344049e888ull, 0x53d2b1e4f79d60e9ull},
    {0, 2, 0x3374e9532dd9eee6ull, 0xded8a917b25b251cull},
    {0, 3, 0x902f0e36d9bbc7c1ull, 0x699ab8908e76c59aull},
    {0, 4, 0xe321d1b4d42583aeull, 0xa1010d7640b93bf9ull},
    {0, 5, 0x06b9a339618884bfull, 0xc1ceffde977aa3a2ull},
    {0, 6, 0xeb815e4d0496b2f8ull, 0x36e5eddbb056dc15ull},
    {0, 7, 0xe278c251b5b04f16ull, 0xa64b790f745b35a2ull},
    {0, 8, 0x7d3796c6c20fc152ull, 0x47b30f2d52c993a8ull},
    {1, 3, 0xa141aecdf6bd2b37ull, 0x08cc830274a026eaull},
    {1, 5, 0x7dc27b5171544368ull, 0xfca6f6ed830c6939ull},
    {1, 6, 0xd1bda908abff2ce9ull, 0xd92892ad1df7a10full},
    {1, 7, 0x5d9ae260449d2e96ull, 0xb2bd73f9abf41ddcull},
    {1, 9, 0x965f95fa94d7b7a4ull, 0xf7ffddae574b2a9dull},
    {1, 10, 0x7fe51e2f4b77c714ull, 0x6ce1b732f21a9663ull},
    {2, 1, 0xf9df35ed95b935feull, 0xd5997df96824cdd8ull},
    {2, 2, 0x2f9fe7fc5fea531cull, 0x6d81a63505f15333ull},
    {2, 3, 0x1f9b8964d4b4684aull, 0x90e3067a8c234f30ull},
    {2, 4, 0xd6e6f95fe8af7049ull, 0x1fa7b6f7e51d0d24ull},
    {3, 3, 0x432f0f9382cbf46bull, 0x3422ad1f78fcf87full},
    {3, 5, 0xb89d84b9d384499cull, 0x0b564014e2d7f0ddull},
    {3, 6, 0xfa59cc40f706cd6eull, 0xfafb613f0c421590ull},
    {4, 1, 0x38dc57b9b75ccb12ull, 0x07c86050483e8a11ull},
    {4, 3, 0x52c66fdb4360a7f2ull, 0x705e87cf98036a3eull},
    {4, 4, 0x86c2faeed984c6e2ull, 0x51d215cd1f1e2345ull},
    {5, 1, 0xbf702a472c2b87deull, 0x631fa50639dc8cf3ull},
    {5, 3, 0xa8c7ae40ad0e8089ull, 0x299beb57b8e4388full},
    {5, 5, 0xdca8488124e5c70full, 0xb1dc1b450b13e4b8ull},
};

int main(void) {
    const int n = (int)tu_scaled(NMAX, 5000);
    const int record = getenv("TU_RECORD") != NULL;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        uint64_t at_end;
        uint64_t at_5k = run(runs[i].seed, runs[i].mode, n, 5000, &at_end);
        if (record) {
            printf("    {%d, %u, 0x%016llxull, 0x%016llxull},\n", runs[i].mode, runs[i].seed,
                (unsigned long long)at_5k, (unsigned long long)at_end);
            continue;
        }
        if (at_5k != runs[i].at_5k || (n == NMAX && at_end != runs[i].at_end)) {
            fprintf(stderr, "mode %d seed %u: hash %016llx / %016llx differs from 1.3.2's\n", runs[i].mode,
                runs[i].seed, (unsigned long long)at_5k, (unsigned long long)at_end);
            exit(1);
        }
        tu_checks++;
    }
    TEST_DONE("test_jbuf_hostile");
}
