/*
 * rtp.h - RTP wire format: payload types, the profile table, the RTP header
 * and the parser. Source- and binary-compatible with librtpsynth 1.3.2.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 */
#ifndef RTPSYNTH_RTP_H
#define RTPSYNTH_RTP_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RTP payload types (RFC 3551). */
enum rtp_type {
    RTP_UNKN = -1,
    RTP_PCMU = 0,
    RTP_GSM = 3,
    RTP_G723 = 4,
    RTP_DVI4_8000 = 5,
    RTP_DVI4_16000 = 6,
    RTP_LPC = 7,
    RTP_PCMA = 8,
    RTP_G722 = 9,
    RTP_L16_MONO = 10,
    RTP_L16_STEREO = 11,
    RTP_QCELP = 12,
    RTP_CN = 13,
    RTP_MPA = 14,
    RTP_G728 = 15,
    RTP_DVI4_11025 = 16,
    RTP_DVI4_22050 = 17,
    RTP_G729 = 18,
    RTP_TSE = 100,
    RTP_TSE_CISCO = 101
};

enum rtp_pt_kind {RTP_PTK_AUDIO, RTP_PTK_VIDEO, RTP_PTK_SIGN, RTP_PTK_RES, RTP_PTK_UNK = 0};

struct rtp_profile {
    int ts_rate;
    int sample_rate;
    int nchannels;
    enum rtp_pt_kind pt_kind;
};

/*
 * Static profile of each payload type 0..127. Types 0..18 are filled in
 * (1 and 2 are RTP_PTK_RES), every other entry is all-zero.
 */
extern const struct rtp_profile rtp_profiles[];

typedef enum rtp_type rtp_type_t;

#define RTP_NSAMPLES_UNKNOWN  (-1)

#if !defined(BYTE_ORDER)
# if defined(__BYTE_ORDER__)
#  define BYTE_ORDER __BYTE_ORDER__
#  define BIG_ENDIAN __ORDER_BIG_ENDIAN__
# else
#  error "BYTE_ORDER or __BYTE_ORDER__ needs to be defined"
# endif
#endif

/* RTP data header (RFC 3550 section 5.1), as laid out on the wire. */
struct __attribute__((packed)) rtp_hdr {
#if BYTE_ORDER == BIG_ENDIAN
    unsigned int version:2;     /* protocol version */
    unsigned int p:1;           /* padding flag */
    unsigned int x:1;           /* header extension flag */
    unsigned int cc:4;          /* CSRC count */
    unsigned int mbt:1;         /* marker bit */
    unsigned int pt:7;          /* payload type */
#else
    unsigned int cc:4;          /* CSRC count */
    unsigned int x:1;           /* header extension flag */
    unsigned int p:1;           /* padding flag */
    unsigned int version:2;     /* protocol version */
    unsigned int pt:7;          /* payload type */
    unsigned int mbt:1;         /* marker bit */
#endif
    unsigned int seq:16;        /* sequence number */
    uint32_t ts;                /* timestamp */
    uint32_t ssrc;              /* synchronization source */
    uint32_t csrc[];            /* optional CSRC list */
};
/*
 * csrc[] and extension[] are flexible array members, as in the original's
 * layout (kept for source compatibility): valid C99/C11; g++ accepts them
 * but warns under -Wpedantic ("ISO C++ forbids flexible array member").
 * The header is tested alone as C11 -pedantic -Werror and as C++17
 * -Wall -Wextra -Werror.
 */

struct __attribute__((packed)) rtp_hdr_ext {
    uint16_t profile;           /* defined by profile */
    uint16_t length;            /* length of the following array in 32-bit words */
    uint32_t extension[];       /* actual extension data */
};

#if !defined(rtp_hdr_t_DEFINED)
typedef struct rtp_hdr rtp_hdr_t;
#define rtp_hdr_t_DEFINED 1
#endif

typedef struct rtp_hdr_ext rtp_hdr_ext_t;

struct rtp_packet;

#define RTP_HDR_LEN(rhp)    (sizeof(*(rhp)) + ((rhp)->cc * sizeof((rhp)->csrc[0])))
#define SEQ_DIST(seq1, seq2) \
  ((seq2) >= (seq1) ? ((seq2) - (seq1)) : ((int)(seq2) + 65536 - (int)(seq1)))

/* ts1 is before ts2 (mod 2^32). The original writes (uint32_t) (1 << 31),
 * undefined behaviour in C (1 << 31 overflows int; UBSan stops on it); this
 * is the same value and type without it. */
#define ts_less(ts1, ts2) (((ts1) - (ts2)) > ((uint32_t)1 << 31))

typedef enum {
    RTP_PARSER_NOTPARSED = 0,
    RTP_PARSER_OK = 1,
    RTP_PARSER_PTOOSHRT = -1,
    RTP_PARSER_IHDRVER = -2,
    RTP_PARSER_PTOOSHRTXS = -3,
    RTP_PARSER_PTOOSHRTXH = -4,
    RTP_PARSER_PTOOSHRTPS = -5,
    RTP_PARSER_PTOOSHRTP = -6,
    RTP_PARSER_IPS = -7,
} rtp_parser_err_t;

struct rtp_info;

/*
 * Parse the RTP datagram buf[0..size) into *rinfo. Returns RTP_PARSER_OK
 * or a negative RTP_PARSER_* code. On failure rinfo->data_size is 0,
 * data_offset is how far the header walk got, nsamples is
 * RTP_NSAMPLES_UNKNOWN and ts/seq/ssrc/rtp_profile are left untouched.
 * A NULL rinfo, or a NULL buf with size > 0, returns RTP_PARSER_NOTPARSED
 * and writes nothing (the original crashes).
 */
rtp_parser_err_t rtp_packet_parse_raw(const unsigned char *buf, size_t size, struct rtp_info *rinfo);

/*
 * Static text for any rtp_parser_err_t value; never NULL. (Exported but not
 * declared by the original, which aborts on unknown codes; we describe them.)
 */
const char *rtp_packet_parse_errstr(rtp_parser_err_t ecode);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTP_H */
