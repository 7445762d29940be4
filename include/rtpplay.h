/*
 * rtpplay.h - adaptive clocked playout of one RTP audio stream: a buffer
 * that takes packets with their arrival times and hands out one frame of
 * decoded 16-bit mono PCM per call on the caller's clock, with a delay that
 * follows the network's jitter and concealment for what is missing.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Usage: rtpplay_cfg_init(), adjust, rtpplay_ctor(); then call
 * rtpplay_put() for every datagram received (from an rtpsrv pkt_in
 * callback, a capture, ...) with its arrival time, and rtpplay_get() once
 * per frame (rtpplay_frame_len() samples) from the audio clock with the
 * time that frame starts to play. Times are nanoseconds of any monotonic
 * clock (CLOCK_MONOTONIC, or a capture's timestamps): the buffer never
 * reads a clock, so a capture can run through it faster than real time.
 *
 * Codecs: G.711 µ-law and A-law (8 kHz), L16 (big-endian, mono, RTP clock =
 * its rate) and Opus (RTP clock 48 kHz, decoded to mono at 8, 12, 16, 24
 * or 48 kHz). Concealment: ITU-T G.711 Appendix I for G.711 and L16,
 * libopus's PLC and in-band FEC for Opus. Nothing allocates per packet.
 *
 * Delay: the target is the 99th percentile of recent relative arrival
 * delay plus a small margin (adaptive, within min_ms..max_ms) or a constant
 * (fixed); clock skew between sender and receiver is estimated and does not
 * move it. The buffer reaches its target by holding concealment in place
 * and by stretching or compressing decoded audio by one pitch period (any
 * length on silence), and re-plans each talkspurt's start. After 120 ms of
 * continuous loss with nothing buffered the stream is paused (silence); the
 * next packet restarts it. A new SSRC, or a timestamp jump beyond reason,
 * confirmed by a second packet, restarts the stream after what is still
 * buffered without losing its first packets. docs/playout.md has the rest.
 *
 * Threading: a handle is used by one thread at a time (put and get from
 * different threads need the caller's lock); different handles are
 * independent.
 *
 * Errors: negative errno values (see rtpsynth_strerror()):
 *  -EINVAL            NULL handle or pointer, a setting out of range;
 *  -EBADMSG           rtpplay_put: the datagram is not an RTP packet;
 *  -ENOBUFS           rtpplay_get: pcm_cap below one frame;
 *  -ENOMEM            out of memory (constructor);
 *  RTPSYNTH_EPANIC    (-ENOTRECOVERABLE) an internal error was caught (a
 *                     bug); the handle should be destroyed.
 */
#ifndef RTPSYNTH_RTPPLAY_H
#define RTPSYNTH_RTPPLAY_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rtpplay; /* opaque */

/* codec of struct rtpplay_cfg */
#define RTPPLAY_CODEC_PCMU 1
#define RTPPLAY_CODEC_PCMA 2
#define RTPPLAY_CODEC_L16  3
#define RTPPLAY_CODEC_OPUS 4

/* mode of struct rtpplay_cfg */
#define RTPPLAY_MODE_ADAPTIVE 0
#define RTPPLAY_MODE_FIXED    1

/* flags of struct rtpplay_cfg */
/* G.711 Appendix I exactly as the standard: its output runs 3.75 ms
 * (1/4 of the longest pitch period) behind, so the last real samples can
 * be cross-faded into the concealment. Default: no delay line; the first
 * 1/4 pitch period of concealment is cross-faded with the time-reversed
 * last real samples instead. */
#define RTPPLAY_F_PLC_STANDARD 0x1u

struct rtpplay_cfg {
    size_t size;              /* sizeof(struct rtpplay_cfg), so the struct can grow */
    int codec;                /* RTPPLAY_CODEC_* */
    int pt;                   /* payload type accepted, 0..127; -1: any */
    unsigned int rate;        /* L16: its rate, 8000..192000; Opus: output rate
                                 (8000, 12000, 16000, 24000, 48000); G.711: 8000;
                                 0: 8000 (48000 for Opus) */
    unsigned int frame_ms;    /* audio per rtpplay_get, 1..120 ms; 0: 20 */
    int mode;                 /* RTPPLAY_MODE_* */
    unsigned int min_ms;      /* adaptive: lowest target delay */
    unsigned int max_ms;      /* adaptive: highest target delay, <= 10000 */
    unsigned int fixed_ms;    /* fixed: the delay, <= 10000 */
    unsigned int capacity;    /* packets held at most, <= 4096; 0: from max_ms */
    unsigned int max_payload; /* largest payload kept, bytes, <= 65536; 0: 1500 */
    unsigned int flags;       /* RTPPLAY_F_* */
};

/*
 * Defaults for codec (an RTPPLAY_CODEC_* value): size set, pt -1, rate 0,
 * frame_ms 20, adaptive 0..500 ms, fixed_ms 0, capacity 0, max_payload 0,
 * flags 0. Returns 0, or -EINVAL for NULL cfg (codec is checked by
 * rtpplay_ctor).
 */
int rtpplay_cfg_init(struct rtpplay_cfg *cfg, int codec);

/*
 * New playout buffer. NULL on error, with the error stored in *err when err
 * is not NULL (0 on success): -EINVAL (NULL cfg, cfg->size smaller than
 * the struct of this header's first version, a setting out of range,
 * min_ms > max_ms), -ENOMEM, RTPSYNTH_EPANIC. The handle owns everything
 * it needs; cfg is not kept.
 */
struct rtpplay *rtpplay_ctor(const struct rtpplay_cfg *cfg, int *err);

/* rtpplay_put results (>= 0): what the buffer did with the packet */
#define RTPPLAY_STORED     0 /* kept for playout */
#define RTPPLAY_CANDIDATE  1 /* kept as the first packet of a possible new stream */
#define RTPPLAY_LATE       2 /* arrived after its playout time; dropped */
#define RTPPLAY_DUPLICATE  3 /* sequence number already received; dropped */
#define RTPPLAY_DISCARDED  4 /* too large or not decodable; or stored but the
                                full buffer dropped the packet due first */
#define RTPPLAY_OTHER_PT   5 /* another payload type; ignored, not counted */
#define RTPPLAY_EMPTY      6 /* no payload; ignored, not counted */

/*
 * Give the buffer one datagram (len bytes at pkt, a whole RTP packet) that
 * arrived at arrival_ns. The payload is copied: pkt may be reused when this
 * returns (an rtpsrv callback's buffer, for example). Returns an
 * RTPPLAY_* result above, -EBADMSG if the datagram is not RTP, -EINVAL for
 * a NULL p or a NULL pkt with len > 0.
 */
int rtpplay_put(struct rtpplay *p, const unsigned char *pkt, size_t len, uint64_t arrival_ns);

/* rtpplay_get result flags (>= 0) */
#define RTPPLAY_PLAYING    0x01 /* the frame carries the stream (decoded or concealed) */
#define RTPPLAY_CONCEALED  0x02 /* some of it is concealment */
#define RTPPLAY_FEC        0x04 /* some of it was rebuilt from Opus FEC */
#define RTPPLAY_EXPANDED   0x08 /* the delay was increased */
#define RTPPLAY_COMPRESSED 0x10 /* the delay was decreased */
#define RTPPLAY_PAUSED     0x20 /* silence: the stream is paused */
#define RTPPLAY_WAITING    0x40 /* silence: no packet yet, or the first one
                                   is not due yet */

/*
 * Write the frame that starts playing at now_ns: exactly
 * rtpplay_frame_len() samples to pcm (room for pcm_cap samples), silence
 * when there is nothing to play. Call it once per frame time on a steady
 * clock. Returns RTPPLAY_* flags (>= 0), -ENOBUFS if pcm_cap is below
 * rtpplay_frame_len() (nothing written), -EINVAL for NULL p or pcm.
 */
int rtpplay_get(struct rtpplay *p, uint64_t now_ns, int16_t *pcm, size_t pcm_cap);

/* Samples per rtpplay_get (rate * frame_ms / 1000); -EINVAL for NULL. */
int rtpplay_frame_len(const struct rtpplay *p);

/* Output sample rate in Hz; -EINVAL for NULL. */
int rtpplay_rate(const struct rtpplay *p);

struct rtpplay_stats {
    size_t size;                 /* set by the caller: sizeof(struct rtpplay_stats) */
    uint64_t received;           /* packets of the payload type given to put */
    uint64_t played;             /* packets decoded into the output */
    uint64_t late;               /* arrived after their playout time */
    uint64_t discarded;          /* dropped otherwise: overflow, undecodable,
                                    flushed by a stream change */
    uint64_t duplicates;         /* sequence number already received */
    uint64_t concealed_frames;   /* 10 ms units of concealment */
    uint64_t fec_frames;         /* lost spans rebuilt from Opus FEC */
    uint64_t expansions;         /* delay increases */
    uint64_t compressions;       /* delay decreases */
    uint64_t expanded_samples;   /* output samples added by expansions */
    uint64_t compressed_samples; /* samples removed by compressions */
    uint64_t resets;             /* stream restarts (new SSRC, timestamp jump, rtpplay_reset) */
    uint64_t pauses;             /* continuous losses over 120 ms */
    uint64_t talkspurts;         /* talkspurt starts used to re-plan the delay */
    uint64_t delay_count;        /* played packets with a delay record */
    int64_t current_delay_ns;    /* buffer delay now (what the fastest packets see) */
    int64_t target_delay_ns;     /* the delay aimed at */
    double mean_delay_ns;        /* per-packet delay, arrival to playout of its */
    double p95_delay_ns;         /*   first sample, over played packets */
    double skew_ppm;             /* sender clock against ours (positive: slower) */
};

/*
 * Fill *st (the first st->size bytes of this header's struct; set st->size
 * first). Returns 0, or -EINVAL for NULL p or st or st->size below
 * sizeof(size_t) + 8.
 */
int rtpplay_stats(const struct rtpplay *p, struct rtpplay_stats *st);

/*
 * Mean per-packet delay in ms for each minute of arrival time since the
 * first played packet: writes min(count, cap) values to ms (NaN for a
 * minute without played packets) and returns count (>= 0), or -EINVAL for
 * NULL p, or NULL ms with cap > 0.
 */
int rtpplay_delay_by_minute(const struct rtpplay *p, double *ms, size_t cap);

struct rtpplay_played {
    uint64_t arrival_ns;  /* when the packet arrived */
    uint64_t playout_ns;  /* when its first sample plays */
    uint32_t ts;          /* its RTP timestamp */
    uint16_t seq;         /* its sequence number */
};

/*
 * The oldest played-packet record not yet collected (the buffer keeps the
 * last 256): 1 and *rec filled, 0 when there is none, -EINVAL for NULL.
 */
int rtpplay_next_played(struct rtpplay *p, struct rtpplay_played *rec);

/* Drop everything buffered and wait for a new stream (statistics stay,
 * resets + 1). 0, or -EINVAL for NULL. */
int rtpplay_reset(struct rtpplay *p);

/* Destroy a buffer; NULL is fine. */
void rtpplay_dtor(struct rtpplay *p);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPPLAY_H */
