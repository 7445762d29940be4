/*
 * jbuf_demo: generate an RTP stream, push it through a simulated network
 * that reorders, duplicates and drops packets, feed what arrives to the
 * jitter buffer and report what comes out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtpsynth.h"
#include "rtpjbuf.h"

#define NPKTS     20000
#define PLEN      160       /* 20 ms of G.711 at 8 kHz */
#define JB_CAP    16
#define WINDOW    6         /* packets are reordered within windows of this size */
#define DROP_PCT  3
#define DUP_PCT   2

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static unsigned int next_rand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned int)(rng >> 32);
}
static uint32_t fixed_rand(void *arg) { (void)arg; return next_rand(); }

struct counts { unsigned long delivered, erasures, erased_pkts, late_or_dup, parse_err; };

static void consume(struct rjb_udp_in_r r, struct counts *c) {
    if (r.error < 0)
        c->parse_err++;
    for (struct rtp_frame *f = r.ready, *next; f != NULL; f = next) {
        next = f->next;
        if (f->type == RFT_ERS) {
            c->erasures++;
            c->erased_pkts += f->ers.lseq_end - f->ers.lseq_start + 1;
        } else {
            c->delivered++;
            rtpjbuf_frame_dtor(f);
        }
    }
    for (struct rtp_frame *f = r.drop, *next; f != NULL; f = next) {
        next = f->next;
        c->late_or_dup++;
        rtpjbuf_frame_dtor(f);
    }
}

int main(void) {
    rsynth_set_randfunc(fixed_rand, NULL);
    void *rs = rsynth_ctor(8000, 20);
    void *jb = rtpjbuf_ctor(JB_CAP);
    if (rs == NULL || jb == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* the jitter buffer keeps pointers into the datagrams: keep them all */
    unsigned char **pkts = calloc(NPKTS, sizeof(*pkts));
    for (int i = 0; i < NPKTS; i++)
        pkts[i] = rsynth_next_pkt(rs, PLEN, RTP_PCMU);

    struct counts c = {0};
    unsigned long sent = 0, dropped = 0, duplicated = 0;
    int order[WINDOW];
    for (int base = 0; base < NPKTS; base += WINDOW) {
        int n = (NPKTS - base < WINDOW) ? NPKTS - base : WINDOW;
        for (int i = 0; i < n; i++)
            order[i] = base + i;
        for (int i = n - 1; i > 0; i--) {           /* shuffle the window */
            int j = next_rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < n; i++) {
            if (next_rand() % 100 < DROP_PCT) {
                dropped++;
                continue;
            }
            int copies = (next_rand() % 100 < DUP_PCT) ? 2 : 1;
            duplicated += copies - 1;
            for (int k = 0; k < copies; k++, sent++)
                consume(rtpjbuf_udp_in(jb, pkts[order[i]], 12 + PLEN), &c);
        }
    }
    consume(rtpjbuf_flush(jb), &c);

    printf("generated   %d packets (%d-byte payload, 20 ms)\n", NPKTS, PLEN);
    printf("network     dropped %lu, duplicated %lu, reordered within windows of %d\n",
        dropped, duplicated, WINDOW);
    printf("arrived     %lu datagrams\n", sent);
    printf("delivered   %lu packets in order\n", c.delivered);
    printf("erasures    %lu frames covering %lu lost packets\n", c.erasures, c.erased_pkts);
    printf("dropped     %lu late or duplicate packets\n", c.late_or_dup);
    printf("accounted   %lu of %d packets (delivered + erased + still held)\n",
        c.delivered + c.erased_pkts, NPKTS);

    rtpjbuf_dtor(jb);
    for (int i = 0; i < NPKTS; i++)
        rsynth_pkt_free(pkts[i]);
    free(pkts);
    rsynth_dtor(rs);
    return 0;
}
