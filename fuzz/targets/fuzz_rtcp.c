/*
 * libFuzzer target: rtcp.h's parser and a session's input.
 *  1. The whole input as one compound RTCP packet: walk it with
 *     rtcp_parse_next, call every accessor, and check that what is
 *     reported lies inside the buffer and is self-consistent, and that
 *     rtcp_check_compound agrees with the walk.
 *  2. The input as a script for a session: records of
 *     [op][dt_ms:2][len][len bytes]: RTP in, RTCP in, RTP sent, poll /
 *     report / bye. Every report built must be a valid compound.
 */
#include "fuzz_common.h"

#include "rtcp.h"

static void walk(const uint8_t *buf, size_t size) {
    size_t pos = 0;
    struct rtcp_pkt p;
    int r, k = 0, first = 0;
    while ((r = rtcp_parse_next(buf, size, &pos, &p)) == 1) {
        FZ_CHECK(p.raw == buf + p.offset);
        FZ_CHECK(p.raw_len >= 4 && p.raw_len % 4 == 0);
        FZ_CHECK(p.offset + p.raw_len == pos && pos <= size);
        FZ_CHECK(p.malformed == 0);
        if (p.data != NULL)
            FZ_CHECK(p.data >= p.raw && p.data + p.data_len <= p.raw + p.raw_len);
        if (k++ == 0)
            first = p.type;
        struct rtcp_report_block b;
        uint32_t s;
        uint8_t q;
        int t;
        const uint8_t *text;
        size_t tl;
        switch (p.type) {
        case RTCP_SR:
        case RTCP_RR:
            FZ_CHECK(p.n == (unsigned)p.count);
            for (unsigned i = 0; i < p.n; i++)
                FZ_CHECK(rtcp_pkt_block(&p, i, &b) == 0 && b.fraction_lost < 256);
            FZ_CHECK(rtcp_pkt_block(&p, p.n, &b) == -EINVAL);
            break;
        case RTCP_SDES:
            for (unsigned i = 0; i < p.n; i++) {
                FZ_CHECK(rtcp_pkt_sdes_item(&p, i, &s, &t, &text, &tl) == 0);
                FZ_CHECK(t > 0 && tl <= 255 && text >= p.raw && text + tl <= p.raw + p.raw_len);
            }
            FZ_CHECK(rtcp_pkt_sdes_item(&p, p.n, &s, &t, &text, &tl) == -EINVAL);
            break;
        case RTCP_BYE:
            FZ_CHECK(p.n == (unsigned)p.count);
            for (unsigned i = 0; i < p.n; i++)
                FZ_CHECK(rtcp_pkt_bye_ssrc(&p, i, &s) == 0);
            FZ_CHECK(rtcp_pkt_bye_ssrc(&p, p.n, &s) == -EINVAL);
            break;
        case RTCP_RTPFB:
            if (p.count == RTCP_FMT_NACK) {
                uint16_t seqs[64];
                FZ_CHECK(p.n >= 1);
                FZ_CHECK(rtcp_pkt_nack_seqs(&p, seqs, 64) == (int)p.n);
            }
            break;
        case RTCP_PSFB:
            if (p.count == RTCP_FMT_FIR) {
                FZ_CHECK(p.n >= 1);
                for (unsigned i = 0; i < p.n; i++)
                    FZ_CHECK(rtcp_pkt_fir_entry(&p, i, &s, &q) == 0);
                FZ_CHECK(rtcp_pkt_fir_entry(&p, p.n, &s, &q) == -EINVAL);
            }
            break;
        default:
            break;
        }
    }
    int why = 0;
    int c = rtcp_check_compound(buf, size, &why);
    if (r < 0) {
        FZ_CHECK(r == -EBADMSG);
        FZ_CHECK(p.malformed >= RTCP_MALFORMED_TRUNCATED && p.malformed <= RTCP_MALFORMED_BODY);
        /* check_compound stops at a first packet that is not a report */
        if (k > 0 && first != RTCP_SR && first != RTCP_RR)
            FZ_CHECK(c == -EPROTO);
        else
            FZ_CHECK(c == -EBADMSG && why == p.malformed);
    } else {
        FZ_CHECK(pos == size);
        if (first != RTCP_SR && first != RTCP_RR)
            FZ_CHECK(c == -EPROTO);
        else
            FZ_CHECK(c == k || c == -ENOENT);
    }
    if (rtcp_is_rtcp(buf, size))
        FZ_CHECK(size >= 4 && buf[1] >= 192 && buf[1] <= 223);
}

static void check_report(const uint8_t *out, int n, size_t cap) {
    FZ_CHECK(n >= 0 || n == -ENOBUFS || n == -ESHUTDOWN);
    if (n > 0) {
        FZ_CHECK((size_t)n <= cap);
        FZ_CHECK(rtcp_check_compound(out, (size_t)n, NULL) >= 2);
    }
}

static void session(const uint8_t *data, size_t size) {
    struct fz_in in = { data, size };
    struct rtcp_session_cfg cfg = {
        .size = sizeof cfg, .ssrc = fz_u32(&in), .clock_rate = 8000u << (fz_u8(&in) & 3),
        .cname = "fuzz@example", .max_sources = 8, .seed = 1,
    };
    struct rtcp_session *s = rtcp_session_ctor(&cfg, 0, NULL);
    FZ_CHECK(s != NULL);
    uint64_t now = 0;
    uint8_t out[1500];
    while (fz_left(&in)) {
        uint8_t op = fz_u8(&in);
        now += (uint64_t)fz_u16(&in) * 1000000u;
        const uint8_t *b;
        size_t len = fz_bytes(&in, fz_u8(&in), &b);
        /* exact-size copy: an over-read is an ASan report */
        uint8_t *pkt = malloc(len ? len : 1);
        FZ_CHECK(pkt != NULL);
        if (len)
            memcpy(pkt, b, len);
        int r;
        switch (op & 7) {
        case 0:
        case 1:
            r = rtcp_session_rtp_in(s, pkt, len, now);
            FZ_CHECK((r >= RTCP_SEQ_VALID && r <= RTCP_SEQ_RESTARTED) || r == -EBADMSG);
            break;
        case 2:
        case 3:
            r = rtcp_session_rtcp_in(s, pkt, len, now);
            FZ_CHECK(r >= 1 || r == -EBADMSG);
            break;
        case 4:
            r = rtcp_session_rtp_sent(s, pkt, len, now);
            FZ_CHECK(r == 0 || r == -EBADMSG);
            break;
        case 5:
            check_report(out, rtcp_session_poll(s, now, now, out, (size_t)(op >> 3) * 50), (size_t)(op >> 3) * 50);
            break;
        case 6:
            check_report(out, rtcp_session_report(s, now, now, out, sizeof out), sizeof out);
            break;
        default:
            if (op == 0xff)
                check_report(out, rtcp_session_bye(s, now, now, "x", out, sizeof out), sizeof out);
            break;
        }
        free(pkt);
        struct rtcp_event ev;
        while (rtcp_session_next_event(s, &ev) == 1)
            FZ_CHECK(ev.type >= RTCP_EV_NEW_SOURCE && ev.type <= RTCP_EV_SEQ_RESTART);
    }
    int n = rtcp_session_remote_count(s);
    FZ_CHECK(n >= 0 && n <= 8);
    for (int i = 0; i < n; i++) {
        struct rtcp_remote_info ri;
        FZ_CHECK(rtcp_session_remote(s, (unsigned)i, &ri) == 0);
        FZ_CHECK(ri.stats.lost == (int64_t)ri.stats.expected - (int64_t)ri.stats.received);
        FZ_CHECK(ri.stats.received <= ri.stats.packets);
        FZ_CHECK(memchr(ri.cname, 0, sizeof ri.cname) != NULL);
    }
    rtcp_session_dtor(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    FZ_CHECK(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    walk(buf, size);
    session(buf, size);
    free(buf);
    return 0;
}
