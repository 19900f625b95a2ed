#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, int err) {
    fprintf(stderr, "mmf: %s: %s\n", cmd, mmf_strerror(err));
    return err == MMF_ENOTFOUND ? EXIT_NOTFOUND : EXIT_ERROR;
}

int cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mmf: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'mmf %s --help')\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_ns_options(const char *ns_arg, mmf_options *o, char *buf, size_t n) {
    if (strchr(ns_arg, '=')) return mmf_parse_spec(ns_arg, o, buf, n);
    mmf_options d = MMF_OPTIONS_INIT;
    *o = d;
    o->name = ns_arg;
    return MMF_OK;
}

int cli_open(const char *cmd, const char *ns_arg, enum cli_access access, mmf **out) {
    char buf[4096];
    mmf_options o;
    int rc = cli_ns_options(ns_arg, &o, buf, sizeof buf);
    if (rc) return cli_fail(cmd, rc);
    o.reuse = true; /* every command but create works on what exists */
    o.exclusive = false;
    o.readonly = access == CLI_READ;
    rc = mmf_open(&o, out);
    if (rc == MMF_EPERM && access == CLI_WRITE) {
        fprintf(stderr,
                "mmf: %s: permission denied: this user may not open %s read-write "
                "(get, ls, stat, dump and watch need only read permission)\n",
                cmd, o.name);
        return EXIT_ERROR;
    }
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, const char **pos,
              int min, int max, int *npos) {
    int n = 0;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (options && !strcmp(a, "--")) {
            options = false;
            continue;
        }
        if (options && a[0] == '-' && a[1] == '-') {
            const cli_opt *o = opts;
            while (o && o->name && strcmp(o->name, a))
                o++;
            if (!o || !o->name) return cli_usage(cmd, "unknown option %s", a);
            if (o->value) {
                if (i + 1 >= argc) return cli_usage(cmd, "%s needs a value", a);
                *o->value = argv[++i];
            }
            if (o->set) *o->set = true;
            continue;
        }
        if (n == max) return cli_usage(cmd, "too many arguments");
        pos[n++] = a;
    }
    if (n < min) return cli_usage(cmd, "missing arguments");
    *npos = n;
    return 0;
}

bool cli_number(const char *s, uint64_t *out) {
    char *end;
    if (!s || *s < '0' || *s > '9') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    return false;
}

void cli_human_size(char *buf, size_t n, uint64_t bytes) {
    static const char units[] = "KMGT";
    if (bytes < 1024) {
        snprintf(buf, n, "%llu", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, v < 10 && v != (double)(uint64_t)v ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void cli_preview(FILE *out, const void *val, size_t len, size_t max) {
    const unsigned char *v = val;
    for (size_t i = 0; i < len && i < max; i++) {
        if (v[i] >= 32 && v[i] < 127 && v[i] != '\\')
            fputc(v[i], out);
        else
            fprintf(out, "\\x%02x", v[i]);
    }
    if (len > max) fputs("...", out);
}

void cli_json_string(FILE *out, const void *val, size_t len) {
    const unsigned char *v = val;
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = v[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c >= 32 && c < 127)
            fputc(c, out);
        else
            fprintf(out, "\\u%04x", c);
    }
    fputc('"', out);
}

void cli_hex(FILE *out, const void *val, size_t len) {
    const unsigned char *v = val;
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", v[i]);
}

unsigned char *cli_read_stdin(size_t *len) {
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}
