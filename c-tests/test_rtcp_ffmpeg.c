/* Interop: ffmpeg sends a PCMU RTP stream with its RTCP sender reports
 * multiplexed on the same port (rtcpport=, RFC 5761). We demultiplex with
 * rtcp_is_rtcp, keep receiver statistics with rtcp_stats, and parse its SRs:
 * each SR's packet and octet counts must equal the RTP packets and payload
 * octets that arrived before it (loopback: nothing lost or reordered).
 * SKIP (77) when ffmpeg is not installed. Bounded: ffmpeg runs 6 s under
 * `timeout 30`, the receive loop gives up 3 s after the last datagram. */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
    uint64_t rtp_pkts = 0, rtp_octets = 0;
    int srs = 0, srs_checked = 0;
    uint32_t ssrc = 0;
    uint64_t deadline = tu_now_ns() + 25000000000ull;
    unsigned char buf[2048];
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int timeout_ms = rtp_pkts ? 3000 : 10000;
        if (poll(&p, 1, timeout_ms) <= 0 || tu_now_ns() > deadline)
            break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            continue;
        uint64_t arrival = tu_now_ns();
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
            CHECK(rtcp_stats_rtp(st, seq, ts, arrival, (size_t)n - hdr) >= 0);
            rtp_pkts++;
            rtp_octets += (uint64_t)n - hdr;
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
    CHECK_EQ(in.packets, rtp_pkts);
    CHECK_EQ(in.received, rtp_pkts);
    CHECK_EQ(in.expected, rtp_pkts);
    CHECK_EQ(in.lost, 0);
    CHECK_EQ(in.duplicates, 0);
    struct rtcp_report_block b;
    CHECK_EQ(rtcp_stats_block(st, ssrc, tu_now_ns(), &b), 0);
    CHECK(b.lsr != 0);
    rtcp_stats_dtor(st);
    TEST_DONE("test_rtcp_ffmpeg");
}
