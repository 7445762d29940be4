/*
 * rtpvideo.h - video over RTP: H.264 (RFC 6184, packetization-mode 1),
 * VP8 (RFC 7741) and VP9 (RFC 9628) packetization, frame assembly,
 * NACK retransmission (RFC 4585, RFC 4588 RTX) and keyframe requests.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Frames: for H.264 an access unit in Annex B (start codes 00 00 01 or
 * 00 00 00 01 before each NAL unit; what the receiver outputs has 4-byte
 * start codes); for VP8 and VP9 one compressed frame as an IVF file holds
 * it (a VP9 superframe is one frame). RTP timestamps use the 90 kHz clock.
 *
 * Sender: rtpvid_send_frame() splits a frame into RTP packets of at most
 * mtu bytes (header included), all with the frame's timestamp and the
 * marker bit on the last, and hands each packet to a callback; it keeps
 * them for retransmission. Incoming RTCP (rtpvid_send_rtcp) is scanned for
 * generic NACKs, answered from that history, and PLI/FIR keyframe
 * requests, passed to the keyframe callback.
 *
 * Receiver: rtpvid_recv_pkt() takes datagrams in any order (duplicates
 * too); rtpvid_recv_frame() returns complete frames in sequence order, or
 * reports a frame it had to give up (missing packets past max_latency_ns,
 * or payloads that do not form a valid frame). A frame that is not
 * complete is never returned. rtpvid_recv_feedback() builds the RTCP
 * feedback due (NACK, PLI) for the application to send.
 *
 * Times: every function takes the time from the caller (now_ns,
 * arrival_ns: any monotonic nanosecond clock, the same for all calls on a
 * handle), so the same code runs live and from a capture.
 *
 * Handles: create with *_ctor, release with *_dtor (NULL is fine). A handle
 * is used by one thread at a time; different handles are independent.
 * Callbacks run on the calling thread, inside the call; they must not call
 * functions of this header on the same handle.
 *
 * Errors: negative errno values (see rtpsynth_strerror()):
 *  -EINVAL   NULL handle or pointer, unknown codec, payload type over 127,
 *            MTU out of range, cfg->size too small;
 *  -ENODATA  an empty frame, or an H.264 frame without a NAL unit;
 *  -EBADMSG  a datagram that is not RTP, an RTCP packet that does not parse;
 *  -ENOBUFS  an output buffer too small;
 *  RTPSYNTH_EPANIC (rtpsynth_error.h) an internal error was caught.
 */
#ifndef RTPSYNTH_RTPVIDEO_H
#define RTPSYNTH_RTPVIDEO_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rtpvid_send; /* opaque */
struct rtpvid_recv; /* opaque */

/* codecs */
#define RTPVID_H264 1
#define RTPVID_VP8  2
#define RTPVID_VP9  3

/* MTU bounds (RTP header + payload), and the default */
#define RTPVID_MIN_MTU     20
#define RTPVID_MAX_MTU     65507
#define RTPVID_DEFAULT_MTU 1200

/* Receives each packet built: valid only during the call, copy it to keep it. */
typedef void (*rtpvid_pkt_cb)(void *arg, const uint8_t *pkt, size_t len);

/* kind values of rtpvid_keyframe_cb */
#define RTPVID_PLI 1 /* RFC 4585 Picture Loss Indication */
#define RTPVID_FIR 2 /* RFC 5104 Full Intra Request (fir_seq: its sequence number) */
typedef void (*rtpvid_keyframe_cb)(void *arg, int kind, int fir_seq);

/* ------------------------------------------------------------------ sender */

struct rtpvid_send_cfg {
    size_t size;                /* sizeof(struct rtpvid_send_cfg), so the struct can grow */
    int codec;                  /* RTPVID_H264, RTPVID_VP8 or RTPVID_VP9 */
    int pt;                     /* payload type 0..127 */
    unsigned int mtu;           /* RTPVID_MIN_MTU..RTPVID_MAX_MTU; 0: RTPVID_DEFAULT_MTU */
    uint32_t ssrc;              /* the stream's SSRC (choose it at random) */
    uint16_t first_seq;         /* sequence number of the first packet */
    uint16_t first_picture_id;  /* VP8/VP9 PictureID of the first frame (15 bits) */
    unsigned int history;       /* packets kept for retransmission (0: none; at most 32768) */
    uint64_t history_age_ns;    /* older packets are not resent; 0: 1 s */
    int rtx_pt;                 /* RTX payload type (RFC 4588), or -1 to resend packets as they were */
    uint32_t rtx_ssrc;          /* RTX stream SSRC (not ssrc) */
    uint16_t rtx_first_seq;     /* first RTX sequence number */
};

/*
 * New sender. With RTX on, packets are 2 bytes smaller than the MTU so that
 * a retransmission (which adds the original sequence number) fits it too.
 * NULL on error, with -EINVAL (see above) or -ENOMEM in *err (when err is
 * not NULL; 0 on success).
 */
struct rtpvid_send *rtpvid_send_ctor(const struct rtpvid_send_cfg *cfg, int *err);

/*
 * Packetize one frame with RTP timestamp ts (90 kHz) at time now_ns: cb is
 * called once per packet, in sequence order (the last has the marker bit).
 * VP8/VP9 PictureIDs advance by one per frame. Returns the number of
 * packets (>= 1), -EINVAL (NULL s, frame or cb with len > 0), -ENODATA
 * (nothing to send), -EBADMSG (an H.264 NAL unit of type 0 or 24..31,
 * which RTP would misread); after an error no packet was sent and the
 * sequence number did not move.
 */
int rtpvid_send_frame(struct rtpvid_send *s, const uint8_t *frame, size_t len, uint32_t ts,
                      uint64_t now_ns, rtpvid_pkt_cb cb, void *arg);

/*
 * Handle one received RTCP datagram (compound, or reduced-size RFC 5506):
 * each generic NACK for this stream's SSRC is answered by resending the
 * packets it lists that are still in the history (through cb; as RTX when
 * configured); each PLI for this SSRC, and each FIR entry for it, calls the
 * keyframe callback. Other packets are skipped. Returns the number of
 * packets resent, or -EINVAL (NULL s, or buf with len > 0, or NULL cb) or
 * -EBADMSG (the first packet does not parse; feedback before a later
 * malformed packet is still handled).
 */
int rtpvid_send_rtcp(struct rtpvid_send *s, const uint8_t *buf, size_t len, uint64_t now_ns,
                     rtpvid_pkt_cb cb, void *arg);

/*
 * Resend the packets with the n sequence numbers in seqs, when still in
 * the history at now_ns (for applications that parse RTCP themselves).
 * Returns the number resent, or -EINVAL.
 */
int rtpvid_send_nack(struct rtpvid_send *s, const uint16_t *seqs, size_t n, uint64_t now_ns,
                     rtpvid_pkt_cb cb, void *arg);

/* Set (or with cb NULL, clear) the keyframe request callback. 0 or -EINVAL. */
int rtpvid_send_set_keyframe_cb(struct rtpvid_send *s, rtpvid_keyframe_cb cb, void *arg);

struct rtpvid_send_stats {
    uint64_t frames, packets, bytes; /* sent by rtpvid_send_frame */
    uint64_t nacked;                 /* sequence numbers asked for */
    uint64_t retransmitted;          /* packets resent */
    uint64_t not_found;              /* asked for but no longer in the history */
    uint64_t plis, firs;             /* keyframe requests received */
};

/* Copy the counters to *st. 0, or -EINVAL for a NULL argument. */
int rtpvid_send_stats(const struct rtpvid_send *s, struct rtpvid_send_stats *st);

void rtpvid_send_dtor(struct rtpvid_send *s);

/* ---------------------------------------------------------------- receiver */

struct rtpvid_recv_cfg {
    size_t size;                   /* sizeof(struct rtpvid_recv_cfg) */
    int codec;                     /* RTPVID_H264, RTPVID_VP8 or RTPVID_VP9 */
    int pt;                        /* media payload type 0..127 */
    int rtx_pt;                    /* RTX payload type, or -1 */
    unsigned int max_packets;      /* packets held (bounds a frame's size); 0: 1024 */
    uint64_t max_latency_ns;       /* how long a frame waits for missing packets; 0: 500 ms */
    int nack;                      /* nonzero: ask for missing packets */
    uint64_t rtt_ns;               /* round-trip time until rtpvid_recv_set_rtt; 0: 100 ms */
    uint64_t keyframe_interval_ns; /* keyframe requests at least this far apart; 0: 500 ms */
};

/* New receiver. NULL on error with -EINVAL or -ENOMEM in *err. */
struct rtpvid_recv *rtpvid_recv_ctor(const struct rtpvid_recv_cfg *cfg, int *err);

/* rtpvid_recv_pkt results */
#define RTPVID_STORED    0
#define RTPVID_DUPLICATE 1 /* already held */
#define RTPVID_LATE      2 /* its frame was already returned or given up */
#define RTPVID_IGNORED   3 /* another payload type, or another SSRC than the first seen */

/*
 * Take one datagram that arrived at arrival_ns. The stream's SSRC is the
 * first one seen with the media payload type (the RTX SSRC likewise). The
 * data is copied. Returns RTPVID_* above, -EBADMSG (not an RTP packet, or
 * an RTX packet too short), -EINVAL (NULL r, NULL pkt with len > 0).
 */
int rtpvid_recv_pkt(struct rtpvid_recv *r, const uint8_t *pkt, size_t len, uint64_t arrival_ns);

/* flags of a returned frame */
#define RTPVID_FRAME_KEY        1 /* key frame (H.264: holds an IDR slice) */
#define RTPVID_FRAME_RECOVERED  2 /* some packet came after a NACK or as RTX */
#define RTPVID_FRAME_AFTER_LOSS 4 /* a frame was lost since the last key frame */

/* drop_reason of a dropped frame */
#define RTPVID_DROP_INCOMPLETE 1 /* packets missing past the latency bound */
#define RTPVID_DROP_CORRUPT    2 /* payloads that do not form a valid frame */
#define RTPVID_DROP_OVERFLOW   3 /* buffer full, or a sequence number jump */

struct rtpvid_frame {
    const uint8_t *data;  /* the frame (NULL for a drop); valid until the next call on r */
    size_t len;
    uint32_t ts;          /* RTP timestamp */
    uint16_t first_seq, last_seq;
    uint32_t packets;     /* packets it was made of (for a drop: those received) */
    int flags;            /* RTPVID_FRAME_* */
    int drop_reason;      /* RTPVID_DROP_* for a drop, else 0 */
};

#define RTPVID_NONE    0
#define RTPVID_FRAME   1
#define RTPVID_DROPPED 2

/*
 * The next event at now_ns: RTPVID_FRAME (a complete frame in *f),
 * RTPVID_DROPPED (a frame given up, described in *f), or RTPVID_NONE.
 * Call it until RTPVID_NONE after each rtpvid_recv_pkt and periodically.
 * now_ns == UINT64_MAX gives up everything still incomplete (end of
 * stream). -EINVAL for a NULL argument.
 */
int rtpvid_recv_frame(struct rtpvid_recv *r, uint64_t now_ns, struct rtpvid_frame *f);

/*
 * Write the RTCP feedback due at now_ns into buf: a generic NACK for the
 * missing packets whose request is due (a sequence number is asked for
 * again after an RTT at the earliest, given up after max_latency_ns or 10
 * tries), then a PLI when a frame was lost, no key frame came since and the
 * last PLI is older than keyframe_interval_ns. The packet is reduced-size
 * RTCP (RFC 5506); for a compound one, put it after a receiver report.
 * Returns its length, 0 when nothing is due, -ENOBUFS when cap < 28,
 * -EINVAL.
 */
int rtpvid_recv_feedback(struct rtpvid_recv *r, uint64_t now_ns, uint32_t sender_ssrc, uint8_t *buf,
                         size_t cap);

/*
 * The same NACK decisions as a plain list: up to cap sequence numbers whose
 * request is due at now_ns are written to seqs (they then count as asked).
 * Returns the count, 0 with NACK off, -EINVAL.
 */
int rtpvid_recv_nacks(struct rtpvid_recv *r, uint64_t now_ns, uint16_t *seqs, size_t cap);

/* 1 when a keyframe request is due at now_ns (it then counts as sent), 0
 * otherwise, -EINVAL. Shares its pacing with rtpvid_recv_feedback. */
int rtpvid_recv_keyframe_due(struct rtpvid_recv *r, uint64_t now_ns);

/* The media SSRC once known: 1 and *ssrc set, 0 before any packet, -EINVAL. */
int rtpvid_recv_ssrc(const struct rtpvid_recv *r, uint32_t *ssrc);

/* Use rtt_ns to pace NACKs from now on. 0 or -EINVAL. */
int rtpvid_recv_set_rtt(struct rtpvid_recv *r, uint64_t rtt_ns);

struct rtpvid_recv_stats {
    uint64_t packets;        /* media and RTX packets taken */
    uint64_t frames, keyframes;
    uint64_t dropped_frames;
    uint64_t duplicates, late;
    uint64_t lost;           /* sequence numbers given up */
    uint64_t resets;         /* sequence number jumps */
    uint64_t nack_requested; /* sequence numbers put in NACKs (each try) */
    uint64_t recovered;      /* requested packets that then came */
    uint64_t nack_given_up;
    uint64_t rtx_packets;
    uint64_t ignored, malformed;
    uint64_t keyframe_requests;
};

int rtpvid_recv_stats(const struct rtpvid_recv *r, struct rtpvid_recv_stats *st);

void rtpvid_recv_dtor(struct rtpvid_recv *r);

/* --------------------------------------------------------------- helpers */

/* 1 if the frame is a key frame of codec, 0 if not, -EINVAL. */
int rtpvid_is_keyframe(int codec, const uint8_t *frame, size_t len);

#ifdef __cplusplus
}
#endif

#endif
