/*
 * rtcp.h - RTCP (RFC 3550 section 6 and appendix A, RFC 4585/5104
 * feedback, RFC 5761 demultiplexing): packet building and parsing,
 * receiver statistics per remote source, and a session object that ties
 * them together for one local SSRC.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Times: every function takes its times from the caller, so the same code
 * runs live and faster than real time from a capture:
 *  - now_ns / arrival_ns: nanoseconds on one monotonic clock of the
 *    caller's choice (CLOCK_MONOTONIC live, capture timestamps offline);
 *  - wall_ns: nanoseconds since the Unix epoch (CLOCK_REALTIME), used only
 *    for the NTP timestamp of the sender reports we build.
 *
 * Handles (struct rtcp_stats, struct rtcp_session) are used by one thread
 * at a time (lock around them if two threads share one); different handles
 * are independent. The free functions (build, parse, demux) are pure and
 * callable from any thread. Nothing here reads a clock, sleeps or does I/O.
 *
 * Errors: negative errno values (see rtpsynth_strerror()):
 *  -EINVAL    NULL handle or pointer, argument out of range;
 *  -ENOBUFS   the output buffer is too small (nothing was written);
 *  -E2BIG     more than 31 report blocks / SSRCs, or a packet longer than
 *             RTCP's 16-bit length allows;
 *  -EBADMSG   malformed input (see RTCP_MALFORMED_* for the reason);
 *  -ESHUTDOWN the session said BYE already;
 *  -ENOMEM    out of memory (constructors);
 *  RTPSYNTH_EPANIC an internal bug was caught at the boundary.
 * Nothing allocates per packet: the session's remote-source table is
 * allocated by its constructor.
 */
#ifndef RTPSYNTH_RTCP_H
#define RTPSYNTH_RTCP_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Packet types (the second octet of an RTCP header). */
#define RTCP_SR    200
#define RTCP_RR    201
#define RTCP_SDES  202
#define RTCP_BYE   203
#define RTCP_APP   204
#define RTCP_RTPFB 205 /* RFC 4585 transport-layer feedback */
#define RTCP_PSFB  206 /* RFC 4585 payload-specific feedback */

/* Feedback message types (the FMT field, `count` of struct rtcp_pkt). */
#define RTCP_FMT_NACK 1 /* RTPFB: generic NACK */
#define RTCP_FMT_PLI  1 /* PSFB: picture loss indication */
#define RTCP_FMT_FIR  4 /* PSFB: full intra request (RFC 5104) */

/* SDES item types. */
#define RTCP_SDES_CNAME 1
#define RTCP_SDES_NAME  2
#define RTCP_SDES_EMAIL 3
#define RTCP_SDES_PHONE 4
#define RTCP_SDES_LOC   5
#define RTCP_SDES_TOOL  6
#define RTCP_SDES_NOTE  7
#define RTCP_SDES_PRIV  8

/* Most report blocks / chunks / SSRCs in one packet. */
#define RTCP_MAX_COUNT 31

/* Why rtcp_parse_next() or rtcp_check_compound() said -EBADMSG. */
#define RTCP_MALFORMED_TRUNCATED        1 /* fewer than 4 bytes where a header starts */
#define RTCP_MALFORMED_BAD_VERSION      2 /* version field not 2 */
#define RTCP_MALFORMED_LENGTH           3 /* length field runs past the buffer */
#define RTCP_MALFORMED_BAD_PADDING      4 /* padding count 0 or past the body */
#define RTCP_MALFORMED_PADDING_NOT_LAST 5 /* padding bit on a packet that is not the last */
#define RTCP_MALFORMED_TOO_SHORT        6 /* shorter than its type's fixed part */
#define RTCP_MALFORMED_COUNT            7 /* count field does not fit the length */
#define RTCP_MALFORMED_SDES             8 /* SDES item past the end or unterminated */
#define RTCP_MALFORMED_BODY             9 /* feedback entries / BYE reason malformed */

/* Static text for an RTCP_MALFORMED_* value ("unknown" for others). */
const char *rtcp_malformed_str(int code);

/*
 * RFC 5761 section 4: 1 when a datagram arriving on a port that carries
 * both RTP and RTCP is RTCP (version 2, at least 4 bytes, second octet in
 * 192..223), else 0 (also for NULL). Pure; any thread.
 */
int rtcp_is_rtcp(const void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Wire structures                                                     */

/* The sender information of an SR. */
struct rtcp_sender_info {
    uint64_t ntp;      /* NTP timestamp: seconds since 1900 << 32 | fraction */
    uint32_t rtp_ts;   /* RTP timestamp of the same instant */
    uint32_t packets;  /* sender's packet count */
    uint32_t octets;   /* sender's payload octet count */
};

/* One report block (RFC 3550 6.4.1). */
struct rtcp_report_block {
    uint32_t ssrc;            /* the source reported on */
    uint32_t fraction_lost;   /* 0..255: lost since the last report, in 1/256 */
    int32_t cumulative_lost;  /* 24-bit signed on the wire; clamped when built */
    uint32_t ext_highest_seq; /* cycles << 16 | highest sequence number */
    uint32_t jitter;          /* interarrival jitter, timestamp units */
    uint32_t lsr;             /* middle 32 bits of the last SR's NTP time, 0: none */
    uint32_t dlsr;            /* delay since that SR, 1/65536 s */
};

/* One SDES item for rtcp_build_sdes(). */
struct rtcp_sdes_item {
    int type;          /* RTCP_SDES_* (1..255; 0 is the terminator, refused) */
    const char *text;  /* not NUL-terminated necessarily */
    size_t len;        /* 0..255 */
};

/* ------------------------------------------------------------------ */
/* Building: each function writes one packet at buf (cap bytes of room)  */
/* and returns its length (a multiple of 4), or a negative error with    */
/* nothing written. A compound packet is built by calling them in turn  */
/* at buf + offset: SR or RR first, then SDES with a CNAME (RFC 3550    */
/* 6.1), then anything else; rtcp_pad() last if padding is wanted.      */

/*
 * SR: our SSRC, the sender information and n (0..31) report blocks
 * (blocks may be NULL when n is 0). Errors: -EINVAL (NULL), -E2BIG (n >
 * 31), -ENOBUFS (28 + 24 n bytes needed).
 */
int rtcp_build_sr(void *buf, size_t cap, uint32_t ssrc,
    const struct rtcp_sender_info *si, const struct rtcp_report_block *blocks,
    unsigned int n);

/* RR: our SSRC and n (0..31) report blocks. Errors as rtcp_build_sr. */
int rtcp_build_rr(void *buf, size_t cap, uint32_t ssrc,
    const struct rtcp_report_block *blocks, unsigned int n);

/*
 * SDES with one chunk: ssrc and n (0..255) items (items may be NULL when
 * n is 0). Errors: -EINVAL (NULL, an item of type 0 or above 255, longer
 * than 255, or with NULL text and len > 0), -E2BIG (n > 255), -ENOBUFS.
 */
int rtcp_build_sdes(void *buf, size_t cap, uint32_t ssrc,
    const struct rtcp_sdes_item *items, unsigned int n);

/*
 * BYE for n (0..31) SSRCs with an optional reason (NULL or reason_len 0:
 * none; at most 255 bytes). Errors: -EINVAL, -E2BIG, -ENOBUFS.
 */
int rtcp_build_bye(void *buf, size_t cap, const uint32_t *ssrcs,
    unsigned int n, const char *reason, size_t reason_len);

/*
 * APP: subtype 0..31, our SSRC, a 4-character name (4 bytes read), data (len a multiple
 * of 4; NULL when len is 0). Errors: -EINVAL, -ENOBUFS, -E2BIG.
 */
int rtcp_build_app(void *buf, size_t cap, unsigned int subtype,
    uint32_t ssrc, const char *name, const void *data, size_t len);

/*
 * Generic NACK (RTPFB FMT 1) from `sender` about `media`, asking for the n
 * (>= 1) sequence numbers in lost[]: packed into PID + 16-bit BLP entries
 * greedily in the given order (sorted input packs tightest). Errors:
 * -EINVAL (NULL, n == 0), -ENOBUFS, -E2BIG.
 */
int rtcp_build_nack(void *buf, size_t cap, uint32_t sender, uint32_t media,
    const uint16_t *lost, size_t n);

/* PLI (PSFB FMT 1). 12 bytes. Errors: -EINVAL (NULL buf), -ENOBUFS. */
int rtcp_build_pli(void *buf, size_t cap, uint32_t sender, uint32_t media);

/*
 * FIR (PSFB FMT 4, RFC 5104) with n (1..255) entries (ssrcs[i], seqs[i]):
 * the SSRC asked to send a decoder refresh and the command sequence
 * number. Errors: -EINVAL (NULL, n == 0), -ENOBUFS, -E2BIG (n > 255).
 */
int rtcp_build_fir(void *buf, size_t cap, uint32_t sender,
    const uint32_t *ssrcs, const uint8_t *seqs, unsigned int n);

/*
 * Pad the compound packet in buf[0..len) (cap bytes of room) so its length
 * is a multiple of align (4..252, a multiple of 4): sets the padding bit
 * and the length of its last sub-packet. Returns the new length (len when
 * already aligned). Errors: -EINVAL (NULL, bad align, len 0 or not
 * a walkable compound), -ENOBUFS.
 */
int rtcp_pad(void *buf, size_t len, size_t cap, unsigned int align);

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/*
 * One sub-packet of a compound packet, as rtcp_parse_next() decodes it.
 * Pointers point into the caller's buffer, which must outlive their use.
 */
struct rtcp_pkt {
    const uint8_t *raw;  /* the sub-packet: header to end of padding */
    size_t raw_len;
    size_t offset;       /* of raw in the compound */
    int type;            /* RTCP_SR ... or any other packet type */
    int count;           /* the 5-bit field: RC, SC, APP subtype or FMT */
    int malformed;       /* RTCP_MALFORMED_* after -EBADMSG, else 0 */
    uint32_t ssrc;       /* SR/RR/APP/RTPFB/PSFB: sender SSRC; SDES: first
                            chunk's SSRC; BYE: first SSRC; else 0 */
    uint32_t media_ssrc; /* RTPFB/PSFB: the media source; else 0 */
    struct rtcp_sender_info sender; /* SR only */
    unsigned int n;      /* SR/RR: report blocks; SDES: items (all chunks);
                            BYE: SSRCs; NACK: sequence numbers asked for;
                            FIR: entries; else 0 */
    char app_name[4];    /* APP only */
    const uint8_t *data; /* APP: data; BYE: reason text; other types:
                            the body after the 4-byte header; else NULL */
    size_t data_len;
};

/*
 * Decode the sub-packet at *offset of the compound packet buf[0..len) into
 * *pkt and advance *offset past it. Start with *offset = 0.
 * Returns 1 for a sub-packet, 0 at the end (*offset == len, len > 0), or:
 *  -EINVAL   NULL buf (len > 0), offset or pkt, or *offset > len;
 *  -EBADMSG  malformed (pkt->malformed says why; pkt->offset is where);
 *            *offset is not advanced. An empty buffer is TRUNCATED.
 * Every length is checked: never reads outside buf[0..len).
 * Pure; any thread.
 */
int rtcp_parse_next(const void *buf, size_t len, size_t *offset,
    struct rtcp_pkt *pkt);

/*
 * RFC 3550 6.1 rules for a received compound: every sub-packet valid, the
 * first an SR or RR, a CNAME present. Returns the number of sub-packets,
 * or -EBADMSG (malformed; *malformed, when not NULL, gets the reason),
 * -EPROTO (first packet not SR/RR), -ENOENT (no CNAME), -EINVAL (NULL).
 */
int rtcp_check_compound(const void *buf, size_t len, int *malformed);

/*
 * Report block i (0..pkt->n-1) of an SR or RR. Returns 0, or -EINVAL
 * (NULL, not SR/RR, i out of range, pkt not from rtcp_parse_next).
 */
int rtcp_pkt_block(const struct rtcp_pkt *pkt, unsigned int i,
    struct rtcp_report_block *out);

/*
 * SDES item i (0..pkt->n-1, counted over all chunks): its chunk's SSRC,
 * type and text (pointing into the packet, not NUL-terminated, len
 * 0..255). Returns 0 or -EINVAL.
 */
int rtcp_pkt_sdes_item(const struct rtcp_pkt *pkt, unsigned int i,
    uint32_t *ssrc, int *type, const uint8_t **text, size_t *len);

/* SSRC i of a BYE. Returns 0 or -EINVAL. */
int rtcp_pkt_bye_ssrc(const struct rtcp_pkt *pkt, unsigned int i, uint32_t *ssrc);

/*
 * The sequence numbers a generic NACK asks for, in packet order: writes
 * min(pkt->n, cap) of them to seqs and returns pkt->n. -EINVAL if pkt is
 * not a NACK or seqs is NULL with cap > 0.
 */
int rtcp_pkt_nack_seqs(const struct rtcp_pkt *pkt, uint16_t *seqs, size_t cap);

/* FIR entry i: SSRC and command sequence number. Returns 0 or -EINVAL. */
int rtcp_pkt_fir_entry(const struct rtcp_pkt *pkt, unsigned int i,
    uint32_t *ssrc, uint8_t *seq);

/* ------------------------------------------------------------------ */
/* Receiver statistics for one remote source (RFC 3550 appendix A)     */

struct rtcp_stats; /* opaque */

/* What rtcp_stats_rtp() / rtcp_session_rtp_in() made of a packet. */
#define RTCP_SEQ_VALID     0 /* in sequence, after a gap, or reordered */
#define RTCP_SEQ_DUPLICATE 1 /* a sequence number already received */
#define RTCP_SEQ_PROBATION 2 /* source not validated yet (A.1): not counted */
#define RTCP_SEQ_VALIDATED 3 /* this packet validated the source */
#define RTCP_SEQ_JUMP      4 /* a large jump: not counted (or: our own SSRC) */
#define RTCP_SEQ_RESTARTED 5 /* 2nd packet in sequence after a jump: restarted */

struct rtcp_stats_info {
    uint64_t packets;     /* every RTP packet given (duplicates included) */
    uint64_t octets;      /* sum of their payload lengths */
    uint64_t received;    /* A.3 received since validation (duplicates in) */
    uint64_t expected;    /* A.3 expected: ext highest - base + 1 */
    int64_t lost;         /* expected - received: negative with duplicates */
    uint64_t duplicates;  /* packets whose sequence number was received */
    uint32_t ext_highest_seq; /* cycles << 16 | highest sequence number */
    int valid;            /* 1 once the source passed probation */
    double jitter;        /* A.8 interarrival jitter, timestamp units */
    double jitter_ms;     /* the same in ms (0 with clock rate 0) */
    double max_jitter_ms; /* highest jitter seen, ms */
};

/*
 * Statistics for a source whose RTP clock runs at clock_rate Hz (0:
 * unknown; jitter stays 0). The first MIN_SEQUENTIAL (2) packets in
 * sequence validate the source and are counted; sequence numbers may wrap;
 * a jump of 3000 or more ahead (or over 100 behind) is ignored unless the
 * next packet follows it, which restarts the counts from the jump (A.1).
 * Jitter uses the arrival time at full (ns) precision. NULL on error
 * (-ENOMEM in *err).
 */
struct rtcp_stats *rtcp_stats_ctor(uint32_t clock_rate, int *err);
void rtcp_stats_dtor(struct rtcp_stats *st); /* NULL is fine */

/*
 * Account one RTP packet: sequence number, RTP timestamp, arrival time
 * and payload length. Returns RTCP_SEQ_*, or -EINVAL for NULL. O(1), no
 * allocation.
 */
int rtcp_stats_rtp(struct rtcp_stats *st, uint16_t seq, uint32_t ts,
    uint64_t arrival_ns, size_t payload_len);

/* Record an SR from the source (its NTP timestamp) for LSR/DLSR. 0 or -EINVAL. */
int rtcp_stats_sr(struct rtcp_stats *st, uint64_t ntp, uint64_t arrival_ns);

/* Current figures. 0 or -EINVAL. */
int rtcp_stats_get(const struct rtcp_stats *st, struct rtcp_stats_info *out);

/*
 * The report block about this source (SSRC `ssrc`) at now_ns; starts a
 * new interval for the fraction lost. 0 or -EINVAL.
 */
int rtcp_stats_block(struct rtcp_stats *st, uint32_t ssrc, uint64_t now_ns,
    struct rtcp_report_block *out);

/* NTP timestamp (64-bit) of a wall-clock time in ns since the Unix epoch. */
uint64_t rtcp_ntp_from_unix_ns(uint64_t wall_ns);

/* ------------------------------------------------------------------ */
/* Session: one local SSRC                                             */

struct rtcp_session; /* opaque */

struct rtcp_session_cfg {
    size_t size;             /* sizeof(struct rtcp_session_cfg) */
    uint32_t ssrc;           /* our SSRC */
    uint32_t clock_rate;     /* RTP clock of the media, Hz (jitter, SR timestamp) */
    const char *cname;       /* NUL-terminated, 1..255 bytes; copied */
    uint32_t session_bw_bps; /* session bandwidth, bit/s (RTCP: 5 %); 0: 80000 */
    unsigned int max_sources;/* remote sources tracked, 0: 32, at most 4096 */
    uint64_t seed;           /* seed of the default interval randomiser */
};

/* Events (rtcp_session_next_event). */
#define RTCP_EV_NEW_SOURCE   1 /* a remote SSRC appeared */
#define RTCP_EV_SSRC_CHANGED 2 /* a new RTP sender while another was the last:
                                  old_ssrc -> ssrc (the peer changed SSRC) */
#define RTCP_EV_COLLISION    3 /* our SSRC used by someone else (RTP, SR/RR,
                                  or a CNAME that is not ours): pick a new
                                  one, rtcp_session_set_ssrc() */
#define RTCP_EV_BYE          4 /* the remote source said BYE */
#define RTCP_EV_TIMEOUT      5 /* silent 5 report intervals: forgotten */
#define RTCP_EV_SEQ_RESTART  6 /* its sequence numbers restarted */

struct rtcp_event {
    int type;          /* RTCP_EV_* */
    uint32_t ssrc;
    uint32_t old_ssrc; /* RTCP_EV_SSRC_CHANGED only */
};

struct rtcp_sender_stats {
    uint64_t packets;      /* RTP packets we sent */
    uint64_t octets;       /* their payload octets */
    uint64_t rtcp_sent;    /* compound reports built */
    uint64_t rtcp_received;/* compound packets given to rtcp_session_rtcp_in */
};

struct rtcp_remote_info {
    uint32_t ssrc;
    int left;                         /* said BYE */
    struct rtcp_stats_info stats;     /* reception of its RTP */
    int has_sr;                       /* last_sr is set */
    struct rtcp_sender_info last_sr;  /* its last SR */
    uint64_t last_sr_arrival_ns;
    int has_report;                   /* report_about_us is set */
    struct rtcp_report_block report_about_us; /* its last block about us */
    int64_t rtt_ns;                   /* RFC 3550 6.4.1 round trip, -1: unknown */
    uint64_t rtcp_packets;            /* compound packets from it */
    char cname[256];                  /* NUL-terminated; "" until known */
};

/*
 * New session at now_ns. The first report is due after the A.7 interval
 * with the minimum halved (2.5 s, randomised 0.5..1.5, divided by e - 3/2).
 * NULL on error: -EINVAL (NULL cfg, cfg->size too small, cname NULL, empty
 * or over 255 bytes, max_sources over 4096), -ENOMEM.
 */
struct rtcp_session *rtcp_session_ctor(const struct rtcp_session_cfg *cfg,
    uint64_t now_ns, int *err);
void rtcp_session_dtor(struct rtcp_session *s); /* NULL is fine */

/*
 * Replace the random source of the report interval: rand(arg) returns a
 * uniform value in [0, 1) (out-of-range values are clamped). NULL rand
 * restores the built-in generator. Called from the session's calls only.
 * Returns 0 or -EINVAL (NULL s).
 */
int rtcp_session_set_rand(struct rtcp_session *s, double (*rand)(void *arg), void *arg);

/* Account an RTP packet we sent (the whole packet). 0, -EINVAL, -EBADMSG (not RTP). */
int rtcp_session_rtp_sent(struct rtcp_session *s, const void *pkt, size_t len, uint64_t now_ns);

/*
 * Account an RTP packet received (the whole packet) at arrival_ns.
 * Returns RTCP_SEQ_*, or -EINVAL, -EBADMSG (not RTP). A packet carrying
 * our SSRC gives RTCP_SEQ_JUMP and an RTCP_EV_COLLISION event; one from
 * a new source when the table is full gives RTCP_SEQ_JUMP.
 */
int rtcp_session_rtp_in(struct rtcp_session *s, const void *pkt, size_t len, uint64_t arrival_ns);

/*
 * Take a compound RTCP packet received at arrival_ns: SRs (for LSR/DLSR),
 * report blocks about us (RTT), CNAMEs, BYEs. Returns the number of
 * sub-packets taken, or -EINVAL, or -EBADMSG: the sub-packets before the
 * malformed one were taken.
 */
int rtcp_session_rtcp_in(struct rtcp_session *s, const void *buf, size_t len, uint64_t arrival_ns);

/* When the next report is due (now_ns clock); 0 for NULL. */
uint64_t rtcp_session_next_report(const struct rtcp_session *s);

/*
 * If a report is due at now_ns, build it into buf (see
 * rtcp_session_report) and return its length; 0 when not due, including
 * when timer reconsideration (RFC 3550 6.3.6) puts it off (the next due
 * time moves later). Errors: -EINVAL, -ENOBUFS (nothing changed),
 * -ESHUTDOWN after BYE.
 */
int rtcp_session_poll(struct rtcp_session *s, uint64_t now_ns, uint64_t wall_ns,
    void *buf, size_t cap);

/*
 * Build our next report now, due or not: an SR if we sent RTP since the
 * last report (NTP time of wall_ns, RTP timestamp extrapolated from the
 * last packet sent), else an RR; report blocks for up to 31 sources whose
 * RTP arrived since the last report (more take turns); SDES with our
 * CNAME. Schedules the next one. Returns the length (1500 bytes always
 * suffice), or -EINVAL, -ENOBUFS (nothing changed), -ESHUTDOWN.
 */
int rtcp_session_report(struct rtcp_session *s, uint64_t now_ns, uint64_t wall_ns,
    void *buf, size_t cap);

/*
 * Build the last report with a BYE (reason: NULL or a NUL-terminated text
 * of at most 255 bytes) and close the session: later poll/report/bye give
 * -ESHUTDOWN; the other calls still work. Returns the length or an error
 * as rtcp_session_report.
 */
int rtcp_session_bye(struct rtcp_session *s, uint64_t now_ns, uint64_t wall_ns,
    const char *reason, void *buf, size_t cap);

/*
 * Take the oldest pending event (a queue of 32; the oldest are dropped
 * when it overflows). Returns 1 with *ev filled, 0 when there is none, or
 * -EINVAL.
 */
int rtcp_session_next_event(struct rtcp_session *s, struct rtcp_event *ev);

/* Take a new SSRC (after a collision); our sender counts restart. 0 or -EINVAL. */
int rtcp_session_set_ssrc(struct rtcp_session *s, uint32_t ssrc);

/* Our sending figures. 0 or -EINVAL. */
int rtcp_session_sender_stats(const struct rtcp_session *s, struct rtcp_sender_stats *out);

/* Number of remote sources known (>= 0), or -EINVAL. */
int rtcp_session_remote_count(const struct rtcp_session *s);

/* Remote source idx (0..count-1). 0, or -EINVAL (NULL, idx out of range). */
int rtcp_session_remote(const struct rtcp_session *s, unsigned int idx,
    struct rtcp_remote_info *out);

/* Remote source by SSRC. 0, -ENOENT (unknown), or -EINVAL. */
int rtcp_session_remote_by_ssrc(const struct rtcp_session *s, uint32_t ssrc,
    struct rtcp_remote_info *out);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTCP_H */
