/*
 * rtp_packet_parse_raw() on 200k random datagrams (mostly version 2, random
 * flags, CSRC counts, extension lengths, padding bytes and payload types,
 * 0..120 bytes, each in a heap block of exactly its size): every result and
 * every rtp_info field (including those left alone on failure) is hashed and
 * compared with what librtpsynth 1.3.2 gives for the same input. Also
 * checks on each datagram what holds whatever the input: data_offset +
 * data_size within the datagram, the failure contract.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "testutil.h"

static uint64_t hash = 1469598103934665603ull;
static void h64(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        hash ^= (v >> (8 * i)) & 0xff;
        hash *= 1099511628211ull;
    }
}

int main(void) {
    unsigned long long rs = 0x2545f4914f6cdd1dull;
    const long n = tu_scaled(200000, 50000);
    uint64_t hash_at_50k = 0;
    long nok = 0, nerr[8] = {0};
    for (long i = 0; i < n; i++) {
        size_t size = tu_rand(&rs) % 121;
        unsigned char *p = malloc(size ? size : 1);
        CHECK(p != NULL);
        for (size_t j = 0; j < size; j++)
            p[j] = (unsigned char)tu_rand(&rs);
        unsigned r = tu_rand(&rs);
        if (size > 0 && r % 8 != 0)
            p[0] = (unsigned char)((p[0] & 0x3f) | 0x80);          /* version 2 */
        if (size > 0 && r % 4 == 1)
            p[0] &= 0xf3;                                         /* fewer CSRCs */
        size_t xlen_hi = 14 + 4 * (size_t)(p[0] & 0x0f);          /* extension length, high byte */
        if (size > xlen_hi && (r >> 8) % 2 == 0)
            p[xlen_hi] = 0;
        if (size > 0 && (r >> 12) % 3 == 0)
            p[size - 1] = (unsigned char)(p[size - 1] % 24);      /* plausible padding */
        if (size > 1 && (r >> 16) % 2 == 0)
            p[1] = (unsigned char)((p[1] & 0x80) | ((r >> 20) % 20)); /* known payload types */

        struct rtp_info ri;
        memset(&ri, 0xa5, sizeof(ri));
        ri.rtp_profile = NULL;
        int rc = rtp_packet_parse_raw(p, size, &ri);
        CHECK(rc == RTP_PARSER_OK || (rc <= -1 && rc >= -7));
        h64((uint64_t)(int64_t)rc);
        h64(ri.data_size);
        h64(ri.data_offset);
        h64((uint64_t)(int64_t)ri.nsamples);
        h64(ri.appendable);
        h64(ri.ts);
        h64(ri.seq);
        h64(ri.ssrc);
        h64(ri.rtp_profile == NULL ? 999 : (uint64_t)(ri.rtp_profile - rtp_profiles));
        if (rc == RTP_PARSER_OK) {
            nok++;
            CHECK(ri.data_offset + ri.data_size <= size);
            CHECK(ri.rtp_profile == &rtp_profiles[p[1] & 0x7f]);
            CHECK(ri.data_size > 0 || ri.nsamples == RTP_NSAMPLES_UNKNOWN);
        } else {
            nerr[-rc]++;
            CHECK_EQ(ri.data_size, 0);
            CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);
            CHECK_EQ(ri.appendable, 1);
            CHECK(ri.rtp_profile == NULL);
        }
        free(p);
        if (i + 1 == 50000)
            hash_at_50k = hash;
    }
    printf("%ld datagrams: %ld OK, errors -1..-7: %ld %ld %ld %ld %ld %ld %ld; hash at 50k %016llx, end %016llx\n",
        n, nok, nerr[1], nerr[2], nerr[3], nerr[4], nerr[5], nerr[6], nerr[7],
        (unsigned long long)hash_at_50k, (unsigned long long)hash);
    for (int e = 1; e <= 7; e++)
        CHECK(nerr[e] > 0);
    CHECK(nok > n / 10);
    /* what librtpsynth 1.3.2 gives */
    CHECK(hash_at_50k == 0x712f0b15f3893cd7ull);
    if (n == 200000)
        CHECK(hash == 0xebab47976b035e2dull);
    TEST_DONE("test_parse_random");
}
