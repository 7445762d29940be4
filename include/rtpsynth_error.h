/*
 * rtpsynth_error.h - describing the library's error values.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 */
#ifndef RTPSYNTH_ERROR_H
#define RTPSYNTH_ERROR_H
#pragma once

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What the errno-style APIs (rtpserver.h, rtpproc.h, rtputils.h, rtpopus.h
 * and the round-2 headers) return, or store in *err, when the library
 * caught a panic at its boundary: an internal bug, never bad input or a
 * lack of memory. The call had no effect that can be relied on; the handle
 * may still be closed. The drop-in functions keep the original's values.
 *
 * Environment: with RTPSYNTH_ABORT_ON_PANIC set (to any value) such a
 * panic aborts the process instead (read when a panic is caught; for tests
 * and fuzzing, where a panic must not pass as an error value).
 */
#define RTPSYNTH_EPANIC (-ENOTRECOVERABLE)

/*
 * Static, never NULL text for any error value this library returns:
 *  - 0 (success) and 1 (RTP_PARSER_OK);
 *  - -1 .. -7: the RTP_PARSER_* codes of rtp.h (the jitter buffer reports
 *    them in rjb_udp_in_r.error; the errno-style APIs never return
 *    -EPERM .. -E2BIG, so these values are unambiguous);
 *  - RJB_ENOMEM (-1007) and RJB_EINVAL (-1008) of rtpjbuf.h;
 *  - any other negative value: -errno, as returned by rtpserver.h,
 *    rtpproc.h, rtputils.h and rtpopus.h.
 */
const char *rtpsynth_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_ERROR_H */
