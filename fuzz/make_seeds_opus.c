/* Seed generator for fuzz/corpus/opus (run once, by hand):
 *   cc -Iinclude fuzz/make_seeds_opus.c -Lbuild/lib -lrtpsynth -lm -o /tmp/mk && LD_LIBRARY_PATH=build/lib /tmp/mk fuzz/corpus/opus */
/* Writes a few seed inputs for fuzz_opus: real encoded packets at several
 * rates, mixed with erasures and lost-packet decodes. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include "rtpopus.h"
int main(int argc, char **argv) {
    const int rates[5] = {8000, 12000, 16000, 24000, 48000};
    for (int k = 0; k < 10; k++) {
        int srate = rates[k % 5], ch = 1 + (k >= 5);
        int err;
        struct rtpopus_enc *e = rtpopus_enc_ctor(srate, ch, k % 2 ? 2049 : 2048, &err);
        if (k % 3 == 0) { rtpopus_enc_set(e, 4012, 1); rtpopus_enc_set(e, 4014, 20); }
        char path[256];
        snprintf(path, sizeof(path), "%s/seed_%d", argv[1], k);
        FILE *f = fopen(path, "wb");
        uint8_t cfg = (uint8_t)((k % 5) | ((ch - 1) << 3));
        fputc(cfg, f);
        int n = srate / 50;
        int16_t pcm[960 * 2];
        for (int p = 0; p < 4; p++) {
            for (int i = 0; i < n * ch; i++) pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (p * n + i / ch) / srate));
            unsigned char pkt[400];
            int len = rtpopus_encode(e, pcm, n, pkt, 255);
            if (len < 0) len = 0;
            fputc(p % 2, f);               /* decode (FEC on odd), cap 120 ms */
            fputc(len, f);
            fwrite(pkt, 1, (size_t)len, f);
        }
        fputc(2 | (1 << 2), f); fputc(0x03, f); fputc(0xc0, f);   /* conceal 960 ticks, cap 20 ms */
        fputc(3, f);                                                /* lost packet, cap 120 ms */
        fclose(f);
        rtpopus_enc_dtor(e);
    }
    return 0;
}
