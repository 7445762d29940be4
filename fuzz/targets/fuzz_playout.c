/*
 * libFuzzer target: the playout buffer (rtpplay.h) fed random datagrams and
 * times. Input: one config byte (codec, frame size, mode, PLC variant,
 * capacity), then operations until the input runs out: RTP packets built
 * from fuzzed header fields and payloads (small sequence / timestamp steps,
 * SSRC and payload-type switches, markers), raw datagrams, time steps
 * (forward, backward, huge) and gets. Checks that every result is a
 * documented value, that get writes exactly one frame into an exact-size
 * heap buffer (ASan sees any overrun), and that the counters add up.
 */
#include <errno.h>

#include "fuzz_common.h"

#include "rtpplay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fz_in in = { data, size };
    uint8_t cfgb = fz_u8(&in);
    static const int codecs[6] = { RTPPLAY_CODEC_PCMU, RTPPLAY_CODEC_PCMA, RTPPLAY_CODEC_L16,
                                   RTPPLAY_CODEC_L16, RTPPLAY_CODEC_OPUS, RTPPLAY_CODEC_OPUS };
    static const unsigned rates[6] = { 0, 8000, 8000, 16000, 48000, 16000 };
    static const unsigned frames[4] = { 20, 10, 1, 60 };
    struct rtpplay_cfg c;
    FZ_CHECK(rtpplay_cfg_init(&c, codecs[cfgb % 6]) == 0);
    c.rate = rates[cfgb % 6];
    c.frame_ms = frames[(cfgb >> 3) & 3];
    if (cfgb & 0x20) {
        c.mode = RTPPLAY_MODE_FIXED;
        c.fixed_ms = 40;
    } else {
        c.max_ms = 200;
    }
    c.flags = (cfgb & 0x40) ? RTPPLAY_F_PLC_STANDARD : 0;
    c.capacity = (cfgb & 0x80) ? 4 : 0;
    c.max_payload = (cfgb & 0x80) ? 400 : 0;
    int err = 1;
    struct rtpplay *p = rtpplay_ctor(&c, &err);
    FZ_CHECK(p != NULL && err == 0);
    int fl = rtpplay_frame_len(p);
    FZ_CHECK(fl > 0);
    int16_t *pcm = malloc(sizeof(int16_t) * (size_t)fl);
    FZ_CHECK(pcm != NULL);
    uint64_t now = 1000000000ULL;
    int backward = 0;
    uint16_t seq = 1000;
    uint32_t ts = 5000, ssrc = 0x11111111;
    int pt = (c.codec == RTPPLAY_CODEC_OPUS) ? 111 : (c.codec == RTPPLAY_CODEC_PCMA ? 8 : 0);
    for (int ops = 0; fz_left(&in) && ops < 256; ops++) {
        uint8_t op = fz_u8(&in);
        switch (op & 3) {
        case 0: { /* an RTP packet from fuzzed fields */
            uint8_t f = fz_u8(&in);
            seq = (uint16_t)(seq + (int8_t)fz_u8(&in));
            ts += (uint32_t)(int32_t)(int16_t)fz_u16(&in) * 8u;
            if (f & 1)
                ssrc = fz_u32(&in);
            size_t plen = (size_t)fz_u8(&in) * ((f & 2) ? 8 : 1);
            unsigned char *pkt = malloc(12 + plen);
            FZ_CHECK(pkt != NULL);
            pkt[0] = 0x80;
            pkt[1] = (unsigned char)(((f & 4) ? 0x80 : 0) | ((f & 8) ? (f >> 4) : pt));
            pkt[2] = (unsigned char)(seq >> 8); pkt[3] = (unsigned char)seq;
            pkt[4] = (unsigned char)(ts >> 24); pkt[5] = (unsigned char)(ts >> 16);
            pkt[6] = (unsigned char)(ts >> 8); pkt[7] = (unsigned char)ts;
            pkt[8] = (unsigned char)(ssrc >> 24); pkt[9] = (unsigned char)(ssrc >> 16);
            pkt[10] = (unsigned char)(ssrc >> 8); pkt[11] = (unsigned char)ssrc;
            const uint8_t *src;
            size_t got = fz_bytes(&in, plen, &src);
            memcpy(pkt + 12, src, got);
            memset(pkt + 12 + got, 0xd5, plen - got);
            int r = rtpplay_put(p, pkt, 12 + plen, now);
            FZ_CHECK(r >= RTPPLAY_STORED && r <= RTPPLAY_EMPTY);
            free(pkt);
            break;
        }
        case 1: { /* a raw datagram */
            const uint8_t *src;
            size_t len = fz_bytes(&in, fz_u8(&in), &src);
            unsigned char *pkt = malloc(len ? len : 1);
            FZ_CHECK(pkt != NULL);
            memcpy(pkt, src, len);
            int r = rtpplay_put(p, pkt, len, now);
            FZ_CHECK((r >= RTPPLAY_STORED && r <= RTPPLAY_EMPTY) || r == -EBADMSG);
            free(pkt);
            break;
        }
        case 2: { /* time moves */
            uint16_t d = fz_u16(&in);
            if (op & 4) {
                now -= (uint64_t)d * 1000u;
                backward |= d != 0;
            }
            else if (op & 8)
                now += (uint64_t)d << 32;
            else
                now += (uint64_t)d * 100000u;
            break;
        }
        default: { /* gets, one frame apart */
            int n = 1 + (op >> 4);
            for (int i = 0; i < n; i++) {
                int r = rtpplay_get(p, now, pcm, (size_t)fl);
                FZ_CHECK(r >= 0 && r <= 0x7f);
                now += (uint64_t)c.frame_ms * 1000000u;
            }
            break;
        }
        }
    }
    struct rtpplay_stats st = { .size = sizeof(st) };
    FZ_CHECK(rtpplay_stats(p, &st) == 0);
    FZ_CHECK(st.played + st.late + st.discarded + st.duplicates <= st.received);
    FZ_CHECK(st.delay_count <= st.played);
    FZ_CHECK(st.mean_delay_ns >= 0 && st.p95_delay_ns >= 0);
    struct rtpplay_played rec;
    while (rtpplay_next_played(p, &rec) == 1)
        FZ_CHECK(backward || rec.playout_ns >= rec.arrival_ns);
    double m[8];
    FZ_CHECK(rtpplay_delay_by_minute(p, m, 8) >= 0);
    FZ_CHECK(rtpplay_reset(p) == 0);
    FZ_CHECK(rtpplay_get(p, now, pcm, (size_t)fl) >= 0);
    free(pcm);
    rtpplay_dtor(p);
    return 0;
}
