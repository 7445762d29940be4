/* Interop: ffmpeg sends a PCMU RTP stream with its RTCP sender reports
 * multiplexed on the same port (rtcpport=, RFC 5761). We demultiplex with
 * rtcp_is_rtcp, keep receiver statistics with rtcp_stats, and parse its SRs:
 * each SR's packet and octet counts must equal the RTP packets and payload
 * octets that arrived before it (loopback: nothing lost or reordered).
 * The RTP packets are also written to a capture with the arrival times we
 * used (us, as pcap keeps them) and, when tshark is installed, its RTP
 * stream analysis must agree: same packets, lost exactly (we drop every
 * 10th sequence number before both), max jitter
 * within 0.1 ms.
 * SKIP (77) when ffmpeg is not installed. Bounded: ffmpeg runs 6 s under
 * `timeout 30`, the receive loop gives up 3 s after the last datagram. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtcp.h"
#include "testutil.h"

int main(void) {
    if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
        printf("SKIP: ffmpeg not installed\n");
        return 77;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t al = sizeof a;
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    int port = ntohs(a.sin_port);
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

    char cmd[512];
    snprintf(cmd, sizeof cmd,
        "timeout 30 ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i sine=frequency=440:sample_rate=8000 "
        "-t 6 -ar 8000 -ac 1 -c:a pcm_mulaw -f rtp 'rtp://127.0.0.1:%d?rtcpport=%d' >/dev/null 2>&1", port, port);
    FILE *ff = popen(cmd, "r");
    CHECK(ff != NULL);

    struct rtcp_stats *st = rtcp_stats_ctor(8000, NULL);
    uint64_t rtp_pkts = 0, rtp_octets = 0, dropped = 0;
    int srs = 0, srs_checked = 0;
    uint32_t ssrc = 0;
    uint64_t deadline = tu_now_ns() + 25000000000ull;
    char path[] = "/tmp/rtcp_ffmpeg_XXXXXX";
    int pfd = mkstemp(path);
    CHECK(pfd >= 0);
    FILE *cap = fdopen(pfd, "wb");
    uint32_t hdr32[6] = { 0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, 101 };
    fwrite(hdr32, 4, 6, cap);
    unsigned char buf[2048];
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int timeout_ms = rtp_pkts ? 3000 : 10000;
        if (poll(&p, 1, timeout_ms) <= 0 || tu_now_ns() > deadline)
            break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            continue;
        /* microseconds, as the capture keeps them */
        uint64_t arrival = tu_now_ns() / 1000 * 1000;
        if (rtcp_is_rtcp(buf, (size_t)n)) {
            size_t off = 0;
            struct rtcp_pkt pk;
            int r;
            while ((r = rtcp_parse_next(buf, (size_t)n, &off, &pk)) == 1) {
                if (pk.type != RTCP_SR)
                    continue;
                srs++;
                if (srs == 1 && rtp_pkts == 0)
                    ssrc = pk.ssrc; /* ffmpeg reports before its first packet */
                CHECK_EQ(pk.ssrc, ssrc);
                /* What it sent before this SR is what arrived before it. */
                CHECK_EQ(pk.sender.packets, rtp_pkts);
                CHECK_EQ(pk.sender.octets, rtp_octets);
                if (rtp_pkts > 0)
                    srs_checked++;
                CHECK_EQ(rtcp_stats_sr(st, pk.sender.ntp, arrival), 0);
            }
            CHECK_EQ(r, 0);
        } else {
            CHECK(n >= 12 && (buf[0] >> 6) == 2);
            uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
            uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
            uint32_t s = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
            if (rtp_pkts == 0 && srs == 0)
                ssrc = s;
            CHECK_EQ(s, ssrc);
            CHECK((buf[1] & 0x7f) == 0);
            size_t hdr = 12 + 4u * (buf[0] & 0x0f);
            CHECK((size_t)n >= hdr);
            rtp_pkts++;
            rtp_octets += (uint64_t)n - hdr;
            /* "Lose" every 10th packet after the first few: neither the
             * statistics nor the capture see it. */
            if (rtp_pkts > 5 && seq % 10 == 3) {
                dropped++;
                continue;
            }
            CHECK(rtcp_stats_rtp(st, seq, ts, arrival, (size_t)n - hdr) >= 0);
            /* raw IPv4 + UDP to our port */
            uint8_t ip[28] = { 0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1 };
            size_t tot = 28 + (size_t)n;
            ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
            ip[20] = 0x9c; ip[21] = 0x40;
            ip[22] = (uint8_t)(port >> 8); ip[23] = (uint8_t)port;
            ip[24] = (uint8_t)((8 + n) >> 8); ip[25] = (uint8_t)(8 + n);
            uint32_t rec[4] = { (uint32_t)(arrival / 1000000000ull), (uint32_t)(arrival % 1000000000ull / 1000),
                                (uint32_t)tot, (uint32_t)tot };
            fwrite(rec, 4, 4, cap);
            fwrite(ip, 1, 28, cap);
            fwrite(buf, 1, (size_t)n, cap);
        }
    }
    pclose(ff);
    close(fd);
    struct rtcp_stats_info in;
    CHECK_EQ(rtcp_stats_get(st, &in), 0);
    printf("ffmpeg: %llu RTP packets, %llu octets, %d SRs (%d checked); lost %lld, jitter %.3f ms (max %.3f)\n",
        (unsigned long long)rtp_pkts, (unsigned long long)rtp_octets, srs, srs_checked,
        (long long)in.lost, in.jitter_ms, in.max_jitter_ms);
    CHECK(rtp_pkts >= 40); /* 6 s of 1024-sample frames at 8 kHz: 47 */
    CHECK(srs_checked >= 1);
    CHECK(dropped >= 3);
    CHECK_EQ(in.packets, rtp_pkts - dropped);
    CHECK_EQ(in.received, rtp_pkts - dropped);
    CHECK_EQ(in.expected, rtp_pkts);
    CHECK_EQ(in.lost, (long long)dropped);
    CHECK_EQ(in.duplicates, 0);
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_stats_block(st, ssrc, tu_now_ns(), &b), 0);
    CHECK(b.lsr != 0);
    rtcp_stats_dtor(st);
    fclose(cap);

    if (system("command -v tshark >/dev/null 2>&1") == 0) {
        char tcmd[512], out[8192];
        snprintf(tcmd, sizeof tcmd,
            "timeout 60 tshark -n -r %s -d udp.port==%d,rtp -q -z rtp,streams 2>/dev/null", path, port);
        FILE *t = popen(tcmd, "r");
        CHECK(t != NULL);
        size_t k = fread(out, 1, sizeof out - 1, t);
        out[k] = 0;
        int trc = pclose(t);
        unlink(path);
        CHECK_EQ(trc, 0);
        /* the stream's line from the source address: src port dst port
         * SSRC payload pkts lost (pct) min/mean/max delta, min/mean/max
         * jitter */
        char *line = strstr(out, "127.0.0.1");
        CHECK(line != NULL);
        char *tok[32];
        int nt = 0;
        for (char *w = strtok(line, " \n"); w != NULL && nt < 32; w = strtok(NULL, " \n"))
            tok[nt++] = w;
        CHECK(nt >= 15);
        long pkts = strtol(tok[6], NULL, 10), lost = strtol(tok[7], NULL, 10);
        double maxj = strtod(tok[14], NULL);
        printf("tshark: %ld packets, lost %ld, max jitter %.3f ms; ours: %lld lost, max %.3f ms\n",
            pkts, lost, maxj, (long long)in.lost, in.max_jitter_ms);
        CHECK_EQ(pkts, (long)(rtp_pkts - dropped));
        CHECK_EQ(lost, in.lost);
        CHECK(fabs(maxj - in.max_jitter_ms) <= 0.1);
    } else {
        unlink(path);
        printf("tshark not installed: RTP stream analysis comparison skipped\n");
    }
    TEST_DONE("test_rtcp_ffmpeg");
}
