/*
 * rtpserver.h from many threads: several threads send on shared channels at
 * once while an echo channel answers from inside its pkt_in (send_pkt on the
 * worker thread); every packet is accounted for (delivered, refused with
 * -ENOBUFS, or counted as an error) and each sender's stream stays in order.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"
#include "testutil.h"
#include "server_testutil.h"

#define NTHREADS 4
#define NCHAN 4

/* packets: [thread id][sequence], 8 bytes */
struct sink {
    struct rtpsrv_chan *echo; /* if set, send every packet back out */
    atomic_int n, echo_refused, disorder;
    unsigned last[NTHREADS];
    int seen[NTHREADS];
};

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)from; (void)fromlen; (void)rtime_ns;
    struct sink *s = arg;
    if (len != 8) return;
    unsigned t, q;
    memcpy(&t, pkt, 4);
    memcpy(&q, pkt + 4, 4);
    if (t >= NTHREADS) return;
    /* called on the worker thread only: plain fields are fine */
    if (s->seen[t] && q <= s->last[t]) atomic_fetch_add(&s->disorder, 1);
    s->seen[t] = 1;
    s->last[t] = q;
    atomic_fetch_add(&s->n, 1);
    if (s->echo && rtpsrv_chan_send_pkt(s->echo, pkt, len) != 0) atomic_fetch_add(&s->echo_refused, 1);
}

static struct rtpsrv_chan *tx[NCHAN];
static atomic_int queued[NCHAN], refused[NCHAN];
static int per_thread;

static void *sender(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned seq[NCHAN] = { 0 };
    for (int i = 0; i < per_thread; i++) {
        int c = (int)(((unsigned)i + id) % NCHAN);
        unsigned char p[8];
        memcpy(p, &id, 4);
        memcpy(p + 4, &seq[c], 4);
        seq[c]++;
        int rc = rtpsrv_chan_send_pkt(tx[c], p, 8);
        if (rc == 0) atomic_fetch_add(&queued[c], 1);
        else { CHECK_EQ(rc, -ENOBUFS); atomic_fetch_add(&refused[c], 1); }
        if ((i & 31) == 31) usleep(200);
    }
    return NULL;
}

int main(void) {
    per_thread = getenv("RTPSYNTH_UNDER_VALGRIND") ? 400 : 4000;
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 1024 };
    static struct sink sink[NCHAN], back;
    struct rtpsrv_chan *rx[NCHAN];
    struct rtpsrv_chan *ret = rtpsrv_create_channel(srv, &cfg, on_pkt, &back, &err);
    CHECK(ret != NULL);
    for (int c = 0; c < NCHAN; c++) {
        rx[c] = rtpsrv_create_channel(srv, &cfg, on_pkt, &sink[c], &err);
        tx[c] = rtpsrv_create_channel(srv, &cfg, on_pkt, NULL, &err);
        CHECK(rx[c] && tx[c]);
        CHECK_EQ(rtpsrv_chan_set_target(tx[c], "127.0.0.1", tu_port_of(rx[c])), 0);
        /* rx[c] echoes to `ret` from inside its pkt_in */
        CHECK_EQ(rtpsrv_chan_set_target(rx[c], "127.0.0.1", tu_port_of(ret)), 0);
        sink[c].echo = rx[c];
    }
    pthread_t th[NTHREADS];
    for (uintptr_t t = 0; t < NTHREADS; t++) CHECK_EQ(pthread_create(&th[t], NULL, sender, (void *)t), 0);
    for (int t = 0; t < NTHREADS; t++) pthread_join(th[t], NULL);

    int total_q = 0;
    for (int c = 0; c < NCHAN; c++) total_q += atomic_load(&queued[c]);
    CHECK(total_q > 0);
    /* wait until every queued packet was sent and the echoes settled */
    uint64_t end = tu_now_ns() + 15000000000ull;
    for (;;) {
        uint64_t sent = 0;
        for (int c = 0; c < NCHAN; c++) {
            struct rtpsrv_chan_stats st;
            CHECK_EQ(rtpsrv_chan_stats(tx[c], &st), 0);
            sent += st.tx_pkts + st.tx_errors;
        }
        if (sent == (uint64_t)total_q || tu_now_ns() > end) break;
        usleep(2000);
    }
    usleep(100000);
    int delivered = 0, echo_q = 0;
    for (int c = 0; c < NCHAN; c++) {
        struct rtpsrv_chan_stats st;
        CHECK_EQ(rtpsrv_chan_stats(tx[c], &st), 0);
        CHECK_EQ(st.tx_pkts + st.tx_errors, atomic_load(&queued[c]));
        CHECK_EQ(st.tx_queue_full, atomic_load(&refused[c]));
        CHECK_EQ(atomic_load(&sink[c].disorder), 0);
        CHECK(atomic_load(&sink[c].n) <= atomic_load(&queued[c]));
        CHECK_EQ(rtpsrv_chan_stats(rx[c], &st), 0);
        CHECK_EQ(st.rx_pkts, atomic_load(&sink[c].n));
        CHECK_EQ(st.tx_queue_full, atomic_load(&sink[c].echo_refused));
        delivered += atomic_load(&sink[c].n);
        echo_q += atomic_load(&sink[c].n) - atomic_load(&sink[c].echo_refused);
    }
    /* every echo queued from inside pkt_in was sent */
    end = tu_now_ns() + 15000000000ull;
    uint64_t echo_sent;
    for (;;) {
        echo_sent = 0;
        for (int c = 0; c < NCHAN; c++) {
            struct rtpsrv_chan_stats st;
            CHECK_EQ(rtpsrv_chan_stats(rx[c], &st), 0);
            echo_sent += st.tx_pkts + st.tx_errors;
        }
        if (echo_sent == (uint64_t)echo_q || tu_now_ns() > end) break;
        usleep(2000);
    }
    CHECK_EQ(echo_sent, echo_q);
    usleep(50000);
    /* the senders are spread over 4 channels: loopback loses nothing unless
     * a socket buffer overflows; four echo channels feeding one socket can
     * overflow it, so only an upper bound holds there */
    printf("queued %d delivered %d echoed %d returned %d\n", total_q, delivered, echo_q,
           atomic_load(&back.n));
    CHECK(delivered >= total_q * 9 / 10);
    CHECK(atomic_load(&back.n) > 0);
    CHECK(atomic_load(&back.n) <= echo_q);
    struct rtpsrv_chan_stats rs;
    CHECK_EQ(rtpsrv_chan_stats(ret, &rs), 0);
    CHECK_EQ(rs.rx_pkts, atomic_load(&back.n));

    for (int c = 0; c < NCHAN; c++) {
        CHECK_EQ(rtpsrv_chan_close(tx[c]), 0);
        CHECK_EQ(rtpsrv_chan_close(rx[c]), 0);
    }
    CHECK_EQ(rtpsrv_chan_close(ret), 0);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_threads");
}
