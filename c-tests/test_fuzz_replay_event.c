/* Replays fuzz/corpus/event/ through fuzz/targets/fuzz_event.c (see fuzz_replay.h). */
#include "../fuzz/targets/fuzz_event.c"
#include "fuzz_replay.h"

int main(void) {
    return replay_corpus("event");
}
