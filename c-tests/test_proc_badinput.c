/*
 * RtpProc under bad or hostile input: NULL scheduler/callback/handle,
 * deadlines far in the past, before the previous deadline or at
 * UINT64_MAX, callbacks that create and close channels (their own and
 * others'), shutdown and dtor from odd places, and thousands of creates and
 * closes from several threads at once. Defined results, no deadlock, no
 * leak (run under valgrind and ASan by ctest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtpproc.h"
#include "testutil.h"

#define MS 1000000ULL

static int slow;

static uint64_t never_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    (void)arg; (void)now; (void)deadline; (void)err;
    return 0;
}

static void test_null_arguments(void) {
    int err = 0;
    CHECK(rtpproc_create_channel(NULL, never_cb, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpproc_create_channel(NULL, never_cb, NULL, NULL) == NULL);
    struct rtpproc *p = rtpproc_ctor(NULL);
    CHECK(p != NULL);
    err = 0;
    CHECK(rtpproc_create_channel(p, NULL, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpproc_create_channel(p, NULL, NULL, NULL) == NULL);
    CHECK_EQ(rtpproc_chan_close(NULL), -EINVAL);
    rtpproc_shutdown(NULL);
    rtpproc_dtor(NULL);
    /* a NULL arg is fine: it is only passed through */
    struct rtpproc_chan *ch = rtpproc_create_channel(p, never_cb, NULL, &err);
    CHECK(ch != NULL);
    CHECK_EQ(err, 0);
    CHECK_EQ(rtpproc_chan_close(ch), 0);
    rtpproc_dtor(p);
}

/* Always asks for time 1: due at once, again and again. */
struct hog { atomic_int n; atomic_int bad; };
static uint64_t hog_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct hog *h = arg;
    (void)err;
    if (now < deadline || (atomic_load(&h->n) > 0 && deadline != 1))
        atomic_store(&h->bad, 1);
    atomic_fetch_add(&h->n, 1);
    return 1;
}

struct periodic { atomic_int n; int max; uint64_t period; atomic_int bad; uint64_t last_deadline; };
static uint64_t periodic_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct periodic *pc = arg;
    (void)err;
    if (now < deadline || deadline < pc->last_deadline)
        atomic_store(&pc->bad, 1);
    pc->last_deadline = deadline;
    int n = atomic_fetch_add(&pc->n, 1) + 1;
    if (pc->max && n >= pc->max)
        return 0;
    return (deadline ? deadline : now) + pc->period;
}

static void test_past_deadlines_do_not_starve(struct rtpproc *p) {
    static struct hog h;
    static struct periodic pc;
    memset(&h, 0, sizeof(h));
    memset(&pc, 0, sizeof(pc));
    pc.max = 10;
    pc.period = 2 * MS;
    struct rtpproc_chan *hc = rtpproc_create_channel(p, hog_cb, &h, NULL);
    CHECK(hc != NULL);
    struct rtpproc_chan *pch = rtpproc_create_channel(p, periodic_cb, &pc, NULL);
    CHECK(pch != NULL);
    CHECK(tu_wait_count(&pc.n, 10, slow ? 30000 : 5000));   /* not starved */
    CHECK(atomic_load(&h.n) > 10);                      /* the hog runs too */
    CHECK_EQ(rtpproc_chan_close(hc), 0);
    CHECK_EQ(rtpproc_chan_close(pch), 0);
    CHECK_EQ(atomic_load(&h.bad), 0);
    CHECK_EQ(atomic_load(&pc.bad), 0);
}

/* Asks for its deadline + 1 ms, then for earlier and earlier times. */
#define BK 6
struct backwards { atomic_int n; uint64_t now[BK], deadline[BK]; };
static uint64_t backwards_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct backwards *b = arg;
    (void)err;
    int i = atomic_load(&b->n);
    if (i < BK) {
        b->now[i] = now;
        b->deadline[i] = deadline;
    }
    atomic_store(&b->n, i + 1);
    switch (i) {
    case 0: return now + MS;
    case 1: return deadline - 1;       /* before its own deadline */
    case 2: return 5;                  /* far in the past */
    case 3: return deadline / 2;
    default: return 0;
    }
}

static void test_deadlines_never_go_backwards(struct rtpproc *p) {
    static struct backwards b;
    memset(&b, 0, sizeof(b));
    struct rtpproc_chan *ch = rtpproc_create_channel(p, backwards_cb, &b, NULL);
    CHECK(ch != NULL);
    CHECK(tu_wait_count(&b.n, 5, 5000));
    tu_sleep_ms(10);
    CHECK_EQ(atomic_load(&b.n), 5);
    CHECK_EQ(b.deadline[0], 0);
    for (int i = 1; i < 5; i++) {
        CHECK(b.now[i] >= b.deadline[i]);
        CHECK_EQ(b.deadline[i], b.deadline[1]);   /* clamped, not earlier */
    }
    CHECK_EQ(rtpproc_chan_close(ch), 0);
}

struct counter { atomic_int n; uint64_t ret; };
static uint64_t const_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct counter *c = arg;
    (void)now; (void)deadline; (void)err;
    atomic_fetch_add(&c->n, 1);
    return c->ret;
}

static void test_far_future(struct rtpproc *p) {
    static struct counter c[3];
    memset(c, 0, sizeof(c));
    c[0].ret = UINT64_MAX;
    c[1].ret = UINT64_MAX - 1;
    c[2].ret = tu_now_ns() + 3600ULL * 1000 * MS;   /* in an hour */
    struct rtpproc_chan *ch[3];
    for (int i = 0; i < 3; i++) {
        ch[i] = rtpproc_create_channel(p, const_cb, &c[i], NULL);
        CHECK(ch[i] != NULL);
    }
    /* the scheduler still serves others meanwhile */
    static struct periodic pc;
    memset(&pc, 0, sizeof(pc));
    pc.max = 5;
    pc.period = MS;
    struct rtpproc_chan *pch = rtpproc_create_channel(p, periodic_cb, &pc, NULL);
    CHECK(pch != NULL);
    CHECK(tu_wait_count(&pc.n, 5, 5000));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(atomic_load(&c[i].n), 1);
        CHECK_EQ(rtpproc_chan_close(ch[i]), 0);
    }
    CHECK_EQ(rtpproc_chan_close(pch), 0);
}

/* A killer closes a victim from its callback and reports what close said. */
struct victim { atomic_int n; };
static uint64_t victim_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct victim *v = arg;
    (void)deadline;
    if (atomic_fetch_add(&v->n, 1) == 1)
        *err = -ERANGE;
    return now + MS;
}

struct killer {
    _Atomic(struct rtpproc_chan *) target;
    atomic_int result, done;
};
static uint64_t killer_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct killer *k = arg;
    (void)err;
    if (deadline == 0)
        return now + MS;
    struct rtpproc_chan *t = atomic_exchange(&k->target, NULL);
    if (t == NULL)
        return now + MS;            /* not handed over yet */
    atomic_store(&k->result, rtpproc_chan_close(t));
    atomic_store(&k->done, 1);
    return 0;
}

static void test_callback_closes_another(struct rtpproc *p) {
    static struct victim v;
    static struct killer k;
    memset(&v, 0, sizeof(v));
    memset(&k, 0, sizeof(k));
    struct rtpproc_chan *vc = rtpproc_create_channel(p, victim_cb, &v, NULL);
    CHECK(vc != NULL);
    CHECK(tu_wait_count(&v.n, 2, 5000));
    struct rtpproc_chan *kc = rtpproc_create_channel(p, killer_cb, &k, NULL);
    CHECK(kc != NULL);
    atomic_store(&k.target, vc);
    CHECK(tu_wait_count(&k.done, 1, 5000));
    CHECK_EQ(atomic_load(&k.result), -ERANGE);
    int n = atomic_load(&v.n);
    tu_sleep_ms(10);
    CHECK_EQ(atomic_load(&v.n), n);
    CHECK_EQ(rtpproc_chan_close(kc), 0);

    /* a killer that closes a channel still scheduled and running fine */
    memset(&v, 0, sizeof(v));
    memset(&k, 0, sizeof(k));
    static struct periodic pc;
    memset(&pc, 0, sizeof(pc));
    pc.period = MS;
    struct rtpproc_chan *pch = rtpproc_create_channel(p, periodic_cb, &pc, NULL);
    CHECK(pch != NULL);
    kc = rtpproc_create_channel(p, killer_cb, &k, NULL);
    CHECK(kc != NULL);
    atomic_store(&k.target, pch);
    CHECK(tu_wait_count(&k.done, 1, 5000));
    CHECK_EQ(atomic_load(&k.result), 0);
    n = atomic_load(&pc.n);
    tu_sleep_ms(10);
    CHECK_EQ(atomic_load(&pc.n), n);
    CHECK_EQ(rtpproc_chan_close(kc), 0);
}

/* A parent creates a child from its callback (the child's first call runs
 * before create returns), then closes it at once. */
struct parent {
    struct rtpproc *p;
    atomic_int child_calls_seen, done, create_err, close_ret;
};
static uint64_t child_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    atomic_int *calls = arg;
    (void)err;
    atomic_fetch_add(calls, 1);
    return deadline == 0 ? now + MS : 0;
}
static atomic_int child_calls;
static uint64_t parent_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct parent *pa = arg;
    (void)err;
    if (deadline == 0)
        return now + MS;
    int e = 1;
    struct rtpproc_chan *c = rtpproc_create_channel(pa->p, child_cb, &child_calls, &e);
    atomic_store(&pa->create_err, e);
    atomic_store(&pa->child_calls_seen, atomic_load(&child_calls));
    if (c != NULL)
        atomic_store(&pa->close_ret, rtpproc_chan_close(c));
    atomic_store(&pa->done, 1);
    return 0;
}

static void test_create_from_callback(struct rtpproc *p) {
    static struct parent pa;
    memset(&pa, 0, sizeof(pa));
    atomic_store(&child_calls, 0);
    pa.p = p;
    pa.close_ret = 77;
    struct rtpproc_chan *ch = rtpproc_create_channel(p, parent_cb, &pa, NULL);
    CHECK(ch != NULL);
    CHECK(tu_wait_count(&pa.done, 1, 5000));
    CHECK_EQ(atomic_load(&pa.create_err), 0);
    CHECK_EQ(atomic_load(&pa.child_calls_seen), 1);
    CHECK_EQ(atomic_load(&pa.close_ret), 0);
    tu_sleep_ms(10);
    CHECK_EQ(atomic_load(&child_calls), 1);   /* closed before its 2nd call */
    CHECK_EQ(rtpproc_chan_close(ch), 0);
}

/* A callback of scheduler A creates and closes a channel of scheduler B
 * (served by B's worker while A's worker waits). */
struct cross { struct rtpproc *b; atomic_int done, create_err, child_seen, close_ret; };
static uint64_t cross_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct cross *x = arg;
    (void)err;
    if (deadline == 0)
        return now + MS;
    atomic_store(&child_calls, 0);
    int e = 1;
    struct rtpproc_chan *c = rtpproc_create_channel(x->b, child_cb, &child_calls, &e);
    atomic_store(&x->create_err, e);
    atomic_store(&x->child_seen, atomic_load(&child_calls));
    if (c != NULL)
        atomic_store(&x->close_ret, rtpproc_chan_close(c));
    atomic_store(&x->done, 1);
    return 0;
}

static void test_cross_scheduler(void) {
    struct rtpproc *a = rtpproc_ctor(NULL), *b = rtpproc_ctor(NULL);
    CHECK(a != NULL && b != NULL);
    static struct cross x;
    memset(&x, 0, sizeof(x));
    x.b = b;
    x.close_ret = 55;
    struct rtpproc_chan *ch = rtpproc_create_channel(a, cross_cb, &x, NULL);
    CHECK(ch != NULL);
    CHECK(tu_wait_count(&x.done, 1, 5000));
    CHECK_EQ(atomic_load(&x.create_err), 0);
    CHECK_EQ(atomic_load(&x.child_seen), 1);
    CHECK_EQ(atomic_load(&x.close_ret), 0);
    CHECK_EQ(rtpproc_chan_close(ch), 0);
    rtpproc_dtor(b);
    rtpproc_dtor(a);
}

/* Several threads creating and closing channels at once. */
struct stress_arg { struct rtpproc *p; int count; unsigned seed; atomic_int *calls; int failures; };
static uint64_t stress_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    atomic_int *calls = arg;
    (void)err;
    if (now < deadline)
        return 0;   /* would be reported by the count check below */
    atomic_fetch_add(calls, 1);
    return now + 50000 + (now % 7) * 100000;   /* 0.05 .. 0.65 ms */
}
static void *stress_thread(void *argp) {
    struct stress_arg *a = argp;
    unsigned long long rs = a->seed;
    struct rtpproc_chan *open[64];
    int nopen = 0;
    for (int i = 0; i < a->count; i++) {
        int err = 1;
        struct rtpproc_chan *ch = rtpproc_create_channel(a->p, stress_cb, a->calls, &err);
        if (ch == NULL || err != 0) {
            a->failures++;
            continue;
        }
        if (nopen == 64 || (tu_rand(&rs) & 1)) {
            int victim = nopen ? (int)(tu_rand(&rs) % (unsigned)nopen) : -1;
            if (victim >= 0) {
                if (rtpproc_chan_close(open[victim]) != 0)
                    a->failures++;
                open[victim] = open[--nopen];
            }
        }
        open[nopen++] = ch;
    }
    while (nopen > 0)
        if (rtpproc_chan_close(open[--nopen]) != 0)
            a->failures++;
    return NULL;
}

static void test_concurrent_creates_and_closes(void) {
    struct rtpproc *p = rtpproc_ctor(NULL);
    CHECK(p != NULL);
    enum { T = 4 };
    static atomic_int calls;
    atomic_store(&calls, 0);
    struct stress_arg a[T];
    pthread_t t[T];
    int per = slow ? 150 : 1500;
    for (int i = 0; i < T; i++) {
        a[i] = (struct stress_arg){ p, per, 1234u + (unsigned)i, &calls, 0 };
        CHECK_EQ(pthread_create(&t[i], NULL, stress_thread, &a[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        CHECK_EQ(pthread_join(t[i], NULL), 0);
        CHECK_EQ(a[i].failures, 0);
    }
    CHECK(atomic_load(&calls) >= T * per);   /* at least every first call */
    rtpproc_dtor(p);
}

/* Shutdown racing with creators on other threads: every create either
 * succeeds (and its close returns 0) or is refused with -ESHUTDOWN, and
 * once refused always refused. */
static atomic_int racers_ok;
struct racer { struct rtpproc *p; int ok, refused, other; };
static void *racer_thread(void *argp) {
    struct racer *r = argp;
    static atomic_int sink;
    for (int i = 0; i < 1000000 && r->refused < 20; i++) {
        int err = 1;
        struct rtpproc_chan *ch = rtpproc_create_channel(r->p, stress_cb, &sink, &err);
        if (ch != NULL) {
            if (r->refused)
                r->other++;          /* accepted after a refusal */
            r->ok++;
            atomic_fetch_add(&racers_ok, 1);
            if (rtpproc_chan_close(ch) != 0)
                r->other++;
        } else if (err == -ESHUTDOWN) {
            r->refused++;
        } else {
            r->other++;
        }
    }
    return NULL;
}

static void test_shutdown_races_creates(void) {
    struct rtpproc *p = rtpproc_ctor(NULL);
    CHECK(p != NULL);
    struct racer r[3];
    pthread_t t[3];
    atomic_store(&racers_ok, 0);
    for (int i = 0; i < 3; i++) {
        r[i] = (struct racer){ p, 0, 0, 0 };
        CHECK_EQ(pthread_create(&t[i], NULL, racer_thread, &r[i]), 0);
    }
    CHECK(tu_wait_count(&racers_ok, 100, 30000));
    rtpproc_shutdown(p);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pthread_join(t[i], NULL), 0);
        CHECK_EQ(r[i].other, 0);
        CHECK_EQ(r[i].refused, 20);
    }
    rtpproc_dtor(p);
}

/* Shutdown and dtor from inside a callback. */
struct selfstop { struct rtpproc *p; atomic_int n, after_err; int dtor; };
static uint64_t selfstop_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct selfstop *s = arg;
    (void)err;
    atomic_fetch_add(&s->n, 1);
    if (deadline != 0) {
        if (s->dtor) {
            rtpproc_dtor(s->p);
        } else {
            rtpproc_shutdown(s->p);
            int e = 0;
            struct rtpproc_chan *c = rtpproc_create_channel(s->p, never_cb, NULL, &e);
            atomic_store(&s->after_err, c == NULL ? e : 1);
        }
    }
    return now + MS;
}

static void test_shutdown_from_callback(void) {
    for (int dtor = 0; dtor < 2; dtor++) {
        static struct selfstop s;
        memset(&s, 0, sizeof(s));
        s.p = rtpproc_ctor(NULL);
        s.dtor = dtor;
        CHECK(s.p != NULL);
        static struct counter other;
        memset(&other, 0, sizeof(other));
        other.ret = 1;   /* keeps asking to run */
        struct rtpproc_chan *oc = rtpproc_create_channel(s.p, const_cb, &other, NULL);
        struct rtpproc_chan *ch = rtpproc_create_channel(s.p, selfstop_cb, &s, NULL);
        CHECK(oc != NULL && ch != NULL);
        CHECK(tu_wait_count(&s.n, 2, 5000));
        tu_sleep_ms(20);
        CHECK_EQ(atomic_load(&s.n), 2);          /* no call after the stop */
        int on = atomic_load(&other.n);
        tu_sleep_ms(10);
        CHECK_EQ(atomic_load(&other.n), on);
        if (!dtor)
            CHECK_EQ(atomic_load(&s.after_err), -ESHUTDOWN);
        CHECK_EQ(rtpproc_chan_close(ch), 0);
        CHECK_EQ(rtpproc_chan_close(oc), 0);
        if (!dtor)
            rtpproc_dtor(s.p);
    }
}

int main(void) {
    slow = getenv("RTPSYNTH_UNDER_VALGRIND") != NULL;
    test_null_arguments();
    struct rtpproc *p = rtpproc_ctor(NULL);
    CHECK(p != NULL);
    test_past_deadlines_do_not_starve(p);
    test_deadlines_never_go_backwards(p);
    test_far_future(p);
    test_callback_closes_another(p);
    test_create_from_callback(p);
    rtpproc_dtor(p);
    test_cross_scheduler();
    test_concurrent_creates_and_closes();
    test_shutdown_races_creates();
    test_shutdown_from_callback();
    TEST_DONE("test_proc_badinput");
}
