/*
 * Jitter buffer across 16-bit sequence number wraps: lseq keeps counting
 * (65535 -> 65536), losses and reordering at the wrap, pre-wrap stragglers
 * arriving after it. Expected lists were confirmed against librtpsynth
 * 1.3.2; the program uses only what the original declares.
 *
 * Stream index n is sent with seq n & 0xffff and ts 1000 + 160 n; a frame
 * is rendered as its lseq, so "65536" is the packet with seq 0 after a wrap.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

static void in_order_from(void *jb, uint64_t from, uint64_t to) {
    for (uint64_t n = from; n < to; n++) {
        char want[32];
        snprintf(want, sizeof(want), "%llu", (unsigned long long)n);
        IN(jb, n, want, "");
    }
}

/* In order through three wraps: every packet straight through. */
static void test_in_order(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 65530, "", "");
    IN(jb, 65531, "", "");
    IN(jb, 65532, "", "");
    IN(jb, 65533, "65530 65531 65532j1 65533", "");
    in_order_from(jb, 65534, 3 * 65536 + 700);
    FLUSH(jb, "", "");
    rtpjbuf_dtor(jb);
}

/* Reordered around the wrap, the straggler fills the gap. */
static void test_straggler_fills_gap(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 65520, "", "");
    IN(jb, 65521, "", "");
    IN(jb, 65522, "", "");
    IN(jb, 65523, "65520 65521 65522j1 65523", "");
    in_order_from(jb, 65524, 65534);
    IN(jb, 65535, "", "");
    IN(jb, 65536, "", "");          /* seq 0 */
    IN(jb, 65534, "65534 65535 65536", "");
    IN(jb, 65538, "", "");
    IN(jb, 65537, "65537 65538", "");
    in_order_from(jb, 65539, 65600);
    rtpjbuf_dtor(jb);

    /* several stragglers, the last of them after seq 2 */
    jb = rtpjbuf_ctor(6);
    IN(jb, 0, "0", "");
    in_order_from(jb, 1, 65532);
    IN(jb, 65537, "", "");          /* seq 1 */
    IN(jb, 65536, "", "");          /* seq 0 */
    IN(jb, 65533, "", "");
    IN(jb, 65538, "", "");          /* seq 2 */
    IN(jb, 65535, "", "");
    IN(jb, 65532, "65532 65533", "");
    IN(jb, 65534, "65534 65535 65536 65537 65538j1", "");
    in_order_from(jb, 65539, 65560);
    rtpjbuf_dtor(jb);
}

/* The gap across the wrap is given up: erasure, then the straggler is late. */
static void test_straggler_late(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    in_order_from(jb, 1, 65534);
    IN(jb, 65535, "", "");
    IN(jb, 65536, "", "");
    IN(jb, 65537, "", "");
    IN(jb, 65538, "E65534-65534/160 65535 65536 65537j1 65538", "");
    IN(jb, 65534, "", "65534");
    IN(jb, 65535, "", "65535");
    IN(jb, 65539, "65539", "");
    IN(jb, 65533, "", "65533");
    rtpjbuf_dtor(jb);

    /* loss on both sides of the wrap */
    jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    in_order_from(jb, 1, 65535);
    IN(jb, 65537, "", "");          /* seq 1: 65535 and 65536 lost */
    IN(jb, 65538, "", "");
    IN(jb, 65539, "", "");
    IN(jb, 65540, "E65535-65536/320 65537 65538 65539j1 65540", "");
    IN(jb, 65536, "", "65536");
    rtpjbuf_dtor(jb);
}

/* The wrap seen while the buffer is still warming up. */
static void test_wrap_in_warm_up(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 65535, "", "");
    IN(jb, 65537, "", "");          /* seq 1 */
    IN(jb, 65534, "", "");          /* pre-wrap straggler */
    IN(jb, 65536, "65534 65535 65536 65537j1", "");
    IN(jb, 65538, "65538", "");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(3);
    IN(jb, 65535, "", "");
    IN(jb, 65536, "", "");
    IN(jb, 65537, "65535 65536j1 65537", "");
    rtpjbuf_dtor(jb);
}

/*
 * A packet with seq above 65000 counts as a pre-wrap straggler only while
 * the newest lseq is in the first 536 of its cycle; later it is taken as
 * being one cycle ahead.
 */
static void test_straggler_window(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    in_order_from(jb, 1, 65536 + 535);
    IN(jb, 65100, "", "65100");             /* max lseq % 65536 == 534: pre-wrap, late */
    IN(jb, 65536 + 535, "66071", "");
    IN(jb, 65100, "", "65100");             /* 535: still */
    IN(jb, 65536 + 536, "66072", "");
    IN(jb, 65100, "", "");                  /* 536: one cycle ahead, held */
    IN(jb, 65536 + 537, "66073", "");
    FLUSH(jb, "E66074-130635/43893 130636", "");    /* ts went back: 32-bit wrap */
    rtpjbuf_dtor(jb);
}

int main(void) {
    test_in_order();
    test_straggler_fills_gap();
    test_straggler_late();
    test_wrap_in_warm_up();
    test_straggler_window();
    TEST_DONE("test_jbuf_wrap");
}
