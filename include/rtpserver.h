/*
 * rtpserver.h - UDP I/O thread for RTP: one worker thread per server
 * multiplexes the sockets of many channels (the original's RtpServer, as a
 * plain C API).
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Model
 *  - A server (rtpsrv_ctor) owns one worker thread; rtpsrv_ctor_cfg makes
 *    a server with several (see there). Each channel
 *    (rtpsrv_create_channel) is one bound, non-blocking UDP socket, served
 *    by one worker for its whole life. Everything below holds per worker.
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
 *  - Memory: a queued packet takes its own size; once it is sent, its
 *    buffer is kept for reuse only if it is at most 2048 bytes
 *    (RTPSRV_SLOT_KEEP), so that a burst of large packets is returned to
 *    the allocator. A channel with queue_size Q therefore holds at most
 *    Q * 2048 bytes of buffers while idle (plus whatever is queued), and
 *    the server's worker 64 * 2048 more; each server also holds a 4.2 MB
 *    receive batch, allocated by rtpsrv_ctor (which fails with -ENOMEM
 *    rather than letting the worker abort later).
 *
 * Addresses
 *  Hosts are numeric only, and strict: dotted IPv4 ("127.0.0.1",
 *  "0.0.0.0") or IPv6 ("::1", "::", also in brackets "[::1]"; brackets
 *  only around IPv6). No whitespace is trimmed (" 127.0.0.1 " is -EINVAL),
 *  the empty string is -EINVAL (pass NULL for the wildcard), "[127.0.0.1]"
 *  is -EINVAL. Names ("localhost") are not resolved and give -EINVAL. An
 *  IPv6 channel may target an IPv4 address (sent IPv4-mapped, if the
 *  socket is dual-stack, the system default for "::"); an IPv4 channel
 *  cannot target any IPv6 address, IPv4-mapped ones ("::ffff:127.0.0.1")
 *  included (-EAFNOSUPPORT).
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
 * Errors: -ENOMEM (including the worker's receive buffers, allocated
 * here: the worker never allocates them later), -EMFILE / -ENFILE (no
 * descriptor for epoll/eventfd), -EAGAIN (no thread).
 */
struct rtpsrv *rtpsrv_ctor(unsigned int tick_hz, int *err);

/*
 * A server with several worker threads: to move more packets than one
 * core can.
 */
#define RTPSRV_BACKEND_AUTO  0  /* epoll, or as RTPSYNTH_SERVER_BACKEND says (below) */
#define RTPSRV_BACKEND_EPOLL 1
#define RTPSRV_BACKEND_URING 2  /* io_uring receive (below); -EOPNOTSUPP without it */
/* The longest datagram the io_uring backend delivers (see below). */
#define RTPSRV_URING_MAX_PAYLOAD 1904
#define RTPSRV_MAX_WORKERS   256

struct rtpsrv_cfg {
    size_t size;            /* sizeof(struct rtpsrv_cfg), so the struct can grow */
    unsigned int tick_hz;   /* 0: 200; as rtpsrv_ctor's */
    unsigned int workers;   /* 0: 1; channels are spread over the workers */
    int backend;            /* RTPSRV_BACKEND_AUTO 0, _EPOLL 1, _URING 2 */
};

/*
 * Start a server with `cfg->workers` worker threads (NULL cfg: one worker,
 * 200 Hz, AUTO: the same as rtpsrv_ctor(0, err)). Each worker has its own
 * epoll set, wake-up eventfd and 4.2 MB receive batch, all allocated here.
 * A new channel goes to the worker with the fewest open channels and stays
 * there: its pkt_in (and rtcp_in, on_event) always run on that worker's
 * thread, in order. The two channels of rtpsrv_create_pair share one
 * worker. Different channels' callbacks may run at the same time on
 * different threads: a pkt_in shared by several channels must be
 * thread-safe when workers > 1.
 *
 * With several workers, "the worker" in this header means the channel's
 * worker, with these server-wide rules:
 *  - rtpsrv_shutdown stops every worker. From outside the callbacks it
 *    returns when none runs; from inside a callback it returns at once
 *    and each worker stops when its running callback returns (waiting
 *    there could wait for a worker that waits for this one).
 *  - rtpsrv_chan_drain from inside any callback of the server is
 *    -EDEADLK (unless the queue is already empty), also for a channel of
 *    another worker: two callbacks draining each other's channels would
 *    wait for each other.
 *  - rtpsrv_chan_close from inside a callback, on a channel of another
 *    worker, waits for that channel's running callback, as from any other
 *    thread: two callbacks on different workers closing each other's
 *    channels at the same moment would wait for each other. Keep channels
 *    that close each other on one worker (a pair), or close from outside
 *    the callbacks.
 *  - A worker that fails (a bug: a panic caught in the library, epoll
 *    failing) shuts the whole server down.
 *
 * Backends:
 *  - EPOLL: each worker waits in epoll_wait and reads every readable
 *    socket with recvmmsg.
 *  - URING: each worker keeps one multishot recvmsg armed per UDP channel
 *    on its own io_uring, receiving into a ring of 4096 buffers of 2 KiB
 *    (8 MiB per worker, instead of epoll's 4.2 MB batch): one wait
 *    harvests the datagrams of every channel that received any. Output
 *    (sendmmsg) and TCP channels work as with epoll (the epoll set is
 *    watched through the ring). Datagrams longer than
 *    RTPSRV_URING_MAX_PAYLOAD arrive truncated and are dropped, counted in
 *    rtpsrv_chan_stats_ex's rx_dropped: choose EPOLL for larger ones.
 *    Closing a channel from inside a callback of another worker leaves
 *    its socket to its own worker, which closes it at once (from any other
 *    thread, the port is free when rtpsrv_chan_close returns, as on epoll).
 *    Needs Linux 6.0 or later with io_uring enabled: the constructor
 *    probes it (one loopback datagram) and fails with -EOPNOTSUPP without.
 *  - AUTO: epoll, unless the environment variable RTPSYNTH_SERVER_BACKEND
 *    is "uring" when the server starts: then io_uring where the kernel
 *    has it, else epoll. rtpsrv_ctor is AUTO. rtpsrv_backend tells which.
 *
 * Errors: -EINVAL (cfg->size smaller than a size_t, workers above
 * RTPSRV_MAX_WORKERS, unknown backend), -EOPNOTSUPP (backend URING on a
 * kernel without it), and rtpsrv_ctor's errors.
 */
struct rtpsrv *rtpsrv_ctor_cfg(const struct rtpsrv_cfg *cfg, int *err);

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
 * Returns 0; -EINVAL for NULL. Queued output not yet sent is discarded
 * (rtpsrv_chan_close_drain sends it first).
 */
int rtpsrv_chan_close(struct rtpsrv_chan *ch);

/* Stop the worker (idempotent, synchronous; see above). NULL is ignored. */
void rtpsrv_shutdown(struct rtpsrv *srv);

/*
 * Shut down if not done yet and free the server handle. Channel handles
 * stay valid until closed. NULL is ignored.
 */
void rtpsrv_dtor(struct rtpsrv *srv);

/* ------------------------------------------------------------------------
 * Round 2: deployments (latching, sockaddr targets, send-only channels,
 * rtcp-mux, STUN, drain, RTP/RTCP port pairs). Same conventions as above:
 * 0 or a negative errno, every function callable from any thread
 * (including pkt_in) unless its comment says otherwise, NULL arguments are
 * -EINVAL. The structs start with `size_t size` (set it to sizeof the
 * struct): fields past `size` read as 0, so the structs can grow.
 * ------------------------------------------------------------------------ */

/* Buffers larger than this are freed once their packet is sent. */
#define RTPSRV_SLOT_KEEP 2048

/* Latching: how a channel learns its target from what it receives
 * (symmetric RTP, RFC 4961). */
#define RTPSRV_LATCH_OFF    0  /* the target is what set_target says */
#define RTPSRV_LATCH_LOCK   1  /* the first source that sends latch_probation
                                  packets in a row becomes the target, then
                                  the channel locks: other sources are still
                                  counted and passed to pkt_in with their
                                  address, but never move the target */
#define RTPSRV_LATCH_FOLLOW 2  /* every packet from a new source moves the
                                  target there */

struct rtpsrv_chan_opts {
    size_t size;                  /* sizeof(struct rtpsrv_chan_opts) */
    int latch;                    /* RTPSRV_LATCH_*; 0 OFF */
    unsigned int latch_probation; /* LOCK: packets in a row from one source
                                     (0 and 1: the first packet locks) */
    int stun;                     /* nonzero: answer STUN Binding Requests */
    rtpsrv_pkt_in_t rtcp_in;      /* non-NULL: rtcp-mux, RTCP goes here */
    void *rtcp_arg;               /* rtcp_in's first argument */
};

/*
 * Open a channel like rtpsrv_create_channel, with options (`opts` NULL:
 * all 0). `pkt_in` may be NULL: a send-only channel, whose received
 * datagrams are counted in rx_pkts and dropped. Per received datagram, in
 * this order:
 *  - stun: a well-formed STUN Binding Request (RFC 5389: magic cookie,
 *    length, attributes, FINGERPRINT if present) is answered at once from
 *    the channel's socket with a Binding Success Response carrying
 *    XOR-MAPPED-ADDRESS (the source as seen here, IPv4 or IPv6; an
 *    IPv4-mapped source is answered as IPv4) and the same transaction id,
 *    plus a FINGERPRINT when the request had one. No MESSAGE-INTEGRITY is
 *    checked or sent (it answers connectivity probes, like an ICE-lite
 *    peer without credentials). It is counted in stun_answered, not in
 *    rx_pkts, and never passed to a callback. Other STUN messages are
 *    ordinary datagrams.
 *  - latch: the source may become the target (RTPSRV_LATCH_*).
 *  - rtcp_in: RTCP by RFC 5761 section 4 (version 2, second octet
 *    192..223, i.e. RTCP packet types 192-223) goes to
 *    rtcp_in(rtcp_arg, ...), counted in rx_rtcp; everything else to pkt_in.
 * rtcp_in runs on the worker thread like pkt_in, with the same rules.
 * Errors: those of rtpsrv_create_channel (NULL pkt_in excepted), and
 * -EINVAL for opts->size < sizeof(size_t) or an unknown latch mode.
 */
struct rtpsrv_chan *rtpsrv_create_channel_opts(struct rtpsrv *srv,
    const struct rtpsrv_chan_cfg *cfg, const struct rtpsrv_chan_opts *opts,
    rtpsrv_pkt_in_t pkt_in, void *arg, int *err);

/*
 * Set (or change) the target from a socket address (`sa` of `salen`
 * bytes: a struct sockaddr_in or sockaddr_in6, e.g. the `from` of pkt_in,
 * or from getaddrinfo). An IPv4 address on an IPv6 channel is sent
 * IPv4-mapped. Errors: -EINVAL (NULL, salen too short for its family,
 * port 0), -EAFNOSUPPORT (not AF_INET/AF_INET6, or IPv6 for an IPv4
 * channel).
 */
int rtpsrv_chan_set_target_sa(struct rtpsrv_chan *ch, const struct sockaddr *sa,
    socklen_t salen);

/*
 * The current target (set with set_target / set_target_sa, or latched),
 * in the channel's own family. Errors: -EINVAL (NULL argument),
 * -EDESTADDRREQ (no target yet).
 */
int rtpsrv_chan_get_target(const struct rtpsrv_chan *ch,
    struct sockaddr_storage *addr, socklen_t *addrlen);

/*
 * Change the latching mode (RTPSRV_LATCH_*; probation as in
 * rtpsrv_chan_opts) and start learning afresh: a locked channel unlocks,
 * e.g. after a re-INVITE. The current target stays until a source replaces
 * it. A target set with set_target is replaced by the next learned source
 * while the channel is learning. Errors: -EINVAL (NULL ch, unknown mode).
 */
int rtpsrv_chan_set_latch(struct rtpsrv_chan *ch, int mode, unsigned int probation);

/*
 * Wait until every packet queued so far is on the wire (handed to the
 * kernel, or refused by it and counted in tx_errors), at most timeout_ns
 * nanoseconds (0: just check; UINT64_MAX: no limit). Packets queued by
 * other threads meanwhile are waited for too. Blocks the calling thread.
 * Returns 0 when the queue is empty. Errors: -EINVAL (NULL), -ETIMEDOUT
 * (time ran out; nothing is discarded), -ESHUTDOWN (the server shut down:
 * the queue was discarded), -EBADF (the channel is being closed by another
 * thread), -EDEADLK (called from a pkt_in / rtcp_in of this server with a
 * non-empty queue: the worker cannot drain while it waits).
 */
int rtpsrv_chan_drain(struct rtpsrv_chan *ch, uint64_t timeout_ns);

/*
 * rtpsrv_chan_drain(ch, timeout_ns), then rtpsrv_chan_close(ch): the
 * channel is closed and the handle freed in every case (except NULL);
 * the return value is the drain's (0, -ETIMEDOUT with the rest discarded,
 * -ESHUTDOWN, -EDEADLK), or -EINVAL for NULL.
 */
int rtpsrv_chan_close_drain(struct rtpsrv_chan *ch, uint64_t timeout_ns);

struct rtpsrv_chan_stats_ex {
    size_t size;                    /* sizeof(struct rtpsrv_chan_stats_ex) */
    struct rtpsrv_chan_stats base;  /* as rtpsrv_chan_stats */
    uint64_t rx_rtcp;               /* of rx_pkts, those given to rtcp_in */
    uint64_t stun_answered;         /* Binding Requests answered (not in rx_pkts;
                                       an answer the kernel refuses is also
                                       counted in tx_errors) */
    uint64_t latch_moves;           /* times latching moved the target */
    uint64_t rx_dropped;            /* datagrams received but not delivered:
                                       longer than RTPSRV_URING_MAX_PAYLOAD
                                       on the io_uring backend (0 on epoll) */
};

/*
 * Copy the counters into *st (st->size set by the caller: only that many
 * bytes are written). Errors: -EINVAL (NULL, st->size < sizeof(size_t)).
 */
int rtpsrv_chan_stats_ex(const struct rtpsrv_chan *ch, struct rtpsrv_chan_stats_ex *st);

/*
 * The backend the server's workers run: RTPSRV_BACKEND_EPOLL or
 * RTPSRV_BACKEND_URING (never AUTO); -EINVAL for NULL.
 */
int rtpsrv_backend(const struct rtpsrv *srv);

struct rtpsrv_pair_cfg {
    size_t size;                               /* sizeof(struct rtpsrv_pair_cfg) */
    uint16_t port_min, port_max;               /* the range, both included */
    const struct rtpsrv_chan_opts *rtp_opts;   /* NULL: defaults */
    rtpsrv_pkt_in_t rtp_in;                    /* NULL: send-only */
    void *rtp_arg;
    const struct rtpsrv_chan_opts *rtcp_opts;  /* NULL: defaults */
    rtpsrv_pkt_in_t rtcp_in;                   /* NULL: send-only */
    void *rtcp_arg;
};

/*
 * Open an RTP/RTCP pair (RFC 3550 section 11): two channels, RTP on an
 * even port P of [port_min, port_max] and RTCP on P + 1 (also in the
 * range), both bound as `cfg` says (cfg->bind_port is ignored), each with
 * its options and callback as in rtpsrv_create_channel_opts. Pairs are
 * tried from a random start in the range; a pair where either port is in
 * use, by this process or another, is skipped (bind fails with EADDRINUSE;
 * no SO_REUSEADDR). On success *rtp and *rtcp are two ordinary channel
 * handles (closed separately). On failure both are set to NULL.
 * Errors: -EINVAL (NULL argument, pair->size too small, no even port P
 * with P + 1 in the range, a bad cfg or opts), -EADDRINUSE (every pair of
 * the range is in use), -EACCES (privileged ports), -ESHUTDOWN, -ENOMEM,
 * other bind(2) errors negated.
 */
int rtpsrv_create_pair(struct rtpsrv *srv, const struct rtpsrv_chan_cfg *cfg,
    const struct rtpsrv_pair_cfg *pair, struct rtpsrv_chan **rtp, struct rtpsrv_chan **rtcp);

/*
 * RFC 4571 TCP channels ("RTP over connection-oriented transport"): each
 * packet travels as a 16-bit big-endian length and the packet, both ways.
 * A TCP channel is a channel like the others (send_pkt, drain, stats,
 * close, close_drain, local_addr), with these differences:
 *  - pkt_in gets every received packet, reassembled from whatever pieces
 *    the stream delivers, with the peer's address as `from`;
 *  - rtpsrv_chan_send_pkt queues as for UDP (the same bounded, lossy queue:
 *    when the peer reads too slowly the socket fills, then the queue, and
 *    send_pkt returns -ENOBUFS; a packet is never cut: a partly written
 *    frame is finished first), and returns -ENOTCONN while there is no
 *    connection (packets queued during a connect wait for it);
 *  - set_target / set_target_sa return -EOPNOTSUPP; get_target
 *    -EDESTADDRREQ.
 * Connection events go to on_event(event_arg, event, error, peer, peerlen,
 * rtime_ns) on the worker thread (same rules as pkt_in):
 *  RTPSRV_EV_CONNECTED  a connection is up (accepted, or connect done)
 *  RTPSRV_EV_CLOSED     the peer closed the connection (end of stream)
 *  RTPSRV_EV_RESET      the connection failed: error is the negative errno
 *                       (-ECONNREFUSED, -ECONNRESET, -EPIPE, -ETIMEDOUT...)
 * After CLOSED or RESET the queue is discarded and send_pkt returns
 * -ENOTCONN. A LISTEN channel then accepts the next connection (while one
 * is up, further ones are accepted and closed at once); a CONNECT channel
 * stays down: reconnecting is the caller's choice (close it, create a new
 * one).
 */
#define RTPSRV_TCP_LISTEN   1
#define RTPSRV_TCP_CONNECT  2

#define RTPSRV_EV_CONNECTED 1
#define RTPSRV_EV_CLOSED    2
#define RTPSRV_EV_RESET     3

typedef void (*rtpsrv_event_t)(void *arg, int event, int error,
    const struct sockaddr *peer, socklen_t peerlen, uint64_t rtime_ns);

struct rtpsrv_tcp_cfg {
    size_t size;                 /* sizeof(struct rtpsrv_tcp_cfg) */
    int mode;                    /* RTPSRV_TCP_LISTEN or RTPSRV_TCP_CONNECT */
    const struct sockaddr *peer; /* CONNECT: the peer (sockaddr_in/_in6) */
    socklen_t peerlen;
    rtpsrv_event_t on_event;     /* may be NULL */
    void *event_arg;
};

/*
 * Open a TCP channel. `cfg` gives the local address (LISTEN: where to
 * listen; CONNECT: the local side, port 0 ephemeral; with a NULL host and
 * family 0 the family is the peer's) and queue_size; `tcp` the mode.
 * pkt_in may be NULL (send-only). The connect is non-blocking: the result
 * arrives as an event. Errors: -EINVAL (NULL srv/cfg/tcp, tcp->size too
 * small, unknown mode, CONNECT without a valid peer or port 0, bad cfg),
 * -EAFNOSUPPORT (peer not IPv4/IPv6, or IPv6 for an IPv4 local address),
 * -EADDRINUSE, -EMFILE/-ENFILE, -ENOMEM, -ESHUTDOWN, other socket(2),
 * bind(2), listen(2) and connect(2) errors negated.
 */
struct rtpsrv_chan *rtpsrv_create_tcp_channel(struct rtpsrv *srv,
    const struct rtpsrv_chan_cfg *cfg, const struct rtpsrv_tcp_cfg *tcp,
    rtpsrv_pkt_in_t pkt_in, void *arg, int *err);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPSERVER_H */
