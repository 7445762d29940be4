/*
 * RFC 4571 interop with GStreamer (rtpstreampay / rtpstreamdepay from
 * gst-plugins-good), both ways over TCP on loopback:
 *  A. gst-launch-1.0 audiotestsrc ! mulawenc ! rtppcmupay ! rtpstreampay !
 *     tcpclientsink  ->  our RTPSRV_TCP_LISTEN channel: every packet is
 *     PCMU RTP, sequence numbers consecutive, 3200 payload bytes in all,
 *     then CLOSED when gst ends the stream.
 *  B. our RTPSRV_TCP_CONNECT channel -> gst-launch-1.0 tcpserversrc !
 *     rtpstreamdepay ! filesink: the file holds exactly our packets.
 * SKIP (exit 77) when gst-launch-1.0 or a needed element is missing.
 * Bounded: every wait has a timeout, gst is killed if it hangs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_testutil.h"

#define MAXP 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int npk;
static size_t payload_bytes;
static int bad_pkt, seq_gap;
static int last_seq = -1;
static atomic_int ev[4];

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)arg; (void)from; (void)fromlen; (void)rtime_ns;
    pthread_mutex_lock(&mu);
    if (len < 12 || (pkt[0] >> 6) != 2 || (pkt[1] & 0x7f) != 0) {
        bad_pkt++;
    } else {
        int seq = pkt[2] << 8 | pkt[3];
        if (last_seq >= 0 && seq != ((last_seq + 1) & 0xffff)) seq_gap++;
        last_seq = seq;
        payload_bytes += len - 12;
    }
    npk++;
    pthread_mutex_unlock(&mu);
}

static void on_event(void *arg, int event, int error, const struct sockaddr *peer,
                     socklen_t peerlen, uint64_t rtime_ns) {
    (void)arg; (void)error; (void)peer; (void)peerlen; (void)rtime_ns;
    if (event >= 1 && event <= 3) atomic_fetch_add(&ev[event], 1);
}

static int have(const char *element) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "gst-inspect-1.0 %s >/dev/null 2>&1", element);
    return system(cmd) == 0;
}

static pid_t spawn(char *const argv[]) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait at most timeout_ms for `pid`; its exit status, or -1 (killed). */
static int reap(pid_t pid, unsigned timeout_ms) {
    uint64_t end = tu_now_ns() + timeout_ms * 1000000ull;
    int st;
    while (tu_now_ns() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        tu_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static struct rtpsrv_chan *tcp_chan(struct rtpsrv *srv, int mode, const struct sockaddr_in *peer, int *err) {
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, 256 };
    struct rtpsrv_tcp_cfg t;
    memset(&t, 0, sizeof(t));
    t.size = sizeof(t);
    t.mode = mode;
    t.peer = (const struct sockaddr *)peer;
    t.peerlen = peer ? sizeof(*peer) : 0;
    t.on_event = on_event;
    return rtpsrv_create_tcp_channel(srv, &cfg, &t, mode == RTPSRV_TCP_LISTEN ? on_pkt : NULL, NULL, err);
}

int main(void) {
    const char *need[] = { "rtpstreampay", "rtpstreamdepay", "tcpclientsink", "tcpserversrc",
                           "audiotestsrc", "mulawenc", "rtppcmupay", "filesink" };
    if (system("gst-launch-1.0 --version >/dev/null 2>&1") != 0) {
        printf("SKIP: gst-launch-1.0 not found (apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good)\n");
        return 77;
    }
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (!have(need[i])) {
            printf("SKIP: GStreamer element %s not found (gstreamer1.0-plugins-good/-base)\n", need[i]);
            return 77;
        }
    int err;
    struct rtpsrv *srv = rtpsrv_ctor(0, &err);
    CHECK(srv != NULL);

    /* A: GStreamer sends, we listen */
    struct rtpsrv_chan *l = tcp_chan(srv, RTPSRV_TCP_LISTEN, NULL, &err);
    CHECK(l != NULL);
    char port[16];
    snprintf(port, sizeof(port), "port=%u", tu_port_of(l));
    char *a_argv[] = { "gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=20", "samplesperbuffer=160",
                       "!", "mulawenc", "!", "rtppcmupay", "!", "rtpstreampay", "!",
                       "tcpclientsink", "host=127.0.0.1", port, NULL };
    pid_t g = spawn(a_argv);
    CHECK_EQ(reap(g, 30000), 0);
    CHECK(tu_wait_count(&ev[RTPSRV_EV_CLOSED], 1, 10000));
    CHECK_EQ(atomic_load(&ev[RTPSRV_EV_CONNECTED]), 1);
    pthread_mutex_lock(&mu);
    printf("A: %d packets from GStreamer, %zu payload bytes\n", npk, payload_bytes);
    CHECK(npk >= 10);
    CHECK_EQ(bad_pkt, 0);
    CHECK_EQ(seq_gap, 0);
    CHECK_EQ(payload_bytes, 20 * 160);
    pthread_mutex_unlock(&mu);
    CHECK_EQ(rtpsrv_chan_close(l), 0);

    /* B: we send, GStreamer listens and writes what it depayloads */
    char path[] = "/tmp/rtpsynth_gst_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in q;
    memset(&q, 0, sizeof(q));
    q.sin_family = AF_INET;
    q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(probe, (struct sockaddr *)&q, sizeof(q)), 0);
    socklen_t ql = sizeof(q);
    CHECK_EQ(getsockname(probe, (struct sockaddr *)&q, &ql), 0);
    close(probe);
    snprintf(port, sizeof(port), "port=%u", ntohs(q.sin_port));
    char loc[64];
    snprintf(loc, sizeof(loc), "location=%s", path);
    char *b_argv[] = { "gst-launch-1.0", "-q", "tcpserversrc", "host=127.0.0.1", port, "!",
                       "application/x-rtp-stream,media=audio,clock-rate=8000,encoding-name=PCMU", "!",
                       "rtpstreamdepay", "!", "filesink", loc, NULL };
    g = spawn(b_argv);
    /* gst needs a moment to listen: retry the connect (bounded) */
    struct rtpsrv_chan *c = NULL;
    int connected = 0;
    for (int attempt = 0; attempt < 100 && !connected; attempt++) {
        int before = atomic_load(&ev[RTPSRV_EV_RESET]), up = atomic_load(&ev[RTPSRV_EV_CONNECTED]);
        c = tcp_chan(srv, RTPSRV_TCP_CONNECT, &q, &err);
        CHECK(c != NULL);
        uint64_t end = tu_now_ns() + 5000000000ull;
        while (tu_now_ns() < end && atomic_load(&ev[RTPSRV_EV_RESET]) == before &&
               atomic_load(&ev[RTPSRV_EV_CONNECTED]) == up)
            tu_sleep_ms(5);
        connected = atomic_load(&ev[RTPSRV_EV_CONNECTED]) > up;
        if (!connected) {
            CHECK_EQ(rtpsrv_chan_close(c), 0);
            c = NULL;
            tu_sleep_ms(100);
        }
    }
    CHECK(connected);
    static unsigned char sent[100][172];
    for (int i = 0; i < 100; i++) {
        unsigned char *p = sent[i];
        memset(p, 0xd5, 172);
        p[0] = 0x80; p[1] = 0;
        p[2] = 0x12; p[3] = (unsigned char)i;
        uint32_t ts = 160u * (uint32_t)i;
        p[4] = (unsigned char)(ts >> 24); p[5] = (unsigned char)(ts >> 16);
        p[6] = (unsigned char)(ts >> 8); p[7] = (unsigned char)ts;
        p[8] = 0xca; p[9] = 0xfe; p[10] = 0xba; p[11] = 0xbe;
        p[12] = (unsigned char)i;
        CHECK_EQ(rtpsrv_chan_send_pkt(c, p, 172), 0);
        if (i % 50 == 49) CHECK_EQ(rtpsrv_chan_drain(c, 10000000000ull), 0);
    }
    CHECK_EQ(rtpsrv_chan_close_drain(c, 10000000000ull), 0);   /* EOF ends gst's stream */
    CHECK_EQ(reap(g, 30000), 0);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static unsigned char got[100 * 172 + 16];
    size_t n = fread(got, 1, sizeof(got), f);
    fclose(f);
    unlink(path);
    printf("B: GStreamer depayloaded %zu bytes (%d packets of 172 sent)\n", n, 100);
    CHECK_EQ(n, sizeof(sent));
    CHECK(memcmp(got, sent, sizeof(sent)) == 0);

    rtpsrv_dtor(srv);
    TEST_DONE("test_interop_tcp_gst");
}
