/* Commands on variables: get, set, del, add, ls, watch. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* The value of key in a buffer of its size (malloc'd), or an error. */
static int get_whole(mmf *ns, const char *key, unsigned char **val, size_t *len, uint64_t *ver) {
    size_t cap = 256;
    for (;;) {
        unsigned char *buf = malloc(cap ? cap : 1);
        if (!buf) return MMF_ENOSPC;
        int rc = mmf_get_v(ns, key, buf, cap, len, ver);
        if (rc == MMF_OK) {
            *val = buf;
            return MMF_OK;
        }
        free(buf);
        if (rc != MMF_ERANGE) return rc;
        cap = *len; /* it may grow again before the next try */
    }
}

static int cmd_get(int argc, char **argv) {
    bool hex = false, json = false, version = false;
    const cli_opt opts[] = {{"--hex", &hex, NULL},
                            {"--json", &json, NULL},
                            {"--version", &version, NULL},
                            {NULL, NULL, NULL}};
    const char *pos[2];
    int n, rc = cli_parse("get", argc, argv, opts, pos, 2, 2, &n);
    if (rc) return rc;
    if (hex && json) return cli_usage("get", "--hex and --json do not go together");
    mmf *ns;
    if ((rc = cli_open("get", pos[0], CLI_READ, &ns))) return rc;
    unsigned char *val = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    rc = get_whole(ns, pos[1], &val, &len, &ver);
    mmf_close(ns);
    if (rc) return cli_fail("get", rc);
    if (json) {
        fputs("{\"key\":", stdout);
        cli_json_string(stdout, pos[1], strlen(pos[1]));
        printf(",\"length\":%zu,\"version\":%" PRIu64 ",\"value\":", len, ver);
        cli_json_string(stdout, val, len);
        fputs(",\"hex\":\"", stdout);
        cli_hex(stdout, val, len);
        fputs("\"}\n", stdout);
    } else if (version) {
        printf("%" PRIu64 "\n", ver);
        if (hex) {
            cli_hex(stdout, val, len);
            putchar('\n');
        }
    } else if (hex) {
        cli_hex(stdout, val, len);
        putchar('\n');
    } else {
        fwrite(val, 1, len, stdout);
    }
    free(val);
    return fflush(stdout) ? EXIT_ERROR : EXIT_OK;
}

static int cmd_set(int argc, char **argv) {
    const char *if_version = NULL;
    const cli_opt opts[] = {{"--if-version", NULL, &if_version}, {NULL, NULL, NULL}};
    const char *pos[3];
    int n, rc = cli_parse("set", argc, argv, opts, pos, 2, 3, &n);
    if (rc) return rc;
    uint64_t expected = 0;
    if (if_version && !cli_number(if_version, &expected))
        return cli_usage("set", "--if-version takes a version number");
    const unsigned char *val = (const unsigned char *)pos[2];
    unsigned char *input = NULL;
    size_t len = n == 3 ? strlen(pos[2]) : 0;
    if (n == 2) { /* binary-safe, from stdin */
        val = input = cli_read_stdin(&len);
        if (!input) return cli_fail("set", MMF_ENOSPC);
    }
    mmf *ns;
    if ((rc = cli_open("set", pos[0], CLI_WRITE, &ns))) {
        free(input);
        return rc;
    }
    rc = if_version ? mmf_cas(ns, pos[1], expected, val, len) : mmf_set(ns, pos[1], val, len);
    mmf_close(ns);
    free(input);
    return rc ? cli_fail("set", rc) : EXIT_OK;
}

static int cmd_del(int argc, char **argv) {
    const char *pos[2];
    int n, rc = cli_parse("del", argc, argv, NULL, pos, 2, 2, &n);
    if (rc) return rc;
    mmf *ns;
    if ((rc = cli_open("del", pos[0], CLI_WRITE, &ns))) return rc;
    rc = mmf_delete(ns, pos[1]);
    mmf_close(ns);
    return rc ? cli_fail("del", rc) : EXIT_OK;
}

static int cmd_add(int argc, char **argv) {
    const char *pos[3];
    int n, rc = cli_parse("add", argc, argv, NULL, pos, 3, 3, &n);
    if (rc) return rc;
    char *end;
    errno = 0;
    long long delta = strtoll(pos[2], &end, 10);
    if (errno || end == pos[2] || *end) return cli_usage("add", "DELTA must be a whole number");
    mmf *ns;
    if ((rc = cli_open("add", pos[0], CLI_WRITE, &ns))) return rc;
    int64_t result;
    rc = mmf_add_i64(ns, pos[1], (int64_t)delta, &result);
    mmf_close(ns);
    if (rc) return cli_fail("add", rc);
    printf("%" PRId64 "\n", result);
    return EXIT_OK;
}

/* ls: collect, then print aligned (a table needs the widest key first) */
struct row {
    char *key;
    size_t len;
    uint64_t version;
    unsigned char head[48];
};
struct rows {
    struct row *r;
    size_t n, cap;
};

static int collect(const char *key, const void *val, size_t len, uint64_t version, void *ctx) {
    struct rows *rs = ctx;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        struct row *bigger = realloc(rs->r, cap * sizeof *bigger);
        if (!bigger) return MMF_ENOSPC;
        rs->r = bigger;
        rs->cap = cap;
    }
    struct row *r = &rs->r[rs->n];
    r->key = strdup(key);
    if (!r->key) return MMF_ENOSPC;
    r->len = len;
    r->version = version;
    memcpy(r->head, val, len < sizeof r->head ? len : sizeof r->head);
    rs->n++;
    return 0;
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

static int cmd_ls(int argc, char **argv) {
    bool json = false;
    const cli_opt opts[] = {{"--json", &json, NULL}, {NULL, NULL, NULL}};
    const char *pos[1];
    int n, rc = cli_parse("ls", argc, argv, opts, pos, 1, 1, &n);
    if (rc) return rc;
    mmf *ns;
    if ((rc = cli_open("ls", pos[0], CLI_READ, &ns))) return rc;
    struct rows rs = {0};
    rc = mmf_foreach(ns, collect, &rs);
    mmf_close(ns);
    if (rc) return cli_fail("ls", rc);
    qsort(rs.r, rs.n, sizeof *rs.r, by_key);
    int w = 4;
    for (size_t i = 0; i < rs.n; i++)
        if ((int)strlen(rs.r[i].key) > w) w = (int)strlen(rs.r[i].key);
    if (json) {
        fputs("[", stdout);
    } else {
        printf("%-*s  %10s  %10s  %s\n", w, "NAME", "LENGTH", "VERSION", "VALUE");
    }
    for (size_t i = 0; i < rs.n; i++) {
        struct row *r = &rs.r[i];
        size_t shown = r->len < sizeof r->head ? r->len : sizeof r->head;
        if (json) {
            fputs(i ? ",\n {\"key\":" : "\n {\"key\":", stdout);
            cli_json_string(stdout, r->key, strlen(r->key));
            printf(",\"length\":%zu,\"version\":%" PRIu64 ",\"preview\":", r->len, r->version);
            cli_json_string(stdout, r->head, shown);
            fputs("}", stdout);
        } else {
            printf("%-*s  %10zu  %10" PRIu64 "  ", w, r->key, r->len, r->version);
            cli_preview(stdout, r->head, r->len, 32);
            putchar('\n');
        }
        free(r->key);
    }
    if (json) puts(rs.n ? "\n]" : "]");
    free(rs.r);
    return EXIT_OK;
}

/* watch: one thread per key, each asleep in mmf_wait */
struct watch {
    mmf *ns;
    const char *key;
    bool json;
    double deadline; /* CLOCK_MONOTONIC seconds, 0 = none */
    pthread_mutex_t *out;
    long *remaining; /* events left to print, shared; < 0 = no limit */
    int rc;
};

static int report_change(struct watch *w, uint64_t *seen) {
    unsigned char *val = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    int rc = get_whole(w->ns, w->key, &val, &len, &ver);
    if (rc && rc != MMF_ENOTFOUND) return rc;
    *seen = ver;
    pthread_mutex_lock(w->out);
    if (*w->remaining != 0) {
        if (w->json) {
            fputs("{\"key\":", stdout);
            cli_json_string(stdout, w->key, strlen(w->key));
            printf(",\"version\":%" PRIu64 ",\"deleted\":%s,\"value\":", ver,
                   rc ? "true" : "false");
            cli_json_string(stdout, val, len);
            fputs("}\n", stdout);
        } else {
            printf("%s\t%" PRIu64 "\t", w->key, ver);
            if (rc)
                fputs("(deleted)", stdout);
            else
                cli_preview(stdout, val, len, 64);
            putchar('\n');
        }
        fflush(stdout);
        if (*w->remaining > 0) --*w->remaining;
    }
    pthread_mutex_unlock(w->out);
    free(val);
    return MMF_OK;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *watch_key(void *arg) {
    struct watch *w = arg;
    uint64_t seen = 0;
    size_t len;
    int rc = mmf_get_v(w->ns, w->key, NULL, 0, &len, &seen);
    if (rc && rc != MMF_ERANGE && rc != MMF_ENOTFOUND) {
        w->rc = rc;
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(w->out);
        long left = *w->remaining;
        pthread_mutex_unlock(w->out);
        if (left == 0) return NULL;
        /* wake now and then to notice that other keys used up --count */
        rc = mmf_wait(w->ns, w->key, seen, 0.2);
        if (rc == MMF_ETIMEDOUT) {
            if (w->deadline > 0 && now_s() >= w->deadline) return NULL;
            continue;
        }
        if (rc || (rc = report_change(w, &seen))) {
            w->rc = rc;
            return NULL;
        }
    }
}

static int cmd_watch(int argc, char **argv) {
    bool json = false;
    const char *count_s = NULL, *timeout_s = NULL;
    const cli_opt opts[] = {{"--json", &json, NULL},
                            {"--count", NULL, &count_s},
                            {"--timeout", NULL, &timeout_s},
                            {NULL, NULL, NULL}};
    const char *pos[65];
    int n, rc = cli_parse("watch", argc, argv, opts, pos, 2, 65, &n);
    if (rc) return rc;
    uint64_t count = 0;
    if (count_s && (!cli_number(count_s, &count) || count == 0))
        return cli_usage("watch", "--count takes a number above 0");
    double timeout = 0;
    if (timeout_s) {
        char *end;
        timeout = strtod(timeout_s, &end);
        if (*end || !(timeout > 0)) return cli_usage("watch", "--timeout takes seconds above 0");
    }
    mmf *ns;
    if ((rc = cli_open("watch", pos[0], CLI_READ, &ns))) return rc;
    pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;
    long remaining = count_s ? (long)count : -1;
    struct watch w[64];
    pthread_t th[64];
    for (int i = 1; i < n; i++) {
        w[i - 1] = (struct watch){ns,   pos[i],     json, timeout > 0 ? now_s() + timeout : 0,
                                  &out, &remaining, 0};
        pthread_create(&th[i - 1], NULL, watch_key, &w[i - 1]);
    }
    for (int i = 1; i < n; i++) {
        pthread_join(th[i - 1], NULL);
        if (w[i - 1].rc && !rc) rc = w[i - 1].rc;
    }
    mmf_close(ns);
    if (rc) return cli_fail("watch", rc);
    return remaining > 0 ? EXIT_NOTFOUND : EXIT_OK; /* --timeout before --count changes */
}

const cli_command cli_var_commands[] = {
    {"get", "NS KEY [--hex|--json] [--version]",
     "Writes the value of KEY to stdout as it is (binary safe). --hex writes it in hex,\n"
     "--json as {\"key\",\"length\",\"version\",\"value\",\"hex\"}, --version writes its version\n"
     "(with --hex, then the value in hex).",
     cmd_get},
    {"set", "NS KEY [VALUE] [--if-version V]",
     "Sets KEY to VALUE, or to all of stdin when VALUE is not given (binary safe).\n"
     "--if-version V sets it only if its version is still V (0: only if missing),\n"
     "else fails with 'version did not match'.",
     cmd_set},
    {"del", "NS KEY", "Deletes KEY.", cmd_del},
    {"add", "NS KEY DELTA",
     "Adds DELTA to the 64-bit counter KEY atomically (a missing one counts as 0) and\n"
     "prints the new value.",
     cmd_add},
    {"ls", "NS [--json]",
     "Lists the variables: name, length, version and the start of the value, sorted by\n"
     "name; --json as an array of {\"key\",\"length\",\"version\",\"preview\"}.",
     cmd_ls},
    {"watch", "NS KEY... [--count N] [--timeout S] [--json]",
     "Waits until one of the KEYs changes (mmf_wait) and prints its new version and\n"
     "value, one line each (tab-separated, or JSON lines), until interrupted, N changes\n"
     "were printed, or S seconds passed without the N (exit status 1). It attaches\n"
     "read-only, so writers do not wake it: it looks every few milliseconds.",
     cmd_watch},
    {NULL, NULL, NULL, NULL}};
