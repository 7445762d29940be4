/* Replays fuzz/corpus/video_h264/ through fuzz/targets/fuzz_video_h264.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_video_h264.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("video_h264");
}
