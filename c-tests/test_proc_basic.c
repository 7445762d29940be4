/*
 * RtpProc basics, ported from the original's tests/test_rtp_proc.py:
 * singleton identity, immediate first call then scheduled calls, returning 0
 * unschedules, unscheduling after a few calls with bounded lateness, the
 * callback's error reported by close, close from inside the callback,
 * create after shutdown refused, a private instance's shutdown stops its
 * calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "rtpproc.h"
#include "testutil.h"

#define MS 1000000ULL

#define MAXRUNS 64
struct runs {
    atomic_int n;
    int stop_after;         /* return 0 on this call (0: never) */
    int err_on;             /* set *err on this call (0: never) */
    int err_val;
    uint64_t period;
    uint64_t now[MAXRUNS], deadline[MAXRUNS];
    _Atomic(struct rtpproc_chan *) self_close;   /* close this handle on call close_on */
    int close_on;
    atomic_int close_ret;
};

static uint64_t record_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct runs *r = arg;
    int i = atomic_load(&r->n);
    if (i < MAXRUNS) {
        r->now[i] = now;
        r->deadline[i] = deadline;
    }
    atomic_store(&r->n, i + 1);
    if (r->err_on && i + 1 == r->err_on) {
        *err = r->err_val;
        return now + r->period;     /* ignored: *err stops the channel */
    }
    struct rtpproc_chan *me = atomic_load(&r->self_close);
    if (r->close_on && i + 1 == r->close_on && me != NULL) {
        atomic_store(&r->self_close, NULL);
        r->close_ret = rtpproc_chan_close(me);
        return now + r->period;     /* ignored: the channel is closed */
    }
    if (r->stop_after && i + 1 >= r->stop_after)
        return 0;
    return (deadline == 0 ? now : deadline) + r->period;
}

static void test_singleton(void) {
    struct rtpproc *a = rtpproc_get();
    CHECK(a != NULL);
    CHECK(rtpproc_get() == a);
    rtpproc_dtor(a);                 /* a no-op for the singleton */
    CHECK(rtpproc_get() == a);

    int err = 1;
    struct rtpproc *b = rtpproc_ctor(&err);
    CHECK(b != NULL);
    CHECK_EQ(err, 0);
    CHECK(b != a);
    rtpproc_dtor(b);
}

static void *get_singleton(void *arg) {
    (void)arg;
    return rtpproc_get();
}

static void test_singleton_threads(void) {
    pthread_t t[4];
    void *res[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, get_singleton, NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_join(t[i], &res[i]), 0);
    for (int i = 0; i < 4; i++)
        CHECK(res[i] == (void *)rtpproc_get());
}

static void test_immediate_then_scheduled(struct rtpproc *p) {
    static struct runs r;
    memset(&r, 0, sizeof(r));
    r.period = 10 * MS;
    int err = 1;
    uint64_t t0 = tu_now_ns();
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, &err);
    CHECK(ch != NULL);
    CHECK_EQ(err, 0);
    CHECK(atomic_load(&r.n) >= 1);      /* first call already happened */
    CHECK_EQ(r.deadline[0], 0);
    CHECK(r.now[0] >= t0);
    CHECK(tu_wait_count(&r.n, 3, 3000));
    CHECK_EQ(rtpproc_chan_close(ch), 0);
    int n = atomic_load(&r.n);
    if (n > MAXRUNS)
        n = MAXRUNS;
    for (int i = 0; i < n; i++) {
        CHECK(r.now[i] >= r.deadline[i]);
        if (i > 0) {
            CHECK(r.now[i] >= r.now[i - 1]);
            CHECK(r.deadline[i] >= r.deadline[i - 1]);
            CHECK_EQ(r.deadline[i], r.now[0] + (uint64_t)i * r.period);  /* no drift */
        }
    }
    /* closed: never called again */
    int after = atomic_load(&r.n);
    tu_sleep_ms(30);
    CHECK_EQ(atomic_load(&r.n), after);
}

static void test_zero_unschedules(struct rtpproc *p) {
    static struct runs r;
    memset(&r, 0, sizeof(r));
    r.stop_after = 1;
    r.period = MS;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    CHECK(ch != NULL);
    CHECK_EQ(atomic_load(&r.n), 1);
    tu_sleep_ms(50);
    CHECK_EQ(atomic_load(&r.n), 1);
    CHECK_EQ(rtpproc_chan_close(ch), 0);
}

static void test_unschedule_after_few_calls(struct rtpproc *p, int slow) {
    static struct runs r;
    memset(&r, 0, sizeof(r));
    r.stop_after = 4;
    r.period = 5 * MS;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    CHECK(ch != NULL);
    CHECK(tu_wait_count(&r.n, 4, 3000));
    tu_sleep_ms(50);
    CHECK_EQ(atomic_load(&r.n), 4);
    uint64_t max_late = (slow ? 1000 : 100) * MS;   /* generous: shared machine */
    int late_values = 0;
    for (int i = 0; i < 4; i++) {
        if (r.deadline[i] == 0)
            continue;
        late_values++;
        CHECK(r.now[i] >= r.deadline[i]);
        CHECK(r.now[i] - r.deadline[i] <= max_late);
    }
    CHECK(late_values >= 3);
    CHECK_EQ(rtpproc_chan_close(ch), 0);
}

static void test_error_on_close(struct rtpproc *p) {
    static struct runs r;
    memset(&r, 0, sizeof(r));
    r.err_on = 1;                   /* fail right in the first call */
    r.err_val = -EBADMSG;
    r.period = MS;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    CHECK(ch != NULL);
    tu_sleep_ms(20);
    CHECK_EQ(atomic_load(&r.n), 1);
    CHECK_EQ(rtpproc_chan_close(ch), -EBADMSG);

    /* fail on the third call; any value is reported as is */
    memset(&r, 0, sizeof(r));
    r.err_on = 3;
    r.err_val = 12345;
    r.period = 2 * MS;
    ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    CHECK(ch != NULL);
    CHECK(tu_wait_count(&r.n, 3, 3000));
    tu_sleep_ms(20);
    CHECK_EQ(atomic_load(&r.n), 3);
    CHECK_EQ(rtpproc_chan_close(ch), 12345);
}

static void test_close_from_callback(struct rtpproc *p) {
    static struct runs r;
    memset(&r, 0, sizeof(r));
    r.period = 2 * MS;
    r.close_on = 3;
    r.close_ret = 99;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    CHECK(ch != NULL);
    atomic_store(&r.self_close, ch);   /* hand the handle to the callback; it closes it */
    CHECK(tu_wait_count(&r.n, 3, 3000));
    tu_sleep_ms(30);
    CHECK_EQ(atomic_load(&r.n), 3);
    CHECK_EQ(r.close_ret, 0);
}

/* A close from another thread while the callback runs waits for it. */
struct slow_arg { atomic_int in_cb, calls, done; };

static uint64_t slow_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct slow_arg *s = arg;
    (void)err;
    atomic_fetch_add(&s->calls, 1);
    if (deadline != 0) {
        atomic_store(&s->in_cb, 1);
        tu_sleep_ms(40);
        atomic_store(&s->done, 1);
        atomic_store(&s->in_cb, 0);
    }
    return now + MS;
}

static void test_close_waits_for_running_callback(struct rtpproc *p) {
    static struct slow_arg s;
    memset(&s, 0, sizeof(s));
    struct rtpproc_chan *ch = rtpproc_create_channel(p, slow_cb, &s, NULL);
    CHECK(ch != NULL);
    uint64_t end = tu_now_ns() + 3000 * MS;
    while (!atomic_load(&s.in_cb) && tu_now_ns() < end)
        tu_sleep_ms(1);
    CHECK(atomic_load(&s.in_cb));
    CHECK_EQ(rtpproc_chan_close(ch), 0);
    CHECK(atomic_load(&s.done));         /* the running call finished first */
    CHECK_EQ(atomic_load(&s.in_cb), 0);
    int calls = atomic_load(&s.calls);
    tu_sleep_ms(20);
    CHECK_EQ(atomic_load(&s.calls), calls);
}

static void test_private_shutdown(int slow) {
    int err = 1;
    struct rtpproc *p = rtpproc_ctor(&err);
    CHECK(p != NULL);
    static struct runs r, r2;
    memset(&r, 0, sizeof(r));
    memset(&r2, 0, sizeof(r2));
    r.period = MS;
    r2.period = MS;
    r2.err_on = 2;
    r2.err_val = -EIO;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, record_cb, &r, NULL);
    struct rtpproc_chan *ch2 = rtpproc_create_channel(p, record_cb, &r2, NULL);
    CHECK(ch != NULL && ch2 != NULL);
    CHECK(tu_wait_count(&r.n, 5, slow ? 20000 : 3000));
    CHECK(tu_wait_count(&r2.n, 2, 3000));
    rtpproc_shutdown(p);
    int n = atomic_load(&r.n);
    tu_sleep_ms(30);
    CHECK_EQ(atomic_load(&r.n), n);   /* no call after shutdown returned */
    rtpproc_shutdown(p);              /* idempotent */

    err = 0;
    CHECK(rtpproc_create_channel(p, record_cb, &r, &err) == NULL);
    CHECK_EQ(err, -ESHUTDOWN);
    CHECK(strcmp(rtpsynth_strerror(err), "unknown error") != 0);

    /* close after shutdown is local and still reports the error */
    CHECK_EQ(rtpproc_chan_close(ch2), -EIO);
    rtpproc_dtor(p);                  /* before the last close: fine */
    CHECK_EQ(rtpproc_chan_close(ch), 0);
}

static void test_singleton_shutdown_last(void) {
    struct rtpproc *p = rtpproc_get();
    rtpproc_shutdown(p);
    rtpproc_shutdown(p);
    int err = 0;
    static struct runs r;
    memset(&r, 0, sizeof(r));
    CHECK(rtpproc_create_channel(p, record_cb, &r, &err) == NULL);
    CHECK_EQ(err, -ESHUTDOWN);
    CHECK_EQ(atomic_load(&r.n), 0);
    CHECK(rtpproc_get() == p);        /* still the same (stopped) instance */
}

int main(void) {
    int slow = getenv("RTPSYNTH_UNDER_VALGRIND") != NULL;
    test_singleton();
    test_singleton_threads();
    struct rtpproc *p = rtpproc_get();
    test_immediate_then_scheduled(p);
    test_zero_unschedules(p);
    test_unschedule_after_few_calls(p, slow);
    test_error_on_close(p);
    test_close_from_callback(p);
    test_close_waits_for_running_callback(p);
    test_private_shutdown(slow);
    test_singleton_shutdown_last();
    TEST_DONE("test_proc_basic");
}
