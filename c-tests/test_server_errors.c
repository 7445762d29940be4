/*
 * rtpserver.h bad input: NULL handles and callbacks, bad hosts, families,
 * ports and queue sizes, a port in use, oversize packets, send before
 * set_target, a full queue, descriptor exhaustion; after each failure the
 * server keeps serving its other channels.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"
#include "testutil.h"
#include "server_testutil.h"

static atomic_int got;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    atomic_fetch_add(&got, 1);
}

/* The channel still moves a packet through loopback to itself. */
static void check_alive(struct rtpsrv_chan *ch) {
    int before = atomic_load(&got);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "alive", 5), 0);
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (atomic_load(&got) == before && tu_now_ns() < end) usleep(1000);
    CHECK(atomic_load(&got) > before);
}

static struct rtpsrv_chan *mk(struct rtpsrv *srv, const char *host, uint16_t port,
                              int fam, unsigned qs, int *err) {
    struct rtpsrv_chan_cfg cfg = { host, port, fam, qs };
    *err = 777;
    return rtpsrv_create_channel(srv, &cfg, on_pkt, NULL, err);
}

static void expect_fail(struct rtpsrv *srv, const char *host, uint16_t port, int fam,
                        unsigned qs, int want) {
    int err;
    struct rtpsrv_chan *ch = mk(srv, host, port, fam, qs, &err);
    if (ch != NULL) {
        fprintf(stderr, "create_channel(%s, %u, %d, %u) unexpectedly succeeded\n",
                host ? host : "NULL", port, fam, qs);
        CHECK(ch == NULL);
    }
    CHECK_EQ(err, want);
}

int main(void) {
    int err = 777;
    /* NULL handles everywhere */
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 0 };
    CHECK(rtpsrv_create_channel(NULL, &cfg, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpsrv_create_channel(NULL, &cfg, on_pkt, NULL, NULL) == NULL);
    CHECK_EQ(rtpsrv_chan_send_pkt(NULL, "x", 1), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(NULL, "127.0.0.1", 9), -EINVAL);
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(NULL, &st), -EINVAL);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    CHECK_EQ(rtpsrv_chan_local_addr(NULL, &ss, &sl), -EINVAL);
    CHECK_EQ(rtpsrv_chan_close(NULL), -EINVAL);
    rtpsrv_shutdown(NULL);
    rtpsrv_dtor(NULL);

    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    CHECK_EQ(err, 0);
    CHECK(rtpsrv_create_channel(srv, NULL, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpsrv_create_channel(srv, &cfg, NULL, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);

    struct rtpsrv_chan *good = mk(srv, "127.0.0.1", 0, 0, 0, &err);
    CHECK(good != NULL);
    CHECK_EQ(err, 0);
    CHECK_EQ(rtpsrv_chan_stats(good, NULL), -EINVAL);
    CHECK_EQ(rtpsrv_chan_local_addr(good, NULL, &sl), -EINVAL);
    CHECK_EQ(rtpsrv_chan_local_addr(good, &ss, NULL), -EINVAL);
    uint16_t gport = tu_port_of(good);

    /* send before set_target */
    CHECK_EQ(rtpsrv_chan_send_pkt(good, "x", 1), -EDESTADDRREQ);
    /* bad targets */
    CHECK_EQ(rtpsrv_chan_set_target(good, NULL, 9), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(good, "localhost", 9), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(good, "256.1.1.1", 9), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(good, "", 9), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(good, "127.0.0.1", 0), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target(good, "::1", 9), -EAFNOSUPPORT);
    CHECK_EQ(rtpsrv_chan_send_pkt(good, "x", 1), -EDESTADDRREQ);
    CHECK_EQ(rtpsrv_chan_set_target(good, "127.0.0.1", gport), 0);

    /* sizes */
    static unsigned char big[65508];
    memset(big, 0xab, sizeof(big));
    CHECK_EQ(rtpsrv_chan_send_pkt(good, big, 65508), -EMSGSIZE);
    CHECK_EQ(rtpsrv_chan_send_pkt(good, big, (size_t)-1), -EMSGSIZE);
    CHECK_EQ(rtpsrv_chan_send_pkt(good, NULL, 5), -EINVAL);
    int before = atomic_load(&got);
    CHECK_EQ(rtpsrv_chan_send_pkt(good, big, 65507), 0);
    CHECK_EQ(rtpsrv_chan_send_pkt(good, NULL, 0), 0); /* empty datagram is fine */
    uint64_t end = tu_now_ns() + 5000000000ull;
    struct rtpsrv_chan_stats_ex sx = { .size = sizeof(sx) };
    if (rtpsrv_backend(srv) == RTPSRV_BACKEND_URING) {
        /* io_uring: the 65507-byte datagram is dropped and counted; the
         * longest it delivers arrives, one byte more does not */
        while (atomic_load(&got) < before + 1 && tu_now_ns() < end) usleep(1000);
        CHECK_EQ(rtpsrv_chan_send_pkt(good, big, RTPSRV_URING_MAX_PAYLOAD), 0);
        CHECK_EQ(rtpsrv_chan_send_pkt(good, big, RTPSRV_URING_MAX_PAYLOAD + 1), 0);
        do {
            CHECK_EQ(rtpsrv_chan_stats_ex(good, &sx), 0);
            if (sx.rx_dropped == 2 && atomic_load(&got) == before + 2) break;
            usleep(1000);
        } while (tu_now_ns() < end);
        CHECK_EQ(atomic_load(&got), before + 2);
        CHECK_EQ(sx.rx_dropped, 2);
        CHECK_EQ(sx.base.rx_bytes, RTPSRV_URING_MAX_PAYLOAD);
        CHECK_EQ(sx.base.tx_bytes, 65507 + 2 * RTPSRV_URING_MAX_PAYLOAD + 1);
    } else {
        CHECK_EQ(rtpsrv_backend(srv), RTPSRV_BACKEND_EPOLL);
        while (atomic_load(&got) < before + 2 && tu_now_ns() < end) usleep(1000);
        CHECK_EQ(atomic_load(&got), before + 2);
        CHECK_EQ(rtpsrv_chan_stats(good, &st), 0);
        CHECK_EQ(st.rx_bytes, 65507);
        CHECK_EQ(st.tx_bytes, 65507);
        CHECK_EQ(rtpsrv_chan_stats_ex(good, &sx), 0);
        CHECK_EQ(sx.rx_dropped, 0);
    }
    CHECK_EQ(rtpsrv_backend(NULL), -EINVAL);

    /* bad configs */
    expect_fail(srv, "127.0.0.1", 0, 0, 3, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 0, 48, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 0, 131072, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 0, 1u << 31, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 0, UINT_MAX, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 5, 0, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, -1, 0, -EINVAL);
    expect_fail(srv, "127.0.0.1", 0, 6, 0, -EINVAL);
    expect_fail(srv, "::1", 0, 4, 0, -EINVAL);
    expect_fail(srv, "localhost", 0, 0, 0, -EINVAL);
    expect_fail(srv, "example.invalid", 0, 0, 0, -EINVAL);
    expect_fail(srv, "1.2.3", 0, 0, 0, -EINVAL);
    expect_fail(srv, "127.0.0.1", gport, 0, 0, -EADDRINUSE);
    expect_fail(srv, "192.0.2.1", 0, 0, 0, -EADDRNOTAVAIL);
    check_alive(good);

    /* queue sizes at the limits */
    struct rtpsrv_chan *q1 = mk(srv, "127.0.0.1", 0, 0, 1, &err);
    CHECK(q1 != NULL);
    struct rtpsrv_chan *qmax = mk(srv, "127.0.0.1", 0, 0, 65536, &err);
    CHECK(qmax != NULL);
    CHECK_EQ(rtpsrv_chan_close(q1), 0);
    CHECK_EQ(rtpsrv_chan_close(qmax), 0);

    /* fixed port: bind the port a closed channel had */
    struct rtpsrv_chan *tmp = mk(srv, "127.0.0.1", 0, 0, 0, &err);
    CHECK(tmp != NULL);
    uint16_t fixed = tu_port_of(tmp);
    CHECK_EQ(rtpsrv_chan_close(tmp), 0);
    struct rtpsrv_chan *fx = mk(srv, "127.0.0.1", fixed, 0, 0, &err);
    CHECK(fx != NULL);
    CHECK_EQ(tu_port_of(fx), fixed);
    CHECK_EQ(rtpsrv_chan_close(fx), 0);

    /* descriptor exhaustion gives -EMFILE and hurts nobody */
    struct rlimit old, lim;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = 64;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    struct rtpsrv_chan *many[128];
    int n = 0, last = 0;
    while (n < 128) {
        many[n] = mk(srv, "127.0.0.1", 0, 0, 0, &err);
        if (many[n] == NULL) { last = err; break; }
        n++;
    }
    CHECK(n < 128);
    CHECK_EQ(last, -EMFILE);
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    check_alive(good);
    for (int i = 0; i < n; i++) CHECK_EQ(rtpsrv_chan_close(many[i]), 0);
    check_alive(good);

    /* strerror describes every value used here */
    int codes[] = { -EINVAL, -EADDRINUSE, -EMFILE, -ENOBUFS, -EMSGSIZE, -EDESTADDRREQ,
                    -ESHUTDOWN, -EAFNOSUPPORT, -EADDRNOTAVAIL };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = rtpsynth_strerror(codes[i]);
        CHECK(s != NULL && strcmp(s, "unknown error") != 0);
    }

    CHECK_EQ(rtpsrv_chan_close(good), 0);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_errors");
}
