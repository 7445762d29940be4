/*
 * rtpevent.h - telephone events (RFC 4733 DTMF) sent and received in RTP,
 * and in-band DTMF tones (ITU-T Q.23 generation, Q.24-style detection).
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Four independent parts:
 *  - the 4-byte event payload: rtpev_payload_encode / _decode, and the
 *    names of the DTMF events 0-15 ('0'-'9', '*', '#', 'A'-'D');
 *  - a sender (struct rtpev_tx) that produces the event packet of each
 *    packet time, to be sent in place of the audio packet of that packet
 *    time, on the audio's SSRC, sequence numbers and clock;
 *  - a receiver (struct rtpev_rx) that turns the event packets of a stream
 *    into one report per event, with its final duration;
 *  - in-band tones: a Q.23 tone-pair generator (struct rtpev_tone) and a
 *    detector over 16-bit PCM (struct rtpev_det).
 * In-band to RFC 4733 and back is a few lines on top: see
 * examples-c/dtmf_demo.c.
 *
 * Clock rate: RFC 4733 events use the clock of the audio they go with
 * (8000 for G.711 and L16 at 8 kHz, 48000 for Opus); durations are in that
 * clock's timestamp units.
 *
 * No function reads a clock: the sender advances one packet time per
 * rtpev_tx_next call, the receiver takes arrival times (any monotonic
 * nanosecond count: CLOCK_MONOTONIC live, capture times offline), the
 * detector counts samples.
 *
 * Handles: create with *_ctor, release with *_dtor (NULL is fine). A handle
 * is used by one thread at a time; different handles are independent. No
 * function keeps a pointer passed to it after it returns.
 *
 * Errors: negative errno values (see rtpsynth_strerror()):
 *  -EINVAL   NULL handle or pointer, argument out of the documented range;
 *  -EBUSY    rtpev_tx_start while an event is still being sent;
 *  -ENOBUFS  output buffer too small;
 *  -EBADMSG  a payload shorter than 4 bytes;
 *  -ENOMEM   out of memory (constructors);
 *  RTPSYNTH_EPANIC (-ENOTRECOVERABLE): an internal bug was caught.
 */
#ifndef RTPSYNTH_RTPEVENT_H
#define RTPSYNTH_RTPEVENT_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Payload (RFC 4733 section 2.3)
 * ------------------------------------------------------------------------ */

/* Bytes of one event block. */
#define RTPEV_PAYLOAD_LEN 4
/* Largest duration of one segment: a longer event continues in a new
 * segment whose RTP timestamp is 0xffff units later (RFC 4733 2.5.1.3). */
#define RTPEV_MAX_SEGMENT 0xffff

/* One event block. */
struct rtpev_payload {
    uint8_t event;      /* event code 0-255 (DTMF: 0-15) */
    uint8_t end;        /* E bit: 1 in the final packets of the event */
    uint8_t volume;     /* power level in -dBm0, 0-63 */
    uint16_t duration;  /* timestamp units since the packet's RTP timestamp */
};

/*
 * Write *p as 4 bytes into out (out_len bytes). The reserved bit is 0;
 * `end` counts as 1 when nonzero. Returns 4, -EINVAL (NULL, volume > 63) or
 * -ENOBUFS (out_len < 4).
 */
int rtpev_payload_encode(const struct rtpev_payload *p, unsigned char *out, size_t out_len);

/*
 * Read the first event block of an RTP payload (len bytes; bytes after the
 * first 4 are not looked at, the reserved bit is ignored). Returns 0,
 * -EINVAL (NULL) or -EBADMSG (len < 4).
 */
int rtpev_payload_decode(const unsigned char *buf, size_t len, struct rtpev_payload *p);

/* The character of DTMF event 0-15 ('0'-'9', '*', '#', 'A'-'D'); 0 for
 * other values. */
char rtpev_dtmf_char(int event);

/* The event code 0-15 of a DTMF character ('a'-'d' too), or -EINVAL. */
int rtpev_dtmf_event(char c);

/* ------------------------------------------------------------------------
 * Sender
 *
 * One sender per audio stream. Each packet time the application asks the
 * sender first: while an event is on, rtpev_tx_next gives the event packet
 * that replaces this packet time's audio packet (send it with the audio's
 * SSRC and next sequence number, the timestamp and marker given); 0 means
 * no event: send audio as usual. The audio clock keeps running through the
 * event (one packet time per call), so the audio resumes at the timestamp
 * it would have had.
 *
 * The packets follow RFC 4733: every packet of an event (of a segment)
 * carries the event's start timestamp; the marker bit is set on the first
 * packet only; the duration grows by one packet time per packet; the end
 * packet carries the E bit and the final duration and is sent three times;
 * an event longer than 0xffff units is cut into segments (the final packet
 * of a segment has duration 0xffff, no E bit, is sent three times, and the
 * next segment's timestamp is 0xffff units later, without marker).
 *
 * With the drop-in generator (rtpsynth.h), rtpev_tx_next_rsynth does the
 * whole packet time: the event packet through rsynth_next_pkt_at() and
 * rsynth_skip(rs, 1). Note that rsynth_ctor's generator steps its
 * timestamp by 8 * ptime per packet whatever its sample rate (the
 * original's rule): at 8000 Hz that is the packet time, at 48000 Hz it is
 * not, and the audio's timestamps are then off the 48 kHz clock the events
 * use.
 * ------------------------------------------------------------------------ */

struct rtpev_tx; /* opaque */

/* One event packet from rtpev_tx_next. */
struct rtpev_pkt {
    uint32_t ts;                /* RTP timestamp to send it with */
    int marker;                 /* 1: set the RTP marker bit */
    unsigned char payload[4];   /* the RTP payload */
    struct rtpev_payload info;  /* the same, decoded */
};

/*
 * New sender at the audio's clock rate (Hz, e.g. 8000 or 48000) and packet
 * time (ms). One packet time must be 1..65535 timestamp units. Volume
 * starts at 10 (-10 dBm0). NULL on error, with -EINVAL or -ENOMEM in *err
 * when err is not NULL (0 on success).
 */
struct rtpev_tx *rtpev_tx_ctor(unsigned int clock_rate, unsigned int ptime_ms, int *err);

/* Volume 0-63 (-dBm0) of the events started from now on. 0 or -EINVAL. */
int rtpev_tx_set_volume(struct rtpev_tx *tx, int volume);

/*
 * Start event `event` (0-255) at RTP timestamp ts: the media time of the
 * packet time the next rtpev_tx_next call is for (with the drop-in
 * generator: rsynth_get_ts()). duration_ms > 0: the event lasts that long
 * (its last packet time may be partly used); 0: until rtpev_tx_finish().
 * Returns 0, -EINVAL (NULL, event > 255) or -EBUSY (an event or its end
 * packets are still being sent: wait until rtpev_tx_active() is 0).
 */
int rtpev_tx_start(struct rtpev_tx *tx, int event, uint32_t ts, uint32_t duration_ms);

/*
 * End the current event with the packet time in progress: the next packet
 * is its end packet. Nothing happens when idle. 0 or -EINVAL (NULL).
 */
int rtpev_tx_finish(struct rtpev_tx *tx);

/* Stop at once, without end packets (receivers end the event by timeout).
 * 0 or -EINVAL (NULL). */
int rtpev_tx_abort(struct rtpev_tx *tx);

/* 1 while an event (or its end packets) is being sent, 0 when idle,
 * -EINVAL for NULL. */
int rtpev_tx_active(const struct rtpev_tx *tx);

/*
 * The event packet of this packet time: 1 with *pkt filled, 0 when no event
 * is on (send audio; *pkt untouched), -EINVAL (NULL). Call once per packet
 * time.
 */
int rtpev_tx_next(struct rtpev_tx *tx, struct rtpev_pkt *pkt);

/*
 * rtpev_tx_next for a drop-in generator rs (from rsynth_ctor or
 * rsynth_ctor_random): when an event is on, writes its RTP packet (payload
 * type pt, 0-127) into buf (blen bytes; bytes after the 16-byte packet are
 * zeroed like rsynth_next_pkt_pa does), advances the generator's sequence
 * number and, by rsynth_skip(rs, 1), its timestamp by one packet time, and
 * returns the packet length (16). Returns 0 when no event is on (neither
 * buf nor rs is touched: send audio), -EINVAL (NULL tx, rs or buf, pt out of
 * range) or -ENOBUFS (blen < 16; the event packet of this packet time is
 * then lost, as if the network had lost it).
 */
int rtpev_tx_next_rsynth(struct rtpev_tx *tx, void *rs, int pt, char *buf, unsigned int blen);

/* Destroy a sender; NULL is fine. */
void rtpev_tx_dtor(struct rtpev_tx *tx);

/* ------------------------------------------------------------------------
 * Receiver
 *
 * Feed it the RTP packets of the event payload type in ARRIVAL order,
 * straight from the socket, BEFORE any jitter buffer (all packets of an
 * event share one timestamp, which a timestamp-ordering buffer mangles).
 * Packets of other payload types are ignored, so the whole stream may be
 * fed. It reports each event once, when it is over, in timestamp order:
 *  - duplicates, the three end packets and late packets of a reported event
 *    do not report it again;
 *  - an event is known by SSRC and timestamp: a new timestamp is a new
 *    event, even with the same digit;
 *  - the duration is the largest seen (it counts from the event's start, so
 *    a lost first packet loses nothing); segments of a long event join;
 *  - without an end packet an event ends when no packet came for it for the
 *    timeout (checked by rtpev_rx_push and rtpev_rx_poll at the time they
 *    are given), when a later event has 2 packets or its end, or when the
 *    SSRC changes;
 *  - an SSRC change ends the old source's events, except that a packet of
 *    the new SSRC that continues the running event (same code, no marker,
 *    within the timeout) continues it as one event; late packets of the
 *    previous SSRC are dropped. If packets of that event then come from the
 *    previous SSRC again (two sources interleaving around a change), they
 *    continue it at that source's own timestamps and durations: the event's
 *    duration is the most either source reached, never their sum; a packet
 *    of the previous SSRC at an unrelated timestamp is a new event.
 * Nothing allocates after rtpev_rx_ctor.
 * ------------------------------------------------------------------------ */

struct rtpev_rx; /* opaque */

/* How an event ended (struct rtpev_event.end_reason). */
#define RTPEV_END_EBIT     1 /* an end packet arrived */
#define RTPEV_END_TIMEOUT  2 /* no packet for the timeout */
#define RTPEV_END_NEXT     3 /* a later event began */
#define RTPEV_END_SSRC     4 /* packets of another SSRC arrived */
#define RTPEV_END_FLUSH    5 /* rtpev_rx_flush() */

/* What rtpev_rx_push made of a packet (its return value). */
#define RTPEV_PKT_IGNORED   0 /* not RTP, another payload type, payload < 4 bytes */
#define RTPEV_PKT_NEW       1 /* started an event */
#define RTPEV_PKT_UPDATE    2 /* updated, continued or ended an event */
#define RTPEV_PKT_DUPLICATE 3 /* nothing new: a copy, or of an event already reported */

/* A finished event. */
struct rtpev_event {
    uint32_t ssrc;              /* as read from the packet (network order decoded) */
    uint32_t ts;                /* RTP timestamp of the event's start */
    uint64_t duration;          /* final duration, timestamp units, all segments */
    uint64_t first_arrival_ns;  /* arrival time of its first packet received */
    uint8_t event;              /* event code (DTMF 0-15) */
    char digit;                 /* '0'-'9', '*', '#', 'A'-'D'; 0 above 15 */
    uint8_t volume;             /* -dBm0, from its last packet */
    uint8_t end_reason;         /* RTPEV_END_* */
};

struct rtpev_rx_stats {
    uint64_t packets;     /* pushed */
    uint64_t events;      /* reported (including those lost to a full queue) */
    uint64_t duplicates;  /* RTPEV_PKT_DUPLICATE */
    uint64_t ignored;     /* RTPEV_PKT_IGNORED */
    uint64_t overflow;    /* events dropped: 64 waiting, none taken */
};

/*
 * New receiver for payload type pt (0-127). timeout_ns: how long an event
 * without end packet lasts after its last packet; 0 means 300 ms. NULL on
 * error, with -EINVAL or -ENOMEM in *err when err is not NULL.
 */
struct rtpev_rx *rtpev_rx_ctor(int pt, uint64_t timeout_ns, int *err);

/*
 * Feed one RTP datagram (len bytes) that arrived at arrival_ns, then end
 * the events whose timeout passed at arrival_ns. Returns RTPEV_PKT_* (>= 0)
 * or -EINVAL (NULL rx, NULL pkt with len > 0).
 */
int rtpev_rx_push(struct rtpev_rx *rx, const unsigned char *pkt, size_t len, uint64_t arrival_ns);

/* End the events whose timeout passed at now_ns. Returns the number of
 * finished events waiting for rtpev_rx_get, or -EINVAL (NULL). */
int rtpev_rx_poll(struct rtpev_rx *rx, uint64_t now_ns);

/* End every open event now (end of the stream). Returns the number of
 * events waiting, or -EINVAL (NULL). */
int rtpev_rx_flush(struct rtpev_rx *rx);

/* Take the oldest finished event: 1 with *ev filled, 0 when none is
 * waiting, -EINVAL (NULL). */
int rtpev_rx_get(struct rtpev_rx *rx, struct rtpev_event *ev);

/* Counters since rtpev_rx_ctor. 0 or -EINVAL (NULL). */
int rtpev_rx_stats(const struct rtpev_rx *rx, struct rtpev_rx_stats *st);

/* Destroy a receiver; NULL is fine. */
void rtpev_rx_dtor(struct rtpev_rx *rx);

/* ------------------------------------------------------------------------
 * In-band tones (ITU-T Q.23 frequencies: rows 697 770 852 941 Hz, columns
 * 1209 1336 1477 1633 Hz). Levels in dBm0 per frequency; a full-scale
 * 16-bit sine is +3.14 dBm0 (G.711's reference).
 * ------------------------------------------------------------------------ */

struct rtpev_tone; /* opaque */

/*
 * New tone generator for DTMF event 0-15 at srate Hz (>= 4000), the row
 * frequency at low_dbm0 and the column frequency at high_dbm0 (Q.23: the
 * column 0-2 dB above the row; e.g. -10 and -8). The two peaks together
 * must fit in 16 bits (each at most about -3 dBm0). NULL on error, with
 * -EINVAL or -ENOMEM in *err.
 */
struct rtpev_tone *rtpev_tone_ctor(int event, int srate, double low_dbm0, double high_dbm0,
                                   int *err);

/* Write the next n samples of the tone (phase continues across calls).
 * Returns n (at most INT_MAX per call) or -EINVAL (NULL, n > INT_MAX). */
int rtpev_tone_fill(struct rtpev_tone *t, int16_t *pcm, size_t n);

/* Destroy a tone generator; NULL is fine. */
void rtpev_tone_dtor(struct rtpev_tone *t);

/*
 * Detector: 12.75 ms Goertzel blocks on the 8 Q.23 frequencies. A block is
 * a digit when both tones are above -35 dBm0, the twist is within +4 dB
 * (column above row) and -8 dB (column below row), each tone is 6 dB above
 * the others of its group, the pair carries 85 % of the block's energy and
 * each tone's second harmonic is 10 dB below it. A digit starts after 2
 * such blocks in a row (about 25 ms: 40 ms tones are found, tones under
 * about 20 ms are not) and ends after 2 blocks without it (40 ms pauses
 * separate two presses of one key). Speech, music and noise fail the
 * energy, harmonic and twist checks.
 */

struct rtpev_det; /* opaque */

#define RTPEV_DET_START 1 /* a digit began (reported ~25 ms after its start) */
#define RTPEV_DET_END   2 /* a digit ended: at and duration are final */

struct rtpev_det_event {
    int type;           /* RTPEV_DET_START or RTPEV_DET_END */
    uint8_t event;      /* 0-15 */
    char digit;         /* '0'-'9', '*', '#', 'A'-'D' */
    uint64_t at;        /* first sample of the digit, counted from the first sample fed */
    uint64_t duration;  /* samples (END only; 0 for START) */
};

/* New detector for PCM at srate Hz (8000..48000). NULL on error, with
 * -EINVAL or -ENOMEM in *err. */
struct rtpev_det *rtpev_det_ctor(int srate, int *err);

/*
 * Feed n samples (any n, any split: blocks are carried over between calls).
 * Returns the number of events waiting for rtpev_det_get (at most 64; more
 * are dropped), or -EINVAL (NULL d, NULL pcm with n > 0).
 */
int rtpev_det_process(struct rtpev_det *d, const int16_t *pcm, size_t n);

/* End a digit still present (end of the signal). Returns the number of
 * events waiting, or -EINVAL (NULL). */
int rtpev_det_flush(struct rtpev_det *d);

/* Take the oldest event: 1 with *ev filled, 0 when none, -EINVAL (NULL). */
int rtpev_det_get(struct rtpev_det *d, struct rtpev_det_event *ev);

/* Destroy a detector; NULL is fine. */
void rtpev_det_dtor(struct rtpev_det *d);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPEVENT_H */
