/* libFuzzer target: the VP9 depacketizer and frame assembler (fuzz_video.h). */
#include "fuzz_video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_video(RTPVID_VP9, data, size);
}
