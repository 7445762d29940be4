/* Replays fuzz/corpus/tcp/ through fuzz/targets/fuzz_tcp.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_tcp.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("tcp");
}
