/* Replays fuzz/corpus/jbuf/ through fuzz/targets/fuzz_jbuf.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_jbuf.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("jbuf");
}
