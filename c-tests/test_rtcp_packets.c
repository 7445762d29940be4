/* rtcp.h: building and parsing every packet type, compound rules, padding,
 * RFC 5761 demultiplexing, and every malformed shape. */
#include <string.h>

#include "rtcp.h"
#include "testutil.h"

static struct rtcp_report_block block(unsigned i) {
    struct rtcp_report_block b = {
        .ssrc = 0x1000 + i, .fraction_lost = i, .cumulative_lost = -(int)i * 3,
        .ext_highest_seq = 70000 + i, .jitter = 10 * i, .lsr = 0xabcd0000u + i,
        .dlsr = 65536 + i,
    };
    return b;
}

static void same_block(const struct rtcp_report_block *a, const struct rtcp_report_block *b) {
    CHECK_EQ(a->ssrc, b->ssrc);
    CHECK_EQ(a->fraction_lost, b->fraction_lost);
    CHECK_EQ(a->cumulative_lost, b->cumulative_lost);
    CHECK_EQ(a->ext_highest_seq, b->ext_highest_seq);
    CHECK_EQ(a->jitter, b->jitter);
    CHECK_EQ(a->lsr, b->lsr);
    CHECK_EQ(a->dlsr, b->dlsr);
}

static void test_report_compound(void) {
    uint8_t buf[2048];
    struct rtcp_report_block blocks[32];
    for (unsigned i = 0; i < 32; i++)
        blocks[i] = block(i);
    struct rtcp_sender_info si = { .ntp = 0xe000000180000000ull, .rtp_ts = 12345,
                                   .packets = 50, .octets = 8000 };
    int n = rtcp_build_sr(buf, sizeof buf, 0xaabbccdd, &si, blocks, 31);
    CHECK_EQ(n, 28 + 31 * 24);
    CHECK_EQ(rtcp_build_sr(buf, sizeof buf, 1, &si, blocks, 32), -E2BIG);
    CHECK_EQ(rtcp_build_sr(buf, 100, 1, &si, blocks, 31), -ENOBUFS);
    size_t off = (size_t)n;
    struct rtcp_sdes_item items[3] = {
        { RTCP_SDES_CNAME, "user@host", 9 }, { RTCP_SDES_TOOL, "rtpsynth", 8 },
        { RTCP_SDES_NOTE, NULL, 0 },
    };
    n = rtcp_build_sdes(buf + off, sizeof buf - off, 0xaabbccdd, items, 3);
    CHECK(n > 0 && n % 4 == 0);
    off += (size_t)n;
    uint32_t bye_ssrcs[2] = { 0xaabbccdd, 7 };
    n = rtcp_build_bye(buf + off, sizeof buf - off, bye_ssrcs, 2, "going", 5);
    CHECK_EQ(n, 4 + 8 + 8);
    off += (size_t)n;
    uint8_t appdata[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    n = rtcp_build_app(buf + off, sizeof buf - off, 5, 9, "TEST", appdata, 8);
    CHECK_EQ(n, 20);
    off += (size_t)n;
    CHECK_EQ(rtcp_check_compound(buf, off, NULL), 4);

    size_t pos = 0;
    struct rtcp_pkt p;
    CHECK_EQ(rtcp_parse_next(buf, off, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_SR);
    CHECK_EQ(p.count, 31);
    CHECK_EQ(p.n, 31);
    CHECK_EQ(p.ssrc, 0xaabbccdd);
    CHECK(p.sender.ntp == si.ntp);
    CHECK_EQ(p.sender.rtp_ts, 12345);
    CHECK_EQ(p.sender.packets, 50);
    CHECK_EQ(p.sender.octets, 8000);
    CHECK_EQ(p.offset, 0);
    CHECK(p.raw == buf);
    for (unsigned i = 0; i < 31; i++) {
        struct rtcp_report_block b;
        CHECK_EQ(rtcp_pkt_block(&p, i, &b), 0);
        same_block(&b, &blocks[i]);
    }
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_pkt_block(&p, 31, &b), -EINVAL);

    CHECK_EQ(rtcp_parse_next(buf, off, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_SDES);
    CHECK_EQ(p.n, 3);
    CHECK_EQ(p.ssrc, 0xaabbccdd);
    uint32_t ssrc;
    int type;
    const uint8_t *text;
    size_t tlen;
    CHECK_EQ(rtcp_pkt_sdes_item(&p, 0, &ssrc, &type, &text, &tlen), 0);
    CHECK_EQ(ssrc, 0xaabbccdd);
    CHECK_EQ(type, RTCP_SDES_CNAME);
    CHECK_EQ(tlen, 9);
    CHECK(memcmp(text, "user@host", 9) == 0);
    CHECK_EQ(rtcp_pkt_sdes_item(&p, 1, NULL, &type, &text, &tlen), 0);
    CHECK_EQ(type, RTCP_SDES_TOOL);
    CHECK(memcmp(text, "rtpsynth", 8) == 0);
    CHECK_EQ(rtcp_pkt_sdes_item(&p, 2, NULL, &type, NULL, &tlen), 0);
    CHECK_EQ(type, RTCP_SDES_NOTE);
    CHECK_EQ(tlen, 0);
    CHECK_EQ(rtcp_pkt_sdes_item(&p, 3, NULL, NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(rtcp_pkt_block(&p, 0, &b), -EINVAL);

    CHECK_EQ(rtcp_parse_next(buf, off, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_BYE);
    CHECK_EQ(p.n, 2);
    CHECK_EQ(rtcp_pkt_bye_ssrc(&p, 1, &ssrc), 0);
    CHECK_EQ(ssrc, 7);
    CHECK_EQ(rtcp_pkt_bye_ssrc(&p, 2, &ssrc), -EINVAL);
    CHECK_EQ(p.data_len, 5);
    CHECK(memcmp(p.data, "going", 5) == 0);

    CHECK_EQ(rtcp_parse_next(buf, off, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_APP);
    CHECK_EQ(p.count, 5);
    CHECK_EQ(p.ssrc, 9);
    CHECK(memcmp(p.app_name, "TEST", 4) == 0);
    CHECK_EQ(p.data_len, 8);
    CHECK(memcmp(p.data, appdata, 8) == 0);

    CHECK_EQ(rtcp_parse_next(buf, off, &pos, &p), 0);
    CHECK_EQ(pos, off);

    /* RR round trip, and 24-bit clamping of the cumulative lost. */
    struct rtcp_report_block big = block(1);
    big.cumulative_lost = 0x1000000;
    n = rtcp_build_rr(buf, sizeof buf, 5, &big, 1);
    CHECK_EQ(n, 32);
    CHECK_EQ(buf[13], 0x7f);
    pos = 0;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_RR);
    CHECK_EQ(rtcp_pkt_block(&p, 0, &b), 0);
    CHECK_EQ(b.cumulative_lost, 0x7fffff);
    big.cumulative_lost = -0x1000000;
    rtcp_build_rr(buf, sizeof buf, 5, &big, 1);
    CHECK_EQ(rtcp_pkt_block(&p, 0, &b), 0);
    CHECK_EQ(b.cumulative_lost, -0x800000);
}

static void test_feedback(void) {
    uint8_t buf[512];
    const uint16_t lost[] = { 100, 101, 103, 116, 117, 200, 65535, 0, 1 };
    int n = rtcp_build_nack(buf, sizeof buf, 1, 2, lost, 9);
    CHECK_EQ(n, 12 + 4 * 4);
    CHECK_EQ(buf[0], 0x81);
    CHECK_EQ(buf[1], RTCP_RTPFB);
    /* First entry: PID 100, BLP bits 0, 2 and 15. */
    CHECK(buf[12] == 0 && buf[13] == 100 && buf[14] == 0x80 && buf[15] == 0x05);
    size_t pos = 0;
    struct rtcp_pkt p;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_RTPFB);
    CHECK_EQ(p.count, RTCP_FMT_NACK);
    CHECK_EQ(p.ssrc, 1);
    CHECK_EQ(p.media_ssrc, 2);
    CHECK_EQ(p.n, 9);
    uint16_t seqs[16];
    CHECK_EQ(rtcp_pkt_nack_seqs(&p, seqs, 16), 9);
    for (int i = 0; i < 9; i++)
        CHECK_EQ(seqs[i], lost[i]);
    CHECK_EQ(rtcp_pkt_nack_seqs(&p, seqs, 2), 9); /* count, 2 written */
    CHECK_EQ(rtcp_pkt_nack_seqs(&p, NULL, 0), 9);
    CHECK_EQ(rtcp_pkt_nack_seqs(&p, NULL, 3), -EINVAL);
    CHECK_EQ(rtcp_build_nack(buf, sizeof buf, 1, 2, lost, 0), -EINVAL);

    n = rtcp_build_pli(buf, sizeof buf, 3, 4);
    CHECK_EQ(n, 12);
    pos = 0;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK(p.type == RTCP_PSFB && p.count == RTCP_FMT_PLI && p.ssrc == 3 && p.media_ssrc == 4);
    CHECK_EQ(rtcp_pkt_nack_seqs(&p, seqs, 16), -EINVAL);

    uint32_t fs[2] = { 6, 8 };
    uint8_t fq[2] = { 7, 9 };
    n = rtcp_build_fir(buf, sizeof buf, 5, fs, fq, 2);
    CHECK_EQ(n, 12 + 16);
    pos = 0;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK(p.type == RTCP_PSFB && p.count == RTCP_FMT_FIR && p.n == 2 && p.media_ssrc == 0);
    uint32_t s;
    uint8_t q;
    CHECK_EQ(rtcp_pkt_fir_entry(&p, 1, &s, &q), 0);
    CHECK(s == 8 && q == 9);
    CHECK_EQ(rtcp_pkt_fir_entry(&p, 2, &s, &q), -EINVAL);
    CHECK_EQ(rtcp_build_fir(buf, sizeof buf, 5, fs, fq, 0), -EINVAL);
}

static void test_padding(void) {
    uint8_t buf[256];
    struct rtcp_report_block b = block(1);
    int n = rtcp_build_rr(buf, sizeof buf, 1, &b, 1);
    struct rtcp_sdes_item it = { RTCP_SDES_CNAME, "x", 1 };
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 1, &it, 1);
    CHECK_EQ(n, 32 + 12);
    CHECK_EQ(rtcp_pad(buf, (size_t)n, 50, 64), -ENOBUFS);
    int m = rtcp_pad(buf, (size_t)n, sizeof buf, 64);
    CHECK_EQ(m, 64);
    CHECK_EQ(buf[m - 1], 64 - 44);
    CHECK(buf[32] & 0x20);
    CHECK((buf[0] & 0x20) == 0);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)m, NULL), 2);
    /* Already padded: refused. */
    CHECK_EQ(rtcp_pad(buf, (size_t)m, sizeof buf, 128), -EINVAL);
    CHECK_EQ(rtcp_pad(buf, (size_t)m, sizeof buf, 6), -EINVAL);
    CHECK_EQ(rtcp_pad(buf, 0, sizeof buf, 8), -EINVAL);
    /* Padding moved to the first packet is an error. */
    buf[0] |= 0x20;
    int why = 0;
    CHECK_EQ(rtcp_check_compound(buf, (size_t)m, &why), -EBADMSG);
    CHECK_EQ(why, RTCP_MALFORMED_PADDING_NOT_LAST);
}

static void test_compound_rules(void) {
    uint8_t buf[256];
    struct rtcp_sdes_item it = { RTCP_SDES_CNAME, "x", 1 };
    int n = rtcp_build_sdes(buf, sizeof buf, 1, &it, 1);
    n += rtcp_build_rr(buf + n, sizeof buf - (size_t)n, 1, NULL, 0);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)n, NULL), -EPROTO);
    n = rtcp_build_rr(buf, sizeof buf, 1, NULL, 0);
    struct rtcp_sdes_item nm = { RTCP_SDES_NAME, "x", 1 };
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 1, &nm, 1);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)n, NULL), -ENOENT);
    CHECK_EQ(rtcp_check_compound(NULL, 4, NULL), -EINVAL);
    int why = 0;
    CHECK_EQ(rtcp_check_compound(buf, 0, &why), -EBADMSG);
    CHECK_EQ(why, RTCP_MALFORMED_TRUNCATED);
}

static int malformed(const uint8_t *b, size_t len) {
    size_t pos = 0;
    struct rtcp_pkt p;
    int r;
    while ((r = rtcp_parse_next(b, len, &pos, &p)) == 1)
        ;
    CHECK_EQ(r, -EBADMSG);
    CHECK(p.malformed > 0);
    CHECK(strcmp(rtcp_malformed_str(p.malformed), "unknown") != 0);
    return p.malformed;
}

static void test_malformed(void) {
#define M(...) do { const uint8_t b[] = { __VA_ARGS__ }; last = malformed(b, sizeof b); } while (0)
    int last;
    CHECK_EQ(malformed((const uint8_t *)"", 0), RTCP_MALFORMED_TRUNCATED);
    M(0x80, 201, 0);
    CHECK_EQ(last, RTCP_MALFORMED_TRUNCATED);
    M(0x40, 201, 0, 1, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_BAD_VERSION);
    M(0x80, 201, 0, 2, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_LENGTH);
    M(0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201);
    CHECK_EQ(last, RTCP_MALFORMED_TRUNCATED);
    M(0x81, 201, 0, 1, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_COUNT);
    M(0x80, 201, 0, 0);
    CHECK_EQ(last, RTCP_MALFORMED_TOO_SHORT);
    M(0xa0, 201, 0, 1, 0, 0, 0, 0);
    CHECK_EQ(last, RTCP_MALFORMED_BAD_PADDING);
    M(0xa0, 201, 0, 1, 0, 0, 0, 9);
    CHECK_EQ(last, RTCP_MALFORMED_BAD_PADDING);
    M(0xa0, 201, 0, 1, 0, 0, 0, 4, 0x80, 201, 0, 1, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_PADDING_NOT_LAST);
    M(0x82, 202, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0);
    CHECK_EQ(last, RTCP_MALFORMED_COUNT);
    M(0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 'a', 0);
    CHECK_EQ(last, RTCP_MALFORMED_SDES);
    M(0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 'a', 'b');
    CHECK_EQ(last, RTCP_MALFORMED_SDES);
    M(0x82, 203, 0, 1, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_COUNT);
    M(0x81, 203, 0, 2, 0, 0, 0, 1, 5, 'a', 'b', 'c');
    CHECK_EQ(last, RTCP_MALFORMED_BODY);
    M(0x80, 204, 0, 1, 0, 0, 0, 1);
    CHECK_EQ(last, RTCP_MALFORMED_TOO_SHORT);
    M(0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2);
    CHECK_EQ(last, RTCP_MALFORMED_BODY);
    M(0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5);
    CHECK_EQ(last, RTCP_MALFORMED_BODY);
    {
        uint8_t sr[20] = { 0x80, 200, 0, 4 };
        CHECK_EQ(malformed(sr, sizeof sr), RTCP_MALFORMED_TOO_SHORT);
    }
#undef M
    /* The error leaves the offset on the bad sub-packet. */
    const uint8_t two[] = { 0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201, 0, 9, 0, 0, 0, 1 };
    size_t pos = 0;
    struct rtcp_pkt p;
    CHECK_EQ(rtcp_parse_next(two, sizeof two, &pos, &p), 1);
    CHECK_EQ(rtcp_parse_next(two, sizeof two, &pos, &p), -EBADMSG);
    CHECK_EQ(pos, 8);
    CHECK_EQ(p.offset, 8);
    CHECK_EQ(p.malformed, RTCP_MALFORMED_LENGTH);
    /* A failed pkt can't be used with the accessors. */
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_pkt_block(&p, 0, &b), -EINVAL);
    CHECK_STR(rtcp_malformed_str(99), "unknown");
}

static void test_every_prefix_of_a_compound(void) {
    uint8_t buf[512];
    struct rtcp_sender_info si = { 1, 2, 3, 4 };
    struct rtcp_report_block bl[2] = { block(1), block(2) };
    int n = rtcp_build_sr(buf, sizeof buf, 1, &si, bl, 2);
    struct rtcp_sdes_item it = { RTCP_SDES_CNAME, "abc", 3 };
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 1, &it, 1);
    const uint16_t lost[] = { 1, 2, 40 };
    n += rtcp_build_nack(buf + n, sizeof buf - (size_t)n, 1, 2, lost, 3);
    n = rtcp_pad(buf, (size_t)n, sizeof buf, 32);
    CHECK(n > 0);
    /* Copy every prefix to an exact-size heap block so that an over-read
     * shows under valgrind / ASan. */
    for (int cut = 0; cut <= n; cut++) {
        uint8_t *c = malloc(cut ? (size_t)cut : 1);
        memcpy(c, buf, (size_t)cut);
        size_t pos = 0;
        struct rtcp_pkt p;
        int r, k = 0;
        while ((r = rtcp_parse_next(c, (size_t)cut, &pos, &p)) == 1) {
            k++;
            struct rtcp_report_block b;
            uint16_t seqs[64];
            rtcp_pkt_block(&p, 0, &b);
            rtcp_pkt_nack_seqs(&p, seqs, 64);
            rtcp_pkt_sdes_item(&p, 0, NULL, NULL, NULL, NULL);
        }
        if (cut == n)
            CHECK(r == 0 && k == 3);
        else
            CHECK(k < 3);
        (void)rtcp_is_rtcp(c, (size_t)cut);
        (void)rtcp_check_compound(c, (size_t)cut, NULL);
        free(c);
    }
}

static void test_demux_and_nulls(void) {
    const uint8_t sr[4] = { 0x80, 200, 0, 6 };
    const uint8_t rtp0[12] = { 0x80, 0 };
    const uint8_t rtp_m96[12] = { 0x80, 0xe0 };
    const uint8_t rtp_m72[12] = { 0x80, 0xc8 }; /* PT 72 with marker: why RFC 5761 forbids PT 64-95 */
    CHECK_EQ(rtcp_is_rtcp(sr, 4), 1);
    CHECK_EQ(rtcp_is_rtcp(rtp0, 12), 0);
    CHECK_EQ(rtcp_is_rtcp(rtp_m96, 12), 0);
    CHECK_EQ(rtcp_is_rtcp(rtp_m72, 12), 1);
    CHECK_EQ(rtcp_is_rtcp(sr, 2), 0);
    CHECK_EQ(rtcp_is_rtcp(NULL, 4), 0);
    const uint8_t v1[4] = { 0x40, 200, 0, 0 };
    CHECK_EQ(rtcp_is_rtcp(v1, 4), 0);

    uint8_t buf[64];
    size_t pos = 0;
    struct rtcp_pkt p;
    CHECK_EQ(rtcp_parse_next(NULL, 4, &pos, &p), -EINVAL);
    CHECK_EQ(rtcp_parse_next(sr, 4, NULL, &p), -EINVAL);
    CHECK_EQ(rtcp_parse_next(sr, 4, &pos, NULL), -EINVAL);
    pos = 5;
    CHECK_EQ(rtcp_parse_next(sr, 4, &pos, &p), -EINVAL);
    CHECK_EQ(rtcp_build_sr(NULL, 64, 1, NULL, NULL, 0), -EINVAL);
    struct rtcp_sender_info si = { 0 };
    CHECK_EQ(rtcp_build_sr(NULL, 64, 1, &si, NULL, 0), -EINVAL);
    CHECK_EQ(rtcp_build_sr(buf, 64, 1, &si, NULL, 1), -EINVAL);
    CHECK_EQ(rtcp_build_rr(buf, 7, 1, NULL, 0), -ENOBUFS);
    struct rtcp_sdes_item bad = { 0, "x", 1 };
    CHECK_EQ(rtcp_build_sdes(buf, 64, 1, &bad, 1), -EINVAL);
    struct rtcp_sdes_item nulltext = { 1, NULL, 3 };
    CHECK_EQ(rtcp_build_sdes(buf, 64, 1, &nulltext, 1), -EINVAL);
    struct rtcp_sdes_item longtext = { 1, "x", 256 };
    CHECK_EQ(rtcp_build_sdes(buf, 64, 1, &longtext, 1), -EINVAL);
    CHECK_EQ(rtcp_build_bye(buf, 64, NULL, 1, NULL, 0), -EINVAL);
    uint32_t many[32] = { 0 };
    CHECK_EQ(rtcp_build_bye(buf, 256, many, 32, NULL, 0), -E2BIG);
    CHECK_EQ(rtcp_build_app(buf, 64, 32, 1, "ABCD", NULL, 0), -EINVAL);
    CHECK_EQ(rtcp_build_app(buf, 64, 1, 1, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(rtcp_build_app(buf, 64, 1, 1, "ABCD", "ab", 2), -EINVAL);
    CHECK_EQ(rtcp_build_nack(buf, 64, 1, 2, NULL, 3), -EINVAL);
    CHECK_EQ(rtcp_build_pli(NULL, 64, 1, 2), -EINVAL);
    CHECK_EQ(rtcp_build_pli(buf, 11, 1, 2), -ENOBUFS);
    CHECK_EQ(rtcp_pkt_block(NULL, 0, NULL), -EINVAL);
    CHECK_EQ(rtcp_pkt_bye_ssrc(NULL, 0, NULL), -EINVAL);
    CHECK_EQ(rtcp_pkt_fir_entry(NULL, 0, NULL, NULL), -EINVAL);
    CHECK_EQ(rtcp_pad(NULL, 8, 64, 8), -EINVAL);
    CHECK(rtcp_ntp_from_unix_ns(0) == (2208988800ull << 32));
    CHECK(rtcp_ntp_from_unix_ns(1500000000ull) == ((2208988801ull << 32) | 0x80000000ull));
}

int main(void) {
    test_report_compound();
    test_feedback();
    test_padding();
    test_compound_rules();
    test_malformed();
    test_every_prefix_of_a_compound();
    test_demux_and_nulls();
    TEST_DONE("test_rtcp_packets");
}
