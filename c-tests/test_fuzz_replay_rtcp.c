/* Replays fuzz/corpus/rtcp/ through fuzz/targets/fuzz_rtcp.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_rtcp.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("rtcp");
}
