/*
 * Regression tests for jitter-buffer findings of the fuzzers (fuzz_jbuf),
 * through the C ABI. Each scenario makes the original librtpsynth 1.3.2
 * abort() or trap (SIGFPE) or deliver lseqs out of order; see
 * docs/fuzzing.md. Checked here: lseq strictly increasing over everything
 * delivered, erasures never running backwards, each frame returned once.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

#define MAXP 64
static unsigned char pkts[MAXP][12];
static int npk;
static int returned[MAXP];
static uint64_t last_lseq;
static int have_last;
static int delivered;

static const unsigned char *mk(uint16_t seq) {
    unsigned char *p = pkts[npk++];
    uint32_t ts = (uint32_t)seq * 160u;
    p[0] = 0x80; p[1] = 0;
    p[2] = seq >> 8; p[3] = seq & 0xff;
    p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
    p[8] = 1; p[9] = 2; p[10] = 3; p[11] = 4;
    return p;
}

static void take(struct rjb_udp_in_r r) {
    CHECK_EQ(r.error, 0);
    for (struct rtp_frame *f = r.ready, *n; f != NULL; f = n) {
        n = f->next;
        if (f->type == RFT_ERS) {
            CHECK(f == r.ready);
            CHECK(f->ers.lseq_end >= f->ers.lseq_start);
            CHECK(!have_last || f->ers.lseq_start == last_lseq + 1);
            continue;
        }
        int i = (int)((const unsigned char (*)[12])f->rtp.data - pkts);
        CHECK(i >= 0 && i < npk && !returned[i]);
        returned[i] = 1;
        CHECK(!have_last || f->rtp.lseq > last_lseq);
        have_last = 1;
        last_lseq = f->rtp.lseq;
        delivered++;
        rtpjbuf_frame_dtor(f);
    }
    for (struct rtp_frame *f = r.drop, *n; f != NULL; f = n) {
        n = f->next;
        CHECK_EQ(f->type, RFT_RTP);
        int i = (int)((const unsigned char (*)[12])f->rtp.data - pkts);
        CHECK(i >= 0 && i < npk && !returned[i]);
        returned[i] = 1;
        rtpjbuf_frame_dtor(f);
    }
}

static void *fresh(unsigned cap) {
    npk = 0;
    memset(returned, 0, sizeof(returned));
    have_last = 0;
    delivered = 0;
    void *jb = rtpjbuf_ctor(cap);
    CHECK(jb != NULL);
    return jb;
}

static void in(void *jb, uint16_t seq) {
    take(rtpjbuf_udp_in(jb, mk(seq), 12));
}

static void finish(void *jb) {
    take(rtpjbuf_flush(jb));
    for (int i = 0; i < npk; i++)
        CHECK(returned[i]);
    rtpjbuf_dtor(jb);
}

/* Stream starting just after a wrap, then a packet from before it: it got
 * lseq 2^64-1, was delivered behind a 2^64-long erasure (the original traps
 * dividing by zero) and the buffer restarted, delivering lseqs again. */
static void pre_wrap_straggler_before_any_wrap(void) {
    for (unsigned cap = 2; cap <= 64; cap *= 2) {
        void *jb = fresh(cap);
        in(jb, 300);
        struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, mk(65535), 12);
        CHECK(r.ready == NULL);
        CHECK(r.drop != NULL && r.drop->rtp.info.seq == 65535 && r.drop->next == NULL);
        take(r);
        take(rtpjbuf_flush(jb));
        for (uint16_t s = 301; s < 310; s++)
            in(jb, s);
        in(jb, 65534);
        finish(jb);
        CHECK_EQ(last_lseq, 309);
    }
}

/* purge_stale_tail empties the buffer; the next packet, behind the last
 * delivered one, skipped the late check and later came out behind a
 * backwards erasure (the original abort()s on the next call). */
static void late_packet_after_stale_purge(void) {
    void *jb = fresh(2);
    in(jb, 65499);
    in(jb, 65500);
    in(jb, 65510);
    in(jb, 65500);
    in(jb, 65499);
    in(jb, 65501);
    finish(jb);
    CHECK_EQ(delivered, 3);
    CHECK_EQ(last_lseq, 65501);
}

/* Same path with a sequence wrap right after the purge. */
static void wrap_after_stale_purge(void) {
    void *jb = fresh(2);
    uint16_t seqs[] = {65499, 65500, 65510, 65500, 65499, 2, 3};
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
        in(jb, seqs[i]);
    CHECK_EQ(last_lseq, 65539);
    finish(jb);
}

/* Capacity 1 can hold a late packet until the next call purges it; a flush
 * in between delivered it (the original abort()s there). */
static void flush_with_held_late_packet_capacity_one(void) {
    void *jb = fresh(1);
    in(jb, 0);
    in(jb, 1);
    in(jb, 5);
    in(jb, 0);
    struct rjb_udp_in_r r = rtpjbuf_flush(jb);
    CHECK(r.ready == NULL && r.drop != NULL);
    take(r);
    in(jb, 2);
    CHECK_EQ(last_lseq, 2);
    finish(jb);
}

int main(void) {
    pre_wrap_straggler_before_any_wrap();
    late_packet_after_stale_purge();
    wrap_after_stale_purge();
    flush_with_held_late_packet_capacity_one();
    TEST_DONE("test_jbuf_regressions");
}
