#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"

static const char *systems[] = {"mmf", "mmf-var", "mmf-spin", "lmdb", "redis", "pipe", "word"};
#define NSYSTEMS 7

const run_result *report_find(const bench_run *r, const char *system, const char *workload) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->results[i].system, system) && !strcmp(r->results[i].workload, workload) &&
            !r->results[i].skipped)
            return &r->results[i];
    return NULL;
}

static void fmt_ns(char *buf, size_t n, uint64_t ns) {
    if (ns < 10000)
        snprintf(buf, n, "%llu ns", (unsigned long long)ns);
    else if (ns < 10000000)
        snprintf(buf, n, "%.1f us", (double)ns / 1e3);
    else
        snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
}

static void fmt_rate(char *buf, size_t n, double r) {
    if (r >= 1e6)
        snprintf(buf, n, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        snprintf(buf, n, "%.1fk", r / 1e3);
    else
        snprintf(buf, n, "%.0f", r);
}

static int is_latency_workload(workload_kind k) {
    return k == W_PINGPONG || k == W_PUBLISH;
}

void report_table(FILE *out, const bench_run *r) {
    fprintf(out,
            "| workload | system | procs | ops/s | p50 | p90 | p99 | p99.9 | max | vs mmf |\n");
    fprintf(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    const char *last = "";
    for (int i = 0; i < r->n; i++) {
        const run_result *x = &r->results[i];
        if (x->skipped) continue;
        const run_result *m = report_find(r, "mmf", x->workload);
        char ops[32], a[24], b[24], c[24], d[24], e[24], vs[64] = "";
        fmt_rate(ops, sizeof ops, x->ops_per_s);
        fmt_ns(a, sizeof a, x->p50);
        fmt_ns(b, sizeof b, x->p90);
        fmt_ns(c, sizeof c, x->p99);
        fmt_ns(d, sizeof d, x->p999);
        fmt_ns(e, sizeof e, x->max);
        if (m && m != x) {
            if (is_latency_workload(x->kind))
                snprintf(vs, sizeof vs, "p50 %.1fx mmf's", (double)x->p50 / (double)m->p50);
            else
                snprintf(vs, sizeof vs, "%.3gx the ops/s, p50 %.1fx", x->ops_per_s / m->ops_per_s,
                         (double)x->p50 / (double)m->p50);
        }
        fprintf(out, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |%s\n",
                strcmp(last, x->workload) ? x->workload : "", x->system, x->procs,
                is_latency_workload(x->kind) ? "-" : ops, a, b, c, d, e, vs,
                x->errors ? " errors!" : "");
        last = x->workload;
    }
    for (int i = 0; i < r->nskipped; i++)
        fprintf(out, "\nnot run: %s\n", r->skipped[i]);
}

static double mean_ns(const hist *h) {
    return h->count ? (double)h->sum / (double)h->count : 0;
}

static const churn_result *find_churn(const bench_run *r, const char *system) {
    for (int i = 0; i < r->nchurn; i++)
        if (!strcmp(r->churn[i].system, system) && !r->churn[i].skipped) return &r->churn[i];
    return NULL;
}

static const growth_result *find_growth(const bench_run *r, const char *system, int presized) {
    for (int i = 0; i < r->ngrowth; i++)
        if (!strcmp(r->growth[i].system, system) && !r->growth[i].skipped &&
            (r->growth[i].presize != 0) == presized)
            return &r->growth[i];
    return NULL;
}

static void fmt_bytes(char *buf, size_t n, uint64_t b) {
    if (b >= 10ull << 30)
        snprintf(buf, n, "%.1f GiB", (double)b / (double)(1ull << 30));
    else if (b >= 10u << 20)
        snprintf(buf, n, "%.1f MiB", (double)b / (double)(1u << 20));
    else
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
}

static void hist_row(FILE *out, const char *system, const char *op, const hist *h,
                     const hist *lmdb) {
    char a[24], b[24], c[24], d[24], e[24], f[24], vs[48] = "";
    fmt_ns(a, sizeof a, hist_percentile(h, 0.50));
    fmt_ns(b, sizeof b, hist_percentile(h, 0.90));
    fmt_ns(c, sizeof c, hist_percentile(h, 0.99));
    fmt_ns(d, sizeof d, hist_percentile(h, 0.999));
    fmt_ns(e, sizeof e, h->max);
    fmt_ns(f, sizeof f, (uint64_t)(mean_ns(h) + 0.5));
    if (lmdb && lmdb != h && hist_percentile(h, 0.5))
        snprintf(vs, sizeof vs, "%.1fx",
                 (double)hist_percentile(lmdb, 0.5) / (double)hist_percentile(h, 0.5));
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", system, op, a, b, c, d, e, f,
            vs);
}

void report_structural(FILE *out, const bench_run *r) {
    const churn_result *lc = find_churn(r, "lmdb");
    if (r->nchurn) {
        unsigned cap = r->churn[0].capacity, live = r->churn[0].live;
        fprintf(out,
                "Churn: a store made for %u keys (mmf: max_vars %u) holds %u while %llu times "
                "the oldest is deleted and a new key inserted, each pair followed by a get of a "
                "present key and one of a key never inserted; every operation timed.\n\n",
                cap, cap, live, (unsigned long long)r->churn_pairs);
        fprintf(out, "| system | during the churn | p50 | p90 | p99 | p99.9 | max | mean | "
                     "LMDB p50 / this |\n");
        fprintf(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < r->nchurn; i++) {
            const churn_result *x = &r->churn[i];
            if (x->skipped) {
                fprintf(out, "| %s | not run: %s | | | | | | | |\n", x->system, x->why);
                continue;
            }
            hist_row(out, x->system, "get, present key", &x->hit, lc ? &lc->hit : NULL);
            hist_row(out, "", "get, absent key", &x->miss, lc ? &lc->miss : NULL);
            hist_row(out, "", "insert", &x->insert, lc ? &lc->insert : NULL);
            hist_row(out, "", "delete", &x->del, lc ? &lc->del : NULL);
        }
        fprintf(out,
                "\nThe cost of a get, alone, on the freshly filled store and after the "
                "churn (%llu of each):\n\n",
                (unsigned long long)r->churn[0].samples);
        fprintf(out, "| system | absent key p50: before → after | p99: before → after | "
                     "present key p50: before → after | churn pairs/s | tombstones | "
                     "index rebuilds | grows | slots | errors |\n");
        fprintf(out, "|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < r->nchurn; i++) {
            const churn_result *x = &r->churn[i];
            if (x->skipped) continue;
            char a[24], b[24], c[24], d[24], e[24], f[24], rate[32], t[32] = "-", ir[32] = "-",
                                                                     g[32] = "-", sl[32] = "-";
            fmt_ns(a, sizeof a, hist_percentile(&x->before_miss, 0.5));
            fmt_ns(b, sizeof b, hist_percentile(&x->after_miss, 0.5));
            fmt_ns(c, sizeof c, hist_percentile(&x->before_miss, 0.99));
            fmt_ns(d, sizeof d, hist_percentile(&x->after_miss, 0.99));
            fmt_ns(e, sizeof e, hist_percentile(&x->before_hit, 0.5));
            fmt_ns(f, sizeof f, hist_percentile(&x->after_hit, 0.5));
            fmt_rate(rate, sizeof rate, x->seconds > 0 ? (double)x->pairs / x->seconds : 0);
            if (x->have_stats) {
                snprintf(t, sizeof t, "%llu", (unsigned long long)x->end.tombstones);
                snprintf(ir, sizeof ir, "%llu", (unsigned long long)x->end.index_rebuilds);
                snprintf(g, sizeof g, "%llu", (unsigned long long)x->end.grows);
                snprintf(sl, sizeof sl, "%llu", (unsigned long long)x->end.max_vars);
            }
            fprintf(
                out,
                "| %s | %s → %s (%.2fx) | %s → %s | %s → %s | %s | %s | %s | %s | %s | %llu |\n",
                x->system, a, b,
                (double)hist_percentile(&x->after_miss, 0.5) /
                    (double)(hist_percentile(&x->before_miss, 0.5)
                                 ? hist_percentile(&x->before_miss, 0.5)
                                 : 1),
                c, d, e, f, rate, t, ir, g, sl, (unsigned long long)x->errors);
        }
        fputc('\n', out);
    }
    if (r->ngrowth) {
        const growth_result *lg = find_growth(r, "lmdb", 0);
        fprintf(out,
                "Growth: an empty store filled with %u keys, one insert at a time "
                "(LMDB: one write transaction each, its map reserved up front).\n\n",
                r->fill);
        fprintf(out, "| system | starts | inserts/s | p50 | p99 | p99.9 | worst (which) | grows | "
                     "index rebuilds | size at the end | LMDB's inserts/s / this |\n");
        fprintf(out, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for (int i = 0; i < r->ngrowth; i++) {
            const growth_result *x = &r->growth[i];
            char start[48], rate[32], a[24], b[24], c[24], w[24], g[32] = "-", ir[32] = "-",
                                                                  sz[32] = "-", vs[32] = "";
            if (!x->presize)
                snprintf(start, sizeof start, "empty, default size");
            else
                snprintf(start, sizeof start, "made for %u keys", x->presize);
            if (x->skipped) {
                fprintf(out, "| %s | %s | not run: %s | | | | | | | | |\n", x->system, start,
                        x->why);
                continue;
            }
            double ips = x->seconds > 0 ? (double)x->keys / x->seconds : 0;
            fmt_rate(rate, sizeof rate, ips);
            fmt_ns(a, sizeof a, hist_percentile(&x->insert, 0.5));
            fmt_ns(b, sizeof b, hist_percentile(&x->insert, 0.99));
            fmt_ns(c, sizeof c, hist_percentile(&x->insert, 0.999));
            fmt_ns(w, sizeof w, x->insert.max);
            if (x->have_stats) {
                snprintf(g, sizeof g, "%llu", (unsigned long long)x->end.grows);
                snprintf(ir, sizeof ir, "%llu", (unsigned long long)x->end.index_rebuilds);
                fmt_bytes(sz, sizeof sz, x->end.size);
            }
            if (lg && lg != x && ips > 0)
                snprintf(vs, sizeof vs, "%.2fx",
                         lg->seconds > 0 ? ((double)lg->keys / lg->seconds) / ips : 0);
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s (#%llu) | %s | %s | %s | %s |%s\n",
                    x->system, start, rate, a, b, c, w, (unsigned long long)x->worst_at, g, ir, sz,
                    vs, x->errors ? " errors!" : "");
        }
        fputc('\n', out);
    }
}

static void target(FILE *out, const char *what, double got, double want, int at_least,
                   const char *unit) {
    int met = at_least ? got >= want : got <= want;
    fprintf(out, "- %s: %.2f%s (target %s %.2f%s) — %s\n", what, got, unit,
            at_least ? ">=" : "<=", want, unit, met ? "met" : "NOT met");
}

void report_targets(FILE *out, const bench_run *r) {
    const run_result *m1 = report_find(r, "mmf", "read-only x1");
    const run_result *m2 = report_find(r, "mmf", "read-only x2");
    const run_result *l1 = report_find(r, "lmdb", "read-only x1");
    const run_result *r1 = report_find(r, "redis", "read-only x1");
    const run_result *hot = report_find(r, "mmf", "hot writer, other keys");
    fprintf(out, "Targets, from this run:\n");
    if (m1 && l1)
        target(out, "mmf get vs LMDB get, p50 latency", (double)l1->p50 / (double)m1->p50, 5, 1,
               "x faster");
    if (m1 && r1)
        target(out, "mmf get vs Redis GET (unix socket), p50 latency",
               (double)r1->p50 / (double)m1->p50, 50, 1, "x faster");
    if (m1 && m2)
        target(out, "2 reader processes vs 1, reads per second", m2->ops_per_s / m1->ops_per_s, 1.7,
               1, "x");
    if (m1 && hot) {
        target(out, "a reader beside a hot writer vs alone, reads per second",
               hot->ops_per_s / m1->ops_per_s, 0.8, 1, "x");
        target(out, "beside a hot writer, p99.9 / p50 get latency",
               (double)hot->p999 / (double)hot->p50, 10, 0, "x");
    }
    const run_result *spin = report_find(r, "mmf-spin", "publish x1");
    const run_result *word = report_find(r, "word", "publish x1");
    if (spin) {
        target(out, "publish -> observe across cores, a waiter spinning through a handle, p50",
               (double)spin->p50, 300, 0, " ns");
        if (word)
            fprintf(out,
                    "  (the bare shared word, the floor, in this run: p50 %llu ns; mmf-spin "
                    "%.2fx it)\n",
                    (unsigned long long)word->p50, (double)spin->p50 / (double)word->p50);
    }
    fprintf(out,
            "(latencies are net of the %.0f ns that reading the clock twice costs here; "
            "the floor comparison is mmf-bench-micro's)\n",
            r->clock_ns);
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        if ((unsigned char)*s >= 32) fputc(*s, out);
    }
    fputc('"', out);
}

/* The end of a skipped system's object: why it did not run. */
static void json_skipped(FILE *out, const char *why) {
    fprintf(out, ",\"skipped\":");
    json_string(out, why);
    fputc('}', out);
}

static void machine(FILE *out) {
    struct utsname u;
    uname(&u);
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    fprintf(out, "\"machine\":{\"kernel\":");
    json_string(out, u.release);
    fprintf(out, ",\"arch\":");
    json_string(out, u.machine);
    fprintf(out, ",\"cpu\":");
    json_string(out, model);
    fprintf(out, ",\"cores\":%ld,\"memory_bytes\":%ld}", sysconf(_SC_NPROCESSORS_ONLN),
            sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
}

static void json_hist(FILE *out, const hist *h) {
    fprintf(out,
            "{\"count\":%llu,\"mean\":%.1f,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
            "\"p99.9\":%llu,\"max\":%llu}",
            (unsigned long long)h->count, mean_ns(h), (unsigned long long)hist_percentile(h, 0.5),
            (unsigned long long)hist_percentile(h, 0.9),
            (unsigned long long)hist_percentile(h, 0.99),
            (unsigned long long)hist_percentile(h, 0.999), (unsigned long long)h->max);
}

static void json_stats(FILE *out, const bench_stats *s) {
    fprintf(out,
            "{\"size\":%llu,\"vars\":%llu,\"max_vars\":%llu,\"tombstones\":%llu,"
            "\"grows\":%llu,\"index_rebuilds\":%llu}",
            (unsigned long long)s->size, (unsigned long long)s->vars,
            (unsigned long long)s->max_vars, (unsigned long long)s->tombstones,
            (unsigned long long)s->grows, (unsigned long long)s->index_rebuilds);
}

void report_json(FILE *out, const bench_run *r) {
    fprintf(out, "{");
    machine(out);
    fprintf(out,
            ",\n\"config\":{\"keys\":%u,\"value_bytes\":%u,\"seconds\":%.2f,\"rate\":%.0f,"
            "\"clock_overhead_ns\":%.1f},\n\"not_run\":[",
            r->cfg->keys, r->cfg->value, r->seconds, r->rate, r->clock_ns);
    for (int i = 0; i < r->nskipped; i++) {
        if (i) fputc(',', out);
        json_string(out, r->skipped[i]);
    }
    fprintf(out, "],\n\"runs\":[");
    for (int i = 0; i < r->n; i++) {
        const run_result *x = &r->results[i];
        fprintf(out, "%s\n {\"system\":", i ? "," : "");
        json_string(out, x->system);
        fprintf(out, ",\"workload\":");
        json_string(out, x->workload);
        if (x->skipped) {
            json_skipped(out, x->why);
            continue;
        }
        fprintf(
            out,
            ",\"processes\":%d,\"ops\":%llu,\"errors\":%llu,\"ops_per_s\":%.1f,"
            "\"latency_ns\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p99.9\":%llu,\"max\":%llu},"
            "\"per_process\":[",
            x->procs, (unsigned long long)x->ops, (unsigned long long)x->errors, x->ops_per_s,
            (unsigned long long)x->p50, (unsigned long long)x->p90, (unsigned long long)x->p99,
            (unsigned long long)x->p999, (unsigned long long)x->max);
        for (int p = 0; p < x->procs; p++) {
            const proc_result *pr = &x->per[p];
            fprintf(out,
                    "%s{\"measured\":%s,\"ops\":%llu,\"ops_per_s\":%.1f,\"p50\":%llu,\"p99\":%llu,"
                    "\"p99.9\":%llu,\"max\":%llu}",
                    p ? "," : "", pr->measured ? "true" : "false", (unsigned long long)pr->ops,
                    pr->seconds > 0 ? (double)pr->ops / pr->seconds : 0,
                    (unsigned long long)hist_percentile(&pr->h, 0.5),
                    (unsigned long long)hist_percentile(&pr->h, 0.99),
                    (unsigned long long)hist_percentile(&pr->h, 0.999),
                    (unsigned long long)pr->h.max);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n],\n\"churn\":[");
    for (int i = 0; i < r->nchurn; i++) {
        const churn_result *x = &r->churn[i];
        fprintf(out, "%s\n {\"system\":", i ? "," : "");
        json_string(out, x->system);
        if (x->skipped) {
            json_skipped(out, x->why);
            continue;
        }
        fprintf(out,
                ",\"capacity\":%u,\"live\":%u,\"pairs\":%llu,\"samples\":%llu,"
                "\"errors\":%llu,\"seconds\":%.3f",
                x->capacity, x->live, (unsigned long long)x->pairs, (unsigned long long)x->samples,
                (unsigned long long)x->errors, x->seconds);
        const struct {
            const char *name;
            const hist *h;
        } hs[] = {{"before_hit", &x->before_hit},
                  {"before_miss", &x->before_miss},
                  {"hit", &x->hit},
                  {"miss", &x->miss},
                  {"insert", &x->insert},
                  {"delete", &x->del},
                  {"after_hit", &x->after_hit},
                  {"after_miss", &x->after_miss}};
        for (size_t k = 0; k < sizeof hs / sizeof *hs; k++) {
            fprintf(out, ",\"%s\":", hs[k].name);
            json_hist(out, hs[k].h);
        }
        if (x->have_stats) {
            fprintf(out, ",\"stats_filled\":");
            json_stats(out, &x->filled);
            fprintf(out, ",\"stats_end\":");
            json_stats(out, &x->end);
        }
        fputc('}', out);
    }
    fprintf(out, "\n],\n\"growth\":[");
    for (int i = 0; i < r->ngrowth; i++) {
        const growth_result *x = &r->growth[i];
        fprintf(out, "%s\n {\"system\":", i ? "," : "");
        json_string(out, x->system);
        fprintf(out, ",\"presize\":%u", x->presize);
        if (x->skipped) {
            json_skipped(out, x->why);
            continue;
        }
        fprintf(out,
                ",\"keys\":%u,\"errors\":%llu,\"seconds\":%.3f,\"inserts_per_s\":%.1f,"
                "\"worst_at\":%llu,\"insert\":",
                x->keys, (unsigned long long)x->errors, x->seconds,
                x->seconds > 0 ? (double)x->keys / x->seconds : 0, (unsigned long long)x->worst_at);
        json_hist(out, &x->insert);
        if (x->have_stats) {
            fprintf(out, ",\"stats_end\":");
            json_stats(out, &x->end);
        }
        fputc('}', out);
    }
    fprintf(out, "\n]}\n");
}

int report_plots(const char *dir, const bench_run *r) {
    if (access("/usr/bin/gnuplot", X_OK)) {
        fprintf(stderr, "mmf-bench: gnuplot is not installed: no plots\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/latency.dat", dir);
    FILE *f = fopen(path, "w");
    static const char *pct[] = {"p50", "p90", "p99", "p99.9", "max"};
    fprintf(f, "percentile");
    for (int s = 0; s < NSYSTEMS; s++)
        fprintf(f, " %s", systems[s]);
    fputc('\n', f);
    for (int p = 0; p < 5; p++) {
        fprintf(f, "%s", pct[p]);
        for (int s = 0; s < NSYSTEMS; s++) {
            const run_result *x = report_find(r, systems[s], "read-only x1");
            uint64_t v = !x       ? 0
                         : p == 0 ? x->p50
                         : p == 1 ? x->p90
                         : p == 2 ? x->p99
                         : p == 3 ? x->p999
                                  : x->max;
            if (v)
                fprintf(f, " %llu", (unsigned long long)v);
            else
                fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/scaling.dat", dir);
    f = fopen(path, "w");
    fprintf(f, "procs mmf lmdb redis\n");
    for (int n = 1; n <= 4; n++) {
        char w[32];
        snprintf(w, sizeof w, "read-only x%d", n);
        fprintf(f, "%d", n);
        for (int s = 0; s < 3; s++) {
            const run_result *x = report_find(r, systems[s], w);
            if (x)
                fprintf(f, " %.0f", x->ops_per_s);
            else
                fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/plots.gp", dir);
    f = fopen(path, "w");
    fprintf(
        f,
        "set terminal png size 900,560\n"
        "set datafile missing 'NaN'\n"
        "set output '%s/latency.png'\n"
        "set title 'get latency by percentile, 1 reader process (log scale)'\n"
        "set logscale y\nset yrange [10:*]\nset ylabel 'nanoseconds'\nset grid\nset key top left\n"
        "set style data histograms\nset style fill solid 0.8\n"
        "plot for [i=2:4] '%s/latency.dat' using i:xtic(1) title columnheader(i)\n"
        "unset logscale y\nset autoscale y\nset style data linespoints\n"
        "set output '%s/scaling.png'\n"
        "set title 'reads per second against reader processes (%ld cores)'\n"
        "set xlabel 'reader processes'\nset ylabel 'gets per second'\nset xtics 1\n"
        "set logscale y\n"
        "plot for [i=2:4] '%s/scaling.dat' using 1:i title columnheader(i) lw 2\n",
        dir, dir, dir, sysconf(_SC_NPROCESSORS_ONLN), dir);
    fclose(f);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s/plots.gp' 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}
