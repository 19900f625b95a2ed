/*
 * What the fuzzer and the damaged-image test do with an image: write it to a
 * file, open it as a file-backed namespace, and if that works run every
 * operation on it. The property: no crash, no hang, no sanitizer report, and
 * only the error codes a damaged image may give; a refused image is left
 * exactly as it was. Returns NULL, or what broke the property.
 */
#ifndef MMF_TESTS_EXERCISE_H
#define MMF_TESTS_EXERCISE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmf.h"

static int exercise_visit(const char *key, const void *val, size_t len, uint64_t version,
                          void *ctx) {
    (void)val, (void)version;
    *(size_t *)ctx += strlen(key) + len;
    return 0;
}

static int exercise_allowed(int rc) {
    switch (rc) {
    case MMF_OK:
    case MMF_ENOTFOUND:
    case MMF_ECORRUPT:
    case MMF_ENOSPC:
    case MMF_ETIMEDOUT:
    case MMF_ERANGE:
    case MMF_ECONFLICT:
    case MMF_EINVAL: /* add_i64 on a variable that is not 8 bytes */
        return 1;
    default:
        return 0;
    }
}

/* rc of the last call that failed the property goes to *bad_rc */
static const char *exercise_image(const char *path, const uint8_t *data, size_t size, int *bad_rc,
                                  int *open_rc) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0) close(fd);
        return "cannot write the image";
    }
    close(fd);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = "fuzz";
    o.path = path;
    o.reuse = true;
    o.timeout = 0.02; /* a lock word or claim left in the image: give up soon */
    mmf *ns;
    int rc = mmf_open(&o, &ns);
    *open_rc = rc;
    if (rc) {
        *bad_rc = rc;
        /* an image marked transient with nobody attached is stale: absent,
           and removed by the opener */
        if (rc == MMF_ENOENT) return access(path, F_OK) == 0 ? "a stale image was left" : NULL;
        if (rc != MMF_ECORRUPT && rc != MMF_EVERSION) return "open gave an unexpected error";
        fd = open(path, O_RDONLY);
        uint8_t *back = malloc(size + 1);
        ssize_t n = fd >= 0 ? read(fd, back, size + 1) : -1;
        int same = n == (ssize_t)size && memcmp(back, data, size) == 0;
        free(back);
        if (fd >= 0) close(fd);
        return same ? NULL : "a refused image was written to";
    }
    const char *why = NULL;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        if (!exercise_allowed(r_) && r_ != 1 && !why) {                                            \
            *bad_rc = r_;                                                                          \
            why = #call;                                                                           \
        }                                                                                          \
    } while (0)
    char buf[512];
    size_t len, seen = 0;
    uint64_t v;
    mmf_stats st;
    TRY(mmf_stat(ns, &st));
    TRY(mmf_check(ns, NULL));
    TRY(mmf_get(ns, "k", buf, sizeof buf, &len));
    TRY(mmf_get_v(ns, "inline", buf, sizeof buf, &len, &v));
    TRY(mmf_get(ns, "block", buf, sizeof buf, &len));
    TRY(mmf_exists(ns, "a-key-of-a-long-name-that-lives-in-its-own-block-because-it-is-long"));
    TRY(mmf_foreach(ns, exercise_visit, &seen));
    TRY(mmf_set(ns, "inline", "in place", 8));
    TRY(mmf_set(ns, "block", buf, 300));
    TRY(mmf_set(ns, "fuzz.new", "created", 7));
    TRY(mmf_add_i64(ns, "counter", 1, NULL));
    TRY(mmf_cas(ns, "inline", 2, "cas", 3));
    TRY(mmf_delete(ns, "k"));
    TRY(mmf_delete(ns, "fuzz.new"));
    TRY(mmf_wait(ns, "inline", 1, 0.001));
    /* handles: opened on a damaged image, used across a delete */
    mmf_var *hv = NULL, *hb = NULL;
    TRY(mmf_var_open(ns, "inline", &hv));
    TRY(mmf_var_open(ns, "block", &hb));
    if (hv && hb) {
        TRY(mmf_var_get(hv, buf, sizeof buf, &len, &v));
        TRY(mmf_var_get(hb, buf, sizeof buf, &len, NULL));
        TRY(mmf_var_set(hv, "handle", 6));
        TRY(mmf_var_cas(hb, 3, buf, 100));
        TRY(mmf_var_add_i64(hv, 1, NULL));
        TRY(mmf_delete(ns, "inline"));
        TRY(mmf_var_get(hv, buf, sizeof buf, &len, &v));
        TRY(mmf_var_set(hv, "back", 4));
        TRY(mmf_var_wait(hb, 1, 0.001));
    }
    mmf_var_close(hv);
    mmf_var_close(hb);
    FILE *null = fopen("/dev/null", "w");
    TRY(mmf_dump(ns, null));
    fclose(null);
    TRY(mmf_check(ns, NULL));
#undef TRY
    mmf_close(ns);
    return why;
}

#endif
