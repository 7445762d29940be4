/*
 * rtp_info.h - what rtp_packet_parse_raw() extracts from a datagram.
 * Layout-compatible with librtpsynth 1.3.2 (40 bytes on x86-64).
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 */
#ifndef RTPSYNTH_RTP_INFO_H
#define RTPSYNTH_RTP_INFO_H
#pragma once

#include <stddef.h>
#include <stdint.h>

struct rtp_profile;

struct rtp_info {
    size_t      data_size;      /* payload bytes, padding excluded */
    unsigned    data_offset;    /* payload offset: header, CSRCs, extension */
    int         nsamples;       /* samples in payload, or RTP_NSAMPLES_UNKNOWN */
    uint32_t    ts;
    uint16_t    seq;
    uint32_t    ssrc;
    int         appendable;     /* 0 when the payload ends in a G.729 CN frame */
    const struct rtp_profile *rtp_profile;  /* &rtp_profiles[pt] */
};

#endif /* RTPSYNTH_RTP_INFO_H */
