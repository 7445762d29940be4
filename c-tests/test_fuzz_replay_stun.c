/* Replays fuzz/corpus/stun/ through fuzz/targets/fuzz_stun.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_stun.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("stun");
}
