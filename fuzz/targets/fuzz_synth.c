/*
 * libFuzzer target: the generator (rsynth_*) under arbitrary call sequences
 * with arbitrary arguments: negative and huge plen, any pt / ptime / srate /
 * npkts / marker value, buffers of any size down to 0 bytes (each an exact
 * malloc block so ASan sees any write past blen), NULL handles.
 *
 * A shadow model tracks what every packet must contain: version 2, marker
 * only on the first packet or after rsynth_set_mbt(…, odd), pt & 0x7f, seq +1
 * per packet, ts + 80*ptime/10 per packet (int arithmetic) and
 * + ts_inc*npkts per rsynth_skip, SSRC = first random draw in host order,
 * payload moved (filled) or zeroed, the rest of the buffer zeroed, and a
 * failed call (-1 / NULL) changes neither the buffer nor the state.
 */
#include <limits.h>

#include "fuzz_common.h"

#include "rtpsynth.h"

static uint32_t draws[3];
static int ndraw;

static uint32_t fz_rand(void *arg) {
    FZ_CHECK(arg == (void *)draws);
    return draws[ndraw++ % 3];
}

struct shadow {
    void *g;
    int32_t ts_inc;
    uint32_t ssrc;
    uint64_t ts, seq;
    int ts_known;
    unsigned marker;
};

static void make(struct shadow *s, struct fz_in *in) {
    int srate = (int)fz_u32(in);
    int ptime = (int)fz_u32(in);
    if (ptime & 0x40000000)
        ptime = (int)(fz_u8(in) % 64); /* mostly sane packet times */
    for (int i = 0; i < 3; i++)
        draws[i] = fz_u32(in);
    ndraw = 0;
    rsynth_set_randfunc(fz_rand, draws);
    s->g = rsynth_ctor(srate, ptime);
    FZ_CHECK(s->g != NULL);
    FZ_CHECK(ndraw == 3);
    s->ts_inc = (int32_t)((uint32_t)80 * (uint32_t)ptime) / 10;
    if (ptime != INT_MIN && (int64_t)ptime * 80 <= INT_MAX && (int64_t)ptime * 80 >= INT_MIN)
        FZ_CHECK(s->ts_inc == 80 * ptime / 10);
    s->ssrc = draws[0];
    s->ts = draws[1] & 0xfffffffeu;
    s->seq = draws[2] & 0xffff;
    s->ts_known = 1;
    s->marker = 1;
}

static void check_hdr(struct shadow *s, const uint8_t *b, int pt) {
    FZ_CHECK(b[0] == 0x80);
    FZ_CHECK(b[1] == (uint8_t)(s->marker << 7 | (pt & 0x7f)));
    FZ_CHECK((uint16_t)(b[2] << 8 | b[3]) == (uint16_t)s->seq);
    uint32_t ts = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    if (s->ts_known) {
        FZ_CHECK(ts == (uint32_t)s->ts);
    } else {
        s->ts = ts; /* low 32 bits re-learnt after a resync */
    }
    uint32_t ssrc;
    memcpy(&ssrc, b + 8, 4);
    FZ_CHECK(ssrc == s->ssrc);
    s->marker = 0;
    s->seq++;
    s->ts += (uint64_t)(int64_t)s->ts_inc;
}

static int pick_plen(struct fz_in *in) {
    static const int special[] = {-1, -12, -13, INT_MIN, INT_MAX, INT_MAX - 11, INT_MAX - 12, 0};
    uint8_t k = fz_u8(in);
    if (k < 0x20)
        return special[k & 7];
    return (int)(fz_u16(in) % 2048);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fz_in in = {data, size};
    struct shadow s;
    make(&s, &in);
    int ops = 0;
    while (fz_left(&in) && ops++ < 2000) {
        uint8_t o = fz_u8(&in);
        switch (o % 8) {
        case 0:
        case 1: { /* rsynth_next_pkt_pa */
            int plen = pick_plen(&in);
            int pt = (int)fz_u32(&in);
            unsigned blen = fz_u16(&in) % 2200;
            int filled = (o & 0x80) ? (int)fz_u32(&in) : 0;
            char *buf = malloc(blen ? blen : 1);
            char *before = malloc(blen ? blen : 1);
            FZ_CHECK(buf != NULL && before != NULL);
            for (unsigned i = 0; i < blen; i++)
                buf[i] = (char)(i * 31 + o);
            memcpy(before, buf, blen);
            int r = rsynth_next_pkt_pa(s.g, plen, pt, buf, blen, filled);
            int fits = plen >= 0 && (int64_t)plen + 12 <= (int64_t)blen;
            if (!fits) {
                FZ_CHECK(r == -1);
                FZ_CHECK(memcmp(buf, before, blen) == 0);
            } else {
                FZ_CHECK(r == 12 + plen);
                check_hdr(&s, (uint8_t *)buf, pt);
                if (filled)
                    FZ_CHECK(memcmp(buf + 12, before, (size_t)plen) == 0);
                else
                    for (int i = 0; i < plen; i++)
                        FZ_CHECK(buf[12 + i] == 0);
                for (unsigned i = (unsigned)r; i < blen; i++)
                    FZ_CHECK(buf[i] == 0);
            }
            free(buf);
            free(before);
            break;
        }
        case 2: { /* rsynth_next_pkt */
            int plen = pick_plen(&in);
            if (plen == INT_MAX - 12)
                plen = 4096; /* a 2 GiB malloc is legal but not interesting */
            int pt = (int)fz_u32(&in);
            uint8_t *p = rsynth_next_pkt(s.g, plen, pt);
            if (plen < 0 || plen > INT_MAX - 12) {
                FZ_CHECK(p == NULL);
            } else {
                FZ_CHECK(p != NULL);
                check_hdr(&s, p, pt);
                for (int i = 0; i < plen; i++)
                    FZ_CHECK(p[12 + i] == 0);
                if (o & 0x80)
                    free(p); /* plain free() is allowed, as with the original */
                else
                    rsynth_pkt_free(p);
            }
            break;
        }
        case 3: { /* rsynth_skip */
            int n = (o & 0x80) ? (int)fz_u32(&in) : (int)(int8_t)fz_u8(&in);
            rsynth_skip(s.g, n);
            s.ts += (uint64_t)(int64_t)(int32_t)((uint32_t)s.ts_inc * (uint32_t)n);
            break;
        }
        case 4: { /* rsynth_set_mbt */
            unsigned v = (o & 0x80) ? fz_u32(&in) : (unsigned)(o >> 4 & 1);
            unsigned old = rsynth_set_mbt(s.g, v);
            FZ_CHECK(old == s.marker);
            s.marker = v & 1;
            break;
        }
        case 5: { /* rsynth_resync */
            struct rsynth_seq q;
            memset(&q, 0xee, sizeof(q));
            rsynth_resync(s.g, (o & 0x80) ? NULL : &q);
            if (!(o & 0x80)) {
                FZ_CHECK(q.seq == s.seq);
                if (s.ts_known)
                    FZ_CHECK(q.ts == s.ts);
            }
            s.ts_known = 0; /* advanced by the elapsed wall time */
            break;
        }
        case 6: { /* NULL handles and arguments are defined here */
            char b[64];
            FZ_CHECK(rsynth_next_pkt(NULL, 10, 0) == NULL);
            FZ_CHECK(rsynth_next_pkt_pa(NULL, 10, 0, b, sizeof(b), 0) == -1);
            FZ_CHECK(rsynth_next_pkt_pa(s.g, 10, 0, NULL, sizeof(b), 0) == -1);
            rsynth_skip(NULL, 5);
            FZ_CHECK(rsynth_set_mbt(NULL, 1) == 0);
            rsynth_resync(NULL, NULL);
            rsynth_pkt_free(NULL);
            rsynth_dtor(NULL);
            break;
        }
        default: /* a fresh generator */
            rsynth_dtor(s.g);
            make(&s, &in);
            break;
        }
    }
    rsynth_dtor(s.g);
    rsynth_set_randfunc(NULL, NULL);
    return 0;
}
