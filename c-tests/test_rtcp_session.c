/* rtcp.h sessions: report contents, A.7 scheduling with an injected random
 * source, two sessions exchanging reports (loss, LSR/DLSR, RTT), events,
 * BYE, bad input. All times explicit: no clock, no sleeping. */
#include <math.h>
#include <string.h>

#include "rtcp.h"
#include "testutil.h"

#define MS 1000000ull
#define S 1000000000ull
#define WALL (1700000000ull * S)

static double half(void *arg) {
    (*(int *)arg)++;
    return 0.5;
}

static struct rtcp_session *mk(uint32_t ssrc, const char *cname, uint64_t now) {
    struct rtcp_session_cfg cfg = {
        .size = sizeof cfg, .ssrc = ssrc, .clock_rate = 8000, .cname = cname,
        .session_bw_bps = 0, .max_sources = 64, .seed = 7,
    };
    int err = 1;
    struct rtcp_session *s = rtcp_session_ctor(&cfg, now, &err);
    CHECK(s != NULL);
    CHECK_EQ(err, 0);
    return s;
}

static size_t rtp(uint8_t *p, uint32_t ssrc, uint16_t seq, uint32_t ts) {
    memset(p, 0xff, 172);
    p[0] = 0x80;
    p[1] = 0;
    p[2] = (uint8_t)(seq >> 8); p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24); p[5] = (uint8_t)(ts >> 16); p[6] = (uint8_t)(ts >> 8); p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24); p[9] = (uint8_t)(ssrc >> 16); p[10] = (uint8_t)(ssrc >> 8); p[11] = (uint8_t)ssrc;
    return 172;
}

static void test_scheduling(void) {
    const double comp = exp(1.0) - 1.5;
    uint64_t t0 = 50 * S;
    struct rtcp_session *s = mk(1, "me@host", t0);
    int calls = 0;
    CHECK_EQ(rtcp_session_set_rand(s, half, &calls), 0);
    uint64_t due = rtcp_session_next_report(s);
    /* First interval from the seeded generator: 2.5 s * (0.5..1.5) / (e - 1.5). */
    CHECK(due >= t0 + (uint64_t)(1.25 / comp * 1e9) && due <= t0 + (uint64_t)(3.75 / comp * 1e9) + 1);
    uint8_t buf[1500];
    CHECK_EQ(rtcp_session_poll(s, due - 1, WALL, buf, sizeof buf), 0);
    /* At `due` the interval is recomputed with r = 0.5: 2.5 / (e - 1.5) s.
     * Reconsideration sends now if that ends by now, else moves the time. */
    uint64_t first = t0 + (uint64_t)(2.5 / comp * 1e9);
    int n = rtcp_session_poll(s, due, WALL, buf, sizeof buf);
    CHECK(n >= 0);
    CHECK(calls >= 1);
    uint64_t sent_at = due;
    if (n == 0) {
        CHECK(rtcp_session_next_report(s) == first);
        sent_at = first;
        n = rtcp_session_poll(s, first, WALL, buf, sizeof buf);
    }
    CHECK(n > 0);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)n, NULL), 2);
    /* Then the 5 s minimum: 5 * 1.0 / (e - 1.5). */
    CHECK(rtcp_session_next_report(s) == sent_at + (uint64_t)(5.0 / comp * 1e9));
    /* Back to the built-in generator. */
    CHECK_EQ(rtcp_session_set_rand(s, NULL, NULL), 0);
    rtcp_session_dtor(s);
}

static void test_reports_between_two_sessions(void) {
    struct rtcp_session *a = mk(0xaaaa, "alice", 0);
    struct rtcp_session *b = mk(0xbbbb, "bob", 0);
    uint8_t pkt[200], buf[1500];
    /* a sends 100 packets, 20 ms apart; 50 and 51 are lost; 10 ms path. */
    for (uint16_t i = 0; i < 100; i++) {
        uint64_t t = i * 20 * MS;
        size_t len = rtp(pkt, 0xaaaa, i, 160u * i);
        CHECK_EQ(rtcp_session_rtp_sent(a, pkt, len, t), 0);
        if (i != 50 && i != 51) {
            int st = rtcp_session_rtp_in(b, pkt, len, t + 10 * MS);
            CHECK(st == (i == 0 ? RTCP_SEQ_PROBATION : i == 1 ? RTCP_SEQ_VALIDATED : RTCP_SEQ_VALID));
        }
    }
    uint64_t t_sr = 2 * S;
    int n = rtcp_session_report(a, t_sr, WALL, buf, sizeof buf);
    CHECK(n > 0);
    /* SR: 100 packets of 160 octets, RTP ts extrapolated from the last
     * packet (ts 15840 at 1.98 s) to 2 s: + 160. */
    size_t pos = 0;
    struct rtcp_pkt p;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_SR);
    CHECK_EQ(p.sender.packets, 100);
    CHECK_EQ(p.sender.octets, 16000);
    CHECK_EQ(p.sender.rtp_ts, 15840 + 160);
    CHECK(p.sender.ntp == rtcp_ntp_from_unix_ns(WALL));
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_SDES);
    CHECK_EQ(rtcp_session_rtcp_in(b, buf, (size_t)n, t_sr + 10 * MS), 2);

    struct rtcp_remote_info ri;
    CHECK_EQ(rtcp_session_remote_by_ssrc(b, 0xaaaa, &ri), 0);
    CHECK_STR(ri.cname, "alice");
    CHECK_EQ(ri.has_sr, 1);
    CHECK_EQ(ri.last_sr.packets, 100);
    CHECK_EQ(ri.stats.lost, 2);
    CHECK_EQ(ri.stats.expected, 100);
    CHECK_EQ(ri.rtcp_packets, 1);
    CHECK_EQ(rtcp_session_remote_by_ssrc(b, 0x1234, &ri), -ENOENT);

    /* b reports 490 ms after the SR arrived. */
    uint64_t t_rr = t_sr + 500 * MS;
    n = rtcp_session_report(b, t_rr, WALL, buf, sizeof buf);
    CHECK(n > 0);
    pos = 0;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_RR);
    CHECK_EQ(p.n, 1);
    struct rtcp_report_block blk;
    CHECK_EQ(rtcp_pkt_block(&p, 0, &blk), 0);
    CHECK_EQ(blk.ssrc, 0xaaaa);
    CHECK_EQ(blk.cumulative_lost, 2);
    CHECK_EQ(blk.fraction_lost, 5); /* 2 * 256 / 100 */
    CHECK_EQ(blk.ext_highest_seq, 99);
    CHECK_EQ(blk.lsr, (uint32_t)(rtcp_ntp_from_unix_ns(WALL) >> 16));
    CHECK_EQ(blk.dlsr, 490 * 65536 / 1000);
    CHECK(blk.jitter == 0);

    CHECK_EQ(rtcp_session_rtcp_in(a, buf, (size_t)n, t_rr + 10 * MS), 2);
    CHECK_EQ(rtcp_session_remote_by_ssrc(a, 0xbbbb, &ri), 0);
    CHECK_EQ(ri.has_report, 1);
    CHECK_EQ(ri.report_about_us.cumulative_lost, 2);
    /* RTT = A - LSR - DLSR = 20 ms, within DLSR's 1/65536 s. */
    CHECK(ri.rtt_ns > 0);
    CHECK(llabs(ri.rtt_ns - (long long)(20 * MS)) < 20000);

    struct rtcp_sender_stats ss;
    CHECK_EQ(rtcp_session_sender_stats(a, &ss), 0);
    CHECK_EQ(ss.packets, 100);
    CHECK_EQ(ss.octets, 16000);
    CHECK_EQ(ss.rtcp_sent, 1);
    CHECK_EQ(ss.rtcp_received, 1);
    CHECK_EQ(rtcp_session_remote_count(a), 1);
    CHECK_EQ(rtcp_session_remote(a, 0, &ri), 0);
    CHECK_EQ(ri.ssrc, 0xbbbb);
    CHECK_EQ(rtcp_session_remote(a, 1, &ri), -EINVAL);

    /* a sent nothing since: RR next. */
    n = rtcp_session_report(a, 3 * S, WALL, buf, sizeof buf);
    pos = 0;
    CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_RR);

    /* BYE closes. */
    n = rtcp_session_bye(a, 4 * S, WALL, "bye now", buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)n, NULL), 3);
    pos = 0;
    for (int k = 0; k < 3; k++)
        CHECK_EQ(rtcp_parse_next(buf, (size_t)n, &pos, &p), 1);
    CHECK_EQ(p.type, RTCP_BYE);
    CHECK_EQ(p.data_len, 7);
    CHECK(memcmp(p.data, "bye now", 7) == 0);
    CHECK_EQ(rtcp_session_report(a, 5 * S, WALL, buf, sizeof buf), -ESHUTDOWN);
    CHECK_EQ(rtcp_session_poll(a, 50 * S, WALL, buf, sizeof buf), -ESHUTDOWN);
    CHECK_EQ(rtcp_session_bye(a, 5 * S, WALL, NULL, buf, sizeof buf), -ESHUTDOWN);
    CHECK(rtcp_session_rtcp_in(b, buf, (size_t)n, 4 * S) == 3);
    struct rtcp_event ev;
    int saw_bye = 0;
    while (rtcp_session_next_event(b, &ev) == 1)
        if (ev.type == RTCP_EV_BYE && ev.ssrc == 0xaaaa)
            saw_bye = 1;
    CHECK(saw_bye);
    CHECK_EQ(rtcp_session_remote_by_ssrc(b, 0xaaaa, &ri), 0);
    CHECK_EQ(ri.left, 1);
    rtcp_session_dtor(a);
    rtcp_session_dtor(b);
}

static void test_events(void) {
    struct rtcp_session *s = mk(7, "me", 0);
    uint8_t pkt[200];
    struct rtcp_event ev;
    CHECK_EQ(rtcp_session_next_event(s, &ev), 0);
    rtcp_session_rtp_in(s, pkt, rtp(pkt, 100, 1, 0), MS);
    rtcp_session_rtp_in(s, pkt, rtp(pkt, 100, 2, 160), 2 * MS);
    CHECK_EQ(rtcp_session_next_event(s, &ev), 1);
    CHECK(ev.type == RTCP_EV_NEW_SOURCE && ev.ssrc == 100);
    rtcp_session_rtp_in(s, pkt, rtp(pkt, 200, 9, 0), 3 * MS);
    CHECK_EQ(rtcp_session_next_event(s, &ev), 1);
    CHECK(ev.type == RTCP_EV_NEW_SOURCE && ev.ssrc == 200);
    CHECK_EQ(rtcp_session_next_event(s, &ev), 1);
    CHECK(ev.type == RTCP_EV_SSRC_CHANGED && ev.ssrc == 200 && ev.old_ssrc == 100);
    /* Our SSRC from elsewhere. */
    CHECK_EQ(rtcp_session_rtp_in(s, pkt, rtp(pkt, 7, 1, 0), 4 * MS), RTCP_SEQ_JUMP);
    CHECK_EQ(rtcp_session_next_event(s, &ev), 1);
    CHECK(ev.type == RTCP_EV_COLLISION && ev.ssrc == 7);
    CHECK_EQ(rtcp_session_set_ssrc(s, 8), 0);
    /* Sequence restart. */
    for (uint16_t q = 3; q < 6; q++)
        rtcp_session_rtp_in(s, pkt, rtp(pkt, 100, q, 0), 5 * MS);
    rtcp_session_rtp_in(s, pkt, rtp(pkt, 100, 30000, 0), 6 * MS);
    rtcp_session_rtp_in(s, pkt, rtp(pkt, 100, 30001, 0), 7 * MS);
    CHECK_EQ(rtcp_session_next_event(s, &ev), 1);
    CHECK(ev.type == RTCP_EV_SEQ_RESTART && ev.ssrc == 100);
    /* Silence: both sources time out at a report 60 s later. */
    uint8_t buf[1500];
    CHECK(rtcp_session_report(s, 60 * S, WALL, buf, sizeof buf) > 0);
    int timeouts = 0;
    while (rtcp_session_next_event(s, &ev) == 1)
        timeouts += ev.type == RTCP_EV_TIMEOUT;
    CHECK_EQ(timeouts, 2);
    CHECK_EQ(rtcp_session_remote_count(s), 0);
    rtcp_session_dtor(s);
}

static void test_bad_input(void) {
    int err = 0;
    struct rtcp_session_cfg cfg = { .size = sizeof cfg, .ssrc = 1, .clock_rate = 8000, .cname = NULL };
    CHECK(rtcp_session_ctor(&cfg, 0, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    cfg.cname = "";
    CHECK(rtcp_session_ctor(&cfg, 0, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cfg.cname = longname;
    CHECK(rtcp_session_ctor(&cfg, 0, &err) == NULL);
    cfg.cname = "x";
    cfg.max_sources = 5000;
    CHECK(rtcp_session_ctor(&cfg, 0, &err) == NULL);
    cfg.max_sources = 0;
    cfg.size = 8;
    CHECK(rtcp_session_ctor(&cfg, 0, &err) == NULL);
    CHECK(rtcp_session_ctor(NULL, 0, NULL) == NULL);

    struct rtcp_session *s = mk(1, "x", 0);
    uint8_t buf[1500];
    const uint8_t junk[6] = { 0x80, 201, 0, 9, 1, 2 };
    CHECK_EQ(rtcp_session_rtcp_in(s, junk, sizeof junk, 0), -EBADMSG);
    CHECK_EQ(rtcp_session_rtcp_in(s, NULL, 4, 0), -EINVAL);
    CHECK_EQ(rtcp_session_rtp_in(s, junk, 2, 0), -EBADMSG);
    CHECK_EQ(rtcp_session_rtp_sent(s, junk, 2, 0), -EBADMSG);
    CHECK_EQ(rtcp_session_report(s, S, WALL, buf, 19), -ENOBUFS); /* RR 8 + SDES 12 */
    CHECK_EQ(rtcp_session_report(s, S, WALL, NULL, 20), -EINVAL);
    CHECK_EQ(rtcp_session_next_event(s, NULL), -EINVAL);
    CHECK(rtcp_session_report(s, S, WALL, buf, sizeof buf) > 0);
    rtcp_session_dtor(s);

    CHECK_EQ(rtcp_session_rtp_in(NULL, buf, 12, 0), -EINVAL);
    CHECK_EQ(rtcp_session_rtp_sent(NULL, buf, 12, 0), -EINVAL);
    CHECK_EQ(rtcp_session_rtcp_in(NULL, buf, 12, 0), -EINVAL);
    CHECK_EQ(rtcp_session_poll(NULL, 0, 0, buf, 1500), -EINVAL);
    CHECK_EQ(rtcp_session_report(NULL, 0, 0, buf, 1500), -EINVAL);
    CHECK_EQ(rtcp_session_bye(NULL, 0, 0, NULL, buf, 1500), -EINVAL);
    CHECK(rtcp_session_next_report(NULL) == 0);
    CHECK_EQ(rtcp_session_set_rand(NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(rtcp_session_set_ssrc(NULL, 1), -EINVAL);
    CHECK_EQ(rtcp_session_remote_count(NULL), -EINVAL);
    CHECK_EQ(rtcp_session_sender_stats(NULL, NULL), -EINVAL);
    CHECK_EQ(rtcp_session_remote(NULL, 0, NULL), -EINVAL);
    CHECK_EQ(rtcp_session_remote_by_ssrc(NULL, 0, NULL), -EINVAL);
    rtcp_session_dtor(NULL);
}

int main(void) {
    test_scheduling();
    test_reports_between_two_sessions();
    test_events();
    test_bad_input();
    TEST_DONE("test_rtcp_session");
}
