/*
 * libFuzzer target: the RFC 4733 payload parser and receiver (rtpevent.h).
 *
 * Payload: decode of any bytes never fails for 4 or more and re-encodes to
 * the same 4 bytes (reserved bit cleared); fewer is -EBADMSG.
 *
 * Receiver: fed crafted event packets (two SSRCs, few event codes and
 * timestamps so that duplicates, segments, reordering and SSRC changes
 * happen), raw junk (of the same two SSRCs: the receiver follows one source
 * and remembers the one before), polls with times going back and forth, flushes. Checks:
 * every call returns a documented value; an event (SSRC, timestamp) is
 * reported at most once; durations are what the packets can account for;
 * events taken plus overflow equal the events counted.
 */
#include "fuzz_common.h"

#include "rtpevent.h"

#define PT 101
#define MAXREP 4096

struct key {
    uint32_t ssrc, ts;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fz_in in = {data, size};

    /* payload round trip on the first bytes */
    const uint8_t *raw;
    size_t k = fz_bytes(&in, fz_u8(&in) % 8, &raw);
    struct rtpev_payload pl;
    int r = rtpev_payload_decode(raw, k, &pl);
    if (k < 4) {
        FZ_CHECK(r == -EBADMSG);
    } else {
        FZ_CHECK(r == 0);
        FZ_CHECK(pl.volume <= 63 && pl.end <= 1);
        uint8_t enc[4];
        FZ_CHECK(rtpev_payload_encode(&pl, enc, 4) == 4);
        FZ_CHECK(enc[0] == raw[0] && enc[1] == (raw[1] & 0xbf) && enc[2] == raw[2] && enc[3] == raw[3]);
    }

    uint64_t timeout = (uint64_t)(fz_u8(&in) % 4) * 100000000ULL; /* 0 = default */
    int err = 1;
    struct rtpev_rx *rx = rtpev_rx_ctor(PT, timeout, &err);
    FZ_CHECK(rx != NULL && err == 0);
    static struct key seen[MAXREP];
    int nseen = 0, taken = 0, pushed = 0;
    uint64_t now = 1000000000ULL;
    int ops = 0;
    while (fz_left(&in) && ops++ < 3000) {
        uint8_t op = fz_u8(&in);
        int64_t dt = (int64_t)(fz_u8(&in)) * 2000000LL - 64000000LL; /* -64..+446 ms */
        if ((int64_t)now + dt > 0)
            now = (uint64_t)((int64_t)now + dt);
        switch (op % 5) {
        case 0:
        case 1:
        case 2: {
            uint8_t p[16];
            uint32_t ssrc = (op & 0x08) ? 2 : 1;
            uint32_t ts = (uint32_t)(fz_u8(&in) % 8) * 160u;
            if (op & 0x10)
                ts += 0xffffu * (uint32_t)(fz_u8(&in) % 3); /* a later segment */
            uint16_t seq = fz_u16(&in);
            p[0] = 0x80;
            p[1] = (uint8_t)((op & 0x80) | PT);
            p[2] = (uint8_t)(seq >> 8);
            p[3] = (uint8_t)seq;
            p[4] = (uint8_t)(ts >> 24);
            p[5] = (uint8_t)(ts >> 16);
            p[6] = (uint8_t)(ts >> 8);
            p[7] = (uint8_t)ts;
            p[8] = p[9] = p[10] = 0;
            p[11] = (uint8_t)ssrc;
            p[12] = fz_u8(&in) % 3;
            p[13] = fz_u8(&in);
            uint16_t dur = (op & 0x20) ? 0xffff : fz_u16(&in);
            p[14] = (uint8_t)(dur >> 8);
            p[15] = (uint8_t)dur;
            r = rtpev_rx_push(rx, p, 16, now);
            FZ_CHECK(r >= RTPEV_PKT_NEW && r <= RTPEV_PKT_DUPLICATE);
            pushed++;
            break;
        }
        case 3: {
            /* junk: any bytes, any length (exact allocation for ASan) */
            size_t n = fz_bytes(&in, fz_u8(&in) % 40, &raw);
            uint8_t *b = malloc(n ? n : 1);
            FZ_CHECK(b != NULL);
            memcpy(b, raw, n);
            if (n >= 12) {
                /* keep to the two sources (a third one is out of scope) and
                 * to timestamps within 2^18 of each other (RTP's serial
                 * order is only defined within 2^31) */
                b[8] = b[9] = b[10] = 0;
                b[11] = 1 + (b[11] & 1);
                b[4] = 0;
                b[5] &= 3;
            }
            r = rtpev_rx_push(rx, n ? b : NULL, n, now);
            FZ_CHECK(r >= RTPEV_PKT_IGNORED && r <= RTPEV_PKT_DUPLICATE);
            free(b);
            pushed++;
            break;
        }
        default:
            r = (op & 0x40) ? rtpev_rx_flush(rx) : rtpev_rx_poll(rx, now);
            FZ_CHECK(r >= 0 && r <= 64);
            break;
        }
        struct rtpev_event e;
        while ((r = rtpev_rx_get(rx, &e)) == 1) {
            taken++;
            FZ_CHECK(e.ssrc == 1 || e.ssrc == 2);
            FZ_CHECK(e.digit == rtpev_dtmf_char(e.event));
            FZ_CHECK(e.end_reason >= RTPEV_END_EBIT && e.end_reason <= RTPEV_END_FLUSH);
            FZ_CHECK(e.duration <= 17ULL * 0xffff + 0xffff);
            for (int i = 0; i < nseen; i++)
                FZ_CHECK(!(seen[i].ssrc == e.ssrc && seen[i].ts == e.ts));
            if (nseen < MAXREP)
                seen[nseen++] = (struct key){e.ssrc, e.ts};
        }
        FZ_CHECK(r == 0);
    }
    FZ_CHECK(rtpev_rx_flush(rx) >= 0);
    struct rtpev_event e;
    while (rtpev_rx_get(rx, &e) == 1)
        taken++;
    struct rtpev_rx_stats st;
    FZ_CHECK(rtpev_rx_stats(rx, &st) == 0);
    FZ_CHECK(st.packets == (uint64_t)pushed);
    FZ_CHECK(st.events == (uint64_t)taken + st.overflow);
    rtpev_rx_dtor(rx);
    return 0;
}
