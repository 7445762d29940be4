/*
 * Linked against librtpsynth.a (the _static suffix): the static library's
 * link interface must bring libopus (pkg-config) and the Rust runtime's
 * system libraries. Encodes, decodes and conceals a little, and uses the
 * G.711 helpers, so those objects really are pulled in.
 */
#include <errno.h>
#include <stdint.h>

#include "rtpopus.h"
#include "rtputils.h"
#include "testutil.h"

int main(void) {
    int err = 1;
    struct rtpopus_enc *e = rtpopus_enc_ctor(8000, 1, RTPOPUS_APPLICATION_VOIP, &err);
    CHECK(e != NULL);
    CHECK_EQ(err, 0);
    struct rtpopus_dec *d = rtpopus_dec_ctor(8000, 1, &err);
    CHECK(d != NULL);
    int16_t pcm[160], out[160 * 3];
    for (int i = 0; i < 160; i++)
        pcm[i] = rtpu_ulaw2linear((uint8_t)(i * 7));
    unsigned char pkt[RTPOPUS_MAX_PACKET];
    for (int k = 0; k < 5; k++) {
        int n = rtpopus_encode(e, pcm, 160, pkt, sizeof(pkt));
        CHECK(n > 0);
        CHECK_EQ(rtpopus_decode(d, pkt, (size_t)n, out, 160, 0), 160);
    }
    struct ers_frame ers = {.lseq_start = 1, .lseq_end = 3, .ts_diff = 2880};
    CHECK_EQ(rtpopus_conceal(d, &ers, out, 480), 480);
    CHECK_EQ(rtpopus_conceal(d, &ers, out, 479), -ENOBUFS);
    uint8_t a[160];
    rtpu_linear2alaw_buf(pcm, 160, a);
    CHECK_EQ(a[0], rtpu_linear2alaw(pcm[0]));
    CHECK_EQ(rtpu_resample_linear_len(160, 8000, 48000), 960);
    rtpopus_enc_dtor(e);
    rtpopus_dec_dtor(d);
    TEST_DONE("test_opus_static");
}
