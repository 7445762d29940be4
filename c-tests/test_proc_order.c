/*
 * RtpProc ordering and exactness: a slow callback makes the scheduler
 * neither skip nor reorder other channels' deadlines (late calls happen in
 * deadline order, each with its own deadline), and a small version of the
 * original's bulk profile (tests/test_rtp_proc.py) runs every channel
 * exactly as many times as asked with exact, drift-free deadlines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtpproc.h"
#include "testutil.h"

#define MS 1000000ULL

static int slow;

/* ---- a slow callback does not reorder the others ---- */

#define NCH 24
#define NCALLS 12
struct ochan {
    int id;
    uint64_t start, period;
    int calls;
    uint64_t deadline[NCALLS];
};
/* Written only by the worker (callbacks of one scheduler never overlap). */
static struct { int chan; uint64_t deadline, now; } glog[NCH * NCALLS];
static atomic_int glen;
static uint64_t slow_ms = 20;

static uint64_t order_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct ochan *c = arg;
    (void)err;
    if (deadline == 0)
        return c->start;
    int g = atomic_load(&glen);
    glog[g].chan = c->id;
    glog[g].deadline = deadline;
    glog[g].now = now;
    c->deadline[c->calls++] = deadline;
    atomic_store(&glen, g + 1);
    if (c->id == 0 && c->calls == 2)
        tu_sleep_ms((unsigned)slow_ms);         /* the slow one */
    if (c->calls >= NCALLS)
        return 0;
    return deadline + c->period;
}

/* Returns 0 (checking nothing) if creating the channels overran the
 * planned start, which a loaded machine may cause. */
static int run_slow_callback_order(struct rtpproc *p, uint64_t margin) {
    static struct ochan ch[NCH];
    struct rtpproc_chan *h[NCH];
    /* every channel is created before the first scheduled call */
    uint64_t t0 = tu_now_ns() + margin;
    atomic_store(&glen, 0);
    for (int i = 0; i < NCH; i++) {
        memset(&ch[i], 0, sizeof(ch[i]));
        ch[i].id = i;
        ch[i].start = t0 + (uint64_t)i * 37000;         /* staggered by 37 us */
        ch[i].period = (i % 3 == 0) ? 3 * MS : MS;      /* two periods */
        h[i] = rtpproc_create_channel(p, order_cb, &ch[i], NULL);
        CHECK(h[i] != NULL);
    }
    int in_time = tu_now_ns() < t0;
    CHECK(tu_wait_count(&glen, NCH * NCALLS, slow ? 60000 : 10000));
    for (int i = 0; i < NCH; i++)
        CHECK_EQ(rtpproc_chan_close(h[i]), 0);
    if (!in_time)
        return 0;
    /* every deadline of every channel, none skipped, none repeated */
    for (int i = 0; i < NCH; i++) {
        CHECK_EQ(ch[i].calls, NCALLS);
        for (int k = 0; k < NCALLS; k++)
            CHECK_EQ(ch[i].deadline[k], ch[i].start + (uint64_t)k * ch[i].period);
    }
    /* late calls did happen late, in global deadline order */
    uint64_t max_late = 0;
    for (int g = 0; g < NCH * NCALLS; g++) {
        CHECK(glog[g].now >= glog[g].deadline);
        if (glog[g].now - glog[g].deadline > max_late)
            max_late = glog[g].now - glog[g].deadline;
    }
    CHECK(max_late >= (slow_ms - 1) * MS);    /* the stall really delayed others */
    /* Strict order holds while lateness stays under the 100 ms catch-up
     * window; valgrind may push it beyond. */
    if (!slow || max_late < 90 * MS) {
        for (int g = 1; g < NCH * NCALLS; g++)
            CHECK(glog[g].deadline >= glog[g - 1].deadline);
    }
    return 1;
}

static void test_slow_callback_keeps_order(struct rtpproc *p) {
    uint64_t margins[3] = { 50 * MS, 300 * MS, 2000 * MS };
    for (int a = slow ? 1 : 0; a < 3; a++)
        if (run_slow_callback_order(p, margins[a]))
            return;
    CHECK(!"could not create the channels before their start time");
}

/* ---- a small bulk profile ---- */

struct bchan {
    uint64_t init_delay, period;
    int total;
    atomic_int calls;
    uint64_t now[20], deadline[20];
};

static uint64_t bulk_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct bchan *b = arg;
    (void)err;
    int n = atomic_load(&b->calls);
    if (n < 20) {
        b->now[n] = now;
        b->deadline[n] = deadline;
    }
    atomic_store(&b->calls, ++n);
    if (n >= b->total)
        return 0;
    if (n == 1)
        return now + b->init_delay;
    return deadline + b->period;
}

static void test_bulk_small(struct rtpproc *p) {
    enum { M = 128 };
    static struct bchan b[M];
    struct rtpproc_chan *h[M];
    unsigned long long rs = 0xC0FFEE + M;
    for (int i = 0; i < M; i++) {
        memset(&b[i], 0, sizeof(b[i]));
        b[i].init_delay = 100000 + tu_rand(&rs) % 1900001;   /* 0.1 .. 2 ms */
        b[i].period = 200000 + tu_rand(&rs) % 800001;        /* 0.2 .. 1 ms */
        b[i].total = 8 + (int)(tu_rand(&rs) % 13);           /* 8 .. 20 */
        h[i] = rtpproc_create_channel(p, bulk_cb, &b[i], NULL);
        CHECK(h[i] != NULL);
        CHECK(atomic_load(&b[i].calls) >= 1);
    }
    for (int i = 0; i < M; i++)
        CHECK(tu_wait_count(&b[i].calls, b[i].total, slow ? 60000 : 10000));
    tu_sleep_ms(10);
    double overrun = 0;
    int intervals = 0;
    for (int i = 0; i < M; i++) {
        CHECK_EQ(rtpproc_chan_close(h[i]), 0);
        CHECK_EQ(atomic_load(&b[i].calls), b[i].total);     /* exact count */
        CHECK_EQ(b[i].deadline[0], 0);
        CHECK_EQ(b[i].deadline[1], b[i].now[0] + b[i].init_delay);
        for (int k = 1; k < b[i].total; k++) {
            CHECK(b[i].now[k] >= b[i].deadline[k]);
            if (k >= 2)
                CHECK_EQ(b[i].deadline[k], b[i].deadline[k - 1] + b[i].period);
            uint64_t want = k == 1 ? b[i].init_delay : b[i].period;
            double rel = ((double)(b[i].now[k] - b[i].now[k - 1]) - (double)want) / (double)want;
            if (rel > 0.5)
                overrun += rel - 0.5;
            intervals++;
        }
    }
    double skew_pct = overrun * 100.0 / intervals;
    /* Reported, not asserted: lateness is a speed figure, measured by
     * benches/bench_proc on a quiet machine; here the exact counts and
     * deadlines above are the test. */
    printf("bulk m=%d global_skew_pct=%.3f\n", M, skew_pct);
}

int main(void) {
    slow = getenv("RTPSYNTH_UNDER_VALGRIND") != NULL;
    struct rtpproc *p = rtpproc_ctor(NULL);
    CHECK(p != NULL);
    test_slow_callback_keeps_order(p);
    test_bulk_small(p);
    rtpproc_dtor(p);
    TEST_DONE("test_proc_order");
}
