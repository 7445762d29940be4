/*
 * rtpopus.h - Opus encoding and decoding (the system libopus), and packet
 * loss concealment for the erasure frames of the jitter buffer (rtpjbuf.h).
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Samples are 16-bit, interleaved when there are two channels. Sizes named
 * frame_size / frame_cap and the counts returned by the decoder are samples
 * *per channel*. Opus frame durations are 2.5, 5, 10, 20, 40, 60, 80, 100
 * and 120 ms (at 48 kHz: 120, 240, 480, 960, 1920, 2880, 3840, 4800 and
 * 5760 samples). Opus RTP streams always use a 48 kHz clock (RFC 7587),
 * whatever rate the decoder outputs.
 *
 * Handles: create with *_ctor, release with *_dtor (NULL is fine). A handle
 * is used by one thread at a time; different handles are independent.
 *
 * Errors: negative errno values (see rtpsynth_strerror()):
 *  -EINVAL   NULL handle or pointer, unsupported rate / channel count /
 *            application, unknown setting or value out of range, frame size
 *            that is not an Opus frame duration;
 *  -ENOBUFS  the output buffer is too small;
 *  -EBADMSG  a corrupted or invalid Opus packet;
 *  -ENOMEM   out of memory;
 *  -EPROTO   internal libopus error; -ENOTSUP: not implemented by libopus.
 */
#ifndef RTPSYNTH_RTPOPUS_H
#define RTPSYNTH_RTPOPUS_H
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rtpjbuf.h" /* struct ers_frame */
#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rtpopus_enc; /* opaque */
struct rtpopus_dec; /* opaque */

/* application values of rtpopus_enc_ctor (libopus's OPUS_APPLICATION_*) */
#define RTPOPUS_APPLICATION_VOIP                2048
#define RTPOPUS_APPLICATION_AUDIO               2049
#define RTPOPUS_APPLICATION_RESTRICTED_LOWDELAY 2051

/* param values of rtpopus_enc_set (libopus's OPUS_SET_*_REQUEST numbers) */
#define RTPOPUS_BITRATE          4002 /* bits/s 500..512000; -1000 auto, -1 max */
#define RTPOPUS_COMPLEXITY       4010 /* 0..10 */
#define RTPOPUS_INBAND_FEC       4012 /* 0 off, 1 on (newer libopus: 2 too) */
#define RTPOPUS_PACKET_LOSS_PERC 4014 /* expected loss, 0..100 percent */
#define RTPOPUS_DTX              4016 /* discontinuous transmission, 0 or 1 */

/* An out_cap that always suffices for rtpopus_encode (libopus recommends 4000). */
#define RTPOPUS_MAX_PACKET 4000

/*
 * New encoder. srate: 8000, 12000, 16000, 24000 or 48000; channels: 1 or 2;
 * application: RTPOPUS_APPLICATION_*. NULL on error, with -EINVAL or
 * -ENOMEM stored in *err when err is not NULL (0 on success).
 */
struct rtpopus_enc *rtpopus_enc_ctor(int srate, int channels, int application, int *err);

/* Change one RTPOPUS_* setting; 0, or -EINVAL (NULL, unknown param, bad value). */
int rtpopus_enc_set(struct rtpopus_enc *e, int param, int value);

/*
 * Encode one frame of frame_size samples per channel (an Opus frame
 * duration at the encoder's rate) from pcm (frame_size * channels samples)
 * into out (out_cap bytes). Returns the packet length in bytes (1 or 2
 * bytes are DTX / silence packets, which are sent or not as the
 * application sees fit), -EINVAL or -ENOBUFS.
 */
int rtpopus_encode(struct rtpopus_enc *e, const int16_t *pcm, int frame_size,
    unsigned char *out, size_t out_cap);

/* Destroy an encoder; NULL is fine. */
void rtpopus_enc_dtor(struct rtpopus_enc *e);

/*
 * New decoder producing srate (8000, 12000, 16000, 24000 or 48000) audio
 * with 1 or 2 channels. NULL on error, with the error in *err (see above).
 */
struct rtpopus_dec *rtpopus_dec_ctor(int srate, int channels, int *err);

/*
 * Decode one packet (data, len bytes) into pcm, which has room for
 * frame_cap samples per channel (120 ms always suffices: srate * 3 / 25).
 * Returns the samples per channel written, -ENOBUFS when the packet holds
 * more than frame_cap, -EBADMSG for a corrupted packet, -EINVAL (NULL d or
 * pcm, frame_cap <= 0).
 *  - data NULL or len 0: the packet was lost; libopus conceals exactly
 *    frame_cap samples, which must then be a multiple of 2.5 ms (else
 *    -EINVAL). For jitter-buffer erasures use rtpopus_conceal() instead.
 *  - fec != 0: data is the packet that *follows* a lost one; its in-band
 *    FEC data (or, without any, concealment) rebuilds the lost packet:
 *    frame_cap must be exactly the lost duration, a multiple of 2.5 ms.
 *    Then decode the same packet again with fec == 0.
 */
int rtpopus_decode(struct rtpopus_dec *d, const unsigned char *data, size_t len,
    int16_t *pcm, int frame_cap, int fec);

/*
 * Concealment for a jitter-buffer erasure frame (a `ready` frame of type
 * RFT_ERS from rtpjbuf_udp_in/rtpjbuf_flush): ers->ts_diff is the span
 * lost, in ticks of the 48 kHz Opus RTP clock. Writes exactly
 * ts_diff * srate / 48000 samples per channel of libopus packet loss
 * concealment to pcm (room for frame_cap samples per channel), continuing
 * the decoder's audio, and returns that count (0 for ts_diff 0).
 * Long gaps are concealed in pieces of at most 120 ms (libopus fades to
 * silence); a span that is not a multiple of 2.5 ms ends with the start of
 * a 2.5 ms piece. Errors: -ENOBUFS when frame_cap is too small (nothing
 * written), -EINVAL for NULL d, ers or pcm or frame_cap < 0.
 */
int rtpopus_conceal(struct rtpopus_dec *d, const struct ers_frame *ers,
    int16_t *pcm, int frame_cap);

/* Destroy a decoder; NULL is fine. */
void rtpopus_dec_dtor(struct rtpopus_dec *d);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPOPUS_H */
