/* libFuzzer target: bytes as a file-backed namespace image (exercise.h). */
#include <signal.h>

#include "exercise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_image(void) {
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/dev/shm/mmf-fuzz-image.%d", (int)getpid());
        atexit(remove_image); /* libFuzzer ends with exit() */
    }
    int bad = 0, open_rc = 0;
    const char *why = exercise_image(path, data, size, &bad, &open_rc);
    if (why) {
        fprintf(stderr, "property broken: %s (%s)\n", why, mmf_strerror(bad));
        abort();
    }
    return 0;
}
