/*
 * rtpserver.h lifetime rules: close is synchronous and releases `arg`
 * (it is freed right after close: any later use shows under ASan/valgrind);
 * close from inside the channel's own pkt_in; close from another thread
 * under traffic; shutdown is idempotent, stops callbacks and makes close
 * local; dtor before or after the channels' close.
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

struct ctx {
    atomic_int calls;
    struct rtpsrv_chan *_Atomic self_close; /* closed from inside pkt_in */
    atomic_int close_rc;
    atomic_int rebind;      /* after closing itself: could the port be bound again? */
    uint16_t port;
    char pad[64];
};

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    struct ctx *c = arg;
    atomic_fetch_add(&c->calls, 1);
    memset(c->pad, 0x5a, sizeof(c->pad)); /* touches arg: caught if freed */
    struct rtpsrv_chan *me = atomic_exchange(&c->self_close, NULL);
    if (me != NULL) {
        atomic_store(&c->close_rc, rtpsrv_chan_close(me));
        /* the socket is closed when close returns, even from in here */
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(c->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        atomic_store(&c->rebind, bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 ? 1 : -1);
        close(s);
    }
}

static struct ctx *new_ctx(void) {
    struct ctx *c = calloc(1, sizeof(*c));
    CHECK(c != NULL);
    atomic_store(&c->close_rc, 12345);
    return c;
}

static int wait_calls(struct ctx *c, int want) {
    uint64_t end = tu_now_ns() + 10000000000ull;
    while (tu_now_ns() < end && atomic_load(&c->calls) < want) usleep(1000);
    return atomic_load(&c->calls) >= want;
}

static int raw_sock;

static void poke(uint16_t port, int n) {
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int i = 0; i < n; i++)
        CHECK_EQ(sendto(raw_sock, "poke", 4, 0, (struct sockaddr *)&dst, sizeof(dst)), 4);
}

static const struct rtpsrv_chan_cfg lo = { "127.0.0.1", 0, 4, 0 };

/* Sends `n` packets through the channel to itself; returns the port. */
static uint16_t loop_self(struct rtpsrv_chan *ch) {
    uint16_t p = tu_port_of(ch);
    CHECK_EQ(rtpsrv_chan_set_target(ch, "127.0.0.1", p), 0);
    return p;
}

static void test_close_releases_arg(struct rtpsrv *srv) {
    struct ctx *c = new_ctx();
    int err;
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
    CHECK(ch != NULL);
    uint16_t port = tu_port_of(ch);
    poke(port, 3);
    CHECK(wait_calls(c, 3));
    CHECK_EQ(rtpsrv_chan_close(ch), 0);
    free(c); /* never used again */
    poke(port, 3); /* nobody there (or a later channel's port: no harm) */
    usleep(50000);
}

static void test_close_inside_callback(struct rtpsrv *srv) {
    struct ctx *c = new_ctx();
    int err;
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
    CHECK(ch != NULL);
    uint16_t port = tu_port_of(ch);
    c->port = port;
    atomic_store(&c->self_close, ch);
    /* from a plain socket: the handle is gone once pkt_in closed it */
    poke(port, 8);
    CHECK(wait_calls(c, 1));
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (atomic_load(&c->close_rc) == 12345 && tu_now_ns() < end) usleep(1000);
    CHECK_EQ(atomic_load(&c->close_rc), 0);
    CHECK_EQ(atomic_load(&c->rebind), 1);
    usleep(50000);
    /* the other 7 datagrams were in the socket: never delivered */
    CHECK_EQ(atomic_load(&c->calls), 1);
    poke(port, 2);
    usleep(30000);
    CHECK_EQ(atomic_load(&c->calls), 1);
    free(c);
}

struct flood { struct rtpsrv_chan *ch; atomic_int stop; atomic_int sent; };

static void *flooder(void *arg) {
    struct flood *f = arg;
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(tu_port_of(f->ch)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    while (!atomic_load(&f->stop)) {
        sendto(s, "flood", 5, MSG_DONTWAIT, (struct sockaddr *)&dst, sizeof(dst));
        if ((atomic_fetch_add(&f->sent, 1) & 63) == 0) usleep(100);
    }
    close(s);
    return NULL;
}

static void test_close_from_other_thread_under_traffic(struct rtpsrv *srv) {
    int rounds = getenv("RTPSYNTH_UNDER_VALGRIND") ? 5 : 30;
    for (int r = 0; r < rounds; r++) {
        struct ctx *c = new_ctx();
        int err;
        struct flood f = { 0 };
        f.ch = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
        CHECK(f.ch != NULL);
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, flooder, &f), 0);
        CHECK(wait_calls(c, 5));
        CHECK_EQ(rtpsrv_chan_close(f.ch), 0);
        int after = atomic_load(&c->calls);
        memset(c, 0xee, sizeof(*c)); /* a late callback would see garbage */
        atomic_store(&c->calls, after);
        usleep(2000);
        CHECK_EQ(atomic_load(&c->calls), after);
        atomic_store(&f.stop, 1);
        pthread_join(th, NULL);
        free(c);
    }
}

static void test_shutdown_rules(void) {
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    struct ctx *c = new_ctx();
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
    struct rtpsrv_chan *ch2 = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
    CHECK(ch != NULL && ch2 != NULL);
    uint16_t port = loop_self(ch);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "a", 1), 0);
    CHECK(wait_calls(c, 1));
    rtpsrv_shutdown(srv);
    rtpsrv_shutdown(srv); /* idempotent */
    int calls = atomic_load(&c->calls);
    poke(port, 3);
    usleep(50000);
    CHECK_EQ(atomic_load(&c->calls), calls); /* callbacks released */
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "a", 1), -ESHUTDOWN);
    CHECK(rtpsrv_create_channel(srv, &lo, on_pkt, c, &err) == NULL);
    CHECK_EQ(err, -ESHUTDOWN);
    CHECK_EQ(tu_port_of(ch), port); /* handles stay valid */
    struct rtpsrv_chan_stats st;
    CHECK_EQ(rtpsrv_chan_stats(ch, &st), 0);
    CHECK(st.rx_pkts >= 1);
    CHECK_EQ(rtpsrv_chan_close(ch), 0); /* local */
    rtpsrv_dtor(srv);                   /* dtor before the last close */
    CHECK_EQ(rtpsrv_chan_close(ch2), 0);
    free(c);
}

static void test_dtor_without_shutdown_then_close(void) {
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(1000, &err);
    CHECK(srv != NULL);
    struct ctx *c = new_ctx();
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &lo, on_pkt, c, &err);
    CHECK(ch != NULL);
    loop_self(ch);
    for (int i = 0; i < 10; i++) rtpsrv_chan_send_pkt(ch, "zz", 2);
    rtpsrv_dtor(srv); /* shuts down; ch still valid */
    int calls = atomic_load(&c->calls);
    usleep(20000);
    CHECK_EQ(atomic_load(&c->calls), calls);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "a", 1), -ESHUTDOWN);
    CHECK_EQ(rtpsrv_chan_close(ch), 0);
    free(c);
}

/* shutdown and dtor from inside pkt_in must not deadlock */
struct sd { struct rtpsrv *_Atomic srv; atomic_int done; };
static void on_pkt_shutdown(void *arg, const unsigned char *pkt, size_t len,
                            const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    struct sd *s = arg;
    struct rtpsrv *srv = atomic_exchange(&s->srv, NULL);
    if (srv) {
        rtpsrv_shutdown(srv);
        rtpsrv_dtor(srv);
        atomic_store(&s->done, 1);
    }
}

static void test_dtor_inside_callback(void) {
    int err;
    struct sd s;
    atomic_init(&s.srv, NULL);
    atomic_init(&s.done, 0);
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    struct rtpsrv_chan *ch = rtpsrv_create_channel(srv, &lo, on_pkt_shutdown, &s, &err);
    CHECK(ch != NULL);
    loop_self(ch);
    atomic_store(&s.srv, srv);
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "q", 1), 0);
    uint64_t end = tu_now_ns() + 5000000000ull;
    while (!atomic_load(&s.done) && tu_now_ns() < end) usleep(1000);
    CHECK_EQ(atomic_load(&s.done), 1);
    usleep(20000); /* let the detached worker finish */
    CHECK_EQ(rtpsrv_chan_send_pkt(ch, "q", 1), -ESHUTDOWN);
    CHECK_EQ(rtpsrv_chan_close(ch), 0);
}

int main(void) {
    raw_sock = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(raw_sock >= 0);
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);
    test_close_releases_arg(srv);
    test_close_inside_callback(srv);
    test_close_from_other_thread_under_traffic(srv);
    rtpsrv_dtor(srv);
    test_shutdown_rules();
    test_dtor_without_shutdown_then_close();
    test_dtor_inside_callback();
    close(raw_sock);
    TEST_DONE("test_server_lifecycle");
}
