/* Replays fuzz/corpus/parse/ through fuzz/targets/fuzz_parse.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_parse.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("parse");
}
