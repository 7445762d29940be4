/* Replays a fuzz target's committed corpus (fuzz/corpus/<target>/, seeds and
 * regress-* reproducers of fixed findings) through its harness, so every
 * ctest mode (plain, valgrind, ASan+UBSan) re-checks them without clang.
 * RTPSYNTH_ABORT_ON_PANIC is set first: a panic the library's boundary
 * catches aborts the replay instead of passing as an error value.
 * Include after the harness source (which defines LLVMFuzzerTestOneInput). */
#ifndef RTPSYNTH_FUZZ_REPLAY_H
#define RTPSYNTH_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int replay_corpus(const char *target) {
    /* A panic inside the library must fail the replay, not become the
     * error value the C boundary returns (rtpsynth_error.h). */
    setenv("RTPSYNTH_ABORT_ON_PANIC", "1", 1);
    char dir[4096];
    const char *me = __FILE__; /* .../c-tests/fuzz_replay.h */
    const char *slash = strrchr(me, '/');
    int n = slash ? (int)(slash - me) : 1;
    snprintf(dir, sizeof(dir), "%.*s/../fuzz/corpus/%s", n, slash ? me : ".", target);
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        uint8_t *buf = malloc(1 << 16);
        size_t len = fread(buf, 1, 1 << 16, f);
        fclose(f);
        /* exact-size copy so memory checkers see overreads */
        uint8_t *in = malloc(len ? len : 1);
        memcpy(in, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(in, len);
        free(in);
        files++;
    }
    closedir(d);
    if (files == 0) {
        fprintf(stderr, "%s: empty corpus\n", dir);
        return 1;
    }
    printf("replay %s: %d inputs, all invariants held\n", target, files);
    return 0;
}

#endif
