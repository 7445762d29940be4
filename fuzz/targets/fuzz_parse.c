/*
 * libFuzzer target: rtp_packet_parse_raw on arbitrary datagrams.
 * Checks that every result is a documented code and that a successful parse
 * describes a payload inside the datagram, with the header fields as sent.
 */
#include "fuzz_common.h"

#include "rtp.h"
#include "rtp_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Exact-size heap copy: ASan flags any read past the datagram. */
    uint8_t *buf = malloc(size ? size : 1);
    FZ_CHECK(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    struct rtp_info info;
    memset(&info, 0xa5, sizeof(info));
    int r = rtp_packet_parse_raw(buf, size, &info);
    FZ_CHECK(r == RTP_PARSER_OK || (r >= RTP_PARSER_IPS && r <= RTP_PARSER_PTOOSHRT));
    FZ_CHECK(rtp_packet_parse_errstr(r) != NULL);
    if (r == RTP_PARSER_OK) {
        FZ_CHECK(size >= 12);
        FZ_CHECK((buf[0] >> 6) == 2);
        FZ_CHECK(info.data_offset >= 12u + 4u * (buf[0] & 0x0f));
        FZ_CHECK(info.data_offset <= size);
        FZ_CHECK(info.data_size <= size - info.data_offset);
        FZ_CHECK(info.seq == (uint16_t)(buf[2] << 8 | buf[3]));
        FZ_CHECK(info.ts == ((uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7]));
        FZ_CHECK(info.ssrc == ((uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11]));
        FZ_CHECK(info.rtp_profile == &rtp_profiles[buf[1] & 0x7f]);
        FZ_CHECK(info.appendable == 0 || info.appendable == 1);
        int pt = buf[1] & 0x7f;
        if (info.data_size == 0 || (pt != RTP_PCMU && pt != RTP_PCMA && pt != RTP_G722 && pt != RTP_G729 &&
                                    pt != RTP_GSM && pt != RTP_G723))
            FZ_CHECK(info.nsamples == RTP_NSAMPLES_UNKNOWN);
        if (info.data_size != 0 && (pt == RTP_PCMU || pt == RTP_PCMA || pt == RTP_G722))
            FZ_CHECK(info.nsamples == (int)info.data_size);
        if (pt != RTP_G729)
            FZ_CHECK(info.appendable == 1);
        /* padding: the last octet says how much was cut */
        if (buf[0] & 0x20)
            FZ_CHECK(info.data_offset + info.data_size + buf[size - 1] == size);
        else
            FZ_CHECK(info.data_offset + info.data_size == size);
    } else {
        FZ_CHECK(info.data_size == 0);
        FZ_CHECK(info.nsamples == RTP_NSAMPLES_UNKNOWN);
        FZ_CHECK(info.appendable == 1);
    }
    /* NULL arguments are defined in this implementation. */
    FZ_CHECK(rtp_packet_parse_raw(buf, size, NULL) == RTP_PARSER_NOTPARSED);
    if (size)
        FZ_CHECK(rtp_packet_parse_raw(NULL, size, &info) == RTP_PARSER_NOTPARSED);
    free(buf);
    return 0;
}
