/*
 * rtpserver.h output queue: bounded and lossy. While the worker is held up
 * (inside another channel's pkt_in) a queue of N takes exactly N packets and
 * then refuses with -ENOBUFS, counted in tx_queue_full; once the worker is
 * free the queued packets go out in order. Then the original's test: with
 * tick_hz 1 and 60 kB packets sent in a tight loop, the queue fills.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"
#include "testutil.h"
#include "server_testutil.h"

struct seqs { pthread_mutex_t mu; int n; unsigned last; int out_of_order; };

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)from; (void)fromlen; (void)rtime_ns;
    struct seqs *s = arg;
    unsigned v = 0;
    if (len >= 4) memcpy(&v, pkt, 4);
    pthread_mutex_lock(&s->mu);
    if (s->n > 0 && v <= s->last) s->out_of_order++;
    s->last = v;
    s->n++;
    pthread_mutex_unlock(&s->mu);
}

struct gate { pthread_mutex_t mu; pthread_cond_t cv; int entered, open; };

static void on_pkt_block(void *arg, const unsigned char *pkt, size_t len,
                         const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void deterministic_full(void) {
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    static struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    static struct seqs s = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 16 };
    struct rtpsrv_chan *blk = rtpsrv_create_channel(srv, &cfg, on_pkt_block, &g, &err);
    struct rtpsrv_chan *rx = rtpsrv_create_channel(srv, &cfg, on_pkt, &s, &err);
    struct rtpsrv_chan *tx = rtpsrv_create_channel(srv, &cfg, on_pkt, &s, &err);
    CHECK(blk && rx && tx);
    CHECK_EQ(rtpsrv_chan_set_target(blk, "127.0.0.1", tu_port_of(blk)), 0);
    CHECK_EQ(rtpsrv_chan_set_target(tx, "127.0.0.1", tu_port_of(rx)), 0);
    CHECK_EQ(rtpsrv_chan_send_pkt(blk, "block", 5), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    /* the worker is now parked in on_pkt_block */
    for (unsigned i = 0; i < 16; i++) CHECK_EQ(rtpsrv_chan_send_pkt(tx, &i, 4), 0);
    for (unsigned i = 16; i < 20; i++) CHECK_EQ(rtpsrv_chan_send_pkt(tx, &i, 4), -ENOBUFS);
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(tx, &st), 0);
    CHECK_EQ(st.tx_queue_full, 4);
    CHECK_EQ(st.tx_pkts, 0);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    uint64_t end = tu_now_ns() + 10000000000ull;
    for (;;) {
        pthread_mutex_lock(&s.mu);
        int n = s.n;
        pthread_mutex_unlock(&s.mu);
        if (n >= 16 || tu_now_ns() > end) break;
        usleep(1000);
    }
    pthread_mutex_lock(&s.mu);
    CHECK_EQ(s.n, 16);
    CHECK_EQ(s.last, 15);
    CHECK_EQ(s.out_of_order, 0);
    pthread_mutex_unlock(&s.mu);
    CHECK_EQ(rtpsrv_chan_stats(tx, &st), 0);
    CHECK_EQ(st.tx_pkts, 16);
    CHECK_EQ(rtpsrv_chan_send_pkt(tx, "more", 4), 0); /* room again */
    CHECK_EQ(rtpsrv_chan_close(blk), 0);
    CHECK_EQ(rtpsrv_chan_close(rx), 0);
    CHECK_EQ(rtpsrv_chan_close(tx), 0);
    rtpsrv_dtor(srv);
}

int main(void) {
    deterministic_full();
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(1, &err);
    CHECK(srv != NULL);
    static struct seqs s = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 0 };
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &cfg, on_pkt, &s, &err);
    CHECK(ch != NULL);
    CHECK_EQ(rtpsrv_chan_set_target(ch, "127.0.0.1", tu_port_of(ch)), 0);
    usleep(50000);

    static unsigned char payload[60000];
    /* io_uring delivers datagrams up to RTPSRV_URING_MAX_PAYLOAD */
    size_t plen = rtpsrv_backend(srv) == RTPSRV_BACKEND_URING ? RTPSRV_URING_MAX_PAYLOAD
                                                               : sizeof(payload);
    int queued = 0, full = 0, other = 0;
    unsigned tries = getenv("RTPSYNTH_UNDER_VALGRIND") ? 3000 : 200000;
    for (unsigned i = 0; i < tries && full < 1000; i++) {
        memcpy(payload, &i, 4);
        int rc = rtpsrv_chan_send_pkt(ch, payload, plen);
        if (rc == 0) queued++;
        else if (rc == -ENOBUFS) full++;
        else other++;
    }
    CHECK_EQ(other, 0);
    if (!getenv("RTPSYNTH_UNDER_VALGRIND")) CHECK(full >= 1);
    CHECK(queued >= 32); /* at least one queue's worth went in */
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(ch, &st), 0);
    CHECK_EQ(st.tx_queue_full, full);

    /* everything queued is sent (the receive side may drop 60 kB datagrams
     * when its buffer is full, but what arrives is in order) */
    uint64_t end = tu_now_ns() + 10000000000ull;
    do {
        CHECK_EQ(rtpsrv_chan_stats(ch, &st), 0);
        if (st.tx_pkts + st.tx_errors == (uint64_t)queued) break;
        usleep(2000);
    } while (tu_now_ns() < end);
    CHECK_EQ(st.tx_pkts + st.tx_errors, queued);
    CHECK(st.tx_pkts > 0);
    usleep(50000);
    pthread_mutex_lock(&s.mu);
    CHECK(s.n > 0);
    CHECK_EQ(s.out_of_order, 0);
    pthread_mutex_unlock(&s.mu);

    /* queue of 1: the second packet in a burst is refused */
    cfg.queue_size = 1;
    struct rtpsrv_chan *one = rtpsrv_create_channel(srv, &cfg, on_pkt, &s, &err);
    CHECK(one != NULL);
    CHECK_EQ(rtpsrv_chan_set_target(one, "127.0.0.1", tu_port_of(ch)), 0);
    int refused = 0;
    for (int i = 0; i < 1000; i++)
        if (rtpsrv_chan_send_pkt(one, payload, plen) == -ENOBUFS) refused++;
    CHECK(refused > 0);
    CHECK_EQ(rtpsrv_chan_stats(one, &st), 0);
    CHECK_EQ(st.tx_queue_full, refused);

    CHECK_EQ(rtpsrv_chan_close(one), 0);
    CHECK_EQ(rtpsrv_chan_close(ch), 0);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_queue");
}
