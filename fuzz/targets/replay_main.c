/*
 * main() for running a fuzz target without libFuzzer: each argument is an
 * input file. Used to replay a finding against another build of the library,
 * e.g. the original C librtpsynth (compile the target with -DFUZZ_ORIGINAL:
 * it then skips the NULL-handle calls the original does not support):
 *   cc -g -DFUZZ_ORIGINAL -Iinclude -Ifuzz/targets fuzz/targets/fuzz_jbuf.c \
 *      fuzz/targets/replay_main.c /path/to/original/librtpsynth.so.1 -o replay
 *   ./replay crash-file...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        uint8_t *copy = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            copy[k] = buf[k];
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
        printf("%s: ok\n", argv[i]);
    }
    return 0;
}
