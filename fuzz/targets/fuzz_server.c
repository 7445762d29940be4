/*
 * libFuzzer target: the I/O thread's receive and send paths (rtpserver.h).
 * One server and channel live for the whole run; each input is cut into
 * datagrams of arbitrary content and length (0..2047 bytes) that a plain
 * UDP socket sends to the channel over loopback. The channel's pkt_in
 * checks nothing itself: it copies the datagram out and echoes it back with
 * rtpsrv_chan_send_pkt() from inside the callback. The harness checks that
 * every datagram arrives once, intact, from the right address, with
 * non-decreasing rtime_ns, and that the echo comes back intact.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_net.h"

#include "rtpserver.h"

static struct rtpsrv *srv;
static struct rtpsrv_chan *ch;
static int sock;                       /* the peer: a plain UDP socket */
static struct sockaddr_in chan_addr, sock_addr;
static uint8_t got[2048];
static size_t got_len;
static struct sockaddr_storage got_from;
static uint64_t last_rtime;
static atomic_int arrivals;
static atomic_int bad_rtime;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len, const struct sockaddr *from,
                   socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg;
    if (len <= sizeof(got))
        memcpy(got, pkt, len);
    got_len = len;
    memcpy(&got_from, from, fromlen < sizeof(got_from) ? fromlen : sizeof(got_from));
    if (rtime_ns < last_rtime)
        atomic_store(&bad_rtime, 1);
    last_rtime = rtime_ns;
    (void)rtpsrv_chan_send_pkt(ch, pkt, len);      /* echo from inside pkt_in */
    atomic_fetch_add_explicit(&arrivals, 1, memory_order_release);
}

/* At exit: close everything, so leak checkers see a clean process. */
static void teardown(void) {
    rtpsrv_chan_close(ch);
    rtpsrv_dtor(srv);
    close(sock);
}

static void setup(void) {
    int err;
    srv = rtpsrv_ctor(0, &err);
    FZ_CHECK(srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 64 };
    ch = rtpsrv_create_channel(srv, &cfg, on_pkt, NULL, &err);
    FZ_CHECK(ch != NULL);
    fz_chan_addr(ch, &chan_addr);
    sock = fz_udp_peer(&sock_addr);
    FZ_CHECK(rtpsrv_chan_set_target(ch, "127.0.0.1", ntohs(sock_addr.sin_port)) == 0);
    atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (srv == NULL)
        setup();
    struct fz_in in = { data, size };
    static uint8_t dgram[2048], echo[2048];
    for (int n = 0; fz_left(&in) && n < 16; n++) {
        size_t len = fz_u16(&in) % sizeof(dgram);
        for (size_t i = 0; i < len; i++)
            dgram[i] = fz_u8(&in);
        int before = atomic_load_explicit(&arrivals, memory_order_acquire);
        FZ_CHECK(sendto(sock, dgram, len, 0, (struct sockaddr *)&chan_addr, sizeof(chan_addr)) == (ssize_t)len);
        /* the datagram reaches pkt_in once (loopback does not drop one at a time) */
        int waited = 0;
        while (atomic_load_explicit(&arrivals, memory_order_acquire) == before) {
            FZ_CHECK(waited++ < 200000);       /* 2 s */
            fz_sleep_us(10);
        }
        FZ_CHECK(atomic_load_explicit(&arrivals, memory_order_acquire) == before + 1);
        FZ_CHECK(got_len == len && memcmp(got, dgram, len) == 0);
        const struct sockaddr_in *from = (const struct sockaddr_in *)&got_from;
        FZ_CHECK(from->sin_family == AF_INET && from->sin_port == sock_addr.sin_port);
        FZ_CHECK(!atomic_load(&bad_rtime));
        /* and the echo comes back intact */
        FZ_CHECK(fz_poll_in(sock, 2000) == 1);
        ssize_t r = recv(sock, echo, sizeof(echo), 0);
        FZ_CHECK(r == (ssize_t)len && memcmp(echo, dgram, len) == 0);
    }
    struct rtpsrv_chan_stats st;
    FZ_CHECK(rtpsrv_chan_stats(ch, &st) == 0);
    FZ_CHECK(st.rx_pkts == (uint64_t)atomic_load(&arrivals) && st.tx_errors == 0);
    return 0;
}
