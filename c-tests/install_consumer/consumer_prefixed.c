/* The other include style: <rtpsynth/NAME.h>, with -I<prefix>/include,
 * the pkg-config Cflags or the CMake package. */
#include <stdio.h>
#include <rtpsynth/rtpsynth.h>
#include <rtpsynth/rtpjbuf.h>
#include <rtpsynth/rtpsynth_error.h>

int main(void) {
    void *rs = rsynth_ctor(8000, 20);
    unsigned char *p = rsynth_next_pkt(rs, 160, 0);
    struct rtp_info info;
    int ok = p != NULL && rtp_packet_parse_raw(p, 172, &info) == RTP_PARSER_OK &&
             info.nsamples == 160 && rtpsynth_strerror(-EINVAL) != NULL;
    rsynth_pkt_free(p);
    rsynth_dtor(rs);
    printf("consumer_prefixed: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
