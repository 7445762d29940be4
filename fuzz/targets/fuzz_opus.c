/*
 * libFuzzer target: the Opus decoder (rtpopus.h) on arbitrary packets, FEC
 * decodes, lost-packet decodes and erasure concealment, at every supported
 * rate and channel count. Input: one config byte, then operations until
 * the input runs out. Checks that every result is a documented value and
 * that no call writes more samples than it reports (exact-size heap output
 * buffers, so ASan sees any overrun).
 */
#include <errno.h>

#include "fuzz_common.h"

#include "rtpjbuf.h"
#include "rtpopus.h"

static const int rates[5] = {8000, 12000, 16000, 24000, 48000};

static int decode_err_ok(int r) {
    return r == -EINVAL || r == -ENOBUFS || r == -EBADMSG || r == -EPROTO || r == -ENOTSUP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fz_in in = { data, size };
    uint8_t cfg = fz_u8(&in);
    int srate = rates[cfg % 5], channels = 1 + ((cfg >> 3) & 1);
    int err = 1;
    struct rtpopus_dec *d = rtpopus_dec_ctor(srate, channels, &err);
    FZ_CHECK(d != NULL && err == 0);
    const int max_frame = srate * 3 / 25;   /* 120 ms */
    const int ms20 = srate / 50, ms2_5 = srate / 400;
    for (int ops = 0; fz_left(&in) && ops < 64; ops++) {
        uint8_t op = fz_u8(&in);
        int caps[4] = { max_frame, ms20, ms2_5, 1 + (op >> 4) };
        int cap = caps[(op >> 2) & 3];
        int16_t *pcm = malloc(sizeof(int16_t) * (size_t)cap * (size_t)channels);
        FZ_CHECK(pcm != NULL);
        switch (op & 3) {
        case 0:
        case 1: { /* a packet, decoded plainly or for its FEC data */
            size_t len = fz_u8(&in);
            if (len > in.n)
                len = in.n;
            uint8_t *pkt = malloc(len ? len : 1);
            FZ_CHECK(pkt != NULL);
            memcpy(pkt, in.p, len);
            in.p += len;
            in.n -= len;
            int r = rtpopus_decode(d, pkt, len, pcm, cap, op & 1);
            FZ_CHECK((r >= 0 && r <= cap) || decode_err_ok(r));
            if (len == 0 && (cap % ms2_5) == 0)
                FZ_CHECK(r == cap);            /* lost packet: exactly cap */
            free(pkt);
            break;
        }
        case 2: { /* a jitter-buffer erasure */
            struct ers_frame ers = { 0, 0, fz_u16(&in) };
            int want = (int)((uint64_t)ers.ts_diff * (uint64_t)srate / 48000);
            int r = rtpopus_conceal(d, &ers, pcm, cap);
            FZ_CHECK(want <= cap ? r == want : r == -ENOBUFS);
            break;
        }
        default: { /* lost packet through rtpopus_decode(NULL) */
            int r = rtpopus_decode(d, NULL, 0, pcm, cap, 0);
            FZ_CHECK((cap % ms2_5) == 0 ? r == cap : r == -EINVAL);
            break;
        }
        }
        free(pcm);
    }
    rtpopus_dec_dtor(d);
    return 0;
}
