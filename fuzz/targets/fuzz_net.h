/* Loopback plumbing shared by the server harnesses (fuzz_server, fuzz_stun,
 * fuzz_tcp): where a channel listens, a bound UDP peer, a short sleep while
 * the I/O thread catches up. */
#ifndef RTPSYNTH_FUZZ_NET_H
#define RTPSYNTH_FUZZ_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "fuzz_common.h"
#include "rtpserver.h"

/* The IPv4 address the channel is bound to. */
static inline void fz_chan_addr(const struct rtpsrv_chan *ch, struct sockaddr_in *out) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    FZ_CHECK(rtpsrv_chan_local_addr(ch, &ss, &sl) == 0);
    memcpy(out, &ss, sizeof(*out));
}

/* A UDP socket bound to an ephemeral loopback port; its address in *addr. */
static inline int fz_udp_peer(struct sockaddr_in *addr) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    FZ_CHECK(s >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FZ_CHECK(bind(s, (struct sockaddr *)addr, sizeof(*addr)) == 0);
    socklen_t sl = sizeof(*addr);
    FZ_CHECK(getsockname(s, (struct sockaddr *)addr, &sl) == 0);
    return s;
}

/* poll() for `events` on fd for up to ms milliseconds, again after a signal
 * (libFuzzer's -timeout runs on SIGALRM, and poll is never restarted):
 * 1 when ready, 0 on timeout. */
static inline int fz_poll(int fd, short events, int ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = { fd, events, 0 };
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

static inline int fz_poll_in(int fd, int ms) { return fz_poll(fd, POLLIN, ms); }

/* connect() a blocking socket, through a signal: connect is not restarted
 * either, and an interrupted one goes on in the background, so wait for it
 * to finish and take its result. 0 or -1 with errno, as connect. */
static inline int fz_connect(int s, const struct sockaddr *a, socklen_t n) {
    if (connect(s, a, n) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    if (fz_poll(s, POLLOUT, 8000) != 1) {
        errno = ETIMEDOUT;
        return -1;
    }
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        return -1;
    errno = err;
    return err ? -1 : 0;
}

static inline void fz_sleep_us(long us) {
    struct timespec t = { 0, us * 1000 };
    nanosleep(&t, NULL);
}

#endif
