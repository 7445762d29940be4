/*
 * rtpserver.h round 2: rtpsrv_chan_drain waits until the queue is on the
 * wire (bounded by its timeout), refuses to wait on the worker thread
 * (-EDEADLK), reports a discarded queue (-ESHUTDOWN); close_drain sends
 * everything before closing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_testutil.h"

static atomic_int cb_result = 1;
static struct rtpsrv_chan *self_ch;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    /* output queued, and the worker is busy here: it cannot drain */
    CHECK_EQ(rtpsrv_chan_send_pkt(self_ch, "x", 1), 0);
    atomic_store(&cb_result, rtpsrv_chan_drain(self_ch, 1000000000ull));
}

static int sink(struct sockaddr_in *a, int rcvbuf) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    if (rcvbuf)
        CHECK_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(s, (struct sockaddr *)a, sizeof(*a)), 0);
    socklen_t l = sizeof(*a);
    CHECK_EQ(getsockname(s, (struct sockaddr *)a, &l), 0);
    return s;
}

int main(void) {
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 1024 };
    struct sockaddr_in sa;
    int s = sink(&sa, 4 << 20);

    CHECK_EQ(rtpsrv_chan_drain(NULL, 0), -EINVAL);
    CHECK_EQ(rtpsrv_chan_close_drain(NULL, 0), -EINVAL);

    struct rtpsrv_chan *ch = rtpsrv_create_channel_opts(srv, &cfg, NULL, NULL, NULL, &err);
    CHECK(ch != NULL);
    CHECK_EQ(rtpsrv_chan_drain(ch, 0), 0);           /* nothing queued */
    CHECK_EQ(rtpsrv_chan_set_target_sa(ch, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const int n = (int)tu_scaled(1000, 200);
    unsigned char pkt[200];
    for (int i = 0; i < n; i++) {
        memset(pkt, i & 0xff, sizeof(pkt));
        CHECK_EQ(rtpsrv_chan_send_pkt(ch, pkt, sizeof(pkt)), 0);
    }
    int r = rtpsrv_chan_drain(ch, 0);                 /* just a look */
    CHECK(r == 0 || r == -ETIMEDOUT);
    CHECK_EQ(rtpsrv_chan_drain(ch, 30000000000ull), 0);
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(ch, &st), 0);
    CHECK_EQ(st.tx_pkts + st.tx_errors, (uint64_t)n);
    CHECK_EQ(st.tx_pkts, (uint64_t)n);
    /* they are on the wire: the sink has them all, in order */
    unsigned char buf[256];
    for (int i = 0; i < n; i++) {
        struct pollfd p = { s, POLLIN, 0 };
        CHECK_EQ(poll(&p, 1, 5000), 1);
        CHECK_EQ(recv(s, buf, sizeof(buf), 0), 200);
        CHECK_EQ(buf[0], i & 0xff);
    }

    /* close_drain: everything queued goes out before the socket closes */
    for (int i = 0; i < n; i++)
        CHECK_EQ(rtpsrv_chan_send_pkt(ch, pkt, sizeof(pkt)), 0);
    CHECK_EQ(rtpsrv_chan_close_drain(ch, 30000000000ull), 0);
    for (int i = 0; i < n; i++) {
        struct pollfd p = { s, POLLIN, 0 };
        CHECK_EQ(poll(&p, 1, 5000), 1);
        CHECK_EQ(recv(s, buf, sizeof(buf), 0), 200);
    }

    /* from inside pkt_in with output queued: -EDEADLK, no hang */
    self_ch = rtpsrv_create_channel(srv, &cfg, on_pkt, NULL, &err);
    CHECK(self_ch != NULL);
    CHECK_EQ(rtpsrv_chan_set_target_sa(self_ch, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct sockaddr_in to = sa;
    to.sin_port = htons(tu_port_of(self_ch));
    CHECK_EQ(sendto(s, "go", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (atomic_load(&cb_result) == 1 && tu_now_ns() < end) tu_sleep_ms(2);
    CHECK_EQ(atomic_load(&cb_result), -EDEADLK);
    CHECK_EQ(rtpsrv_chan_close_drain(self_ch, 5000000000ull), 0);

    /* after shutdown, queued output is discarded and an empty queue drains */
    struct rtpsrv_chan *late = rtpsrv_create_channel_opts(srv, &cfg, NULL, NULL, NULL, &err);
    CHECK(late != NULL);
    rtpsrv_shutdown(srv);
    CHECK_EQ(rtpsrv_chan_send_pkt(late, "x", 1), -ESHUTDOWN);
    CHECK_EQ(rtpsrv_chan_drain(late, 1000000), 0);
    CHECK_EQ(rtpsrv_chan_close_drain(late, 1000000), 0);
    rtpsrv_dtor(srv);
    close(s);
    TEST_DONE("test_server_drain");
}
