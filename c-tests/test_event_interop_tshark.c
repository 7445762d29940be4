/*
 * Interop: tshark decodes the RFC 4733 packets we send (rtpevent fields) as
 * we meant them: event, E bit, volume, duration, timestamp, marker and
 * sequence number of every event packet of 16 digits and one long event.
 * Exits 77 (ctest SKIP) when tshark is not installed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtpevent.h"
#include "rtpsynth.h"
#include "testutil.h"

#define PT 101
#define MAXP 4096

struct sent {
    unsigned seq;
    uint32_t ts;
    int marker, event, end, volume, duration;
};

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

/* One packet in a raw-IP (LINKTYPE_RAW) pcap record: IPv4 + UDP + RTP. */
static void write_rec(FILE *f, const unsigned char *rtp, int len, int i) {
    unsigned char h[28] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1};
    int tot = 28 + len;
    h[2] = tot >> 8;
    h[3] = tot & 0xff;
    h[20] = 40000 >> 8; h[21] = 40000 & 0xff; /* source port */
    h[22] = 5004 >> 8;  h[23] = 5004 & 0xff;  /* destination port */
    h[24] = (8 + len) >> 8;
    h[25] = (8 + len) & 0xff;
    put32(f, 1000 + i / 50);
    put32(f, (i % 50) * 20000);
    put32(f, tot);
    put32(f, tot);
    fwrite(h, 1, 28, f);
    fwrite(rtp, 1, len, f);
}

int main(void) {
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        printf("SKIP: tshark not installed\n");
        return 77;
    }
    char path[] = "/tmp/rtpev_tshark_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CHECK(f != NULL);
    put32(f, 0xa1b2c3d4);
    put16(f, 2);
    put16(f, 4);
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, 101); /* LINKTYPE_RAW */

    static struct sent s[MAXP];
    int ns = 0, nrec = 0;
    void *rs = rsynth_ctor_random(8000, 20);
    struct rtpev_tx *tx = rtpev_tx_ctor(8000, 20, NULL);
    CHECK(rs != NULL && tx != NULL);
    char buf[200];
    for (int d = 0; d < 18; d++) {
        int ev = d < 16 ? d : d == 16 ? 200 : 7;
        uint32_t ms = d == 17 ? 9000 : 60 + 10 * d; /* the last one spans 2 segments */
        if (d == 5)
            rtpev_tx_set_volume(tx, 33);
        CHECK_EQ(rtpev_tx_start(tx, ev, rsynth_get_ts(rs), ms), 0);
        struct rtpev_pkt p;
        int len;
        while ((len = rtpev_tx_next_rsynth(tx, rs, PT, buf, sizeof(buf))) > 0) {
            const unsigned char *b = (const unsigned char *)buf;
            CHECK(ns < MAXP);
            s[ns].seq = (b[2] << 8) | b[3];
            s[ns].ts = ((uint32_t)b[4] << 24) | ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
            s[ns].marker = b[1] >> 7;
            CHECK_EQ(rtpev_payload_decode(b + 12, 4, &p.info), 0);
            s[ns].event = p.info.event;
            s[ns].end = p.info.end;
            s[ns].volume = p.info.volume;
            s[ns].duration = p.info.duration;
            ns++;
            write_rec(f, b, len, nrec++);
        }
        for (int i = 0; i < 2; i++) { /* audio in between */
            len = rsynth_next_pkt_pa(rs, 160, 0, buf, sizeof(buf), 0);
            write_rec(f, (unsigned char *)buf, len, nrec++);
        }
    }
    fclose(f);
    rtpev_tx_dtor(tx);
    rsynth_dtor(rs);

    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "timeout 120 tshark -r %s -d udp.port==5004,rtp -d rtp.pt==101,rtpevent -Y rtpevent "
             "-T fields -E separator=, -e rtp.seq -e rtp.timestamp -e rtp.marker -e rtpevent.event_id "
             "-e rtpevent.end_of_event -e rtpevent.volume -e rtpevent.duration 2>/dev/null",
             path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        unsigned seq, ts, marker, ev, vol, dur;
        char end[16];
        CHECK_EQ(sscanf(line, "%u,%u,%u,%u,%15[^,],%u,%u", &seq, &ts, &marker, &ev, end, &vol, &dur), 7);
        CHECK(n < ns);
        CHECK_EQ(seq, s[n].seq);
        CHECK_EQ(ts, s[n].ts);
        CHECK_EQ(marker, s[n].marker);
        CHECK_EQ(ev, s[n].event);
        /* tshark prints booleans as 1/0 or True/False depending on version */
        int e = strcmp(end, "1") == 0 || strcmp(end, "True") == 0;
        CHECK(e || strcmp(end, "0") == 0 || strcmp(end, "False") == 0);
        CHECK_EQ(e, s[n].end);
        CHECK_EQ(vol, s[n].volume);
        CHECK_EQ(dur, s[n].duration);
        n++;
    }
    int rc = pclose(p);
    unlink(path);
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, ns);
    printf("tshark decoded %d event packets as sent\n", n);
    TEST_DONE("test_event_interop_tshark");
}
