/*
 * Interop: GStreamer's rtpdtmfdepay receives our RFC 4733 events. The 16
 * digits (100 ms each, sent by rtpev_tx through the drop-in generator) go
 * over loopback UDP to
 *   gst-launch-1.0 udpsrc ! rtpdtmfdepay ! filesink
 * which turns each event into its DTMF tone; our detector must find the 16
 * digits, in order, each lasting about what we sent. Bounded: gst-launch
 * runs under timeout(1) and stops after as many datagrams as we send.
 * Exits 77 (ctest SKIP) without gst-launch-1.0 or the rtpdtmfdepay element.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtpevent.h"
#include "rtpsynth.h"
#include "testutil.h"

#define PT 101

/* Is something bound to UDP port `port` on 127.0.0.1 (/proc/net/udp)? */
static int udp_bound(unsigned port) {
    FILE *f = fopen("/proc/net/udp", "r");
    if (f == NULL)
        return 0;
    char line[512], want[32];
    snprintf(want, sizeof(want), ":%04X ", port);
    int found = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, want) != NULL)
            found = 1;
    fclose(f);
    return found;
}

int main(void) {
    if (system("command -v gst-launch-1.0 >/dev/null 2>&1 && "
               "gst-inspect-1.0 rtpdtmfdepay >/dev/null 2>&1") != 0) {
        printf("SKIP: gst-launch-1.0 or rtpdtmfdepay (gstreamer1.0-plugins-good) missing\n");
        return 77;
    }
    /* a free port: bind to 0, read it, release it */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    unsigned port = ntohs(a.sin_port);
    close(s);

    /* the packets first, so gst-launch can stop after exactly that many */
    static char pkts[1024][16];
    int np = 0;
    void *rs = rsynth_ctor_random(8000, 20);
    struct rtpev_tx *tx = rtpev_tx_ctor(8000, 20, NULL);
    CHECK(rs != NULL && tx != NULL);
    for (int d = 0; d < 16; d++) {
        CHECK_EQ(rtpev_tx_start(tx, d, rsynth_get_ts(rs), 100), 0);
        while (rtpev_tx_next_rsynth(tx, rs, PT, pkts[np], 16) == 16)
            np++;
        char audio[200];
        for (int i = 0; i < 3; i++)
            rsynth_next_pkt_pa(rs, 160, 0, audio, sizeof(audio), 0);
    }
    CHECK_EQ(np, 16 * 7);
    rtpev_tx_dtor(tx);
    rsynth_dtor(rs);

    char out[] = "/tmp/rtpev_gst_XXXXXX";
    int fd = mkstemp(out);
    CHECK(fd >= 0);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "timeout 60 gst-launch-1.0 -q udpsrc address=127.0.0.1 port=%u num-buffers=%d "
             "caps=\"application/x-rtp,media=audio,clock-rate=8000,encoding-name=TELEPHONE-EVENT,payload=%d\" "
             "! rtpdtmfdepay ! audio/x-raw,format=S16LE,rate=8000,channels=1 ! filesink location=%s "
             ">/dev/null 2>&1; echo rc=$?",
             port, np, PT, out);
    FILE *g = popen(cmd, "r");
    CHECK(g != NULL);
    int ready = 0;
    for (int i = 0; i < 300 && !ready; i++) { /* up to 30 s for it to bind */
        ready = udp_bound(port);
        if (!ready)
            tu_sleep_ms(100);
    }
    CHECK(ready);
    tu_sleep_ms(200);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < np; i++) {
        CHECK_EQ(sendto(s, pkts[i], 16, 0, (struct sockaddr *)&a, sizeof(a)), 16);
        tu_sleep_ms(1);
    }
    close(s);
    char line[64] = "";
    CHECK(fgets(line, sizeof(line), g) != NULL);
    pclose(g);
    CHECK_STR(line, "rc=0\n");

    /* what rtpdtmfdepay played, through our detector */
    FILE *f = fopen(out, "rb");
    CHECK(f != NULL);
    static int16_t pcm[8000 * 10];
    size_t n = fread(pcm, 2, sizeof(pcm) / 2, f);
    fclose(f);
    unlink(out);
    printf("rtpdtmfdepay played %zu samples\n", n);
    CHECK(n >= 16 * 700 && n <= 16 * 900);
    struct rtpev_det *det = rtpev_det_ctor(8000, NULL);
    CHECK(det != NULL);
    rtpev_det_process(det, pcm, n);
    rtpev_det_flush(det);
    struct rtpev_det_event e;
    char got[32] = "";
    int k = 0;
    while (rtpev_det_get(det, &e) == 1) {
        if (e.type != RTPEV_DET_END)
            continue;
        CHECK(k < 16);
        got[k++] = e.digit;
        /* 100 ms sent; detection is to a 12.75 ms block at each end */
        CHECK(e.duration >= 8 * 70 && e.duration <= 8 * 115);
    }
    rtpev_det_dtor(det);
    CHECK_STR(got, "0123456789*#ABCD");
    TEST_DONE("test_event_interop_gst");
}
