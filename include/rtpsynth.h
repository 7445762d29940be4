/*
 * rtpsynth.h - RTP packet generator. Source- and binary-compatible with
 * librtpsynth 1.3.2: same functions, same packets for the same random draws.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Every packet has a 12-byte header: version 2, no padding, extension or
 * CSRCs; marker bit set on the first packet only (see rsynth_set_mbt); the
 * payload type given per call (low 7 bits); sequence number and timestamp in
 * network byte order; the SSRC in *host* byte order, exactly as the original
 * writes it. The timestamp advances by 8 * ptime per packet whatever the
 * sample rate (the original's rule); rsynth_resync uses the sample rate.
 *
 * A handle is used by one thread at a time. All functions accept a NULL
 * handle and then do nothing (returning NULL, -1 or 0); the original crashes.
 *
 * Environment: the generator stamps each packet with the CPU's time-stamp
 * counter where the kernel itself trusts it (clocksource tsc, constant and
 * nonstop TSC) and converts stamps to time only in rsynth_resync. With
 * RTPSYNTH_NO_TSC set (to any value) when the first generator of the
 * process is created, it reads CLOCK_MONOTONIC per packet instead (as the
 * original does). The choice is made once per process.
 *
 * The functions after the "rtpsynth-rs extensions" line at the end are new
 * in rtpsynth-rs (random seeding, getters, packets with a given timestamp).
 */
#ifndef RTPSYNTH_RTPSYNTH_H
#define RTPSYNTH_RTPSYNTH_H
#pragma once

#include <stdint.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EXPORT
#define EXPORT
#endif

/* The generator's position: 64-bit counters; packets carry their low bits. */
struct rsynth_seq {
    unsigned long long ts;
    unsigned long long seq;
};

/* Source of the random SSRC, initial timestamp and sequence number. */
typedef uint32_t (*rsynth_randfunc_t)(void *arg);

/*
 * New generator for the given sample rate (Hz) and packet time (ms). Draws
 * three values from the random function: SSRC, initial timestamp (& ~1),
 * initial sequence number (& 0xffff). NULL only when out of memory.
 */
void *rsynth_ctor(int srate, int ptime);

/*
 * Next packet with a zeroed payload of plen bytes, in a malloc'd block of
 * 12 + plen bytes: free it with rsynth_pkt_free() (or free()). NULL when
 * out of memory, for a NULL handle or plen < 0.
 */
void *rsynth_next_pkt(void *ri, int plen, int pt);

/*
 * Next packet written into buf (blen bytes). With pa == 0 the payload is
 * zeroed; with pa != 0 buf already holds the plen payload bytes at offset 0
 * and they are moved behind the header. Bytes after the packet up to blen
 * are zeroed. Returns the packet length (12 + plen), or -1 when blen is too
 * small, plen < 0, buf or the handle is NULL (nothing changes then).
 */
int rsynth_next_pkt_pa(void *ri, int plen, int pt, char *buf, unsigned int blen, int pa);

/* Advance the timestamp by npkts packet times without producing packets. */
void rsynth_skip(void *ri, int npkts);

/* Free a packet from rsynth_next_pkt(); NULL is fine. */
void rsynth_pkt_free(void *rnp);

/* Destroy a generator; NULL is fine. */
void rsynth_dtor(void *ri);

/* Set the marker bit of the next packet (bit 0 of new_st); returns the old one. */
unsigned int rsynth_set_mbt(void *ri, unsigned int new_st);

/*
 * Store the current position in *rsp (if rsp is not NULL), then advance the
 * timestamp by the time elapsed since the last packet (or since creation)
 * times the sample rate: call it after a pause in sending. The pause is
 * measured to well under a microsecond.
 */
void rsynth_resync(void *ri, struct rsynth_seq *rsp);

/*
 * Install the random function used by later rsynth_ctor() calls, process
 * wide; NULL restores random(). Safe to call from any thread.
 */
void rsynth_set_randfunc(rsynth_randfunc_t func, void *arg);

/*
 * ---------------------------------------------------------------------------
 * rtpsynth-rs extensions (not in librtpsynth 1.3.2)
 *
 * A program that uses these needs rtpsynth-rs; the functions above are
 * unchanged by them and produce the same packets as before.
 *
 * Note on rsynth_ctor(): its three draws come from random() (or the
 * function installed with rsynth_set_randfunc), and random() is never
 * seeded by the library, exactly as in the original: every process that
 * calls rsynth_ctor() without seeding random() itself sends the SAME SSRC,
 * initial sequence number and timestamp (RFC 3550 wants them random, and
 * two such senders into one session collide). Use rsynth_ctor_random() for
 * new code.
 * ---------------------------------------------------------------------------
 */

/*
 * Like rsynth_ctor(), but the SSRC, the initial timestamp (& ~1) and the
 * initial sequence number (& 0xffff) come from the OS random source
 * (getrandom(2)), so they differ between processes and runs; random() and
 * the function of rsynth_set_randfunc() are not used. Returns NULL when out
 * of memory or when the OS random source fails. Free with rsynth_dtor().
 */
void *rsynth_ctor_random(int srate, int ptime);

/* The generator's SSRC as a number (packets carry it in host byte order,
 * see above). 0 for a NULL handle. Changes nothing. */
uint32_t rsynth_get_ssrc(const void *ri);

/* The sequence number the next packet will carry. 0 for a NULL handle.
 * Changes nothing. */
uint16_t rsynth_get_seq(const void *ri);

/*
 * The timestamp (low 32 bits) the next rsynth_next_pkt / _pa packet will
 * carry: the stream's current media time. 0 for a NULL handle. Changes
 * nothing.
 */
uint32_t rsynth_get_ts(const void *ri);

/*
 * Like rsynth_next_pkt_pa(), but the packet carries timestamp ts and the
 * marker bit (marker != 0) given here: one packet in this generator's SSRC
 * and sequence space with a timestamp of the caller's choosing, e.g. an
 * RFC 4733 event packet interrupting the audio (see rtpevent.h). Only the
 * sequence number advances: the timestamp counter, the pending marker of
 * rsynth_set_mbt() and the time rsynth_resync() measures from are left as
 * they were. pt, plen, buf, blen and pa mean what they mean for
 * rsynth_next_pkt_pa(). Returns the packet length (12 + plen), or -1 when
 * blen is too small, plen < 0, buf or the handle is NULL (nothing changes
 * then).
 */
int rsynth_next_pkt_at(void *ri, int plen, int pt, uint32_t ts, int marker, char *buf,
                       unsigned int blen, int pa);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPSYNTH_H */
