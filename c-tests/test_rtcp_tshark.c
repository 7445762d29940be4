/* Interop: tshark decodes the RTCP we build (builders and a session's
 * reports) with no malformed packet or expert warning/error, and its
 * fields equal what we built. SKIP (77) when tshark is not installed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rtcp.h"
#include "testutil.h"

#define PORT 5005

static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }
static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }

/* One raw IPv4/UDP datagram (pcap LINKTYPE_RAW) to 127.0.0.1:PORT. */
static void write_dgram(FILE *f, const uint8_t *p, size_t len, uint32_t sec) {
    uint8_t ip[28] = { 0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1 };
    size_t tot = 28 + len;
    ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (uint8_t)(~sum >> 8); ip[11] = (uint8_t)~sum;
    ip[20] = (uint8_t)(40000 >> 8); ip[21] = (uint8_t)(40000 & 0xff);
    ip[22] = PORT >> 8; ip[23] = PORT & 0xff;
    ip[24] = (uint8_t)((8 + len) >> 8); ip[25] = (uint8_t)(8 + len);
    put32(f, sec); put32(f, 0); put32(f, (uint32_t)tot); put32(f, (uint32_t)tot);
    fwrite(ip, 1, 28, f);
    fwrite(p, 1, len, f);
}

static int run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    return pclose(p);
}

int main(void) {
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        printf("SKIP: tshark not installed\n");
        return 77;
    }
    char path[] = "/tmp/rtcp_tshark_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    put32(f, 0xa1b2c3d4); put16(f, 2); put16(f, 4); put32(f, 0); put32(f, 0);
    put32(f, 65535); put32(f, 101);

    uint8_t buf[1500];
    /* 1: SR with 2 blocks + SDES (CNAME, TOOL) */
    struct rtcp_report_block b[2] = {
        { .ssrc = 0x33333333, .fraction_lost = 38, .cumulative_lost = 3, .ext_highest_seq = 0x0001000a,
          .jitter = 12, .lsr = 0x12345678, .dlsr = 98304 },
        { .ssrc = 0x44444444, .fraction_lost = 0, .cumulative_lost = -3, .ext_highest_seq = 99,
          .jitter = 0, .lsr = 0, .dlsr = 0 },
    };
    struct rtcp_sender_info si = { .ntp = rtcp_ntp_from_unix_ns(1700000000500000000ull), .rtp_ts = 123456,
                                   .packets = 1000, .octets = 160000 };
    int n = rtcp_build_sr(buf, sizeof buf, 0x11111111, &si, b, 2);
    struct rtcp_sdes_item it[2] = { { RTCP_SDES_CNAME, "alice@example.org", 17 }, { RTCP_SDES_TOOL, "rtpsynth", 8 } };
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 0x11111111, it, 2);
    CHECK_EQ(rtcp_check_compound(buf, (size_t)n, NULL), 2);
    write_dgram(f, buf, (size_t)n, 1);
    /* 2: RR + SDES + BYE with reason, padded to 32 */
    n = rtcp_build_rr(buf, sizeof buf, 0x22222222, &b[1], 1);
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 0x22222222, it, 1);
    uint32_t byes = 0x22222222;
    n += rtcp_build_bye(buf + n, sizeof buf - (size_t)n, &byes, 1, "done", 4);
    n = rtcp_pad(buf, (size_t)n, sizeof buf, 32);
    CHECK(n > 0 && n % 32 == 0);
    write_dgram(f, buf, (size_t)n, 2);
    /* 3: RR + SDES + NACK + PLI + FIR */
    n = rtcp_build_rr(buf, sizeof buf, 0x22222222, NULL, 0);
    n += rtcp_build_sdes(buf + n, sizeof buf - (size_t)n, 0x22222222, it, 1);
    const uint16_t lost[] = { 100, 101, 103, 116 };
    n += rtcp_build_nack(buf + n, sizeof buf - (size_t)n, 0x22222222, 0x11111111, lost, 4);
    n += rtcp_build_pli(buf + n, sizeof buf - (size_t)n, 0x22222222, 0x11111111);
    uint32_t fs = 0x11111111;
    uint8_t fq = 7;
    n += rtcp_build_fir(buf + n, sizeof buf - (size_t)n, 0x22222222, &fs, &fq, 1);
    write_dgram(f, buf, (size_t)n, 3);
    /* 4: a session's SR after sending and receiving */
    struct rtcp_session_cfg cfg = { .size = sizeof cfg, .ssrc = 0x55555555, .clock_rate = 8000,
                                    .cname = "session@example.org", .seed = 1 };
    struct rtcp_session *s = rtcp_session_ctor(&cfg, 0, NULL);
    uint8_t pkt[172] = { 0x80, 0 };
    for (uint32_t i = 0; i < 50; i++) {
        pkt[2] = (uint8_t)(i >> 8); pkt[3] = (uint8_t)i;
        pkt[4] = (uint8_t)((i * 160) >> 24); pkt[5] = (uint8_t)((i * 160) >> 16);
        pkt[6] = (uint8_t)((i * 160) >> 8); pkt[7] = (uint8_t)(i * 160);
        pkt[8] = 0x55; pkt[9] = 0x55; pkt[10] = 0x55; pkt[11] = 0x55;
        rtcp_session_rtp_sent(s, pkt, sizeof pkt, i * 20000000ull);
        pkt[8] = 0x66; pkt[9] = 0x66; pkt[10] = 0x66; pkt[11] = 0x66;
        if (i != 20)
            rtcp_session_rtp_in(s, pkt, sizeof pkt, i * 20000000ull + 5000000);
    }
    n = rtcp_session_report(s, 1000000000ull, 1700000000000000000ull, buf, sizeof buf);
    CHECK(n > 0);
    write_dgram(f, buf, (size_t)n, 4);
    rtcp_session_dtor(s);
    fclose(f);

    char cmd[2048], out[16384];
    /* No malformed packet, no expert warning or error. */
    snprintf(cmd, sizeof cmd,
        "timeout 60 tshark -n -r %s -d udp.port==%d,rtcp -Y '_ws.malformed || _ws.expert.severity >= 0x600000' "
        "-T fields -e frame.number -e _ws.expert.message 2>/dev/null", path, PORT);
    int rc0 = run(cmd, out, sizeof out);
    if (rc0 != 0)
        unlink(path);
    CHECK_EQ(rc0, 0);
    if (out[0] != 0)
        fprintf(stderr, "tshark complains:\n%s\n", out);
    CHECK(out[0] == 0);

    snprintf(cmd, sizeof cmd,
        "timeout 60 tshark -n -r %s -d udp.port==%d,rtcp -T fields -E separator='|' -E occurrence=a -E aggregator=, "
        "-e rtcp.pt -e rtcp.senderssrc -e rtcp.timestamp.ntp.msw -e rtcp.timestamp.ntp.lsw -e rtcp.timestamp.rtp "
        "-e rtcp.sender.packetcount -e rtcp.sender.octetcount -e rtcp.ssrc.identifier -e rtcp.ssrc.fraction "
        "-e rtcp.ssrc.cum_nr -e rtcp.ssrc.ext_high -e rtcp.ssrc.jitter -e rtcp.ssrc.lsr -e rtcp.ssrc.dlsr "
        "-e rtcp.sdes.text -e rtcp.rtpfb.nack_pid -e rtcp.rtpfb.nack_blp -e rtcp.psfb.fir.fci.ssrc "
        "-e rtcp.psfb.fir.fci.csn -e rtcp.padding 2>/dev/null", path, PORT);
    int rc = run(cmd, out, sizeof out);
    unlink(path);
    CHECK_EQ(rc, 0);
    /* tshark lists the SDES chunk's SSRC among rtcp.ssrc.identifier and
     * expands each NACK entry into the sequence numbers asked for. */
    char want[4096];
    snprintf(want, sizeof want,
        "200,202|0x11111111|%u|%u|123456|1000|160000|0x33333333,0x44444444,0x11111111|38,0|3,-3|65546,99|"
        "12,0|305419896,0|98304,0|alice@example.org,rtpsynth|||||0,0\n"
        "201,202,203|0x22222222||||||0x44444444,0x22222222,0x22222222|0|-3|99|0|0|0|alice@example.org,done|||||0,0,1\n"
        "201,202,205,206,206|0x22222222,0x22222222,0x22222222,0x22222222||||||0x22222222|||||||alice@example.org|"
        "100,101,103,116|0x8005|0x11111111|7|0,0,0,0,0\n"
        /* the session: 50 sent (8000 octets), RTP ts 7840 + 20 ms = 8000;
         * 49 of 50 received from 0x66666666: fraction 1 * 256 / 50 = 5 */
        "200,202|0x55555555|%u|0|8000|50|8000|0x66666666,0x55555555|5|1|49|0|0|0|session@example.org|||||0,0\n",
        (unsigned)(si.ntp >> 32), (unsigned)si.ntp, (unsigned)(rtcp_ntp_from_unix_ns(1700000000000000000ull) >> 32));
    if (strcmp(out, want) != 0)
        fprintf(stderr, "tshark said:\n%swe built:\n%s", out, want);
    CHECK_STR(out, want);
    TEST_DONE("test_rtcp_tshark");
}
