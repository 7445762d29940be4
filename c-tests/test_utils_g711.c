/*
 * G.711: every 16-bit input of both encoders and every code word of both
 * decoders against reference implementations written here, independently
 * of the library: mu-law in the original RtpUtils' terms (bias 0x84, clip
 * 32635) by segment-table search, A-law as the ITU-T G.191 STL reference
 * (alaw_compress / alaw_expand), which agrees with the Sun g711.c.
 */
#include <stdint.h>
#include <string.h>

#include "rtputils.h"
#include "testutil.h"

static int ref_ulaw_enc(int s) {
    static const int seg_end[8] = {0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff};
    int mask = s < 0 ? 0x7f : 0xff;
    int mag = s < 0 ? -s : s;
    if (mag > 32635)
        mag = 32635;
    mag += 0x84;
    int seg = 0;
    while (seg < 8 && mag > seg_end[seg])
        seg++;
    return ((seg << 4) | ((mag >> (seg + 3)) & 0x0f)) ^ mask;
}

static int ref_ulaw_dec(int u) {
    int v = ~u & 0xff;
    int e = (v >> 4) & 7, m = v & 0x0f;
    int mag = (((2 * m + 33) << e) - 33) * 4;   /* G.711 table, 16-bit scale */
    return (v & 0x80) ? -mag : mag;
}

static int ref_alaw_enc(int lin) {
    int ix = lin < 0 ? (~lin) >> 4 : lin >> 4;  /* 12-bit magnitude, 1's complement */
    if (ix > 15) {
        int iexp = 1;
        while (ix > 16 + 15) {
            ix >>= 1;
            iexp++;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if (lin >= 0)
        ix |= 0x80;
    return ix ^ 0x55;
}

static int ref_alaw_dec(int code) {
    int ix = (code ^ 0x55) & 0x7f;
    int iexp = ix >> 4, mant = ix & 0x0f;
    if (iexp > 0)
        mant += 16;
    mant = (mant << 4) + 0x08;
    if (iexp > 1)
        mant <<= iexp - 1;
    return code > 127 ? mant : -mant;
}

int main(void) {
    static int16_t pcm[65536 + 3];
    static uint8_t enc_u[65536 + 3], enc_a[65536 + 3];
    static int16_t dec[65536 + 3];

    /* scalar: every input */
    for (int s = -32768; s <= 32767; s++) {
        CHECK_EQ(rtpu_linear2ulaw((int16_t)s), ref_ulaw_enc(s));
        CHECK_EQ(rtpu_linear2alaw((int16_t)s), ref_alaw_enc(s));
        pcm[s + 32768] = (int16_t)s;
    }
    for (int c = 0; c < 256; c++) {
        CHECK_EQ(rtpu_ulaw2linear((uint8_t)c), ref_ulaw_dec(c));
        CHECK_EQ(rtpu_alaw2linear((uint8_t)c), ref_alaw_dec(c));
    }

    /* spot values everyone agrees on */
    CHECK_EQ(rtpu_linear2ulaw(0), 0xff);
    CHECK_EQ(rtpu_linear2ulaw(-32768), 0x00);
    CHECK_EQ(rtpu_ulaw2linear(0x80), 32124);
    CHECK_EQ(rtpu_linear2alaw(0), 0xd5);
    CHECK_EQ(rtpu_linear2alaw(-1), 0x55);
    CHECK_EQ(rtpu_alaw2linear(0xaa), 32256);

    /* buffer forms: every input, then at odd offsets and lengths */
    rtpu_linear2ulaw_buf(pcm, 65536, enc_u);
    rtpu_linear2alaw_buf(pcm, 65536, enc_a);
    for (int i = 0; i < 65536; i++) {
        CHECK_EQ(enc_u[i], ref_ulaw_enc(i - 32768));
        CHECK_EQ(enc_a[i], ref_alaw_enc(i - 32768));
    }
    uint8_t codes[256 * 3 + 1];
    for (int i = 0; i < (int)sizeof(codes); i++)
        codes[i] = (uint8_t)(i * 37 + 11);
    for (size_t off = 0; off < 4; off++) {
        for (size_t n = 0; n < 40; n++) {
            memset(dec, 0x5a, sizeof(dec));
            rtpu_ulaw2linear_buf(codes + off, n, dec + off);
            for (size_t i = 0; i < n; i++)
                CHECK_EQ(dec[off + i], ref_ulaw_dec(codes[off + i]));
            CHECK_EQ(dec[off + n], (int16_t)0x5a5a);   /* nothing past n */
            rtpu_alaw2linear_buf(codes + off, n, dec + off);
            for (size_t i = 0; i < n; i++)
                CHECK_EQ(dec[off + i], ref_alaw_dec(codes[off + i]));
            memset(enc_u, 0xee, 64);
            rtpu_linear2ulaw_buf(pcm + 1000 + off, n, enc_u + off);
            for (size_t i = 0; i < n; i++)
                CHECK_EQ(enc_u[off + i], ref_ulaw_enc(pcm[1000 + off + i]));
            CHECK_EQ(enc_u[off + n], 0xee);
            rtpu_linear2alaw_buf(pcm + 1000 + off, n, enc_u + off);
            for (size_t i = 0; i < n; i++)
                CHECK_EQ(enc_u[off + i], ref_alaw_enc(pcm[1000 + off + i]));
        }
    }
    rtpu_ulaw2linear_buf(codes, sizeof(codes), dec);
    rtpu_alaw2linear_buf(codes, sizeof(codes), dec + sizeof(codes));
    for (size_t i = 0; i < sizeof(codes); i++) {
        CHECK_EQ(dec[i], ref_ulaw_dec(codes[i]));
        CHECK_EQ(dec[sizeof(codes) + i], ref_alaw_dec(codes[i]));
    }

    /* decode of an encode is the quantized value, and encode of that is stable */
    for (int c = 0; c < 256; c++)
        CHECK_EQ(rtpu_linear2alaw(rtpu_alaw2linear((uint8_t)c)), c);

    /* NULL buffers are ignored, never dereferenced */
    rtpu_linear2ulaw_buf(NULL, 10, enc_u);
    rtpu_linear2ulaw_buf(pcm, 10, NULL);
    rtpu_ulaw2linear_buf(NULL, 0, NULL);
    rtpu_alaw2linear_buf(codes, 5, NULL);
    rtpu_linear2alaw_buf(NULL, 5, NULL);

    TEST_DONE("test_utils_g711");
}
