/*
 * libFuzzer target: rtpjbuf_udp_in / rtpjbuf_flush driven by an arbitrary
 * program of datagrams and flushes (the input is decoded as opcodes, so the
 * fuzzer can reach deep buffer states with valid RTP as well as garbage).
 *
 * Checked on every call:
 *   - the error is 0 exactly when the datagram parses, else the parser code,
 *     and a failed call returns no ready list;
 *   - ready = [erasure] frame..., the erasure only at the head and followed
 *     by a frame, starting right after the last delivered lseq (0 if none)
 *     and ending right before the frame behind it, with ts_diff as documented;
 *   - lseq strictly increasing over everything delivered (ready) in the life
 *     of the buffer, and no gap between delivered frames without an erasure;
 *   - every RTP frame is one of our accepted datagrams (data pointer, seq,
 *     ts, lseq & 0xffff == seq) and comes back exactly once, in ready or drop;
 *   - the buffer never holds more than its capacity;
 *   - after the final flush every accepted datagram has come back (nothing
 *     is kept or leaked); or, if the input says so, rtpjbuf_dtor frees what
 *     is still held (LeakSanitizer checks).
 * Frames are freed with rtpjbuf_frame_dtor (erasure frames too: a no-op).
 */
#include "fuzz_common.h"

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"

struct dgram {
    uint8_t *buf;
    uint16_t seq;
    uint32_t ts;
    unsigned char accepted, returned;
};

#define MAXD 4096
#define HBITS 13
static struct dgram dg[MAXD];
static int nd;
static int htab[1 << HBITS]; /* index + 1, open addressing on the pointer */

static unsigned hslot(const void *p) {
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (unsigned)(x >> (64 - HBITS));
}

static void hput(int i) {
    unsigned s = hslot(dg[i].buf);
    while (htab[s] != 0)
        s = (s + 1) & ((1u << HBITS) - 1);
    htab[s] = i + 1;
}

static struct dgram *hget(const void *p) {
    for (unsigned s = hslot(p); htab[s] != 0; s = (s + 1) & ((1u << HBITS) - 1))
        if (dg[htab[s] - 1].buf == p)
            return &dg[htab[s] - 1];
    return NULL;
}

static unsigned capacity;
static uint64_t accepted, returned;
static int have_last;
static uint64_t last_lseq;
static uint32_t last_ts;

static void take_frame(struct rtp_frame *f) {
    FZ_CHECK(f->type == RFT_RTP);
    struct dgram *d = hget(f->rtp.data);
    FZ_CHECK(d != NULL);
    FZ_CHECK(d->accepted);
    FZ_CHECK(!d->returned);
    d->returned = 1;
    returned++;
    FZ_CHECK(f->rtp.info.seq == d->seq);
    FZ_CHECK(f->rtp.info.ts == d->ts);
    FZ_CHECK((f->rtp.lseq & 0xffff) == d->seq);
}

static void check_result(struct rjb_udp_in_r r) {
    struct rtp_frame *f, *next;
#ifdef FUZZ_TRACE
    fprintf(stderr, "error %d ready:", r.error);
    for (f = r.ready; f != NULL; f = f->next)
        if (f->type == RFT_ERS)
            fprintf(stderr, " ers[%llu..%llu ts_diff %u]", (unsigned long long)f->ers.lseq_start,
                    (unsigned long long)f->ers.lseq_end, f->ers.ts_diff);
        else
            fprintf(stderr, " %llu(seq %u ts %u)", (unsigned long long)f->rtp.lseq, f->rtp.info.seq, f->rtp.info.ts);
    fprintf(stderr, " drop:");
    for (f = r.drop; f != NULL; f = f->next)
        fprintf(stderr, " %llu(seq %u jbcnt %llu)", (unsigned long long)f->rtp.lseq, f->rtp.info.seq,
                (unsigned long long)f->rtp.jbcnt);
    fprintf(stderr, "\n");
#endif
    int i = 0;
    const struct ers_frame *ers = NULL;
    for (f = r.ready; f != NULL; f = next, i++) {
        next = f->next;
        if (f->type == RFT_ERS) {
            FZ_CHECK(i == 0);
            FZ_CHECK(next != NULL);
            uint64_t expect = have_last ? last_lseq + 1 : 0;
            FZ_CHECK(f->ers.lseq_start == expect);
            FZ_CHECK(f->ers.lseq_end >= f->ers.lseq_start);
            ers = &f->ers;
#ifndef FUZZ_ORIGINAL
            /* the erasure frame belongs to the buffer: this is a no-op */
            rtpjbuf_frame_dtor(f);
#endif
            continue;
        }
        take_frame(f);
        uint64_t lseq = f->rtp.lseq;
        if (ers != NULL) {
            FZ_CHECK(ers->lseq_end + 1 == lseq);
            uint32_t n = (uint32_t)(ers->lseq_end - ers->lseq_start + 1);
            uint32_t gap = f->rtp.info.ts - last_ts;
            uint32_t want = n + 1 == 0 ? gap : (uint32_t)(gap * n) / (n + 1);
            FZ_CHECK(ers->ts_diff == want);
            ers = NULL;
        } else if (have_last) {
            FZ_CHECK(lseq == last_lseq + 1);
        }
        FZ_CHECK(!have_last || lseq > last_lseq);
        have_last = 1;
        last_lseq = lseq;
        last_ts = f->rtp.info.ts;
        rtpjbuf_frame_dtor(f);
    }
    for (f = r.drop; f != NULL; f = next) {
        next = f->next;
        take_frame(f);
        rtpjbuf_frame_dtor(f);
    }
    FZ_CHECK(accepted - returned <= capacity);
}

static uint8_t *new_dgram(size_t len) {
    FZ_CHECK(nd < MAXD);
    uint8_t *b = malloc(len ? len : 1);
    FZ_CHECK(b != NULL);
    dg[nd].buf = b;
    return b;
}

/* Feed dg[nd] (len bytes) to the buffer and check the outcome. */
static void feed(void *jb, size_t len) {
    struct dgram *d = &dg[nd];
    struct rtp_info info;
    int pr = rtp_packet_parse_raw(d->buf, len, &info);
    d->accepted = pr == RTP_PARSER_OK;
    d->returned = 0;
    if (d->accepted) {
        d->seq = info.seq;
        d->ts = info.ts;
        accepted++;
    }
    hput(nd);
    nd++;
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, d->buf, len);
    if (pr == RTP_PARSER_OK) {
        FZ_CHECK(r.error == 0);
    } else {
        FZ_CHECK(r.error == pr);
        FZ_CHECK(r.ready == NULL);
    }
    check_result(r);
}

static void put_hdr(uint8_t *b, uint8_t b0, uint8_t b1, uint16_t seq, uint32_t ts) {
    b[0] = b0;
    b[1] = b1;
    b[2] = seq >> 8;
    b[3] = seq & 0xff;
    b[4] = ts >> 24;
    b[5] = ts >> 16;
    b[6] = ts >> 8;
    b[7] = ts;
    b[8] = 0xde; b[9] = 0xad; b[10] = 0xbe; b[11] = 0xef;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const unsigned special[] = {1, 2, 3, 65, 100, 128, 256, 1000};
    struct fz_in in = {data, size};
    uint8_t c = fz_u8(&in);
    capacity = c < 0xc0 ? 1u + c % 64u : special[c & 7];
    int dtor_only = (fz_u8(&in) & 0x40) != 0;
    uint16_t seq = fz_u16(&in);
    uint32_t ts = fz_u32(&in);
    uint16_t step = fz_u16(&in);
    uint8_t pt = fz_u8(&in) & 0x7f;

    nd = 0;
    memset(htab, 0, sizeof(htab));
    accepted = returned = 0;
    have_last = 0;
    last_lseq = 0;
    last_ts = 0; /* the buffer starts from ts 0 too (erasures from lseq 0) */
    void *jb = rtpjbuf_ctor(capacity);
    FZ_CHECK(jb != NULL);

    while (fz_left(&in) && nd < MAXD) {
        uint8_t o = fz_u8(&in);
        size_t plen = (size_t)(o >> 3) * 4;
        switch (o & 7) {
        case 0:
            check_result(rtpjbuf_flush(jb));
            continue;
        case 1: { /* raw bytes */
            const uint8_t *src;
            size_t len = fz_bytes(&in, fz_u8(&in), &src);
            uint8_t *b = new_dgram(len);
            if (len)
                memcpy(b, src, len);
            feed(jb, len);
            continue;
        }
        case 2: /* next in order */
            break;
        case 3: { /* reorder / late / loss */
            int8_t dlt = (int8_t)fz_u8(&in);
            seq = (uint16_t)(seq + dlt);
            ts += (uint32_t)(int32_t)dlt * step;
            break;
        }
        case 4: /* arbitrary jump */
            seq = fz_u16(&in);
            ts = fz_u32(&in);
            break;
        case 5: { /* duplicate / late copy of an earlier accepted packet */
            if (nd == 0)
                continue;
            struct dgram *old = &dg[nd - 1 - fz_u8(&in) % nd];
            if (!old->accepted)
                continue;
            uint8_t *b = new_dgram(12);
            put_hdr(b, 0x80, pt, old->seq, old->ts);
            feed(jb, 12);
            continue;
        }
        case 6: { /* header variants: CSRCs, extension, padding */
            uint8_t fl = fz_u8(&in);
            size_t cc = fl & 0x0f, ext = (fl & 0x10) ? 4 + 4 * (size_t)(fz_u8(&in) & 7) : 0;
            size_t pad = (fl & 0x20) ? 1 + (size_t)(fz_u8(&in) & 15) : 0;
            size_t len = 12 + 4 * cc + ext + plen + pad;
            uint8_t *b = new_dgram(len);
            memset(b, 0, len);
            put_hdr(b, (uint8_t)(0x80 | (fl & 0x3f)), (uint8_t)((fl & 0x80) | pt), seq, ts);
            if (ext)
                b[12 + 4 * cc + 3] = (uint8_t)((ext - 4) / 4);
            if (pad)
                b[len - 1] = (uint8_t)pad;
            feed(jb, len);
            seq++;
            ts += step;
            continue;
        }
        case 7: /* timestamp jump */
            ts += fz_u32(&in);
            break;
        }
        uint8_t *b = new_dgram(12 + plen);
        put_hdr(b, 0x80, pt, seq, ts);
        memset(b + 12, 0xd5, plen);
        feed(jb, 12 + plen);
        seq++;
        ts += step;
    }

    if (dtor_only) {
        rtpjbuf_dtor(jb); /* frees what it still holds */
    } else {
        check_result(rtpjbuf_flush(jb));
        FZ_CHECK(accepted == returned);
        /* an empty buffer flushes to nothing */
        struct rjb_udp_in_r r = rtpjbuf_flush(jb);
        FZ_CHECK(r.error == 0 && r.ready == NULL && r.drop == NULL);
        rtpjbuf_dtor(jb);
    }
#ifndef FUZZ_ORIGINAL
    /* NULL handles are defined here (the original crashes) */
    struct rjb_udp_in_r r0 = rtpjbuf_udp_in(NULL, data, size);
    FZ_CHECK(r0.error == RJB_EINVAL && r0.ready == NULL && r0.drop == NULL);
    r0 = rtpjbuf_flush(NULL);
    FZ_CHECK(r0.error == RJB_EINVAL);
    rtpjbuf_dtor(NULL);
    rtpjbuf_frame_dtor(NULL);
#endif
    for (int i = 0; i < nd; i++)
        free(dg[i].buf);
    return 0;
}
