/*
 * rtcp_session_demo: two endpoints, A and B, on 127.0.0.1 exchange RTP
 * both ways for 1.6 s over RtpServer channels, paced by RtpProc, each with
 * an RTCP session (rtcp.h). RTP and RTCP share one port per endpoint
 * (RFC 5761): arriving datagrams are told apart with rtcp_is_rtcp().
 * A drops every 25th packet it would send, so B's reports show loss.
 *
 * A real application sends a report when rtcp_session_poll() says one is
 * due (every few seconds, RFC 3550 A.7). To end in two seconds the demo
 * builds one every 400 ms with rtcp_session_report() instead, and prints
 * when poll would have sent the next. Each side ends with a BYE.
 * Exits 0 when both sides saw the other's reports with the loss and a
 * round-trip time, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "rtcp.h"
#include "rtpproc.h"
#include "rtpserver.h"

#define PTIME_NS    20000000ull
#define REPORT_NS   400000000ull
#define RUN_NS      1600000000ull
#define DROP_EVERY  25

struct endpoint {
    const char *name;
    uint32_t ssrc;
    struct rtpsrv_chan *chan;
    struct rtcp_session *rtcp;
    pthread_mutex_t lock;     /* pkt_in runs on the server thread, tick on the proc thread */
    uint64_t start_ns, last_report_ns;
    uint16_t seq;
    uint32_t ts;
    int sent, dropped, done;
};

static uint64_t wall_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static const char *ev_name(int t) {
    switch (t) {
    case RTCP_EV_NEW_SOURCE: return "new source";
    case RTCP_EV_SSRC_CHANGED: return "SSRC changed to";
    case RTCP_EV_COLLISION: return "SSRC collision on";
    case RTCP_EV_BYE: return "BYE from";
    case RTCP_EV_TIMEOUT: return "timed out:";
    case RTCP_EV_SEQ_RESTART: return "sequence restart of";
    default: return "event";
    }
}

static void pkt_in(void *arg, const unsigned char *pkt, size_t len,
    const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    struct endpoint *ep = arg;
    (void)from; (void)fromlen;
    pthread_mutex_lock(&ep->lock);
    int r = rtcp_is_rtcp(pkt, len)
        ? rtcp_session_rtcp_in(ep->rtcp, pkt, len, rtime_ns)
        : rtcp_session_rtp_in(ep->rtcp, pkt, len, rtime_ns);
    if (r < 0)
        fprintf(stderr, "%s: bad packet: %s\n", ep->name, rtpsynth_strerror(r));
    struct rtcp_event ev;
    while (rtcp_session_next_event(ep->rtcp, &ev) == 1)
        printf("%s: %s %08x\n", ep->name, ev_name(ev.type), ev.ssrc);
    pthread_mutex_unlock(&ep->lock);
}

static void send_report(struct endpoint *ep, uint64_t now, int bye) {
    unsigned char buf[1500];
    int n = bye ? rtcp_session_bye(ep->rtcp, now, wall_ns(), "demo over", buf, sizeof buf)
                : rtcp_session_report(ep->rtcp, now, wall_ns(), buf, sizeof buf);
    if (n > 0)
        rtpsrv_chan_send_pkt(ep->chan, buf, (size_t)n);
    ep->last_report_ns = now;
}

/* One RTP packet every 20 ms; a report every 400 ms; BYE at the end. */
static uint64_t tick(void *arg, uint64_t now_ns, uint64_t deadline_ns, int *err) {
    struct endpoint *ep = arg;
    (void)err;
    pthread_mutex_lock(&ep->lock);
    if (deadline_ns == 0)
        ep->start_ns = ep->last_report_ns = now_ns;
    if (now_ns - ep->start_ns >= RUN_NS) {
        send_report(ep, now_ns, 1);
        ep->done = 1;
        pthread_mutex_unlock(&ep->lock);
        return 0;
    }
    unsigned char pkt[12 + 160];
    memset(pkt, 0xff, sizeof pkt);
    pkt[0] = 0x80;
    pkt[1] = 0; /* PCMU */
    pkt[2] = (unsigned char)(ep->seq >> 8); pkt[3] = (unsigned char)ep->seq;
    for (int i = 0; i < 4; i++) {
        pkt[4 + i] = (unsigned char)(ep->ts >> (24 - 8 * i));
        pkt[8 + i] = (unsigned char)(ep->ssrc >> (24 - 8 * i));
    }
    rtcp_session_rtp_sent(ep->rtcp, pkt, sizeof pkt, now_ns);
    if (ep->ssrc == 0xA && ++ep->sent % DROP_EVERY == 0)
        ep->dropped++; /* "lost on the way" */
    else
        rtpsrv_chan_send_pkt(ep->chan, pkt, sizeof pkt);
    ep->seq++;
    ep->ts += 160;
    if (now_ns - ep->last_report_ns >= REPORT_NS)
        send_report(ep, now_ns, 0);
    pthread_mutex_unlock(&ep->lock);
    uint64_t base = deadline_ns ? deadline_ns : now_ns;
    return base + PTIME_NS;
}

static uint16_t port_of(struct rtpsrv_chan *ch) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (rtpsrv_chan_local_addr(ch, &ss, &sl) != 0)
        return 0;
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int report(struct endpoint *me, const struct endpoint *peer, int expect_loss) {
    struct rtcp_remote_info ri;
    struct rtcp_sender_stats ss;
    if (rtcp_session_remote_by_ssrc(me->rtcp, peer->ssrc, &ri) != 0) {
        printf("%s: never heard %s\n", me->name, peer->name);
        return 1;
    }
    rtcp_session_sender_stats(me->rtcp, &ss);
    printf("%s: sent %llu RTP, %llu reports; from %s (cname %s): %llu packets, lost %lld, "
           "jitter %.3f ms (max %.3f); %s says we lost %d; RTT %.3f ms\n",
        me->name, (unsigned long long)ss.packets, (unsigned long long)ss.rtcp_sent, peer->name,
        ri.cname, (unsigned long long)ri.stats.packets, (long long)ri.stats.lost,
        ri.stats.jitter_ms, ri.stats.max_jitter_ms, peer->name,
        ri.has_report ? ri.report_about_us.cumulative_lost : -1,
        ri.rtt_ns >= 0 ? (double)ri.rtt_ns / 1e6 : -1.0);
    printf("%s: rtcp_session_poll would report next at +%.2f s\n", me->name,
        (double)(rtcp_session_next_report(me->rtcp) - me->start_ns) / 1e9);
    int ok = ri.left && ri.has_sr && ri.has_report && ri.rtt_ns >= 0 && strcmp(ri.cname, peer->name) == 0;
    /* The peer's last report about us came before our last drops. */
    if (expect_loss)
        ok = ok && ri.report_about_us.cumulative_lost > 0 && ri.report_about_us.cumulative_lost <= me->dropped;
    else
        ok = ok && ri.report_about_us.cumulative_lost == 0;
    return ok ? 0 : 1;
}

int main(void) {
    int err = 0;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    struct rtpproc *proc = rtpproc_ctor(&err);
    if (srv == NULL || proc == NULL) {
        fprintf(stderr, "setup: %s\n", rtpsynth_strerror(err));
        return 1;
    }
    struct endpoint ep[2] = { { .name = "A", .ssrc = 0xA }, { .name = "B", .ssrc = 0xB } };
    struct rtpsrv_chan_cfg cc = { .bind_host = "127.0.0.1" };
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&ep[i].lock, NULL);
        struct rtcp_session_cfg cfg = {
            .size = sizeof cfg, .ssrc = ep[i].ssrc, .clock_rate = 8000, .cname = ep[i].name,
            .seed = (uint64_t)mono_ns(),
        };
        ep[i].rtcp = rtcp_session_ctor(&cfg, mono_ns(), &err);
        ep[i].chan = rtpsrv_create_channel(srv, &cc, pkt_in, &ep[i], &err);
        if (ep[i].rtcp == NULL || ep[i].chan == NULL) {
            fprintf(stderr, "setup: %s\n", rtpsynth_strerror(err));
            return 1;
        }
    }
    rtpsrv_chan_set_target(ep[0].chan, "127.0.0.1", port_of(ep[1].chan));
    rtpsrv_chan_set_target(ep[1].chan, "127.0.0.1", port_of(ep[0].chan));
    struct rtpproc_chan *pc[2];
    for (int i = 0; i < 2; i++)
        pc[i] = rtpproc_create_channel(proc, tick, &ep[i], &err);
    /* Wait for both to finish (bounded), then for the last BYEs to land. */
    uint64_t give_up = mono_ns() + RUN_NS + 3000000000ull;
    for (;;) {
        pthread_mutex_lock(&ep[0].lock);
        int d0 = ep[0].done;
        pthread_mutex_unlock(&ep[0].lock);
        pthread_mutex_lock(&ep[1].lock);
        int d1 = ep[1].done;
        pthread_mutex_unlock(&ep[1].lock);
        if ((d0 && d1) || mono_ns() > give_up)
            break;
        nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
    }
    nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
    for (int i = 0; i < 2; i++)
        if (pc[i] != NULL)
            rtpproc_chan_close(pc[i]);
    for (int i = 0; i < 2; i++)
        rtpsrv_chan_close(ep[i].chan);
    rtpsrv_dtor(srv);
    rtpproc_dtor(proc);
    int bad = report(&ep[0], &ep[1], 1) | report(&ep[1], &ep[0], 0);
    for (int i = 0; i < 2; i++) {
        rtcp_session_dtor(ep[i].rtcp);
        pthread_mutex_destroy(&ep[i].lock);
    }
    printf(bad ? "rtcp_session_demo: FAILED\n" : "rtcp_session_demo: ok\n");
    return bad;
}
