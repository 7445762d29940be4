/*
 * rtpserver.h round 2: targets from a struct sockaddr, send-only channels
 * (NULL pkt_in), latching (LOCK with probation, FOLLOW, re-arming), the
 * current target, and the extended counters.
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

static atomic_int got;
static struct sockaddr_in last_from;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)pkt; (void)len; (void)rtime_ns;
    CHECK_EQ(fromlen, sizeof(struct sockaddr_in));
    memcpy(&last_from, from, sizeof(last_from));
    atomic_fetch_add(&got, 1);
}

/* A plain UDP socket on 127.0.0.1 and its address. */
static int peer(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(s, (struct sockaddr *)a, sizeof(*a)), 0);
    socklen_t l = sizeof(*a);
    CHECK_EQ(getsockname(s, (struct sockaddr *)a, &l), 0);
    return s;
}

static void send_from(int s, struct rtpsrv_chan *ch, const char *msg) {
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(tu_port_of(ch));
    CHECK_EQ(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)strlen(msg));
}

/* Wait (bounded) for a datagram on `s`; its length, or -1. */
static ssize_t recv_on(int s, char *buf, size_t cap) {
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, 5000) != 1) return -1;
    return recv(s, buf, cap, 0);
}

static uint16_t target_port(struct rtpsrv_chan *ch) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int r = rtpsrv_chan_get_target(ch, &ss, &sl);
    if (r != 0) return 0;
    CHECK_EQ(sl, sizeof(struct sockaddr_in));
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int wait_target(struct rtpsrv_chan *ch, uint16_t port) {
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (tu_now_ns() < end) {
        if (target_port(ch) == port) return 1;
        tu_sleep_ms(2);
    }
    return 0;
}

int main(void) {
    int err = 1;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    CHECK_EQ(err, 0);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };
    char buf[64];

    /* send-only, sockaddr target */
    struct rtpsrv_chan *so = rtpsrv_create_channel_opts(srv, &cfg, NULL, NULL, NULL, &err);
    CHECK(so != NULL);
    struct sockaddr_in pa;
    int a = peer(&pa);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    CHECK_EQ(rtpsrv_chan_get_target(so, &ss, &sl), -EDESTADDRREQ);
    CHECK_EQ(rtpsrv_chan_get_target(so, NULL, &sl), -EINVAL);
    CHECK_EQ(rtpsrv_chan_get_target(NULL, &ss, &sl), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, NULL, sizeof(pa)), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target_sa(NULL, (struct sockaddr *)&pa, sizeof(pa)), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, (struct sockaddr *)&pa, 4), -EINVAL);
    struct sockaddr_in6 six;
    memset(&six, 0, sizeof(six));
    six.sin6_family = AF_INET6;
    six.sin6_port = htons(9);
    six.sin6_addr = in6addr_loopback;
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, (struct sockaddr *)&six, sizeof(six)), -EAFNOSUPPORT);
    struct sockaddr unixish;
    memset(&unixish, 0, sizeof(unixish));
    unixish.sa_family = AF_UNIX;
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, &unixish, sizeof(unixish)), -EAFNOSUPPORT);
    struct sockaddr_in p0 = pa;
    p0.sin_port = 0;
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, (struct sockaddr *)&p0, sizeof(p0)), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_target_sa(so, (struct sockaddr *)&pa, sizeof(pa)), 0);
    CHECK_EQ(target_port(so), ntohs(pa.sin_port));
    CHECK_EQ(rtpsrv_chan_send_pkt(so, "to-a", 4), 0);
    CHECK_EQ(recv_on(a, buf, sizeof(buf)), 4);
    CHECK(memcmp(buf, "to-a", 4) == 0);
    send_from(a, so, "dropped");
    struct rtpsrv_chan_stats_ex sx;
    memset(&sx, 0, sizeof(sx));
    sx.size = sizeof(sx);
    uint64_t end = tu_now_ns() + 5000000000ull;
    do {
        CHECK_EQ(rtpsrv_chan_stats_ex(so, &sx), 0);
    } while (sx.base.rx_pkts < 1 && tu_now_ns() < end && (tu_sleep_ms(2), 1));
    CHECK_EQ(sx.base.rx_pkts, 1);
    CHECK_EQ(sx.base.tx_pkts, 1);
    CHECK_EQ(sx.size, sizeof(sx));
    /* a caller with an older, shorter struct gets only its part */
    struct { size_t size; struct rtpsrv_chan_stats base; uint64_t canary; } old;
    old.size = sizeof(size_t) + sizeof(struct rtpsrv_chan_stats);
    old.canary = 0x1122334455667788ull;
    CHECK_EQ(rtpsrv_chan_stats_ex(so, (struct rtpsrv_chan_stats_ex *)&old), 0);
    CHECK_EQ(old.canary, 0x1122334455667788ull);
    CHECK_EQ(old.base.tx_pkts, 1);
    sx.size = 0;
    CHECK_EQ(rtpsrv_chan_stats_ex(so, &sx), -EINVAL);
    CHECK_EQ(rtpsrv_chan_stats_ex(NULL, &sx), -EINVAL);
    CHECK_EQ(rtpsrv_chan_close(so), 0);
    /* the round-1 constructor still refuses a NULL pkt_in */
    CHECK(rtpsrv_create_channel(srv, &cfg, NULL, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);

    /* bad options */
    struct rtpsrv_chan_opts o;
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.latch = 3;
    CHECK(rtpsrv_create_channel_opts(srv, &cfg, &o, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    o.latch = RTPSRV_LATCH_OFF;
    o.size = 2;
    CHECK(rtpsrv_create_channel_opts(srv, &cfg, &o, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpsrv_create_channel_opts(srv, NULL, &o, on_pkt, NULL, &err) == NULL);
    CHECK(rtpsrv_create_channel_opts(NULL, &cfg, NULL, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);

    /* LOCK with probation 3: the source that sends 3 in a row wins, then locks */
    o.size = sizeof(o);
    o.latch = RTPSRV_LATCH_LOCK;
    o.latch_probation = 3;
    struct rtpsrv_chan *ch = rtpsrv_create_channel_opts(srv, &cfg, &o, on_pkt, NULL, &err);
    CHECK(ch != NULL);
    struct sockaddr_in pb;
    int b = peer(&pb);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "x", 1), -EDESTADDRREQ);
    send_from(a, ch, "a1");
    send_from(a, ch, "a2");
    send_from(b, ch, "b1");   /* breaks a's run */
    send_from(a, ch, "a3");
    send_from(a, ch, "a4");
    CHECK(tu_wait_count(&got, 5, 5000));
    CHECK_EQ(target_port(ch), 0);          /* nobody has 3 in a row yet */
    send_from(a, ch, "a5");
    CHECK(wait_target(ch, ntohs(pa.sin_port)));
    /* locked: b is delivered with its address and counted, target stays */
    send_from(b, ch, "b2");
    send_from(b, ch, "b3");
    send_from(b, ch, "b4");
    CHECK(tu_wait_count(&got, 9, 5000));
    CHECK_EQ(last_from.sin_port, pb.sin_port);
    CHECK_EQ(target_port(ch), ntohs(pa.sin_port));
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "back", 4), 0);
    CHECK_EQ(recv_on(a, buf, sizeof(buf)), 4);
    memset(&sx, 0, sizeof(sx));
    sx.size = sizeof(sx);
    CHECK_EQ(rtpsrv_chan_stats_ex(ch, &sx), 0);
    CHECK_EQ(sx.latch_moves, 1);
    CHECK_EQ(sx.base.rx_pkts, 9);

    /* an explicit target while locked holds */
    CHECK_EQ(rtpsrv_chan_set_target_sa(ch, (struct sockaddr *)&pb, sizeof(pb)), 0);
    send_from(a, ch, "a6");
    CHECK(tu_wait_count(&got, 10, 5000));
    CHECK_EQ(target_port(ch), ntohs(pb.sin_port));

    /* FOLLOW: every new source moves the target */
    CHECK_EQ(rtpsrv_chan_set_latch(ch, 7, 0), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_latch(NULL, RTPSRV_LATCH_FOLLOW, 0), -EINVAL);
    CHECK_EQ(rtpsrv_chan_set_latch(ch, RTPSRV_LATCH_FOLLOW, 0), 0);
    send_from(a, ch, "a7");
    CHECK(wait_target(ch, ntohs(pa.sin_port)));
    send_from(b, ch, "b5");
    CHECK(wait_target(ch, ntohs(pb.sin_port)));
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "to-b", 4), 0);
    CHECK_EQ(recv_on(b, buf, sizeof(buf)), 4);
    CHECK(memcmp(buf, "to-b", 4) == 0);

    /* OFF: sources change nothing */
    CHECK_EQ(rtpsrv_chan_set_latch(ch, RTPSRV_LATCH_OFF, 0), 0);
    int before = atomic_load(&got);
    send_from(a, ch, "a8");
    CHECK(tu_wait_count(&got, before + 1, 5000));
    CHECK_EQ(target_port(ch), ntohs(pb.sin_port));

    CHECK_EQ(rtpsrv_chan_close(ch), 0);
    rtpsrv_dtor(srv);
    close(a);
    close(b);
    TEST_DONE("test_server_latch");
}
