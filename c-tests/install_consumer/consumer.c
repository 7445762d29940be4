/* Uses the installed headers and library: generate, parse, buffer. */
#include <stdio.h>
#include <rtpsynth.h>
#include <rtpjbuf.h>

int main(void) {
    void *rs = rsynth_ctor(8000, 20);
    void *jb = rtpjbuf_ctor(4);
    unsigned char *p = rsynth_next_pkt(rs, 160, 0);
    struct rtp_info info;
    int ok = rtp_packet_parse_raw(p, 172, &info) == RTP_PARSER_OK && info.nsamples == 160;
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, p, 172);
    ok = ok && r.error == 0;
    rtpjbuf_dtor(jb);
    rsynth_pkt_free(p);
    rsynth_dtor(rs);
    printf("consumer: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
