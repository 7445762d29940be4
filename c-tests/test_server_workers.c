/*
 * rtpserver.h: a server with several workers (rtpsrv_ctor_cfg). The
 * configuration is checked; channels spread over the workers, each
 * channel's pkt_in always runs on one thread and gets its packets in
 * order; every worker is used; a pair shares one worker; shutdown from
 * inside one worker's callback stops them all; drain from a callback of
 * any worker is -EDEADLK.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_testutil.h"

#define NW 3
#define NCH 9
#define NPKT 50

struct chan_seen {
    pthread_t thread;
    atomic_int got;
    atomic_int bad;   /* out of order, or on another thread */
};
static struct chan_seen seen[NCH + 2];

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)from; (void)fromlen; (void)rtime_ns;
    struct chan_seen *s = arg;
    int n = atomic_load(&s->got);
    if (n == 0)
        s->thread = pthread_self();
    else if (!pthread_equal(s->thread, pthread_self()))
        atomic_store(&s->bad, 1);
    if (len != 1 || pkt[0] != (unsigned char)n)
        atomic_store(&s->bad, 1);
    atomic_fetch_add(&s->got, 1);
}

static int distinct_threads(int n) {
    int d = 0;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= pthread_equal(seen[i].thread, seen[j].thread);
        d += !dup;
    }
    return d;
}

static void check_configs(void) {
    int err = 1;
    struct rtpsrv *s = rtpsrv_ctor_cfg(NULL, &err);   /* the defaults */
    CHECK(s != NULL);
    CHECK_EQ(err, 0);
    rtpsrv_dtor(s);

    struct rtpsrv_cfg c;
    memset(&c, 0, sizeof(c));
    c.size = sizeof(c);
    /* valgrind does not model io_uring (its workers hang in io_uring_enter):
     * the io_uring server is checked by the other runs of this test */
    c.backend = RTPSRV_BACKEND_URING;
    s = getenv("RTPSYNTH_UNDER_VALGRIND") ? NULL : rtpsrv_ctor_cfg(&c, &err);
    if (getenv("RTPSYNTH_UNDER_VALGRIND")) {
        /* skipped */
    } else if (s == NULL) {
        /* a kernel without io_uring (or with it disabled) */
        CHECK_EQ(err, -EOPNOTSUPP);
    } else {
        CHECK_EQ(err, 0);
        CHECK_EQ(rtpsrv_backend(s), RTPSRV_BACKEND_URING);
        rtpsrv_dtor(s);
    }
    c.backend = RTPSRV_BACKEND_EPOLL;
    s = rtpsrv_ctor_cfg(&c, &err);
    CHECK(s != NULL);
    CHECK_EQ(rtpsrv_backend(s), RTPSRV_BACKEND_EPOLL);
    rtpsrv_dtor(s);
    c.backend = 7;
    CHECK(rtpsrv_ctor_cfg(&c, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    c.backend = RTPSRV_BACKEND_EPOLL;
    c.workers = RTPSRV_MAX_WORKERS + 1;
    CHECK(rtpsrv_ctor_cfg(&c, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    c.size = 0;
    c.workers = 2;
    CHECK(rtpsrv_ctor_cfg(&c, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    s = rtpsrv_ctor_cfg(NULL, NULL);   /* err may be NULL */
    CHECK(s != NULL);
    rtpsrv_dtor(s);
    /* an older, shorter struct: the missing fields are their defaults */
    c.size = offsetof(struct rtpsrv_cfg, workers);
    c.tick_hz = 100;
    s = rtpsrv_ctor_cfg(&c, &err);
    CHECK(s != NULL);
    rtpsrv_dtor(s);
}

static struct rtpsrv_chan *open_chan(struct rtpsrv *srv, struct chan_seen *s) {
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 256 };
    int err;
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &cfg, on_pkt, s, &err);
    CHECK(ch != NULL);
    CHECK_EQ(rtpsrv_chan_set_target(ch, "127.0.0.1", tu_port_of(ch)), 0);
    return ch;
}

static void check_spread(void) {
    struct rtpsrv_cfg c = { sizeof(c), 0, NW, RTPSRV_BACKEND_AUTO };
    int err;
    struct rtpsrv *srv = rtpsrv_ctor_cfg(&c, &err);
    CHECK(srv != NULL);
    struct rtpsrv_chan *ch[NCH];
    for (int i = 0; i < NCH; i++)
        ch[i] = open_chan(srv, &seen[i]);
    for (int k = 0; k < NPKT; k++)
        for (int i = 0; i < NCH; i++) {
            unsigned char b = (unsigned char)k;
            CHECK_EQ(rtpsrv_chan_send_pkt(ch[i], &b, 1), 0);
        }
    for (int i = 0; i < NCH; i++) {
        CHECK(tu_wait_count(&seen[i].got, NPKT, 10000));
        CHECK_EQ(atomic_load(&seen[i].bad), 0);
    }
    /* 9 channels over 3 workers, the least loaded first: 3 threads */
    CHECK_EQ(distinct_threads(NCH), NW);
    for (int i = 0; i < NCH; i++)
        CHECK(!pthread_equal(seen[i].thread, pthread_self()));
    for (int i = 0; i < NCH; i++)
        rtpsrv_chan_close(ch[i]);
    rtpsrv_dtor(srv);
}

static void check_pair(void) {
    struct rtpsrv_cfg c = { sizeof(c), 0, 2, RTPSRV_BACKEND_EPOLL };
    int err;
    struct rtpsrv *srv = rtpsrv_ctor_cfg(&c, &err);
    CHECK(srv != NULL);
    memset(seen, 0, sizeof(seen));
    /* one channel first, so that per-channel placement would split a pair */
    struct rtpsrv_chan *one = open_chan(srv, &seen[2]);
    struct rtpsrv_pair_cfg p;
    memset(&p, 0, sizeof(p));
    p.size = sizeof(p);
    p.port_min = 40000;
    p.port_max = 60000;
    p.rtp_in = on_pkt;
    p.rtp_arg = &seen[0];
    p.rtcp_in = on_pkt;
    p.rtcp_arg = &seen[1];
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };
    struct rtpsrv_chan *rtp, *rtcp;
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &p, &rtp, &rtcp), 0);
    struct rtpsrv_chan *both[2] = { rtp, rtcp };
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rtpsrv_chan_set_target(both[i], "127.0.0.1", tu_port_of(both[i])), 0);
        unsigned char b = 0;
        CHECK_EQ(rtpsrv_chan_send_pkt(both[i], &b, 1), 0);
        CHECK(tu_wait_count(&seen[i].got, 1, 10000));
    }
    unsigned char b = 0;
    CHECK_EQ(rtpsrv_chan_send_pkt(one, &b, 1), 0);
    CHECK(tu_wait_count(&seen[2].got, 1, 10000));
    CHECK(pthread_equal(seen[0].thread, seen[1].thread));
    CHECK(!pthread_equal(seen[0].thread, seen[2].thread));
    rtpsrv_chan_close(rtp);
    rtpsrv_chan_close(rtcp);
    rtpsrv_chan_close(one);
    rtpsrv_dtor(srv);
}

/* shutdown and drain from inside a callback */
static struct rtpsrv *cb_srv;
static struct rtpsrv_chan *victim;
static atomic_int calls, drain_result = 1;
static atomic_int victim_held, victim_release;

static void on_stop(void *arg, const unsigned char *pkt, size_t len,
                    const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)from; (void)fromlen; (void)rtime_ns;
    atomic_fetch_add(&calls, 1);
    if (len == 1 && pkt[0] == 'h') {
        /* on the victim's worker: hold it, so the victim's queue stays
         * non-empty until the other worker has asked for the drain */
        atomic_store(&victim_held, 1);
        for (int i = 0; i < 20000 && !atomic_load(&victim_release); i++)
            tu_sleep_ms(1);
    } else if (len == 1 && pkt[0] == 'd') {
        CHECK_EQ(rtpsrv_chan_send_pkt(victim, "xxxxxxxxxxxxxxxxxxxxxxxxx", 25), 0);
        atomic_store(&drain_result, rtpsrv_chan_drain(victim, 1000000000ull));
        atomic_store(&victim_release, 1);
    } else {
        rtpsrv_shutdown(cb_srv);   /* returns at once, on a worker */
    }
}

static void check_from_callbacks(void) {
    struct rtpsrv_cfg c = { sizeof(c), 0, 2, 0 };
    int err;
    cb_srv = rtpsrv_ctor_cfg(&c, &err);
    CHECK(cb_srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 64 };
    struct rtpsrv_chan *a = rtpsrv_create_channel(cb_srv, &cfg, on_stop, NULL, &err);
    CHECK(a != NULL);
    victim = rtpsrv_create_channel(cb_srv, &cfg, on_stop, NULL, &err);
    CHECK(victim != NULL);
    CHECK_EQ(rtpsrv_chan_set_target(a, "127.0.0.1", tu_port_of(a)), 0);
    /* the victim sends into a socket nobody reads */
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(sink, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    CHECK_EQ(getsockname(sink, (struct sockaddr *)&sa, &sl), 0);
    CHECK_EQ(rtpsrv_chan_set_target_sa(victim, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct sockaddr_in va = sa;
    va.sin_port = htons(tu_port_of(victim));
    CHECK_EQ(sendto(sink, "h", 1, 0, (struct sockaddr *)&va, sizeof(va)), 1);
    CHECK(tu_wait_count(&victim_held, 1, 10000));
    CHECK_EQ(rtpsrv_chan_send_pkt(a, "d", 1), 0);
    for (int i = 0; i < 10000 && atomic_load(&drain_result) == 1; i++)
        tu_sleep_ms(1);
    CHECK_EQ(atomic_load(&drain_result), -EDEADLK);

    CHECK_EQ(rtpsrv_chan_send_pkt(a, "s", 1), 0);
    /* the workers stop on their own; sends then fail */
    int r = 0;
    for (int i = 0; i < 10000 && r != -ESHUTDOWN; i++) {
        r = rtpsrv_chan_send_pkt(victim, "x", 1);
        if (r != -ESHUTDOWN)
            tu_sleep_ms(1);
    }
    CHECK_EQ(r, -ESHUTDOWN);
    rtpsrv_shutdown(cb_srv);   /* from outside: waits for both workers */
    int before = atomic_load(&calls);
    CHECK_EQ(rtpsrv_chan_send_pkt(a, "s", 1), -ESHUTDOWN);
    tu_sleep_ms(20);
    CHECK_EQ(atomic_load(&calls), before);
    rtpsrv_chan_close(a);
    rtpsrv_chan_close(victim);
    rtpsrv_dtor(cb_srv);
    close(sink);
}

int main(void) {
    check_configs();
    check_spread();
    check_pair();
    check_from_callbacks();
    TEST_DONE("test_server_workers");
}
