/* rtcp.h receiver statistics against hand-computed RFC 3550 appendix A
 * figures: loss, duplicates, reordering, wrap, restart after a large jump,
 * jitter under a known delay pattern, report blocks. */
#include <math.h>

#include "rtcp.h"
#include "testutil.h"

#define MS 1000000ull

static struct rtcp_stats *mk(void) {
    int err = 1;
    struct rtcp_stats *st = rtcp_stats_ctor(8000, &err);
    CHECK(st != NULL);
    CHECK_EQ(err, 0);
    return st;
}

/* seqs at 8 kHz, 20 ms apart in arrival, timestamps by sequence number. */
static void feed(struct rtcp_stats *st, const uint16_t *seqs, size_t n, int *status) {
    for (size_t i = 0; i < n; i++) {
        int r = rtcp_stats_rtp(st, seqs[i], (uint32_t)seqs[i] * 160u, i * 20 * MS, 160);
        CHECK(r >= 0);
        if (status)
            status[i] = r;
    }
}

static struct rtcp_stats_info get(const struct rtcp_stats *st) {
    struct rtcp_stats_info in;
    CHECK_EQ(rtcp_stats_get(st, &in), 0);
    return in;
}

static void test_loss_and_fraction(void) {
    struct rtcp_stats *st = mk();
    uint16_t seqs[20];
    size_t n = 0;
    for (uint16_t s = 0; s < 20; s++)
        if (s != 5 && s != 6 && s != 10)
            seqs[n++] = s;
    int status[20];
    feed(st, seqs, n, status);
    CHECK_EQ(status[0], RTCP_SEQ_PROBATION);
    CHECK_EQ(status[1], RTCP_SEQ_VALIDATED);
    CHECK_EQ(status[2], RTCP_SEQ_VALID);
    struct rtcp_stats_info in = get(st);
    CHECK_EQ(in.expected, 20);
    CHECK_EQ(in.received, 17);
    CHECK_EQ(in.lost, 3);
    CHECK_EQ(in.packets, 17);
    CHECK_EQ(in.octets, 17 * 160);
    CHECK_EQ(in.valid, 1);
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_stats_block(st, 42, 0, &b), 0);
    CHECK_EQ(b.ssrc, 42);
    CHECK_EQ(b.fraction_lost, 38); /* 3 * 256 / 20 = 38.4 */
    CHECK_EQ(b.cumulative_lost, 3);
    CHECK_EQ(b.ext_highest_seq, 19);
    /* 1 of the next 4 lost: 64. */
    const uint16_t next[] = { 20, 21, 23 };
    feed(st, next, 3, NULL);
    CHECK_EQ(rtcp_stats_block(st, 42, 0, &b), 0);
    CHECK_EQ(b.fraction_lost, 64);
    CHECK_EQ(b.cumulative_lost, 4);
    rtcp_stats_dtor(st);
}

static void test_duplicates_and_reordering(void) {
    struct rtcp_stats *st = mk();
    const uint16_t seqs[] = { 0, 1, 2, 4, 3, 4, 5, 6, 3, 7, 8, 9, 9 };
    int status[13];
    feed(st, seqs, 13, status);
    CHECK_EQ(status[4], RTCP_SEQ_VALID);      /* 3 late: reordered */
    CHECK_EQ(status[5], RTCP_SEQ_DUPLICATE);  /* 4 again */
    CHECK_EQ(status[8], RTCP_SEQ_DUPLICATE);
    CHECK_EQ(status[12], RTCP_SEQ_DUPLICATE);
    struct rtcp_stats_info in = get(st);
    CHECK_EQ(in.expected, 10);
    CHECK_EQ(in.received, 13);
    CHECK_EQ(in.duplicates, 3);
    CHECK_EQ(in.packets, 13);
    CHECK_EQ(in.lost, -3);
    struct rtcp_report_block b;
    rtcp_stats_block(st, 1, 0, &b);
    CHECK_EQ(b.cumulative_lost, -3);
    CHECK_EQ(b.fraction_lost, 0);
    rtcp_stats_dtor(st);
}

static void test_wrap(void) {
    struct rtcp_stats *st = mk();
    uint16_t seqs[100];
    for (int i = 0; i < 100; i++)
        seqs[i] = (uint16_t)(65500 + i);
    /* swap two across the wrap: 65535 and 0 */
    seqs[35] = 0;
    seqs[36] = 65535;
    feed(st, seqs, 100, NULL);
    struct rtcp_stats_info in = get(st);
    CHECK_EQ(in.expected, 100);
    CHECK_EQ(in.lost, 0);
    CHECK_EQ(in.ext_highest_seq, 65536 + 63); /* 65500 + 99 - 65536 = 63, one cycle */
    rtcp_stats_dtor(st);
}

static void test_restart_after_jump(void) {
    struct rtcp_stats *st = mk();
    const uint16_t a[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    feed(st, a, 10, NULL);
    /* A stray jump is ignored... */
    CHECK_EQ(rtcp_stats_rtp(st, 40000, 0, 0, 160), RTCP_SEQ_JUMP);
    CHECK_EQ(rtcp_stats_rtp(st, 10, 1600, 0, 160), RTCP_SEQ_VALID);
    struct rtcp_stats_info in = get(st);
    CHECK_EQ(in.expected, 11);
    CHECK_EQ(in.received, 11);
    CHECK_EQ(in.packets, 12);
    /* ...two in sequence after it restart the counts. */
    CHECK_EQ(rtcp_stats_rtp(st, 5000, 0, 0, 160), RTCP_SEQ_JUMP);
    CHECK_EQ(rtcp_stats_rtp(st, 5001, 160, 20 * MS, 160), RTCP_SEQ_RESTARTED);
    CHECK_EQ(rtcp_stats_rtp(st, 5003, 480, 60 * MS, 160), RTCP_SEQ_VALID);
    in = get(st);
    CHECK_EQ(in.expected, 4);  /* 5000..5003 */
    CHECK_EQ(in.received, 3);
    CHECK_EQ(in.lost, 1);
    CHECK_EQ(in.ext_highest_seq, 5003);
    /* A packet 200 behind is a jump, not a reorder. */
    CHECK_EQ(rtcp_stats_rtp(st, 4803, 0, 0, 160), RTCP_SEQ_JUMP);
    rtcp_stats_dtor(st);
}

static void test_jitter_pattern(void) {
    /* Every other packet arrives 1 ms late: |D| = 8 timestamp units each
     * time, so after n differences J = 8 (1 - (15/16)^n). */
    struct rtcp_stats *st = mk();
    for (int i = 0; i < 40; i++) {
        uint64_t late = (i % 2) ? MS : 0;
        rtcp_stats_rtp(st, (uint16_t)i, (uint32_t)i * 160, 1000 * MS + (uint64_t)i * 20 * MS + late, 160);
        double want = 8.0 * (1.0 - pow(15.0 / 16.0, i));
        struct rtcp_stats_info in = get(st);
        CHECK(fabs(in.jitter - want) < 1e-9);
        CHECK(fabs(in.jitter_ms - want / 8.0) < 1e-9);
        CHECK(fabs(in.max_jitter_ms - want / 8.0) < 1e-9); /* rising: max == current */
    }
    struct rtcp_report_block b;
    rtcp_stats_block(st, 1, 0, &b);
    CHECK_EQ(b.jitter, 7); /* 8 (1 - (15/16)^39) = 7.67 */
    rtcp_stats_dtor(st);

    /* One 20 ms spike then steady: J = 10 then decays; max stays 1.25 ms. */
    st = mk();
    rtcp_stats_rtp(st, 0, 0, 0, 0);
    rtcp_stats_rtp(st, 1, 160, 40 * MS, 0);
    rtcp_stats_rtp(st, 2, 320, 60 * MS, 0);
    struct rtcp_stats_info in = get(st);
    CHECK(fabs(in.jitter - 9.375) < 1e-12);
    CHECK(fabs(in.max_jitter_ms - 1.25) < 1e-12);
    rtcp_stats_dtor(st);

    /* Sub-unit arrival precision: 0.1 ms late at 8 kHz = 0.8 units. */
    st = mk();
    rtcp_stats_rtp(st, 0, 0, 0, 0);
    rtcp_stats_rtp(st, 1, 160, 20 * MS + 100000, 0);
    in = get(st);
    CHECK(fabs(in.jitter - 0.05) < 1e-12);
    rtcp_stats_dtor(st);
}

static void test_lsr_dlsr(void) {
    struct rtcp_stats *st = mk();
    const uint16_t a[] = { 0, 1 };
    feed(st, a, 2, NULL);
    CHECK_EQ(rtcp_stats_sr(st, 0x1122334455667788ull, 1000 * MS), 0);
    struct rtcp_report_block b;
    rtcp_stats_block(st, 1, 2500 * MS, &b);
    CHECK_EQ(b.lsr, 0x33445566);
    CHECK_EQ(b.dlsr, 65536 + 32768);
    rtcp_stats_dtor(st);
}

static void test_nulls(void) {
    struct rtcp_stats_info in;
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_stats_rtp(NULL, 0, 0, 0, 0), -EINVAL);
    CHECK_EQ(rtcp_stats_sr(NULL, 0, 0), -EINVAL);
    CHECK_EQ(rtcp_stats_get(NULL, &in), -EINVAL);
    CHECK_EQ(rtcp_stats_block(NULL, 0, 0, &b), -EINVAL);
    struct rtcp_stats *st = rtcp_stats_ctor(0, NULL);
    CHECK(st != NULL);
    CHECK_EQ(rtcp_stats_get(st, NULL), -EINVAL);
    CHECK_EQ(rtcp_stats_block(st, 0, 0, NULL), -EINVAL);
    /* Clock rate 0: no jitter. */
    rtcp_stats_rtp(st, 0, 0, 0, 0);
    rtcp_stats_rtp(st, 1, 999, 5 * MS, 0);
    in = get(st);
    CHECK(in.jitter == 0.0 && in.jitter_ms == 0.0);
    CHECK_EQ(in.valid, 1);
    rtcp_stats_dtor(st);
    rtcp_stats_dtor(NULL);
}

int main(void) {
    test_loss_and_fraction();
    test_duplicates_and_reordering();
    test_wrap();
    test_restart_after_jump();
    test_jitter_pattern();
    test_lsr_dlsr();
    test_nulls();
    TEST_DONE("test_rtcp_stats");
}
