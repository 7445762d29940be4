/*
 * rtpjbuf_flush(): the last run of consecutive held packets is delivered
 * behind an erasure spanning from the last delivered packet (from lseq 0
 * while warming up), every earlier run is dropped, later runs first, each
 * in ascending order. The buffer then carries on from the last packet
 * flushed, wrap tracking included. Expected lists were confirmed against
 * librtpsynth 1.3.2.
 *
 * Stream index n is sent with seq n & 0xffff and ts 1000 + 160 n.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

static void deliver(void *jb, uint64_t from, uint64_t to) {
    for (uint64_t n = from; n < to; n++) {
        char want[32];
        snprintf(want, sizeof(want), "%llu", (unsigned long long)n);
        IN(jb, n, want, "");
    }
}

static void test_empty(void) {
    void *jb = rtpjbuf_ctor(8);
    struct rjb_udp_in_r r = rtpjbuf_flush(jb);
    CHECK(r.error == 0 && r.ready == NULL && r.drop == NULL);
    IN(jb, 0, "0", "");
    FLUSH(jb, "", "");
    IN(jb, 1, "1", "");
    FLUSH(jb, "", "");
    FLUSH(jb, "", "");
    rtpjbuf_dtor(jb);
}

static void test_runs(void) {
    void *jb = rtpjbuf_ctor(8);
    IN(jb, 0, "0", "");
    deliver(jb, 1, 21);
    IN(jb, 22, "", "");
    IN(jb, 27, "", "");
    IN(jb, 25, "", "");
    IN(jb, 23, "", "");
    IN(jb, 28, "", "");
    FLUSH(jb, "E21-26/960 27 28", "25 22 23");
    FLUSH(jb, "", "");
    IN(jb, 25, "", "25");
    IN(jb, 28, "", "28");
    IN(jb, 29, "29", "");
    rtpjbuf_dtor(jb);

    /* four runs: C B A dropped, D delivered */
    jb = rtpjbuf_ctor(16);
    IN(jb, 0, "0", "");
    IN(jb, 3, "", "");
    IN(jb, 2, "", "");
    IN(jb, 6, "", "");
    IN(jb, 9, "", "");
    IN(jb, 10, "", "");
    IN(jb, 7, "", "");
    IN(jb, 11, "", "");
    IN(jb, 13, "", "");
    FLUSH(jb, "E1-12/1920 13", "9 10 11 6 7 2 3");
    IN(jb, 14, "14", "");
    rtpjbuf_dtor(jb);

    /* a single held run: nothing dropped */
    jb = rtpjbuf_ctor(16);
    IN(jb, 0, "0", "");
    IN(jb, 5, "", "");
    IN(jb, 6, "", "");
    IN(jb, 7, "", "");
    FLUSH(jb, "E1-4/640 5 6 7", "");
    IN(jb, 8, "8", "");
    rtpjbuf_dtor(jb);
}

/* Flushing a buffer that never delivered anything: the erasure starts at 0. */
static void test_warm_up(void) {
    void *jb = rtpjbuf_ctor(8);
    IN(jb, 10, "", "");
    IN(jb, 11, "", "");
    FLUSH(jb, "E0-9/2363 10 11", "");
    IN(jb, 12, "12", "");
    IN(jb, 14, "", "");
    FLUSH(jb, "E13-13/160 14", "");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(8);
    IN(jb, 5, "", "");
    IN(jb, 0, "", "");
    IN(jb, 1, "", "");
    FLUSH(jb, "E0-4/1500 5", "0 1");
    IN(jb, 1, "", "1");
    IN(jb, 6, "6", "");
    rtpjbuf_dtor(jb);

    /* lseq 0 is held once something else came first */
    jb = rtpjbuf_ctor(8);
    IN(jb, 3, "", "");
    IN(jb, 0, "", "");
    FLUSH(jb, "E0-2/1110 3", "0");
    rtpjbuf_dtor(jb);
}

/* jbcnt survives into the flushed frames. */
static void test_aged(void) {
    void *jb = rtpjbuf_ctor(3);
    IN(jb, 0, "0", "");
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 3, "", "3");
    IN(jb, 2, "", "2");
    FLUSH(jb, "E1-1/160 2 3j2", "");
    rtpjbuf_dtor(jb);
}

/* After a flush across the wrap the buffer keeps counting from there. */
static void test_wrap(void) {
    void *jb = rtpjbuf_ctor(8);
    IN(jb, 0, "0", "");
    deliver(jb, 1, 65533);
    IN(jb, 65535, "", "");
    IN(jb, 65536, "", "");
    FLUSH(jb, "E65533-65534/320 65535 65536", "");
    IN(jb, 65537, "65537", "");
    IN(jb, 65534, "", "65534");
    deliver(jb, 65538, 65600);
    rtpjbuf_dtor(jb);

    /* flushed before the wrap: the next packets are after it */
    jb = rtpjbuf_ctor(8);
    IN(jb, 0, "0", "");
    deliver(jb, 1, 65530);
    IN(jb, 65532, "", "");
    FLUSH(jb, "E65530-65531/320 65532", "");
    IN(jb, 65537, "", "");
    IN(jb, 65536, "", "");
    IN(jb, 65533, "65533", "");
    IN(jb, 65535, "", "");
    IN(jb, 65534, "65534 65535 65536 65537", "");
    rtpjbuf_dtor(jb);
}

int main(void) {
    test_empty();
    test_runs();
    test_warm_up();
    test_aged();
    test_wrap();
    TEST_DONE("test_jbuf_flush");
}
