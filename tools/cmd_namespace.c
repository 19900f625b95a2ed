/* Commands on whole namespaces: create, stat, dump, check, rm. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* create and rm: the options of the one argument NS, and opts. Returns 0, or
   the exit status after saying why. */
static int ns_args(const char *cmd, int argc, char **argv, const cli_opt *opts, mmf_options *o,
                   char *buf, size_t n) {
    const char *pos[1];
    int npos, rc = cli_parse(cmd, argc, argv, opts, pos, 1, 1, &npos);
    if (rc) return rc;
    rc = cli_ns_options(pos[0], o, buf, n);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static int cmd_create(int argc, char **argv) {
    const char *size_s = NULL, *path = NULL, *max_s = NULL, *mode_s = NULL, *ceiling_s = NULL;
    bool transient = false;
    const cli_opt opts[] = {{"--size", NULL, &size_s},
                            {"--path", NULL, &path},
                            {"--max-vars", NULL, &max_s},
                            {"--mode", NULL, &mode_s},
                            {"--max-size", NULL, &ceiling_s},
                            {"--transient", &transient, NULL},
                            {NULL, NULL, NULL}};
    char buf[4096];
    mmf_options o;
    int rc = ns_args("create", argc, argv, opts, &o, buf, sizeof buf);
    if (rc) return rc;
    uint64_t v;
    if (size_s && mmf_parse_size(size_s, &o.size))
        return cli_usage("create", "--size takes bytes (K/M/G)");
    if (ceiling_s && mmf_parse_size(ceiling_s, &o.max_size))
        return cli_usage("create", "--max-size takes bytes (K/M/G)");
    if (max_s) {
        if (!cli_number(max_s, &v) || v > UINT32_MAX)
            return cli_usage("create", "--max-vars takes a number");
        o.max_vars = (uint32_t)v;
    }
    if (mode_s) {
        char *end;
        unsigned long m = strtoul(mode_s, &end, 8);
        if (*end || end == mode_s || m > 07777)
            return cli_usage("create", "--mode takes octal bits");
        o.mode = (uint32_t)m;
    }
    if (path) o.path = path;
    if (transient) o.transient = true;
    o.exclusive = true;
    o.reuse = false;
    mmf *ns;
    if ((rc = mmf_open(&o, &ns))) return cli_fail("create", rc);
    mmf_stats st;
    mmf_stat(ns, &st);
    mmf_close(ns);
    char size[16], ceiling[16], where[4200];
    uint64_t most = o.max_size ? o.max_size : MMF_DEFAULT_MAX_SIZE;
    cli_human_size(size, sizeof size, st.size);
    cli_human_size(ceiling, sizeof ceiling, most > st.size ? most : st.size);
    snprintf(where, sizeof where, "%s%s", o.path ? "" : "/dev/shm/", o.path ? o.path : o.name);
    printf("created %s%s at %s: %s, room for %" PRIu64 " variables; grows up to %s\n",
           o.transient ? "transient " : "", o.name, where, size, st.max_vars, ceiling);
    /* closing it was the last use unless another process opened it meanwhile */
    if (o.transient && access(where, F_OK) != 0)
        printf("removed %s again: no other process had it open\n", o.name);
    return EXIT_OK;
}

/* The pids of the processes attached read-write now: *n of them in *pids
   (malloc'd; NULL when there are none). */
static int attached_pids(mmf *ns, int32_t **pids, size_t *n) {
    int32_t *p = NULL;
    size_t cap = 0;
    for (;;) {
        int rc = mmf_attached(ns, p, cap, n);
        if (rc) free(p);
        if (rc || *n <= cap) {
            *pids = rc ? NULL : p;
            return rc;
        }
        cap = *n + 8; /* more may attach before the next look */
        int32_t *bigger = realloc(p, cap * sizeof *p);
        if (!bigger) {
            free(p);
            return MMF_ENOMEM;
        }
        p = bigger;
    }
}

static void stat_json(const mmf_stats *st, double frag, double load, const int32_t *pids,
                      size_t npids) {
    printf("{\"size\":%" PRIu64 ",\"heap_size\":%" PRIu64 ",\"heap_used\":%" PRIu64
           ",\"heap_free\":%" PRIu64 ",\"largest_free_block\":%" PRIu64
           ",\"fragmentation\":%.4f,\"vars\":%" PRIu64 ",\"max_vars\":%" PRIu64
           ",\"load_factor\":%.4f,\"tombstones\":%" PRIu64 ",\"lock_acquisitions\":%" PRIu64
           ",\"lock_recoveries\":%" PRIu64 ",\"claim_takeovers\":%" PRIu64 ",\"grows\":%" PRIu64
           ",\"index_rebuilds\":%" PRIu64 ",\"attached\":%zu,\"attached_pids\":[",
           st->size, st->heap_size, st->heap_used, st->heap_free, st->largest_free_block, frag,
           st->vars, st->max_vars, load, st->tombstones, st->lock_acquisitions, st->lock_recoveries,
           st->claim_takeovers, st->grows, st->index_rebuilds, npids);
    for (size_t i = 0; i < npids; i++)
        printf(i ? ",%" PRId32 : "%" PRId32, pids[i]);
    puts("]}");
}

static void stat_text(const mmf_stats *st, double frag, double load, const int32_t *pids,
                      size_t npids) {
    char a[16], b[16], c[16], d[16], e[16];
    cli_human_size(a, sizeof a, st->size);
    cli_human_size(b, sizeof b, st->heap_size);
    cli_human_size(c, sizeof c, st->heap_used);
    cli_human_size(d, sizeof d, st->heap_free);
    cli_human_size(e, sizeof e, st->largest_free_block);
    printf("%-14s %s\n", "size", a);
    printf("%-14s %s: %s used, %s free, largest free block %s, %.1f%% fragmented\n", "heap", b, c,
           d, e, frag * 100);
    printf("%-14s %" PRIu64 " of %" PRIu64 " (%.1f%% full), %" PRIu64 " tombstones\n", "variables",
           st->vars, st->max_vars, load * 100, st->tombstones);
    printf("%-14s %zu %s read-write", "attached", npids, npids == 1 ? "process" : "processes");
    for (size_t i = 0; i < npids && i < 16; i++)
        printf(i ? ", %" PRId32 : " (pid %" PRId32, pids[i]);
    fputs(npids > 16 ? ", ...)\n" : npids ? ")\n" : "\n", stdout);
    printf("%-14s %" PRIu64 " acquisitions, %" PRIu64 " recoveries from a dead holder\n", "lock",
           st->lock_acquisitions, st->lock_recoveries);
    printf("%-14s %" PRIu64 " claim takeovers (slots taken from a writer that died)\n", "writers",
           st->claim_takeovers);
    printf("%-14s %" PRIu64 " grows, %" PRIu64 " index rebuilds\n", "growth", st->grows,
           st->index_rebuilds);
}

static int cmd_stat(int argc, char **argv) {
    bool json = false;
    const cli_opt opts[] = {{"--json", &json, NULL}, {NULL, NULL, NULL}};
    const char *pos[1];
    int n, rc = cli_parse("stat", argc, argv, opts, pos, 1, 1, &n);
    if (rc) return rc;
    mmf *ns;
    if ((rc = cli_open("stat", pos[0], CLI_READ, &ns))) return rc;
    mmf_stats st;
    int32_t *pids = NULL;
    size_t npids = 0;
    rc = mmf_stat(ns, &st);
    if (!rc) rc = attached_pids(ns, &pids, &npids); /* the count goes with the list */
    mmf_close(ns);
    if (rc) return cli_fail("stat", rc);
    /* fragmentation: the share of free memory not in the largest free block */
    double frag = st.heap_free ? 1.0 - (double)st.largest_free_block / (double)st.heap_free : 0;
    double load = st.max_vars ? (double)st.vars / (double)st.max_vars : 0;
    if (json)
        stat_json(&st, frag, load, pids, npids);
    else
        stat_text(&st, frag, load, pids, npids);
    free(pids);
    return fflush(stdout) ? EXIT_ERROR : EXIT_OK;
}

/* dump and check: NS, then report on stdout through the library */
static int report(const char *cmd, int argc, char **argv, enum cli_access access,
                  int (*fn)(mmf *, FILE *)) {
    const char *pos[1];
    int n, rc = cli_parse(cmd, argc, argv, NULL, pos, 1, 1, &n);
    if (rc) return rc;
    mmf *ns;
    if ((rc = cli_open(cmd, pos[0], access, &ns))) return rc;
    rc = fn(ns, stdout);
    mmf_close(ns);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static int cmd_dump(int argc, char **argv) {
    return report("dump", argc, argv, CLI_READ, mmf_dump);
}

static int cmd_check(int argc, char **argv) {
    return report("check", argc, argv, CLI_WRITE, mmf_check);
}

static int cmd_rm(int argc, char **argv) {
    char buf[4096];
    mmf_options o;
    int rc = ns_args("rm", argc, argv, NULL, &o, buf, sizeof buf);
    if (rc) return rc;
    rc = mmf_unlink(o.name, o.path);
    return rc ? cli_fail("rm", rc) : EXIT_OK;
}

const cli_command cli_ns_commands[] = {
    {"create",
     "SPEC | NAME [--size N] [--max-size N] [--path F] [--max-vars N] [--mode M] [--transient]",
     "Creates a namespace (fails if it exists). SPEC is a text spec as mmf_open_spec\n"
     "takes it (\"name=X size=2M path=F transient=1\"); the options override it. Sizes\n"
     "take K/M/G, the mode is octal (default 0600). --size and --max-vars are where it\n"
     "starts (64K by default); it grows on demand up to --max-size (default 1G).\n"
     "--transient: the namespace is removed when the last process that has it open\n"
     "read-write closes it or dies. mmf itself closes it on exit, so unless another\n"
     "process opened it read-write meanwhile it is gone again when mmf create returns\n"
     "(it then says so). Read-only openers, such as mmf get, ls, stat, dump and watch,\n"
     "do not keep it: for a transient namespace that lasts, let the program that uses\n"
     "it create it (transient=1 in its spec).",
     cmd_create},
    {"stat", "NS [--json]",
     "Sizes, heap used/free/largest free block, fragmentation (free memory outside the\n"
     "largest free block), variables and load factor, the processes attached read-write\n"
     "(with their pids; read-only readers such as mmf itself are not counted), lock\n"
     "acquisitions and recoveries, claim takeovers (slots taken from a writer that\n"
     "died), grows and index rebuilds. --json adds \"attached_pids\": [pid, ...].\n"
     "Opens the namespace read-only.",
     cmd_stat},
    {"dump", "NS",
     "The debug dump: header, heap blocks and free lists, the variable table. Opens the\n"
     "namespace read-only: a snapshot taken without the lock while writers may run.",
     cmd_dump},
    {"check", "NS",
     "Walks index and heap (mmf_check) under the namespace lock; exit status 0 if the\n"
     "namespace is whole, 3 if not. Needs read and write permission.",
     cmd_check},
    {"rm", "NS", "Removes the namespace; processes that have it open keep their view.", cmd_rm},
    {NULL, NULL, NULL, NULL}};
