/*
 * bench_proc: precision and scale of the RtpProc scheduler.
 *
 *   bench_proc [seconds_per_steady_run=4] [bulk_time_budget_s=30] [nostop]
 *
 * 1. Steady: 1,000 and 10,000 channels at a 20 ms period (the RTP packet
 *    time), phases spread evenly over the period, for several seconds.
 *    Prints calls made vs expected, lateness (now - deadline) p50/p99/max,
 *    the worker's CPU time (CLOCK_THREAD_CPUTIME_ID read from a probe
 *    callback, which runs on the worker) and the create rate.
 * 2. Bulk: the original's profile (tests/test_rtp_proc.py,
 *    test_bulk_randomized_scaling_until_skew_limit) in C: channels doubling
 *    from 16, initial delay 0.1-2 ms, period 0.2-1 ms, 8-20 calls each,
 *    until the global skew passes 5% (with `nostop`: go on anyway), 65536
 *    channels, or the time budget. Each size runs three times and the
 *    median decides, since the machine's noise hits such short runs hard.
 *
 * Wall-clock figures depend on the machine's load; run it on a quiet one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rtpproc.h"

#define MS 1000000ULL
#define US 1000ULL

static uint64_t clock_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static void sleep_ms(unsigned ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static uint64_t xs_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    uint64_t x = xs_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return xs_state = x;
}
static uint64_t rnd_range(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }

/* Lateness histogram, 1 us buckets up to 1 s; written by the worker only. */
#define HBUCKETS 1000000
static uint32_t *hist;
static uint64_t hist_n, hist_max;

static void hist_reset(void) {
    memset(hist, 0, HBUCKETS * sizeof(*hist));
    hist_n = 0;
    hist_max = 0;
}
static inline void hist_add(uint64_t late_ns) {
    uint64_t b = late_ns / US;
    hist[b < HBUCKETS ? b : HBUCKETS - 1]++;
    hist_n++;
    if (late_ns > hist_max)
        hist_max = late_ns;
}
static double hist_pct_us(double pct) {
    uint64_t want = (uint64_t)((double)hist_n * pct / 100.0);
    uint64_t acc = 0;
    for (uint64_t b = 0; b < HBUCKETS; b++) {
        acc += hist[b];
        if (acc > want)
            return (double)b + 0.5;
    }
    return (double)HBUCKETS;
}

/* ---------------- steady ---------------- */

struct steady {
    uint64_t start, period, end;
    uint32_t calls;
};
static atomic_int steady_done;

static uint64_t steady_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct steady *s = arg;
    (void)err;
    if (deadline == 0)
        return s->start;
    hist_add(now - deadline);
    s->calls++;
    uint64_t next = deadline + s->period;
    if (next >= s->end) {
        atomic_fetch_add(&steady_done, 1);
        return 0;
    }
    return next;
}

/* Reads the worker's CPU time and context switches (getrusage of the
 * worker thread: voluntary switches = sleeps = wake-ups) at two scheduled
 * times. */
struct probe {
    uint64_t t[2];
    uint64_t cpu[2];
    uint64_t vcsw[2], icsw[2];
    int n;
    atomic_int done;
};
static uint64_t probe_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct probe *p = arg;
    (void)now; (void)err;
    if (deadline == 0)
        return p->t[0];
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    p->cpu[p->n] = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL
        + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
    p->vcsw[p->n] = (uint64_t)ru.ru_nvcsw;
    p->icsw[p->n] = (uint64_t)ru.ru_nivcsw;
    p->n++;
    if (p->n == 2) {
        atomic_store(&p->done, 1);
        return 0;
    }
    return p->t[1];
}

struct steady_res {
    double p50, p99, max, cpu_pct, wakes_s, cpu_per_wake_us, calls_per_wake, icsw_s;
    long long missed;
};

static void run_steady(int n, double seconds, struct steady_res *r, int print_create) {
    const uint64_t period = 20 * MS;
    struct rtpproc *p = rtpproc_ctor(NULL);
    struct steady *ch = calloc((size_t)n, sizeof(*ch));
    struct rtpproc_chan **h = calloc((size_t)n, sizeof(*h));
    if (p == NULL || ch == NULL || h == NULL) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    hist_reset();
    atomic_store(&steady_done, 0);
    /* leave time to create everything before the first deadline */
    uint64_t t0 = now_ns() + 300 * MS + (uint64_t)n * 50 * US;
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    uint64_t expected = 0;
    for (int i = 0; i < n; i++) {
        ch[i].period = period;
        ch[i].start = t0 + (uint64_t)i * period / (uint64_t)n;
        ch[i].end = end;
        expected += (end - ch[i].start + period - 1) / period;
    }
    struct probe pr = { .t = { t0 + period, end - period } };
    uint64_t c0 = now_ns();
    for (int i = 0; i < n; i++) {
        h[i] = rtpproc_create_channel(p, steady_cb, &ch[i], NULL);
        if (h[i] == NULL) {
            fprintf(stderr, "create failed\n");
            exit(1);
        }
    }
    uint64_t c1 = now_ns();
    struct rtpproc_chan *ph = rtpproc_create_channel(p, probe_cb, &pr, NULL);
    if (c1 > t0)
        printf("  (warning: creating took longer than planned; the first calls were late)\n");
    while (atomic_load(&steady_done) < n && now_ns() < end + 10ULL * 1000 * MS)
        sleep_ms(20);
    while (!atomic_load(&pr.done) && now_ns() < end + 10ULL * 1000 * MS)
        sleep_ms(5);
    uint64_t made = 0;
    for (int i = 0; i < n; i++)
        rtpproc_chan_close(h[i]);
    rtpproc_chan_close(ph);
    for (int i = 0; i < n; i++)
        made += ch[i].calls;
    double span = (double)(pr.t[1] - pr.t[0]);
    double wakes = (double)(pr.vcsw[1] - pr.vcsw[0]);
    double cpu = (double)(pr.cpu[1] - pr.cpu[0]);
    r->p50 = hist_pct_us(50);
    r->p99 = hist_pct_us(99);
    r->max = (double)hist_max / 1000.0;
    r->cpu_pct = 100.0 * cpu / span;
    r->wakes_s = wakes / (span / 1e9);
    r->cpu_per_wake_us = wakes > 0 ? cpu / wakes / 1000.0 : 0;
    r->calls_per_wake = wakes > 0 ? (double)n * (span / (double)period) / wakes : 0;
    r->icsw_s = (double)(pr.icsw[1] - pr.icsw[0]) / (span / 1e9);
    r->missed = (long long)expected - (long long)made;
    if (print_create)
        printf("(%d channels created in %.3f s: %.0f/s)\n", n, (double)(c1 - c0) / 1e9,
            (double)n / ((double)(c1 - c0) / 1e9));
    rtpproc_dtor(p);
    free(ch);
    free(h);
}

/* ---------------- the bare loop: clock_nanosleep at a fixed rate ---------------- */

struct bare_arg { uint64_t period; double seconds; double p50, p99, max, cpu_per_wake_us; };

static void *bare_thread(void *arg) {
    struct bare_arg *b = arg;
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    hist_reset();
    uint64_t t = now_ns() + 10 * MS;
    uint64_t end = t + (uint64_t)(b->seconds * 1e9);
    uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), wakes = 0;
    while (t < end) {
        struct timespec ts = { (time_t)(t / 1000000000ULL), (long)(t % 1000000000ULL) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        uint64_t now = now_ns();
        hist_add(now - t);
        wakes++;
        /* like the scheduler's calls, a late wake-up is caught up (each
         * missed period counts, with its own lateness), so that one stall
         * weighs the same in both histograms */
        t += b->period;
    }
    uint64_t cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    b->p50 = hist_pct_us(50);
    b->p99 = hist_pct_us(99);
    b->max = (double)hist_max / 1000.0;
    b->cpu_per_wake_us = (double)(cpu1 - cpu0) / (double)wakes / 1000.0;
    return NULL;
}

static void run_bare(uint64_t period, double seconds, struct bare_arg *b) {
    pthread_t th;
    b->period = period;
    b->seconds = seconds;
    if (pthread_create(&th, NULL, bare_thread, b) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    pthread_join(th, NULL);
}

/* ---------------- contention: spinning processes at normal priority ---------------- */

static pid_t spinners[64];
static int nspinners;

static void contend_start(int n) {
    for (int i = 0; i < n && i < 64; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            volatile uint64_t x = 0;
            for (;;)
                x++;
        }
        if (pid > 0)
            spinners[nspinners++] = pid;
    }
    sleep_ms(200); /* let the kernel see them as CPU consumers */
}

static void contend_stop(void) {
    for (int i = 0; i < nspinners; i++) {
        kill(spinners[i], SIGKILL);
        waitpid(spinners[i], NULL, 0);
    }
    nspinners = 0;
}

static void steady_pair(const char *mode, int n, double seconds) {
    struct steady_res r;
    struct bare_arg b;
    run_steady(n, seconds, &r, 0);
    uint64_t bare_period = r.wakes_s > 0 ? (uint64_t)(1e9 / r.wakes_s) : 20 * MS;
    run_bare(bare_period, seconds, &b);
    printf("| %-9s | %6d | %6lld | %7.0f | %5.1f | %6.1f %% | %6.2f | %6.0f | %6.1f | %7.1f | %8.1f | %6.1f | %7.1f | %8.1f | %6.2f | %5.2fx |\n",
        mode, n, r.missed, r.wakes_s, r.calls_per_wake, r.cpu_pct, r.cpu_per_wake_us, r.icsw_s,
        r.p50, r.p99, r.max, b.p50, b.p99, b.max, b.cpu_per_wake_us,
        b.p99 > 0 ? r.p99 / b.p99 : 0.0);
    fflush(stdout);
}

/* ---------------- bulk (the original's profile) ---------------- */

struct bulk {
    uint64_t init_delay, period;
    uint16_t total;
    atomic_ushort calls;
    uint64_t now[20];
};
static atomic_int bulk_done;

static uint64_t bulk_cb(void *arg, uint64_t now, uint64_t deadline, int *err) {
    struct bulk *b = arg;
    (void)err;
    unsigned n = atomic_load(&b->calls);
    b->now[n] = now;
    if (deadline != 0)
        hist_add(now - deadline);
    atomic_store(&b->calls, (unsigned short)(n + 1));
    if (n + 1 >= b->total) {
        atomic_fetch_add(&bulk_done, 1);
        return 0;
    }
    if (n == 0)
        return now + b->init_delay;
    return deadline + b->period;
}

/* Returns 1 to go on doubling; `row` gets the table row. */
static int run_bulk(int m, double budget_s, double *skew_out, char *row, size_t rowsz) {
    struct rtpproc *p = rtpproc_get();
    struct bulk *b = calloc((size_t)m, sizeof(*b));
    struct rtpproc_chan **h = calloc((size_t)m, sizeof(*h));
    if (b == NULL || h == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    xs_state = 0xC0FFEEULL + (uint64_t)m;
    hist_reset();
    atomic_store(&bulk_done, 0);
    uint64_t c0 = now_ns();
    for (int i = 0; i < m; i++) {
        b[i].init_delay = rnd_range(100 * US, 2 * MS);
        b[i].period = rnd_range(200 * US, 1 * MS);
        b[i].total = (uint16_t)rnd_range(8, 20);
        h[i] = rtpproc_create_channel(p, bulk_cb, &b[i], NULL);
        if (h[i] == NULL) {
            fprintf(stderr, "create failed\n");
            exit(1);
        }
    }
    uint64_t c1 = now_ns();
    uint64_t until = c0 + (uint64_t)(budget_s * 1e9);
    while (atomic_load(&bulk_done) < m && now_ns() < until)
        sleep_ms(2);
    int finished = atomic_load(&bulk_done) == m;
    sleep_ms(30);
    for (int i = 0; i < m; i++)
        rtpproc_chan_close(h[i]);

    const double rel_tol = 0.5;
    const uint64_t abs_tol = 20 * MS;
    double overrun = 0, exp_total = 0, act_total = 0;
    uint64_t intervals = 0, bad = 0, wrong_count = 0;
    for (int i = 0; i < m; i++) {
        unsigned n = atomic_load(&b[i].calls);
        if (n != b[i].total) {
            wrong_count++;
            continue;
        }
        exp_total += (double)(b[i].init_delay + b[i].period * (uint64_t)(n > 2 ? n - 2 : 0));
        act_total += (double)(b[i].now[n - 1] - b[i].now[0]);
        for (unsigned k = 1; k < n; k++) {
            double want = (double)(k == 1 ? b[i].init_delay : b[i].period);
            double got = (double)(b[i].now[k] - b[i].now[k - 1]);
            double rel = (got - want) / want;
            if (rel > rel_tol)
                overrun += rel - rel_tol;
            if (got - want > (double)abs_tol + want * rel_tol || want - got > (double)abs_tol + want * rel_tol)
                bad++;
            intervals++;
        }
    }
    double skew = intervals ? overrun * 100.0 / (double)intervals : 0;
    double drift = exp_total > 0 ? 100.0 * (act_total > exp_total ? act_total - exp_total : exp_total - act_total) / exp_total : 0;
    snprintf(row, rowsz, "| %6d | %7.3f | %7.3f | %6llu/%-7llu | %6.1f | %7.1f | %8.1f | %6llu | %6.2f s |",
        m, skew, drift, (unsigned long long)bad, (unsigned long long)intervals,
        hist_pct_us(50), hist_pct_us(99), (double)hist_max / 1000.0,
        (unsigned long long)wrong_count, (double)(c1 - c0) / 1e9);
    free(b);
    free(h);
    *skew_out = skew;
    return finished && wrong_count == 0 && skew <= 5.0;
}

int main(int argc, char **argv) {
    double steady_s = argc > 1 ? atof(argv[1]) : 4.0;
    double bulk_budget = argc > 2 ? atof(argv[2]) : 30.0;
    int nostop = argc > 3 && strcmp(argv[3], "nostop") == 0;
    hist = malloc(HBUCKETS * sizeof(*hist));
    if (hist == NULL)
        return 1;

    const char *ce = getenv("BENCH_CONTEND");
    int contend = ce ? atoi(ce) : 0;
    printf("## steady: channels at a 20 ms period, and a bare clock_nanosleep loop at the same wake rate\n\n");
    printf("(sched: the scheduler's worker, read with getrusage(RUSAGE_THREAD) from a probe callback;\n"
           " wakes = its voluntary context switches; bare: one thread sleeping with clock_nanosleep\n"
           " TIMER_ABSTIME at the scheduler's measured wake rate; lateness = now - deadline;\n"
           " contended: %d processes spinning at normal priority during both runs)\n\n", contend);
    printf("| mode      | chans  | missed | wakes/s | calls/wake | CPU    | CPU/wake us | invol/s | p50 us | p99 us  | max us   | bare p50 | bare p99 | bare max | bare CPU/wake | p99/bare |\n");
    printf("|-----------|--------|--------|---------|------------|--------|-------------|---------|--------|---------|----------|----------|----------|----------|---------------|----------|\n");
    steady_pair("base", 1000, steady_s);
    steady_pair("base", 10000, steady_s);
    if (contend > 0) {
        contend_start(contend);
        steady_pair("+spinners", 1000, steady_s);
        steady_pair("+spinners", 10000, steady_s);
        contend_stop();
    }

    printf("\n## bulk: the original's profile (periods 0.2-1 ms, 8-20 calls)\n\n");
    printf("(median of three runs by skew; the last column has the three skews)\n\n");
    printf("| chans  | skew %%  | drift %% | bad intervals  | p50 us | p99 us  | max us   | wrong  | create   | skews %%               |\n");
    printf("|--------|---------|---------|----------------|--------|---------|----------|--------|----------|-----------------------|\n");
    uint64_t b0 = now_ns();
    double skew = 0;
    int m = 16;
    for (; m <= 65536; m *= 2) {
        double left = bulk_budget - (double)(now_ns() - b0) / 1e9;
        if (left <= 1.0) {
            printf("\n(bulk time budget of %.0f s used up)\n", bulk_budget);
            break;
        }
        /* Three runs per size; the median skew decides (one preemption of
         * the worker by another process spoils a whole ~20 ms run). */
        double sk[3];
        char rows[3][200];
        int ok = 0;
        for (int a = 0; a < 3; a++)
            ok += run_bulk(m, left < 10.0 ? left : 10.0, &sk[a], rows[a], sizeof(rows[a]));
        int med = 0;
        for (int a = 0; a < 3; a++) {
            int below = 0, above = 0;
            for (int b = 0; b < 3; b++) {
                below += b != a && (sk[b] < sk[a] || (sk[b] == sk[a] && b < a));
                above += b != a && !(sk[b] < sk[a] || (sk[b] == sk[a] && b < a));
            }
            if (below == 1 && above == 1)
                med = a;
        }
        skew = sk[med];
        printf("%s %5.2f / %5.2f / %5.2f |\n", rows[med], sk[0], sk[1], sk[2]);
        fflush(stdout);
        if (ok < 2 && !nostop)
            break;
    }
    if (m > 65536)
        printf("\nbulk: reached 65536 channels with global skew %.3f %% (limit 5 %%)\n", skew);
    else
        printf("\nbulk: stopped at %d channels (skew %.3f %%)\n", m, skew);
    free(hist);
    return 0;
}
