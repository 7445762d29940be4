/*
 * Interop: GStreamer's rtpdtmfsrc sends events that our receiver reports
 * exactly: each digit once, in order, with the final duration of its end
 * packets as rtpdtmfsrc sent them.
 *
 * rtpdtmfsrc is driven by "dtmf-event" application events, which
 * gst-launch-1.0 cannot send, so this test loads libgstreamer-1.0.so.0 with
 * dlopen (no development headers needed) and runs
 *   rtpdtmfsrc pt=101 clock-rate=8000 ! udpsink host=127.0.0.1 port=P
 * itself. Bounded: 6 digits of 100-200 ms (rtpdtmfsrc makes them at least
 * 250 ms), about 4.5 s in all.
 * Exits 77 (ctest SKIP) when the library or the element is missing, and
 * under valgrind (GStreamer's own allocations would be reported).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtpevent.h"
#include "testutil.h"

#define PT 101
/* GLib/GStreamer ABI constants (stable since GStreamer 1.0) */
#define G_TYPE_INT ((unsigned long)(6 << 2))
#define G_TYPE_BOOLEAN ((unsigned long)(5 << 2))
#define GST_STATE_NULL 1
#define GST_STATE_PLAYING 4
#define GST_EVENT_CUSTOM_UPSTREAM ((270 << 8) | 1)

/* Under LeakSanitizer: GLib keeps some allocations for the life of the
 * process (its slice and type caches); those are not ours to report. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libgstreamer-1.0.so\n";
}

static void (*g_init)(int *, char ***);
static void *(*g_parse_launch)(const char *, void **);
static void *(*g_bin_get_by_name)(void *, const char *);
static int (*g_set_state)(void *, int);
static void *(*g_structure_new)(const char *, const char *, ...);
static void *(*g_event_new_custom)(int, void *);
static int (*g_send_event)(void *, void *);
static void (*g_object_unref)(void *);

static int load(void) {
    void *h = dlopen("libgstreamer-1.0.so.0", RTLD_NOW);
    if (h == NULL)
        return 0;
    g_init = (void (*)(int *, char ***))dlsym(h, "gst_init");
    g_parse_launch = (void *(*)(const char *, void **))dlsym(h, "gst_parse_launch");
    g_bin_get_by_name = (void *(*)(void *, const char *))dlsym(h, "gst_bin_get_by_name");
    g_set_state = (int (*)(void *, int))dlsym(h, "gst_element_set_state");
    g_structure_new = (void *(*)(const char *, const char *, ...))dlsym(h, "gst_structure_new");
    g_event_new_custom = (void *(*)(int, void *))dlsym(h, "gst_event_new_custom");
    g_send_event = (int (*)(void *, void *))dlsym(h, "gst_element_send_event");
    g_object_unref = (void (*)(void *))dlsym(h, "gst_object_unref");
    return g_init && g_parse_launch && g_bin_get_by_name && g_set_state && g_structure_new &&
           g_event_new_custom && g_send_event && g_object_unref;
}

/* Sent to the pipeline: it reaches rtpdtmfsrc upstream from the sink. */
static void dtmf(void *pipe, int number, int start) {
    void *st = start ? g_structure_new("dtmf-event", "type", G_TYPE_INT, 1, "number", G_TYPE_INT,
                                       number, "volume", G_TYPE_INT, 12, "start", G_TYPE_BOOLEAN,
                                       1, (char *)NULL)
                     : g_structure_new("dtmf-event", "type", G_TYPE_INT, 1, "start", G_TYPE_BOOLEAN,
                                       0, (char *)NULL);
    CHECK(st != NULL);
    CHECK(g_send_event(pipe, g_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, st)));
}

/* Raw view of what arrived: the largest end-packet duration per timestamp. */
static uint32_t end_ts[64];
static unsigned end_dur[64];
static int nend;

static void note(const unsigned char *b, ssize_t n) {
    if (n < 16 || (b[1] & 0x7f) != PT || !(b[13] & 0x80))
        return;
    uint32_t ts = ((uint32_t)b[4] << 24) | ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
    unsigned dur = (b[14] << 8) | b[15];
    for (int i = 0; i < nend; i++)
        if (end_ts[i] == ts) {
            if (dur > end_dur[i])
                end_dur[i] = dur;
            return;
        }
    if (nend < 64) {
        end_ts[nend] = ts;
        end_dur[nend++] = dur;
    }
}

/* Receive for ms milliseconds, feeding the receiver. */
static void pump(int s, struct rtpev_rx *rx, unsigned ms) {
    uint64_t end = tu_now_ns() + ms * 1000000ULL;
    unsigned char b[2048];
    for (;;) {
        uint64_t now = tu_now_ns();
        if (now >= end)
            return;
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0)
            continue;
        ssize_t n;
        while ((n = recv(s, b, sizeof(b), MSG_DONTWAIT)) > 0) {
            note(b, n);
            CHECK(rtpev_rx_push(rx, b, (size_t)n, tu_now_ns()) >= 0);
        }
    }
}

int main(void) {
    if (tu_scaled(0, 1)) {
        printf("SKIP: not under valgrind (GStreamer's own allocations)\n");
        return 77;
    }
    if (!load()) {
        printf("SKIP: libgstreamer-1.0.so.0 not found\n");
        return 77;
    }
    g_init(NULL, NULL);

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
    char desc[256];
    snprintf(desc, sizeof(desc),
             "rtpdtmfsrc name=src pt=%d clock-rate=8000 ! udpsink host=127.0.0.1 port=%u sync=false",
             PT, ntohs(a.sin_port));
    void *gerr = NULL;
    void *pipe = g_parse_launch(desc, &gerr);
    if (pipe == NULL || gerr != NULL) {
        printf("SKIP: rtpdtmfsrc or udpsink missing (gstreamer1.0-plugins-good)\n");
        return 77;
    }
    void *src = g_bin_get_by_name(pipe, "src");
    CHECK(src != NULL);
    CHECK(g_set_state(pipe, GST_STATE_PLAYING) != 0);
    struct rtpev_rx *rx = rtpev_rx_ctor(PT, 0, NULL);
    CHECK(rx != NULL);
    pump(s, rx, 300);

    static const int digits[] = {1, 5, 5, 11, 0, 15};
    for (int i = 0; i < 6; i++) {
        dtmf(pipe, digits[i], 1);
        pump(s, rx, 100 + 20 * i);
        dtmf(pipe, digits[i], 0);
        pump(s, rx, 450);
    }
    pump(s, rx, 500);
    g_set_state(pipe, GST_STATE_NULL);
    g_object_unref(src);
    g_object_unref(pipe);
    close(s);
    rtpev_rx_poll(rx, tu_now_ns() + 2000000000ULL);

    struct rtpev_event e;
    int k = 0;
    while (rtpev_rx_get(rx, &e) == 1) {
        CHECK(k < 6);
        CHECK_EQ(e.event, digits[k]);
        CHECK_EQ(e.end_reason, RTPEV_END_EBIT);
        CHECK_EQ(e.volume, 12);
        /* the duration of its end packets, as sent */
        int found = 0;
        for (int i = 0; i < nend; i++)
            if (end_ts[i] == e.ts) {
                CHECK_EQ(e.duration, end_dur[i]);
                found = 1;
            }
        CHECK(found);
        /* rtpdtmfsrc holds every event at least 250 ms (its MIN_PULSE_DURATION)
         * and updates every 40 ms: between that and the time held + 250 ms */
        printf("dtmf %c %llu units\n", e.digit, (unsigned long long)e.duration);
        CHECK(e.duration >= 8 * 250 && e.duration <= 8ULL * (100 + 20 * k + 250 + 120));
        k++;
    }
    CHECK_EQ(k, 6);
    CHECK_EQ(nend, 6);
    rtpev_rx_dtor(rx);
    TEST_DONE("test_event_interop_gstsrc");
}
