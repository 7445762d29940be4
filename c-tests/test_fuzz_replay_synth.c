/* Replays fuzz/corpus/synth/ through fuzz/targets/fuzz_synth.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_synth.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("synth");
}
