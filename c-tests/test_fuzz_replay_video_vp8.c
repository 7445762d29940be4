/* Replays fuzz/corpus/video_vp8/ through fuzz/targets/fuzz_video_vp8.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_video_vp8.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("video_vp8");
}
