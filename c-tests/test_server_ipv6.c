/*
 * rtpserver.h address families: bind "::1" with family 6 and auto, "::"
 * (wildcard) with family 6, NULL host with family 4 and 6; local_addr
 * reports the family and real port; packets flow over IPv6 loopback and
 * from an IPv6 channel to an IPv4 one (IPv4-mapped). Skips the IPv6 parts
 * (still checking IPv4) when the machine has no IPv6 loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"
#include "testutil.h"

struct rx { atomic_int n; atomic_int fam; char last[16]; };

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)fromlen; (void)rtime_ns;
    struct rx *r = arg;
    if (len < sizeof(r->last)) { memcpy(r->last, pkt, len); r->last[len] = 0; }
    atomic_store(&r->fam, from->sa_family);
    atomic_fetch_add(&r->n, 1);
}

static int wait_n(struct rx *r, int want) {
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (atomic_load(&r->n) < want && tu_now_ns() < end) usleep(1000);
    return atomic_load(&r->n) >= want;
}

static uint16_t local(struct rtpsrv_chan *ch, int *fam) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    CHECK_EQ(rtpsrv_chan_local_addr(ch, &ss, &len), 0);
    *fam = ss.ss_family;
    if (ss.ss_family == AF_INET6) {
        CHECK_EQ(len, sizeof(struct sockaddr_in6));
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    CHECK_EQ(len, sizeof(struct sockaddr_in));
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int have_ipv6(void) {
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s < 0) return 0;
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

int main(void) {
    int err, fam;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    static struct rx r4, r6, rw, rm;

    /* NULL host, family 4: 0.0.0.0, reachable on 127.0.0.1 */
    struct rtpsrv_chan_cfg c4 = { NULL, 0, 4, 0 };
    struct rtpsrv_chan *ch4 = rtpsrv_create_channel(srv, &c4, on_pkt, &r4, &err);
    CHECK(ch4 != NULL);
    uint16_t p4 = local(ch4, &fam);
    CHECK_EQ(fam, AF_INET);
    CHECK_EQ(rtpsrv_chan_set_target(ch4, "127.0.0.1", p4), 0);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch4, "v4", 2), 0);
    CHECK(wait_n(&r4, 1));
    CHECK(strcmp(r4.last, "v4") == 0);
    CHECK_EQ(atomic_load(&r4.fam), AF_INET);

    if (!have_ipv6()) {
        printf("IPv6 loopback unavailable: IPv6 checks skipped\n");
    } else {
        struct rtpsrv_chan_cfg c6 = { "::1", 0, 6, 0 };
        struct rtpsrv_chan *ch6 = rtpsrv_create_channel(srv, &c6, on_pkt, &r6, &err);
        CHECK(ch6 != NULL);
        uint16_t p6 = local(ch6, &fam);
        CHECK_EQ(fam, AF_INET6);
        CHECK_EQ(rtpsrv_chan_set_target(ch6, "::1", p6), 0);
        CHECK_EQ(rtpsrv_chan_send_pkt(ch6, "ipv6", 4), 0);
        CHECK(wait_n(&r6, 1));
        CHECK(strcmp(r6.last, "ipv6") == 0);
        CHECK_EQ(atomic_load(&r6.fam), AF_INET6);

        /* auto family from the host; bracketed form */
        struct rtpsrv_chan_cfg ca = { "[::1]", 0, 0, 0 };
        struct rtpsrv_chan *cha = rtpsrv_create_channel(srv, &ca, on_pkt, &r6, &err);
        CHECK(cha != NULL);
        local(cha, &fam);
        CHECK_EQ(fam, AF_INET6);
        CHECK_EQ(rtpsrv_chan_set_target(cha, "[::1]", p6), 0);
        CHECK_EQ(rtpsrv_chan_send_pkt(cha, "auto", 4), 0);
        CHECK(wait_n(&r6, 2));
        CHECK(strcmp(r6.last, "auto") == 0);

        /* wildcard "::" (NULL host, family 6) is dual-stack by default:
         * an IPv4 channel reaches it, and it can answer an IPv4 target */
        struct rtpsrv_chan_cfg cw = { NULL, 0, 6, 0 };
        struct rtpsrv_chan *chw = rtpsrv_create_channel(srv, &cw, on_pkt, &rw, &err);
        CHECK(chw != NULL);
        uint16_t pw = local(chw, &fam);
        CHECK_EQ(fam, AF_INET6);
        CHECK_EQ(rtpsrv_chan_set_target(chw, "::1", pw), 0);
        CHECK_EQ(rtpsrv_chan_send_pkt(chw, "wild", 4), 0);
        CHECK(wait_n(&rw, 1));
        CHECK_EQ(rtpsrv_chan_set_target(chw, "127.0.0.1", p4), 0);
        int n4 = atomic_load(&r4.n);
        CHECK_EQ(rtpsrv_chan_send_pkt(chw, "mapped", 6), 0);
        CHECK(wait_n(&r4, n4 + 1));
        CHECK(strcmp(r4.last, "mapped") == 0);

        /* bind "::" explicitly; family mismatch rejected */
        struct rtpsrv_chan_cfg cm = { "::", 0, 6, 0 };
        struct rtpsrv_chan *chm = rtpsrv_create_channel(srv, &cm, on_pkt, &rm, &err);
        CHECK(chm != NULL);
        struct rtpsrv_chan_cfg bad = { "::1", 0, 4, 0 };
        CHECK(rtpsrv_create_channel(srv, &bad, on_pkt, &rm, &err) == NULL);
        CHECK_EQ(err, -EINVAL);
        CHECK_EQ(rtpsrv_chan_close(chm), 0);
        CHECK_EQ(rtpsrv_chan_close(chw), 0);
        CHECK_EQ(rtpsrv_chan_close(cha), 0);
        CHECK_EQ(rtpsrv_chan_close(ch6), 0);
    }
    CHECK_EQ(rtpsrv_chan_close(ch4), 0);
    rtpsrv_dtor(srv);
    TEST_DONE("test_server_ipv6");
}
