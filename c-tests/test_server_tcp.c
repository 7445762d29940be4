/*
 * rtpserver.h RFC 4571 TCP channels: a LISTEN and a CONNECT channel
 * exchange framed packets both ways (sizes 0..65507); a raw peer writes
 * frames in 1..7-byte pieces and reads ours; connection events (CONNECTED,
 * CLOSED on an orderly close, RESET with -ECONNRESET / -ECONNREFUSED);
 * -ENOTCONN without a connection; -EOPNOTSUPP for targets; bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_testutil.h"

#define NPKT 300

struct side {
    pthread_mutex_t mu;
    int n;
    size_t len[512];
    unsigned char first[512], last[512];
    atomic_int ev[4];
    atomic_int last_err;
};

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    struct side *s = arg;
    (void)rtime_ns;
    CHECK(from != NULL && fromlen >= sizeof(struct sockaddr_in));
    pthread_mutex_lock(&s->mu);
    if (s->n < 512) {
        s->len[s->n] = len;
        s->first[s->n] = len ? pkt[0] : 0;
        s->last[s->n] = len ? pkt[len - 1] : 0;
    }
    s->n++;
    pthread_mutex_unlock(&s->mu);
}

static void on_event(void *arg, int event, int error, const struct sockaddr *peer,
                     socklen_t peerlen, uint64_t rtime_ns) {
    struct side *s = arg;
    (void)rtime_ns;
    CHECK(event >= 1 && event <= 3);
    CHECK(peer != NULL && peerlen >= sizeof(struct sockaddr_in));
    CHECK((event == RTPSRV_EV_RESET) == (error != 0));
    atomic_store(&s->last_err, error);
    atomic_fetch_add(&s->ev[event], 1);
}

static int count(struct side *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int wait_for(atomic_int *a, int n) { return tu_wait_count(a, n, 10000); }

static int wait_pkts(struct side *s, int n) {
    uint64_t end = tu_now_ns() + 10000000000ull;
    while (count(s) < n && tu_now_ns() < end) tu_sleep_ms(2);
    return count(s) >= n;
}

static struct rtpsrv_chan *tcp_chan(struct rtpsrv *srv, int mode, const struct sockaddr_in *peer,
                                    struct side *s, unsigned qs, int *err) {
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, qs };
    struct rtpsrv_tcp_cfg t;
    memset(&t, 0, sizeof(t));
    t.size = sizeof(t);
    t.mode = mode;
    t.peer = (const struct sockaddr *)peer;
    t.peerlen = peer ? sizeof(*peer) : 0;
    t.on_event = on_event;
    t.event_arg = s;
    return rtpsrv_create_tcp_channel(srv, &cfg, &t, on_pkt, s, err);
}

static struct sockaddr_in addr_of(struct rtpsrv_chan *ch) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(tu_port_of(ch));
    return a;
}

static size_t pkt_len(int i) { return i == 0 ? 0 : i == 1 ? 65507 : (size_t)(i * 97) % 1400; }

static void read_exact(int fd, unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        struct pollfd p = { fd, POLLIN, 0 };
        CHECK_EQ(poll(&p, 1, 10000), 1);
        ssize_t r = read(fd, b + got, n - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
}

int main(void) {
    int err;
    static struct side ls = { .mu = PTHREAD_MUTEX_INITIALIZER }, cs = { .mu = PTHREAD_MUTEX_INITIALIZER },
                       rs = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);

    /* bad arguments */
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };
    struct rtpsrv_tcp_cfg t;
    memset(&t, 0, sizeof(t));
    t.size = sizeof(t);
    t.mode = 7;
    CHECK(rtpsrv_create_tcp_channel(srv, &cfg, &t, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    t.mode = RTPSRV_TCP_CONNECT;      /* no peer */
    CHECK(rtpsrv_create_tcp_channel(srv, &cfg, &t, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpsrv_create_tcp_channel(srv, &cfg, NULL, on_pkt, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpsrv_create_tcp_channel(NULL, &cfg, &t, on_pkt, NULL, &err) == NULL);
    CHECK(rtpsrv_create_tcp_channel(srv, NULL, &t, on_pkt, NULL, &err) == NULL);

    /* LISTEN and CONNECT channels of ours */
    struct rtpsrv_chan *l = tcp_chan(srv, RTPSRV_TCP_LISTEN, NULL, &ls, 512, &err);
    CHECK(l != NULL);
    CHECK_EQ(rtpsrv_chan_send_pkt(l, "x", 1), -ENOTCONN);
    CHECK_EQ(rtpsrv_chan_set_target(l, "127.0.0.1", 9), -EOPNOTSUPP);
    struct sockaddr_in la = addr_of(l);
    CHECK_EQ(rtpsrv_chan_set_target_sa(l, (struct sockaddr *)&la, sizeof(la)), -EOPNOTSUPP);
    struct rtpsrv_chan *c = tcp_chan(srv, RTPSRV_TCP_CONNECT, &la, &cs, 512, &err);
    CHECK(c != NULL);
    CHECK(wait_for(&cs.ev[RTPSRV_EV_CONNECTED], 1));
    CHECK(wait_for(&ls.ev[RTPSRV_EV_CONNECTED], 1));
    static unsigned char big[65507];
    for (int i = 0; i < NPKT; i++) {
        size_t n = pkt_len(i);
        memset(big, i & 0xff, n);
        if (n) big[n - 1] = (unsigned char)~i;
        CHECK_EQ(rtpsrv_chan_send_pkt(c, big, n), 0);
        CHECK_EQ(rtpsrv_chan_send_pkt(l, big, n), 0);
    }
    CHECK_EQ(rtpsrv_chan_drain(c, 10000000000ull), 0);
    CHECK_EQ(rtpsrv_chan_drain(l, 10000000000ull), 0);
    CHECK(wait_pkts(&ls, NPKT));
    CHECK(wait_pkts(&cs, NPKT));
    for (int i = 0; i < NPKT; i++) {
        size_t n = pkt_len(i);
        struct side *sd[2] = { &ls, &cs };
        for (int k = 0; k < 2; k++) {
            CHECK_EQ(sd[k]->len[i], n);
            if (n) {
                CHECK_EQ(sd[k]->first[i], n > 1 ? (i & 0xff) : (unsigned char)~i);
                CHECK_EQ(sd[k]->last[i], (unsigned char)~i);
            }
        }
    }
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(c, &st), 0);
    CHECK_EQ(st.tx_pkts, NPKT);
    CHECK_EQ(st.rx_pkts, NPKT);
    /* the connecting side closes: the listener hears CLOSED, and is
       ready for the next connection */
    CHECK_EQ(rtpsrv_chan_close(c), 0);
    CHECK(wait_for(&ls.ev[RTPSRV_EV_CLOSED], 1));
    CHECK_EQ(rtpsrv_chan_send_pkt(l, "x", 1), -ENOTCONN);

    /* a raw peer: frames written in small pieces, ours read back */
    int r = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(r >= 0);
    CHECK_EQ(connect(r, (struct sockaddr *)&la, sizeof(la)), 0);
    int one = 1;
    setsockopt(r, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    CHECK(wait_for(&ls.ev[RTPSRV_EV_CONNECTED], 2));
    int before = count(&ls);
    unsigned char stream[4096];
    size_t sl = 0;
    for (int i = 0; i < 40; i++) {
        size_t n = (size_t)(i * 13) % 90;
        stream[sl++] = (unsigned char)(n >> 8);
        stream[sl++] = (unsigned char)n;
        memset(stream + sl, 0x40 + i, n);
        if (n) stream[sl + n - 1] = (unsigned char)~i;
        sl += n;
    }
    for (size_t off = 0, k = 1; off < sl; off += k, k = k % 7 + 1) {
        size_t n = off + k > sl ? sl - off : k;
        CHECK_EQ(write(r, stream + off, n), (ssize_t)n);
        if (k == 3) tu_sleep_ms(1);
    }
    CHECK(wait_pkts(&ls, before + 40));
    for (int i = 0; i < 40; i++) {
        size_t n = (size_t)(i * 13) % 90;
        CHECK_EQ(ls.len[before + i], n);
        if (n) CHECK_EQ(ls.last[before + i], (unsigned char)~i);
    }
    CHECK_EQ(rtpsrv_chan_send_pkt(l, "\x80\x00hello", 7), 0);
    unsigned char f[9];
    read_exact(r, f, 9);
    CHECK(memcmp(f, "\x00\x07\x80\x00hello", 9) == 0);
    /* an RST from the peer: RESET with -ECONNRESET */
    struct linger lg = { 1, 0 };
    CHECK_EQ(setsockopt(r, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(r);
    CHECK(wait_for(&ls.ev[RTPSRV_EV_RESET], 1));
    CHECK_EQ(atomic_load(&ls.last_err), -ECONNRESET);

    /* a refused connect: RESET with -ECONNREFUSED, then -ENOTCONN */
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in gone;
    memset(&gone, 0, sizeof(gone));
    gone.sin_family = AF_INET;
    gone.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(tmp, (struct sockaddr *)&gone, sizeof(gone)), 0);
    socklen_t gl = sizeof(gone);
    CHECK_EQ(getsockname(tmp, (struct sockaddr *)&gone, &gl), 0);
    close(tmp);
    struct rtpsrv_chan *c2 = tcp_chan(srv, RTPSRV_TCP_CONNECT, &gone, &rs, 0, &err);
    CHECK(c2 != NULL);
    CHECK(wait_for(&rs.ev[RTPSRV_EV_RESET], 1));
    CHECK_EQ(atomic_load(&rs.last_err), -ECONNREFUSED);
    CHECK_EQ(rtpsrv_chan_send_pkt(c2, "x", 1), -ENOTCONN);
    CHECK_EQ(atomic_load(&rs.ev[RTPSRV_EV_CONNECTED]), 0);
    CHECK_EQ(rtpsrv_chan_close(c2), 0);

    CHECK_EQ(rtpsrv_chan_close(l), 0);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_tcp");
}
