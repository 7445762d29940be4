/*
 * Interop with ffmpeg, both ways, bit-exact, for H.264 (libx264), VP8
 * (libvpx) and VP9 (libvpx-vp9): a 2 s 320x240 testsrc clip is encoded
 * once to a file (Annex B / IVF);
 *  1. ffmpeg sends it (-c copy -f rtp) to our receiver over loopback: the
 *     frames we rebuild hold exactly the file's NAL units / IVF frames;
 *  2. we packetize the file's frames and send them to ffmpeg, which
 *     receives them through an SDP: its decoded frames have the same md5
 *     (-f framemd5) as decoding the file directly.
 * Exits 77 (SKIP) without ffmpeg or without all three encoders. Every
 * ffmpeg run and every wait is bounded in time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rtpvideo.h"
#include "testutil.h"

extern char **environ;

static char dir[256];

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static pid_t spawn_sh(const char *cmd) {
    pid_t pid;
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0);
    return pid;
}

/* Wait for pid up to ms; kill it past that. Returns its exit status or -1. */
static int wait_bounded(pid_t pid, unsigned ms) {
    for (unsigned t = 0; t < ms; t += 50) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        tu_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    CHECK(b != NULL);
    size_t k;
    while ((k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            CHECK(b != NULL);
        }
    }
    fclose(f);
    *len = n;
    return b;
}

/* ---- frames of a file: NAL units (H.264) or IVF frames ---- */

struct unit {
    const uint8_t *p;
    size_t len;
};

struct units {
    struct unit u[8192];
    int n;
};

/* Next NAL unit after a start code at or after *pos. */
static int next_nal(const uint8_t *b, size_t len, size_t *pos, struct unit *out) {
    size_t i = *pos;
    while (i + 3 <= len && !(b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1))
        i++;
    if (i + 3 > len)
        return 0;
    size_t s = i + 3, e = s;
    while (e + 3 <= len && !(b[e] == 0 && b[e + 1] == 0 && (b[e + 2] == 1 || (b[e + 2] == 0 && e + 3 < len && b[e + 3] == 1))))
        e++;
    if (e + 3 > len)
        e = len;
    size_t end = e;
    while (end > s && b[end - 1] == 0)
        end--;
    out->p = b + s;
    out->len = end - s;
    *pos = e;
    return 1;
}

static void nal_list(const uint8_t *b, size_t len, struct units *us) {
    size_t pos = 0;
    struct unit u;
    while (next_nal(b, len, &pos, &u)) {
        CHECK(us->n < 8192);
        us->u[us->n++] = u;
    }
}

static void ivf_list(const uint8_t *b, size_t len, struct units *us) {
    CHECK(len >= 32 && memcmp(b, "DKIF", 4) == 0);
    size_t pos = b[6] | b[7] << 8;
    while (pos + 12 <= len) {
        size_t n = (size_t)b[pos] | (size_t)b[pos + 1] << 8 | (size_t)b[pos + 2] << 16 | (size_t)b[pos + 3] << 24;
        CHECK(pos + 12 + n <= len);
        CHECK(us->n < 8192);
        us->u[us->n].p = b + pos + 12;
        us->u[us->n++].len = n;
        pos += 12 + n;
    }
}

/* Access units of an Annex B file: a new one at a slice whose
 * first_mb_in_slice is 0, or at SEI/SPS/PPS/AUD after a slice. */
static void au_list(const uint8_t *b, size_t len, struct units *aus) {
    size_t pos = 0;
    struct unit u;
    const uint8_t *start = NULL;
    int seen_slice = 0;
    size_t prev_pos = 0;
    while (1) {
        size_t at = pos;
        /* the start code's first byte */
        while (at + 3 <= len && !(b[at] == 0 && b[at + 1] == 0 && b[at + 2] == 1))
            at++;
        if (at > prev_pos && at > 0 && b[at - 1] == 0)
            at--;
        if (!next_nal(b, len, &pos, &u))
            break;
        int t = u.p[0] & 0x1f;
        int starts = ((t == 1 || t == 5) && seen_slice && u.len > 1 && (u.p[1] & 0x80)) ||
                     ((t >= 6 && t <= 9) && seen_slice);
        if (start == NULL)
            start = b + at;
        if (starts) {
            aus->u[aus->n].p = start;
            aus->u[aus->n++].len = (size_t)(b + at - start);
            start = b + at;
            seen_slice = 0;
        }
        if (t == 1 || t == 5)
            seen_slice = 1;
        prev_pos = pos;
    }
    if (start != NULL) {
        aus->u[aus->n].p = start;
        aus->u[aus->n++].len = (size_t)(b + len - start);
    }
}

static int same_units(const struct units *a, const struct units *b) {
    if (a->n != b->n) {
        fprintf(stderr, "unit count %d vs %d\n", a->n, b->n);
        return 0;
    }
    for (int i = 0; i < a->n; i++)
        if (a->u[i].len != b->u[i].len || memcmp(a->u[i].p, b->u[i].p, a->u[i].len) != 0) {
            fprintf(stderr, "unit %d differs (%zu vs %zu bytes)\n", i, a->u[i].len, b->u[i].len);
            return 0;
        }
    return 1;
}

static int udp_socket(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

struct codec_case {
    int codec;
    const char *name, *encoder, *file, *fmt, *rtpmap;
};

/* 1. ffmpeg -> us */
static void ffmpeg_to_us(const struct codec_case *c, const uint8_t *file, size_t flen) {
    uint16_t port;
    int fd = udp_socket(&port);
    struct rtpvid_recv_cfg rc = {sizeof(rc), c->codec, 96, -1, 4096, 2000000000ULL, 0, 0, 0};
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, NULL);
    CHECK(r != NULL);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "exec ffmpeg -nostdin -v error -i %s/%s -c copy -strict experimental -f rtp -payload_type 96 rtp://127.0.0.1:%u >/dev/null",
             dir, c->file, port);
    pid_t pid = spawn_sh(cmd);
    size_t cap = flen * 2 + 4096, olen = 0;
    uint8_t *out = malloc(cap);
    CHECK(out != NULL);
    static struct units got;
    got.n = 0;
    uint8_t *frames_mem = malloc(cap);
    size_t fm = 0;
    CHECK(frames_mem != NULL);
    int exited = 0, idle = 0, dropped = 0;
    uint8_t buf[65536];
    uint64_t t0 = tu_now_ns();
    while (tu_now_ns() - t0 < 30000000000ULL) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            CHECK(n > 0);
            idle = 0;
            int rr = rtpvid_recv_pkt(r, buf, (size_t)n, tu_now_ns());
            CHECK(rr == RTPVID_STORED);
        } else if (exited && ++idle >= 5) {
            break;
        }
        if (!exited) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                exited = 1;
            }
        }
        struct rtpvid_frame f;
        int ev;
        while ((ev = rtpvid_recv_frame(r, exited && idle >= 5 ? UINT64_MAX : 0, &f)) > 0) {
            if (ev == RTPVID_DROPPED) {
                dropped++;
                continue;
            }
            CHECK(fm + f.len <= cap);
            memcpy(frames_mem + fm, f.data, f.len);
            if (c->codec == RTPVID_H264) {
                memcpy(out + olen, f.data, f.len);
                olen += f.len;
            } else {
                got.u[got.n].p = frames_mem + fm;
                got.u[got.n++].len = f.len;
            }
            fm += f.len;
        }
    }
    struct rtpvid_frame f;
    while (rtpvid_recv_frame(r, UINT64_MAX, &f) > 0)
        CHECK(0 && "a frame after the end of the stream");
    if (!exited)
        CHECK(wait_bounded(pid, 1000) == 0);
    static struct units want;
    want.n = 0;
    struct rtpvid_recv_stats st;
    CHECK_EQ(rtpvid_recv_stats(r, &st), 0);
    if (c->codec == RTPVID_H264) {
        nal_list(out, olen, &got);
        nal_list(file, flen, &want);
    } else {
        ivf_list(file, flen, &want);
    }
    printf("%s ffmpeg -> us: %llu packets, %llu frames (%llu key), %d dropped; %d %s in the file\n", c->name,
           (unsigned long long)st.packets, (unsigned long long)st.frames, (unsigned long long)st.keyframes, dropped,
           want.n, c->codec == RTPVID_H264 ? "NAL units" : "frames");
    CHECK_EQ(dropped, 0);
    CHECK(same_units(&got, &want));
    free(out);
    free(frames_mem);
    rtpvid_recv_dtor(r);
    close(fd);
}

struct sendctx {
    int fd;
    struct sockaddr_in to;
    unsigned packets;
};

static void send_udp(void *arg, const uint8_t *pkt, size_t len) {
    struct sendctx *s = arg;
    CHECK(len <= RTPVID_DEFAULT_MTU);
    CHECK(sendto(s->fd, pkt, len, 0, (struct sockaddr *)&s->to, sizeof(s->to)) == (ssize_t)len);
    s->packets++;
    if (s->packets % 4 == 0)
        tu_sleep_ms(1); /* a pace ffmpeg keeps up with */
}

/* Whether something listens on UDP port (IPv4) per /proc/net/udp. */
static int udp_bound(uint16_t port) {
    FILE *f = fopen("/proc/net/udp", "r");
    if (f == NULL)
        return 0;
    char line[512], want[16];
    snprintf(want, sizeof(want), ":%04X ", port);
    int found = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, want) != NULL && strstr(line, want) < line + 30)
            found = 1;
    fclose(f);
    return found;
}

/* An even port with the next one free too (RTP + RTCP). */
static uint16_t free_pair(void) {
    for (int tries = 0; tries < 100; tries++) {
        uint16_t p;
        int fd = udp_socket(&p);
        close(fd);
        p &= (uint16_t)~1u;
        if (p < 1024)
            continue;
        int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in x = {0};
        x.sin_family = AF_INET;
        x.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        x.sin_port = htons(p);
        int ok = bind(a, (struct sockaddr *)&x, sizeof(x)) == 0;
        x.sin_port = htons((uint16_t)(p + 1));
        ok = ok && bind(b, (struct sockaddr *)&x, sizeof(x)) == 0;
        close(a);
        close(b);
        if (ok)
            return p;
    }
    CHECK(0 && "no free port pair");
    return 0;
}

/* 2. us -> ffmpeg */
static void us_to_ffmpeg(const struct codec_case *c, const uint8_t *file, size_t flen) {
    static struct units frames;
    frames.n = 0;
    if (c->codec == RTPVID_H264)
        au_list(file, flen, &frames);
    else
        ivf_list(file, flen, &frames);
    uint16_t port = free_pair();
    char path[512], cmd[2048];
    snprintf(path, sizeof(path), "%s/%s.sdp", dir, c->name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtpsynth\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=video %u RTP/AVP 96\r\na=rtpmap:96 %s\r\n%s",
            port, c->rtpmap, c->codec == RTPVID_H264 ? "a=fmtp:96 packetization-mode=1\r\n" : "");
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "exec ffmpeg -nostdin -v error -protocol_whitelist file,udp,rtp -i %s -frames:v %d -f framemd5 %s/%s.rx.md5 2>/dev/null",
             path, frames.n, dir, c->name);
    pid_t pid = spawn_sh(cmd);
    int up = 0;
    for (int t = 0; t < 400 && !(up = udp_bound(port)); t++)
        tu_sleep_ms(50);
    CHECK(up);
    struct sendctx sc = {socket(AF_INET, SOCK_DGRAM, 0), {0}, 0};
    sc.to.sin_family = AF_INET;
    sc.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sc.to.sin_port = htons(port);
    struct rtpvid_send_cfg cfg = {sizeof(cfg), c->codec, 96, 0, 0x1234abcd, 1000, 0, 0, 0, -1, 0, 0};
    struct rtpvid_send *s = rtpvid_send_ctor(&cfg, NULL);
    CHECK(s != NULL);
    for (int i = 0; i < frames.n; i++)
        CHECK(rtpvid_send_frame(s, frames.u[i].p, frames.u[i].len, 3600u * (uint32_t)i, 0, send_udp, &sc) >= 1);
    /* ffmpeg ends after its -frames:v, or ~10 s after the last packet
     * ("Connection timed out", a nonzero status): the md5s decide */
    wait_bounded(pid, 60000);
    close(sc.fd);
    rtpvid_send_dtor(s);
    /* the md5 column of each frame, both ways */
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -i %s/%s -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}' > %s/%s.file.md5s && "
             "grep -v '^#' %s/%s.rx.md5 | awk -F, '{print $NF}' > %s/%s.rx.md5s && "
             "test -s %s/%s.file.md5s && cmp %s/%s.file.md5s %s/%s.rx.md5s",
             dir, c->file, dir, c->name, dir, c->name, dir, c->name, dir, c->name, dir, c->name, dir, c->name);
    int same = sh(cmd) == 0;
    printf("%s us -> ffmpeg: %d frames in %u packets, decoded md5s %s\n", c->name, frames.n, sc.packets,
           same ? "identical" : "DIFFER");
    CHECK(same);
}

int main(void) {
    if (sh("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0) {
        printf("SKIP: ffmpeg not found\n");
        return 77;
    }
    static const struct codec_case cases[] = {
        {RTPVID_H264, "h264", "libx264", "clip.h264", "-bf 0 -g 25 -pix_fmt yuv420p -f h264", "H264/90000"},
        {RTPVID_VP8, "vp8", "libvpx", "clip8.ivf", "-g 25 -f ivf", "VP8/90000"},
        {RTPVID_VP9, "vp9", "libvpx-vp9", "clip9.ivf", "-g 25 -f ivf", "VP9/90000"},
    };
    snprintf(dir, sizeof(dir), "/tmp/rtpvid-ffmpeg-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    int ran = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct codec_case *c = &cases[i];
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' %s '", c->encoder);
        if (sh(cmd) != 0) {
            printf("SKIP %s: ffmpeg has no %s encoder\n", c->name, c->encoder);
            continue;
        }
        snprintf(cmd, sizeof(cmd),
                 "timeout 120 ffmpeg -nostdin -v error -f lavfi -i testsrc=duration=2:size=320x240:rate=25 "
                 "-c:v %s %s %s/%s",
                 c->encoder, c->fmt, dir, c->file);
        CHECK(sh(cmd) == 0);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, c->file);
        size_t flen;
        uint8_t *file = slurp(path, &flen);
        CHECK(file != NULL && flen > 0);
        ffmpeg_to_us(c, file, flen);
        us_to_ffmpeg(c, file, flen);
        free(file);
        ran++;
    }
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    sh(cmd);
    if (ran == 0) {
        printf("SKIP: no encoder\n");
        return 77;
    }
    TEST_DONE("test_video_interop_ffmpeg");
}
