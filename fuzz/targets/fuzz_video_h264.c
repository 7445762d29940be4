/* libFuzzer target: the H264 depacketizer and frame assembler (fuzz_video.h). */
#include "fuzz_video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_video(RTPVID_H264, data, size);
}
