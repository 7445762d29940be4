/*
 * rtpserver.h - UDP I/O thread for RTP: one worker thread per server
 * multiplexes the sockets of many channels (the original's RtpServer, as a
 * plain C API).
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Model
 *  - A server (rtpsrv_ctor) owns one worker thread. Each channel
 *    (rtpsrv_create_channel) is one bound, non-blocking UDP socket.
 *  - Receive: as soon as a channel's socket is readable the worker reads
 *    the datagrams (recvmmsg, up to 64 per channel per round) and calls
 *    pkt_in(arg, pkt, len, from, fromlen, rtime_ns) for each, in arrival
 *    order, on the worker thread. `pkt` and `from` are valid only during the
 *    call. `rtime_ns` is CLOCK_MONOTONIC (ns) taken when the worker learned
 *    the socket was readable; it never decreases for a channel.
 *  - Send: rtpsrv_chan_send_pkt copies the packet into the channel's
 *    bounded output queue and returns at once; the worker sends queued
 *    packets to the channel's target (sendmmsg), in order. It is woken as
 *    soon as a channel goes from idle to having output and sends at once:
 *    no tick is involved. tick_hz only paces retries: a socket whose send
 *    buffer is full (EAGAIN) is retried every 1/tick_hz s until it takes
 *    the rest. Under overload (more packets than the machine moves) no
 *    latency bound holds.
 *  - Under overload the worker stays fair: every round it serves each
 *    readable channel and each channel with output with a bounded batch
 *    (64 packets per direction), round-robin. Work is per active channel:
 *    idle channels cost nothing per round (epoll, no scan).
 *  - The queue is lossy: when it is full, send_pkt fails with -ENOBUFS and
 *    the packet is counted in tx_queue_full. A datagram that the kernel
 *    refuses (other than "try again") is dropped and counted in tx_errors.
 *
 * Addresses
 *  Hosts are numeric only: dotted IPv4 ("127.0.0.1", "0.0.0.0") or IPv6
 *  ("::1", "::", also in brackets "[::1]"). Names ("localhost") are not
 *  resolved and give -EINVAL. An IPv6 channel may target an IPv4 address
 *  (sent IPv4-mapped, if the socket is dual-stack, the system default for
 *  "::"); an IPv4 channel cannot target IPv6 (-EAFNOSUPPORT).
 *
 * Threading and lifetime
 *  - Every function may be called from any thread, including from inside
 *    pkt_in (on the worker thread). rtpsrv_chan_send_pkt never blocks (it
 *    takes a short per-channel lock).
 *  - rtpsrv_chan_close is synchronous: when it returns, pkt_in is not running
 *    for that channel and will never run again, `arg` is no longer used, the
 *    socket is closed and the handle is freed. Called from inside the same
 *    channel's pkt_in it does not deadlock: it closes the socket and returns
 *    at once; the running pkt_in finishes, and is never called again.
 *    Do not use the handle after closing it. (Closing another server's
 *    channel from inside pkt_in waits for that channel's running pkt_in, as
 *    from any thread: two servers' callbacks closing each other's channels
 *    at the same moment would wait for each other.)
 *  - rtpsrv_shutdown stops the worker; it is idempotent and synchronous:
 *    when it returns, no pkt_in runs or will run (called from inside a
 *    pkt_in, the worker stops as soon as that callback returns). Queued
 *    output is discarded. Afterwards the channel handles stay valid
 *    (local_addr, set_target and stats work, send_pkt fails with
 *    -ESHUTDOWN) until closed; closing is then local and returns 0.
 *  - Handles may be released in any order: rtpsrv_dtor (which shuts down
 *    first if needed) before or after the channels' rtpsrv_chan_close is
 *    safe. Every channel handle must still be closed to free it and its
 *    socket.
 *
 * Errors: functions return 0 on success or a negative errno value; the
 * constructors return NULL and store the value in *err (when err is not
 * NULL; 0 on success). rtpsynth_strerror() describes every value.
 */
#ifndef RTPSYNTH_RTPSERVER_H
#define RTPSYNTH_RTPSERVER_H
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rtpsrv;        /* opaque: a server and its worker thread */
struct rtpsrv_chan;   /* opaque: one channel (UDP socket) */

/*
 * Receive callback, called on the worker thread for every datagram:
 * payload `pkt` of `len` bytes (len may be 0), source address `from` of
 * `fromlen` bytes (struct sockaddr_in or sockaddr_in6), receive time
 * `rtime_ns` (CLOCK_MONOTONIC). It may call any rtpsrv_* function,
 * including rtpsrv_chan_close on its own channel; it should return quickly,
 * since every channel of the server shares the thread.
 */
typedef void (*rtpsrv_pkt_in_t)(void *arg, const unsigned char *pkt, size_t len,
    const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns);

struct rtpsrv_chan_cfg {
    const char *bind_host;    /* NULL: 0.0.0.0 or :: by family; numeric only */
    uint16_t bind_port;       /* 0: ephemeral */
    int bind_family;          /* 0 auto (from bind_host, IPv4 when NULL), 4 IPv4, 6 IPv6 */
    unsigned int queue_size;  /* output queue slots: power of two up to 65536; 0 means 32 */
};

struct rtpsrv_chan_stats {
    uint64_t rx_pkts, rx_bytes;   /* datagrams handed to pkt_in */
    uint64_t tx_pkts, tx_bytes;   /* datagrams sent by the worker */
    uint64_t tx_queue_full;       /* send_pkt calls refused with -ENOBUFS */
    uint64_t tx_errors;           /* queued datagrams the kernel refused */
};

/*
 * Start a server and its worker thread. tick_hz: how often a channel
 * whose socket refused output (EAGAIN) is retried; queued output is
 * otherwise sent as soon as it is queued (see "Send" above). 0 means 200.
 * Errors: -ENOMEM, -EMFILE / -ENFILE (no descriptor for epoll/eventfd),
 * -EAGAIN (no thread).
 */
struct rtpsrv *rtpsrv_ctor(unsigned int tick_hz, int *err);

/*
 * Open a channel: a UDP socket bound as `cfg` says, delivering to
 * pkt_in(arg, ...) from now on. `cfg` is read during the call only.
 * Errors: -EINVAL (NULL srv/cfg/pkt_in, bind_family not 0/4/6, bind_host
 * not a numeric address or of the wrong family, queue_size not a power of
 * two or above 65536), -EADDRINUSE (port in use), -EADDRNOTAVAIL (not a
 * local address), -EMFILE / -ENFILE (out of descriptors), -ENOMEM,
 * -ESHUTDOWN (the server was shut down), other bind(2) errors negated.
 * A failure leaves the server and its other channels untouched.
 */
struct rtpsrv_chan *rtpsrv_create_channel(struct rtpsrv *srv,
    const struct rtpsrv_chan_cfg *cfg, rtpsrv_pkt_in_t pkt_in, void *arg, int *err);

/*
 * The address the channel is bound to, with the real port when bound to
 * port 0. Writes *addr and *addrlen. Errors: -EINVAL (a NULL argument).
 */
int rtpsrv_chan_local_addr(const struct rtpsrv_chan *ch,
    struct sockaddr_storage *addr, socklen_t *addrlen);

/*
 * Set (or change) where queued packets go: numeric `host` and `port`
 * (1..65535). Errors: -EINVAL (NULL ch/host, host not numeric, port 0),
 * -EAFNOSUPPORT (IPv6 target for an IPv4 channel).
 */
int rtpsrv_chan_set_target(struct rtpsrv_chan *ch, const char *host, uint16_t port);

/*
 * Queue a copy of `len` bytes at `pkt` for sending to the target; returns
 * at once. Errors: -EINVAL (NULL ch, or NULL pkt with len > 0),
 * -EMSGSIZE (len > 65507), -ESHUTDOWN (server shut down), -EDESTADDRREQ
 * (no target set yet), -ENOBUFS (queue full; the packet is dropped and
 * counted in tx_queue_full).
 */
int rtpsrv_chan_send_pkt(struct rtpsrv_chan *ch, const void *pkt, size_t len);

/* Copy the channel's counters into *st. Errors: -EINVAL (NULL argument). */
int rtpsrv_chan_stats(const struct rtpsrv_chan *ch, struct rtpsrv_chan_stats *st);

/*
 * Close the channel and free the handle (see "Threading and lifetime").
 * Returns 0; -EINVAL for NULL.
 */
int rtpsrv_chan_close(struct rtpsrv_chan *ch);

/* Stop the worker (idempotent, synchronous; see above). NULL is ignored. */
void rtpsrv_shutdown(struct rtpsrv *srv);

/*
 * Shut down if not done yet and free the server handle. Channel handles
 * stay valid until closed. NULL is ignored.
 */
void rtpsrv_dtor(struct rtpsrv *srv);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPSERVER_H */
