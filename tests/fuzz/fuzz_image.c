/* libFuzzer target: bytes as a file-backed namespace image (exercise.h). */
#include <signal.h>

#include "exercise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/dev/shm/mmf-fuzz-image.%d", (int)getpid());
    int bad = 0, open_rc = 0;
    const char *why = exercise_image(path, data, size, &bad, &open_rc);
    if (why) {
        fprintf(stderr, "property broken: %s (%s)\n", why, mmf_strerror(bad));
        abort();
    }
    return 0;
}
