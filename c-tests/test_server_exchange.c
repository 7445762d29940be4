/*
 * rtpserver.h: two channels exchange packets in both directions, in order;
 * the source address, the counters and rtime_ns are right; a packet from a
 * plain socket arrives with a plausible, monotonic rtime_ns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"
#include "testutil.h"

#define NPKT 200

struct rx {
    pthread_mutex_t mu;
    int n;
    char pkts[NPKT][32];
    size_t lens[NPKT];
    uint64_t rtime[NPKT], seen[NPKT];
    struct sockaddr_storage from[NPKT];
    socklen_t fromlen[NPKT];
};

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    struct rx *r = arg;
    uint64_t now = tu_now_ns();
    pthread_mutex_lock(&r->mu);
    if (r->n < NPKT && len < sizeof(r->pkts[0])) {
        memcpy(r->pkts[r->n], pkt, len);
        r->lens[r->n] = len;
        r->rtime[r->n] = rtime_ns;
        r->seen[r->n] = now;
        memcpy(&r->from[r->n], from, fromlen);
        r->fromlen[r->n] = fromlen;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
}

static int count(struct rx *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int wait_count(struct rx *r, int want) {
    uint64_t end = tu_now_ns() + 10000000000ull;
    while (tu_now_ns() < end) {
        if (count(r) >= want) return 1;
        usleep(2000);
    }
    return count(r) >= want;
}

static uint16_t port_of(struct rtpsrv_chan *ch) {
    struct sockaddr_storage ss;
    socklen_t len = 0;
    CHECK_EQ(rtpsrv_chan_local_addr(ch, &ss, &len), 0);
    CHECK_EQ(len, sizeof(struct sockaddr_in));
    CHECK_EQ(ss.ss_family, AF_INET);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    CHECK_EQ(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    CHECK(ntohs(sin->sin_port) != 0);
    return ntohs(sin->sin_port);
}

static void check_stream(struct rx *r, char tag, uint16_t from_port) {
    for (int i = 0; i < NPKT; i++) {
        char want[32];
        int wl = snprintf(want, sizeof(want), "%c-%d", tag, i);
        CHECK_EQ(r->lens[i], wl);
        CHECK(memcmp(r->pkts[i], want, (size_t)wl) == 0);
        CHECK_EQ(r->fromlen[i], sizeof(struct sockaddr_in));
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->from[i];
        CHECK_EQ(ntohs(sin->sin_port), from_port);
        CHECK(r->rtime[i] > 0);
        CHECK(r->rtime[i] <= r->seen[i]);
        if (i > 0) CHECK(r->rtime[i] >= r->rtime[i - 1]);
    }
}

int main(void) {
    static struct rx ra, rb, rc;
    pthread_mutex_init(&ra.mu, NULL);
    pthread_mutex_init(&rb.mu, NULL);
    pthread_mutex_init(&rc.mu, NULL);
    int err = 1;
    struct rtpsrv *srv = rtpsrv_ctor(200, &err);
    CHECK(srv != NULL);
    CHECK_EQ(err, 0);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 256 };
    struct rtpsrv_chan *a = rtpsrv_create_channel(srv, &cfg, on_pkt, &ra, &err);
    CHECK(a != NULL);
    struct rtpsrv_chan *b = rtpsrv_create_channel(srv, &cfg, on_pkt, &rb, &err);
    CHECK(b != NULL);
    uint16_t pa = port_of(a), pb = port_of(b);
    CHECK(pa != pb);
    CHECK_EQ(rtpsrv_chan_set_target(a, "127.0.0.1", pb), 0);
    CHECK_EQ(rtpsrv_chan_set_target(b, "127.0.0.1", pa), 0);

    for (int i = 0; i < NPKT; i++) {
        char p[32];
        int l = snprintf(p, sizeof(p), "a-%d", i);
        CHECK_EQ(rtpsrv_chan_send_pkt(a, p, (size_t)l), 0);
        l = snprintf(p, sizeof(p), "b-%d", i);
        CHECK_EQ(rtpsrv_chan_send_pkt(b, p, (size_t)l), 0);
    }
    CHECK(wait_count(&ra, NPKT));
    CHECK(wait_count(&rb, NPKT));
    check_stream(&rb, 'a', pa);
    check_stream(&ra, 'b', pb);

    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(a, &st), 0);
    CHECK_EQ(st.tx_pkts, NPKT);
    CHECK_EQ(st.rx_pkts, NPKT);
    CHECK(st.tx_bytes > 3 * NPKT && st.tx_bytes == st.rx_bytes);
    CHECK_EQ(st.tx_queue_full, 0);
    CHECK_EQ(st.tx_errors, 0);

    /* rtime_ns from a plain socket: positive, monotonic, close to now. */
    struct rtpsrv_chan *c = rtpsrv_create_channel(srv, &cfg, on_pkt, &rc, &err);
    CHECK(c != NULL);
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port_of(c)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    uint64_t t0 = tu_now_ns();
    CHECK_EQ(sendto(s, "rtime-0", 7, 0, (struct sockaddr *)&dst, sizeof(dst)), 7);
    CHECK_EQ(sendto(s, "rtime-1", 7, 0, (struct sockaddr *)&dst, sizeof(dst)), 7);
    CHECK(wait_count(&rc, 2));
    close(s);
    for (int i = 0; i < 2; i++) {
        CHECK(rc.rtime[i] >= t0);
        CHECK(rc.rtime[i] <= rc.seen[i]);
        CHECK(rc.seen[i] - rc.rtime[i] < 100000000ull);
        CHECK_EQ(rc.lens[i], 7);
    }
    CHECK(rc.rtime[1] >= rc.rtime[0]);
    CHECK(memcmp(rc.pkts[1], "rtime-1", 7) == 0);

    CHECK_EQ(rtpsrv_chan_close(a), 0);
    CHECK_EQ(rtpsrv_chan_close(b), 0);
    CHECK_EQ(rtpsrv_chan_close(c), 0);
    rtpsrv_shutdown(srv);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_exchange");
}
