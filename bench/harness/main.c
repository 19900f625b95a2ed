/*
 * mmf-bench: multi-process throughput and latency of mmf and its peers, on
 * the same workloads, in the same run. See bench/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

static const workload workloads[] = {
    {"read-only x1", "1 process reads random keys", W_READ_ONLY, 1},
    {"read-only x2", "2 processes read random keys", W_READ_ONLY, 2},
    {"read-only x3", "3 processes read random keys", W_READ_ONLY, 3},
    {"read-only x4", "4 processes read random keys", W_READ_ONLY, 4},
    {"95% reads", "2 processes, 95% gets and 5% sets of random keys", W_READ95, 2},
    {"50% reads", "2 processes, half gets, half sets", W_READ50, 2},
    {"hot key", "1 process rewrites one key, 2 read it (a quote)", W_HOT_KEY, 3},
    {"hot writer, other keys", "1 process rewrites one key, 1 reads other keys", W_HOT_OTHERS, 2},
    {"counters", "2 processes increment 4 shared counters", W_COUNTERS, 2},
    {"ping-pong", "2 processes bounce a message; latency is the round trip", W_PINGPONG, 2},
    {"publish", "1 process publishes 1000/s, 2 sleep until woken; latency to wake-up", W_PUBLISH,
     3},
    {"publish x1", "1 process publishes 1000/s, 1 waits on another core; latency to wake-up",
     W_PUBLISH, 2},
};
#define NWORKLOADS (sizeof workloads / sizeof *workloads)

static const bench_backend *const backends[] = {&backend_mmf,  &backend_mmf_var, &backend_mmf_spin,
                                                &backend_lmdb, &backend_redis,   &backend_pipe,
                                                &backend_word};

/* Whether name is one of the comma-separated names in list. */
static int listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static void usage(FILE *out) {
    fputs("usage: mmf-bench [--quick] [--seconds S] [--keys N] [--value BYTES] [--rate OPS]\n"
          "                 [--churn PAIRS] [--fill N]\n"
          "                 [--systems mmf,mmf-var,mmf-spin,lmdb,redis,pipe,word] [--out DIR]\n"
          "Runs every workload against every system, prints a Markdown table and the\n"
          "targets, and writes DIR/results.json, DIR/results.md, DIR/latency.png and\n"
          "DIR/scaling.png (DIR defaults to ./mmf-bench-results).\n"
          "--quick: 20,000 keys and 0.4 s per run (about half a minute in all);\n"
          "default: 100,000 keys, 2 s per run. --rate paces each process to OPS\n"
          "operations per second and measures from when each was due.\n"
          "Churn: a store made for N keys keeps 0.92 N while PAIRS times one is\n"
          "deleted and one inserted (default 20 N, 2,000,000 at the default N; --quick\n"
          "100,000). Growth: an empty store filled with --fill N keys (default N).\n"
          "0 leaves either out.\n",
          out);
}

int main(int argc, char **argv) {
    double seconds = 2, rate = 0;
    unsigned keys = 100000, value = 64;
    long long churn = -1, fill = -1; /* -1: from keys */
    int quick = 0;
    const char *only = "mmf,mmf-var,mmf-spin,lmdb,redis,pipe,word", *out_dir = "mmf-bench-results";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick"))
            seconds = 0.4, keys = 20000, quick = 1;
        else if (!strcmp(a, "--seconds") && v)
            seconds = atof(v), i++;
        else if (!strcmp(a, "--keys") && v)
            keys = (unsigned)atol(v), i++;
        else if (!strcmp(a, "--value") && v)
            value = (unsigned)atol(v), i++;
        else if (!strcmp(a, "--rate") && v)
            rate = atof(v), i++;
        else if (!strcmp(a, "--churn") && v)
            churn = atoll(v), i++;
        else if (!strcmp(a, "--fill") && v)
            fill = atoll(v), i++;
        else if (!strcmp(a, "--systems") && v)
            only = v, i++;
        else if (!strcmp(a, "--out") && v)
            out_dir = v, i++;
        else if (!strcmp(a, "--help"))
            return usage(stdout), 0;
        else
            return usage(stderr), 2;
    }
    if (churn < 0) churn = quick ? 100000 : 20ll * keys;
    if (fill < 0) fill = keys;
    if (seconds <= 0 || keys == 0 || value < 8 || rate < 0 || fill > 1000000000 ||
        churn > 2000000000)
        return usage(stderr), 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir(out_dir, 0755);
    char scratch[] = "/tmp/mmf-bench.XXXXXX", name[64];
    if (!mkdtemp(scratch)) return perror("mkdtemp"), 1;
    snprintf(name, sizeof name, "mmf-bench.%d", (int)getpid());
    bench_cfg cfg = {keys, value, scratch, name};
    bench_run run = {
        .cfg = &cfg, .seconds = seconds, .rate = rate, .clock_ns = (double)measure_clock_cost()};
    const size_t nb = sizeof backends / sizeof *backends;
    run.results = calloc(NWORKLOADS * nb, sizeof *run.results);
    run.churn_pairs = (uint64_t)churn;
    run.fill = (unsigned)fill;
    run.churn = calloc(nb, sizeof *run.churn);
    run.growth = calloc(2 * nb, sizeof *run.growth);
    if (!run.results || !run.churn || !run.growth) return perror("mmf-bench"), 1;
    printf("mmf-bench: %u keys of 16 bytes, %u-byte values, %.1f s per run, %ld cores\n", keys,
           value, seconds, sysconf(_SC_NPROCESSORS_ONLN));
    if (churn || fill)
        printf("  then churn (%lld delete+insert pairs at 0.92 of %u keys) and growth (fill to "
               "%lld)\n",
               churn, keys, fill);
    for (size_t s = 0; s < sizeof backends / sizeof *backends; s++) {
        const bench_backend *b = backends[s];
        if (!listed(only, b->name)) continue;
        const char *why = b->unavailable();
        if (why) {
            static char line[8][200];
            snprintf(line[run.nskipped], sizeof line[0], "%s: %s", b->name, why);
            run.skipped[run.nskipped] = line[run.nskipped];
            run.nskipped++;
            printf("  %-8s skipped: %s\n", b->name, why);
            continue;
        }
        uint64_t t0 = now_ns();
        if (b->prepare(&cfg)) {
            printf("  %-8s could not be prepared\n", b->name);
            b->cleanup(&cfg);
            continue;
        }
        printf("  %-8s loaded in %.2f s:", b->name, (double)(now_ns() - t0) / 1e9);
        for (size_t w = 0; w < NWORKLOADS; w++) {
            run_result *r = &run.results[run.n];
            run_workload(b, &cfg, &workloads[w], seconds, rate, r);
            if (r->skipped) continue;
            run.n++;
            printf(" .");
        }
        /* the structural workloads, on stores of their own */
        if (churn && b->open_empty && b->del) {
            run_churn(b, &cfg, run.churn_pairs, &run.churn[run.nchurn]);
            printf(" churn%s", run.churn[run.nchurn].skipped ? " (failed)" : "");
            run.nchurn++;
        }
        for (int presized = 0; fill && b->open_empty && presized <= (b->stats != NULL);
             presized++) {
            run_growth(b, &cfg, run.fill, presized ? run.fill : 0, &run.growth[run.ngrowth]);
            printf(" growth%s", run.growth[run.ngrowth].skipped ? " (failed)" : "");
            run.ngrowth++;
        }
        putchar('\n');
        b->cleanup(&cfg);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd)) fprintf(stderr, "mmf-bench: could not remove %s\n", scratch);

    putchar('\n');
    report_table(stdout, &run);
    putchar('\n');
    report_structural(stdout, &run);
    report_targets(stdout, &run);
    char path[1024];
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    FILE *f = fopen(path, "w");
    if (f) report_json(f, &run), fclose(f);
    snprintf(path, sizeof path, "%s/results.md", out_dir);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "# mmf-bench results\n\n");
        for (size_t w = 0; w < NWORKLOADS; w++)
            fprintf(f, "- **%s**: %s\n", workloads[w].name, workloads[w].what);
        fputc('\n', f);
        report_table(f, &run);
        fputc('\n', f);
        report_structural(f, &run);
        report_targets(f, &run);
        fclose(f);
    }
    int plots = report_plots(out_dir, &run);
    printf("\nwrote %s/results.json, %s/results.md%s\n", out_dir, out_dir,
           plots ? "" : ", latency.png, scaling.png");
    return 0;
}
