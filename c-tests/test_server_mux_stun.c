/*
 * rtpserver.h round 2: rtcp-mux (RFC 5761 section 4: RTCP to rtcp_in, RTP
 * to pkt_in) and STUN Binding Requests answered inline (RFC 5389:
 * XOR-MAPPED-ADDRESS over IPv4 and IPv6, transaction id echoed,
 * FINGERPRINT mirrored; never passed to a callback).
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

static atomic_int n_rtp, n_rtcp, bad;

static void on_rtp(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)from; (void)fromlen; (void)rtime_ns;
    if (arg != (void *)1 || (len >= 2 && pkt[1] >= 192 && pkt[1] <= 223 && (pkt[0] >> 6) == 2))
        atomic_store(&bad, 1);
    atomic_fetch_add(&n_rtp, 1);
}

static void on_rtcp(void *arg, const unsigned char *pkt, size_t len,
                    const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)from; (void)fromlen; (void)rtime_ns;
    if (arg != (void *)2 || len < 2 || pkt[1] < 192 || pkt[1] > 223)
        atomic_store(&bad, 1);
    atomic_fetch_add(&n_rtcp, 1);
}

static uint32_t crc32(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* A Binding Request with transaction id `tid`, optionally FINGERPRINTed. */
static size_t binding_request(unsigned char *m, const unsigned char tid[12], int fp) {
    memset(m, 0, 20);
    m[1] = 0x01;
    m[4] = 0x21; m[5] = 0x12; m[6] = 0xa4; m[7] = 0x42;
    memcpy(m + 8, tid, 12);
    /* PRIORITY (0x0024), as ICE sends */
    m[20] = 0x00; m[21] = 0x24; m[22] = 0; m[23] = 4;
    m[24] = 0x6e; m[25] = 0; m[26] = 0x1e; m[27] = 0xff;
    size_t n = 28;
    if (fp) {
        m[3] = (unsigned char)(n - 20 + 8);
        uint32_t c = crc32(m, n) ^ 0x5354554eu;
        m[n] = 0x80; m[n + 1] = 0x28; m[n + 2] = 0; m[n + 3] = 4;
        m[n + 4] = (unsigned char)(c >> 24); m[n + 5] = (unsigned char)(c >> 16);
        m[n + 6] = (unsigned char)(c >> 8); m[n + 7] = (unsigned char)c;
        n += 8;
    } else {
        m[3] = (unsigned char)(n - 20);
    }
    return n;
}

static ssize_t recv_on(int s, unsigned char *buf, size_t cap) {
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, 5000) != 1) return -1;
    return recv(s, buf, cap, 0);
}

/* Check a Binding Success Response against what the peer's address is. */
static void check_response(const unsigned char *r, ssize_t n, const unsigned char tid[12],
                           const struct sockaddr *peer, int fp) {
    CHECK(n >= 32);
    CHECK_EQ(r[0], 0x01);
    CHECK_EQ(r[1], 0x01);
    CHECK_EQ((r[2] << 8 | r[3]) + 20, n);
    CHECK(memcmp(r + 4, "\x21\x12\xa4\x42", 4) == 0);
    CHECK(memcmp(r + 8, tid, 12) == 0);
    CHECK_EQ(r[20] << 8 | r[21], 0x0020);
    int alen = r[22] << 8 | r[23];
    uint16_t xport = (uint16_t)((r[26] << 8 | r[27]) ^ 0x2112);
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        CHECK_EQ(alen, 8);
        CHECK_EQ(r[25], 1);
        CHECK_EQ(xport, ntohs(a->sin_port));
        unsigned char ip[4];
        for (int i = 0; i < 4; i++) ip[i] = r[28 + i] ^ r[4 + i];
        CHECK(memcmp(ip, &a->sin_addr, 4) == 0);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        CHECK_EQ(alen, 20);
        CHECK_EQ(r[25], 2);
        CHECK_EQ(xport, ntohs(a->sin6_port));
        unsigned char ip[16];
        for (int i = 0; i < 16; i++) ip[i] = r[28 + i] ^ r[4 + i];   /* cookie, then tid */
        CHECK(memcmp(ip, &a->sin6_addr, 16) == 0);
    }
    size_t end = 24 + (size_t)alen;
    if (fp) {
        CHECK_EQ((size_t)n, end + 8);
        CHECK_EQ(r[end] << 8 | r[end + 1], 0x8028);
        uint32_t want = crc32(r, end) ^ 0x5354554eu;
        uint32_t got = (uint32_t)r[end + 4] << 24 | (uint32_t)r[end + 5] << 16 |
                       (uint32_t)r[end + 6] << 8 | r[end + 7];
        CHECK_EQ(got, want);
    } else {
        CHECK_EQ((size_t)n, end);
    }
}

static void stun_round(struct rtpsrv *srv, int v6) {
    struct rtpsrv_chan_cfg cfg = { v6 ? "::1" : "127.0.0.1", 0, v6 ? 6 : 4, 0 };
    struct rtpsrv_chan_opts o;
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.stun = 1;
    int err;
    atomic_store(&n_rtp, 0);
    struct rtpsrv_chan *ch = rtpsrv_create_channel_opts(srv, &cfg, &o, on_rtp, (void *)1, &err);
    CHECK(ch != NULL);
    struct sockaddr_storage cs, ps;
    socklen_t cl = sizeof(cs), pl;
    CHECK_EQ(rtpsrv_chan_local_addr(ch, &cs, &cl), 0);
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    memset(&ps, 0, sizeof(ps));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ps;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        pl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ps;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        pl = sizeof(*a);
    }
    CHECK_EQ(bind(s, (struct sockaddr *)&ps, pl), 0);
    CHECK_EQ(getsockname(s, (struct sockaddr *)&ps, &pl), 0);
    unsigned char m[64], r[128];
    for (int fp = 0; fp < 2; fp++) {
        unsigned char tid[12];
        for (int i = 0; i < 12; i++) tid[i] = (unsigned char)(0x30 + i + 16 * fp + 7 * v6);
        size_t n = binding_request(m, tid, fp);
        CHECK_EQ(sendto(s, m, n, 0, (struct sockaddr *)&cs, cl), (ssize_t)n);
        ssize_t rn = recv_on(s, r, sizeof(r));
        check_response(r, rn, tid, (struct sockaddr *)&ps, fp);
    }
    /* a corrupted FINGERPRINT, a response and a truncated request are plain datagrams */
    unsigned char tid[12] = { 1 };
    size_t n = binding_request(m, tid, 1);
    m[n - 1] ^= 0xff;
    CHECK_EQ(sendto(s, m, n, 0, (struct sockaddr *)&cs, cl), (ssize_t)n);
    n = binding_request(m, tid, 0);
    m[0] = 0x01; m[1] = 0x01;
    CHECK_EQ(sendto(s, m, n, 0, (struct sockaddr *)&cs, cl), (ssize_t)n);
    n = binding_request(m, tid, 0);
    CHECK_EQ(sendto(s, m, n - 4, 0, (struct sockaddr *)&cs, cl), (ssize_t)(n - 4));
    CHECK(tu_wait_count(&n_rtp, 3, 5000));
    struct rtpsrv_chan_stats_ex sx;
    memset(&sx, 0, sizeof(sx));
    sx.size = sizeof(sx);
    CHECK_EQ(rtpsrv_chan_stats_ex(ch, &sx), 0);
    CHECK_EQ(sx.stun_answered, 2);
    CHECK_EQ(sx.base.rx_pkts, 3);
    CHECK_EQ(atomic_load(&n_rtp), 3);
    /* without the option a request is an ordinary datagram */
    struct rtpsrv_chan *plain = rtpsrv_create_channel(srv, &cfg, on_rtp, (void *)1, &err);
    CHECK(plain != NULL);
    cl = sizeof(cs);
    CHECK_EQ(rtpsrv_chan_local_addr(plain, &cs, &cl), 0);
    n = binding_request(m, tid, 0);
    CHECK_EQ(sendto(s, m, n, 0, (struct sockaddr *)&cs, cl), (ssize_t)n);
    CHECK(tu_wait_count(&n_rtp, 4, 5000));
    struct pollfd p = { s, POLLIN, 0 };
    CHECK_EQ(poll(&p, 1, 50), 0);      /* and nothing answers */
    CHECK_EQ(rtpsrv_chan_close(plain), 0);
    CHECK_EQ(rtpsrv_chan_close(ch), 0);
    close(s);
}

int main(void) {
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);

    /* rtcp-mux */
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };
    struct rtpsrv_chan_opts o;
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.rtcp_in = on_rtcp;
    o.rtcp_arg = (void *)2;
    struct rtpsrv_chan *ch = rtpsrv_create_channel_opts(srv, &cfg, &o, on_rtp, (void *)1, &err);
    CHECK(ch != NULL);
    CHECK_EQ(rtpsrv_chan_set_target(ch, "127.0.0.1", tu_port_of(ch)), 0);
    int want_rtp = 0, want_rtcp = 0;
    for (int b1 = 0; b1 < 256; b1++) {
        unsigned char pkt[12] = { 0x80, (unsigned char)b1 };
        CHECK_EQ(rtpsrv_chan_send_pkt(ch, pkt, sizeof(pkt)), 0);
        if (b1 >= 192 && b1 <= 223) want_rtcp++; else want_rtp++;
        if (b1 % 16 == 15)
            CHECK_EQ(rtpsrv_chan_drain(ch, 5000000000ull), 0);
    }
    /* not version 2: RTP side whatever the second byte */
    unsigned char v1[4] = { 0x40, 200, 0, 1 };
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, v1, sizeof(v1)), 0);
    want_rtp++;
    CHECK(tu_wait_count(&n_rtp, want_rtp, 5000));
    CHECK(tu_wait_count(&n_rtcp, want_rtcp, 5000));
    CHECK_EQ(atomic_load(&n_rtp), want_rtp);
    CHECK_EQ(atomic_load(&n_rtcp), 32);
    CHECK(!atomic_load(&bad));
    struct rtpsrv_chan_stats_ex sx;
    memset(&sx, 0, sizeof(sx));
    sx.size = sizeof(sx);
    CHECK_EQ(rtpsrv_chan_stats_ex(ch, &sx), 0);
    CHECK_EQ(sx.rx_rtcp, 32);
    CHECK_EQ(sx.base.rx_pkts, 257);
    CHECK_EQ(rtpsrv_chan_close(ch), 0);

    stun_round(srv, 0);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 l6;
    memset(&l6, 0, sizeof(l6));
    l6.sin6_family = AF_INET6;
    l6.sin6_addr = in6addr_loopback;
    if (s6 >= 0 && bind(s6, (struct sockaddr *)&l6, sizeof(l6)) == 0) {
        close(s6);
        stun_round(srv, 1);
    } else {
        printf("no IPv6 loopback here: the IPv6 STUN round is skipped\n");
        if (s6 >= 0) close(s6);
    }
    CHECK(!atomic_load(&bad));
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_mux_stun");
}
