/* A C program on the public API, for the Python tests' interop checks:
     c_peer get NS KEY           prints "TAG HEX" (the value's tag and bytes)
     c_peer set NS KEY TAG HEX   writes the bytes with that tag
   Exit status: 0, 1 when the variable is missing, 2 for anything else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmf.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "c_peer: %s: %s\n", what, mmf_strerror(rc));
    return rc == MMF_ENOTFOUND ? 1 : 2;
}

static int get(mmf *ns, const char *key) {
    unsigned char buf[65536];
    size_t len;
    uint64_t ver;
    uint8_t tag;
    int rc = mmf_get_tagged(ns, key, buf, sizeof buf, &len, &ver, &tag);
    if (rc) return fail("get", rc);
    printf("%u ", tag);
    for (size_t i = 0; i < len; i++)
        printf("%02x", buf[i]);
    putchar('\n');
    return 0;
}

static int set(mmf *ns, const char *key, const char *tag, const char *hex) {
    size_t n = strlen(hex) / 2;
    unsigned char *buf = malloc(n + 1);
    if (!buf) return 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 2;
        buf[i] = (unsigned char)v;
    }
    int rc = mmf_set_tagged(ns, key, buf, n, (uint8_t)atoi(tag));
    free(buf);
    return rc ? fail("set", rc) : 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = argv[2];
    o.reuse = true;
    mmf *ns;
    int rc = mmf_open(&o, &ns);
    if (rc) return fail("open", rc);
    if (!strcmp(argv[1], "get") && argc == 4)
        rc = get(ns, argv[3]);
    else if (!strcmp(argv[1], "set") && argc == 6)
        rc = set(ns, argv[3], argv[4], argv[5]);
    else
        rc = 2;
    mmf_close(ns);
    return rc;
}
