/*
 * rtp_packet_parse_raw(): every RTP_PARSER_* code with what it leaves in
 * struct rtp_info, every field on success, per-codec sample counts, the
 * rtp_profiles table and rtp_packet_parse_errstr() texts.
 *
 * Uses only what librtpsynth 1.3.2 exports (rtp_packet_parse_errstr is
 * exported, just undeclared there), so it runs against the original too.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "testutil.h"

#define SENT_TS 0x5eed5eedu
#define SENT_SEQ 0x4242
#define SENT_SSRC 0x77777777u
static const struct rtp_profile sentinel_profile;

/* An rtp_info full of values the parser must overwrite or leave alone. */
static void poison(struct rtp_info *ri) {
    memset(ri, 0xa5, sizeof(*ri));
    ri->ts = SENT_TS;
    ri->seq = SENT_SEQ;
    ri->ssrc = SENT_SSRC;
    ri->rtp_profile = &sentinel_profile;
}

/* 12-byte header: version/flags byte b0, marker+pt byte b1. */
static size_t hdr(unsigned char *p, unsigned b0, unsigned b1, uint16_t seq, uint32_t ts, uint32_t ssrc) {
    p[0] = (unsigned char)b0;
    p[1] = (unsigned char)b1;
    p[2] = seq >> 8; p[3] = seq & 0xff;
    p[4] = ts >> 24; p[5] = (ts >> 16) & 0xff; p[6] = (ts >> 8) & 0xff; p[7] = ts & 0xff;
    p[8] = ssrc >> 24; p[9] = (ssrc >> 16) & 0xff; p[10] = (ssrc >> 8) & 0xff; p[11] = ssrc & 0xff;
    return 12;
}

/* Parse and check the failure contract: code, data_offset reached,
 * data_size 0, nsamples unknown, appendable 1, the rest untouched. */
static void expect_fail(int line, const unsigned char *buf, size_t size, int code, unsigned offset) {
    struct rtp_info ri;
    poison(&ri);
    int rc = rtp_packet_parse_raw(buf, size, &ri);
    if (rc != code || ri.data_offset != offset) {
        fprintf(stderr, "line %d: rc %d (want %d), data_offset %u (want %u)\n", line, rc, code,
            ri.data_offset, offset);
        exit(1);
    }
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);
    CHECK_EQ(ri.appendable, 1);
    CHECK_EQ(ri.ts, SENT_TS);
    CHECK_EQ(ri.seq, SENT_SEQ);
    CHECK_EQ(ri.ssrc, SENT_SSRC);
    CHECK(ri.rtp_profile == &sentinel_profile);
}

/* Parse a valid packet and return its info (checks the common fields). */
static struct rtp_info expect_ok(int line, const unsigned char *buf, size_t size) {
    struct rtp_info ri;
    poison(&ri);
    int rc = rtp_packet_parse_raw(buf, size, &ri);
    if (rc != RTP_PARSER_OK) {
        fprintf(stderr, "line %d: rc %d, expected RTP_PARSER_OK\n", line, rc);
        exit(1);
    }
    CHECK_EQ(ri.seq, (buf[2] << 8) | buf[3]);
    CHECK_EQ(ri.ts, ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) | buf[7]);
    CHECK_EQ(ri.ssrc, ((uint32_t)buf[8] << 24) | ((uint32_t)buf[9] << 16) | ((uint32_t)buf[10] << 8) | buf[11]);
    CHECK(ri.rtp_profile == &rtp_profiles[buf[1] & 0x7f]);
    return ri;
}
#define FAIL(buf, size, code, off) expect_fail(__LINE__, (buf), (size), (code), (off))
#define OK(buf, size) expect_ok(__LINE__, (buf), (size))

/* nsamples / appendable for a pt with a payload of n bytes (first byte b). */
static void expect_samples(int line, int pt, size_t n, const unsigned char *payload, int nsamples, int appendable) {
    unsigned char buf[12 + 512];
    size_t off = hdr(buf, 0x80, (unsigned)pt, 1, 2, 3);
    memcpy(buf + off, payload, n);
    struct rtp_info ri = expect_ok(line, buf, off + n);
    if (ri.nsamples != nsamples || ri.appendable != appendable || ri.data_size != n || ri.data_offset != 12) {
        fprintf(stderr, "line %d: pt %d, %zu bytes: nsamples %d (want %d), appendable %d (want %d)\n",
            line, pt, n, ri.nsamples, nsamples, ri.appendable, appendable);
        exit(1);
    }
}
#define SAMPLES(pt, n, payload, ns, app) expect_samples(__LINE__, (pt), (n), (payload), (ns), (app))

static void test_errors(void) {
    unsigned char b[600];
    memset(b, 0, sizeof(b));

    /* RTP_PARSER_PTOOSHRT: 0..11 bytes, whatever the bytes are */
    hdr(b, 0x80, 0, 1, 2, 3);
    for (size_t n = 0; n < 12; n++)
        FAIL(b, n, RTP_PARSER_PTOOSHRT, 0);
    memset(b, 0xff, 12);
    for (size_t n = 0; n < 12; n++)
        FAIL(b, n, RTP_PARSER_PTOOSHRT, 0);

    /* RTP_PARSER_IHDRVER: versions 0, 1 and 3, checked before anything else */
    for (unsigned v = 0; v < 4; v++) {
        if (v == 2)
            continue;
        hdr(b, (v << 6) | 0x3f, 0, 1, 2, 3);    /* p, x, cc 15 too: not looked at */
        FAIL(b, 12, RTP_PARSER_IHDRVER, 0);
        FAIL(b, 200, RTP_PARSER_IHDRVER, 0);
    }

    /* RTP_PARSER_PTOOSHRTXS: no room for the 4-byte extension header */
    memset(b, 0, sizeof(b));
    hdr(b, 0x90, 0, 1, 2, 3);
    for (size_t n = 12; n < 16; n++)
        FAIL(b, n, RTP_PARSER_PTOOSHRTXS, 12);
    hdr(b, 0x92, 0, 1, 2, 3);                    /* 2 CSRCs: extension at 20 */
    for (size_t n = 12; n < 24; n++)
        FAIL(b, n, RTP_PARSER_PTOOSHRTXS, 20);

    /* RTP_PARSER_PTOOSHRTXH: CSRCs or extension words past the end */
    hdr(b, 0x8f, 0, 1, 2, 3);                    /* 15 CSRCs: 72 bytes */
    for (size_t n = 12; n < 72; n += 7)
        FAIL(b, n, RTP_PARSER_PTOOSHRTXH, 72);
    FAIL(b, 71, RTP_PARSER_PTOOSHRTXH, 72);
    struct rtp_info ri = OK(b, 72);
    CHECK_EQ(ri.data_offset, 72);
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);   /* empty payload: not counted */
    CHECK_EQ(ri.appendable, 1);

    hdr(b, 0x90, 0, 1, 2, 3);
    b[12] = 0xbe; b[13] = 0xde; b[14] = 0; b[15] = 2;   /* 2 words */
    for (size_t n = 16; n < 24; n++)
        FAIL(b, n, RTP_PARSER_PTOOSHRTXH, 24);
    ri = OK(b, 24);
    CHECK_EQ(ri.data_offset, 24);
    CHECK_EQ(ri.data_size, 0);
    b[14] = 0xff; b[15] = 0xff;                          /* 65535 words */
    FAIL(b, 600, RTP_PARSER_PTOOSHRTXH, 16 + 4 * 65535);
    hdr(b, 0x9f, 0, 1, 2, 3);                            /* 15 CSRCs + extension */
    b[72] = 0; b[73] = 0; b[74] = 0xff; b[75] = 0xff;
    FAIL(b, 600, RTP_PARSER_PTOOSHRTXH, 76 + 4 * 65535);
    FAIL(b, 75, RTP_PARSER_PTOOSHRTXS, 72);

    /* RTP_PARSER_PTOOSHRTPS: padding flag, nothing after the header */
    memset(b, 0, sizeof(b));
    hdr(b, 0xa0, 0, 1, 2, 3);
    FAIL(b, 12, RTP_PARSER_PTOOSHRTPS, 12);
    hdr(b, 0xb1, 0, 1, 2, 3);                            /* 1 CSRC + empty extension */
    FAIL(b, 20, RTP_PARSER_PTOOSHRTPS, 20);

    /* RTP_PARSER_IPS: padding count 0 */
    hdr(b, 0xa0, 0, 1, 2, 3);
    b[12] = 0;
    FAIL(b, 13, RTP_PARSER_IPS, 12);
    b[99] = 0;
    FAIL(b, 100, RTP_PARSER_IPS, 12);

    /* RTP_PARSER_PTOOSHRTP: padding count larger than what follows the header */
    b[12] = 2;
    FAIL(b, 13, RTP_PARSER_PTOOSHRTP, 12);
    b[19] = 9;                                           /* 8 bytes after the header */
    FAIL(b, 20, RTP_PARSER_PTOOSHRTP, 12);
    b[19] = 255;
    FAIL(b, 20, RTP_PARSER_PTOOSHRTP, 12);
    b[19] = 8;                                           /* exactly the 8 bytes: OK, empty */
    ri = OK(b, 20);
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.data_offset, 12);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);

    /* the checks come in this order: extension size before padding */
    hdr(b, 0xb0, 0, 1, 2, 3);
    b[12] = 0; b[13] = 0; b[14] = 0; b[15] = 1;          /* 1 word: needs 20 bytes */
    b[16] = 0;
    FAIL(b, 17, RTP_PARSER_PTOOSHRTXH, 20);
    FAIL(b, 20, RTP_PARSER_PTOOSHRTPS, 20);
}

static void test_fields(void) {
    unsigned char b[256];
    memset(b, 0, sizeof(b));

    /* plain PCMU, big-endian fields, marker ignored for the pt */
    hdr(b, 0x80, 0x80 | 0, 0xfedc, 0x89abcdefu, 0x01020304u);
    struct rtp_info ri = OK(b, 12 + 160);
    CHECK_EQ(ri.seq, 0xfedc);
    CHECK_EQ(ri.ts, 0x89abcdefu);
    CHECK_EQ(ri.ssrc, 0x01020304u);
    CHECK_EQ(ri.data_offset, 12);
    CHECK_EQ(ri.data_size, 160);
    CHECK_EQ(ri.nsamples, 160);
    CHECK_EQ(ri.appendable, 1);
    CHECK(ri.rtp_profile == &rtp_profiles[RTP_PCMU]);

    /* every payload type, with and without the marker bit */
    for (unsigned pt = 0; pt < 128; pt++) {
        for (unsigned m = 0; m < 2; m++) {
            hdr(b, 0x80, (m << 7) | pt, (uint16_t)pt, pt * 1000u, ~pt);
            ri = OK(b, 12 + 20);
            CHECK(ri.rtp_profile == &rtp_profiles[pt]);
            CHECK_EQ(ri.data_size, 20);
        }
    }

    /* CSRCs: 4 bytes each, payload after them */
    for (unsigned cc = 0; cc < 16; cc++) {
        hdr(b, 0x80 | cc, RTP_PCMA, 7, 8, 9);
        ri = OK(b, 12 + 4 * cc + 33);
        CHECK_EQ(ri.data_offset, 12 + 4 * cc);
        CHECK_EQ(ri.data_size, 33);
        CHECK_EQ(ri.nsamples, 33);
    }

    /* extension: 4-byte header + length words, after the CSRCs */
    hdr(b, 0x93, RTP_PCMU, 7, 8, 9);
    b[24] = 0x10; b[25] = 0x00; b[26] = 0x00; b[27] = 0x03;
    ri = OK(b, 24 + 4 + 12 + 80);
    CHECK_EQ(ri.data_offset, 40);
    CHECK_EQ(ri.data_size, 80);
    CHECK_EQ(ri.nsamples, 80);

    /* padding: count in the last byte, counting itself, excluded from data_size */
    memset(b, 0, sizeof(b));
    hdr(b, 0xa0, RTP_PCMU, 7, 8, 9);
    b[12 + 100 - 1] = 4;
    ri = OK(b, 12 + 100);
    CHECK_EQ(ri.data_offset, 12);
    CHECK_EQ(ri.data_size, 96);
    CHECK_EQ(ri.nsamples, 96);
    b[12 + 100 - 1] = 1;
    ri = OK(b, 12 + 100);
    CHECK_EQ(ri.data_size, 99);
    b[12 + 100 - 1] = 100;
    ri = OK(b, 12 + 100);
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);

    /* padding + CSRC + extension together */
    memset(b, 0, sizeof(b));
    hdr(b, 0xb2, RTP_G729, 7, 8, 9);
    b[20] = 0; b[21] = 0; b[22] = 0; b[23] = 1;          /* ext: 1 word, offset 28 */
    b[28 + 22 + 3 - 1] = 3;                              /* 22 bytes + 3 padding */
    ri = OK(b, 28 + 25);
    CHECK_EQ(ri.data_offset, 28);
    CHECK_EQ(ri.data_size, 22);
    CHECK_EQ(ri.nsamples, 240);
    CHECK_EQ(ri.appendable, 0);

    /* empty payload: nsamples stays unknown even for PCMU */
    hdr(b, 0x80, RTP_PCMU, 7, 8, 9);
    ri = OK(b, 12);
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);
    CHECK_EQ(ri.appendable, 1);

    /* a successful parse after a failed one resets everything */
    hdr(b, 0x80, RTP_PCMU, 7, 8, 9);
    struct rtp_info r2;
    poison(&r2);
    CHECK_EQ(rtp_packet_parse_raw(b, 5, &r2), RTP_PARSER_PTOOSHRT);
    CHECK_EQ(rtp_packet_parse_raw(b, 20, &r2), RTP_PARSER_OK);
    CHECK_EQ(r2.data_size, 8);
    CHECK_EQ(r2.data_offset, 12);
    CHECK_EQ(r2.nsamples, 8);
    CHECK_EQ(r2.appendable, 1);
    CHECK_EQ(r2.seq, 7);
}

static void test_codecs(void) {
    unsigned char z[512], p[512];
    memset(z, 0, sizeof(z));

    /* one sample per byte: PCMU, PCMA and G.722 (at its 8 kHz RTP clock) */
    size_t sizes[] = {1, 80, 160, 161, 320, 480};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        SAMPLES(RTP_PCMU, sizes[i], z, (int)sizes[i], 1);
        SAMPLES(RTP_PCMA, sizes[i], z, (int)sizes[i], 1);
        SAMPLES(RTP_G722, sizes[i], z, (int)sizes[i], 1);
    }

    /* G.729: 10-byte frames of 80 samples; a shorter tail (CN frame) counts
     * 80 more and makes the packet non-appendable */
    SAMPLES(RTP_G729, 10, z, 80, 1);
    SAMPLES(RTP_G729, 20, z, 160, 1);
    SAMPLES(RTP_G729, 200, z, 1600, 1);
    SAMPLES(RTP_G729, 2, z, 80, 0);
    SAMPLES(RTP_G729, 12, z, 160, 0);
    SAMPLES(RTP_G729, 22, z, 240, 0);
    SAMPLES(RTP_G729, 29, z, 240, 0);

    /* GSM: 33-byte frames of 160 samples, partial frames not counted */
    SAMPLES(RTP_GSM, 33, z, 160, 1);
    SAMPLES(RTP_GSM, 66, z, 320, 1);
    SAMPLES(RTP_GSM, 32, z, 0, 1);
    SAMPLES(RTP_GSM, 65, z, 160, 1);
    SAMPLES(RTP_GSM, 1, z, 0, 1);

    /* G.723: walk the frames by the two low bits of each first octet:
     * 0 = 24-byte 6.3k frame, 1 = 20-byte 5.3k frame, 2 = 4-byte SID,
     * 3 = reserved (unknown); 240 samples each, truncated frames count */
    memset(p, 0, sizeof(p));
    SAMPLES(RTP_G723, 24, p, 240, 1);
    SAMPLES(RTP_G723, 48, p, 480, 1);
    SAMPLES(RTP_G723, 1, p, 240, 1);
    SAMPLES(RTP_G723, 25, p, 480, 1);              /* second frame truncated */
    p[0] = 1;
    SAMPLES(RTP_G723, 20, p, 240, 1);
    SAMPLES(RTP_G723, 21, p, 480, 1);              /* byte 20 is 0: a 6.3k frame */
    p[0] = 2;
    SAMPLES(RTP_G723, 4, p, 240, 1);
    SAMPLES(RTP_G723, 3, p, 240, 1);
    p[4] = 2;
    SAMPLES(RTP_G723, 8, p, 480, 1);               /* two SIDs */
    memset(p, 0, sizeof(p));
    p[0] = 0x44;                                   /* 6.3k (only the low bits count) */
    p[24] = 0x05;                                  /* 5.3k */
    p[44] = 0xfe;                                  /* SID */
    SAMPLES(RTP_G723, 48, p, 720, 1);
    p[0] = 3;
    SAMPLES(RTP_G723, 24, p, RTP_NSAMPLES_UNKNOWN, 1);
    p[0] = 0; p[24] = 0xff;                        /* reserved after a good frame */
    SAMPLES(RTP_G723, 48, p, RTP_NSAMPLES_UNKNOWN, 1);
    p[24] = 1; p[44] = 3;                          /* reserved in the third frame */
    SAMPLES(RTP_G723, 48, p, RTP_NSAMPLES_UNKNOWN, 1);
    p[44] = 2;
    p[1] = 3; p[25] = 3;                           /* other bytes are not frame heads */
    SAMPLES(RTP_G723, 48, p, 720, 1);

    /* everything else is unknown, whatever the size */
    int others[] = {1, 2, RTP_DVI4_8000, RTP_DVI4_16000, RTP_LPC, RTP_L16_MONO, RTP_L16_STEREO,
        RTP_QCELP, RTP_CN, RTP_MPA, RTP_G728, RTP_DVI4_11025, RTP_DVI4_22050, 19, 96, 100, 101, 127};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        SAMPLES(others[i], 1, z, RTP_NSAMPLES_UNKNOWN, 1);
        SAMPLES(others[i], 160, z, RTP_NSAMPLES_UNKNOWN, 1);
        SAMPLES(others[i], 22, z, RTP_NSAMPLES_UNKNOWN, 1);   /* G.729-like size: still appendable */
    }
}

static void test_profiles(void) {
    static const struct { int pt, rate, nch; } audio[] = {
        {0, 8000, 1}, {3, 8000, 1}, {4, 8000, 1}, {5, 8000, 1}, {6, 16000, 1}, {7, 8000, 1},
        {8, 8000, 1}, {9, 8000, 1}, {10, 44100, 1}, {11, 44100, 2}, {12, 8000, 1}, {13, 8000, 1},
        {14, 90000, 2}, {15, 8000, 1}, {16, 11025, 1}, {17, 22050, 1}, {18, 8000, 1},
    };
    for (size_t i = 0; i < sizeof(audio) / sizeof(audio[0]); i++) {
        const struct rtp_profile *p = &rtp_profiles[audio[i].pt];
        CHECK_EQ(p->ts_rate, audio[i].rate);
        CHECK_EQ(p->sample_rate, audio[i].rate);
        CHECK_EQ(p->nchannels, audio[i].nch);
        CHECK_EQ(p->pt_kind, RTP_PTK_AUDIO);
    }
    for (int pt = 1; pt <= 2; pt++) {
        CHECK_EQ(rtp_profiles[pt].ts_rate, 0);
        CHECK_EQ(rtp_profiles[pt].sample_rate, 0);
        CHECK_EQ(rtp_profiles[pt].nchannels, 0);
        CHECK_EQ(rtp_profiles[pt].pt_kind, RTP_PTK_RES);
    }
    for (int pt = 19; pt < 128; pt++) {
        CHECK_EQ(rtp_profiles[pt].ts_rate, 0);
        CHECK_EQ(rtp_profiles[pt].sample_rate, 0);
        CHECK_EQ(rtp_profiles[pt].nchannels, 0);
        CHECK_EQ(rtp_profiles[pt].pt_kind, RTP_PTK_UNK);
    }
    CHECK_EQ(RTP_PTK_AUDIO, 0);
    CHECK_EQ(RTP_PTK_VIDEO, 1);
    CHECK_EQ(RTP_PTK_SIGN, 2);
    CHECK_EQ(RTP_PTK_RES, 3);
    CHECK_EQ(RTP_PTK_UNK, 0);
    CHECK_EQ(sizeof(struct rtp_profile), 16);
}

static void test_errstr(void) {
    static const struct { int code; const char *text; } t[] = {
        {RTP_PARSER_OK, "no error"},
        {RTP_PARSER_PTOOSHRT, "packet is too short for RTP header"},
        {RTP_PARSER_IHDRVER, "incorrect RTP header version"},
        {RTP_PARSER_PTOOSHRTXS, "packet is too short for extended RTP header size"},
        {RTP_PARSER_PTOOSHRTXH, "packet is too short for extended RTP header"},
        {RTP_PARSER_PTOOSHRTPS, "packet is too short for RTP padding size"},
        {RTP_PARSER_PTOOSHRTP, "packet is too short for RTP padding"},
        {RTP_PARSER_IPS, "invalid RTP padding size"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *s = rtp_packet_parse_errstr((rtp_parser_err_t)t[i].code);
        CHECK(s != NULL);
        CHECK_STR(s, t[i].text);
    }
    CHECK_EQ(RTP_PARSER_NOTPARSED, 0);
    CHECK_EQ(RTP_PARSER_OK, 1);
    CHECK_EQ(RTP_PARSER_PTOOSHRT, -1);
    CHECK_EQ(RTP_PARSER_IHDRVER, -2);
    CHECK_EQ(RTP_PARSER_PTOOSHRTXS, -3);
    CHECK_EQ(RTP_PARSER_PTOOSHRTXH, -4);
    CHECK_EQ(RTP_PARSER_PTOOSHRTPS, -5);
    CHECK_EQ(RTP_PARSER_PTOOSHRTP, -6);
    CHECK_EQ(RTP_PARSER_IPS, -7);
}

int main(void) {
    test_errors();
    test_fields();
    test_codecs();
    test_profiles();
    test_errstr();
    TEST_DONE("test_parse");
}
