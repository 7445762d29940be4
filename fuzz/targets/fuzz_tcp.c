/*
 * libFuzzer target: the RFC 4571 deframer of TCP channels (rtpserver.h,
 * rtpsrv_create_tcp_channel) through the public ABI. One server and
 * LISTEN channel live for the whole run; each input opens a fresh
 * connection and is read as records [chunk u8][bytes...]: `chunk % 32 + 1`
 * bytes of stream written at once (TCP_NODELAY, so pieces arrive split
 * arbitrarily). A C model deframes the same stream; every complete frame
 * must reach pkt_in exactly once, intact, in order, and nothing else; the
 * connection's end (the harness resets it, see below) must be reported
 * as RTPSRV_EV_RESET (or RTPSRV_EV_CLOSED, should the FIN race ahead).
 * A trailing partial frame is simply never delivered.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_net.h"

#include "rtpserver.h"

static struct rtpsrv *srv;
static struct rtpsrv_chan *ch;
static struct sockaddr_in chan_addr;
static uint8_t stream[8192];
static size_t stream_len;
static size_t want_off[8192], want_len[8192];
static atomic_int arrivals, closed, connected, bad;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len, const struct sockaddr *from,
                   socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)from; (void)fromlen; (void)rtime_ns;
    int i = atomic_load(&arrivals);
    if (i >= 8192 || want_len[i] != len || (len && memcmp(stream + want_off[i], pkt, len) != 0))
        atomic_store(&bad, 1);
    atomic_fetch_add_explicit(&arrivals, 1, memory_order_release);
}

static void on_event(void *arg, int event, int error, const struct sockaddr *peer,
                     socklen_t peerlen, uint64_t rtime_ns) {
    (void)arg; (void)error; (void)peer; (void)peerlen; (void)rtime_ns;
    if (event == RTPSRV_EV_CONNECTED)
        atomic_fetch_add(&connected, 1);
    else if (event == RTPSRV_EV_RESET || event == RTPSRV_EV_CLOSED)
        atomic_fetch_add(&closed, 1);
    else
        atomic_store(&bad, 1);
}

static void teardown(void) {
    rtpsrv_chan_close(ch);
    rtpsrv_dtor(srv);
}

static void setup(void) {
    int err;
    srv = rtpsrv_ctor(0, &err);
    FZ_CHECK(srv != NULL);
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 0 };
    struct rtpsrv_tcp_cfg t;
    memset(&t, 0, sizeof(t));
    t.size = sizeof(t);
    t.mode = RTPSRV_TCP_LISTEN;
    t.on_event = on_event;
    ch = rtpsrv_create_tcp_channel(srv, &cfg, &t, on_pkt, NULL, &err);
    FZ_CHECK(ch != NULL);
    fz_chan_addr(ch, &chan_addr);
    atexit(teardown);
}

static void wait_for(atomic_int *a, int n) {
    for (int waited = 0; atomic_load_explicit(a, memory_order_acquire) < n; waited++) {
        FZ_CHECK(waited < 800000);      /* 8 s: the machine is shared */
        fz_sleep_us(10);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (srv == NULL)
        setup();
    /* the stream: the input's bytes after each chunk byte */
    struct fz_in in = { data, size };
    size_t chunks[4096];
    int nchunks = 0;
    stream_len = 0;
    while (fz_left(&in) && nchunks < 4096) {
        size_t k = fz_u8(&in) % 32 + 1;
        const uint8_t *b;
        k = fz_bytes(&in, k, &b);
        if (stream_len + k > sizeof(stream))
            break;
        memcpy(stream + stream_len, b, k);
        stream_len += k;
        chunks[nchunks++] = k;
    }
    /* the model */
    int frames = 0;
    for (size_t off = 0; off + 2 <= stream_len;) {
        size_t len = (size_t)(stream[off] << 8 | stream[off + 1]);
        if (off + 2 + len > stream_len)
            break;
        want_off[frames] = off + 2;
        want_len[frames] = len;
        frames++;
        off += 2 + len;
    }
    atomic_store(&arrivals, 0);
    int up = atomic_load(&connected), down = atomic_load(&closed);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    FZ_CHECK(s >= 0);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A source address of its own per input (127.0.0.0/8 is all loopback):
     * a connection the server closed first leaves the server's end in
     * TIME_WAIT for a minute, holding that 4-tuple, and tens of thousands
     * of inputs a minute would otherwise run the ephemeral ports out. */
    static uint32_t nth;
    struct sockaddr_in src;
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002u + (nth++ % 0xfffff0u));
    FZ_CHECK(bind(s, (struct sockaddr *)&src, sizeof(src)) == 0);
    if (fz_connect(s, (struct sockaddr *)&chan_addr, sizeof(chan_addr)) != 0) {
        fprintf(stderr, "fuzz_tcp: connect: %s\n", strerror(errno));
        FZ_CHECK(!"connect to the listening channel failed");
    }
    wait_for(&connected, up + 1);
    size_t off = 0;
    for (int i = 0; i < nchunks; i++) {
        FZ_CHECK(send(s, stream + off, chunks[i], MSG_NOSIGNAL) == (ssize_t)chunks[i]);
        off += chunks[i];
    }
    wait_for(&arrivals, frames);
    /* Abortive close (RST): an orderly one leaves this end in TIME_WAIT for
     * a minute, and at tens of thousands of inputs a minute the ephemeral
     * ports run out (connect fails with EADDRNOTAVAIL). Every complete
     * frame has arrived by now, so the reset loses nothing the model
     * expects. */
    struct linger abort_close = { 1, 0 };
    setsockopt(s, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
    close(s);
    wait_for(&closed, down + 1);
    FZ_CHECK(atomic_load(&arrivals) == frames);
    FZ_CHECK(!atomic_load(&bad));
    return 0;
}
