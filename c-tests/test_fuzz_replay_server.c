/* Replays fuzz/corpus/server/ through fuzz/targets/fuzz_server.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_server.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("server");
}
