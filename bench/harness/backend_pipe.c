/* The IPC floor for ping-pong: a byte-stream pipe each way, blocking reads. */
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"

static int fds[2][2]; /* [side][0 read, 1 write]: side s writes fds[s][1] */

static const char *unavailable(void) {
    return NULL;
}

static int prepare(const bench_cfg *cfg) {
    (void)cfg;
    return pipe(fds[0]) || pipe(fds[1]) ? -1 : 0;
}

static void *connect_(const bench_cfg *cfg) {
    (void)cfg;
    return fds; /* inherited across fork */
}

static int send(void *c, int side, uint64_t msg) {
    (void)c;
    return write(fds[side][1], &msg, sizeof msg) == sizeof msg ? 0 : -1;
}

static int recv(void *c, int side, uint64_t *msg) {
    (void)c;
    return read(fds[!side][0], msg, sizeof *msg) == sizeof *msg ? 0 : -1;
}

static void disconnect(void *c) {
    (void)c;
}

static void cleanup(const bench_cfg *cfg) {
    (void)cfg;
    for (int s = 0; s < 2; s++)
        close(fds[s][0]), close(fds[s][1]);
}

const bench_backend backend_pipe = {.name = "pipe",
                                    .unavailable = unavailable,
                                    .prepare = prepare,
                                    .connect = connect_,
                                    .send = send,
                                    .recv = recv,
                                    .disconnect = disconnect,
                                    .cleanup = cleanup};
