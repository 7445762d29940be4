/*
 * libFuzzer target: the server's inline STUN answering (rtpserver.h,
 * rtpsrv_chan_opts.stun) and so its RFC 5389 parser, through the public
 * ABI. One server and STUN-enabled channel live for the whole run; each
 * input is a list of records [flags u8][len u16][len bytes]; flag bit 0
 * forces the STUN header (top bits clear, magic cookie, length field),
 * bit 1 appends a correct FINGERPRINT, so that the fuzzer reaches deep
 * attribute walks quickly. A plain UDP socket sends each datagram to the
 * channel and the harness checks it against an independent C model of a
 * well-formed Binding Request: a request is answered (never delivered)
 * with a Binding Success Response carrying the transaction id and the
 * sender's XOR-MAPPED-ADDRESS (and FINGERPRINT iff the request had one);
 * anything else reaches pkt_in once, intact, and is not answered.
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
static int sock;
static struct sockaddr_in chan_addr, sock_addr;
static uint8_t got[1024];
static size_t got_len;
static atomic_int arrivals;
static uint64_t answered;

static void on_pkt(void *arg, const unsigned char *pkt, size_t len, const struct sockaddr *from,
                   socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)from; (void)fromlen; (void)rtime_ns;
    if (len <= sizeof(got))
        memcpy(got, pkt, len);
    got_len = len;
    atomic_fetch_add_explicit(&arrivals, 1, memory_order_release);
}

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
    struct rtpsrv_chan_opts o;
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.stun = 1;
    ch = rtpsrv_create_channel_opts(srv, &cfg, &o, on_pkt, NULL, &err);
    FZ_CHECK(ch != NULL);
    fz_chan_addr(ch, &chan_addr);
    sock = fz_udp_peer(&sock_addr);
    atexit(teardown);
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static const uint8_t MAGIC[4] = { 0x21, 0x12, 0xa4, 0x42 };

/* The model: is `m` a well-formed Binding Request? (*fp: with FINGERPRINT) */
static int is_binding_request(const uint8_t *m, size_t n, int *fp) {
    *fp = 0;
    if (n < 20 || (m[0] & 0xc0) || memcmp(m + 4, MAGIC, 4) != 0)
        return 0;
    size_t len = (size_t)(m[2] << 8 | m[3]);
    if (len % 4 || 20 + len != n || (m[0] << 8 | m[1]) != 0x0001)
        return 0;
    for (size_t off = 20; off < n;) {
        if (n - off < 4)
            return 0;
        unsigned t = (unsigned)(m[off] << 8 | m[off + 1]);
        size_t alen = (size_t)(m[off + 2] << 8 | m[off + 3]), padded = (alen + 3) & ~(size_t)3;
        if (n - off - 4 < padded)
            return 0;
        if (t == 0x8028) {
            if (alen != 4 || off + 8 != n)
                return 0;
            uint32_t want = crc32(m, off) ^ 0x5354554eu;
            uint32_t have = (uint32_t)m[off + 4] << 24 | (uint32_t)m[off + 5] << 16 |
                            (uint32_t)m[off + 6] << 8 | m[off + 7];
            if (want != have)
                return 0;
            *fp = 1;
        }
        off += 4 + padded;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (srv == NULL)
        setup();
    struct fz_in in = { data, size };
    static uint8_t dgram[600], resp[256];
    for (int k = 0; fz_left(&in) && k < 16; k++) {
        uint8_t flags = fz_u8(&in);
        size_t len = fz_u16(&in) % 512;
        const uint8_t *b;
        len = fz_bytes(&in, len, &b);
        memcpy(dgram, b, len);
        if ((flags & 1) && len >= 20) {
            dgram[0] &= 0x3f;
            memcpy(dgram + 4, MAGIC, 4);
            size_t l = (len - 20) & ~(size_t)3;
            len = 20 + l;
            dgram[2] = (uint8_t)(l >> 8);
            dgram[3] = (uint8_t)l;
        }
        if ((flags & 2) && len >= 20 && (len - 20) % 4 == 0) {
            size_t l = len - 20 + 8;
            dgram[2] = (uint8_t)(l >> 8);
            dgram[3] = (uint8_t)l;
            uint32_t c = crc32(dgram, len) ^ 0x5354554eu;
            uint8_t fp[8] = { 0x80, 0x28, 0, 4, (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c };
            memcpy(dgram + len, fp, 8);
            len += 8;
        }
        int fp;
        int request = is_binding_request(dgram, len, &fp);
        int before = atomic_load_explicit(&arrivals, memory_order_acquire);
        FZ_CHECK(sendto(sock, dgram, len, 0, (struct sockaddr *)&chan_addr, sizeof(chan_addr)) == (ssize_t)len);
        if (request) {
            if (fz_poll_in(sock, 8000) != 1) {     /* generous: the machine is shared */
                struct rtpsrv_chan_stats_ex st;
                memset(&st, 0, sizeof(st));
                st.size = sizeof(st);
                rtpsrv_chan_stats_ex(ch, &st);
                fprintf(stderr, "no answer to a %zu-byte request: answered %llu (expected %llu), "
                        "rx_pkts %llu (arrivals %d), tx_errors %llu\n", len,
                        (unsigned long long)st.stun_answered, (unsigned long long)answered + 1,
                        (unsigned long long)st.base.rx_pkts, atomic_load(&arrivals),
                        (unsigned long long)st.base.tx_errors);
                FZ_CHECK(!"a Binding Request answered within 8 s");
            }
            ssize_t r = recv(sock, resp, sizeof(resp), 0);
            size_t want = 20 + 12 + (fp ? 8 : 0);
            FZ_CHECK(r == (ssize_t)want);
            FZ_CHECK(resp[0] == 0x01 && resp[1] == 0x01);
            FZ_CHECK((size_t)(resp[2] << 8 | resp[3]) == want - 20);
            FZ_CHECK(memcmp(resp + 4, MAGIC, 4) == 0);
            FZ_CHECK(memcmp(resp + 8, dgram + 8, 12) == 0);
            FZ_CHECK(resp[20] == 0x00 && resp[21] == 0x20 && resp[22] == 0 && resp[23] == 8);
            FZ_CHECK(resp[25] == 1);
            uint16_t xport = (uint16_t)((resp[26] << 8 | resp[27]) ^ 0x2112);
            FZ_CHECK(xport == ntohs(sock_addr.sin_port));
            uint8_t ip[4];
            for (int i = 0; i < 4; i++)
                ip[i] = resp[28 + i] ^ MAGIC[i];
            FZ_CHECK(memcmp(ip, &sock_addr.sin_addr, 4) == 0);
            if (fp) {
                uint32_t c = crc32(resp, 32) ^ 0x5354554eu;
                FZ_CHECK(resp[32] == 0x80 && resp[33] == 0x28);
                FZ_CHECK(resp[36] == (uint8_t)(c >> 24) && resp[39] == (uint8_t)c);
            }
            answered++;
            FZ_CHECK(atomic_load_explicit(&arrivals, memory_order_acquire) == before);
        } else {
            int waited = 0;
            while (atomic_load_explicit(&arrivals, memory_order_acquire) == before) {
                FZ_CHECK(waited++ < 800000);       /* 8 s */
                fz_sleep_us(10);
            }
            FZ_CHECK(atomic_load_explicit(&arrivals, memory_order_acquire) == before + 1);
            FZ_CHECK(got_len == len && memcmp(got, dgram, len) == 0);
            FZ_CHECK(fz_poll_in(sock, 0) == 0);     /* not answered */
        }
    }
    struct rtpsrv_chan_stats_ex st;
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    FZ_CHECK(rtpsrv_chan_stats_ex(ch, &st) == 0);
    FZ_CHECK(st.stun_answered == answered);
    FZ_CHECK(st.base.rx_pkts == (uint64_t)atomic_load(&arrivals));
    return 0;
}
