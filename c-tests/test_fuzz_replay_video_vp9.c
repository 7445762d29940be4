/* Replays fuzz/corpus/video_vp9/ through fuzz/targets/fuzz_video_vp9.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_video_vp9.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("video_vp9");
}
