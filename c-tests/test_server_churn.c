/*
 * rtpserver.h: 1000 channels opened and closed in a loop (one at a time and
 * in batches, with traffic) leave no descriptor behind and no growing heap;
 * a server created and destroyed repeatedly leaks nothing either (valgrind
 * and ASan check the rest).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void churn(struct rtpsrv *srv, int total, int batch) {
    static struct rtpsrv_chan *chans[100];
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 0 };
    for (int done = 0; done < total; done += batch) {
        for (int i = 0; i < batch; i++) {
            int err;
            chans[i] = rtpsrv_create_channel(srv, &cfg, on_pkt, NULL, &err);
            CHECK(chans[i] != NULL);
            if (i % 4 == 0) {
                CHECK_EQ(rtpsrv_chan_set_target(chans[i], "127.0.0.1", tu_port_of(chans[i])), 0);
                CHECK_EQ(rtpsrv_chan_send_pkt(chans[i], "churn", 5), 0);
            }
        }
        for (int i = 0; i < batch; i++) CHECK_EQ(rtpsrv_chan_close(chans[i]), 0);
    }
}

int main(void) {
    int vg = getenv("RTPSYNTH_UNDER_VALGRIND") != NULL;
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    churn(srv, 100, 10); /* warm-up: allocator and table reach steady state */
    int fds0 = open_fds();
    struct mallinfo2 m0 = mallinfo2();
    churn(srv, 1000, 1);
    churn(srv, 1000, 100);
    int fds1 = open_fds();
    struct mallinfo2 m1 = mallinfo2();
    CHECK_EQ(fds1, fds0);
    if (!vg) {
        long growth = (long)m1.uordblks - (long)m0.uordblks;
        printf("heap in use: %zu -> %zu bytes\n", m0.uordblks, m1.uordblks);
        CHECK(growth < 256 * 1024);
    }
    CHECK(atomic_load(&got) >= 0);
    rtpsrv_dtor(srv);

    /* servers come and go without leaking threads or descriptors */
    int fds2 = open_fds();
    for (int i = 0; i < (vg ? 5 : 50); i++) {
        struct rtpsrv *s = rtpsrv_ctor((unsigned)i, &err);
        CHECK(s != NULL);
        struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 0, 0 };
        struct rtpsrv_chan *ch = rtpsrv_create_channel(s, &cfg, on_pkt, NULL, &err);
        CHECK(ch != NULL);
        if (i & 1) { rtpsrv_dtor(s); CHECK_EQ(rtpsrv_chan_close(ch), 0); }
        else { CHECK_EQ(rtpsrv_chan_close(ch), 0); rtpsrv_dtor(s); }
    }
    CHECK_EQ(open_fds(), fds2);
    TEST_DONE("test_server_churn");
}
