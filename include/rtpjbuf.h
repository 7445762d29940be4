/*
 * rtpjbuf.h - fixed-capacity RTP jitter buffer that turns received datagrams
 * into an in-order stream of RTP frames and erasure frames (losses).
 * Source- and binary-compatible with librtpsynth 1.3.2; it includes what it
 * needs, so it also compiles on its own.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Sequence numbers become 64-bit logical numbers (lseq) that keep counting
 * across 16-bit wraps. rtpjbuf_udp_in() returns, in rjb_udp_in_r:
 *  - ready: frames now in order, linked by `next`: possibly an erasure frame
 *    (type RFT_ERS: lseq_start..lseq_end were lost, ts_diff is their
 *    timestamp span) followed by RTP frames (type RFT_RTP);
 *  - drop: RTP frames given up: duplicates, packets too late (their lseq is
 *    at or before the last one delivered), or a held packet so far ahead
 *    that it was passed over `capacity` times while the buffer was full;
 *  - error: 0, a negative RTP_PARSER_* code (the datagram was not RTP and
 *    was not kept), RJB_ENOMEM, or RJB_EINVAL (NULL handle, or NULL data
 *    with size > 0). `ready` and `drop` may be set even when error != 0.
 * Until the first packet is delivered the buffer waits to fill up (or for
 * lseq 0); after that a packet that is next in line is delivered at once and
 * a gap is held until the buffer is full.
 *
 * Ownership: RTP frames from ready and drop belong to the caller, who frees
 * each with rtpjbuf_frame_dtor() (or free(): each is its own malloc'd
 * block). The erasure frame belongs to the buffer and stays valid until the
 * next call on it; rtpjbuf_frame_dtor() ignores it. rtp.data points into
 * the caller's datagram, which must stay alive until its frame is freed.
 * A handle is used by one thread at a time.
 *
 * Differences from librtpsynth 1.3.2 (everything else is bit for bit):
 *  - NULL handles, NULL data with size > 0 and capacity 0 are errors (the
 *    original crashes, or grows without bound for capacity 0).
 *  - Where the original abort()s on its internal assertions or divides by
 *    zero (hostile sequence numbers), this library carries on: a packet at
 *    or behind the last delivered one is dropped as late (or counted as a
 *    sequence wrap when it is more than 65000 behind), an erasure of
 *    2^32 - 1 or more packets reports the whole timestamp gap. Every call
 *    before the one on which the original aborts has the original's
 *    output.
 *  - A packet with seq > 65000 arriving while the stream is still within
 *    its first 536 sequence numbers and has never wrapped is dropped as
 *    late (a straggler from before the stream started). The original gives
 *    it a logical number near 2^64, after which it aborts, drops every
 *    later packet as late, or delivers packets twice.
 */
#ifndef RTPSYNTH_RTPJBUF_H
#define RTPSYNTH_RTPJBUF_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rtp_frame_type { RFT_RTP = 0, RFT_ERS = 1};

struct rtp_packet {
    struct rtp_info info;
    uint64_t lseq;              /* logical sequence number */
    uint64_t jbcnt;             /* times passed over as the stale tail */
    const unsigned char *data;  /* the datagram given to rtpjbuf_udp_in() */
};

struct ers_frame {
    uint64_t lseq_start;
    uint64_t lseq_end;
    uint32_t ts_diff;
};

/*
 * The anonymous union is the original's layout (fp->rtp.info.ts,
 * fp->ers.ts_diff): standard C11 and C++; gcc -std=c99 -pedantic warns
 * about it ("ISO C99 doesn't support unnamed structs/unions"). Compile as
 * C11 (or gnu99) to include this header warning-free.
 */
struct rtp_frame {
    enum rtp_frame_type type;
    union {
        struct rtp_packet rtp;
        struct ers_frame ers;
    };
    struct rtp_frame *next;
};

struct rjb_udp_in_r {
    int error;
    struct rtp_frame *ready;
    struct rtp_frame *drop;
};

#define RJB_ENOMEM (RTP_PARSER_IPS-1000)
/* Ours: NULL handle or impossible argument (the original crashes). */
#define RJB_EINVAL (RTP_PARSER_IPS-1001)

/* New buffer holding up to capacity packets; NULL if capacity is 0 or out of memory. */
void *rtpjbuf_ctor(unsigned int capacity);
/* Destroy a buffer and the frames it still holds; NULL is fine. */
void rtpjbuf_dtor(void *_rjbp);
/* Free an RTP frame from ready or drop; NULL and erasure frames are ignored. */
void rtpjbuf_frame_dtor(void *_rfp);
/* Take in one datagram of size bytes (kept by reference, see above). */
struct rjb_udp_in_r rtpjbuf_udp_in(void *_rjbp, const unsigned char *data, size_t size);
/*
 * Release everything held (end of stream): the last run of consecutive
 * packets is delivered in ready, behind an erasure from the last delivered
 * packet if there is a gap; earlier runs are dropped (later runs first).
 */
struct rjb_udp_in_r rtpjbuf_flush(void *_rjbp);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPJBUF_H */
