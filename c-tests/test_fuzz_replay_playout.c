/* Replays fuzz/corpus/playout/ through fuzz/targets/fuzz_playout.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_playout.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("playout");
}
