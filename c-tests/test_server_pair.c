/*
 * rtpserver.h round 2: RTP/RTCP port pairs. The RTP port is even, RTCP is
 * the odd port above it, both in the range; pairs in use by another
 * socket (this process or another: the kernel refuses the bind) are
 * skipped; a full range is -EADDRINUSE; the pair exchanges traffic.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_testutil.h"

static atomic_int rtp_got, rtcp_got;

static void on_rtp(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    atomic_fetch_add(&rtp_got, 1);
}

static void on_rtcp(void *arg, const unsigned char *pkt, size_t len,
                    const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    atomic_fetch_add(&rtcp_got, 1);
}

static int hold(uint16_t port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* An even base with base..base+9 free right now, below the ephemeral
 * range (32768-60999 on Linux), so that no port-0 bind takes one. */
static uint16_t free_window(void) {
    for (unsigned i = 0; i < 2000; i++) {
        uint16_t b = (uint16_t)(10000 + 10 * ((getpid() + i * 7u) % 999));   /* 10000-19999; the Rust test uses 20000-31999 */
        int fds[10], ok = 1;
        for (int k = 0; k < 10; k++) {
            fds[k] = hold((uint16_t)(b + k));
            if (fds[k] < 0) ok = 0;
        }
        for (int k = 0; k < 10; k++)
            if (fds[k] >= 0) close(fds[k]);
        if (ok) return b;
    }
    CHECK(0);
    return 0;
}

int main(void) {
    uint16_t base = free_window();
    /* Another process holds base+4 (an RTP port) and base+7 (the RTCP
       port of base+6). Forked before the server exists, so the child
       holds nothing of the library (leak checkers look at it too). */
    int hold_fds[2][2];
    CHECK_EQ(pipe(hold_fds[0]), 0);
    CHECK_EQ(pipe(hold_fds[1]), 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        int a = hold((uint16_t)(base + 4)), b = hold((uint16_t)(base + 7));
        char ok = (a >= 0 && b >= 0) ? 'y' : 'n';
        if (write(hold_fds[0][1], &ok, 1) != 1) _exit(1);
        char c;
        if (read(hold_fds[1][0], &c, 1) < 0) _exit(1);   /* until the parent is done */
        _exit(0);
    }
    char ok;
    CHECK_EQ(read(hold_fds[0][0], &ok, 1), 1);
    CHECK_EQ(ok, 'y');

    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };

    struct rtpsrv_pair_cfg pc;
    memset(&pc, 0, sizeof(pc));
    pc.size = sizeof(pc);
    pc.port_min = (uint16_t)(base + 1);      /* odd start: the first pair is base+2 */
    pc.port_max = (uint16_t)(base + 9);
    pc.rtp_in = on_rtp;
    pc.rtcp_in = on_rtcp;
    struct rtpsrv_chan *rtp = (void *)1, *rtcp = (void *)1;

    /* bad arguments */
    CHECK_EQ(rtpsrv_create_pair(NULL, &cfg, &pc, &rtp, &rtcp), -EINVAL);
    CHECK_EQ(rtpsrv_create_pair(srv, NULL, &pc, &rtp, &rtcp), -EINVAL);
    CHECK(rtp == NULL && rtcp == NULL);
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, NULL, &rtp, &rtcp), -EINVAL);
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &pc, NULL, &rtcp), -EINVAL);
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &pc, &rtp, NULL), -EINVAL);
    struct rtpsrv_pair_cfg bad = pc;
    bad.port_min = bad.port_max = base;
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &bad, &rtp, &rtcp), -EINVAL);
    bad.port_min = (uint16_t)(base + 3); bad.port_max = (uint16_t)(base + 4);
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &bad, &rtp, &rtcp), -EINVAL);
    bad.port_min = 65535; bad.port_max = 65535;
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &bad, &rtp, &rtcp), -EINVAL);
    bad = pc;
    bad.size = 1;
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &bad, &rtp, &rtcp), -EINVAL);
    struct rtpsrv_chan_cfg bcfg = { "[127.0.0.1]", 0, 4, 0 };
    CHECK_EQ(rtpsrv_create_pair(srv, &bcfg, &pc, &rtp, &rtcp), -EINVAL);

    /* pairs in range: base+2, base+4 (held), base+6 (RTCP held), base+8 */
    struct rtpsrv_chan *pairs[2][2];
    uint16_t got[2];
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &pc, &pairs[i][0], &pairs[i][1]), 0);
        uint16_t p0 = tu_port_of(pairs[i][0]), p1 = tu_port_of(pairs[i][1]);
        CHECK_EQ(p0 % 2, 0);
        CHECK_EQ(p1, p0 + 1);
        CHECK(p0 >= pc.port_min && p1 <= pc.port_max);
        CHECK(p0 != base + 4 && p0 != base + 6);
        got[i] = p0;
    }
    CHECK(got[0] != got[1]);
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &pc, &rtp, &rtcp), -EADDRINUSE);
    CHECK(rtp == NULL && rtcp == NULL);
    /* the other process lets go: base+4 becomes available */
    CHECK_EQ(write(hold_fds[1][1], "x", 1), 1);
    int status;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* (base+6 is free again too: its RTCP port was the child's) */
    CHECK_EQ(rtpsrv_create_pair(srv, &cfg, &pc, &rtp, &rtcp), 0);
    CHECK(tu_port_of(rtp) == base + 4 || tu_port_of(rtp) == base + 6);
    CHECK_EQ(tu_port_of(rtcp), tu_port_of(rtp) + 1);

    /* traffic: RTP to RTP, RTCP to RTCP */
    CHECK_EQ(rtpsrv_chan_set_target(pairs[0][0], "127.0.0.1", tu_port_of(rtp)), 0);
    CHECK_EQ(rtpsrv_chan_set_target(pairs[0][1], "127.0.0.1", tu_port_of(rtcp)), 0);
    CHECK_EQ(rtpsrv_chan_send_pkt(pairs[0][0], "\x80\x00rtp", 5), 0);
    CHECK_EQ(rtpsrv_chan_send_pkt(pairs[0][1], "\x80\xc8rtcp", 6), 0);
    CHECK(tu_wait_count(&rtp_got, 1, 5000));
    CHECK(tu_wait_count(&rtcp_got, 1, 5000));

    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rtpsrv_chan_close(pairs[i][0]), 0);
        CHECK_EQ(rtpsrv_chan_close(pairs[i][1]), 0);
    }
    CHECK_EQ(rtpsrv_chan_close(rtp), 0);
    CHECK_EQ(rtpsrv_chan_close(rtcp), 0);
    rtpsrv_dtor(srv);
    for (int i = 0; i < 2; i++) {
        close(hold_fds[i][0]);
        close(hold_fds[i][1]);
    }
    TEST_DONE("test_server_pair");
}
