/*
 * bench_server: how many channels one rtpsrv worker carries, against what a
 * hand-written single-thread loop moves through loopback on this machine.
 *
 *   bench_server [max_channels [seconds_per_step [workers]]]
 *                                               (defaults 8192, 1.5, 1)
 *
 * 1. Physical limit: one thread, no library, sendmmsg/recvmmsg of 172-byte
 *    datagrams that each socket sends to itself:
 *      a) 64 sockets, 64 datagrams per call (the most this machine moves);
 *      b) 2048 sockets, 1 datagram per socket per call (the shape of the
 *         100 pps scenario: every channel has one packet per period).
 *    Reported in delivered datagrams per second (each one sent and received).
 * 2. Scaling (the original's scenario): N channels, each sending a 172-byte
 *    packet to itself at 100 pps (one thread calls rtpsrv_chan_send_pkt on
 *    every channel every 10 ms), N doubling from 1 to max_channels.
 *    Offered/delivered pps, loss %, -ENOBUFS count, worker CPU time.
 * 3. Saturation: 64 channels (queue_size 256) sending to themselves as fast
 *    as the sender thread can queue (backing off 0.2 ms when a queue is
 *    full): delivered pps, compared with 1a measured before and after.
 * 4. Workers: the saturation run again on servers with 1, 2, ... up to the
 *    number of CPUs worker threads (rtpsrv_ctor_cfg), 64 channels spread
 *    over them, and the ratio to one worker. The sender is one thread.
 * 5. Backends: max_channels x 100 pps (1 and `workers` workers) and the
 *    saturation run, on an epoll server and on an io_uring one.
 * Steps 2 and 3 use `workers` workers (rtpsrv_ctor_cfg; 1 is rtpsrv_ctor's
 * server). worker_s is the worker threads' CPU time over the step (sending
 * period plus up to 0.5 s of draining); cpu is that over the step's wall
 * time (above 100 % with several workers).
 * Loopback only; bounded by max_channels * seconds_per_step; the whole run
 * takes under a minute with the defaults. BENCH_ONLY=backends runs step 5
 * alone (for tuning a backend).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpserver.h"

#define PKT_LEN 172

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* ---------- 1. the hand-written loop ---------- */

static int bound_self(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(*a);
    if (bind(s, (struct sockaddr *)&b, sizeof(b)) < 0 || getsockname(s, (struct sockaddr *)a, &l) < 0) {
        close(s);
        return -1;
    }
    return s;
}

static double raw_loop(int nsock, int batch, double secs) {
    int *fd = calloc((size_t)nsock, sizeof(int));
    struct sockaddr_in *addr = calloc((size_t)nsock, sizeof(*addr));
    static unsigned char sbuf[PKT_LEN], rbuf[64][2048];
    struct mmsghdr smsg[64], rmsg[64];
    struct iovec siov[64], riov[64];
    int n = 0;
    for (; n < nsock; n++)
        if ((fd[n] = bound_self(&addr[n])) < 0) break;
    if (n < nsock) {
        fprintf(stderr, "raw_loop: only %d sockets\n", n);
        nsock = n;
    }
    memset(smsg, 0, sizeof(smsg));
    memset(rmsg, 0, sizeof(rmsg));
    for (int i = 0; i < 64; i++) {
        siov[i].iov_base = sbuf;
        siov[i].iov_len = PKT_LEN;
        smsg[i].msg_hdr.msg_iov = &siov[i];
        smsg[i].msg_hdr.msg_iovlen = 1;
        smsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
        riov[i].iov_base = rbuf[i];
        riov[i].iov_len = sizeof(rbuf[i]);
        rmsg[i].msg_hdr.msg_iov = &riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long got = 0;
    double t0 = now_s(), end = t0 + secs, t;
    do {
        for (int k = 0; k < 16; k++) {
            for (int i = 0; i < nsock; i++) {
                for (int j = 0; j < batch; j++) smsg[j].msg_hdr.msg_name = &addr[i];
                sendmmsg(fd[i], smsg, (unsigned)batch, MSG_DONTWAIT);
            }
            for (int i = 0; i < nsock; i++) {
                int r = recvmmsg(fd[i], rmsg, 64, MSG_DONTWAIT, NULL);
                if (r > 0) got += (unsigned long long)r;
            }
        }
        t = now_s();
    } while (t < end);
    for (int i = 0; i < nsock; i++) close(fd[i]);
    free(fd);
    free(addr);
    return (double)got / (t - t0);
}

/* ---------- the library side ---------- */

struct counter { atomic_ullong n; };

static void on_pkt(void *arg, const unsigned char *pkt, size_t len,
                   const struct sockaddr *from, socklen_t fromlen, uint64_t rtime_ns) {
    (void)pkt; (void)len; (void)from; (void)fromlen; (void)rtime_ns;
    struct counter *c = arg;
    atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
}

/* CPU seconds used so far by the threads named "rtpsrv" (the workers). */
static double worker_cpu(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    struct dirent *e;
    double cpu = 0;
    long hz = sysconf(_SC_CLK_TCK);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], buf[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        char *comm = strchr(buf, '(');
        char *rp = strrchr(buf, ')');
        if (!comm || !rp || strncmp(comm + 1, "rtpsrv", 6) != 0) continue;
        /* fields after ')': state ppid pgrp session tty tpgid flags minflt
         * cminflt majflt cmajflt utime stime */
        unsigned long ut = 0, st = 0;
        if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            cpu += (double)(ut + st) / (double)hz;
    }
    closedir(d);
    return cpu;
}

struct run {
    int nch;
    unsigned long long attempted, queued, delivered, full;
    double elapsed, cpu, window;
};

static int open_channels(struct rtpsrv *srv, struct rtpsrv_chan **ch, int n, unsigned qs,
                         struct counter *cnt) {
    struct rtpsrv_chan_cfg cfg = { "127.0.0.1", 0, 4, qs };
    for (int i = 0; i < n; i++) {
        int err;
        ch[i] = rtpsrv_create_channel(srv, &cfg, on_pkt, cnt, &err);
        if (!ch[i]) {
            fprintf(stderr, "create_channel #%d: %s\n", i, rtpsynth_strerror(err));
            for (int j = 0; j < i; j++) rtpsrv_chan_close(ch[j]);
            return -1;
        }
        struct sockaddr_storage ss;
        socklen_t l = sizeof(ss);
        rtpsrv_chan_local_addr(ch[i], &ss, &l);
        rtpsrv_chan_set_target(ch[i], "127.0.0.1", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    return 0;
}

/* The backend of every server the steps start (section 5 changes it). */
static int g_backend = RTPSRV_BACKEND_AUTO;

/* pps > 0: paced; pps == 0: as fast as possible */
static int run_step(int nch, double pps, unsigned qs, double secs, unsigned workers,
                    struct run *r) {
    int err;
    struct rtpsrv_cfg cfg = { sizeof(cfg), 500, workers, g_backend };
    struct rtpsrv *srv = workers <= 1 && g_backend == RTPSRV_BACKEND_AUTO
                             ? rtpsrv_ctor(500, &err)
                             : rtpsrv_ctor_cfg(&cfg, &err);
    if (!srv) {
        fprintf(stderr, "rtpsrv_ctor: %s\n", rtpsynth_strerror(err));
        return -1;
    }
    struct rtpsrv_chan **ch = calloc((size_t)nch, sizeof(*ch));
    static struct counter cnt;
    atomic_store(&cnt.n, 0);
    if (open_channels(srv, ch, nch, qs, &cnt) < 0) {
        rtpsrv_dtor(srv);
        free(ch);
        return -1;
    }
    unsigned char pkt[PKT_LEN];
    memset(pkt, 0x5a, sizeof(pkt));
    memset(r, 0, sizeof(*r));
    r->nch = nch;
    usleep(50000);
    double cpu0 = worker_cpu();
    double t0 = now_s(), end = t0 + secs, next = t0;
    while (now_s() < end) {
        int hit_full = 0;
        for (int i = 0; i < nch; i++) {
            r->attempted++;
            int rc = rtpsrv_chan_send_pkt(ch[i], pkt, sizeof(pkt));
            if (rc == 0) r->queued++;
            else if (rc == -ENOBUFS) { r->full++; hit_full = 1; }
        }
        if (pps > 0) {
            next += 1.0 / pps;
            double t = now_s();
            if (t < next) sleep_until(next);
            else next += (double)(int)((t - next) * pps) / pps; /* skip missed periods */
        } else if (hit_full) {
            usleep(200);
        }
    }
    r->elapsed = now_s() - t0;
    double wait_end = now_s() + 0.5;
    while (now_s() < wait_end && atomic_load(&cnt.n) < r->queued) usleep(2000);
    r->cpu = worker_cpu() - cpu0;
    r->window = now_s() - t0;
    r->delivered = atomic_load(&cnt.n);
    for (int i = 0; i < nch; i++) rtpsrv_chan_close(ch[i]);
    rtpsrv_dtor(srv);
    free(ch);
    return 0;
}

static void print_run(const struct run *r) {
    unsigned long long lost = r->attempted > r->delivered ? r->attempted - r->delivered : 0;
    printf("%8d %12.0f %12.0f %8.3f %10llu %9.2f %6.1f%%\n", r->nch,
           (double)r->attempted / r->elapsed, (double)r->delivered / r->elapsed,
           r->attempted ? 100.0 * (double)lost / (double)r->attempted : 0.0, r->full, r->cpu,
           100.0 * r->cpu / r->window);
}

int main(int argc, char **argv) {
    int max_n = argc > 1 ? atoi(argv[1]) : 8192;
    double secs = argc > 2 ? atof(argv[2]) : 1.5;
    unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
    if (workers < 1) workers = 1;
    if (max_n < 1) max_n = 1;
    if (secs <= 0) secs = 1.5;

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)max_n + 4200;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_server: max_channels %d, %.1f s per step, %u worker(s), RLIMIT_NOFILE %llu, "
           "%ld CPUs\n", max_n, secs, workers, (unsigned long long)rl.rlim_cur, ncpu);

    const char *only = getenv("BENCH_ONLY");
    struct run r;
    if (only && strcmp(only, "backends") == 0)
        goto backends;

    printf("\n== physical limit: one thread, sendmmsg+recvmmsg, %d-byte datagrams to self\n", PKT_LEN);
    double raw64 = raw_loop(64, 64, secs);
    printf("64 sockets x 64 per call:   %10.0f pps delivered\n", raw64);
    int nb = max_n < 2048 ? max_n : 2048;
    double raw1 = raw_loop(nb, 1, secs);
    printf("%d sockets x 1 per call: %10.0f pps delivered\n", nb, raw1);

    printf("\n== scaling: N channels x 100 pps, %d-byte packets to self, tick_hz 500\n", PKT_LEN);
    printf("%8s %12s %12s %8s %10s %9s %7s\n", "channels", "offered_pps", "deliv_pps", "loss_%",
           "queue_full", "worker_s", "cpu");
    for (int n = 1; n <= max_n; n *= 2) {
        if (run_step(n, 100.0, 0, secs, workers, &r) < 0) break;
        print_run(&r);
        fflush(stdout);
    }

    printf("\n== saturation: 64 channels, queue_size 256, unpaced sender (backs off 0.2 ms on a full queue)\n");
    printf("%8s %12s %12s %8s %10s %9s %7s\n", "channels", "offered_pps", "deliv_pps", "loss_%",
           "queue_full", "worker_s", "cpu");
    if (run_step(64, 0, 256, secs, workers, &r) == 0) {
        print_run(&r);
        /* the machine is shared: measure the limit again right after */
        double raw64b = raw_loop(64, 64, secs);
        printf("physical limit again (64x64): %.0f pps\n", raw64b);
        printf("delivered / physical limit (mean of both 64x64 runs): %.1f%%\n",
               100.0 * (double)r.delivered / r.elapsed / ((raw64 + raw64b) / 2));
    }

    printf("\n== workers: the saturation run with 1..%ld worker threads (one sender thread)\n",
           ncpu < 2 ? 2 : ncpu);
    printf("%8s %12s %12s %8s %10s %9s %7s %8s\n", "channels", "offered_pps", "deliv_pps",
           "loss_%", "queue_full", "worker_s", "cpu", "workers");
    double one = 0;
    for (unsigned w = 1; w <= (unsigned)(ncpu < 2 ? 2 : ncpu); w++) {
        if (run_step(64, 0, 256, secs, w, &r) < 0) break;
        double pps = (double)r.delivered / r.elapsed;
        if (w == 1) one = pps;
        unsigned long long lost = r.attempted > r.delivered ? r.attempted - r.delivered : 0;
        printf("%8d %12.0f %12.0f %8.3f %10llu %9.2f %6.1f%% %8u  (%.2fx one worker)\n", r.nch,
               (double)r.attempted / r.elapsed, pps,
               r.attempted ? 100.0 * (double)lost / (double)r.attempted : 0.0, r.full, r.cpu,
               100.0 * r.cpu / r.window, w, one > 0 ? pps / one : 0.0);
        fflush(stdout);
    }

backends:
    printf("\n== backends: max_channels x 100 pps and the saturation run, epoll then io_uring\n");
    printf("%-8s %8s %7s %12s %12s %8s %9s %7s\n", "backend", "channels", "workers",
           "offered_pps", "deliv_pps", "loss_%", "worker_s", "cpu");
    static const int backends[2] = { RTPSRV_BACKEND_EPOLL, RTPSRV_BACKEND_URING };
    for (int b = 0; b < 2; b++) {
        g_backend = backends[b];
        const char *name = b == 0 ? "epoll" : "io_uring";
        for (int k = 0; k < 3; k++) {
            /* max_channels paced with 1 and `workers` workers, then saturation */
            int nch = k < 2 ? max_n : 64;
            unsigned w = k == 1 ? workers : 1;
            if (k == 1 && workers == 1) continue;
            if (run_step(nch, k < 2 ? 100.0 : 0, k < 2 ? 0 : 256, secs, w, &r) < 0) {
                printf("%-8s (not available: %s)\n", name, b ? "no io_uring here" : "error");
                break;
            }
            unsigned long long lost = r.attempted > r.delivered ? r.attempted - r.delivered : 0;
            printf("%-8s %8d %7u %12.0f %12.0f %8.3f %9.2f %6.1f%%\n", name, r.nch, w,
                   (double)r.attempted / r.elapsed, (double)r.delivered / r.elapsed,
                   r.attempted ? 100.0 * (double)lost / (double)r.attempted : 0.0, r.cpu,
                   100.0 * r.cpu / r.window);
            fflush(stdout);
        }
    }
    return 0;
}
