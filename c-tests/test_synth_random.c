/*
 * Generator on random operation sequences (fixed random function): packets
 * from rsynth_next_pkt with random plen and pt, rsynth_next_pkt_pa with
 * random plen, blen (often too small) and filled mode, rsynth_skip with
 * negative and positive counts, rsynth_set_mbt with arbitrary values.
 * Every packet byte, return value and buffer byte is hashed and compared
 * with what librtpsynth 1.3.2 gives; bytes past blen must stay untouched.
 * (rsynth_resync depends on the clock and is covered by test_synth_golden.)
 */
#include <stdint.h>
#include <string.h>

#include "rtpsynth.h"
#include "testutil.h"

static uint64_t hash;
static void hb(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        hash ^= p[i];
        hash *= 1099511628211ull;
    }
}
static void h64(uint64_t v) {
    unsigned char b[8];
    memcpy(b, &v, 8);
    hb(b, 8);
}

static unsigned long long rand_state;
static uint32_t rand_fn(void *arg) {
    CHECK(arg == &rand_state);
    return tu_rand(&rand_state);
}

static uint64_t run(unsigned seed, int nops) {
    unsigned long long rs = seed * 7919ull + 3;
    rand_state = rs ^ 0x1234;
    hash = 1469598103934665603ull;
    rsynth_set_randfunc(rand_fn, &rand_state);
    static const int rates[] = {8000, 16000, 48000, 44100};
    int srate = rates[tu_rand(&rs) % 4];
    int ptime = 1 + (int)(tu_rand(&rs) % 60);
    void *g = rsynth_ctor(srate, ptime);
    rsynth_set_randfunc(NULL, NULL);
    CHECK(g != NULL);
    static unsigned char buf[512];
    for (int i = 0; i < nops; i++) {
        unsigned op = tu_rand(&rs) % 10;
        if (op < 4) {
            int plen = (int)(tu_rand(&rs) % 300);
            int pt = (int)tu_rand(&rs);
            unsigned char *p = rsynth_next_pkt(g, plen, pt);
            CHECK(p != NULL);
            hb(p, 12 + (size_t)plen);
            rsynth_pkt_free(p);
        } else if (op < 8) {
            int plen = (int)(tu_rand(&rs) % 300);
            int pt = (int)tu_rand(&rs);
            unsigned blen = tu_rand(&rs) % 400;
            int filled = (int)(tu_rand(&rs) % 2);
            for (unsigned j = 0; j < sizeof(buf); j++)
                buf[j] = (unsigned char)(j * 7 + (unsigned)i);
            int r = rsynth_next_pkt_pa(g, plen, pt, (char *)buf, blen, filled);
            CHECK(r == -1 || r == 12 + plen);
            CHECK(r == -1 || (unsigned)r <= blen);
            h64((uint64_t)(int64_t)r);
            hb(buf, blen);
            for (unsigned j = blen; j < sizeof(buf); j++)
                CHECK_EQ(buf[j], (unsigned char)(j * 7 + (unsigned)i));
        } else if (op < 9) {
            rsynth_skip(g, (int)(tu_rand(&rs) % 2000) - 1000);
        } else {
            h64(rsynth_set_mbt(g, tu_rand(&rs)));
        }
    }
    rsynth_dtor(g);
    return hash;
}

int main(void) {
    /* what librtpsynth 1.3.2 gives */
    static const struct { unsigned seed; uint64_t hash; } want[] = {
        {1, 0xaf84e940ea856074ull}, {2, 0xd072d8c5109f2b64ull}, {3, 0xb31db0fe2892e2d5ull},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint64_t h = run(want[i].seed, 20000);
        printf("seed %u: %016llx\n", want[i].seed, (unsigned long long)h);
        CHECK(h == want[i].hash);
    }
    TEST_DONE("test_synth_random");
}
