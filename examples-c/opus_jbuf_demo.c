/*
 * opus_jbuf_demo: a 1 kHz tone encoded to Opus in 20 ms frames, packetized
 * with rsynth_next_pkt_pa() on the 48 kHz Opus RTP clock, sent through a
 * lossy, reordering network into the jitter buffer, and decoded: every RTP
 * frame with rtpopus_decode(), every erasure frame with rtpopus_conceal().
 * The result is written to a WAV file and compared (SNR) with a clean
 * decode of all packets.
 *
 *   usage: opus_jbuf_demo [out.wav] [loss percent]
 *
 * The rsynth_ctor() quirk: like the original librtpsynth, the generator
 * advances the RTP timestamp by 8 * ptime per packet whatever the sample
 * rate it is given (that is right for 8 kHz codecs only). Opus uses a
 * 48 kHz clock, so 20 ms packets need a step of 960: we pass ptime = 120
 * (8 * 120 = 960). The sample rate argument (48000) is only used by
 * rsynth_resync().
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtpjbuf.h"
#include "rtpopus.h"
#include "rtpsynth.h"

#define RATE     48000
#define FRAME    960                 /* 20 ms at 48 kHz */
#define NPKTS    500                 /* 10 s */
#define PT_OPUS  111                 /* a dynamic payload type */
#define JB_CAP   8
#define WINDOW   3                   /* packets reordered within windows of this size */

static unsigned long long rng = 0x853c49e6748fea9bULL;
static unsigned int next_rand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned int)(rng >> 32);
}
static uint32_t fixed_rand(void *arg) { (void)arg; return next_rand(); }

static void put_le(FILE *f, uint32_t v, int n) {
    for (int i = 0; i < n; i++)
        fputc((int)((v >> (8 * i)) & 0xff), f);
}

static int write_wav(const char *path, const int16_t *pcm, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    uint32_t bytes = (uint32_t)(n * 2);
    fwrite("RIFF", 1, 4, f); put_le(f, 36 + bytes, 4); fwrite("WAVE", 1, 4, f);
    fwrite("fmt ", 1, 4, f); put_le(f, 16, 4); put_le(f, 1, 2); put_le(f, 1, 2);
    put_le(f, RATE, 4); put_le(f, RATE * 2, 4); put_le(f, 2, 2); put_le(f, 16, 2);
    fwrite("data", 1, 4, f); put_le(f, bytes, 4);
    for (size_t i = 0; i < n; i++)
        put_le(f, (uint16_t)pcm[i], 2);
    return fclose(f);
}

static double snr_db(const int16_t *ref, const int16_t *x, size_t from, size_t to) {
    double sig = 0, err = 0;
    for (size_t i = from; i < to; i++) {
        double e = (double)ref[i] - x[i];
        sig += (double)ref[i] * ref[i];
        err += e * e;
    }
    return err == 0 ? INFINITY : 10 * log10(sig / err);
}

struct player {
    struct rtpopus_dec *dec;
    int16_t *out;            /* NPKTS * FRAME samples, timeline of the sender */
    unsigned char *lost;     /* per packet slot: 1 if concealed */
    size_t pos;              /* next sample to write */
    int started;
    uint32_t ts0;            /* timestamp of the first packet sent */
    unsigned long decoded, erasures, concealed_pkts, dropped, errors;
};

static void play(struct player *p, struct rjb_udp_in_r r) {
    if (r.error < 0)
        p->errors++;
    for (struct rtp_frame *f = r.ready, *next; f != NULL; f = next) {
        next = f->next;
        if (f->type == RFT_ERS) {
            /* an erasure before the first packet has nothing to continue */
            if (p->started) {
                size_t room = (size_t)NPKTS * FRAME - p->pos;
                int n = rtpopus_conceal(p->dec, &f->ers, p->out + p->pos, (int)room);
                if (n < 0) {
                    fprintf(stderr, "conceal: %s\n", rtpsynth_strerror(n));
                    p->errors++;
                    continue;
                }
                for (size_t k = p->pos / FRAME; k < (p->pos + (size_t)n) / FRAME; k++)
                    p->lost[k] = 1;
                p->pos += (size_t)n;
                p->erasures++;
                p->concealed_pkts += f->ers.lseq_end - f->ers.lseq_start + 1;
            }
            continue;
        }
        const struct rtp_info *ri = &f->rtp.info;
        if (!p->started) {       /* place the first packet on the sender's timeline */
            p->pos = (size_t)(uint32_t)(ri->ts - p->ts0);
            p->started = 1;
        }
        size_t room = (size_t)NPKTS * FRAME - p->pos;
        int n = rtpopus_decode(p->dec, f->rtp.data + ri->data_offset, ri->data_size,
            p->out + p->pos, (int)(room < 5760 ? room : 5760), 0);
        if (n < 0) {
            fprintf(stderr, "decode: %s\n", rtpsynth_strerror(n));
            p->errors++;
        } else {
            p->pos += (size_t)n;
            p->decoded++;
        }
        rtpjbuf_frame_dtor(f);
    }
    for (struct rtp_frame *f = r.drop, *next; f != NULL; f = next) {
        next = f->next;
        p->dropped++;
        rtpjbuf_frame_dtor(f);
    }
}

int main(int argc, char **argv) {
    const char *wav = argc > 1 ? argv[1] : "opus_jbuf_demo.wav";
    int loss_pct = argc > 2 ? atoi(argv[2]) : 5;
    int err;

    struct rtpopus_enc *enc = rtpopus_enc_ctor(RATE, 1, RTPOPUS_APPLICATION_AUDIO, &err);
    if (enc == NULL) {
        fprintf(stderr, "encoder: %s\n", rtpsynth_strerror(err));
        return 1;
    }
    rtpopus_enc_set(enc, RTPOPUS_BITRATE, 48000);
    struct rtpopus_dec *clean_dec = rtpopus_dec_ctor(RATE, 1, &err);
    struct player p = {0};
    p.dec = rtpopus_dec_ctor(RATE, 1, &err);
    p.out = calloc((size_t)NPKTS * FRAME, sizeof(int16_t));
    p.lost = calloc(NPKTS, 1);
    int16_t *clean = calloc((size_t)NPKTS * FRAME, sizeof(int16_t));
    unsigned char **pkts = calloc(NPKTS, sizeof(*pkts));
    int *lens = calloc(NPKTS, sizeof(int));
    rsynth_set_randfunc(fixed_rand, NULL);
    void *rs = rsynth_ctor(RATE, 120);     /* ts step 8 * 120 = 960, see above */
    void *jb = rtpjbuf_ctor(JB_CAP);
    if (clean_dec == NULL || p.dec == NULL || p.out == NULL || p.lost == NULL || clean == NULL ||
            pkts == NULL || lens == NULL || rs == NULL || jb == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* encode and packetize; decode every packet for the clean reference */
    int16_t pcm[FRAME];
    for (int k = 0; k < NPKTS; k++) {
        for (int i = 0; i < FRAME; i++)
            pcm[i] = (int16_t)(12000 * sin(2 * M_PI * 1000.0 * (double)(k * FRAME + i) / RATE));
        unsigned char *buf = malloc(12 + RTPOPUS_MAX_PACKET);
        if (buf == NULL)
            return 1;
        /* the payload goes at offset 0; rsynth_next_pkt_pa(..., 1) moves it behind the header */
        int plen = rtpopus_encode(enc, pcm, FRAME, buf, RTPOPUS_MAX_PACKET);
        if (plen < 0) {
            fprintf(stderr, "encode: %s\n", rtpsynth_strerror(plen));
            return 1;
        }
        lens[k] = rsynth_next_pkt_pa(rs, plen, PT_OPUS, (char *)buf, 12 + RTPOPUS_MAX_PACKET, 1);
        pkts[k] = buf;
        if (lens[k] != 12 + plen)
            return 1;
        int n = rtpopus_decode(clean_dec, buf + 12, (size_t)plen, clean + (size_t)k * FRAME, FRAME, 0);
        if (n != FRAME) {
            fprintf(stderr, "clean decode: %d\n", n);
            return 1;
        }
    }
    p.ts0 = ((uint32_t)pkts[0][4] << 24) | ((uint32_t)pkts[0][5] << 16) |
            ((uint32_t)pkts[0][6] << 8) | pkts[0][7];

    /* the network: reorder within small windows, lose loss_pct percent */
    unsigned long sent = 0, lost = 0;
    int order[WINDOW];
    for (int base = 0; base < NPKTS; base += WINDOW) {
        int n = NPKTS - base < WINDOW ? NPKTS - base : WINDOW;
        for (int i = 0; i < n; i++)
            order[i] = base + i;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(next_rand() % (unsigned)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < n; i++) {
            if ((int)(next_rand() % 100) < loss_pct) {
                lost++;
                continue;
            }
            sent++;
            play(&p, rtpjbuf_udp_in(jb, pkts[order[i]], (size_t)lens[order[i]]));
        }
    }
    play(&p, rtpjbuf_flush(jb));

    size_t total = (size_t)NPKTS * FRAME;
    if (write_wav(wav, p.out, total) != 0) {
        perror(wav);
        return 1;
    }
    /* SNR over everything after the first packet slot, and over the lost slots */
    double all = snr_db(clean, p.out, FRAME, total);
    double sig = 0, e = 0;
    for (size_t k = 1; k < NPKTS; k++) {
        if (!p.lost[k])
            continue;
        for (size_t i = k * FRAME; i < (k + 1) * FRAME; i++) {
            double d = (double)clean[i] - p.out[i];
            sig += (double)clean[i] * clean[i];
            e += d * d;
        }
    }
    printf("packets     %d x 20 ms Opus (48 kHz clock, ts step 960), %lu sent, %lu lost (%d%%)\n",
        NPKTS, sent, lost, loss_pct);
    printf("jitter buf  %lu decoded, %lu erasures covering %lu packets concealed, %lu dropped late\n",
        p.decoded, p.erasures, p.concealed_pkts, p.dropped);
    printf("output      %s: %zu samples, %zu written\n", wav, total, p.pos);
    printf("SNR vs clean decode: %.1f dB overall, %.1f dB in concealed packets\n",
        all, e == 0 ? INFINITY : 10 * log10(sig / e));

    rtpjbuf_dtor(jb);
    for (int k = 0; k < NPKTS; k++)
        free(pkts[k]);
    free(pkts);
    free(lens);
    free(clean);
    free(p.out);
    free(p.lost);
    rsynth_dtor(rs);
    rtpopus_enc_dtor(enc);
    rtpopus_dec_dtor(clean_dec);
    rtpopus_dec_dtor(p.dec);
    return p.errors == 0 ? 0 : 1;
}
