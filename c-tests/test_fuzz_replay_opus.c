/* Replays fuzz/corpus/opus/ through fuzz/targets/fuzz_opus.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_opus.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("opus");
}
